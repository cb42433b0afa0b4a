// RUN: weft-opt %s -split-input-file -weft-lower-to-linalg -verify-diagnostics | FileCheck %s

// A 2-D matmul becomes linalg.matmul accumulating into a zero-filled init.
// CHECK-LABEL: func.func @matmul
// CHECK: weft.dispatch
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<16x8xf32>):
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E]] : tensor<4x8xf32>)
// CHECK: %[[M:.*]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<4x16xf32>, tensor<16x8xf32>) outs(%[[F]] : tensor<4x8xf32>)
// CHECK: weft.yield %[[M]]
// CHECK-NOT: weft.matmul
func.func @matmul(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %0 = weft.dispatch(%a, %b) : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: tensor<4x16xf32>, %y: tensor<16x8xf32>):
    %r = weft.matmul %x, %y : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

// Batched matmul with a broadcast batch dim: one generic, k innermost as the
// only reduction, the unit batch dim of the lhs read at index 0.
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d2, d4)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @batch_matmul
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<2x1x4x16xf32>, tensor<3x16x8xf32>) outs(%{{.*}} : tensor<2x3x4x8xf32>)
// CHECK: %[[P:.*]] = arith.mulf
// CHECK: arith.addf %{{.*}}, %[[P]]
func.func @batch_matmul(%a: tensor<2x1x4x16xf32>, %b: tensor<3x16x8xf32>) -> tensor<2x3x4x8xf32> {
  %0 = weft.dispatch(%a, %b) : (tensor<2x1x4x16xf32>, tensor<3x16x8xf32>) -> tensor<2x3x4x8xf32> {
  ^bb0(%x: tensor<2x1x4x16xf32>, %y: tensor<3x16x8xf32>):
    %r = weft.matmul %x, %y : (tensor<2x1x4x16xf32>, tensor<3x16x8xf32>) -> tensor<2x3x4x8xf32>
    weft.yield %r : tensor<2x3x4x8xf32>
  }
  return %0 : tensor<2x3x4x8xf32>
}

// -----

// Gemm with transposes, alpha and beta: the init is beta * C broadcast, the
// contraction reads A[k, m] and B[n, k] and scales by alpha.
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @gemm
// CHECK: %[[INIT:.*]] = linalg.generic {indexing_maps = [#[[C]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%{{.*}} : tensor<8xf32>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.mulf
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[O]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%[[INIT]] : tensor<4x8xf32>)
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK-NOT: linalg.matmul
func.func @gemm(%a: tensor<16x4xf32>, %b: tensor<8x16xf32>, %c: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = weft.dispatch(%a, %b, %c) : (tensor<16x4xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: tensor<16x4xf32>, %y: tensor<8x16xf32>, %z: tensor<8xf32>):
    %r = weft.gemm %x, %y, %z {alpha = 2.0 : f32, beta = 0.5 : f32, trans_a = true, trans_b = true} : (tensor<16x4xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

// Broadcasting add: a missing leading dim is dropped from the map, a unit dim
// that broadcasts is read at index 0.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @broadcast_add
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x3x8xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[Y]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<4x1x8xf32>, tensor<3x1xf32>) outs(%[[E]] : tensor<4x3x8xf32>)
// CHECK-NEXT: ^bb0(%[[I0:.*]]: f32, %[[I1:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[I0]], %[[I1]] : f32
// CHECK-NEXT: linalg.yield %[[S]] : f32
func.func @broadcast_add(%a: tensor<4x1x8xf32>, %b: tensor<3x1xf32>) -> tensor<4x3x8xf32> {
  %0 = weft.dispatch(%a, %b) : (tensor<4x1x8xf32>, tensor<3x1xf32>) -> tensor<4x3x8xf32> {
  ^bb0(%x: tensor<4x1x8xf32>, %y: tensor<3x1xf32>):
    %r = weft.add %x, %y : (tensor<4x1x8xf32>, tensor<3x1xf32>) -> tensor<4x3x8xf32>
    weft.yield %r : tensor<4x3x8xf32>
  }
  return %0 : tensor<4x3x8xf32>
}

// -----

// Unary, where and cast pick their scalar ops from the element types.
// CHECK-LABEL: func.func @elementwise
// CHECK: weft.dispatch
// CHECK: linalg.generic
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: arith.maximumf %{{.*}}, %[[Z]] : f32
// CHECK: weft.dispatch
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x1xf32>)
// CHECK-NEXT: ^bb0(%[[C:.*]]: i1, %[[T:.*]]: f32, %[[F:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: arith.select %[[C]], %[[T]], %[[F]] : f32
// CHECK: weft.dispatch
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xi32>)
// CHECK: arith.fptosi %{{.*}} : f32 to i32
func.func @elementwise(%c: tensor<2x3xi1>, %x: tensor<2x3xf32>, %y: tensor<2x1xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi32>) {
  %0 = weft.dispatch(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%a: tensor<2x3xf32>):
    %r = weft.relu %a : tensor<2x3xf32>
    weft.yield %r : tensor<2x3xf32>
  }
  %1 = weft.dispatch(%c, %x, %y) : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32> {
  ^bb0(%a: tensor<2x3xi1>, %b: tensor<2x3xf32>, %d: tensor<2x1xf32>):
    %r = weft.where %a, %b, %d : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
    weft.yield %r : tensor<2x3xf32>
  }
  %2 = weft.dispatch(%x) : (tensor<2x3xf32>) -> tensor<2x3xi32> {
  ^bb0(%a: tensor<2x3xf32>):
    %r = weft.cast %a : tensor<2x3xf32> to tensor<2x3xi32>
    weft.yield %r : tensor<2x3xi32>
  }
  return %0, %1, %2 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi32>
}

// -----

// CHECK-LABEL: func.func @conv
// CHECK: ^bb0(%[[X:.*]]: tensor<1x3x8x8xf32>):
// CHECK-DAG: %[[W:.*]] = arith.constant dense<5.000000e-01> : tensor<4x3x3x3xf32>
// CHECK-DAG: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[F:.*]] = linalg.fill ins(%[[Z]] : f32) outs(%{{.*}} : tensor<1x4x6x3xf32>)
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<[1, 2]> : tensor<2xi64>}
// CHECK-SAME: ins(%[[X]], %[[W]] : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%[[F]] : tensor<1x4x6x3xf32>)
func.func @conv(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x6x3xf32> {
  %0 = weft.dispatch(%x) : (tensor<1x3x8x8xf32>) -> tensor<1x4x6x3xf32> {
  ^bb0(%i: tensor<1x3x8x8xf32>):
    %w = weft.constant dense<0.5> : tensor<4x3x3x3xf32>
    %r = weft.conv %i, %w {strides = array<i64: 1, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x3xf32>
    weft.yield %r : tensor<1x4x6x3xf32>
  }
  return %0 : tensor<1x4x6x3xf32>
}

// -----

// A bias seeds the accumulator along the channel dim; groups split the
// channels and use the grouped named op, the bias [6] viewed as [2, 3]
// and broadcast per group (no reshape between the broadcast and the
// convolution, so that tiles of the convolution take the broadcast in).
// CHECK-DAG: #[[BIAS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
// CHECK-LABEL: func.func @conv_grouped_bias
// CHECK: ^bb0(%[[X:.*]]: tensor<1x4x8x8xf32>, %[[W:.*]]: tensor<6x2x3x3xf32>, %[[B:.*]]: tensor<6xf32>):
// CHECK: %[[XG:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2], [3], [4]] {{.*}} : tensor<1x4x8x8xf32> into tensor<1x2x2x8x8xf32>
// CHECK: %[[WG:.*]] = tensor.expand_shape %[[W]] {{\[\[}}0, 1], [2], [3], [4]] {{.*}} : tensor<6x2x3x3xf32> into tensor<2x3x2x3x3xf32>
// CHECK: %[[BG:.*]] = tensor.expand_shape %[[B]] {{\[\[}}0, 1]] {{.*}} : tensor<6xf32> into tensor<2x3xf32>
// CHECK: %[[IG:.*]] = linalg.generic {indexing_maps = [#[[BIAS]], #{{.*}}]{{.*}} ins(%[[BG]] : tensor<2x3xf32>) outs(%{{.*}} : tensor<1x2x3x6x6xf32>)
// CHECK: %[[C:.*]] = linalg.conv_2d_ngchw_gfchw {{.*}} ins(%[[XG]], %[[WG]] : {{.*}}) outs(%[[IG]] : tensor<1x2x3x6x6xf32>)
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[C]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x3x6x6xf32> into tensor<1x6x6x6xf32>
// CHECK: weft.yield %[[R]]
func.func @conv_grouped_bias(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>) -> tensor<1x6x6x6xf32> {
  %0 = weft.dispatch(%x, %w, %b) : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x6x6xf32> {
  ^bb0(%i: tensor<1x4x8x8xf32>, %f: tensor<6x2x3x3xf32>, %bb: tensor<6xf32>):
    %r = weft.conv %i, %f, %bb {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x6x6xf32>
    weft.yield %r : tensor<1x6x6x6xf32>
  }
  return %0 : tensor<1x6x6x6xf32>
}

// -----

// Max pooling starts from -inf; the window is a shape-only empty tensor.
// CHECK-LABEL: func.func @max_pool
// CHECK: ^bb0(%[[X:.*]]: tensor<1x4x6x6xf32>):
// CHECK-DAG: %[[WIN:.*]] = tensor.empty() : tensor<2x2xf32>
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[F:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<1x4x3x3xf32>)
// CHECK: linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[X]], %[[WIN]] : tensor<1x4x6x6xf32>, tensor<2x2xf32>) outs(%[[F]] : tensor<1x4x3x3xf32>)
// CHECK-NOT: tensor.pad
func.func @max_pool(%x: tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32> {
  %0 = weft.dispatch(%x) : (tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32> {
  ^bb0(%i: tensor<1x4x6x6xf32>):
    %r = weft.pool max %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : (tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32>
    weft.yield %r : tensor<1x4x3x3xf32>
  }
  return %0 : tensor<1x4x3x3xf32>
}

// -----

// Padded average pooling without count_include_pad: zero padding, a sum
// pool, then division by the number of real elements in each window.
// CHECK-LABEL: func.func @avg_pool_padded
// CHECK: %[[P:.*]] = tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.yield %{{.*}} : f32
// CHECK: } : tensor<1x2x5x5xf32> to tensor<1x2x7x7xf32>
// CHECK: %[[S:.*]] = linalg.pooling_nchw_sum {{.*}} strides = dense<2> : tensor<2xi64>} ins(%[[P]], %{{.*}} : tensor<1x2x7x7xf32>, tensor<3x3xf32>)
// CHECK: %[[N:.*]] = arith.constant dense<{{\[\[}}4.000000e+00, 6.000000e+00, 4.000000e+00], [6.000000e+00, 9.000000e+00, 6.000000e+00], [4.000000e+00, 6.000000e+00, 4.000000e+00]]> : tensor<3x3xf32>
// CHECK: linalg.generic {{.*}} ins(%[[S]], %[[N]] : tensor<1x2x3x3xf32>, tensor<3x3xf32>)
// CHECK: arith.divf
func.func @avg_pool_padded(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %0 = weft.dispatch(%x) : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  ^bb0(%i: tensor<1x2x5x5xf32>):
    %r = weft.pool avg %i {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, count_include_pad = false} : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32>
    weft.yield %r : tensor<1x2x3x3xf32>
  }
  return %0 : tensor<1x2x3x3xf32>
}

// -----

// A padded pool marked weft.gather_padding (the CUDA targets) reads its
// unpadded input: one parallel generic, its 2 x 2 window unrolled, each
// element read at indices kept inside the input and replaced by the
// padding's value outside it; no tensor.pad, no padded copy.
// CHECK-LABEL: func.func @max_pool_gathered
// CHECK-NOT: tensor.pad
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%{{.*}} : tensor<1x2x3x3xf32>)
// CHECK-COUNT-4: tensor.extract %{{.*}} : tensor<1x2x5x5xf32>
// CHECK-NOT: tensor.extract
// CHECK: linalg.yield
// CHECK-NOT: linalg.pooling
// CHECK: weft.yield
// Average pooling: the window's sum and its count of real elements
// (count_include_pad false) in the same body, then one division.
// CHECK-LABEL: func.func @avg_pool_gathered
// CHECK-NOT: tensor.pad
// CHECK: linalg.generic
// CHECK-COUNT-9: tensor.extract
// CHECK: %[[N:.*]] = arith.maximumf %{{.*}}, %cst{{.*}} : f32
// CHECK: %[[A:.*]] = arith.divf %{{.*}}, %[[N]] : f32
// CHECK: linalg.yield %[[A]] : f32
// CHECK-NOT: linalg.generic
// CHECK: weft.yield
func.func @max_pool_gathered(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %0 = weft.dispatch(%x) : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  ^bb0(%i: tensor<1x2x5x5xf32>):
    %r = weft.pool max %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 0, 0>, ceil_mode = false, count_include_pad = false, weft.gather_padding} : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32>
    weft.yield %r : tensor<1x2x3x3xf32>
  }
  return %0 : tensor<1x2x3x3xf32>
}
func.func @avg_pool_gathered(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %0 = weft.dispatch(%x) : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  ^bb0(%i: tensor<1x2x5x5xf32>):
    %r = weft.pool avg %i {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, count_include_pad = false, weft.gather_padding} : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32>
    weft.yield %r : tensor<1x2x3x3xf32>
  }
  return %0 : tensor<1x2x3x3xf32>
}

// -----

// With count_include_pad every window divides by the full kernel size.
// CHECK-LABEL: func.func @avg_pool_include_pad
// CHECK: arith.constant dense<9.000000e+00> : tensor<3x3xf32>
func.func @avg_pool_include_pad(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %0 = weft.dispatch(%x) : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  ^bb0(%i: tensor<1x2x5x5xf32>):
    %r = weft.pool avg %i {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, count_include_pad = true} : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32>
    weft.yield %r : tensor<1x2x3x3xf32>
  }
  return %0 : tensor<1x2x3x3xf32>
}

// -----

// Reductions accumulate into the kept dims; keepdims re-expands; mean divides
// by the reduced element count.
// CHECK-DAG: #[[ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[RED:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[RED4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @reduce
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[F:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: %[[M:.*]] = linalg.generic {indexing_maps = [#[[ID3]], #[[RED]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}} : tensor<2x3x4xf32>) outs(%[[F]] : tensor<2x4xf32>)
// CHECK: arith.maximumf
// CHECK: tensor.expand_shape %[[M]] {{\[\[}}0], [1, 2]] output_shape [2, 1, 4] : tensor<2x4xf32> into tensor<2x1x4xf32>
// CHECK: weft.dispatch
// CHECK: linalg.generic {indexing_maps = [#[[ID4]], #[[RED4]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: arith.constant 6.400000e+01 : f32
// CHECK: arith.divf
func.func @reduce(%x: tensor<2x3x4xf32>, %y: tensor<1x3x8x8xf32>) -> (tensor<2x1x4xf32>, tensor<1x3xf32>) {
  %0 = weft.dispatch(%x) : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32> {
  ^bb0(%i: tensor<2x3x4xf32>):
    %r = weft.reduce max %i {axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
    weft.yield %r : tensor<2x1x4xf32>
  }
  %1 = weft.dispatch(%y) : (tensor<1x3x8x8xf32>) -> tensor<1x3xf32> {
  ^bb0(%i: tensor<1x3x8x8xf32>):
    %r = weft.reduce mean %i {axes = array<i64: 2, 3>, keepdims = false} : (tensor<1x3x8x8xf32>) -> tensor<1x3xf32>
    weft.yield %r : tensor<1x3xf32>
  }
  return %0, %1 : tensor<2x1x4xf32>, tensor<1x3xf32>
}

// -----

// Softmax: a max reduction, a sum of shifted exponentials, the sum's
// reciprocal per row, then one elementwise pass that multiplies by it (no
// division per element); log-softmax subtracts the log of the sum instead.
// CHECK-LABEL: func.func @softmax
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[X:.*]] : tensor<2x3x4xf32>) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[X]], %[[MAX]] : tensor<2x3x4xf32>, tensor<2x4xf32>) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: %[[INV:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[SUM]] : tensor<2x4xf32>) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: arith.divf %[[ONE]], %{{.*}} : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[MAX]], %[[INV]] : tensor<2x3x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
// CHECK: %[[E:.*]] = math.exp
// CHECK-NOT: arith.divf
// CHECK: arith.mulf %[[E]], %{{.*}} : f32
// CHECK: weft.dispatch
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: %[[SH:.*]] = arith.subf
// CHECK: %[[LOG:.*]] = math.log
// CHECK: arith.subf %[[SH]], %[[LOG]]
// CHECK-NOT: weft.softmax
func.func @softmax(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %0 = weft.dispatch(%x) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  ^bb0(%i: tensor<2x3x4xf32>):
    %r = weft.softmax %i {axis = 1 : i64, log = false} : tensor<2x3x4xf32>
    weft.yield %r : tensor<2x3x4xf32>
  }
  %1 = weft.dispatch(%x) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  ^bb0(%i: tensor<2x3x4xf32>):
    %r = weft.softmax %i {axis = 1 : i64, log = true} : tensor<2x3x4xf32>
    weft.yield %r : tensor<2x3x4xf32>
  }
  return %0, %1 : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK: ^bb0(%[[X:.*]]: tensor<2x3x4xf32>):
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x2x3xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[X]] : tensor<2x3x4xf32>) outs(%[[E]] : tensor<4x2x3xf32>) permutation = [2, 0, 1]
// CHECK: weft.yield %[[T]]
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = weft.dispatch(%x) : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  ^bb0(%i: tensor<2x3x4xf32>):
    %r = weft.transpose %i {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
    weft.yield %r : tensor<4x2x3xf32>
  }
  return %0 : tensor<4x2x3xf32>
}

// -----

// Data movement: concat inserts slices at running offsets; pad and slice
// gather with tensor.extract in a generic.
// CHECK-LABEL: func.func @data_movement
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x8xf32>
// CHECK: %[[S0:.*]] = tensor.insert_slice %{{.*}} into %[[E]][0, 0] [2, 3] [1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %[[S0]][0, 3] [2, 5] [1, 1]
// CHECK: weft.dispatch
// The pad reads its unpadded inner dimension at the output index itself, so
// each output row is one contiguous source row (weft.row_gather); the slice
// with a negative step is not.
// CHECK: %[[PV:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x5xf32>) attrs = {weft.row_gather}
// CHECK: linalg.index 0
// CHECK: %[[J:.*]] = linalg.index 1
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %[[J]]]
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi slt
// CHECK-NOT: arith.cmpi
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[PV]] : f32
// CHECK: weft.dispatch
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x2xf32>) {
// CHECK: %[[STEP:.*]] = arith.constant -2 : index
// CHECK: arith.muli %{{.*}}, %[[STEP]] : index
// CHECK: tensor.extract
func.func @data_movement(%x: tensor<2x3xf32>, %z: tensor<2x5xf32>) -> (tensor<2x8xf32>, tensor<4x5xf32>, tensor<2x2xf32>) {
  %0 = weft.dispatch(%x, %z) : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>):
    %r = weft.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
    weft.yield %r : tensor<2x8xf32>
  }
  %1 = weft.dispatch(%z) : (tensor<2x5xf32>) -> tensor<4x5xf32> {
  ^bb0(%a: tensor<2x5xf32>):
    %r = weft.pad %a {low = array<i64: 1, 0>, high = array<i64: 1, 0>, value = 2.0 : f32} : (tensor<2x5xf32>) -> tensor<4x5xf32>
    weft.yield %r : tensor<4x5xf32>
  }
  %2 = weft.dispatch(%z) : (tensor<2x5xf32>) -> tensor<2x2xf32> {
  ^bb0(%a: tensor<2x5xf32>):
    %r = weft.slice %a {starts = array<i64: 0, 4>, sizes = array<i64: 2, 2>, steps = array<i64: 1, -2>} : (tensor<2x5xf32>) -> tensor<2x2xf32>
    weft.yield %r : tensor<2x2xf32>
  }
  return %0, %1, %2 : tensor<2x8xf32>, tensor<4x5xf32>, tensor<2x2xf32>
}

// -----

// Ops outside dispatches stay weft ops; a reshape inside a body becomes
// tensor.reshape.
// CHECK-LABEL: func.func @outside_and_reshape
// CHECK: weft.constant dense<1.000000e+00> : tensor<2x3xf32>
// CHECK: %[[R:.*]] = weft.reshape %{{.*}} : (tensor<2x3xf32>) -> tensor<6xf32>
// CHECK: weft.dispatch(%[[R]])
// CHECK: %[[SHAPE:.*]] = arith.constant dense<[3, 2]> : tensor<2xi64>
// CHECK: tensor.reshape %{{.*}}(%[[SHAPE]]) : (tensor<6xf32>, tensor<2xi64>) -> tensor<3x2xf32>
// CHECK-NOT: weft.reshape
// CHECK: return
func.func @outside_and_reshape(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<2x3xf32>) {
  %c = weft.constant dense<1.0> : tensor<2x3xf32>
  %r = weft.reshape %x : (tensor<2x3xf32>) -> tensor<6xf32>
  %0 = weft.dispatch(%r) : (tensor<6xf32>) -> tensor<3x2xf32> {
  ^bb0(%i: tensor<6xf32>):
    %s = weft.reshape %i : (tensor<6xf32>) -> tensor<3x2xf32>
    weft.yield %s : tensor<3x2xf32>
  }
  return %0, %c : tensor<3x2xf32>, tensor<2x3xf32>
}

// -----

func.func @conv_with_pads(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %0 = weft.dispatch(%x, %w) : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
  ^bb0(%i: tensor<1x3x8x8xf32>, %f: tensor<4x3x3x3xf32>):
    // expected-error @below {{conv padding must be decomposed before lowering}}
    %r = weft.conv %i, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
    weft.yield %r : tensor<1x4x8x8xf32>
  }
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @batch_norm_not_decomposed(%x: tensor<1x2x4x4xf32>, %p: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %0 = weft.dispatch(%x, %p) : (tensor<1x2x4x4xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  ^bb0(%i: tensor<1x2x4x4xf32>, %q: tensor<2xf32>):
    // expected-error @below {{batch_norm must be decomposed before lowering}}
    %r = weft.batch_norm %i, %q, %q, %q, %q {epsilon = 1.0e-5 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
    weft.yield %r : tensor<1x2x4x4xf32>
  }
  return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @integer_avg_pool(%x: tensor<1x1x4x4xi32>) -> tensor<1x1x2x2xi32> {
  %0 = weft.dispatch(%x) : (tensor<1x1x4x4xi32>) -> tensor<1x1x2x2xi32> {
  ^bb0(%i: tensor<1x1x4x4xi32>):
    // expected-error @below {{average pooling needs a floating-point input}}
    %r = weft.pool avg %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : (tensor<1x1x4x4xi32>) -> tensor<1x1x2x2xi32>
    weft.yield %r : tensor<1x1x2x2xi32>
  }
  return %0 : tensor<1x1x2x2xi32>
}

// -----

// [B, M, K] x [K, N] (a transformer's projection): the batch rows are more
// rows of one 2-D matmul, so the contraction kernels tile it like any other.
// CHECK-LABEL: func.func @rows_matmul
// CHECK: %[[A:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<2x3x16xf32> into tensor<6x16xf32>
// CHECK: %[[M:.*]] = linalg.matmul ins(%[[A]], %{{.*}} : tensor<6x16xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<6x8xf32>)
// CHECK: tensor.expand_shape %[[M]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 8] : tensor<6x8xf32> into tensor<2x3x8xf32>
func.func @rows_matmul(%a: tensor<2x3x16xf32>, %b: tensor<16x8xf32>) -> tensor<2x3x8xf32> {
  %0 = weft.dispatch(%a, %b) : (tensor<2x3x16xf32>, tensor<16x8xf32>) -> tensor<2x3x8xf32> {
  ^bb0(%x: tensor<2x3x16xf32>, %y: tensor<16x8xf32>):
    %r = weft.matmul %x, %y : (tensor<2x3x16xf32>, tensor<16x8xf32>) -> tensor<2x3x8xf32>
    weft.yield %r : tensor<2x3x8xf32>
  }
  return %0 : tensor<2x3x8xf32>
}

// -----

// Layer normalization: the row sums, the sums of squared deviations from
// the row means, then per row the mean and 1/sqrt(variance + epsilon), then
// the normalized elements times the scale plus the bias, all in the one
// dispatch; the scale's size-1 dimension broadcasts.
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X:.*]] : tensor<6x8xf32>) outs(%{{.*}} : tensor<6xf32>)
// CHECK: arith.addf
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[SUM]] : tensor<6x8xf32>, tensor<6xf32>) outs(%{{.*}} : tensor<6xf32>)
// CHECK: arith.constant 1.250000e-01 : f32
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: %[[STATS:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel"]} ins(%[[SUM]], %[[SQ]] : tensor<6xf32>, tensor<6xf32>)
// CHECK: math.sqrt
// CHECK: arith.divf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[STATS]]#0, %[[STATS]]#1, %{{.*}}, %{{.*}} : tensor<6x8xf32>, tensor<6xf32>, tensor<6xf32>, tensor<1xf32>, tensor<8xf32>)
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: weft.layer_norm
func.func @layer_norm(%x: tensor<6x8xf32>, %g: tensor<1xf32>, %b: tensor<8xf32>) -> tensor<6x8xf32> {
  %0 = weft.dispatch(%x, %g, %b) : (tensor<6x8xf32>, tensor<1xf32>, tensor<8xf32>) -> tensor<6x8xf32> {
  ^bb0(%i: tensor<6x8xf32>, %s: tensor<1xf32>, %c: tensor<8xf32>):
    %r = weft.layer_norm %i, %s, %c {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<6x8xf32>, tensor<1xf32>, tensor<8xf32>) -> tensor<6x8xf32>
    weft.yield %r : tensor<6x8xf32>
  }
  return %0 : tensor<6x8xf32>
}

// -----

// A gather of rows reads its index with tensor.extract (loop-invariant along
// the row, so the row vectorizes as one contiguous read) and clamps it.
// CHECK-LABEL: func.func @gather_rows
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x8xf32>) attrs = {weft.row_gather}
// CHECK: %[[RAW:.*]] = tensor.extract %{{.*}} : tensor<4xi64>
// CHECK: %[[I:.*]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK: arith.cmpi slt, %[[I]]
// CHECK: arith.maxsi
// CHECK: %[[C:.*]] = arith.minsi
// CHECK: tensor.extract %{{.*}}[%[[C]], %{{.*}}] : tensor<10x8xf32>
func.func @gather_rows(%x: tensor<10x8xf32>, %i: tensor<4xi64>) -> tensor<4x8xf32> {
  %0 = weft.dispatch(%x, %i) : (tensor<10x8xf32>, tensor<4xi64>) -> tensor<4x8xf32> {
  ^bb0(%d: tensor<10x8xf32>, %j: tensor<4xi64>):
    %r = weft.gather %d[%j] {axis = 0 : i64} : (tensor<10x8xf32>, tensor<4xi64>) -> tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

// Along the last axis the indices are a generic input.
// CHECK-LABEL: func.func @gather_columns
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<3xi32>) outs(%{{.*}} : tensor<10x3xf32>) {
// CHECK: ^bb0(%[[IDX:.*]]: i32,
// CHECK: arith.index_cast %[[IDX]] : i32 to index
// CHECK: tensor.extract %{{.*}} : tensor<10x8xf32>
func.func @gather_columns(%x: tensor<10x8xf32>, %i: tensor<3xi32>) -> tensor<10x3xf32> {
  %0 = weft.dispatch(%x, %i) : (tensor<10x8xf32>, tensor<3xi32>) -> tensor<10x3xf32> {
  ^bb0(%d: tensor<10x8xf32>, %j: tensor<3xi32>):
    %r = weft.gather %d[%j] {axis = 1 : i64} : (tensor<10x8xf32>, tensor<3xi32>) -> tensor<10x3xf32>
    weft.yield %r : tensor<10x3xf32>
  }
  return %0 : tensor<10x3xf32>
}

// -----

// ArgMax: one generic that reduces the axis into the running maximum and its
// index; the first element seeds both.
// CHECK-LABEL: func.func @arg_max
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<3x5xf32>) outs(%{{.*}}, %{{.*}} : tensor<3xf32>, tensor<3xi64>)
// CHECK: %[[GT:.*]] = arith.cmpf ogt
// CHECK: %[[I:.*]] = arith.index_cast
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[I]]
// CHECK: %[[B:.*]] = arith.ori %[[GT]], %[[FIRST]]
// CHECK: arith.select %[[B]]
// CHECK: arith.select %[[B]], %[[I]]
// CHECK: weft.yield %[[R]]#1
func.func @arg_max(%x: tensor<3x5xf32>) -> tensor<3xi64> {
  %0 = weft.dispatch(%x) : (tensor<3x5xf32>) -> tensor<3xi64> {
  ^bb0(%i: tensor<3x5xf32>):
    %r = weft.arg_max %i {axis = 1 : i64, select_last_index = false} : (tensor<3x5xf32>) -> tensor<3xi64>
    weft.yield %r : tensor<3xi64>
  }
  return %0 : tensor<3xi64>
}

// -----

// A scatter copies the data, then writes one update per iteration of a
// serial loop nest (duplicates resolve in order); the reduction reads the
// element first. TopK runs k selection passes over each row.
// CHECK-LABEL: func.func @scatter_top_k
// CHECK: linalg.copy
// CHECK: scf.for
// CHECK: tensor.extract %{{.*}} : tensor<2x1xi64>
// CHECK: arith.minsi
// CHECK: scf.for
// CHECK: tensor.extract %{{.*}} : tensor<2x3xf32>
// CHECK: tensor.extract %{{.*}} : tensor<5x3xf32>
// CHECK: arith.addf
// CHECK: tensor.insert
// CHECK: weft.dispatch
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.cmpf ogt
// CHECK: tensor.insert %{{.*}} : tensor<2x3xi64>
func.func @scatter_top_k(%x: tensor<5x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) -> (tensor<5x3xf32>, tensor<2x3xi64>) {
  %0 = weft.dispatch(%x, %i, %u) : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<5x3xf32> {
  ^bb0(%a: tensor<5x3xf32>, %b: tensor<2x1xi64>, %c: tensor<2x3xf32>):
    %r = weft.scatter_nd add %a[%b], %c : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<5x3xf32>
    weft.yield %r : tensor<5x3xf32>
  }
  %1 = weft.dispatch(%x) : (tensor<5x3xf32>) -> tensor<2x3xi64> {
  ^bb0(%a: tensor<5x3xf32>):
    %r = weft.top_k %a {axis = 0 : i64, k = 2 : i64, largest = true} : (tensor<5x3xf32>) -> tensor<2x3xi64>
    weft.yield %r : tensor<2x3xi64>
  }
  return %0, %1 : tensor<5x3xf32>, tensor<2x3xi64>
}

// -----

// NonZero: one serial loop writing each element's coordinates at the
// running count, the count stored after the coordinates. NonMaxSuppression:
// per batch and class a candidate list, then a while loop taking the best.
// Compact: a generic unravelling each position in the run-time shape.
// CHECK-LABEL: func.func @run_time_sizes
// CHECK: linalg.fill
// CHECK: scf.for
// CHECK: arith.cmpf une
// CHECK: tensor.insert %{{.*}} : tensor<3x12xi64>
// CHECK: arith.select
// CHECK: weft.dispatch
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.while
// CHECK: arith.cmpf ogt
// CHECK: weft.dispatch
// CHECK: linalg.generic
// CHECK: arith.divui
// CHECK: tensor.extract %{{.*}} : tensor<2x12xi64>
// Unique: a pass finding each slice's first equal, then the ranks.
// CHECK: weft.dispatch
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.cmpf une
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.cmpf olt
func.func @run_time_sizes(%x: tensor<3x4xf32>, %b: tensor<1x6x4xf32>, %s: tensor<1x2x6xf32>,
                          %m: tensor<i64>, %t: tensor<f32>, %p: tensor<2x12xi64>, %n: tensor<i64>)
    -> (tensor<3x12xi64>, tensor<5x3xi64>, tensor<2x12xi64>, tensor<4x4xi64>) {
  %0 = weft.dispatch(%x) : (tensor<3x4xf32>) -> tensor<3x12xi64> {
  ^bb0(%a: tensor<3x4xf32>):
    %r = weft.non_zero %a : (tensor<3x4xf32>) -> tensor<3x12xi64>
    weft.yield %r : tensor<3x12xi64>
  }
  %1 = weft.dispatch(%b, %s, %m, %t) : (tensor<1x6x4xf32>, tensor<1x2x6xf32>, tensor<i64>, tensor<f32>) -> tensor<5x3xi64> {
  ^bb0(%bb: tensor<1x6x4xf32>, %ss: tensor<1x2x6xf32>, %mm: tensor<i64>, %tt: tensor<f32>):
    %r = weft.non_max_suppression %bb, %ss, %mm, %mm, %tt, %tt {bound_per_class = 2 : i64, center_point_box = false} : (tensor<1x6x4xf32>, tensor<1x2x6xf32>, tensor<i64>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<5x3xi64>
    weft.yield %r : tensor<5x3xi64>
  }
  %2 = weft.dispatch(%p, %n) : (tensor<2x12xi64>, tensor<i64>) -> tensor<2x12xi64> {
  ^bb0(%pp: tensor<2x12xi64>, %nn: tensor<i64>):
    %r = weft.compact %pp[%nn] {dims = array<i64: 1>} : (tensor<2x12xi64>, tensor<i64>) -> tensor<2x12xi64>
    weft.yield %r : tensor<2x12xi64>
  }
  %3 = weft.dispatch(%x) : (tensor<3x4xf32>) -> tensor<4x4xi64> {
  ^bb0(%a: tensor<3x4xf32>):
    %r = weft.unique %a {axis = 1 : i64, sorted = true} : (tensor<3x4xf32>) -> tensor<4x4xi64>
    weft.yield %r : tensor<4x4xi64>
  }
  return %0, %1, %2, %3 : tensor<3x12xi64>, tensor<5x3xi64>, tensor<2x12xi64>, tensor<4x4xi64>
}

// -----

// An attention's product with V as the CUDA targets form it
// (weft-form-dispatches{matmuls-take-views}): V a slice of the joint
// projection, read in place (tensor.extract_slice), its transpose folded
// into the contraction's map for V, and the transpose of the result folded
// into its output map: the contraction writes [S, H, D] itself, and the
// transpose that remains is an identity copy of it (its epilogue).
// CHECK-DAG: #[[P:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[V:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d0, d2)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d0, d2)>
// CHECK-LABEL: func.func @attention_context
// CHECK: %[[S:.*]] = tensor.extract_slice %{{.*}}[0, 8, 0] [8, 4, 8] [1, 1, 1] : tensor<8x12x8xf32> to tensor<8x4x8xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x4x8xf32>)
// CHECK: %[[M:.*]] = linalg.generic {indexing_maps = [#[[P]], #[[V]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[S]] : tensor<4x8x8xf32>, tensor<8x4x8xf32>) outs(%[[F]] : tensor<8x4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[M]] : tensor<8x4x8xf32>)
// CHECK-NOT: linalg.transpose
func.func @attention_context(%a: tensor<4x8x8xf32>, %p: tensor<8x12x8xf32>) -> tensor<8x4x8xf32> {
  %0 = weft.dispatch(%a, %p) : (tensor<4x8x8xf32>, tensor<8x12x8xf32>) -> tensor<8x4x8xf32> {
  ^bb0(%x: tensor<4x8x8xf32>, %y: tensor<8x12x8xf32>):
    %v = weft.slice %y {starts = array<i64: 0, 8, 0>, sizes = array<i64: 8, 4, 8>, steps = array<i64: 1, 1, 1>} : (tensor<8x12x8xf32>) -> tensor<8x4x8xf32>
    %vt = weft.transpose %v {perm = array<i64: 1, 0, 2>} : (tensor<8x4x8xf32>) -> tensor<4x8x8xf32>
    %o = weft.matmul %x, %vt : (tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
    %ot = weft.transpose %o {perm = array<i64: 1, 0, 2>} : (tensor<4x8x8xf32>) -> tensor<8x4x8xf32>
    weft.yield %ot : tensor<8x4x8xf32>
  }
  return %0 : tensor<8x4x8xf32>
}

// -----

// An integer depthwise convolution (channels-last, uint8 x int8 -> i32) is
// a generic that zero-extends the input and sign-extends the filter
// (linalg's named depthwise op would sign-extend both), tagged for the
// depthwise register tiles, with the named op's strides and dilations.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 2 + d4, d2 + d5, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5, d3)>
// CHECK-LABEL: func.func @integer_depthwise
// CHECK: %[[F:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<3x3x1x24xi8> into tensor<3x3x24xi8>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}}, %[[F]] : tensor<1x6x7x24xi8>, tensor<3x3x24xi8>) outs(%{{.*}} : tensor<1x2x5x24xi32>)
// CHECK-SAME: strides = dense<[2, 1]> : tensor<2xi64>, weft.integer_depthwise
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.muli
// CHECK: arith.addi
func.func @integer_depthwise(%x: tensor<1x6x7x24xui8>, %w: tensor<3x3x1x24xi8>) -> tensor<1x2x5x24xi32> {
  %0 = weft.dispatch(%x, %w) : (tensor<1x6x7x24xui8>, tensor<3x3x1x24xi8>) -> tensor<1x2x5x24xi32> {
  ^bb0(%i: tensor<1x6x7x24xui8>, %f: tensor<3x3x1x24xi8>):
    %r = weft.conv %i, %f {strides = array<i64: 2, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 24 : i64, channels_last} : (tensor<1x6x7x24xui8>, tensor<3x3x1x24xi8>) -> tensor<1x2x5x24xi32>
    weft.yield %r : tensor<1x2x5x24xi32>
  }
  return %0 : tensor<1x2x5x24xi32>
}
