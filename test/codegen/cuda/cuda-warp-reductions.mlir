// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' | FileCheck %s

// Few outputs, each a long reduction (>= 512 products along a loop lanes
// can share): a warp per output, its 32 lanes splitting the reduction.
// A matrix-vector product whose init is its bias: the lanes' partial dot
// products (16 of the 512 products each, every 32nd) merge into the bias,
// computed in a temporary, and lane 0 writes the total.
// CHECK-LABEL: func.func private @fc_bias
// CHECK-SAME: weft.lanes = 32 : i64, weft.workgroup_count = 64 : i64
// CHECK: scf.forall (%[[N:.*]]) in (64) shared_outs(%[[OUT:.*]] = %{{.*}})
// CHECK: %[[MINE:.*]] = tensor.extract_slice %[[OUT]][0, %[[N]]] [1, 1] [1, 1]
// CHECK: %[[TMP:.*]] = tensor.empty() : tensor<1x1xf32>
// CHECK: %[[BIAS:.*]] = linalg.generic {{.*}} outs(%[[TMP]] : tensor<1x1xf32>)
// CHECK: %[[P:.*]] = scf.forall (%[[L:.*]]) in (32)
// CHECK: tensor.extract_slice %{{.*}}[0, %[[L]]] [1, 16] [1, 32] : tensor<1x512xf32> to tensor<1x16xf32>
// CHECK: tensor.extract_slice %{{.*}}[%[[L]], 0] [16, 1] [32, 1] : tensor<512x1xf32> to tensor<16x1xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<1x16xf32>, tensor<16x1xf32>)
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: %[[TOTAL:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<32x1x1xf32>) outs(%[[BIAS]] : tensor<1x1xf32>) attrs = {weft.lane_merge}
// CHECK: %[[W:.*]] = scf.forall (%{{.*}}) in (1) shared_outs(%[[O:.*]] = %[[MINE]])
// CHECK: tensor.parallel_insert_slice %[[TOTAL]] into %[[O]][0, 0] [1, 1] [1, 1]
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: tensor.parallel_insert_slice %[[W]] into %[[OUT]][0, %[[N]]] [1, 1] [1, 1]

// A convolution over 64 input channels and a 3x3 window (576 products per
// output) with a relu: the lanes split the input channels (2 each, every
// 32nd), and lane 0 applies the relu to the merged sum and writes it.
// CHECK-LABEL: func.func private @conv_relu
// CHECK-SAME: weft.lanes = 32 : i64, weft.workgroup_count = 128 : i64
// CHECK: %[[P:.*]] = scf.forall (%[[L:.*]]) in (32)
// CHECK: tensor.extract_slice %{{.*}}[0, %[[L]], 0, 0] [1, 2, 3, 3] [1, 32, 1, 1] : tensor<1x64x3x3xf32> to tensor<1x2x3x3xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, %[[L]], 0, 0] [1, 2, 3, 3] [1, 32, 1, 1] : tensor<1x64x3x3xf32> to tensor<1x2x3x3xf32>
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) outs(%{{.*}} : tensor<1x1x1x1xf32>)
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<32x1x1x1x1xf32>) {{.*}} attrs = {weft.lane_merge}
// CHECK: scf.forall (%{{.*}}) in (1)
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : tensor<1x1x1x1xf32>)
// CHECK: arith.maximumf
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}

// 512 products per output but 65536 outputs: enough threads already, one
// thread per output.
// CHECK-LABEL: func.func private @many_outputs
// CHECK-SAME: attributes {weft.dispatch_fn, weft.workgroup_count = 65536 : i64}

// 256 products per output: too short to split.
// CHECK-LABEL: func.func private @short_reduction
// CHECK-SAME: attributes {weft.dispatch_fn, weft.workgroup_count = 64 : i64}
#bias = affine_map<(d0, d1) -> (d1)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func private @fc_bias(%arg0: memref<1x512xf32>, %arg1: memref<512x64xf32>, %arg2: memref<64xf32>, %arg3: memref<1x64xf32>) attributes {weft.dispatch_fn} {
  %x = bufferization.to_tensor %arg0 restrict : memref<1x512xf32> to tensor<1x512xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<512x64xf32> to tensor<512x64xf32>
  %b = bufferization.to_tensor %arg2 restrict : memref<64xf32> to tensor<64xf32>
  %o = bufferization.to_tensor %arg3 restrict writable : memref<1x64xf32> to tensor<1x64xf32>
  %init = linalg.generic {indexing_maps = [#bias, #id2], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<64xf32>) outs(%o : tensor<1x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x64xf32>
  %r = linalg.matmul ins(%x, %w : tensor<1x512xf32>, tensor<512x64xf32>) outs(%init : tensor<1x64xf32>) -> tensor<1x64xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg3 : (tensor<1x64xf32>, memref<1x64xf32>) -> ()
  return
}
func.func private @conv_relu(%arg0: memref<1x64x6x6xf32>, %arg1: memref<8x64x3x3xf32>, %arg2: memref<1x8x4x4xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x64x6x6xf32> to tensor<1x64x6x6xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<8x64x3x3xf32> to tensor<8x64x3x3xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x64x6x6xf32>, tensor<8x64x3x3xf32>) outs(%f : tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c : tensor<1x8x4x4xf32>) outs(%o : tensor<1x8x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x8x4x4xf32>, memref<1x8x4x4xf32>) -> ()
  return
}
func.func private @many_outputs(%arg0: memref<256x512xf32>, %arg1: memref<512x256xf32>, %arg2: memref<256x256xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<256x512xf32> to tensor<256x512xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<512x256xf32> to tensor<512x256xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<256x256xf32> to tensor<256x256xf32>
  %f = linalg.fill ins(%zero : f32) outs(%o : tensor<256x256xf32>) -> tensor<256x256xf32>
  %e = tensor.empty() : tensor<256x512xf32>
  %t = linalg.transpose ins(%w : tensor<512x256xf32>) outs(%e : tensor<256x512xf32>) permutation = [1, 0]
  %r = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%x, %t : tensor<256x512xf32>, tensor<256x512xf32>) outs(%f : tensor<256x256xf32>) -> tensor<256x256xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<256x256xf32>, memref<256x256xf32>) -> ()
  return
}
func.func private @short_reduction(%arg0: memref<1x256xf32>, %arg1: memref<256x64xf32>, %arg2: memref<1x64xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x256xf32> to tensor<1x256xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<256x64xf32> to tensor<256x64xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x64xf32> to tensor<1x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%o : tensor<1x64xf32>) -> tensor<1x64xf32>
  %r = linalg.matmul ins(%x, %w : tensor<1x256xf32>, tensor<256x64xf32>) outs(%f : tensor<1x64xf32>) -> tensor<1x64xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x64xf32>, memref<1x64xf32>) -> ()
  return
}
