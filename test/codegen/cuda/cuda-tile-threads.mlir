// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-tile-threads))' | FileCheck %s

// One GPU thread per output element: the matmul's two parallel loops are
// tiled by 1 (64 x 32 = 2048 threads), each thread reducing its own row
// and column; the fill is fused into the thread's 1x1 tile.
// CHECK-LABEL: func.func private @matmul
// CHECK-SAME: weft.workgroup_count = 2048 : i64
// CHECK: %[[R:.*]] = scf.forall (%[[I:.*]], %[[J:.*]]) in (64, 32) shared_outs(%[[O:.*]] = %{{.*}}) -> (tensor<64x32xf32>) {
// CHECK-DAG: tensor.extract_slice %{{.*}}[%[[I]], 0] [1, 64] [1, 1] : tensor<64x64xf32> to tensor<1x64xf32>
// CHECK-DAG: tensor.extract_slice %{{.*}}[0, %[[J]]] [64, 1] [1, 1] : tensor<64x32xf32> to tensor<64x1xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x1xf32>)
// CHECK: %[[M:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<1x64xf32>, tensor<64x1xf32>) outs(%[[F]] : tensor<1x1xf32>)
// CHECK: tensor.parallel_insert_slice %[[M]] into %[[O]][%[[I]], %[[J]]] [1, 1] [1, 1]
// CHECK: bufferization.materialize_in_destination %[[R]] in restrict writable %arg2

// A reduction root: one thread per row, the producer (relu) fused and
// recomputed on the thread's row; the reduction loop stays whole.
// CHECK-LABEL: func.func private @row_sum_relu
// CHECK-SAME: weft.workgroup_count = 8 : i64
// CHECK: scf.forall (%[[R:.*]]) in (8)
// CHECK: %[[X:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x16xf32>) outs(%{{.*}} : tensor<1x16xf32>)
// CHECK: arith.maximumf
// CHECK: linalg.fill {{.*}} -> tensor<1xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<1x16xf32>) outs(%{{.*}} : tensor<1xf32>)

// A value written out and also read by the root does not fuse into the
// root's loop alone: the dispatch stays whole, one thread.
// CHECK-LABEL: func.func private @two_outputs
// CHECK-SAME: weft.workgroup_count = 1 : i64
// CHECK-NOT: scf.forall
// CHECK: return

#id = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>
func.func private @matmul(%arg0: memref<64x64xf32>, %arg1: memref<64x32xf32>, %arg2: memref<64x32xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<64x64xf32> to tensor<64x64xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<64x32xf32> to tensor<64x32xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<64x32xf32> to tensor<64x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<64x32xf32>) -> tensor<64x32xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x64xf32>, tensor<64x32xf32>) outs(%f : tensor<64x32xf32>) -> tensor<64x32xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<64x32xf32>, memref<64x32xf32>) -> ()
  return
}
func.func private @row_sum_relu(%arg0: memref<8x16xf32>, %arg1: memref<8xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<8x16xf32> to tensor<8x16xf32>
  %e = tensor.empty() : tensor<8x16xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<8x16xf32>
  %d = bufferization.to_tensor %arg1 restrict writable : memref<8xf32> to tensor<8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<8xf32>) -> tensor<8xf32>
  %s = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%r : tensor<8x16xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  bufferization.materialize_in_destination %s in restrict writable %arg1 : (tensor<8xf32>, memref<8xf32>) -> ()
  return
}
func.func private @two_outputs(%arg0: memref<4xf32>, %arg1: memref<4xf32>, %arg2: memref<4xf32>) attributes {weft.dispatch_fn} {
  %x = bufferization.to_tensor %arg0 restrict : memref<4xf32> to tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%n : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = math.absf %in : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  bufferization.materialize_in_destination %a in restrict writable %arg1 : (tensor<4xf32>, memref<4xf32>) -> ()
  bufferization.materialize_in_destination %n in restrict writable %arg2 : (tensor<4xf32>, memref<4xf32>) -> ()
  return
}

// A Concat of inputs (insert_slice chain into the output) becomes one
// gather over the output, each element read from the piece that holds it:
// one thread per element instead of one thread copying everything.
// CHECK-LABEL: func.func private @concat
// CHECK-SAME: weft.workgroup_count = 20 : i64
// CHECK-DAG: %[[A:.*]] = bufferization.to_tensor %arg0
// CHECK-DAG: %[[B:.*]] = bufferization.to_tensor %arg1
// CHECK-DAG: %[[O:.*]] = bufferization.to_tensor %arg2 restrict writable
// CHECK: scf.forall (%[[I:.*]], %[[J:.*]]) in (4, 5) shared_outs(%{{.*}} = %[[O]])
// CHECK: linalg.generic
// CHECK: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c2 : index
// CHECK: scf.if %[[IN]] -> (f32) {
// CHECK: tensor.extract %[[A]]
// CHECK: } else {
// CHECK: arith.subi %{{.*}}, %c2 : index
// CHECK: tensor.extract %[[B]]
// CHECK-NOT: tensor.insert_slice %{{.*}} into %[[O]]
func.func private @concat(%arg0: memref<4x2xf32>, %arg1: memref<4x3xf32>, %arg2: memref<4x5xf32>) attributes {weft.dispatch_fn} {
  %a = bufferization.to_tensor %arg0 restrict : memref<4x2xf32> to tensor<4x2xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<4x3xf32> to tensor<4x3xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<4x5xf32> to tensor<4x5xf32>
  %0 = tensor.insert_slice %a into %o[0, 0] [4, 2] [1, 1] : tensor<4x2xf32> into tensor<4x5xf32>
  %1 = tensor.insert_slice %b into %0[0, 2] [4, 3] [1, 1] : tensor<4x3xf32> into tensor<4x5xf32>
  bufferization.materialize_in_destination %1 in restrict writable %arg2 : (tensor<4x5xf32>, memref<4x5xf32>) -> ()
  return
}

// A grouped convolution computed on [N, G, C/G, H, W] views and collapsed
// for its epilogue: the epilogue is expanded to the views, so the
// convolution fuses into its threads (one per output element).
// CHECK-LABEL: func.func private @grouped_conv
// CHECK-SAME: weft.workgroup_count = 32 : i64
// CHECK: scf.forall
// CHECK: linalg.conv_2d_ngchw_gfchw
// CHECK: linalg.generic
// CHECK: arith.maximumf
func.func private @grouped_conv(%arg0: memref<1x2x4x4xf32>, %arg1: memref<2x1x3x3xf32>, %arg2: memref<1x2x4x4xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x2x4x4xf32> to tensor<1x2x4x4xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<2x1x3x3xf32> to tensor<2x1x3x3xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x2x4x4xf32> to tensor<1x2x4x4xf32>
  %pad = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x4x4xf32> to tensor<1x2x6x6xf32>
  %xe = tensor.expand_shape %pad [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, 6, 6] : tensor<1x2x6x6xf32> into tensor<1x2x1x6x6xf32>
  %we = tensor.expand_shape %w [[0, 1], [2], [3], [4]] output_shape [2, 1, 1, 3, 3] : tensor<2x1x3x3xf32> into tensor<2x1x1x3x3xf32>
  %e = tensor.empty() : tensor<1x2x1x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x1x4x4xf32>) -> tensor<1x2x1x4x4xf32>
  %c = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%xe, %we : tensor<1x2x1x6x6xf32>, tensor<2x1x1x3x3xf32>) outs(%f : tensor<1x2x1x4x4xf32>) -> tensor<1x2x1x4x4xf32>
  %cc = tensor.collapse_shape %c [[0], [1, 2], [3], [4]] : tensor<1x2x1x4x4xf32> into tensor<1x2x4x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cc : tensor<1x2x4x4xf32>) outs(%o : tensor<1x2x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x4x4xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x2x4x4xf32>, memref<1x2x4x4xf32>) -> ()
  return
}

// x - sum(x) over rows of 2000 (62 x 32 + 16): tiled per element, each
// thread would sum its whole row again (2000 times per row); a warp takes
// a row instead: each lane sums its 62 strided elements of the first 1984,
// the first 16 lanes add one of the last 16 each, the partials merge, and
// the output is written the same way (cuda-warp-rows.mlir has the rest).
// CHECK-LABEL: func.func private @minus_row_sum_long
// CHECK-SAME: attributes {weft.dispatch_fn, weft.lanes = 32 : i64, weft.workgroup_count = 4 : i64}
// CHECK: scf.forall (%{{.*}}) in (4)
// CHECK: scf.forall (%[[L:.*]]) in (32)
// CHECK: tensor.extract_slice %{{.*}}[0, %[[L]]] [1, 62] [1, 32]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<1x62xf32>) outs(%{{.*}} : tensor<1xf32>)
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: scf.forall (%[[T:.*]]) in (16)
// CHECK: %[[AT:.*]] = affine.apply #{{.*}}()[%[[T]]]
// CHECK: tensor.extract_slice %{{.*}}[0, %[[AT]]] [1, 1] [1, 1]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<1x1xf32>) outs(%{{.*}} : tensor<1xf32>)
// CHECK: } {mapping = [#gpu.lane<linear_dim_0>]}
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<32x1xf32>) outs(%{{.*}} : tensor<1xf32>) attrs =  {weft.lane_merge}
// CHECK: scf.forall (%{{.*}}) in (32)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<1x62xf32>, tensor<1xf32>) outs(%{{.*}} : tensor<1x62xf32>)
// CHECK: scf.forall (%{{.*}}) in (16)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<1x1xf32>, tensor<1xf32>) outs(%{{.*}} : tensor<1x1xf32>)
// Short rows, few of them: one thread per element still.
// CHECK-LABEL: func.func private @minus_row_sum_short
// CHECK-SAME: weft.workgroup_count = 128 : i64
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (8, 16)
func.func private @minus_row_sum_long(%arg0: memref<4x2000xf32>, %arg1: memref<4x2000xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<4x2000xf32> to tensor<4x2000xf32>
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %s = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x2000xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<4xf32>
  %o = bufferization.to_tensor %arg1 restrict writable : memref<4x2000xf32> to tensor<4x2000xf32>
  %r = linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %s : tensor<4x2000xf32>, tensor<4xf32>) outs(%o : tensor<4x2000xf32>) {
  ^bb0(%in: f32, %sum: f32, %out: f32):
    %d = arith.subf %in, %sum : f32
    linalg.yield %d : f32
  } -> tensor<4x2000xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg1 : (tensor<4x2000xf32>, memref<4x2000xf32>) -> ()
  return
}
func.func private @minus_row_sum_short(%arg0: memref<8x16xf32>, %arg1: memref<8x16xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<8x16xf32> to tensor<8x16xf32>
  %e = tensor.empty() : tensor<8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %s = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<8x16xf32>) outs(%f : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %o = bufferization.to_tensor %arg1 restrict writable : memref<8x16xf32> to tensor<8x16xf32>
  %r = linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %s : tensor<8x16xf32>, tensor<8xf32>) outs(%o : tensor<8x16xf32>) {
  ^bb0(%in: f32, %sum: f32, %out: f32):
    %d = arith.subf %in, %sum : f32
    linalg.yield %d : f32
  } -> tensor<8x16xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg1 : (tensor<8x16xf32>, memref<8x16xf32>) -> ()
  return
}

// An elementwise root of 256 x 512 outputs: 4 neighbouring outputs per
// thread (32768 threads), read and written as vectors.
// CHECK-LABEL: func.func private @elementwise_vectors
// CHECK-SAME: weft.workgroup_count = 32768 : i64
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (256, 512) step (1, 4)
func.func private @elementwise_vectors(%arg0: memref<256x512xf32>, %arg1: memref<256x512xf32>) attributes {weft.dispatch_fn} {
  %x = bufferization.to_tensor %arg0 restrict : memref<256x512xf32> to tensor<256x512xf32>
  %d = bufferization.to_tensor %arg1 restrict writable : memref<256x512xf32> to tensor<256x512xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<256x512xf32>) outs(%d : tensor<256x512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  } -> tensor<256x512xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg1 : (tensor<256x512xf32>, memref<256x512xf32>) -> ()
  return
}

// The same outputs gathered at computed indices (every second column, as
// a padded pool's windows read their input): one output per thread, so a
// warp's lanes read neighbouring windows rather than windows 4 apart.
// CHECK-LABEL: func.func private @strided_gather
// CHECK-SAME: weft.workgroup_count = 131072 : i64
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (256, 512)
func.func private @strided_gather(%arg0: memref<256x1024xf32>, %arg1: memref<256x512xf32>) attributes {weft.dispatch_fn} {
  %c2 = arith.constant 2 : index
  %x = bufferization.to_tensor %arg0 restrict : memref<256x1024xf32> to tensor<256x1024xf32>
  %d = bufferization.to_tensor %arg1 restrict writable : memref<256x512xf32> to tensor<256x512xf32>
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]} outs(%d : tensor<256x512xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %j2 = arith.muli %j, %c2 : index
    %v = tensor.extract %x[%i, %j2] : tensor<256x1024xf32>
    linalg.yield %v : f32
  } -> tensor<256x512xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg1 : (tensor<256x512xf32>, memref<256x512xf32>) -> ()
  return
}
