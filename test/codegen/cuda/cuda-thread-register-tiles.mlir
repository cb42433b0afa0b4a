// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' | FileCheck %s --check-prefix=TILE
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads,weft-cpu-tile-contractions{vector-width=4 vector-registers=64 l1-bytes=0 gpu-threads=true}))' | FileCheck %s --check-prefix=REG

// A matmul with a bias+relu epilogue, 512 x 512 outputs and 260 products
// each (not a multiple of 32, so no block stages it through shared
// memory, see cuda-stage-blocks.mlir): each GPU thread
// takes a 4 x 4 tile of the output (16384 threads), the matmul and its fill
// fused into the epilogue's tile. The 128 x 128 tiles are ordered so that
// each block of 256 threads is a 16 x 16 patch of them (64 rows of A and 64
// columns of B shared in the cache), not a strip of 1 x 128 and 1 x 128.
// TILE-DAG: #[[PATCH:.*]] = affine_map<(d0, d1) -> (d0 * 64 + d1 * 4)>
// TILE-LABEL: func.func private @matmul_epilogue
// TILE-SAME: weft.workgroup_count = 16384 : i64
// TILE: scf.forall (%[[BI:.*]], %[[BJ:.*]], %[[TI:.*]], %[[TJ:.*]]) in (8, 8, 16, 16)
// TILE: %[[I:.*]] = affine.apply #[[PATCH]](%[[BI]], %[[TI]])
// TILE: %[[J:.*]] = affine.apply #[[PATCH]](%[[BJ]], %[[TJ]])
// TILE: tensor.extract_slice %{{.*}}[%[[I]], 0] [4, 260] [1, 1]
// TILE: tensor.extract_slice %{{.*}}[0, %[[J]]] [260, 4] [1, 1]
// TILE: linalg.fill {{.*}} -> tensor<4x4xf32>
// TILE: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x260xf32>, tensor<260x4xf32>) outs(%{{.*}} : tensor<4x4xf32>)
// TILE: arith.maximumf
// TILE: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[I]], %[[J]]] [4, 4] [1, 1]

// Then the tile's reduction runs 4 steps at a time (a 4 x 4 block of A,
// each row 4 neighbours of k, and a 4 x 4 block of B: 4 outer products),
// its accumulator carried in registers by the loop, and the epilogue (bias
// and relu) works on that vector.
// REG-LABEL: func.func private @matmul_epilogue
// REG: scf.forall
// REG: %[[ACC:.*]] = scf.for %{{.*}} = %c0 to %c260 step %c4 iter_args(%{{.*}} = %{{.*}}) -> (vector<4x4xf32>)
// REG: vector.transfer_read {{.*}} : tensor<512x260xf32>, vector<4x4xf32>
// REG: vector.transfer_read {{.*}} : tensor<260x512xf32>, vector<4x4xf32>
// REG: vector.contract {{.*}} : vector<4x4xf32>, vector<4x4xf32> into vector<4x4xf32>
// REG: %[[BIAS:.*]] = vector.transfer_read {{.*}} : tensor<512xf32>, vector<4x4xf32>
// REG: %[[SUM:.*]] = arith.addf %[[ACC]], %[[BIAS]] : vector<4x4xf32>
// REG: %[[RELU:.*]] = arith.maximumf %[[SUM]], %{{.*}} : vector<4x4xf32>
// REG: vector.transfer_write %[[RELU]]

// 128 x 256 outputs: 4 x 4 tiles would leave 2048 threads, 1 x 4 tiles
// leave 8192; both are too few, so each thread keeps one element.
// TILE-LABEL: func.func private @small_matmul
// TILE-SAME: weft.workgroup_count = 32768 : i64
// TILE: scf.forall (%{{.*}}, %{{.*}}) in (128, 256)
// REG-LABEL: func.func private @small_matmul
// REG-NOT: vector.contract
// REG: return

// B indexed (n, k) (its n is not contiguous): one element per thread.
// TILE-LABEL: func.func private @transposed_b
// TILE-SAME: weft.workgroup_count = 262144 : i64
// TILE: scf.forall (%{{.*}}, %{{.*}}) in (512, 512)

// An NCHW convolution with 64 x 56 x 56 outputs of 1 input channel (9
// products, too few for blocks even padded to a step of 32): 4 x 4 tiles
// would leave 12544 threads, so a thread takes 4 output channels x 2
// output columns (25088 threads); each window element is one
// (4 x 1) x (1 x 2) outer product of filter and input elements.
// TILE-LABEL: func.func private @conv_nchw
// TILE-SAME: weft.workgroup_count = 25088 : i64
// TILE: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) = (0, 0, 0) to (64, 56, 56) step (4, 1, 2)
// TILE: linalg.conv_2d_nchw_fchw {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x1x3x4xf32>, tensor<4x1x3x3xf32>) outs(%{{.*}} : tensor<1x4x1x2xf32>)
// REG-LABEL: func.func private @conv_nchw
// REG: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<4x2xf32>)
// REG: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<4x2xf32>)
// REG: vector.contract {{.*}} : vector<4x1xf32>, vector<1x2xf32> into vector<4x2xf32>
// REG-NOT: linalg.conv_2d_nchw_fchw
// REG: return

// [1, 512, 36] x [36, 512] (a batch of one that B lacks): 4 x 4 tiles, each
// step one contraction of a 4 x 4 block of A and one of B.
// TILE-LABEL: func.func private @unit_batch
// TILE-SAME: weft.workgroup_count = 16384 : i64
// REG-LABEL: func.func private @unit_batch
// REG: vector.contract {{.*}} : vector<1x4x4xf32>, vector<4x4xf32> into vector<1x4x4xf32>

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#bt = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func private @matmul_epilogue(%arg0: memref<512x260xf32>, %arg1: memref<260x512xf32>, %arg2: memref<512xf32>, %arg3: memref<512x512xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<512x260xf32> to tensor<512x260xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<260x512xf32> to tensor<260x512xf32>
  %bias = bufferization.to_tensor %arg2 restrict : memref<512xf32> to tensor<512xf32>
  %d = bufferization.to_tensor %arg3 restrict writable : memref<512x512xf32> to tensor<512x512xf32>
  %e = tensor.empty() : tensor<512x512xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<512x512xf32>) -> tensor<512x512xf32>
  %m = linalg.matmul ins(%a, %b : tensor<512x260xf32>, tensor<260x512xf32>) outs(%f : tensor<512x512xf32>) -> tensor<512x512xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%m, %bias : tensor<512x512xf32>, tensor<512xf32>) outs(%d : tensor<512x512xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %v = arith.maximumf %s, %zero : f32
    linalg.yield %v : f32
  } -> tensor<512x512xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg3 : (tensor<512x512xf32>, memref<512x512xf32>) -> ()
  return
}
func.func private @small_matmul(%arg0: memref<128x64xf32>, %arg1: memref<64x256xf32>, %arg2: memref<128x256xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<128x64xf32> to tensor<128x64xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<64x256xf32> to tensor<64x256xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<128x256xf32> to tensor<128x256xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<128x256xf32>) -> tensor<128x256xf32>
  %m = linalg.matmul ins(%a, %b : tensor<128x64xf32>, tensor<64x256xf32>) outs(%f : tensor<128x256xf32>) -> tensor<128x256xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<128x256xf32>, memref<128x256xf32>) -> ()
  return
}
func.func private @transposed_b(%arg0: memref<512x64xf32>, %arg1: memref<512x64xf32>, %arg2: memref<512x512xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<512x64xf32> to tensor<512x64xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<512x64xf32> to tensor<512x64xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<512x512xf32> to tensor<512x512xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<512x512xf32>) -> tensor<512x512xf32>
  %m = linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<512x64xf32>, tensor<512x64xf32>) outs(%f : tensor<512x512xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<512x512xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<512x512xf32>, memref<512x512xf32>) -> ()
  return
}
func.func private @conv_nchw(%arg0: memref<1x1x58x58xf32>, %arg1: memref<64x1x3x3xf32>, %arg2: memref<1x64x56x56xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x1x58x58xf32> to tensor<1x1x58x58xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<64x1x3x3xf32> to tensor<64x1x3x3xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<1x64x56x56xf32> to tensor<1x64x56x56xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x1x58x58xf32>, tensor<64x1x3x3xf32>) outs(%f : tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32>
  bufferization.materialize_in_destination %c in restrict writable %arg2 : (tensor<1x64x56x56xf32>, memref<1x64x56x56xf32>) -> ()
  return
}
#ua = affine_map<(b, m, n, k) -> (b, m, k)>
#ub = affine_map<(b, m, n, k) -> (k, n)>
#uc = affine_map<(b, m, n, k) -> (b, m, n)>
func.func private @unit_batch(%arg0: memref<1x512x36xf32>, %arg1: memref<36x512xf32>, %arg2: memref<1x512x512xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<1x512x36xf32> to tensor<1x512x36xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<36x512xf32> to tensor<36x512xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<1x512x512xf32> to tensor<1x512x512xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<1x512x512xf32>) -> tensor<1x512x512xf32>
  %m = linalg.generic {indexing_maps = [#ua, #ub, #uc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x512x36xf32>, tensor<36x512xf32>) outs(%f : tensor<1x512x512xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x512x512xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<1x512x512xf32>, memref<1x512x512xf32>) -> ()
  return
}

// An elementwise op with 65536 outputs: each thread takes 4 neighbouring
// elements of the innermost dimension (16384 threads) as vectors, each
// operand read whole before the result is written (one 16-byte access
// each once LLVM knows the buffers' alignment).
// TILE-LABEL: func.func private @add_wide
// TILE-SAME: weft.workgroup_count = 16384 : i64
// TILE: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (256, 256) step (1, 4)
// TILE: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4xf32>)
// REG-LABEL: func.func private @add_wide
// REG: %[[X:.*]] = vector.transfer_read {{.*}} : tensor<256x256xf32>, vector<4xf32>
// REG: %[[Y:.*]] = vector.transfer_read {{.*}} : tensor<256x256xf32>, vector<4xf32>
// REG: %[[S:.*]] = arith.addf %[[X]], %[[Y]] : vector<4xf32>
// REG: vector.transfer_write %[[S]]
// Fewer outputs: one element per thread.
// TILE-LABEL: func.func private @add_narrow
// TILE-SAME: weft.workgroup_count = 1024 : i64
// TILE: scf.forall (%{{.*}}, %{{.*}}) in (32, 32)
func.func private @add_wide(%arg0: memref<256x256xf32>, %arg1: memref<256x256xf32>, %arg2: memref<256x256xf32>) attributes {weft.dispatch_fn} {
  %x = bufferization.to_tensor %arg0 restrict : memref<256x256xf32> to tensor<256x256xf32>
  %y = bufferization.to_tensor %arg1 restrict : memref<256x256xf32> to tensor<256x256xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<256x256xf32> to tensor<256x256xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x, %y : tensor<256x256xf32>, tensor<256x256xf32>) outs(%o : tensor<256x256xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<256x256xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<256x256xf32>, memref<256x256xf32>) -> ()
  return
}
func.func private @add_narrow(%arg0: memref<32x32xf32>, %arg1: memref<32x32xf32>, %arg2: memref<32x32xf32>) attributes {weft.dispatch_fn} {
  %x = bufferization.to_tensor %arg0 restrict : memref<32x32xf32> to tensor<32x32xf32>
  %y = bufferization.to_tensor %arg1 restrict : memref<32x32xf32> to tensor<32x32xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<32x32xf32> to tensor<32x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x, %y : tensor<32x32xf32>, tensor<32x32xf32>) outs(%o : tensor<32x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<32x32xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<32x32xf32>, memref<32x32xf32>) -> ()
  return
}

// A 1x1 convolution of 32 input channels (one step: too short for
// blocks): a step takes 4 input channels (the filter's 4
// neighbours for each of the tile's output channels, 4 input rows of the
// tile's columns): a (4 x 4) x (4 x 2) contraction per step.
// TILE-LABEL: func.func private @conv_1x1
// TILE-SAME: weft.workgroup_count = 25088 : i64
// REG-LABEL: func.func private @conv_1x1
// REG: scf.for %{{.*}} = %c0 to %c32 step %c4 iter_args(%{{.*}} = %{{.*}}) -> (vector<4x2xf32>)
// REG: vector.contract {{.*}} : vector<4x4xf32>, vector<4x2xf32> into vector<4x2xf32>
// REG-NOT: linalg.conv_2d_nchw_fchw
// REG: return
func.func private @conv_1x1(%arg0: memref<1x32x56x56xf32>, %arg1: memref<64x32x1x1xf32>, %arg2: memref<1x64x56x56xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x32x56x56xf32> to tensor<1x32x56x56xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<64x32x1x1xf32> to tensor<64x32x1x1xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x64x56x56xf32> to tensor<1x64x56x56xf32>
  %f = linalg.fill ins(%zero : f32) outs(%o : tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32>
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x32x56x56xf32>, tensor<64x32x1x1xf32>) outs(%f : tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x64x56x56xf32>, memref<1x64x56x56xf32>) -> ()
  return
}
