// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-pad-in-place,weft-plan-memory))' | FileCheck %s

// An elementwise producer whose only reader is a pad dispatch writes the
// interior of the padded buffer: rows of the [1, 6, 6, 16] buffer are 96
// elements apart, and the interior starts (6 + 1) * 16 elements = 448
// bytes in. The pad dispatch writes only the border, and the arena holds
// the padded buffer alone.
// CHECK-LABEL: func.func @relu_pad
// CHECK-SAME: weft.arena_lower_bound = 2304 : i64, weft.arena_size = 2304 : i64
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 448>, weft.result_layouts = [strided<[384, 96, 16, 1]>]}
// CHECK: weft.relu
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>, weft.pad_in_place}
// CHECK: weft.pad %{{.*}} {{{.*}}weft.pad_in_place}
func.func @relu_pad(%x: tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32> {
  %0 = weft.dispatch(%x) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %r = weft.relu %a : tensor<1x4x4x16xf32>
    weft.yield %r : tensor<1x4x4x16xf32>
  }
  %1 = weft.dispatch(%0) : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 1, 1, 0>, low = array<i64: 0, 1, 1, 0>, value = 0.000000e+00 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32>
    weft.yield %p : tensor<1x6x6x16xf32>
  }
  %2 = weft.dispatch(%1) : (tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x6x6x16xf32>):
    %r = weft.exp %a : tensor<1x6x6x16xf32>
    weft.yield %r : tensor<1x6x6x16xf32>
  }
  return %2 : tensor<1x6x6x16xf32>
}

// -----

// A blocked result [.., F/B, B] seen through a reshape as [.., F]: the two
// block dims split the channel dim (strides 8 and 1); the padded buffer
// [1, 7, 7, 16] is live from the producer on, so the producer's input
// (read by it) cannot share its bytes. The interior starts at
// (2 * 7 + 2) * 16 elements = 1024 bytes in (low padding 2).
// CHECK-LABEL: func.func @blocked_view
// CHECK-SAME: weft.arena_lower_bound = 4160 : i64, weft.arena_size = 4160 : i64
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 3136>}
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 1024>, weft.result_layouts = [strided<[448, 112, 16, 8, 1]>]}
// CHECK: weft.reshape
// CHECK: weft.dispatch(%{{.*}}) {result_offsets = array<i64: 0>, weft.pad_in_place}
func.func @blocked_view(%x: tensor<1x4x4x2x8xf32>) -> tensor<1x7x7x16xf32> {
  %0 = weft.dispatch(%x) : (tensor<1x4x4x2x8xf32>) -> tensor<1x4x4x2x8xf32> {
  ^bb0(%a: tensor<1x4x4x2x8xf32>):
    %r = weft.exp %a : tensor<1x4x4x2x8xf32>
    weft.yield %r : tensor<1x4x4x2x8xf32>
  }
  %1 = weft.dispatch(%0) : (tensor<1x4x4x2x8xf32>) -> tensor<1x4x4x2x8xf32> {
  ^bb0(%a: tensor<1x4x4x2x8xf32>):
    %r = weft.relu %a : tensor<1x4x4x2x8xf32>
    weft.yield %r : tensor<1x4x4x2x8xf32>
  }
  %2 = weft.reshape %1 : (tensor<1x4x4x2x8xf32>) -> tensor<1x4x4x16xf32>
  %3 = weft.dispatch(%2) : (tensor<1x4x4x16xf32>) -> tensor<1x7x7x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 1, 1, 0>, low = array<i64: 0, 2, 2, 0>, value = 0xFF800000 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x7x7x16xf32>
    weft.yield %p : tensor<1x7x7x16xf32>
  }
  %4 = weft.dispatch(%3) : (tensor<1x7x7x16xf32>) -> tensor<1x7x7x16xf32> {
  ^bb0(%a: tensor<1x7x7x16xf32>):
    %r = weft.exp %a : tensor<1x7x7x16xf32>
    weft.yield %r : tensor<1x7x7x16xf32>
  }
  return %4 : tensor<1x7x7x16xf32>
}

// -----

// Nothing is written in place where the producer's result has another
// reader, where the padded result is the function's result, where the
// producer holds anything but elementwise ops and channels-last
// convolutions (a transpose; a matmul whose epilogue is elementwise),
// where a reshape would merge rows that the padding pulls apart, or where
// the pad's input is a function argument, or where nothing is padded.
// CHECK-LABEL: func.func @kept_apart
// CHECK-NOT: weft.result_layouts
// CHECK-NOT: weft.pad_in_place
// CHECK: return
func.func @kept_apart(%x: tensor<1x4x4x16xf32>, %y: tensor<1x16x16xf32>)
    -> (tensor<1x6x6x16xf32>, tensor<1x4x4x16xf32>, tensor<1x6x6x16xf32>,
        tensor<1x6x6x16xf32>, tensor<1x6x6x16xf32>, tensor<1x6x6x16xf32>,
        tensor<1x6x6x16xf32>, tensor<1x4x4x16xf32>) {
  // Two readers.
  %a0 = weft.dispatch(%x) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %r = weft.relu %a : tensor<1x4x4x16xf32>
    weft.yield %r : tensor<1x4x4x16xf32>
  }
  %a1 = weft.dispatch(%a0) : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 1, 1, 0>, low = array<i64: 0, 1, 1, 0>, value = 0.000000e+00 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32>
    weft.yield %p : tensor<1x6x6x16xf32>
  }
  %a2 = weft.dispatch(%a1) : (tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x6x6x16xf32>):
    %r = weft.exp %a : tensor<1x6x6x16xf32>
    weft.yield %r : tensor<1x6x6x16xf32>
  }
  %a3 = weft.dispatch(%a0) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %r = weft.exp %a : tensor<1x4x4x16xf32>
    weft.yield %r : tensor<1x4x4x16xf32>
  }
  // The padded result returned.
  %b0 = weft.dispatch(%x) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %r = weft.tanh %a : tensor<1x4x4x16xf32>
    weft.yield %r : tensor<1x4x4x16xf32>
  }
  %b1 = weft.dispatch(%b0) : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 1, 1, 0>, low = array<i64: 0, 1, 1, 0>, value = 0.000000e+00 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32>
    weft.yield %p : tensor<1x6x6x16xf32>
  }
  // A transpose's result.
  %c0 = weft.dispatch(%x) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %t = weft.transpose %a {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32>
    weft.yield %t : tensor<1x4x4x16xf32>
  }
  %c1 = weft.dispatch(%c0) : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 1, 1, 0>, low = array<i64: 0, 1, 1, 0>, value = 0.000000e+00 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32>
    weft.yield %p : tensor<1x6x6x16xf32>
  }
  %c2 = weft.dispatch(%c1) : (tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x6x6x16xf32>):
    %r = weft.exp %a : tensor<1x6x6x16xf32>
    weft.yield %r : tensor<1x6x6x16xf32>
  }
  // [1, 16, 16] viewed as [1, 4, 4, 16]: its 16 rows of 16 would have to
  // be one row of 256 in the padded buffer.
  %d0 = weft.dispatch(%y) : (tensor<1x16x16xf32>) -> tensor<1x16x16xf32> {
  ^bb0(%a: tensor<1x16x16xf32>):
    %r = weft.relu %a : tensor<1x16x16xf32>
    weft.yield %r : tensor<1x16x16xf32>
  }
  %d1 = weft.reshape %d0 : (tensor<1x16x16xf32>) -> tensor<1x4x4x16xf32>
  %d2 = weft.dispatch(%d1) : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 1, 1, 0>, low = array<i64: 0, 1, 1, 0>, value = 0.000000e+00 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32>
    weft.yield %p : tensor<1x6x6x16xf32>
  }
  %d3 = weft.dispatch(%d2) : (tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x6x6x16xf32>):
    %r = weft.exp %a : tensor<1x6x6x16xf32>
    weft.yield %r : tensor<1x6x6x16xf32>
  }
  // A matmul's epilogue (computed on 2-D rows of the [1, 4, 4, 16] result).
  %f0 = weft.dispatch(%x) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %w = weft.constant dense<1.0> : tensor<16x16xf32>
    %m = weft.matmul %a, %w : (tensor<1x4x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x4x16xf32>
    %r = weft.relu %m : tensor<1x4x4x16xf32>
    weft.yield %r : tensor<1x4x4x16xf32>
  }
  %f1 = weft.dispatch(%f0) : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 1, 1, 0>, low = array<i64: 0, 1, 1, 0>, value = 0.000000e+00 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32>
    weft.yield %p : tensor<1x6x6x16xf32>
  }
  %f2 = weft.dispatch(%f1) : (tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x6x6x16xf32>):
    %r = weft.exp %a : tensor<1x6x6x16xf32>
    weft.yield %r : tensor<1x6x6x16xf32>
  }
  // No padding at all (a copy).
  %g0 = weft.dispatch(%x) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %r = weft.relu %a : tensor<1x4x4x16xf32>
    weft.yield %r : tensor<1x4x4x16xf32>
  }
  %g1 = weft.dispatch(%g0) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 0, 0, 0>, low = array<i64: 0, 0, 0, 0>, value = 0.000000e+00 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32>
    weft.yield %p : tensor<1x4x4x16xf32>
  }
  %g2 = weft.dispatch(%g1) : (tensor<1x4x4x16xf32>) -> tensor<1x4x4x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %r = weft.exp %a : tensor<1x4x4x16xf32>
    weft.yield %r : tensor<1x4x4x16xf32>
  }
  // A function argument.
  %e0 = weft.dispatch(%x) : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x4x4x16xf32>):
    %p = weft.pad %a {high = array<i64: 0, 1, 1, 0>, low = array<i64: 0, 1, 1, 0>, value = 0.000000e+00 : f32} : (tensor<1x4x4x16xf32>) -> tensor<1x6x6x16xf32>
    weft.yield %p : tensor<1x6x6x16xf32>
  }
  %e1 = weft.dispatch(%e0) : (tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32> {
  ^bb0(%a: tensor<1x6x6x16xf32>):
    %r = weft.exp %a : tensor<1x6x6x16xf32>
    weft.yield %r : tensor<1x6x6x16xf32>
  }
  return %a2, %a3, %b1, %c2, %d3, %e1, %f2, %g2 : tensor<1x6x6x16xf32>, tensor<1x4x4x16xf32>, tensor<1x6x6x16xf32>, tensor<1x6x6x16xf32>, tensor<1x6x6x16xf32>, tensor<1x6x6x16xf32>, tensor<1x6x6x16xf32>, tensor<1x4x4x16xf32>
}
