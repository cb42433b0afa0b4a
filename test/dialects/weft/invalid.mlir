// RUN: weft-opt %s -split-input-file -verify-diagnostics

// One case per verifier or shape-inference error of the weft dialect.
// Shape-inference failures report the reason, then "failed to infer
// returned types", both at the op.

func.func @clip_min_above_max(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.clip' op min 6.000000e+00 is greater than max 0.000000e+00}}
  %0 = weft.clip %x {min = 6.0 : f32, max = 0.0 : f32} : tensor<4xf32>
  return
}

// -----

func.func @clip_unsigned_min_above_max(%x: tensor<4xui8>) {
  // expected-error @below {{'weft.clip' op min 200 is greater than max 100}}
  %0 = weft.clip %x {min = 200 : ui8, max = 100 : ui8} : tensor<4xui8>
  return
}

// -----

func.func @clip_bound_type(%x: tensor<4xi64>) {
  // expected-error @below {{'weft.clip' op bounds must have the element type 'i64', got 'f64' and 'f64'}}
  %0 = weft.clip %x {min = 0.0 : f64, max = 1.0 : f64} : tensor<4xi64>
  return
}

// -----

func.func @pad_value_type(%x: tensor<2xi64>) {
  // expected-error @below {{'weft.pad' op pad value must be a scalar of the element type 'i64', got 0.000000e+00 : f32}}
  %0 = weft.pad %x {low = array<i64: 1>, high = array<i64: 1>, value = 0.0 : f32} : (tensor<2xi64>) -> tensor<4xi64>
  return
}

// -----

func.func @cast_shape(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.cast' op all non-scalar operands/results must have the same shape}}
  %0 = weft.cast %x : tensor<4xf32> to tensor<2xi32>
  return
}

// -----

func.func @cast_no_saturate_not_f8(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.cast' op no_saturate needs an 8-bit float result}}
  %0 = weft.cast %x {no_saturate} : tensor<4xf32> to tensor<4xi8>
  return
}

// -----

func.func @constant_type() {
  // expected-error @below {{'weft.constant' op failed to verify that all of {value, result} have same type}}
  %0 = "weft.constant"() {value = dense<1.0> : tensor<4xf32>} : () -> tensor<2xf32>
  return
}

// -----

func.func @unary_type_mismatch(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.relu' op requires the same type for all operands and results}}
  %0 = "weft.relu"(%x) : (tensor<4xf32>) -> tensor<4xf16>
  return
}

// -----

func.func @add_not_broadcastable(%x: tensor<2x3xf32>, %y: tensor<2xf32>) {
  // expected-error @below {{operands are not broadcast-compatible}}
  // expected-error @below {{'weft.add' op failed to infer returned types}}
  %0 = weft.add %x, %y : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @mul_element_types(%x: tensor<2x3xf32>, %y: tensor<2x3xf16>) {
  // expected-error @below {{operand element types differ}}
  // expected-error @below {{'weft.mul' op failed to infer returned types}}
  %0 = weft.mul %x, %y : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<2x3xf32>
  return
}

// -----

func.func @sub_wrong_result(%x: tensor<2x3xf32>, %y: tensor<3xf32>) {
  // expected-error @below {{'weft.sub' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  // expected-error @below {{'weft.sub' op failed to infer returned types}}
  %0 = weft.sub %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @compare_element_types(%x: tensor<4xf32>, %y: tensor<4xi32>) {
  // expected-error @below {{operand element types differ}}
  // expected-error @below {{'weft.compare' op failed to infer returned types}}
  %0 = weft.compare eq %x, %y : (tensor<4xf32>, tensor<4xi32>) -> tensor<4xi1>
  return
}

// -----

func.func @compare_result_not_i1(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.compare' op inferred type(s) 'tensor<4xi1>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @below {{'weft.compare' op failed to infer returned types}}
  %0 = weft.compare lt %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @where_condition(%c: tensor<4xf32>, %x: tensor<4xf32>) {
  // expected-error @below {{condition must be a tensor of i1}}
  // expected-error @below {{'weft.where' op failed to infer returned types}}
  %0 = weft.where %c, %x, %x : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @where_values(%c: tensor<4xi1>, %x: tensor<4xf32>, %y: tensor<4xi32>) {
  // expected-error @below {{value operand element types differ}}
  // expected-error @below {{'weft.where' op failed to infer returned types}}
  %0 = weft.where %c, %x, %y : (tensor<4xi1>, tensor<4xf32>, tensor<4xi32>) -> tensor<4xf32>
  return
}

// -----

func.func @where_broadcast(%c: tensor<3xi1>, %x: tensor<2x4xf32>) {
  // expected-error @below {{operands are not broadcast-compatible}}
  // expected-error @below {{'weft.where' op failed to infer returned types}}
  %0 = weft.where %c, %x, %x : (tensor<3xi1>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @below {{matmul contraction sizes differ}}
  // expected-error @below {{'weft.matmul' op failed to infer returned types}}
  %0 = weft.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<3xf32>, %b: tensor<3x5xf32>) {
  // expected-error @below {{matmul operands must have rank >= 2}}
  // expected-error @below {{'weft.matmul' op failed to infer returned types}}
  %0 = weft.matmul %a, %b : (tensor<3xf32>, tensor<3x5xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x2x3xf32>, %b: tensor<3x3x5xf32>) {
  // expected-error @below {{batch dimensions are not broadcast-compatible}}
  // expected-error @below {{'weft.matmul' op failed to infer returned types}}
  %0 = weft.matmul %a, %b : (tensor<2x2x3xf32>, tensor<3x3x5xf32>) -> tensor<2x2x5xf32>
  return
}

// -----

func.func @matmul_element_types(%a: tensor<2x3xf32>, %b: tensor<3x5xf16>) {
  // expected-error @below {{operand element types differ}}
  // expected-error @below {{'weft.matmul' op failed to infer returned types}}
  %0 = weft.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xf16>) -> tensor<2x5xf32>
  return
}

// -----

func.func @gemm_c_not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<3xf32>) {
  // expected-error @below {{'weft.gemm' op C does not broadcast to the result shape}}
  %0 = weft.gemm %a, %b, %c {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  return
}

// -----

// C may broadcast with the result but must not grow it.
func.func @gemm_c_larger(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<3x2x4xf32>) {
  // expected-error @below {{'weft.gemm' op C does not broadcast to the result shape}}
  %0 = weft.gemm %a, %b, %c {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<3x2x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @gemm_contraction(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @below {{gemm contraction sizes differ}}
  // expected-error @below {{'weft.gemm' op failed to infer returned types}}
  %0 = weft.gemm %a, %b {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = true} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @gemm_rank(%a: tensor<2x3xf32>, %b: tensor<1x3x4xf32>) {
  // expected-error @below {{gemm operands A and B must be 2-D}}
  // expected-error @below {{'weft.gemm' op failed to infer returned types}}
  %0 = weft.gemm %a, %b {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = false} : (tensor<2x3xf32>, tensor<1x3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @conv_group_mismatch(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>) {
  // expected-error @below {{'weft.conv' op group 3 does not divide the channels}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 3 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_group_zero(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error @below {{'weft.conv' op group 0 does not divide the channels}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 0 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_input_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<6x3x3x3xf32>) {
  // expected-error @below {{'weft.conv' op filter expects 3 input channels but the input has 4}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @below {{'weft.conv' op bias must be 1-D with one value per output channel}}
  %0 = weft.conv %x, %w, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<4xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_blocked_group_splits_block(%x: tensor<1x6x6x32xf32>, %w: tensor<2x3x3x8x32xf32>) {
  // expected-error @below {{'weft.conv' op a blocked filter's group must divide its blocks (and integer convolutions have group 1)}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 4 : i64, channels_last} : (tensor<1x6x6x32xf32>, tensor<2x3x3x8x32xf32>) -> tensor<1x4x4x2x32xf32>
  return
}

// -----

func.func @conv_integer_types(%x: tensor<1x8x6x6xi8>, %w: tensor<16x8x3x3xi8>) {
  // expected-error @below {{'weft.conv' op an integer convolution takes a ui8 input and an i8 filter}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x8x6x6xi8>, tensor<16x8x3x3xi8>) -> tensor<1x16x4x4xi32>
  return
}

// -----

func.func @conv_integer_bias(%x: tensor<1x8x6x6xui8>, %w: tensor<16x8x3x3xi8>, %b: tensor<16xi32>) {
  // expected-error @below {{'weft.conv' op an integer convolution has group 1 (or is depthwise) and no bias}}
  %0 = weft.conv %x, %w, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x8x6x6xui8>, tensor<16x8x3x3xi8>, tensor<16xi32>) -> tensor<1x16x4x4xi32>
  return
}

// -----

// Two groups of four channels: neither group 1 nor depthwise.
func.func @conv_integer_grouped(%x: tensor<1x8x6x6xui8>, %w: tensor<16x4x3x3xi8>) {
  // expected-error @below {{'weft.conv' op an integer convolution has group 1 (or is depthwise) and no bias}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 2 : i64} : (tensor<1x8x6x6xui8>, tensor<16x4x3x3xi8>) -> tensor<1x16x4x4xi32>
  return
}

// -----

func.func @conv_integer_groups_of_four(%x: tensor<1x6x6x8xui8>, %w: tensor<1x3x3x4x16x2xi8>) {
  // expected-error @below {{'weft.conv' op a rank-6 filter holds groups of 4 input channels}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64, channels_last} : (tensor<1x6x6x8xui8>, tensor<1x3x3x4x16x2xi8>) -> tensor<1x4x4x1x16xi32>
  return
}

// -----

func.func @conv_integer_channels(%x: tensor<1x6x6x8xui8>, %w: tensor<1x3x3x1x16x4xi8>) {
  // expected-error @below {{'weft.conv' op filter expects 4 input channels but the input has 8}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64, channels_last} : (tensor<1x6x6x8xui8>, tensor<1x3x3x1x16x4xi8>) -> tensor<1x4x4x1x16xi32>
  return
}

// -----

func.func @conv_stride(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error @below {{'weft.conv' op strides and dilations must be positive}}
  %0 = weft.conv %x, %w {strides = array<i64: 0, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_pad_count(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error @below {{'weft.conv' op expects 2 strides, 2 dilations and 4 pads (2-D windows only)}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_negative_pad(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error @below {{'weft.conv' op pads must be non-negative}}
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: -1, 0, 1, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @conv_wrong_result(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error @below {{'weft.conv' op inferred type(s) 'tensor<1x6x3x3xf32>' are incompatible with return type(s) of operation 'tensor<1x6x6x6xf32>'}}
  // expected-error @below {{'weft.conv' op failed to infer returned types}}
  %0 = weft.conv %x, %w {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  return
}

// -----

func.func @pool_zero_kernel(%x: tensor<1x4x8x8xf32>) {
  // expected-error @below {{'weft.pool' op kernel must hold two positive sizes}}
  %0 = weft.pool max %x {kernel = array<i64: 0, 2>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : (tensor<1x4x8x8xf32>) -> tensor<1x4x9x7xf32>
  return
}

// -----

func.func @pool_3d_kernel(%x: tensor<1x4x8x8xf32>) {
  // expected-error @below {{'weft.pool' op kernel must hold two positive sizes}}
  %0 = weft.pool avg %x {kernel = array<i64: 2, 2, 2>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : (tensor<1x4x8x8xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @pool_dilation(%x: tensor<1x4x8x8xf32>) {
  // expected-error @below {{'weft.pool' op strides and dilations must be positive}}
  %0 = weft.pool max %x {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 0>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : (tensor<1x4x8x8xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @pool_stride_count(%x: tensor<1x4x8x8xf32>) {
  // expected-error @below {{'weft.pool' op expects 2 strides, 2 dilations and 4 pads (2-D windows only)}}
  %0 = weft.pool max %x {kernel = array<i64: 2, 2>, strides = array<i64: 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : (tensor<1x4x8x8xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @pool_rank(%x: tensor<4xf32>) {
  // expected-error @below {{pool supports 2-D (rank-4 NCHW) inputs only}}
  // expected-error @below {{'weft.pool' op failed to infer returned types}}
  %0 = weft.pool max %x {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : (tensor<4xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @batch_norm_params(%x: tensor<1x3x4x4xf32>, %p: tensor<4xf32>) {
  // expected-error @below {{batch_norm parameters must be 1-D of size C}}
  // expected-error @below {{'weft.batch_norm' op failed to infer returned types}}
  %0 = weft.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f32} : (tensor<1x3x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x3x4x4xf32>
  return
}

// -----

// Batch normalization is defined on floating-point tensors only.
func.func @batch_norm_int(%x: tensor<1x3x4x4xi8>, %p: tensor<3xf32>) {
  // expected-error @below {{operand #0 must be ranked tensor of floating-point values}}
  %0 = weft.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f32} : (tensor<1x3x4x4xi8>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xi8>
  return
}

// -----

func.func @batch_norm_rank(%x: tensor<3xf32>, %p: tensor<3xf32>) {
  // expected-error @below {{batch_norm input must have rank >= 2}}
  // expected-error @below {{'weft.batch_norm' op failed to infer returned types}}
  %0 = weft.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f32} : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.softmax' op axis 2 is out of range for rank 2}}
  %0 = weft.softmax %x {axis = 2 : i64, log = false} : tensor<2x3xf32>
  return
}

// -----

// Axes are normalized by import: a negative one is rejected.
func.func @softmax_negative_axis(%x: tensor<2x3xf32>) {
  // expected-error @below {{is out of range for rank 2}}
  %0 = weft.softmax %x {axis = -1 : i64, log = true} : tensor<2x3xf32>
  return
}

// -----

func.func @layer_norm_axis(%x: tensor<2x3xf32>, %g: tensor<3xf32>) {
  // expected-error @below {{'weft.layer_norm' op axis 2 is out of range for rank 2}}
  %0 = weft.layer_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @layer_norm_scale_shape(%x: tensor<2x3xf32>, %g: tensor<4xf32>) {
  // expected-error @below {{'weft.layer_norm' op scale and bias dimensions must be 1 or those of the normalized dimensions they align with}}
  %0 = weft.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @layer_norm_scale_rank(%x: tensor<2x3xf32>, %g: tensor<2x3xf32>) {
  // expected-error @below {{'weft.layer_norm' op scale and bias must not have more dimensions than the 1 normalized ones}}
  %0 = weft.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @layer_norm_result(%x: tensor<2x3xf32>, %g: tensor<3xf32>) {
  // expected-error @below {{'weft.layer_norm' op result type must be the input type}}
  %0 = weft.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @softmax_integer(%x: tensor<4xi32>) {
  // expected-error @below {{'weft.softmax' op operand #0 must be ranked tensor of floating-point values}}
  %0 = weft.softmax %x {axis = 0 : i64, log = false} : tensor<4xi32>
  return
}

// -----

func.func @reduce_unsorted_axes(%x: tensor<2x3x4xf32>) {
  // expected-error @below {{'weft.reduce' op axes must be sorted, unique and in [0, 3)}}
  %0 = weft.reduce sum %x {axes = array<i64: 2, 0>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @reduce_repeated_axis(%x: tensor<2x3x4xf32>) {
  // expected-error @below {{'weft.reduce' op axes must be sorted, unique and in [0, 3)}}
  %0 = weft.reduce max %x {axes = array<i64: 1, 1>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @reduce_axis_out_of_range(%x: tensor<2x3x4xf32>) {
  // expected-error @below {{'weft.reduce' op axes must be sorted, unique and in [0, 3)}}
  %0 = weft.reduce mean %x {axes = array<i64: 3>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @reduce_wrong_result(%x: tensor<2x3x4xf32>) {
  // expected-error @below {{'weft.reduce' op inferred type(s) 'tensor<2x1x4xf32>' are incompatible with return type(s) of operation 'tensor<2x4xf32>'}}
  // expected-error @below {{'weft.reduce' op failed to infer returned types}}
  %0 = weft.reduce sum %x {axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @reshape_element_count(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.reshape' op cannot reshape 6 elements into 'tensor<7xf32>'}}
  %0 = weft.reshape %x : (tensor<2x3xf32>) -> tensor<7xf32>
  return
}

// -----

func.func @reshape_element_type(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.reshape' op element type must not change}}
  %0 = weft.reshape %x : (tensor<2x3xf32>) -> tensor<6xf16>
  return
}

// -----

func.func @transpose_not_permutation(%x: tensor<2x2xf32>) {
  // expected-error @below {{'weft.transpose' op perm is not a permutation}}
  %0 = weft.transpose %x {perm = array<i64: 0, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @transpose_perm_size(%x: tensor<2x2xf32>) {
  // expected-error @below {{perm size must equal the input rank}}
  // expected-error @below {{'weft.transpose' op failed to infer returned types}}
  %0 = weft.transpose %x {perm = array<i64: 0>} : (tensor<2x2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @concat_axis(%x: tensor<4xf32>) {
  // expected-error @below {{concat axis out of range}}
  // expected-error @below {{'weft.concat' op failed to infer returned types}}
  %0 = weft.concat %x, %x {axis = 1 : i64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @concat_off_axis(%x: tensor<4x2xf32>, %y: tensor<4x3xf32>) {
  // expected-error @below {{concat inputs differ off the axis}}
  // expected-error @below {{'weft.concat' op failed to infer returned types}}
  %0 = weft.concat %x, %y {axis = 0 : i64} : (tensor<4x2xf32>, tensor<4x3xf32>) -> tensor<8x2xf32>
  return
}

// -----

func.func @concat_rank(%x: tensor<4x2xf32>, %y: tensor<4xf32>) {
  // expected-error @below {{concat inputs differ in rank or type}}
  // expected-error @below {{'weft.concat' op failed to infer returned types}}
  %0 = weft.concat %x, %y {axis = 0 : i64} : (tensor<4x2xf32>, tensor<4xf32>) -> tensor<8x2xf32>
  return
}

// -----

func.func @concat_empty() {
  // expected-error @below {{concat needs at least one input}}
  // expected-error @below {{'weft.concat' op failed to infer returned types}}
  %0 = weft.concat {axis = 0 : i64} : () -> tensor<8x2xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.pad' op negative padding is not supported}}
  %0 = weft.pad %x {low = array<i64: -1, 0>, high = array<i64: 1, 0>, value = 0.0 : f32} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @pad_rank(%x: tensor<2x3xf32>) {
  // expected-error @below {{pad needs low/high per dimension}}
  // expected-error @below {{'weft.pad' op failed to infer returned types}}
  %0 = weft.pad %x {low = array<i64: 1>, high = array<i64: 1, 0>, value = 0.0 : f32} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @slice_out_of_bounds(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.slice' op slice leaves the input in dimension 1}}
  %0 = weft.slice %x {starts = array<i64: 0, 1>, sizes = array<i64: 2, 3>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @slice_negative_start(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.slice' op slice leaves the input in dimension 1}}
  %0 = weft.slice %x {starts = array<i64: 0, -1>, sizes = array<i64: 2, 1>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return
}

// -----

// A negative step walks backwards from start: 3 elements from index 1 leave
// the input.
func.func @slice_negative_step(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.slice' op slice leaves the input in dimension 1}}
  %0 = weft.slice %x {starts = array<i64: 0, 1>, sizes = array<i64: 2, 3>, steps = array<i64: 1, -1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @slice_zero_step(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.slice' op invalid step or size in dimension 1}}
  %0 = weft.slice %x {starts = array<i64: 0, 1>, sizes = array<i64: 2, 1>, steps = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return
}

// -----

func.func @slice_rank(%x: tensor<2x3xf32>) {
  // expected-error @below {{'weft.slice' op starts, sizes and steps need one entry per dimension}}
  %0 = weft.slice %x {starts = array<i64: 0>, sizes = array<i64: 2, 1>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return
}

// -----

func.func @dispatch_yield_type(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.dispatch' op yielded types must match the results}}
  %0 = weft.dispatch(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %c = weft.constant dense<1.0> : tensor<2xf32>
    weft.yield %c : tensor<2xf32>
  }
  return
}

// -----

func.func @dispatch_yield_count(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.dispatch' op yielded types must match the results}}
  %0:2 = weft.dispatch(%x) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>):
    weft.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @dispatch_argument_count(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.dispatch' op body must take one argument per input}}
  %0 = weft.dispatch(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %b: tensor<4xf32>):
    weft.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @dispatch_argument_type(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.dispatch' op body argument types must match the inputs}}
  %0 = weft.dispatch(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf16>):
    %c = weft.constant dense<1.0> : tensor<4xf32>
    weft.yield %c : tensor<4xf32>
  }
  return
}

// -----

func.func @dispatch_isolated(%x: tensor<4xf32>) {
  // expected-note @below {{required by region isolation constraints}}
  %0 = weft.dispatch() : () -> tensor<4xf32> {
    // expected-error @below {{'weft.yield' op using value defined outside the region}}
    weft.yield %x : tensor<4xf32>
  }
  return
}

// -----

func.func @yield_outside_dispatch(%x: tensor<4xf32>) {
  // expected-error @below {{'weft.yield' op expects parent op to be one of 'weft.dispatch, weft.if, weft.loop'}}
  weft.yield %x : tensor<4xf32>
}

// -----

func.func @gather_float_indices(%x: tensor<5x3xf32>, %i: tensor<2xf32>) {
  // expected-error @below {{indices must be i32 or i64}}
  %0 = weft.gather %x[%i] {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @gather_axis(%x: tensor<5x3xf32>, %i: tensor<2xi64>) {
  // expected-error @below {{axis out of range for the data's rank}}
  %0 = weft.gather %x[%i] {axis = 2 : i64} : (tensor<5x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return
}

// -----

func.func @gather_elements_rank(%x: tensor<5x3xf32>, %i: tensor<2xi64>) {
  // expected-error @below {{data and indices must have the same rank}}
  %0 = weft.gather_elements %x[%i] {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2xi64>) -> tensor<2xf32>
  return
}

// -----

func.func @gather_elements_wider(%x: tensor<5x3xf32>, %i: tensor<2x4xi64>) {
  // expected-error @below {{indices dimension 1 (4) exceeds the data's (3)}}
  %0 = weft.gather_elements %x[%i] {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2x4xi64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @gather_nd_tuple(%x: tensor<5x3xf32>, %i: tensor<2x3xi64>) {
  // expected-error @below {{the index tuple length}}
  %0 = weft.gather_nd %x[%i] {batch_dims = 0 : i64} : (tensor<5x3xf32>, tensor<2x3xi64>) -> tensor<2xf32>
  return
}

// -----

func.func @gather_nd_batch(%x: tensor<2x5x3xf32>, %i: tensor<3x1xi64>) {
  // expected-error @below {{batch dimension 0 differs between data and indices}}
  %0 = weft.gather_nd %x[%i] {batch_dims = 1 : i64} : (tensor<2x5x3xf32>, tensor<3x1xi64>) -> tensor<3x3xf32>
  return
}

// -----

func.func @arg_max_axis(%x: tensor<3x5xf32>) {
  // expected-error @below {{axis out of range for the input's rank}}
  %0 = weft.arg_max %x {axis = 2 : i64, select_last_index = false} : (tensor<3x5xf32>) -> tensor<3xi64>
  return
}

// -----

func.func @arg_min_empty(%x: tensor<3x0xf32>) {
  // expected-error @below {{the reduced axis is empty}}
  %0 = weft.arg_min %x {axis = 1 : i64, select_last_index = false} : (tensor<3x0xf32>) -> tensor<3xi64>
  return
}

// -----

func.func @scatter_nd_updates(%x: tensor<5x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) {
  // expected-error @below {{updates must have shape indices.shape[:-1] + data.shape[k:]}}
  %0 = weft.scatter_nd none %x[%i], %u : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<5x3xf32>
  return
}

// -----

func.func @scatter_nd_tuple(%x: tensor<5x3xf32>, %i: tensor<2x3xi64>, %u: tensor<2xf32>) {
  // expected-error @below {{the index tuple length}}
  %0 = weft.scatter_nd none %x[%i], %u : (tensor<5x3xf32>, tensor<2x3xi64>, tensor<2xf32>) -> tensor<5x3xf32>
  return
}

// -----

func.func @scatter_elements_shape(%x: tensor<5x3xf32>, %i: tensor<2x3xi64>, %u: tensor<2x2xf32>) {
  // expected-error @below {{updates must have the indices' shape}}
  %0 = weft.scatter_elements none %x[%i], %u {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2x3xi64>, tensor<2x2xf32>) -> tensor<5x3xf32>
  return
}

// -----

func.func @scatter_elements_type(%x: tensor<5x3xf32>, %i: tensor<2x3xi64>, %u: tensor<2x3xf16>) {
  // expected-error @below {{updates must have the data's element type}}
  %0 = weft.scatter_elements none %x[%i], %u {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2x3xi64>, tensor<2x3xf16>) -> tensor<5x3xf32>
  return
}

// -----

func.func @top_k_too_many(%x: tensor<5x3xf32>) {
  // expected-error @below {{k (6) must be in [0, 5]}}
  %0 = weft.top_k %x {axis = 0 : i64, k = 6 : i64, largest = true} : (tensor<5x3xf32>) -> tensor<6x3xi64>
  return
}

// -----

func.func @nms_bound(%b: tensor<1x6x4xf32>, %s: tensor<1x2x6xf32>, %m: tensor<i64>, %t: tensor<f32>) {
  // expected-error @below {{bound_per_class must be in [0, N]}}
  %0 = weft.non_max_suppression %b, %s, %m, %m, %t, %t {bound_per_class = 7 : i64, center_point_box = false} : (tensor<1x6x4xf32>, tensor<1x2x6xf32>, tensor<i64>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<15x3xi64>
  return
}

// -----

func.func @nms_scores(%b: tensor<1x6x4xf32>, %s: tensor<1x2x5xf32>, %m: tensor<i64>, %t: tensor<f32>) {
  // expected-error @below {{scores must be f32 [B, C, N] for boxes [B, N, 4]}}
  %0 = weft.non_max_suppression %b, %s, %m, %m, %t, %t {bound_per_class = 2 : i64, center_point_box = false} : (tensor<1x6x4xf32>, tensor<1x2x5xf32>, tensor<i64>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<5x3xi64>
  return
}

// -----

func.func @compact_dims(%p: tensor<2x12xi64>, %n: tensor<i64>) {
  // expected-error @below {{dims must be increasing dims of the input}}
  %0 = weft.compact %p[%n] {dims = array<i64: 2>} : (tensor<2x12xi64>, tensor<i64>) -> tensor<2x12xi64>
  return
}

// -----

func.func @unique_axis(%x: tensor<3x4xf32>) {
  // expected-error @below {{axis out of range for the input's rank}}
  %0 = weft.unique %x {axis = 2 : i64, sorted = true} : (tensor<3x4xf32>) -> tensor<4x4xi64>
  return
}

// -----

func.func @compact_extent(%p: tensor<2x12xi64>, %n: tensor<i32>) {
  // expected-error @below {{each extent must be an i64 scalar}}
  %0 = weft.compact %p[%n] {dims = array<i64: 1>} : (tensor<2x12xi64>, tensor<i32>) -> tensor<2x12xi64>
  return
}

// -----

func.func @loop_trip_count_type(%m: tensor<i32>, %c: tensor<i1>, %x: tensor<4xf32>) {
  // expected-error @below {{max_trips must be a tensor holding one i64, got 'tensor<i32>'}}
  %r = weft.loop(%m, %c, %x) : (tensor<i32>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %a: tensor<4xf32>):
    weft.yield %ci, %a : tensor<i1>, tensor<4xf32>
  }
  return
}

// -----

func.func @loop_carried_type_changes(%m: tensor<i64>, %c: tensor<i1>, %x: tensor<4xf32>) {
  // expected-error @below {{carried value #0 must keep the type 'tensor<4xf32>' in the body's argument, its yield and the result}}
  %r = weft.loop(%m, %c, %x) : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %a: tensor<4xf32>):
    %s = weft.slice %a {starts = array<i64: 0>, sizes = array<i64: 2>, steps = array<i64: 1>} : (tensor<4xf32>) -> tensor<2xf32>
    weft.yield %ci, %s : tensor<i1>, tensor<2xf32>
  }
  return
}

// -----

func.func @loop_body_arguments(%m: tensor<i64>, %c: tensor<i1>, %x: tensor<4xf32>) {
  // expected-error @below {{body must take the iteration, the condition and one argument per carried value}}
  %r = weft.loop(%m, %c, %x) : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%ci: tensor<i1>, %a: tensor<4xf32>):
    weft.yield %ci, %a : tensor<i1>, tensor<4xf32>
  }
  return
}

// -----

func.func @loop_scan_shape(%m: tensor<i64>, %c: tensor<i1>, %x: tensor<4xf32>) {
  // expected-error @below {{scan result #0 must stack slices of type 'tensor<4xf32>' along a new static first axis, got 'tensor<3x5xf32>'}}
  %r:2 = weft.loop(%m, %c, %x) : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> (tensor<4xf32>, tensor<3x5xf32>) {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %a: tensor<4xf32>):
    weft.yield %ci, %a, %a : tensor<i1>, tensor<4xf32>, tensor<4xf32>
  }
  return
}
