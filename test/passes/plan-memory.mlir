// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-plan-memory))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-plan-memory{alignment=16}))' | FileCheck %s --check-prefix=ALIGN16

// A chain of four 128-byte results: the first and third share offset 0 once
// the first is dead, the second sits at 128, and the returned result is
// written straight into the caller's output (-1).
// CHECK-LABEL: func.func @chain
// CHECK-SAME: attributes {weft.arena_lower_bound = 256 : i64, weft.arena_size = 256 : i64}
// CHECK: %[[D0:.*]] = weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>}
// CHECK: weft.relu
// CHECK: %[[D1:.*]] = weft.dispatch(%[[D0]]) {result_offsets = array<i64: 128>}
// CHECK: weft.exp
// CHECK: %[[D2:.*]] = weft.dispatch(%[[D1]]) {result_offsets = array<i64: 0>}
// CHECK: weft.tanh
// CHECK: %[[D3:.*]] = weft.dispatch(%[[D2]]) {result_offsets = array<i64: -1>}
// CHECK: weft.sigmoid
// CHECK: return %[[D3]]
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = weft.dispatch(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %r = weft.relu %a : tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  %1 = weft.dispatch(%0) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %r = weft.exp %a : tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  %2 = weft.dispatch(%1) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %r = weft.tanh %a : tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  %3 = weft.dispatch(%2) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %r = weft.sigmoid %a : tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  return %3 : tensor<4x8xf32>
}

// -----

// The first result is read through a reshape by the last dispatch: the alias
// keeps it alive, so the third result cannot reuse offset 0.
// CHECK-LABEL: func.func @reshape_alias
// CHECK-SAME: attributes {weft.arena_lower_bound = 384 : i64, weft.arena_size = 384 : i64}
// CHECK: %[[D0:.*]] = weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>}
// CHECK: %[[R0:.*]] = weft.reshape %[[D0]]
// CHECK: %[[D1:.*]] = weft.dispatch(%[[D0]]) {result_offsets = array<i64: 128>}
// CHECK: %[[D2:.*]] = weft.dispatch(%[[D1]]) {result_offsets = array<i64: 256>}
// CHECK: %[[R2:.*]] = weft.reshape %[[D2]]
// CHECK: weft.dispatch(%[[R2]], %[[R0]]) {result_offsets = array<i64: -1>}
func.func @reshape_alias(%x: tensor<4x8xf32>) -> tensor<32xf32> {
  %0 = weft.dispatch(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %r = weft.relu %a : tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  %1 = weft.reshape %0 : (tensor<4x8xf32>) -> tensor<32xf32>
  %2 = weft.dispatch(%0) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %r = weft.exp %a : tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  %3 = weft.dispatch(%2) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %r = weft.tanh %a : tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  %4 = weft.reshape %3 : (tensor<4x8xf32>) -> tensor<32xf32>
  %5 = weft.dispatch(%4, %1) : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32> {
  ^bb0(%a: tensor<32xf32>, %b: tensor<32xf32>):
    %r = weft.add %a, %b : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
    weft.yield %r : tensor<32xf32>
  }
  return %5 : tensor<32xf32>
}

// -----

// A chain of reshapes is followed to the last reader: the first result stays
// live until the add, so the add's result (live after it) reuses 64, not 0.
// CHECK-LABEL: func.func @reshape_chain
// CHECK-SAME: attributes {weft.arena_lower_bound = 192 : i64, weft.arena_size = 192 : i64}
// CHECK: %[[D0:.*]] = weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>}
// CHECK: %[[D1:.*]] = weft.dispatch(%{{.*}}) {result_offsets = array<i64: 64>}
// CHECK: %[[D2:.*]] = weft.dispatch(%[[D1]]) {result_offsets = array<i64: 128>}
// CHECK: %[[D3:.*]] = weft.dispatch(%{{.*}}, %{{.*}}) {result_offsets = array<i64: 64>}
// CHECK: %[[R:.*]] = weft.reshape %[[D3]]
// CHECK: weft.dispatch(%[[R]]) {result_offsets = array<i64: -1>}
func.func @reshape_chain(%x: tensor<16xf32>) -> tensor<16xf32> {
  %0 = weft.dispatch(%x) : (tensor<16xf32>) -> tensor<16xf32> {
  ^bb0(%a: tensor<16xf32>):
    %r = weft.relu %a : tensor<16xf32>
    weft.yield %r : tensor<16xf32>
  }
  %1 = weft.reshape %0 : (tensor<16xf32>) -> tensor<4x4xf32>
  %2 = weft.reshape %1 : (tensor<4x4xf32>) -> tensor<2x8xf32>
  %3 = weft.dispatch(%x) : (tensor<16xf32>) -> tensor<16xf32> {
  ^bb0(%a: tensor<16xf32>):
    %r = weft.exp %a : tensor<16xf32>
    weft.yield %r : tensor<16xf32>
  }
  %4 = weft.dispatch(%3) : (tensor<16xf32>) -> tensor<16xf32> {
  ^bb0(%a: tensor<16xf32>):
    %r = weft.tanh %a : tensor<16xf32>
    weft.yield %r : tensor<16xf32>
  }
  %5 = weft.reshape %4 : (tensor<16xf32>) -> tensor<2x8xf32>
  %6 = weft.dispatch(%5, %2) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x8xf32>, %b: tensor<2x8xf32>):
    %r = weft.add %a, %b : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
    weft.yield %r : tensor<2x8xf32>
  }
  %7 = weft.reshape %6 : (tensor<2x8xf32>) -> tensor<16xf32>
  %8 = weft.dispatch(%7) : (tensor<16xf32>) -> tensor<16xf32> {
  ^bb0(%a: tensor<16xf32>):
    %r = weft.identity %a : tensor<16xf32>
    weft.yield %r : tensor<16xf32>
  }
  return %8 : tensor<16xf32>
}

// -----

// Largest buffer first: the 400-byte result takes offset 0; the 40-byte and
// 20-byte f16 results round up to the alignment (64 by default, 16 with
// alignment=16). The last small buffer reuses the big one's space.
// CHECK-LABEL: func.func @sizes
// CHECK-SAME: attributes {weft.arena_lower_bound = 576 : i64, weft.arena_size = 576 : i64}
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 448>} : (tensor<10xf32>) -> tensor<10xf32>
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>} : (tensor<10xf32>) -> tensor<100xf32>
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 512>} : (tensor<100xf32>) -> tensor<10xf32>
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>} : (tensor<10xf32>) -> tensor<10xf16>
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: -1>} : (tensor<10xf16>) -> tensor<10xf32>
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: -1>} : (tensor<10xf32>) -> tensor<10xf32>

// ALIGN16-LABEL: func.func @sizes
// ALIGN16-SAME: attributes {weft.arena_lower_bound = 496 : i64, weft.arena_size = 496 : i64}
// ALIGN16: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 400>} : (tensor<10xf32>) -> tensor<10xf32>
// ALIGN16: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>} : (tensor<10xf32>) -> tensor<100xf32>
// ALIGN16: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 448>} : (tensor<100xf32>) -> tensor<10xf32>
// ALIGN16: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>} : (tensor<10xf32>) -> tensor<10xf16>
func.func @sizes(%x: tensor<10xf32>) -> (tensor<10xf32>, tensor<10xf32>) {
  %0 = weft.dispatch(%x) : (tensor<10xf32>) -> tensor<10xf32> {
  ^bb0(%a: tensor<10xf32>):
    %r = weft.relu %a : tensor<10xf32>
    weft.yield %r : tensor<10xf32>
  }
  %1 = weft.dispatch(%0) : (tensor<10xf32>) -> tensor<100xf32> {
  ^bb0(%a: tensor<10xf32>):
    %r = weft.pad %a {low = array<i64: 0>, high = array<i64: 90>, value = 0.0 : f32} : (tensor<10xf32>) -> tensor<100xf32>
    weft.yield %r : tensor<100xf32>
  }
  %2 = weft.dispatch(%1) : (tensor<100xf32>) -> tensor<10xf32> {
  ^bb0(%a: tensor<100xf32>):
    %r = weft.slice %a {starts = array<i64: 0>, sizes = array<i64: 10>, steps = array<i64: 1>} : (tensor<100xf32>) -> tensor<10xf32>
    weft.yield %r : tensor<10xf32>
  }
  %3 = weft.dispatch(%2) : (tensor<10xf32>) -> tensor<10xf16> {
  ^bb0(%a: tensor<10xf32>):
    %r = weft.cast %a : tensor<10xf32> to tensor<10xf16>
    weft.yield %r : tensor<10xf16>
  }
  %4 = weft.dispatch(%3) : (tensor<10xf16>) -> tensor<10xf32> {
  ^bb0(%a: tensor<10xf16>):
    %r = weft.cast %a : tensor<10xf16> to tensor<10xf32>
    weft.yield %r : tensor<10xf32>
  }
  %5 = weft.dispatch(%0) : (tensor<10xf32>) -> tensor<10xf32> {
  ^bb0(%a: tensor<10xf32>):
    %r = weft.exp %a : tensor<10xf32>
    weft.yield %r : tensor<10xf32>
  }
  return %4, %5 : tensor<10xf32>, tensor<10xf32>
}

// -----

// Offsets are per result: a returned result gets -1 while its sibling gets
// arena space.
// CHECK-LABEL: func.func @multi_result
// CHECK-SAME: attributes {weft.arena_lower_bound = 64 : i64, weft.arena_size = 64 : i64}
// CHECK: %[[D:.*]]:2 = weft.dispatch(%{{.*}}) {result_offsets = array<i64: -1, 0>}
// CHECK: weft.dispatch(%[[D]]#1) {result_offsets = array<i64: -1>}
func.func @multi_result(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %0:2 = weft.dispatch(%x) : (tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  ^bb0(%a: tensor<8xf32>):
    %r = weft.relu %a : tensor<8xf32>
    %e = weft.exp %a : tensor<8xf32>
    weft.yield %r, %e : tensor<8xf32>, tensor<8xf32>
  }
  %1 = weft.dispatch(%0#1) : (tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%a: tensor<8xf32>):
    %r = weft.neg %a : tensor<8xf32>
    weft.yield %r : tensor<8xf32>
  }
  return %0#0, %1 : tensor<8xf32>, tensor<8xf32>
}

// -----

// Nothing to place: the arena is empty.
// CHECK-LABEL: func.func @no_intermediates
// CHECK-SAME: attributes {weft.arena_lower_bound = 0 : i64, weft.arena_size = 0 : i64}
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: -1>}
func.func @no_intermediates(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = weft.dispatch(%x) : (tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%a: tensor<8xf32>):
    %r = weft.relu %a : tensor<8xf32>
    weft.yield %r : tensor<8xf32>
  }
  return %0 : tensor<8xf32>
}

// -----

// Largest-first first fit would put the 192-byte %3 above the 128-byte %1
// hole it cannot use and need 384 bytes; the planner tries several orders
// and placements and keeps the plan that meets the 320-byte lower bound.
// CHECK-LABEL: func.func @orders
// CHECK-SAME: attributes {weft.arena_lower_bound = 320 : i64, weft.arena_size = 320 : i64}
func.func @orders(%x: tensor<48xf32>) -> tensor<16xf32> {
  %0 = weft.dispatch(%x) : (tensor<48xf32>) -> tensor<48xf32> {
  ^bb0(%a: tensor<48xf32>):
    %r = weft.exp %a : tensor<48xf32>
    weft.yield %r : tensor<48xf32>
  }
  %1 = weft.dispatch(%0) : (tensor<48xf32>) -> tensor<32xf32> {
  ^bb0(%a: tensor<48xf32>):
    %r = weft.slice %a {starts = array<i64: 0>, sizes = array<i64: 32>, steps = array<i64: 1>} : (tensor<48xf32>) -> tensor<32xf32>
    weft.yield %r : tensor<32xf32>
  }
  %2 = weft.dispatch(%1) : (tensor<32xf32>) -> tensor<16xf32> {
  ^bb0(%a: tensor<32xf32>):
    %r = weft.slice %a {starts = array<i64: 0>, sizes = array<i64: 16>, steps = array<i64: 1>} : (tensor<32xf32>) -> tensor<16xf32>
    weft.yield %r : tensor<16xf32>
  }
  %3 = weft.dispatch(%x) : (tensor<48xf32>) -> tensor<48xf32> {
  ^bb0(%a: tensor<48xf32>):
    %r = weft.neg %a : tensor<48xf32>
    weft.yield %r : tensor<48xf32>
  }
  %4:2 = weft.dispatch(%2, %3) : (tensor<16xf32>, tensor<48xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  ^bb0(%a: tensor<16xf32>, %b: tensor<48xf32>):
    %e = weft.exp %a : tensor<16xf32>
    %s = weft.slice %b {starts = array<i64: 0>, sizes = array<i64: 16>, steps = array<i64: 1>} : (tensor<48xf32>) -> tensor<16xf32>
    %r = weft.add %e, %s : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
    weft.yield %e, %r : tensor<16xf32>, tensor<16xf32>
  }
  return %4#1 : tensor<16xf32>
}

// -----

// A weft.loop's state (condition, the carried value) lives over the whole
// loop, as does a value defined above and read in the body; the body's own
// result shares nothing with them. The iteration number, which nothing
// reads, gets no bytes (-1). After the loop only the carried result (its
// state buffer) is live, so the last kernel reuses the rest.
// CHECK-LABEL: func.func @loop_states
// CHECK-SAME: attributes {weft.arena_lower_bound = 448 : i64, weft.arena_size = 448 : i64}
// CHECK: %[[PRE:.*]] = weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>}
// CHECK: %[[R:.*]] = weft.loop({{.*}}) {state_offsets = array<i64: -1, 384, 256>}
// CHECK: weft.dispatch(%{{.*}}, %[[PRE]]) {result_offsets = array<i64: 128>}
// CHECK: %[[S:.*]] = weft.dispatch(%[[R]]) {result_offsets = array<i64: 0>}
// CHECK: weft.dispatch(%[[S]], %[[R]]) {result_offsets = array<i64: -1>}
func.func @loop_states(%m: tensor<i64>, %x: tensor<32xf32>) -> tensor<32xf32> {
  %c = weft.constant dense<true> : tensor<i1>
  %pre = weft.dispatch(%x) : (tensor<32xf32>) -> tensor<32xf32> {
  ^bb0(%a: tensor<32xf32>):
    %0 = weft.relu %a : tensor<32xf32>
    weft.yield %0 : tensor<32xf32>
  }
  %r = weft.loop(%m, %c, %x) : (tensor<i64>, tensor<i1>, tensor<32xf32>) -> tensor<32xf32> {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<32xf32>):
    %t = weft.dispatch(%acc, %pre) : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32> {
    ^bb0(%a: tensor<32xf32>, %b: tensor<32xf32>):
      %0 = weft.add %a, %b : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
      weft.yield %0 : tensor<32xf32>
    }
    weft.yield %ci, %t : tensor<i1>, tensor<32xf32>
  }
  %s = weft.dispatch(%r) : (tensor<32xf32>) -> tensor<32xf32> {
  ^bb0(%a: tensor<32xf32>):
    %0 = weft.exp %a : tensor<32xf32>
    weft.yield %0 : tensor<32xf32>
  }
  %out = weft.dispatch(%s, %r) : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32> {
  ^bb0(%a: tensor<32xf32>, %b: tensor<32xf32>):
    %0 = weft.add %a, %b : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
    weft.yield %0 : tensor<32xf32>
  }
  return %out : tensor<32xf32>
}
