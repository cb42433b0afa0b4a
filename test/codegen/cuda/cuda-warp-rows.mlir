// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' | FileCheck %s

// Rows whose length is a multiple of 32 (and at least 64) go to a warp:
// each of 32 lanes takes the row's elements lane, lane + 32, ... A softmax
// over rows of 128: the max and the sum of exponentials are each 32
// partials (from the combiner's identity) merged into the reduction's init,
// and the output is written by a lane loop, each lane its strided share.
// CHECK-LABEL: func.func private @softmax_rows
// CHECK-SAME: weft.lanes = 32 : i64, weft.workgroup_count = 8 : i64
// CHECK: scf.forall (%[[ROW:.*]]) in (8) shared_outs(%[[OUT:.*]] = %{{.*}})
// CHECK: %[[NINF:.*]] = linalg.fill ins(%[[CNINF:.*]] : f32) outs(%{{.*}} : tensor<1xf32>)
// CHECK: %[[MAXP:.*]] = scf.forall (%[[L:.*]]) in (32) shared_outs(%[[P:.*]] = %{{.*}}) -> (tensor<32x1xf32>)
// CHECK: tensor.extract_slice %{{.*}}[0, %[[L]]] [1, 4] [1, 32] : tensor<1x128xf32> to tensor<1x4xf32>
// CHECK: linalg.fill ins(%[[CNINF]] : f32)
// CHECK: arith.maximumf
// CHECK: tensor.parallel_insert_slice %{{.*}} into %[[P]][%[[L]], 0] [1, 1] [1, 1] : tensor<1xf32> into tensor<32x1xf32>
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[MAXP]] : tensor<32x1xf32>) outs(%[[NINF]] : tensor<1xf32>) attrs = {weft.lane_merge}
// CHECK: arith.maximumf
// CHECK: scf.forall (%{{.*}}) in (32)
// CHECK: math.exp
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} attrs = {weft.lane_merge}
// CHECK: arith.addf
// CHECK: %[[MINE:.*]] = tensor.extract_slice %[[OUT]][%[[ROW]], 0] [1, 128] [1, 1]
// CHECK: %[[W:.*]] = scf.forall (%[[L2:.*]]) in (32) shared_outs(%[[O:.*]] = %[[MINE]]) -> (tensor<1x128xf32>)
// CHECK: %[[X:.*]] = tensor.extract_slice %{{.*}}[0, %[[L2]]] [1, 4] [1, 32]
// CHECK: %[[Y:.*]] = tensor.extract_slice %[[O]][0, %[[L2]]] [1, 4] [1, 32]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[MAX]], %[[SUM]] : tensor<1x4xf32>, tensor<1xf32>, tensor<1xf32>) outs(%[[Y]] : tensor<1x4xf32>)
// CHECK: tensor.parallel_insert_slice %[[R]] into %[[O]][0, %[[L2]]] [1, 4] [1, 32] : tensor<1x4xf32> into tensor<1x128xf32>
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: tensor.parallel_insert_slice %[[W]] into %[[OUT]][%[[ROW]], 0] [1, 128] [1, 1]

// A row-long producer (relu) is computed by each lane for its own share,
// in the partial sums and in the output; the sum starts from 1, which the
// merge's init keeps (the lanes' partials start from 0).
// CHECK-LABEL: func.func private @relu_sum_from_one
// CHECK-SAME: weft.lanes = 32 : i64, weft.workgroup_count = 4 : i64
// CHECK: %[[ONE:.*]] = linalg.fill ins(%cst_0 : f32) outs(%{{.*}} : tensor<1xf32>)
// CHECK: %[[PS:.*]] = scf.forall (%[[L:.*]]) in (32)
// CHECK: %[[RELU:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2xf32>) outs(%{{.*}} : tensor<1x2xf32>)
// CHECK: arith.maximumf
// CHECK: %[[Z:.*]] = linalg.fill ins(%cst : f32) outs(%{{.*}} : tensor<1xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[RELU]] : tensor<1x2xf32>) outs(%[[Z]] : tensor<1xf32>)
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: linalg.generic {{.*}} ins(%[[PS]] : tensor<32x1xf32>) outs(%[[ONE]] : tensor<1xf32>) attrs = {weft.lane_merge}
// CHECK: scf.forall (%{{.*}}) in (32)
// CHECK: arith.maximumf
// CHECK: arith.divf
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}

#id = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>
func.func private @softmax_rows(%arg0: memref<8x128xf32>, %arg1: memref<8x128xf32>) attributes {weft.dispatch_fn} {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<8x128xf32> to tensor<8x128xf32>
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %m = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<8x128xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.maximumf %out, %in : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %s = linalg.generic {indexing_maps = [#id, #red, #red], iterator_types = ["parallel", "reduction"]} ins(%x, %m : tensor<8x128xf32>, tensor<8xf32>) outs(%z : tensor<8xf32>) {
  ^bb0(%in: f32, %mx: f32, %out: f32):
    %d = arith.subf %in, %mx : f32
    %p = math.exp %d : f32
    %a = arith.addf %out, %p : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %o = bufferization.to_tensor %arg1 restrict writable : memref<8x128xf32> to tensor<8x128xf32>
  %r = linalg.generic {indexing_maps = [#id, #red, #red, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %m, %s : tensor<8x128xf32>, tensor<8xf32>, tensor<8xf32>) outs(%o : tensor<8x128xf32>) {
  ^bb0(%in: f32, %mx: f32, %sum: f32, %out: f32):
    %d = arith.subf %in, %mx : f32
    %p = math.exp %d : f32
    %q = arith.divf %p, %sum : f32
    linalg.yield %q : f32
  } -> tensor<8x128xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg1 : (tensor<8x128xf32>, memref<8x128xf32>) -> ()
  return
}
func.func private @relu_sum_from_one(%arg0: memref<4x64xf32>, %arg1: memref<4x64xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<4x64xf32> to tensor<4x64xf32>
  %er = tensor.empty() : tensor<4x64xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x64xf32>) outs(%er : tensor<4x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%one : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %s = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%relu : tensor<4x64xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<4xf32>
  %o = bufferization.to_tensor %arg1 restrict writable : memref<4x64xf32> to tensor<4x64xf32>
  %r = linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel"]} ins(%relu, %s : tensor<4x64xf32>, tensor<4xf32>) outs(%o : tensor<4x64xf32>) {
  ^bb0(%in: f32, %sum: f32, %out: f32):
    %d = arith.divf %in, %sum : f32
    linalg.yield %d : f32
  } -> tensor<4x64xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg1 : (tensor<4x64xf32>, memref<4x64xf32>) -> ()
  return
}
