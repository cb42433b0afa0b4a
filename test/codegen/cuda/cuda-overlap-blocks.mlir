// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' | FileCheck %s --check-prefix=TILE
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads{tf32=true}))' | FileCheck %s --check-prefix=TF32
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads,weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}),canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,func.func(weft-cpu-distribute-workgroups,weft-cuda-distribute-lanes),canonicalize,cse)' | FileCheck %s --check-prefix=GPU

// Blocks that do not divide the output: a 200 x 256 x 2048 matmul (bias
// and relu after) takes 32 x 128 blocks (7 x 16 = 112, the fewest of the
// three block shapes), the last row of blocks moved back to start at row
// 168, so it overlaps the one before (rows 168 to 191 are computed twice,
// the same values written twice) and every block is whole.
// TILE: #[[LAST_ROWS:map[0-9]*]] = affine_map<(d0) -> (d0 * 32, 168)>
// TILE: #[[LAST_COLS:map[0-9]*]] = affine_map<(d0) -> (d0 * 32, 752)>
// TILE-LABEL: func.func private @ragged_rows
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 112 : i64
// TILE: scf.forall (%[[I:.*]], %[[J:.*]]) in (7, 16)
// TILE: affine.min #[[LAST_ROWS]](%[[I]])
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x128xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x36xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x132xf32>
// TILE: scf.for %{{.*}} = %c0 to %c256 step %c32
// TILE: arith.maximumf
// TILE: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] [32, 128] [1, 1]
// TILE: materialize_in_destination
// GPU-LABEL: func.func private @ragged_rows
// GPU: %[[WG:.*]]:2 = affine.delinearize_index %arg4 into (7, 16)
// GPU: affine.min #{{.*}}()[%[[WG]]#0]
// The accumulator's tiles stay in their threads' registers (no 32 x 128
// shared buffer); A's and B's steps go through shared memory.
// GPU-NOT: memref<32x128xf32, #gpu.address_space<workgroup>>
// GPU: memref.alloca() {{.*}} : memref<2x32x36xf32, #gpu.address_space<workgroup>>
// GPU: memref.alloca() {{.*}} : memref<2x32x132xf32, #gpu.address_space<workgroup>>
// GPU: gpu.barrier
// GPU: return

// An epilogue that reads the output (here adds the matmul to it) cannot
// take overlapping blocks (the second block would add to the first's
// result): 4 x 4 tiles per thread instead.
// TILE-LABEL: func.func private @ragged_accumulate
// TILE-SAME: weft.workgroup_count = 25600 : i64
// TILE-NOT: alloc_tensor
// TILE: return

// A 1x1 convolution of strides 1 is a matmul of the filter [512, 128] and
// the image's [128, 28 * 28]: rewritten so, with the image, the residual
// and the output viewed as [1, C, 784], it takes 128 x 32 blocks (4 x 25,
// the last column of blocks starting at 752); the expand_shape back to
// [1, 512, 28, 28] is left at the output.
// TILE-LABEL: func.func private @conv1x1
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 100 : i64
// TILE-DAG: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x128x28x28xf32> into tensor<1x128x784xf32>
// TILE-DAG: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] : tensor<512x128x1x1xf32> into tensor<512x128xf32>
// TILE-DAG: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x512x28x28xf32> into tensor<1x512x784xf32>
// TILE: scf.forall (%{{.*}}, %[[J:.*]]) in (4, 25)
// TILE: affine.min #[[LAST_COLS]](%[[J]])
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x128x32xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<128x36xf32>
// TILE: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x32x36xf32>
// TILE: scf.for %{{.*}} = %c0 to %c128 step %c32
// TILE: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x32xf32>, tensor<1x32x4xf32>) outs(%{{.*}} : tensor<1x4x4xf32>)
// TILE-NOT: linalg.conv_2d_nchw_fchw
// TILE: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] output_shape [1, 512, 28, 28]
// TILE: materialize_in_destination
// GPU-LABEL: func.func private @conv1x1
// GPU-NOT: memref<1x128x32xf32, #gpu.address_space<workgroup>>
// GPU: memref.alloca() {{.*}} : memref<2x128x36xf32, #gpu.address_space<workgroup>>
// GPU: vector.contract
// GPU: return

// A 1x1 convolution of stride 2 (no epilogue) reads every other column:
// its columns [256, 784] are a gather from the image, which the block's
// threads compute per reduction step straight into the shared buffer
// (each thread one position of 4 input channels, the lanes of a warp
// neighbouring positions), never built whole.
// TILE-LABEL: func.func private @conv1x1_stride2
// TILE-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 100 : i64
// TILE: scf.forall (%{{.*}}, %[[J:.*]]) in (4, 25)
// TILE: %[[LAST:.*]] = affine.min #[[LAST_COLS]](%[[J]])
// TILE: %[[PADDED:.*]] = bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x32x36xf32>
// TILE: %[[COLS:.*]] = tensor.extract_slice %[[PADDED]][0, 0, 0] [1, 32, 32] [1, 1, 1]
// TILE: scf.for %[[K:.*]] = %c0 to %c256 step %c32
// TILE: scf.forall (%[[T:.*]]) in (256) shared_outs(%[[S:.*]] = %[[COLS]])
// TILE: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x1xf32>)
// TILE: affine.apply #{{.*}}(%[[K]])
// TILE: affine.apply #{{.*}}(%[[LAST]])
// TILE: tensor.extract %{{.*}} : tensor<1x256x56x56xf32>
// TILE: } {mapping = [#gpu.thread<linear_dim_0>]}
// TILE-NOT: linalg.conv_2d_nchw_fchw
// TILE: return
// Computed in the output itself (viewed as [1, 512, 784]), not in a
// temporary as large as it. Each thread's 4 gathered positions become 4
// loads and one vector write, so the loop of steps is pipelined over them
// too: the first step's loads before the loop; in each step the values
// loaded one step earlier written to the step's copy of the shared
// buffers, the barrier, then the next step's loads, before the products.
// GPU-LABEL: func.func private @conv1x1_stride2
// GPU-NOT: memref.alloca() {{.*}} : memref<1x512x28x28xf32>
// GPU: memref.collapse_shape %arg2
// GPU: memref.alloca() {{.*}} : memref<2x1x32x36xf32, #gpu.address_space<workgroup>>
// GPU-COUNT-4: memref.load %arg0
// GPU: scf.for {{.*}} -> (vector<1x4x4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32)
// GPU-NOT: linalg.generic
// GPU: %[[G:.*]] = vector.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>
// GPU: vector.transfer_write %[[G]], %{{.*}} : vector<4xf32>, memref<4xf32, {{.*}}, #gpu.address_space<workgroup>>
// GPU-NEXT: gpu.barrier
// GPU-COUNT-4: memref.load %arg0
// GPU: return

// A 128 x 768 x 768 matmul (98304 outputs, as BERT-base's output
// projection) has too few outputs for 4 x 4 register tiles, so without
// tensor cores it takes 1 x 4 tiles and no blocks; with --cuda-tf32 its
// blocks run on tensor cores, which take blocks from 16 of them on
// (24 blocks of 64 x 64 here).
// TILE-LABEL: func.func private @few_outputs
// TILE-SAME: weft.workgroup_count = 24576 : i64
// TILE-NOT: alloc_tensor
// TILE: return
// TF32-LABEL: func.func private @few_outputs
// TF32-SAME: weft.lanes = 256 : i64, weft.workgroup_count = 24 : i64
// TF32: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<64x72xf32>
// TF32: weft.mma = "tf32"
// TF32: return

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d1)>

func.func private @ragged_rows(%arg0: memref<200x256xf32>, %arg1: memref<256x2048xf32>, %arg2: memref<2048xf32>, %arg3: memref<200x2048xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<200x256xf32> to tensor<200x256xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<256x2048xf32> to tensor<256x2048xf32>
  %bias = bufferization.to_tensor %arg2 restrict : memref<2048xf32> to tensor<2048xf32>
  %d = bufferization.to_tensor %arg3 restrict writable : memref<200x2048xf32> to tensor<200x2048xf32>
  %e = tensor.empty() : tensor<200x2048xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<200x2048xf32>) -> tensor<200x2048xf32>
  %m = linalg.matmul ins(%a, %b : tensor<200x256xf32>, tensor<256x2048xf32>) outs(%f : tensor<200x2048xf32>) -> tensor<200x2048xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%m, %bias : tensor<200x2048xf32>, tensor<2048xf32>) outs(%d : tensor<200x2048xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %v = arith.maximumf %s, %zero : f32
    linalg.yield %v : f32
  } -> tensor<200x2048xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg3 : (tensor<200x2048xf32>, memref<200x2048xf32>) -> ()
  return
}

func.func private @ragged_accumulate(%arg0: memref<200x256xf32>, %arg1: memref<256x2048xf32>, %arg3: memref<200x2048xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<200x256xf32> to tensor<200x256xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<256x2048xf32> to tensor<256x2048xf32>
  %d = bufferization.to_tensor %arg3 restrict writable : memref<200x2048xf32> to tensor<200x2048xf32>
  %e = tensor.empty() : tensor<200x2048xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<200x2048xf32>) -> tensor<200x2048xf32>
  %m = linalg.matmul ins(%a, %b : tensor<200x256xf32>, tensor<256x2048xf32>) outs(%f : tensor<200x2048xf32>) -> tensor<200x2048xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<200x2048xf32>) outs(%d : tensor<200x2048xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  } -> tensor<200x2048xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg3 : (tensor<200x2048xf32>, memref<200x2048xf32>) -> ()
  return
}

func.func private @conv1x1(%arg0: memref<1x128x28x28xf32>, %arg1: memref<512x128x1x1xf32>, %arg2: memref<512xf32>, %arg3: memref<1x512x28x28xf32>, %arg4: memref<1x512x28x28xf32>) attributes {weft.dispatch_fn} {
  %cst = arith.constant 0.000000e+00 : f32
  %0 = bufferization.to_tensor %arg0 restrict : memref<1x128x28x28xf32> to tensor<1x128x28x28xf32>
  %1 = bufferization.to_tensor %arg1 restrict : memref<512x128x1x1xf32> to tensor<512x128x1x1xf32>
  %2 = bufferization.to_tensor %arg2 restrict : memref<512xf32> to tensor<512xf32>
  %3 = bufferization.to_tensor %arg3 restrict : memref<1x512x28x28xf32> to tensor<1x512x28x28xf32>
  %4 = bufferization.to_tensor %arg4 restrict writable : memref<1x512x28x28xf32> to tensor<1x512x28x28xf32>
  %5 = tensor.empty() : tensor<1x512x28x28xf32>
  %6 = linalg.generic {indexing_maps = [#ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2 : tensor<512xf32>) outs(%5 : tensor<1x512x28x28xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x512x28x28xf32>
  %7 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%0, %1 : tensor<1x128x28x28xf32>, tensor<512x128x1x1xf32>) outs(%6 : tensor<1x512x28x28xf32>) -> tensor<1x512x28x28xf32>
  %8 = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%7, %3 : tensor<1x512x28x28xf32>, tensor<1x512x28x28xf32>) outs(%4 : tensor<1x512x28x28xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %9 = arith.addf %in, %in_0 : f32
    %10 = arith.maximumf %9, %cst : f32
    linalg.yield %10 : f32
  } -> tensor<1x512x28x28xf32>
  bufferization.materialize_in_destination %8 in restrict writable %arg4 : (tensor<1x512x28x28xf32>, memref<1x512x28x28xf32>) -> ()
  return
}

func.func private @conv1x1_stride2(%arg0: memref<1x256x56x56xf32>, %arg1: memref<512x256x1x1xf32>, %arg4: memref<1x512x28x28xf32>) attributes {weft.dispatch_fn} {
  %cst = arith.constant 0.000000e+00 : f32
  %0 = bufferization.to_tensor %arg0 restrict : memref<1x256x56x56xf32> to tensor<1x256x56x56xf32>
  %1 = bufferization.to_tensor %arg1 restrict : memref<512x256x1x1xf32> to tensor<512x256x1x1xf32>
  %4 = bufferization.to_tensor %arg4 restrict writable : memref<1x512x28x28xf32> to tensor<1x512x28x28xf32>
  %5 = tensor.empty() : tensor<1x512x28x28xf32>
  %6 = linalg.fill ins(%cst : f32) outs(%5 : tensor<1x512x28x28xf32>) -> tensor<1x512x28x28xf32>
  %7 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%0, %1 : tensor<1x256x56x56xf32>, tensor<512x256x1x1xf32>) outs(%6 : tensor<1x512x28x28xf32>) -> tensor<1x512x28x28xf32>
  bufferization.materialize_in_destination %7 in restrict writable %arg4 : (tensor<1x512x28x28xf32>, memref<1x512x28x28xf32>) -> ()
  return
}

func.func private @few_outputs(%arg0: memref<128x768xf32>, %arg1: memref<768x768xf32>, %arg2: memref<128x768xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<128x768xf32> to tensor<128x768xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<768x768xf32> to tensor<768x768xf32>
  %e = tensor.empty() : tensor<128x768xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<128x768xf32>) -> tensor<128x768xf32>
  %m = linalg.matmul ins(%a, %b : tensor<128x768xf32>, tensor<768x768xf32>) outs(%f : tensor<128x768xf32>) -> tensor<128x768xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<128x768xf32>, memref<128x768xf32>) -> ()
  return
}
