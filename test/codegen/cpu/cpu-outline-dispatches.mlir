// RUN: weft-opt %s -weft-cpu-outline-dispatches | FileCheck %s

// Every dispatch body moves into a private function over buffers (inputs,
// then outputs), numbered per host function; the host keeps a
// weft.dispatch_call with the memory plan.

// The root op's tensor.empty init is replaced by the writable output buffer.
// CHECK-LABEL: func.func private @main_dispatch_0
// CHECK-SAME: (%[[IN0:.*]]: memref<4x16xf32>, %[[IN1:.*]]: memref<16x8xf32>, %[[OUT:.*]]: memref<4x8xf32>)
// CHECK-SAME: attributes {weft.dispatch_fn}
// CHECK-DAG: %[[A:.*]] = bufferization.to_tensor %[[IN0]] restrict : memref<4x16xf32> to tensor<4x16xf32>
// CHECK-DAG: %[[B:.*]] = bufferization.to_tensor %[[IN1]] restrict : memref<16x8xf32> to tensor<16x8xf32>
// CHECK-DAG: %[[D:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<4x8xf32> to tensor<4x8xf32>
// CHECK-NOT: tensor.empty
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[D]] : tensor<4x8xf32>)
// CHECK: %[[M:.*]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<4x16xf32>, tensor<16x8xf32>) outs(%[[F]] : tensor<4x8xf32>)
// CHECK: bufferization.materialize_in_destination %[[M]] in restrict writable %[[OUT]] : (tensor<4x8xf32>, memref<4x8xf32>) -> ()
// CHECK-NEXT: return

// CHECK-LABEL: func.func private @main_dispatch_1
// CHECK-SAME: (%[[IN:.*]]: memref<32xf32>, %[[OUT:.*]]: memref<32xf32>)
// CHECK: %[[X:.*]] = bufferization.to_tensor %[[IN]] restrict :
// CHECK: %[[D:.*]] = bufferization.to_tensor %[[OUT]] restrict writable :
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<32xf32>) outs(%[[D]] : tensor<32xf32>)
// CHECK: arith.negf
// CHECK: bufferization.materialize_in_destination %[[G]] in restrict writable %[[OUT]]

// Results with no tensor.empty seed (a slice, a block argument) are copied
// into their output buffers; one output buffer per result.
// CHECK-LABEL: func.func private @main_dispatch_2
// CHECK-SAME: (%[[IN:.*]]: memref<4x8xf32>, %[[OUT0:.*]]: memref<2x4xf32>, %[[OUT1:.*]]: memref<4x8xf32>)
// CHECK: %[[X:.*]] = bufferization.to_tensor %[[IN]] restrict :
// CHECK: %[[S:.*]] = tensor.extract_slice %[[X]][0, 0] [2, 4] [1, 1]
// CHECK: bufferization.materialize_in_destination %[[S]] in restrict writable %[[OUT0]]
// CHECK: bufferization.materialize_in_destination %[[X]] in restrict writable %[[OUT1]]

// The host function: constants and reshapes stay; calls keep the offsets.
// CHECK-LABEL: func.func @main
// CHECK-SAME: attributes {weft.arena_size = 128 : i64}
// CHECK-NOT: weft.dispatch(
// CHECK: %[[W:.*]] = weft.constant dense<5.000000e-01> : tensor<16x8xf32>
// CHECK: %[[C0:.*]] = weft.dispatch_call @main_dispatch_0(%{{.*}}, %[[W]]) {result_offsets = array<i64: 0>} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
// CHECK: %[[R:.*]] = weft.reshape %[[C0]] : (tensor<4x8xf32>) -> tensor<32xf32>
// CHECK: %[[C1:.*]] = weft.dispatch_call @main_dispatch_1(%[[R]]) {result_offsets = array<i64: -1>}
// CHECK: %[[C2:.*]]:2 = weft.dispatch_call @main_dispatch_2(%[[C0]]) {result_offsets = array<i64: -1, 64>} : (tensor<4x8xf32>) -> (tensor<2x4xf32>, tensor<4x8xf32>)
// CHECK: return %[[C1]], %[[C2]]#0
func.func @main(%x: tensor<4x16xf32>) -> (tensor<32xf32>, tensor<2x4xf32>) attributes {weft.arena_size = 128 : i64} {
  %w = weft.constant dense<0.5> : tensor<16x8xf32>
  %0 = weft.dispatch(%x, %w) {result_offsets = array<i64: 0>} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>):
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<4x8xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    %m = linalg.matmul ins(%a, %b : tensor<4x16xf32>, tensor<16x8xf32>) outs(%f : tensor<4x8xf32>) -> tensor<4x8xf32>
    weft.yield %m : tensor<4x8xf32>
  }
  %r = weft.reshape %0 : (tensor<4x8xf32>) -> tensor<32xf32>
  %1 = weft.dispatch(%r) {result_offsets = array<i64: -1>} : (tensor<32xf32>) -> tensor<32xf32> {
  ^bb0(%a: tensor<32xf32>):
    %e = tensor.empty() : tensor<32xf32>
    %g = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<32xf32>) outs(%e : tensor<32xf32>) {
    ^bb0(%in: f32, %out: f32):
      %n = arith.negf %in : f32
      linalg.yield %n : f32
    } -> tensor<32xf32>
    weft.yield %g : tensor<32xf32>
  }
  %2:2 = weft.dispatch(%0) {result_offsets = array<i64: -1, 64>} : (tensor<4x8xf32>) -> (tensor<2x4xf32>, tensor<4x8xf32>) {
  ^bb0(%a: tensor<4x8xf32>):
    %s = tensor.extract_slice %a[0, 0] [2, 4] [1, 1] : tensor<4x8xf32> to tensor<2x4xf32>
    weft.yield %s, %a : tensor<2x4xf32>, tensor<4x8xf32>
  }
  return %1, %2#0 : tensor<32xf32>, tensor<2x4xf32>
}

// Numbering restarts for each host function; a dispatch without a plan gets
// a call without offsets.
// CHECK-LABEL: func.func private @other_dispatch_0
// CHECK-SAME: (%[[IN:.*]]: memref<8xf32>, %[[OUT:.*]]: memref<8xf32>)
// CHECK: %[[D:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[D]] : tensor<8xf32>)
// CHECK: bufferization.materialize_in_destination %[[F]] in restrict writable %[[OUT]]
// CHECK-LABEL: func.func @other
// CHECK: weft.dispatch_call @other_dispatch_0(%{{.*}}) : (tensor<8xf32>) -> tensor<8xf32>
func.func @other(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = weft.dispatch(%x) : (tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%a: tensor<8xf32>):
    %e = tensor.empty() : tensor<8xf32>
    %c = arith.constant 1.0 : f32
    %f = linalg.fill ins(%c : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
    weft.yield %f : tensor<8xf32>
  }
  return %0 : tensor<8xf32>
}
