// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cpu-tile-workgroups))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cpu-tile-workgroups{target-workgroups=4 min-work=1}))' | FileCheck %s --check-prefix=SMALL

#id = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>

// 64x32x64 multiply-adds at 16384 per workgroup: 8 workgroups of 8 rows,
// the zero fill fused into each tile, results inserted in parallel.
// CHECK-LABEL: func.func private @matmul
// CHECK-SAME: attributes {weft.dispatch_fn, weft.workgroup_count = 8 : i64}
// CHECK-DAG: %[[A:.*]] = bufferization.to_tensor %arg0
// CHECK-DAG: %[[B:.*]] = bufferization.to_tensor %arg1
// CHECK-DAG: %[[D:.*]] = bufferization.to_tensor %arg2
// CHECK: %[[R:.*]] = scf.forall (%[[I:.*]]) = (0) to (64) step (8) shared_outs(%[[O:.*]] = %[[D]]) -> (tensor<64x32xf32>) {
// CHECK-DAG: %[[AS:.*]] = tensor.extract_slice %[[A]][%[[I]], 0] [8, 64] [1, 1]
// CHECK-DAG: %[[OS:.*]] = tensor.extract_slice %[[O]][%[[I]], 0] [8, 32] [1, 1]
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[OS]] : tensor<8x32xf32>)
// CHECK: %[[M:.*]] = linalg.matmul ins(%[[AS]], %[[B]] : tensor<8x64xf32>, tensor<64x32xf32>) outs(%[[F]] : tensor<8x32xf32>)
// CHECK: scf.forall.in_parallel {
// CHECK-NEXT: tensor.parallel_insert_slice %[[M]] into %[[O]][%[[I]], 0] [8, 32] [1, 1]
// CHECK: bufferization.materialize_in_destination %[[R]] in restrict writable %arg2

// target-workgroups caps the count: 4 tiles of 16 rows.
// SMALL-LABEL: func.func private @matmul
// SMALL-SAME: weft.workgroup_count = 4 : i64
// SMALL: scf.forall (%{{.*}}) = (0) to (64) step (16)
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

// Too little work for a second workgroup: the dispatch stays whole.
// CHECK-LABEL: func.func private @tiny
// CHECK-SAME: weft.workgroup_count = 1 : i64
// CHECK-NOT: scf.forall
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
// CHECK: return

// With min-work=1 even 4 elements split, one per workgroup.
// SMALL-LABEL: func.func private @tiny
// SMALL-SAME: weft.workgroup_count = 4 : i64
// SMALL: scf.forall (%[[I:.*]]) in (4)
// SMALL: linalg.generic {{.*}} outs(%{{.*}} : tensor<1xf32>)
func.func private @tiny(%arg0: memref<4xf32>, %arg1: memref<4xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<4xf32> to tensor<4xf32>
  %d = bufferization.to_tensor %arg1 restrict writable : memref<4xf32> to tensor<4xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%d : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  bufferization.materialize_in_destination %g in restrict writable %arg1 : (tensor<4xf32>, memref<4xf32>) -> ()
  return
}

// The row reductions feeding the root are fused into each row tile.
// CHECK-LABEL: func.func private @softmax
// CHECK-SAME: weft.workgroup_count = 4 : i64
// CHECK: scf.forall (%{{.*}}) = (0) to (256) step (64)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<64x256xf32>) outs(%{{.*}} : tensor<64xf32>)
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} {{.*}} outs(%{{.*}} : tensor<64x256xf32>)
// CHECK: scf.forall.in_parallel
// CHECK-NOT: linalg.generic
// CHECK: bufferization.materialize_in_destination
func.func private @softmax(%arg0: memref<256x256xf32>, %arg1: memref<256x256xf32>) attributes {weft.dispatch_fn} {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<256x256xf32> to tensor<256x256xf32>
  %e = tensor.empty() : tensor<256xf32>
  %d = bufferization.to_tensor %arg1 restrict writable : memref<256x256xf32> to tensor<256x256xf32>
  %f0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<256xf32>) -> tensor<256xf32>
  %max = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<256x256xf32>) outs(%f0 : tensor<256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %out, %in : f32
    linalg.yield %r : f32
  } -> tensor<256xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e : tensor<256xf32>) -> tensor<256xf32>
  %sum = linalg.generic {indexing_maps = [#id, #red, #red], iterator_types = ["parallel", "reduction"]} ins(%x, %max : tensor<256x256xf32>, tensor<256xf32>) outs(%f1 : tensor<256xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %s = arith.subf %in, %m : f32
    %ex = math.exp %s : f32
    %r = arith.addf %out, %ex : f32
    linalg.yield %r : f32
  } -> tensor<256xf32>
  %y = linalg.generic {indexing_maps = [#id, #red, #red, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %max, %sum : tensor<256x256xf32>, tensor<256xf32>, tensor<256xf32>) outs(%d : tensor<256x256xf32>) {
  ^bb0(%in: f32, %m: f32, %s: f32, %out: f32):
    %a = arith.subf %in, %m : f32
    %ex = math.exp %a : f32
    %r = arith.divf %ex, %s : f32
    linalg.yield %r : f32
  } -> tensor<256x256xf32>
  bufferization.materialize_in_destination %y in restrict writable %arg1 : (tensor<256x256xf32>, memref<256x256xf32>) -> ()
  return
}

// A second result that the root does not consume would be left outside the
// workgroup loop and recomputed by every workgroup: the dispatch stays whole.
// CHECK-LABEL: func.func private @second_result
// CHECK-SAME: weft.workgroup_count = 1 : i64
// CHECK-NOT: scf.forall
// CHECK: linalg.matmul {{.*}} outs(%{{.*}} : tensor<64x32xf32>)
// CHECK: return
// SMALL-LABEL: func.func private @second_result
// SMALL-SAME: weft.workgroup_count = 1 : i64
// SMALL-NOT: scf.forall
// SMALL: return
func.func private @second_result(%arg0: memref<64x64xf32>, %arg1: memref<64x32xf32>, %arg2: memref<64x32xf32>, %arg3: memref<64x64xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<64x64xf32> to tensor<64x64xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<64x32xf32> to tensor<64x32xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<64x32xf32> to tensor<64x32xf32>
  %d2 = bufferization.to_tensor %arg3 restrict writable : memref<64x64xf32> to tensor<64x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<64x32xf32>) -> tensor<64x32xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x64xf32>, tensor<64x32xf32>) outs(%f : tensor<64x32xf32>) -> tensor<64x32xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<64x64xf32>) outs(%d2 : tensor<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.negf %in : f32
    linalg.yield %r : f32
  } -> tensor<64x64xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<64x32xf32>, memref<64x32xf32>) -> ()
  bufferization.materialize_in_destination %n in restrict writable %arg3 : (tensor<64x64xf32>, memref<64x64xf32>) -> ()
  return
}

// With a unit outer dim the split moves to the next parallel dim; two
// parallel dims give a 2-D workgroup loop.
// SMALL-LABEL: func.func private @two_dims
// SMALL-SAME: weft.workgroup_count = 4 : i64
// SMALL: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (2, 8) step (1, 4)
// SMALL: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x1x4xf32>)
func.func private @two_dims(%arg0: memref<1x2x8xf32>, %arg1: memref<1x2x8xf32>) attributes {weft.dispatch_fn} {
  %a = bufferization.to_tensor %arg0 restrict : memref<1x2x8xf32> to tensor<1x2x8xf32>
  %d = bufferization.to_tensor %arg1 restrict writable : memref<1x2x8xf32> to tensor<1x2x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%a : tensor<1x2x8xf32>) outs(%d : tensor<1x2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.negf %in : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8xf32>
  bufferization.materialize_in_destination %g in restrict writable %arg1 : (tensor<1x2x8xf32>, memref<1x2x8xf32>) -> ()
  return
}

// A matmul by a constant weight, as the blocked 1x1 convolution it runs as
// (16 rows x 8 blocks of 32 columns, 256 products), whose epilogue adds a
// bias row to every row: the bias's map reads row 0 for each row (a zero in
// its map). The split is still the convolution's own, along its filter
// blocks (8 workgroups, each reading one block of the filter), not along
// the rows (each workgroup would read the whole filter: BERT-base's
// feed-forward layers ran 1.6x slower so).
// CHECK-LABEL: func.func private @matmul_bias
// CHECK-SAME: weft.workgroup_count = 8 : i64
// CHECK: scf.forall (%[[J:.*]]) in (8)
// CHECK-DAG: tensor.extract_slice %{{.*}}[%[[J]], 0, 0, 0, 0] [1, 1, 1, 256, 32]
// CHECK-DAG: tensor.extract_slice %{{.*}}[0, 0, 0, %[[J]], 0] [1, 1, 1, 1, 32]
// CHECK: arith.addf
// CHECK: scf.forall.in_parallel
// With 4 workgroups, 2 filter blocks each.
// SMALL-LABEL: func.func private @matmul_bias
// SMALL: scf.forall (%{{.*}}) = (0) to (8) step (2)
#mbx = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1 + d5, d2 + d6, d7)>
#mbw = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d3, d5, d6, d7, d4)>
#mbo = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
#mbid = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#mbrow = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
func.func private @matmul_bias(%arg0: memref<1x1x16x256xf32>, %arg1: memref<8x1x1x256x32xf32>, %arg2: memref<1x1x1x8x32xf32>, %arg3: memref<1x1x16x8x32xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x1x16x256xf32> to tensor<1x1x16x256xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<8x1x1x256x32xf32> to tensor<8x1x1x256x32xf32>
  %b = bufferization.to_tensor %arg2 restrict : memref<1x1x1x8x32xf32> to tensor<1x1x1x8x32xf32>
  %o = bufferization.to_tensor %arg3 restrict writable : memref<1x1x16x8x32xf32> to tensor<1x1x16x8x32xf32>
  %e = tensor.empty() : tensor<1x1x16x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x16x8x32xf32>) -> tensor<1x1x16x8x32xf32>
  %c = linalg.generic {indexing_maps = [#mbx, #mbw, #mbo], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x1x16x256xf32>, tensor<8x1x1x256x32xf32>) outs(%f : tensor<1x1x16x8x32xf32>) attrs = {weft.blocked_conv = array<i64: 1, 1>} {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x1x16x8x32xf32>
  %r = linalg.generic {indexing_maps = [#mbid, #mbrow, #mbid], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c, %b : tensor<1x1x16x8x32xf32>, tensor<1x1x1x8x32xf32>) outs(%o : tensor<1x1x16x8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.addf %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<1x1x16x8x32xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg3 : (tensor<1x1x16x8x32xf32>, memref<1x1x16x8x32xf32>) -> ()
  return
}

// A grouped blocked convolution (4 groups of 16 input channels, 2 filter
// blocks of 32 channels per group: the input map divides the block index
// by 2). Workgroups split the blocks in whole groups, so each one's input
// slice starts at its group's first channel and spans its 16.
// CHECK-LABEL: func.func private @grouped_conv
// CHECK: scf.forall (%[[G:.*]]) = (0) to (8) step (2)
// CHECK-DAG: %[[C:.*]] = affine.apply #{{.*}}(%[[G]])
// CHECK-DAG: tensor.extract_slice %{{.*}}[0, 0, 0, %[[C]]] [1, 1, 16, 16]
// CHECK-DAG: tensor.extract_slice %{{.*}}[%[[G]], 0, 0, 0, 0] [2, 1, 1, 16, 32]
// SMALL-LABEL: func.func private @grouped_conv
// SMALL: scf.forall (%{{.*}}) = (0) to (8) step (2)
#gx = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1 + d5, d2 + d6, (d3 floordiv 2) * 16 + d7)>
func.func private @grouped_conv(%arg0: memref<1x1x16x64xf32>, %arg1: memref<8x1x1x16x32xf32>, %arg3: memref<1x1x16x8x32xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x1x16x64xf32> to tensor<1x1x16x64xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<8x1x1x16x32xf32> to tensor<8x1x1x16x32xf32>
  %e = tensor.empty() : tensor<1x1x16x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x16x8x32xf32>) -> tensor<1x1x16x8x32xf32>
  %c = linalg.generic {indexing_maps = [#gx, #mbw, #mbo], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x1x16x64xf32>, tensor<8x1x1x16x32xf32>) outs(%f : tensor<1x1x16x8x32xf32>) attrs = {weft.blocked_conv = array<i64: 1, 1>} {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %m = arith.mulf %in, %in_0 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x1x16x8x32xf32>
  bufferization.materialize_in_destination %c in restrict writable %arg3 : (tensor<1x1x16x8x32xf32>, memref<1x1x16x8x32xf32>) -> ()
  return
}

// Only dispatch functions are tiled.
// CHECK-LABEL: func.func @host
// CHECK-NOT: weft.workgroup_count
// CHECK-NOT: scf.forall
// CHECK: linalg.matmul
// SMALL-LABEL: func.func @host
// SMALL-NOT: scf.forall
func.func @host(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %m = linalg.matmul ins(%x, %x : tensor<64x64xf32>, tensor<64x64xf32>) outs(%f : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %m : tensor<64x64xf32>
}
