// RUN: weft-opt %s -weft-cpu-bufferize | FileCheck %s

// One-shot bufferization of the dispatch functions only: the output buffer is
// written in place, constants become read-only globals and temporaries live
// on the stack. The host function keeps its tensors.

#id = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>

// CHECK: memref.global "private" constant @[[G:.*]] : memref<64x32xf32> = dense<2.500000e-01>

// The workgroup loop writes straight into subviews of the output argument.
// CHECK-LABEL: func.func private @main_dispatch_0
// CHECK-SAME: (%[[IN:.*]]: memref<64x64xf32>, %[[OUT:.*]]: memref<64x32xf32>)
// CHECK-SAME: weft.workgroup_count = 8 : i64
// CHECK-NOT: bufferization.to_tensor
// CHECK: %[[W:.*]] = memref.get_global @[[G]] : memref<64x32xf32>
// CHECK: scf.forall (%[[I:.*]]) = (0) to (64) step (8) {
// CHECK-DAG: %[[A:.*]] = memref.subview %[[IN]][%[[I]], 0] [8, 64] [1, 1]
// CHECK-DAG: %[[D:.*]] = memref.subview %[[OUT]][%[[I]], 0] [8, 32] [1, 1]
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[D]] : memref<8x32xf32, strided<[32, 1], offset: ?>>)
// CHECK: linalg.matmul ins(%[[A]], %[[W]] : memref<8x64xf32, strided<[64, 1], offset: ?>>, memref<64x32xf32>) outs(%[[D]] : memref<8x32xf32, strided<[32, 1], offset: ?>>)
// CHECK-NOT: memref.alloc(
// CHECK-NOT: tensor<
// CHECK: return
func.func private @main_dispatch_0(%arg0: memref<64x64xf32>, %arg1: memref<64x32xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 8 : i64} {
  %w = arith.constant dense<2.500000e-01> : tensor<64x32xf32>
  %zero = arith.constant 0.000000e+00 : f32
  %0 = bufferization.to_tensor %arg0 restrict : memref<64x64xf32> to tensor<64x64xf32>
  %1 = bufferization.to_tensor %arg1 restrict writable : memref<64x32xf32> to tensor<64x32xf32>
  %2 = scf.forall (%i) = (0) to (64) step (8) shared_outs(%o = %1) -> (tensor<64x32xf32>) {
    %a = tensor.extract_slice %0[%i, 0] [8, 64] [1, 1] : tensor<64x64xf32> to tensor<8x64xf32>
    %d = tensor.extract_slice %o[%i, 0] [8, 32] [1, 1] : tensor<64x32xf32> to tensor<8x32xf32>
    %f = linalg.fill ins(%zero : f32) outs(%d : tensor<8x32xf32>) -> tensor<8x32xf32>
    %m = linalg.matmul ins(%a, %w : tensor<8x64xf32>, tensor<64x32xf32>) outs(%f : tensor<8x32xf32>) -> tensor<8x32xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %m into %o[%i, 0] [8, 32] [1, 1] : tensor<8x32xf32> into tensor<64x32xf32>
    }
  }
  bufferization.materialize_in_destination %2 in restrict writable %arg1 : (tensor<64x32xf32>, memref<64x32xf32>) -> ()
  return
}

// The reduction temporaries become 64-byte aligned stack buffers; the result
// is computed in the output buffer.
// CHECK-LABEL: func.func private @main_dispatch_1
// CHECK-SAME: (%[[IN:.*]]: memref<4x64xf32>, %[[OUT:.*]]: memref<4x64xf32>)
// CHECK-DAG: %[[T0:.*]] = memref.alloca() {alignment = 64 : i64} : memref<4xf32>
// CHECK-DAG: %[[T1:.*]] = memref.alloca() {alignment = 64 : i64} : memref<4xf32>
// CHECK-NOT: memref.alloc(
// CHECK: linalg.generic {{.*}} ins(%[[IN]] : memref<4x64xf32>) outs(%[[MAX:.*]] : memref<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[IN]], %[[MAX]] : memref<4x64xf32>, memref<4xf32>) outs(%[[SUM:.*]] : memref<4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[IN]], %[[MAX]], %[[SUM]] : memref<4x64xf32>, memref<4xf32>, memref<4xf32>) outs(%[[OUT]] : memref<4x64xf32>)
// CHECK-NOT: tensor<
// CHECK: return
func.func private @main_dispatch_1(%arg0: memref<4x64xf32>, %arg1: memref<4x64xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<4x64xf32> to tensor<4x64xf32>
  %e = tensor.empty() : tensor<4xf32>
  %d = bufferization.to_tensor %arg1 restrict writable : memref<4x64xf32> to tensor<4x64xf32>
  %f0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %max = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x64xf32>) outs(%f0 : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %out, %in : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #red, #red], iterator_types = ["parallel", "reduction"]} ins(%x, %max : tensor<4x64xf32>, tensor<4xf32>) outs(%f1 : tensor<4xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %s = arith.subf %in, %m : f32
    %ex = math.exp %s : f32
    %r = arith.addf %out, %ex : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #red, #red, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %max, %sum : tensor<4x64xf32>, tensor<4xf32>, tensor<4xf32>) outs(%d : tensor<4x64xf32>) {
  ^bb0(%in: f32, %m: f32, %s: f32, %out: f32):
    %a = arith.subf %in, %m : f32
    %ex = math.exp %a : f32
    %r = arith.divf %ex, %s : f32
    linalg.yield %r : f32
  } -> tensor<4x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %arg1 : (tensor<4x64xf32>, memref<4x64xf32>) -> ()
  return
}

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%{{.*}}: tensor<64x64xf32>, %{{.*}}: tensor<4x64xf32>) -> (tensor<64x32xf32>, tensor<4x64xf32>)
// CHECK: weft.dispatch_call @main_dispatch_0(%{{.*}}) {result_offsets = array<i64: -1>} : (tensor<64x64xf32>) -> tensor<64x32xf32>
// CHECK: weft.dispatch_call @main_dispatch_1(%{{.*}}) {result_offsets = array<i64: -1>} : (tensor<4x64xf32>) -> tensor<4x64xf32>
func.func @main(%arg0: tensor<64x64xf32>, %arg1: tensor<4x64xf32>) -> (tensor<64x32xf32>, tensor<4x64xf32>) attributes {weft.arena_size = 0 : i64} {
  %0 = weft.dispatch_call @main_dispatch_0(%arg0) {result_offsets = array<i64: -1>} : (tensor<64x64xf32>) -> tensor<64x32xf32>
  %1 = weft.dispatch_call @main_dispatch_1(%arg1) {result_offsets = array<i64: -1>} : (tensor<4x64xf32>) -> tensor<4x64xf32>
  return %0, %1 : tensor<64x32xf32>, tensor<4x64xf32>
}
