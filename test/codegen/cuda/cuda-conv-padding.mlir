// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads,weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes),canonicalize,cse)' 2>&1 | FileCheck %s --check-prefix=GPU

// A dispatch that holds a padding and a convolution that does not run in
// blocks (too few outputs; @padded_small below): the padding would be
// computed by each thread for its window; weft-cuda-tile-threads says so
// (printed first).
// TILE: cuda-conv-padding.mlir:[[@LINE+109]]:8: warning: this dispatch's convolution does not run in the GPU's blocks, so the padding of its image fused into it is computed by each thread for its window

// A convolution whose dispatch holds the padding of its image (the CUDA
// targets' weft-form-dispatches, pads-into-convs): here ResNet-50's
// stage-4 3x3 convolution split in 8 groups of 32 input channels. Its
// blocks gather the padded image's columns per reduction step from the
// unpadded image: the padding's gather (clamped indices, the pad value
// selected outside the image) is composed into the columns' gather, so
// the padded image [1, 256, 16, 16] is never built.
// TILE-LABEL: func.func private @padded_grouped
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 112 : i64
// TILE-NOT: tensor<1x256x16x16xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x1x32x36xf32>
// TILE: scf.for %{{.*}} = %c0 to %c288 step %c32
// TILE: tensor.extract %{{.*}} : tensor<1x256x14x14xf32>
// TILE: arith.select
// TILE-NOT: linalg.conv_2d_ngchw_gfchw
// TILE-NOT: tensor<1x256x16x16xf32>
// TILE: return
// Each thread's gathered positions are loads of the unpadded image at
// clamped indices and selects; the loads of the next step are issued
// after the step's barrier (the buffers doubled), the selects made at the
// top of the next step.
// GPU-LABEL: func.func private @padded_grouped
// GPU: memref.alloca() {{.*}} : memref<2x1x1x32x36xf32, #gpu.address_space<workgroup>>
// GPU: memref.load %arg0
// GPU: scf.for
// GPU: arith.select
// GPU: gpu.barrier
// GPU: memref.load %arg0
// GPU: scf.yield
// GPU: return


func.func private @padded_grouped(%arg0: memref<1x256x14x14xf32>, %arg1: memref<2048x32x3x3xf32>, %arg2: memref<1x2048x14x14xf32>) attributes {weft.dispatch_fn} {
  %cst = arith.constant 0.000000e+00 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c13 = arith.constant 13 : index
  %c15 = arith.constant 15 : index
  %0 = bufferization.to_tensor %arg0 restrict : memref<1x256x14x14xf32> to tensor<1x256x14x14xf32>
  %1 = bufferization.to_tensor %arg1 restrict : memref<2048x32x3x3xf32> to tensor<2048x32x3x3xf32>
  %2 = tensor.empty() : tensor<1x256x16x16xf32>
  %3 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%2 : tensor<1x256x16x16xf32>) {
  ^bb0(%out: f32):
    %7 = linalg.index 1 : index
    %8 = linalg.index 2 : index
    %9 = linalg.index 3 : index
    %10 = arith.subi %8, %c1 : index
    %11 = arith.maxsi %10, %c0 : index
    %12 = arith.minsi %11, %c13 : index
    %13 = arith.subi %9, %c1 : index
    %14 = arith.maxsi %13, %c0 : index
    %15 = arith.minsi %14, %c13 : index
    %extracted = tensor.extract %0[%c0, %7, %12, %15] : tensor<1x256x14x14xf32>
    %16 = arith.cmpi sge, %8, %c1 : index
    %17 = arith.cmpi slt, %8, %c15 : index
    %18 = arith.andi %16, %17 : i1
    %19 = arith.cmpi sge, %9, %c1 : index
    %20 = arith.cmpi slt, %9, %c15 : index
    %21 = arith.andi %19, %20 : i1
    %22 = arith.andi %18, %21 : i1
    %23 = arith.select %22, %extracted, %cst : f32
    linalg.yield %23 : f32
  } -> tensor<1x256x16x16xf32>
  %4 = bufferization.to_tensor %arg2 restrict writable : memref<1x2048x14x14xf32> to tensor<1x2048x14x14xf32>
  %expanded = tensor.expand_shape %3 [[0], [1, 2], [3], [4]] output_shape [1, 8, 32, 16, 16] : tensor<1x256x16x16xf32> into tensor<1x8x32x16x16xf32>
  %expanded_0 = tensor.expand_shape %1 [[0, 1], [2], [3], [4]] output_shape [8, 256, 32, 3, 3] : tensor<2048x32x3x3xf32> into tensor<8x256x32x3x3xf32>
  %expanded_1 = tensor.expand_shape %4 [[0], [1, 2], [3], [4]] output_shape [1, 8, 256, 14, 14] : tensor<1x2048x14x14xf32> into tensor<1x8x256x14x14xf32>
  %5 = linalg.fill ins(%cst : f32) outs(%expanded_1 : tensor<1x8x256x14x14xf32>) -> tensor<1x8x256x14x14xf32>
  %6 = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%expanded, %expanded_0 : tensor<1x8x32x16x16xf32>, tensor<8x256x32x3x3xf32>) outs(%5 : tensor<1x8x256x14x14xf32>) -> tensor<1x8x256x14x14xf32>
  %collapsed = tensor.collapse_shape %6 [[0], [1, 2], [3], [4]] : tensor<1x8x256x14x14xf32> into tensor<1x2048x14x14xf32>
  bufferization.materialize_in_destination %collapsed in restrict writable %arg2 : (tensor<1x2048x14x14xf32>, memref<1x2048x14x14xf32>) -> ()
  return
}

func.func private @padded_small(%arg0: memref<1x8x14x14xf32>, %arg1: memref<8x8x3x3xf32>, %arg2: memref<1x8x14x14xf32>) attributes {weft.dispatch_fn} {
  %cst = arith.constant 0.000000e+00 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c13 = arith.constant 13 : index
  %c15 = arith.constant 15 : index
  %0 = bufferization.to_tensor %arg0 restrict : memref<1x8x14x14xf32> to tensor<1x8x14x14xf32>
  %1 = bufferization.to_tensor %arg1 restrict : memref<8x8x3x3xf32> to tensor<8x8x3x3xf32>
  %2 = tensor.empty() : tensor<1x8x16x16xf32>
  %3 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%2 : tensor<1x8x16x16xf32>) {
  ^bb0(%out: f32):
    %7 = linalg.index 1 : index
    %8 = linalg.index 2 : index
    %9 = linalg.index 3 : index
    %10 = arith.subi %8, %c1 : index
    %11 = arith.maxsi %10, %c0 : index
    %12 = arith.minsi %11, %c13 : index
    %13 = arith.subi %9, %c1 : index
    %14 = arith.maxsi %13, %c0 : index
    %15 = arith.minsi %14, %c13 : index
    %extracted = tensor.extract %0[%c0, %7, %12, %15] : tensor<1x8x14x14xf32>
    %16 = arith.cmpi sge, %8, %c1 : index
    %17 = arith.cmpi slt, %8, %c15 : index
    %18 = arith.andi %16, %17 : i1
    %19 = arith.cmpi sge, %9, %c1 : index
    %20 = arith.cmpi slt, %9, %c15 : index
    %21 = arith.andi %19, %20 : i1
    %22 = arith.andi %18, %21 : i1
    %23 = arith.select %22, %extracted, %cst : f32
    linalg.yield %23 : f32
  } -> tensor<1x8x16x16xf32>
  %4 = bufferization.to_tensor %arg2 restrict writable : memref<1x8x14x14xf32> to tensor<1x8x14x14xf32>
  %5 = linalg.fill ins(%cst : f32) outs(%4 : tensor<1x8x14x14xf32>) -> tensor<1x8x14x14xf32>
  %6 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%3, %1 : tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>) outs(%5 : tensor<1x8x14x14xf32>) -> tensor<1x8x14x14xf32>
  bufferization.materialize_in_destination %6 in restrict writable %arg2 : (tensor<1x8x14x14xf32>, memref<1x8x14x14xf32>) -> ()
  return
}
