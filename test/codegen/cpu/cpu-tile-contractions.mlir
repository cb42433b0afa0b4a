// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions{vector-width=8}))' | FileCheck %s --check-prefix=VW8

// 16x256 @ 256x64: reduction blocks of 128 (a 128x32 B panel is half of
// L1), 8x32 register tiles with N outside M, one k step per contract, and
// the accumulator carried in registers through the k loop.
// CHECK-LABEL: func.func private @matmul
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: %[[FILL:.*]] = linalg.fill
// CHECK: scf.for %[[KB:.*]] = %{{.*}} to %{{.*}} step %[[C128]] iter_args(%{{.*}} = %[[FILL]])
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %[[C32]]
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %[[C8]] iter_args(%[[T:.*]] = %{{.*}})
// CHECK: %[[TILE:.*]] = tensor.extract_slice %[[T]][%[[I]], %[[J]]] [8, 32]
// CHECK: %[[INIT:.*]] = vector.transfer_read %[[TILE]]{{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK: %[[ACC:.*]] = scf.for %{{.*}} = %{{.*}} to %[[C128]] step %[[C1]] iter_args(%[[V:.*]] = %[[INIT]]) -> (vector<8x32xf32>)
// CHECK: %[[A:.*]] = vector.transfer_read %{{.*}} : tensor<16x256xf32>, vector<8x1xf32>
// CHECK: %[[B:.*]] = vector.transfer_read %{{.*}} : tensor<256x64xf32>, vector<1x32xf32>
// CHECK: %[[R:.*]] = vector.contract {{.*}} %[[A]], %[[B]], %[[V]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK: scf.yield %[[R]] : vector<8x32xf32>
// CHECK: %[[W:.*]] = vector.transfer_write %[[ACC]], %[[TILE]]
// CHECK: tensor.insert_slice %[[W]] into %[[T]][%[[I]], %[[J]]] [8, 32]
// CHECK-NOT: linalg.matmul
// CHECK: return
// VW8-LABEL: func.func private @matmul
// VW8: scf.for {{.*}} step %c16
// VW8: scf.for {{.*}} step %c8
// VW8: vector.contract {{.*}} : vector<8x1xf32>, vector<1x16xf32> into vector<8x16xf32>
func.func private @matmul(%arg0: memref<16x256xf32>, %arg1: memref<256x64xf32>, %arg2: memref<16x64xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<16x256xf32> to tensor<16x256xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<256x64xf32> to tensor<256x64xf32>
  %c = bufferization.to_tensor %arg2 restrict writable : memref<16x64xf32> to tensor<16x64xf32>
  %f = linalg.fill ins(%cst : f32) outs(%c : tensor<16x64xf32>) -> tensor<16x64xf32>
  %r = linalg.matmul ins(%a, %b : tensor<16x256xf32>, tensor<256x64xf32>) outs(%f : tensor<16x64xf32>) -> tensor<16x64xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<16x64xf32>, memref<16x64xf32>) -> ()
  return
}

// -----

// B read along its rows (Gemm with transB) cannot give contiguous vectors
// along n: left to weft-cpu-tile-and-vectorize.
// CHECK-LABEL: func.func private @transposed_b
// CHECK: linalg.generic
// CHECK-NOT: vector.contract
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func private @transposed_b(%arg0: memref<8x64xf32>, %arg1: memref<32x64xf32>, %arg2: memref<8x32xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<8x64xf32> to tensor<8x64xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<32x64xf32> to tensor<32x64xf32>
  %c = bufferization.to_tensor %arg2 restrict writable : memref<8x32xf32> to tensor<8x32xf32>
  %f = linalg.fill ins(%cst : f32) outs(%c : tensor<8x32xf32>) -> tensor<8x32xf32>
  %r = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<8x64xf32>, tensor<32x64xf32>) outs(%f : tensor<8x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<8x32xf32>, memref<8x32xf32>) -> ()
  return
}
