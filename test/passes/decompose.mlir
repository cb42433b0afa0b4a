// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-decompose))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-decompose),canonicalize)' | FileCheck %s --check-prefix=CANON
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-decompose{pretranspose-min-rows=16}))' | FileCheck %s --check-prefix=MINROWS
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-decompose{pool-pads-apart=false}))' | FileCheck %s --check-prefix=GATHER
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-decompose{flatten-full-reductions}))' | FileCheck %s --check-prefix=FLAT

// Constant parameters: s = scale / sqrt(var + eps) = [1, 2] and
// t = bias - mean * s = [0.5, -5], shaped [C, 1, 1] to broadcast on axis 1.
// CHECK-LABEL: func.func @batch_norm_constant
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x4x4xf32>)
// CHECK-NOT: weft.batch_norm
// CHECK-DAG: %[[S:.*]] = weft.constant dense<{{\[\[\[}}1.000000e+00]], {{\[\[}}2.000000e+00]]]> : tensor<2x1x1xf32>
// CHECK-DAG: %[[T:.*]] = weft.constant dense<{{\[\[\[}}5.000000e-01]], {{\[\[}}-5.000000e+00]]]> : tensor<2x1x1xf32>
// CHECK: %[[M:.*]] = weft.mul %[[X]], %[[S]] : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
// CHECK: %[[A:.*]] = weft.add %[[M]], %[[T]] : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
// CHECK: return %[[A]]

// After canonicalization only the two constants, the mul and the add remain.
// CANON-LABEL: func.func @batch_norm_constant
// CANON-SAME: (%[[X:.*]]: tensor<1x2x4x4xf32>)
// CANON-NEXT: %[[S:.*]] = weft.constant dense<{{\[\[\[}}1.000000e+00]], {{\[\[}}2.000000e+00]]]> : tensor<2x1x1xf32>
// CANON-NEXT: %[[T:.*]] = weft.constant dense<{{\[\[\[}}5.000000e-01]], {{\[\[}}-5.000000e+00]]]> : tensor<2x1x1xf32>
// CANON-NEXT: %[[M:.*]] = weft.mul %[[X]], %[[S]]
// CANON-NEXT: %[[A:.*]] = weft.add %[[M]], %[[T]]
// CANON-NEXT: return %[[A]]
func.func @batch_norm_constant(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %s = weft.constant dense<[2.0, 6.0]> : tensor<2xf32>
  %b = weft.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %m = weft.constant dense<[0.5, 2.0]> : tensor<2xf32>
  %v = weft.constant dense<[3.0, 8.0]> : tensor<2xf32>
  %0 = weft.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

// Unit scale: the multiply folds away and only the shift is left.
// CHECK-LABEL: func.func @batch_norm_unit_scale
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x3xf32>)
// CHECK-NOT: weft.mul
// CHECK: %[[T:.*]] = weft.constant dense<{{\[\[}}-1.000000e+00], [3.000000e+00]]> : tensor<2x1xf32>
// CHECK-NOT: weft.mul
// CHECK: %[[A:.*]] = weft.add %[[X]], %[[T]] : (tensor<1x2x3xf32>, tensor<2x1xf32>) -> tensor<1x2x3xf32>
// CHECK: return %[[A]]
func.func @batch_norm_unit_scale(%x: tensor<1x2x3xf32>) -> tensor<1x2x3xf32> {
  %s = weft.constant dense<[2.0, 3.0]> : tensor<2xf32>
  %b = weft.constant dense<[0.0, 5.0]> : tensor<2xf32>
  %m = weft.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %v = weft.constant dense<[4.0, 9.0]> : tensor<2xf32>
  %0 = weft.batch_norm %x, %s, %b, %m, %v {epsilon = 0.0 : f32} : (tensor<1x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3xf32>
  return %0 : tensor<1x2x3xf32>
}

// -----

// Runtime parameters: the scale and shift are computed with weft ops, then
// reshaped to [C, 1, 1].
// CHECK-LABEL: func.func @batch_norm_runtime
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x3x2x2xf32>, %[[SC:[^:]*]]: tensor<3xf32>, %[[B:[^:]*]]: tensor<3xf32>, %[[MN:[^:]*]]: tensor<3xf32>, %[[V:[^:]*]]: tensor<3xf32>)
// CHECK-NOT: weft.batch_norm
// CHECK: %[[EPS:.*]] = weft.constant dense<9.99999974E-6> : tensor<1xf32>
// CHECK: %[[VE:.*]] = weft.add %[[V]], %[[EPS]] : (tensor<3xf32>, tensor<1xf32>) -> tensor<3xf32>
// CHECK: %[[SD:.*]] = weft.sqrt %[[VE]] : tensor<3xf32>
// CHECK: %[[S:.*]] = weft.div %[[SC]], %[[SD]]
// CHECK: %[[MS:.*]] = weft.mul %[[MN]], %[[S]]
// CHECK: %[[T:.*]] = weft.sub %[[B]], %[[MS]]
// CHECK-DAG: %[[S3:.*]] = weft.reshape %[[S]] : (tensor<3xf32>) -> tensor<3x1x1xf32>
// CHECK-DAG: %[[T3:.*]] = weft.reshape %[[T]] : (tensor<3xf32>) -> tensor<3x1x1xf32>
// CHECK: %[[Y:.*]] = weft.mul %[[X]], %[[S3]] : (tensor<1x3x2x2xf32>, tensor<3x1x1xf32>) -> tensor<1x3x2x2xf32>
// CHECK: %[[R:.*]] = weft.add %[[Y]], %[[T3]] : (tensor<1x3x2x2xf32>, tensor<3x1x1xf32>) -> tensor<1x3x2x2xf32>
// CHECK: return %[[R]]
func.func @batch_norm_runtime(%x: tensor<1x3x2x2xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<1x3x2x2xf32> {
  %0 = weft.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-5 : f32} : (tensor<1x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x2x2xf32>
  return %0 : tensor<1x3x2x2xf32>
}

// -----

// On a rank-2 input the parameters already broadcast along axis 1: no reshape.
// CHECK-LABEL: func.func @batch_norm_runtime_rank2
// CHECK-NOT: weft.reshape
// CHECK: weft.mul %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK: weft.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
func.func @batch_norm_runtime_rank2(%x: tensor<2x3xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = weft.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-5 : f32} : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Padding [top, left, bottom, right] = [1, 0, 2, 2] moves into a weft.pad on
// the spatial dims; the convolution keeps zero pads.
// CHECK-LABEL: func.func @conv_pads
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf32>, %[[W:.*]]: tensor<4x3x3x3xf32>)
// CHECK: %[[P:.*]] = weft.pad %[[X]] {high = array<i64: 0, 0, 2, 2>, low = array<i64: 0, 0, 1, 0>, value = 0.000000e+00 : f32} : (tensor<1x3x8x8xf32>) -> tensor<1x3x11x10xf32>
// CHECK: %[[C:.*]] = weft.conv %[[P]], %[[W]] {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x11x10xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x9x8xf32>
// CHECK: return %[[C]]
func.func @conv_pads(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x9x8xf32> {
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 0, 2, 2>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x9x8xf32>
  return %0 : tensor<1x4x9x8xf32>
}

// -----

// Strides, groups and the bias survive the rewrite.
// CHECK-LABEL: func.func @conv_pads_strided_grouped
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x7x7xf32>, %[[W:.*]]: tensor<4x2x3x3xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: %[[P:.*]] = weft.pad %[[X]] {high = array<i64: 0, 0, 1, 1>, low = array<i64: 0, 0, 1, 1>, {{.*}}} : (tensor<1x4x7x7xf32>) -> tensor<1x4x9x9xf32>
// CHECK: weft.conv %[[P]], %[[W]], %[[B]] {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x9x9xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
func.func @conv_pads_strided_grouped(%x: tensor<1x4x7x7xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %0 = weft.conv %x, %w, %b {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 2 : i64} : (tensor<1x4x7x7xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// Without padding the convolution is untouched.
// CHECK-LABEL: func.func @conv_no_pads
// CHECK-NOT: weft.pad
// CHECK: weft.conv %{{.*}}, %{{.*}} {{.*}} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NOT: weft.pad
func.func @conv_no_pads(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

// Max pooling's pads move into a weft.pad with the lowest value (-inf for
// floats), so the pool's kernel reads an unpadded input; ceil_mode and
// average pooling keep theirs (their window counts depend on the pads).
// CHECK-LABEL: func.func @max_pool_pads
// CHECK: %[[P:.*]] = weft.pad %arg0 {high = array<i64: 0, 0, 1, 1>, low = array<i64: 0, 0, 1, 1>, value = 0xFF800000 : f32} : (tensor<1x2x4x4xf32>) -> tensor<1x2x6x6xf32>
// CHECK: weft.pool max %[[P]] {{{.*}}pads = array<i64: 0, 0, 0, 0>{{.*}}} : (tensor<1x2x6x6xf32>) -> tensor<1x2x2x2xf32>
// CHECK-LABEL: func.func @avg_pool_pads
// CHECK-NOT: weft.pad
// CHECK: weft.pool avg %arg0 {{{.*}}pads = array<i64: 1, 1, 1, 1>
// With pool-pads-apart=false (the CUDA targets) both keep their pads
// and are marked to read their unpadded input.
// GATHER-LABEL: func.func @max_pool_pads
// GATHER-NOT: weft.pad
// GATHER: weft.pool max %arg0 {{{.*}}pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, weft.gather_padding}
// GATHER-LABEL: func.func @avg_pool_pads
// GATHER: weft.pool avg %arg0 {{{.*}}weft.gather_padding}
func.func @max_pool_pads(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %0 = weft.pool max %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x2x2xf32>
}
func.func @avg_pool_pads(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %0 = weft.pool avg %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x2x2xf32>
}

// -----

// A Linear layer's constant weights ([N, K], transB = 1) are transposed at
// compile time so kernels read B row-major; with pretranspose-min-rows=16
// (the CUDA target), a matrix-vector product of one row keeps them as
// given, and one of 16 rows still gets them transposed.
// (The transpose of the constant folds.)
// CHECK-LABEL: func.func @linear
// CHECK: weft.constant dense<1.000000e+00> : tensor<8x4xf32>
// CHECK: weft.gemm {{.*}}trans_b = false
// MINROWS-LABEL: func.func @linear
// MINROWS: weft.constant dense<1.000000e+00> : tensor<4x8xf32>
// MINROWS: weft.gemm {{.*}}trans_b = true
// MINROWS-LABEL: func.func @linear_batch
// MINROWS: weft.constant dense<1.000000e+00> : tensor<8x4xf32>
// MINROWS: weft.gemm {{.*}}trans_b = false
func.func @linear(%x: tensor<1x8xf32>) -> tensor<1x4xf32> {
  %w = weft.constant dense<1.0> : tensor<4x8xf32>
  %b = weft.constant dense<0.5> : tensor<4xf32>
  %y = weft.gemm %x, %w, %b {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = true} : (tensor<1x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
func.func @linear_batch(%x: tensor<16x8xf32>) -> tensor<16x4xf32> {
  %w = weft.constant dense<1.0> : tensor<4x8xf32>
  %b = weft.constant dense<0.5> : tensor<4xf32>
  %y = weft.gemm %x, %w, %b {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = true} : (tensor<16x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<16x4xf32>
  return %y : tensor<16x4xf32>
}

// -----

// With flatten-full-reductions, a reduction over every axis (none listed,
// or all) reduces the tensor's 1-D view; keepdims comes back through a
// reshape. A reduction over some axes stays.
// FLAT-LABEL: func.func @full_reductions
// FLAT: %[[F0:.*]] = weft.reshape %{{.*}} : (tensor<4x128xf32>) -> tensor<512xf32>
// FLAT: %[[M:.*]] = weft.reduce max %[[F0]] {axes = array<i64: 0>, keepdims = false} : (tensor<512xf32>) -> tensor<f32>
// FLAT: %[[F1:.*]] = weft.reshape %{{.*}} : (tensor<4x128xf32>) -> tensor<512xf32>
// FLAT: %[[S:.*]] = weft.reduce mean %[[F1]] {axes = array<i64: 0>, keepdims = false} : (tensor<512xf32>) -> tensor<f32>
// FLAT: weft.reshape %[[S]] : (tensor<f32>) -> tensor<1x1xf32>
// FLAT: weft.reduce sum %{{.*}} {axes = array<i64: 1>, keepdims = false} : (tensor<4x128xf32>) -> tensor<4xf32>
// CHECK-LABEL: func.func @full_reductions
// CHECK: weft.reduce max %{{.*}} {axes = array<i64>, keepdims = false} : (tensor<4x128xf32>) -> tensor<f32>
func.func @full_reductions(%x: tensor<4x128xf32>) -> (tensor<f32>, tensor<1x1xf32>, tensor<4xf32>) {
  %0 = weft.reduce max %x {axes = array<i64>, keepdims = false} : (tensor<4x128xf32>) -> tensor<f32>
  %1 = weft.reduce mean %x {axes = array<i64: 0, 1>, keepdims = true} : (tensor<4x128xf32>) -> tensor<1x1xf32>
  %2 = weft.reduce sum %x {axes = array<i64: 1>, keepdims = false} : (tensor<4x128xf32>) -> tensor<4xf32>
  return %0, %1, %2 : tensor<f32>, tensor<1x1xf32>, tensor<4xf32>
}
