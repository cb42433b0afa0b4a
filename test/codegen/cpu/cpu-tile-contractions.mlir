// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions{vector-width=8}))' | FileCheck %s --check-prefix=VW8
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-contractions{vector-width=8 vector-registers=16}))' | FileCheck %s --check-prefix=AVX2

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

// -----

// A channels-last 3x3 stride-2 convolution: 8 output columns x 32 channels
// per register tile, the window and input channels one step at a time, each
// step an (8x1) x (1x32) outer product of input elements two columns apart
// and a filter row; the accumulator stays in registers over all three loops.
// CHECK-LABEL: func.func private @conv
// CHECK: %[[INIT:.*]] = vector.transfer_read {{.*}} : tensor<1x1x8x32xf32>, vector<8x32xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (vector<8x32xf32>)
// CHECK: scf.for {{.*}} -> (vector<8x32xf32>)
// CHECK: scf.for {{.*}} iter_args(%[[V:.*]] = %{{.*}}) -> (vector<8x32xf32>)
// CHECK: %[[ROW:.*]] = tensor.extract_slice {{.*}} [1, 1, 8, 1] [1, 1, 2, 1] : tensor<1x1x15x1xf32> to tensor<8xf32>
// CHECK: %[[ROWS:.*]] = tensor.expand_shape %[[ROW]] {{\[\[}}0, 1]] output_shape [8, 1] : tensor<8xf32> into tensor<8x1xf32>
// CHECK: %[[X:.*]] = vector.transfer_read %[[ROWS]]{{.*}} vector<8x1xf32>
// CHECK: %[[W:.*]] = vector.transfer_read {{.*}} : tensor<3x3x8x32xf32>, vector<1x32xf32>
// CHECK: vector.contract {{.*}} %[[X]], %[[W]], %[[V]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK-NOT: linalg.conv
// CHECK: return
func.func private @conv(%arg0: memref<1x10x18x8xf32>, %arg1: memref<3x3x8x32xf32>, %arg2: memref<1x4x8x32xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x10x18x8xf32> to tensor<1x10x18x8xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<3x3x8x32xf32> to tensor<3x3x8x32xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x4x8x32xf32> to tensor<1x4x8x32xf32>
  %f = linalg.fill ins(%cst : f32) outs(%o : tensor<1x4x8x32xf32>) -> tensor<1x4x8x32xf32>
  %r = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %w : tensor<1x10x18x8xf32>, tensor<3x3x8x32xf32>) outs(%f : tensor<1x4x8x32xf32>) -> tensor<1x4x8x32xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x4x8x32xf32>, memref<1x4x8x32xf32>) -> ()
  return
}

// -----

// Depthwise, 7 columns x 16 channels: each window step is one multiply-add
// of 7 input rows by a filter row broadcast across them (a broadcasting
// read, lowered after bufferization).
// CHECK-LABEL: func.func private @depthwise
// CHECK: %[[INIT:.*]] = vector.transfer_read {{.*}} : tensor<1x1x7x16xf32>, vector<7x16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (vector<7x16xf32>)
// CHECK: scf.for {{.*}} iter_args(%[[V:.*]] = %{{.*}}) -> (vector<7x16xf32>)
// CHECK: %[[X:.*]] = vector.transfer_read {{.*}} : tensor<1x6x9x16xf32>, vector<7x16xf32>
// CHECK: %[[B:.*]] = vector.transfer_read {{.*}} permutation_map = {{.*}} : tensor<3x3x16xf32>, vector<7x16xf32>
// CHECK: math.fma %[[X]], %[[B]], %[[V]] : vector<7x16xf32>
// CHECK-NOT: linalg.depthwise
// CHECK: return
func.func private @depthwise(%arg0: memref<1x6x9x16xf32>, %arg1: memref<3x3x16xf32>, %arg2: memref<1x4x7x16xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x6x9x16xf32> to tensor<1x6x9x16xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<3x3x16xf32> to tensor<3x3x16xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x4x7x16xf32> to tensor<1x4x7x16xf32>
  %f = linalg.fill ins(%cst : f32) outs(%o : tensor<1x4x7x16xf32>) -> tensor<1x4x7x16xf32>
  %r = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x6x9x16xf32>, tensor<3x3x16xf32>) outs(%f : tensor<1x4x7x16xf32>) -> tensor<1x4x7x16xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x4x7x16xf32>, memref<1x4x7x16xf32>) -> ()
  return
}

// -----

// A blocked-filter convolution (weft.blocked_conv, filter [F/32, KH, KW, C,
// 32]): filter blocks outside rows, 8 columns x one 32-channel block per
// register tile; each step reads one contiguous 32-wide filter row.
// CHECK-LABEL: func.func private @blocked
// CHECK: scf.for %[[FB:.*]] = %{{.*}} to %c2 step %c1
// CHECK: scf.for %[[OH:.*]] = %{{.*}} to %c2 step %c1
// CHECK: %[[TILE:.*]] = tensor.extract_slice %{{.*}}[0, %[[OH]], 0, %[[FB]], 0] [1, 1, 8, 1, 32]
// CHECK: %[[INIT:.*]] = vector.transfer_read %[[TILE]]{{.*}} : tensor<1x1x8x1x32xf32>, vector<8x32xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (vector<8x32xf32>)
// CHECK: scf.for
// CHECK: scf.for {{.*}} iter_args(%[[V:.*]] = %{{.*}}) -> (vector<8x32xf32>)
// CHECK: %[[W:.*]] = vector.transfer_read %{{.*}}[%[[FB]], {{.*}} : tensor<2x3x3x8x32xf32>, vector<1x32xf32>
// CHECK: vector.contract {{.*}} %{{.*}}, %[[W]], %[[V]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK: vector.transfer_write {{.*}} : vector<8x32xf32>, tensor<1x1x8x1x32xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
#x = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (n, oh + kh, ow * 2 + kw, c)>
#w = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (fb, kh, kw, c, fi)>
#o = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (n, oh, ow, fb, fi)>
func.func private @blocked(%arg0: memref<1x4x17x8xf32>, %arg1: memref<2x3x3x8x32xf32>, %arg2: memref<1x2x8x2x32xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x4x17x8xf32> to tensor<1x4x17x8xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<2x3x3x8x32xf32> to tensor<2x3x3x8x32xf32>
  %o5 = bufferization.to_tensor %arg2 restrict writable : memref<1x2x8x2x32xf32> to tensor<1x2x8x2x32xf32>
  %f = linalg.fill ins(%cst : f32) outs(%o5 : tensor<1x2x8x2x32xf32>) -> tensor<1x2x8x2x32xf32>
  %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x4x17x8xf32>, tensor<2x3x3x8x32xf32>) outs(%f : tensor<1x2x8x2x32xf32>) attrs = {weft.blocked_conv = array<i64: 1, 2>} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x8x2x32xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x2x8x2x32xf32>, memref<1x2x8x2x32xf32>) -> ()
  return
}

// -----

// A convolution whose result only feeds an elementwise epilogue (a bias
// broadcast as the accumulator's start, then residual add and relu) is
// tiled through the epilogue: the bias row is the accumulator's initial
// value, the add and max apply to the accumulator vector the reduction
// loops return, and only the epilogue's result is written. Nothing is left
// for a later pass and the convolution's result never reaches a tensor.
// With AVX2's 16 registers the tile is 4 columns x 2 vectors of 8
// (6 accumulators of 2 vectors would not divide the 8 columns).
// CHECK-LABEL: func.func private @conv_epilogue
// CHECK: %[[BIAS:.*]] = vector.transfer_read %{{.*}} : tensor<32xf32>, vector<8x32xf32>
// CHECK: %[[ACC:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[BIAS]]) -> (vector<8x32xf32>)
// CHECK: vector.contract
// CHECK: %[[SKIP:.*]] = vector.transfer_read %{{.*}} : tensor<1x1x8x32xf32>, vector<8x32xf32>
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[SKIP]] : vector<8x32xf32>
// CHECK: %[[RELU:.*]] = arith.maximumf %[[SUM]], %{{.*}} : vector<8x32xf32>
// CHECK: vector.transfer_write %[[RELU]]
// CHECK-NOT: linalg.
// CHECK: return
// AVX2-LABEL: func.func private @conv_epilogue
// AVX2: scf.for {{.*}} -> (vector<4x16xf32>)
// AVX2: vector.contract {{.*}} : vector<4x1xf32>, vector<1x16xf32> into vector<4x16xf32>
// AVX2: arith.maximumf {{.*}} : vector<4x16xf32>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bias = affine_map<(d0, d1, d2, d3) -> (d3)>
func.func private @conv_epilogue(%arg0: memref<1x3x10x8xf32>, %arg1: memref<3x3x8x32xf32>, %arg2: memref<32xf32>, %arg3: memref<1x1x8x32xf32>, %arg4: memref<1x1x8x32xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %zero = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x3x10x8xf32> to tensor<1x3x10x8xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<3x3x8x32xf32> to tensor<3x3x8x32xf32>
  %b = bufferization.to_tensor %arg2 restrict : memref<32xf32> to tensor<32xf32>
  %s = bufferization.to_tensor %arg3 restrict : memref<1x1x8x32xf32> to tensor<1x1x8x32xf32>
  %o = bufferization.to_tensor %arg4 restrict writable : memref<1x1x8x32xf32> to tensor<1x1x8x32xf32>
  %e = tensor.empty() : tensor<1x1x8x32xf32>
  %init = linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%b : tensor<32xf32>) outs(%e : tensor<1x1x8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x1x8x32xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%x, %w : tensor<1x3x10x8xf32>, tensor<3x3x8x32xf32>) outs(%init : tensor<1x1x8x32xf32>) -> tensor<1x1x8x32xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c, %s : tensor<1x1x8x32xf32>, tensor<1x1x8x32xf32>) outs(%o : tensor<1x1x8x32xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %sum = arith.addf %in, %in_1 : f32
    %relu = arith.maximumf %sum, %zero : f32
    linalg.yield %relu : f32
  } -> tensor<1x1x8x32xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg4 : (tensor<1x1x8x32xf32>, memref<1x1x8x32xf32>) -> ()
  return
}

// -----

// A row gather (a pad of rows) is computed one output row at a time: a
// contiguous vector read of the source row at the clamped row index, and a
// select against the pad value.
// CHECK-LABEL: func.func @row_gather
// CHECK: scf.for
// CHECK: %[[ROW:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true, true]} : tensor<2x5xf32>, vector<1x5xf32>
// CHECK: arith.select %{{.*}}, %[[ROW]], %{{.*}} : vector<1x5xi1>, vector<1x5xf32>
// CHECK: vector.transfer_write
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @row_gather(%src: tensor<2x5xf32>) -> tensor<4x5xf32> attributes {weft.dispatch_fn} {
  %pv = arith.constant 2.0 : f32
  %e = tensor.empty() : tensor<4x5xf32>
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<4x5xf32>) attrs = {weft.row_gather} {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %s = arith.subi %i, %c1 : index
    %lo = arith.maxsi %s, %c0 : index
    %row = arith.minsi %lo, %c1 : index
    %v = tensor.extract %src[%row, %j] : tensor<2x5xf32>
    %ge = arith.cmpi sge, %i, %c1 : index
    %lt = arith.cmpi slt, %i, %c3 : index
    %in = arith.andi %ge, %lt : i1
    %sel = arith.select %in, %v, %pv : f32
    linalg.yield %sel : f32
  } -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}

// -----

// With AVX2's 16 registers, 28 output columns take register tiles of 6
// columns x 2 vectors (12 accumulators) and one peeled tile of the 4 columns
// left; both have static shapes and vectorize.
// AVX2-LABEL: func.func private @peeled
// AVX2: vector.contract {{.*}} : vector<6x1xf32>, vector<1x16xf32> into vector<6x16xf32>
// AVX2: vector.transfer_write {{.*}} : vector<6x16xf32>, tensor<1x1x6x1x16xf32>
// AVX2: vector.contract {{.*}} : vector<4x1xf32>, vector<1x16xf32> into vector<4x16xf32>
// AVX2: vector.transfer_write {{.*}} : vector<4x16xf32>, tensor<1x1x4x1x16xf32>
// AVX2-NOT: linalg.generic
// AVX2: return
#px = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (n, oh + kh, ow + kw, c)>
#pw = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (fb, kh, kw, c, fi)>
#po = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (n, oh, ow, fb, fi)>
func.func private @peeled(%arg0: memref<1x1x28x16xf32>, %arg1: memref<2x1x1x16x16xf32>, %arg2: memref<1x1x28x2x16xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x1x28x16xf32> to tensor<1x1x28x16xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<2x1x1x16x16xf32> to tensor<2x1x1x16x16xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x1x28x2x16xf32> to tensor<1x1x28x2x16xf32>
  %f = linalg.fill ins(%cst : f32) outs(%o : tensor<1x1x28x2x16xf32>) -> tensor<1x1x28x2x16xf32>
  %r = linalg.generic {indexing_maps = [#px, #pw, #po], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x1x28x16xf32>, tensor<2x1x1x16x16xf32>) outs(%f : tensor<1x1x28x2x16xf32>) attrs = {weft.blocked_conv = array<i64: 1, 1>} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x1x28x2x16xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x1x28x2x16xf32>, memref<1x1x28x2x16xf32>) -> ()
  return
}

// -----

// The input columns of a 1024-channel row lie 4 KiB apart, in one L1 set:
// a tile reads at most 7 of them (14 columns x 1 vector would miss on every
// step). 14 columns become tiles of 5, 5 and a peeled 4, with the epilogue
// (relu) on each tile's accumulator.
// AVX2-LABEL: func.func private @set_conflict
// AVX2-NOT: vector<14x8xf32>
// AVX2: vector.contract {{.*}} into vector<5x16xf32>
// AVX2: arith.maximumf {{.*}} : vector<5x16xf32>
// AVX2: vector.transfer_write {{.*}} : vector<5x16xf32>, tensor<1x1x5x1x16xf32>
// AVX2: vector.contract {{.*}} into vector<4x16xf32>
// AVX2: arith.maximumf {{.*}} : vector<4x16xf32>
// AVX2: vector.transfer_write {{.*}} : vector<4x16xf32>, tensor<1x1x4x1x16xf32>
// AVX2-NOT: linalg.generic
// AVX2: return
#sx = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (n, oh + kh, ow + kw, c)>
#sw = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (fb, kh, kw, c, fi)>
#so = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (n, oh, ow, fb, fi)>
#sid = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
func.func private @set_conflict(%arg0: memref<1x1x14x1024xf32>, %arg1: memref<1x1x1x1024x16xf32>, %arg2: memref<1x1x14x1x16xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x1x14x1024xf32> to tensor<1x1x14x1024xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<1x1x1x1024x16xf32> to tensor<1x1x1x1024x16xf32>
  %o = bufferization.to_tensor %arg2 restrict writable : memref<1x1x14x1x16xf32> to tensor<1x1x14x1x16xf32>
  %e = tensor.empty() : tensor<1x1x14x1x16xf32>
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<1x1x14x1x16xf32>) -> tensor<1x1x14x1x16xf32>
  %c = linalg.generic {indexing_maps = [#sx, #sw, #so], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x1x14x1024xf32>, tensor<1x1x1x1024x16xf32>) outs(%f : tensor<1x1x14x1x16xf32>) attrs = {weft.blocked_conv = array<i64: 1, 1>} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x1x14x1x16xf32>
  %r = linalg.generic {indexing_maps = [#sid, #sid], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c : tensor<1x1x14x1x16xf32>) outs(%o : tensor<1x1x14x1x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %relu = arith.maximumf %in, %cst : f32
    linalg.yield %relu : f32
  } -> tensor<1x1x14x1x16xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg2 : (tensor<1x1x14x1x16xf32>, memref<1x1x14x1x16xf32>) -> ()
  return
}

// -----

// A pointwise convolution over 7x7 outputs runs as one row of 49 columns:
// its input, its accumulator's initialization (the bias broadcast) and its
// epilogue (a residual add and relu) use [1, 1, 49, ...] views, so register
// tiles cover the plane (with AVX2, nine tiles of 5 columns and one of 4) rather
// than a 4- and a 3-column tile per row. The result is viewed as 7x7 again.
// AVX2-LABEL: func.func private @pointwise_rows
// AVX2-DAG: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3]] : tensor<1x7x7x64xf32> into tensor<1x49x64xf32>
// AVX2-DAG: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3], [4]] : tensor<1x7x7x1x16xf32> into tensor<1x49x1x16xf32>
// AVX2: scf.for %{{.*}} = %c0 to %c45 step %c5
// AVX2: vector.contract {{.*}} into vector<5x16xf32>
// AVX2: arith.maximumf {{.*}} : vector<5x16xf32>
// AVX2: vector.contract {{.*}} into vector<4x16xf32>
// AVX2: arith.maximumf {{.*}} : vector<4x16xf32>
// AVX2: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2], [3], [4]] output_shape [1, 7, 7, 1, 16] : tensor<1x49x1x16xf32> into tensor<1x7x7x1x16xf32>
// AVX2-NOT: linalg.generic
// AVX2: return
#qx = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (n, oh + kh, ow + kw, c)>
#qw = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (fb, kh, kw, c, fi)>
#qo = affine_map<(n, oh, ow, fb, fi, kh, kw, c) -> (n, oh, ow, fb, fi)>
#qid = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#qb = affine_map<(d0, d1, d2, d3, d4) -> (d3, d4)>
func.func private @pointwise_rows(%arg0: memref<1x7x7x64xf32>, %arg1: memref<1x1x1x64x16xf32>, %arg2: memref<1x16xf32>, %arg3: memref<1x7x7x1x16xf32>, %arg4: memref<1x7x7x1x16xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<1x7x7x64xf32> to tensor<1x7x7x64xf32>
  %w = bufferization.to_tensor %arg1 restrict : memref<1x1x1x64x16xf32> to tensor<1x1x1x64x16xf32>
  %b = bufferization.to_tensor %arg2 restrict : memref<1x16xf32> to tensor<1x16xf32>
  %s = bufferization.to_tensor %arg3 restrict : memref<1x7x7x1x16xf32> to tensor<1x7x7x1x16xf32>
  %o = bufferization.to_tensor %arg4 restrict writable : memref<1x7x7x1x16xf32> to tensor<1x7x7x1x16xf32>
  %e = tensor.empty() : tensor<1x7x7x1x16xf32>
  %init = linalg.generic {indexing_maps = [#qb, #qid], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%b : tensor<1x16xf32>) outs(%e : tensor<1x7x7x1x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x7x7x1x16xf32>
  %c = linalg.generic {indexing_maps = [#qx, #qw, #qo], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : tensor<1x7x7x64xf32>, tensor<1x1x1x64x16xf32>) outs(%init : tensor<1x7x7x1x16xf32>) attrs = {weft.blocked_conv = array<i64: 1, 1>} {
  ^bb0(%a: f32, %f: f32, %acc: f32):
    %p = arith.mulf %a, %f : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  } -> tensor<1x7x7x1x16xf32>
  %r = linalg.generic {indexing_maps = [#qid, #qid, #qid], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%c, %s : tensor<1x7x7x1x16xf32>, tensor<1x7x7x1x16xf32>) outs(%o : tensor<1x7x7x1x16xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %sum = arith.addf %in, %in_1 : f32
    %relu = arith.maximumf %sum, %cst : f32
    linalg.yield %relu : f32
  } -> tensor<1x7x7x1x16xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg4 : (tensor<1x7x7x1x16xf32>, memref<1x7x7x1x16xf32>) -> ()
  return
}

// -----

// A row reduction (here a max over each row of 64, as in softmax) keeps a
// partial accumulator of two vectors along the row, starting at the
// reduction's identity, and combines its lanes once per row.
// AVX2-LABEL: func.func private @row_max
// AVX2: %[[NINF:.*]] = arith.constant dense<0xFF800000> : vector<1x16xf32>
// AVX2: scf.for %[[ROW:.*]] = %c0 to %c3 step %c1
// AVX2: %[[PART:.*]] = scf.for %{{.*}} = %c0 to %c64 step %c16 iter_args(%[[ACC:.*]] = %[[NINF]]) -> (vector<1x16xf32>)
// AVX2: %[[X:.*]] = vector.transfer_read {{.*}} : tensor<3x64xf32>, vector<1x16xf32>
// AVX2: arith.maximumf %[[X]], %[[ACC]] : vector<1x16xf32>
// AVX2: vector.multi_reduction <maximumf>, %[[PART]], %{{.*}} [1] : vector<1x16xf32> to vector<1xf32>
// AVX2-NOT: linalg.generic
// AVX2: return
#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
func.func private @row_max(%arg0: memref<3x64xf32>, %arg1: memref<3xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %ninf = arith.constant 0xFF800000 : f32
  %x = bufferization.to_tensor %arg0 restrict : memref<3x64xf32> to tensor<3x64xf32>
  %o = bufferization.to_tensor %arg1 restrict writable : memref<3xf32> to tensor<3xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%o : tensor<3xf32>) -> tensor<3xf32>
  %r = linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<3x64xf32>) outs(%f : tensor<3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  } -> tensor<3xf32>
  bufferization.materialize_in_destination %r in restrict writable %arg1 : (tensor<3xf32>, memref<3xf32>) -> ()
  return
}

// -----

// [1, 16, 32] x [32, 64]: the batch of one that B lacks is tiled like a
// batch loop (inferContractionDims counts it as a second m loop); each
// reduction step is one contraction of a 4-row A column and a B row.
// AVX2-LABEL: func.func private @unit_batch
// AVX2: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<1x4x16xf32>)
// AVX2: vector.contract {{.*}} : vector<1x4x1xf32>, vector<1x16xf32> into vector<1x4x16xf32>
#a = affine_map<(b, m, n, k) -> (b, m, k)>
#bm = affine_map<(b, m, n, k) -> (k, n)>
#c = affine_map<(b, m, n, k) -> (b, m, n)>
func.func private @unit_batch(%arg0: memref<1x16x32xf32>, %arg1: memref<32x64xf32>, %arg2: memref<1x16x64xf32>) attributes {weft.dispatch_fn} {
  %zero = arith.constant 0.0 : f32
  %a = bufferization.to_tensor %arg0 restrict : memref<1x16x32xf32> to tensor<1x16x32xf32>
  %b = bufferization.to_tensor %arg1 restrict : memref<32x64xf32> to tensor<32x64xf32>
  %d = bufferization.to_tensor %arg2 restrict writable : memref<1x16x64xf32> to tensor<1x16x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%d : tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
  %m = linalg.generic {indexing_maps = [#a, #bm, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x16x32xf32>, tensor<32x64xf32>) outs(%f : tensor<1x16x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x16x64xf32>
  bufferization.materialize_in_destination %m in restrict writable %arg2 : (tensor<1x16x64xf32>, memref<1x16x64xf32>) -> ()
  return
}

// -----

// The same matmul with its bias row (a zero in the bias's map: row 0 for
// every row) tiled through the epilogue: the bias is read as a broadcast
// vector and added to the accumulator the reduction loop returns, and only
// the sum is written; the convolution's result never reaches a tensor.
// CHECK-LABEL: func.func private @matmul_bias
// CHECK: %[[ACC:.*]] = scf.for {{.*}} -> (vector<8x32xf32>)
// CHECK: vector.contract
// CHECK: %[[BIAS:.*]] = vector.transfer_read %{{.*}} : tensor<1x1x1x8x32xf32>, vector<8x32xf32>
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[BIAS]] : vector<8x32xf32>
// CHECK: vector.transfer_write %[[SUM]]
// CHECK-NOT: linalg.
// CHECK: return
#mbx = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1 + d5, d2 + d6, d7)>
#mbw = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d3, d5, d6, d7, d4)>
#mbo = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
#mbid = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#mbrow = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
func.func private @matmul_bias(%arg0: memref<1x1x16x256xf32>, %arg1: memref<8x1x1x256x32xf32>, %arg2: memref<1x1x1x8x32xf32>, %arg3: memref<1x1x16x8x32xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
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
