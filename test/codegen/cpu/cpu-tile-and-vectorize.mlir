// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-and-vectorize))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-tile-and-vectorize{vector-width=8}))' | FileCheck %s --check-prefix=VW8

// A workgroup's 8x32 matmul tile: an 8x32 register block, one k step at a
// time, as a vector.contract; the zero fill becomes vector stores.
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[ACC:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func private @matmul_tile
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<1x16xf32>
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[D:.*]] = memref.subview %arg2
// CHECK: scf.for
// CHECK: scf.for
// CHECK: vector.transfer_write %[[ZERO]], %{{.*}} {in_bounds = [true, true]} : vector<1x16xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C64]] step %[[C1]] {
// CHECK: %[[A:.*]] = vector.transfer_read {{.*}} : memref<8x1xf32, {{.*}}>, vector<8x1xf32>
// CHECK: %[[B:.*]] = vector.transfer_read {{.*}} : memref<1x32xf32, {{.*}}>, vector<1x32xf32>
// CHECK: %[[C:.*]] = vector.transfer_read %[[D]]{{.*}} vector<8x32xf32>
// CHECK: %[[R:.*]] = vector.contract {indexing_maps = [#[[LHS]], #[[RHS]], #[[ACC]]], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %[[A]], %[[B]], %[[C]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK: vector.transfer_write %[[R]], %[[D]]
// CHECK-NOT: linalg.
// CHECK: return
func.func private @matmul_tile(%arg0: memref<64x64xf32>, %arg1: memref<64x32xf32>, %arg2: memref<64x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 8 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  %c8 = arith.constant 8 : index
  %i = arith.muli %wg, %c8 : index
  %a = memref.subview %arg0[%i, 0] [8, 64] [1, 1] : memref<64x64xf32> to memref<8x64xf32, strided<[64, 1], offset: ?>>
  %d = memref.subview %arg2[%i, 0] [8, 32] [1, 1] : memref<64x32xf32> to memref<8x32xf32, strided<[32, 1], offset: ?>>
  linalg.fill ins(%cst : f32) outs(%d : memref<8x32xf32, strided<[32, 1], offset: ?>>)
  linalg.matmul ins(%a, %arg1 : memref<8x64xf32, strided<[64, 1], offset: ?>>, memref<64x32xf32>) outs(%d : memref<8x32xf32, strided<[32, 1], offset: ?>>)
  return
}

// -----

// When the accumulator is a plain buffer it is hoisted out of the reduction
// loop and carried in registers.
// CHECK-LABEL: func.func private @matmul_hoisted
// CHECK: %[[INIT:.*]] = vector.transfer_read %arg2{{.*}} vector<8x32xf32>
// CHECK: %[[R:.*]] = scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (vector<8x32xf32>) {
// CHECK: %[[C:.*]] = vector.contract {{.*}} %{{.*}}, %{{.*}}, %[[ACC]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK: scf.yield %[[C]] : vector<8x32xf32>
// CHECK: vector.transfer_write %[[R]], %arg2
func.func private @matmul_hoisted(%arg0: memref<8x64xf32>, %arg1: memref<64x32xf32>, %arg2: memref<8x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  linalg.matmul ins(%arg0, %arg1 : memref<8x64xf32>, memref<64x32xf32>) outs(%arg2 : memref<8x32xf32>)
  return
}

// -----

// Elementwise ops are tiled to one vector along the innermost loop.
// CHECK-LABEL: func.func private @bias_add
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: %[[X:.*]] = vector.transfer_read {{.*}} vector<1x16xf32>
// CHECK: %[[B:.*]] = vector.transfer_read {{.*}} vector<16xf32>
// CHECK: %[[BB:.*]] = vector.broadcast %[[B]] : vector<16xf32> to vector<1x16xf32>
// CHECK: %[[S:.*]] = arith.addf %[[X]], %[[BB]] : vector<1x16xf32>
// CHECK: vector.transfer_write %[[S]], {{.*}} : vector<1x16xf32>, memref<1x16xf32
// CHECK-NOT: linalg.generic
// VW8-LABEL: func.func private @bias_add
// VW8: arith.addf %{{.*}}, %{{.*}} : vector<1x8xf32>
// VW8-NOT: vector<1x16xf32>
func.func private @bias_add(%arg0: memref<64x32xf32>, %arg1: memref<32xf32>, %arg2: memref<64x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : memref<64x32xf32>, memref<32xf32>) outs(%arg2 : memref<64x32xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A 4-element op is vectorized whole, without loops.
// CHECK-LABEL: func.func private @small
// CHECK-NOT: scf.for
// CHECK: %[[V:.*]] = vector.transfer_read %arg0{{.*}} : memref<4xf32>, vector<4xf32>
// CHECK: %[[R:.*]] = arith.maximumf %[[V]], %{{.*}} : vector<4xf32>
// CHECK: vector.transfer_write %[[R]], %arg1{{.*}} : vector<4xf32>, memref<4xf32>
func.func private @small(%arg0: memref<4xf32>, %arg1: memref<4xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%arg0 : memref<4xf32>) outs(%arg1 : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Booleans are bit-packed in vectors but bytes in memory: ops touching i1
// are tiled but stay scalar.
// CHECK-LABEL: func.func private @compare
// CHECK: scf.for
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : memref<16xi1, strided<[1], offset: ?>>)
// CHECK: arith.cmpf olt
// CHECK-NOT: vector.transfer_write
func.func private @compare(%arg0: memref<64xf32>, %arg1: memref<64xi1>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%arg0 : memref<64xf32>) outs(%arg1 : memref<64xi1>) {
  ^bb0(%in: f32, %out: i1):
    %c = arith.cmpf olt, %in, %zero : f32
    linalg.yield %c : i1
  }
  return
}

// -----

// Only dispatch functions are touched.
// CHECK-LABEL: func.func @host
// CHECK-NEXT: linalg.copy ins(%arg0 : memref<64x32xf32>) outs(%arg1 : memref<64x32xf32>)
// CHECK-NOT: vector.
func.func @host(%arg0: memref<64x32xf32>, %arg1: memref<64x32xf32>) {
  linalg.copy ins(%arg0 : memref<64x32xf32>) outs(%arg1 : memref<64x32xf32>)
  return
}

// -----

// An NHWC 2x2 max pool of stride 2 (the CPU's layout for pooling): each
// output row is cut into 1-D windows of 2 output columns (the most of
// 4, 2, 1 that divides 14) per window row, viewed without their unit
// dimensions as an NWC pool, which vectorizes along the channels
// (contiguous): 8-wide maxima, no scalar loop over channels.
// CHECK-LABEL: func.func private @max_pool_nhwc
// CHECK-NOT: linalg.pooling_nhwc_max
// CHECK: vector.transfer_read {{.*}} : memref<1x4x8xf32, {{.*}}>, vector<1x4x8xf32>
// CHECK: arith.maximumf {{.*}} : vector<1x1x8xf32>
// CHECK: vector.transfer_write {{.*}} : vector<1x2x8xf32>, memref<1x2x8xf32, {{.*}}>
// CHECK-NOT: linalg.pooling
func.func private @max_pool_nhwc(%arg0: memref<1x28x28x8xf32>, %arg1: memref<1x14x14x8xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %window = memref.alloca() : memref<2x2xf32>
  linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%arg0, %window : memref<1x28x28x8xf32>, memref<2x2xf32>) outs(%arg1 : memref<1x14x14x8xf32>)
  return
}
