// RUN: weft-opt %s | weft-opt | FileCheck %s
// RUN: weft-opt %s -mlir-print-op-generic | weft-opt | FileCheck %s

// Round-trip of every weft op: custom assembly, enum keywords, explicit
// attributes, dispatch regions and dispatch_call, host control flow (if,
// trap, loop).

// CHECK-LABEL: func.func @constant
func.func @constant() -> (tensor<4x4xf32>, tensor<2xi64>) {
  // CHECK: weft.constant dense<1.000000e+00> : tensor<4x4xf32>
  %0 = weft.constant dense<1.0> : tensor<4x4xf32>
  // CHECK: weft.constant dense<[3, -1]> : tensor<2xi64>
  %1 = weft.constant dense<[3, -1]> : tensor<2xi64>
  return %0, %1 : tensor<4x4xf32>, tensor<2xi64>
}

// CHECK-LABEL: func.func @unary
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x3xi1>)
func.func @unary(%x: tensor<2x3xf32>, %b: tensor<2x3xi1>) {
  // CHECK: weft.relu %[[X]] : tensor<2x3xf32>
  %0 = weft.relu %x : tensor<2x3xf32>
  // CHECK: weft.sigmoid %[[X]] : tensor<2x3xf32>
  %1 = weft.sigmoid %x : tensor<2x3xf32>
  // CHECK: weft.tanh %[[X]] : tensor<2x3xf32>
  %2 = weft.tanh %x : tensor<2x3xf32>
  // CHECK: weft.exp %[[X]] : tensor<2x3xf32>
  %3 = weft.exp %x : tensor<2x3xf32>
  // CHECK: weft.log %[[X]] : tensor<2x3xf32>
  %4 = weft.log %x : tensor<2x3xf32>
  // CHECK: weft.sqrt %[[X]] : tensor<2x3xf32>
  %5 = weft.sqrt %x : tensor<2x3xf32>
  // CHECK: weft.neg %[[X]] : tensor<2x3xf32>
  %6 = weft.neg %x : tensor<2x3xf32>
  // CHECK: weft.abs %[[X]] : tensor<2x3xf32>
  %7 = weft.abs %x : tensor<2x3xf32>
  // CHECK: weft.reciprocal %[[X]] : tensor<2x3xf32>
  %8 = weft.reciprocal %x : tensor<2x3xf32>
  // CHECK: weft.floor %[[X]] : tensor<2x3xf32>
  %9 = weft.floor %x : tensor<2x3xf32>
  // CHECK: weft.ceil %[[X]] : tensor<2x3xf32>
  %10 = weft.ceil %x : tensor<2x3xf32>
  // CHECK: weft.round %[[X]] : tensor<2x3xf32>
  %11 = weft.round %x : tensor<2x3xf32>
  // CHECK: weft.sin %[[X]] : tensor<2x3xf32>
  %12 = weft.sin %x : tensor<2x3xf32>
  // CHECK: weft.cos %[[X]] : tensor<2x3xf32>
  %13 = weft.cos %x : tensor<2x3xf32>
  // CHECK: weft.tan %[[X]] : tensor<2x3xf32>
  %14 = weft.tan %x : tensor<2x3xf32>
  // CHECK: weft.atan %[[X]] : tensor<2x3xf32>
  %15 = weft.atan %x : tensor<2x3xf32>
  // CHECK: weft.asin %[[X]] : tensor<2x3xf32>
  %a0 = weft.asin %x : tensor<2x3xf32>
  // CHECK: weft.acos %[[X]] : tensor<2x3xf32>
  %a1 = weft.acos %x : tensor<2x3xf32>
  // CHECK: weft.asinh %[[X]] : tensor<2x3xf32>
  %a2 = weft.asinh %x : tensor<2x3xf32>
  // CHECK: weft.acosh %[[X]] : tensor<2x3xf32>
  %a3 = weft.acosh %x : tensor<2x3xf32>
  // CHECK: weft.atanh %[[X]] : tensor<2x3xf32>
  %a4 = weft.atanh %x : tensor<2x3xf32>
  // CHECK: weft.sinh %[[X]] : tensor<2x3xf32>
  %16 = weft.sinh %x : tensor<2x3xf32>
  // CHECK: weft.cosh %[[X]] : tensor<2x3xf32>
  %17 = weft.cosh %x : tensor<2x3xf32>
  // CHECK: weft.erf %[[X]] : tensor<2x3xf32>
  %18 = weft.erf %x : tensor<2x3xf32>
  // CHECK: weft.sign %[[X]] : tensor<2x3xf32>
  %19 = weft.sign %x : tensor<2x3xf32>
  // CHECK: weft.softplus %[[X]] : tensor<2x3xf32>
  %20 = weft.softplus %x : tensor<2x3xf32>
  // CHECK: weft.softsign %[[X]] : tensor<2x3xf32>
  %21 = weft.softsign %x : tensor<2x3xf32>
  // CHECK: weft.not %[[B]] : tensor<2x3xi1>
  %22 = weft.not %b : tensor<2x3xi1>
  // CHECK: weft.identity %[[X]] : tensor<2x3xf32>
  %23 = weft.identity %x : tensor<2x3xf32>
  return
}

// CHECK-LABEL: func.func @activation
func.func @activation(%x: tensor<8xf32>) {
  // CHECK: weft.activation leaky_relu %{{.*}} {alpha = 1.000000e-01 : f32, beta = 0.000000e+00 : f32} : tensor<8xf32>
  %0 = weft.activation leaky_relu %x {alpha = 0.1 : f32, beta = 0.0 : f32} : tensor<8xf32>
  // CHECK: weft.activation elu
  %1 = weft.activation elu %x {alpha = 1.0 : f32, beta = 0.0 : f32} : tensor<8xf32>
  // CHECK: weft.activation selu %{{.*}} {alpha = 1.67326319 : f32, beta = 1.05070102 : f32}
  %2 = weft.activation selu %x {alpha = 1.67326319 : f32, beta = 1.05070102 : f32} : tensor<8xf32>
  // CHECK: weft.activation hard_sigmoid %{{.*}} {alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32}
  %3 = weft.activation hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<8xf32>
  // CHECK: weft.activation celu
  %4 = weft.activation celu %x {alpha = 1.0 : f32, beta = 0.0 : f32} : tensor<8xf32>
  // CHECK: weft.activation thresholded_relu
  %5 = weft.activation thresholded_relu %x {alpha = 1.0 : f32, beta = 0.0 : f32} : tensor<8xf32>
  // CHECK: weft.activation hard_swish
  %6 = weft.activation hard_swish %x {alpha = 0.0 : f32, beta = 0.0 : f32} : tensor<8xf32>
  // CHECK: weft.activation shrink %{{.*}} {alpha = 0.000000e+00 : f32, beta = 5.000000e-01 : f32}
  %7 = weft.activation shrink %x {alpha = 0.0 : f32, beta = 0.5 : f32} : tensor<8xf32>
  return
}

// CHECK-LABEL: func.func @clip_cast
func.func @clip_cast(%x: tensor<8xf32>) -> tensor<8xi32> {
  // CHECK: weft.clip %{{.*}} {max = 6.000000e+00 : f32, min = 0.000000e+00 : f32} : tensor<8xf32>
  %0 = weft.clip %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<8xf32>
  // CHECK: weft.cast %{{.*}} : tensor<8xf32> to tensor<8xi32>
  %1 = weft.cast %0 : tensor<8xf32> to tensor<8xi32>
  // CHECK: weft.cast %{{.*}} {no_saturate} : tensor<8xf32> to tensor<8xf8E5M2>
  %f8 = weft.cast %0 {no_saturate} : tensor<8xf32> to tensor<8xf8E5M2>
  return %1 : tensor<8xi32>
}

// CHECK-LABEL: func.func @binary
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[R:.*]]: tensor<3xf32>, %[[I:.*]]: tensor<2x3xi1>)
func.func @binary(%a: tensor<2x3xf32>, %r: tensor<3xf32>, %i: tensor<2x3xi1>) {
  // CHECK: weft.add %[[A]], %[[R]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = weft.add %a, %r : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: weft.sub %[[R]], %[[A]] : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = weft.sub %r, %a : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: weft.mul %[[A]], %[[A]] : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = weft.mul %a, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: weft.div
  %3 = weft.div %a, %r : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: weft.pow
  %4 = weft.pow %a, %r : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: weft.max
  %5 = weft.max %a, %r : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: weft.min
  %6 = weft.min %a, %r : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: weft.prelu
  %7 = weft.prelu %a, %r : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: weft.and %[[I]], %[[I]] : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %8 = weft.and %i, %i : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK: weft.or
  %9 = weft.or %i, %i : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK: weft.xor
  %10 = weft.xor %i, %i : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK: weft.fmod %[[A]], %[[R]] : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %11 = weft.fmod %a, %r : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// CHECK-LABEL: func.func @integer_binary
func.func @integer_binary(%a: tensor<2x3xi32>, %u: tensor<4xui8>, %s: tensor<1xui8>) {
  // CHECK: weft.mod %{{.*}}, %{{.*}} : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
  %0 = weft.mod %a, %a : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
  // CHECK: weft.shl %{{.*}}, %{{.*}} : (tensor<4xui8>, tensor<1xui8>) -> tensor<4xui8>
  %1 = weft.shl %u, %s : (tensor<4xui8>, tensor<1xui8>) -> tensor<4xui8>
  // CHECK: weft.shr %{{.*}}, %{{.*}} : (tensor<4xui8>, tensor<1xui8>) -> tensor<4xui8>
  %2 = weft.shr %u, %s : (tensor<4xui8>, tensor<1xui8>) -> tensor<4xui8>
  return
}

// CHECK-LABEL: func.func @pow_mixed
func.func @pow_mixed(%a: tensor<4xf32>, %e: tensor<1xi64>) -> tensor<4xf32> {
  // CHECK: weft.pow %{{.*}}, %{{.*}} : (tensor<4xf32>, tensor<1xi64>) -> tensor<4xf32>
  %0 = weft.pow %a, %e : (tensor<4xf32>, tensor<1xi64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// CHECK-LABEL: func.func @compare_where
func.func @compare_where(%a: tensor<2x3xf32>, %b: tensor<1x3xf32>) -> tensor<2x3xf32> {
  // CHECK: weft.compare eq %{{.*}} : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  %0 = weft.compare eq %a, %b : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  // CHECK: weft.compare lt
  %1 = weft.compare lt %a, %b : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  // CHECK: weft.compare le
  %2 = weft.compare le %a, %b : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  // CHECK: weft.compare gt
  %3 = weft.compare gt %a, %b : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  // CHECK: weft.compare ge
  %4 = weft.compare ge %a, %b : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  // CHECK: weft.where %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  %5 = weft.where %0, %a, %b : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  return %5 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @contractions
func.func @contractions(%a: tensor<2x1x8x4xf32>, %b: tensor<3x4x5xf32>,
                        %g: tensor<4x8xf32>, %h: tensor<6x4xf32>, %c: tensor<6xf32>) {
  // CHECK: weft.matmul %{{.*}}, %{{.*}} : (tensor<2x1x8x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x8x5xf32>
  %0 = weft.matmul %a, %b : (tensor<2x1x8x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x8x5xf32>
  // CHECK: weft.gemm %{{.*}}, %{{.*}}, %{{.*}} {alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, trans_a = true, trans_b = true} : (tensor<4x8xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<8x6xf32>
  %1 = weft.gemm %g, %h, %c {alpha = 0.5 : f32, beta = 2.0 : f32, trans_a = true, trans_b = true} : (tensor<4x8xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<8x6xf32>
  // CHECK: weft.gemm %{{[^,]*}}, %{{[^,]*}} {alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = false, trans_b = false} : (tensor<6x4xf32>, tensor<4x8xf32>) -> tensor<6x8xf32>
  %2 = weft.gemm %h, %g {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = false} : (tensor<6x4xf32>, tensor<4x8xf32>) -> tensor<6x8xf32>
  return
}

// The integer convolution: uint8 x int8 -> i32, NCHW or channels-last with
// the rank-6 dot-product filter [F/B, KH, KW, C/4, B, 4].
// CHECK-LABEL: func.func @integer_conv
func.func @integer_conv(%x: tensor<1x8x6x6xui8>, %w: tensor<16x8x3x3xi8>,
                        %xc: tensor<1x6x6x8xui8>, %wb: tensor<1x3x3x2x16x4xi8>) {
  // CHECK: weft.conv {{.*}} : (tensor<1x8x6x6xui8>, tensor<16x8x3x3xi8>) -> tensor<1x16x4x4xi32>
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x8x6x6xui8>, tensor<16x8x3x3xi8>) -> tensor<1x16x4x4xi32>
  // CHECK: weft.conv {{.*}}channels_last{{.*}} : (tensor<1x6x6x8xui8>, tensor<1x3x3x2x16x4xi8>) -> tensor<1x4x4x1x16xi32>
  %1 = weft.conv %xc, %wb {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64, channels_last} : (tensor<1x6x6x8xui8>, tensor<1x3x3x2x16x4xi8>) -> tensor<1x4x4x1x16xi32>
  return
}

// A depthwise integer convolution: NCHW [C, 1, KH, KW] or channels-last
// [KH, KW, 1, C] filter, group C.
// CHECK-LABEL: func.func @integer_depthwise
func.func @integer_depthwise(%x: tensor<1x8x6x6xui8>, %w: tensor<8x1x3x3xi8>,
                             %xc: tensor<1x6x6x8xui8>, %wc: tensor<3x3x1x8xi8>) {
  // CHECK: weft.conv {{.*}}group = 8 : i64{{.*}} : (tensor<1x8x6x6xui8>, tensor<8x1x3x3xi8>) -> tensor<1x8x4x4xi32>
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 8 : i64} : (tensor<1x8x6x6xui8>, tensor<8x1x3x3xi8>) -> tensor<1x8x4x4xi32>
  // CHECK: weft.conv {{.*}}channels_last{{.*}} : (tensor<1x6x6x8xui8>, tensor<3x3x1x8xi8>) -> tensor<1x4x4x8xi32>
  %1 = weft.conv %xc, %wc {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 8 : i64, channels_last} : (tensor<1x6x6x8xui8>, tensor<3x3x1x8xi8>) -> tensor<1x4x4x8xi32>
  return
}

// A grouped channels-last convolution with a blocked filter
// [F/B, KH, KW, C/G, B]: every block of B output channels in one group.
// CHECK-LABEL: func.func @grouped_blocked_conv
func.func @grouped_blocked_conv(%x: tensor<1x6x6x32xf32>, %w: tensor<4x3x3x8x16xf32>) {
  // CHECK: weft.conv {{.*}}group = 4 : i64{{.*}} : (tensor<1x6x6x32xf32>, tensor<4x3x3x8x16xf32>) -> tensor<1x4x4x4x16xf32>
  %0 = weft.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 4 : i64, channels_last} : (tensor<1x6x6x32xf32>, tensor<4x3x3x8x16xf32>) -> tensor<1x4x4x4x16xf32>
  return
}

// CHECK-LABEL: func.func @nn
func.func @nn(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>, %bias: tensor<6xf32>,
              %p: tensor<4xf32>) {
  // CHECK: weft.conv %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x4x4xf32>
  %0 = weft.conv %x, %w, %bias {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x4x4xf32>
  // CHECK: weft.conv %{{[^,]*}}, %{{[^,]*}} {dilations = array<i64: 2, 2>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x4x4xf32>
  %w1 = weft.constant dense<0.5> : tensor<6x4x3x3xf32>
  %1 = weft.conv %x, %w1 {strides = array<i64: 1, 1>, dilations = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x4x4xf32>
  // CHECK: weft.pool max %{{.*}} {ceil_mode = true, count_include_pad = false, dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  %2 = weft.pool max %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = true, count_include_pad = false} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  // CHECK: weft.pool avg %{{.*}} {ceil_mode = false, count_include_pad = true, {{.*}}} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %3 = weft.pool avg %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, count_include_pad = true} : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: weft.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 9.99999974E-6 : f32} : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %4 = weft.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-5 : f32} : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: weft.softmax %{{.*}} {axis = 1 : i64, log = false} : tensor<1x4x8x8xf32>
  %5 = weft.softmax %x {axis = 1 : i64, log = false} : tensor<1x4x8x8xf32>
  // CHECK: weft.softmax %{{.*}} {axis = 3 : i64, log = true} : tensor<1x4x8x8xf32>
  %6 = weft.softmax %x {axis = 3 : i64, log = true} : tensor<1x4x8x8xf32>
  // CHECK: weft.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<1x4x8x8xf32>, tensor<8xf32>, tensor<1x8xf32>) -> tensor<1x4x8x8xf32>
  %g = arith.constant dense<1.0> : tensor<8xf32>
  %b = arith.constant dense<0.5> : tensor<1x8xf32>
  %7 = weft.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-5 : f32} : (tensor<1x4x8x8xf32>, tensor<8xf32>, tensor<1x8xf32>) -> tensor<1x4x8x8xf32>
  // CHECK: weft.layer_norm %{{.*}}, %{{.*}} {axis = 1 : i64, epsilon = 1.000000e-03 : f32} : (tensor<1x4x8x8xf32>, tensor<8xf32>) -> tensor<1x4x8x8xf32>
  %8 = weft.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-3 : f32} : (tensor<1x4x8x8xf32>, tensor<8xf32>) -> tensor<1x4x8x8xf32>
  return
}

// CHECK-LABEL: func.func @reduce
func.func @reduce(%x: tensor<2x3x4xf32>) {
  // CHECK: weft.reduce sum %{{.*}} {axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %0 = weft.reduce sum %x {axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  // CHECK: weft.reduce mean %{{.*}} {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %1 = weft.reduce mean %x {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  // CHECK: weft.reduce max %{{.*}} {axes = array<i64>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<f32>
  %2 = weft.reduce max %x {axes = array<i64>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<f32>
  // CHECK: weft.reduce min
  %3 = weft.reduce min %x {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  // CHECK: weft.reduce prod
  %4 = weft.reduce prod %x {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  // CHECK: weft.reduce l1
  %5 = weft.reduce l1 %x {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  // CHECK: weft.reduce l2
  %6 = weft.reduce l2 %x {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  // CHECK: weft.reduce log_sum %
  %7 = weft.reduce log_sum %x {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  // CHECK: weft.reduce log_sum_exp %
  %8 = weft.reduce log_sum_exp %x {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  // CHECK: weft.reduce sum_square %
  %9 = weft.reduce sum_square %x {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  return
}

// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>) {
  // CHECK: weft.reshape %{{.*}} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %0 = weft.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  // CHECK: weft.transpose %{{.*}} {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %1 = weft.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  // CHECK: weft.concat %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x4xf32>) -> tensor<2x11x4xf32>
  %2 = weft.concat %x, %y, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x4xf32>) -> tensor<2x11x4xf32>
  // CHECK: weft.pad %{{.*}} {high = array<i64: 0, 2, 1>, low = array<i64: 1, 0, 1>, value = -1.500000e+00 : f32} : (tensor<2x3x4xf32>) -> tensor<3x5x6xf32>
  %3 = weft.pad %x {low = array<i64: 1, 0, 1>, high = array<i64: 0, 2, 1>, value = -1.5 : f32} : (tensor<2x3x4xf32>) -> tensor<3x5x6xf32>
  // CHECK: weft.slice %{{.*}} {sizes = array<i64: 1, 2, 2>, starts = array<i64: 1, 2, 0>, steps = array<i64: 1, -1, 2>} : (tensor<2x3x4xf32>) -> tensor<1x2x2xf32>
  %4 = weft.slice %x {starts = array<i64: 1, 2, 0>, sizes = array<i64: 1, 2, 2>, steps = array<i64: 1, -1, 2>} : (tensor<2x3x4xf32>) -> tensor<1x2x2xf32>
  return
}

// CHECK-LABEL: func.func @dispatch
// CHECK-SAME: (%[[X:.*]]: tensor<1x8xf32>, %[[W:.*]]: tensor<8x4xf32>)
func.func @dispatch(%x: tensor<1x8xf32>, %w: tensor<8x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
  // CHECK: %[[D:.*]]:2 = weft.dispatch(%[[X]], %[[W]]) {result_offsets = array<i64: 0, -1>} : (tensor<1x8xf32>, tensor<8x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
  // CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<1x8xf32>, %[[B:.*]]: tensor<8x4xf32>):
  // CHECK-NEXT:   %[[M:.*]] = weft.matmul %[[A]], %[[B]] : (tensor<1x8xf32>, tensor<8x4xf32>) -> tensor<1x4xf32>
  // CHECK-NEXT:   %[[R:.*]] = weft.relu %[[M]] : tensor<1x4xf32>
  // CHECK-NEXT:   weft.yield %[[M]], %[[R]] : tensor<1x4xf32>, tensor<1x4xf32>
  // CHECK-NEXT: }
  %0:2 = weft.dispatch(%x, %w) {result_offsets = array<i64: 0, -1>} : (tensor<1x8xf32>, tensor<8x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
  ^bb0(%a: tensor<1x8xf32>, %b: tensor<8x4xf32>):
    %m = weft.matmul %a, %b : (tensor<1x8xf32>, tensor<8x4xf32>) -> tensor<1x4xf32>
    %r = weft.relu %m : tensor<1x4xf32>
    weft.yield %m, %r : tensor<1x4xf32>, tensor<1x4xf32>
  }
  // CHECK: return %[[D]]#0, %[[D]]#1
  return %0#0, %0#1 : tensor<1x4xf32>, tensor<1x4xf32>
}

// A dispatch with no inputs (its body makes a constant) and no results.
// CHECK-LABEL: func.func @dispatch_edge
func.func @dispatch_edge() -> tensor<4xf32> {
  // CHECK: weft.dispatch() : () -> tensor<4xf32> {
  // CHECK-NEXT: weft.constant dense<2.000000e+00> : tensor<4xf32>
  %0 = weft.dispatch() : () -> tensor<4xf32> {
    %c = weft.constant dense<2.0> : tensor<4xf32>
    %r = weft.identity %c : tensor<4xf32>
    weft.yield %r : tensor<4xf32>
  }
  // The empty yield is the implicit terminator and is elided.
  // CHECK: weft.dispatch(%{{.*}}) : (tensor<4xf32>) -> () {
  // CHECK-NEXT: ^bb0(%{{.*}}: tensor<4xf32>):
  // CHECK-NEXT: }
  weft.dispatch(%0) : (tensor<4xf32>) -> () {
  ^bb0(%a: tensor<4xf32>):
    weft.yield
  }
  return %0 : tensor<4xf32>
}

// CHECK-LABEL: func.func @dispatch_call
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
func.func @dispatch_call(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: %[[R:.*]] = weft.dispatch_call @main_dispatch_0(%[[X]]) {result_offsets = array<i64: -1>} : (tensor<4xf32>) -> tensor<4xf32>
  %0 = weft.dispatch_call @main_dispatch_0(%x) {result_offsets = array<i64: -1>} : (tensor<4xf32>) -> tensor<4xf32>
  // CHECK: weft.dispatch_call @side_effect() : () -> ()
  weft.dispatch_call @side_effect() : () -> ()
  // CHECK: return %[[R]]
  return %0 : tensor<4xf32>
}

// Integer bounds are exact at every width; unsigned types keep their
// signedness in the dialect.
// CHECK-LABEL: func.func @clip_int_bounds
func.func @clip_int_bounds(%x: tensor<4xi64>, %u: tensor<4xui8>) -> (tensor<4xi64>, tensor<4xui8>) {
  // CHECK: weft.clip %{{.*}} {max = 9223372036854775807 : i64, min = -9223372036854775808 : i64} : tensor<4xi64>
  %0 = weft.clip %x {min = -9223372036854775808 : i64, max = 9223372036854775807 : i64} : tensor<4xi64>
  // CHECK: weft.clip %{{.*}} {max = 255 : ui8, min = 200 : ui8} : tensor<4xui8>
  %1 = weft.clip %u {min = 200 : ui8, max = 255 : ui8} : tensor<4xui8>
  return %0, %1 : tensor<4xi64>, tensor<4xui8>
}

// CHECK-LABEL: func.func @gathers
func.func @gathers(%x: tensor<5x3xf32>, %i: tensor<2x2xi64>, %j: tensor<4xi32>) {
  // CHECK: weft.gather %{{.*}}[%{{.*}}] {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2x2xi64>) -> tensor<2x2x3xf32>
  %0 = weft.gather %x[%i] {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2x2xi64>) -> tensor<2x2x3xf32>
  // CHECK: weft.gather %{{.*}}[%{{.*}}] {axis = 1 : i64} : (tensor<5x3xf32>, tensor<4xi32>) -> tensor<5x4xf32>
  %1 = weft.gather %x[%j] {axis = 1 : i64} : (tensor<5x3xf32>, tensor<4xi32>) -> tensor<5x4xf32>
  // CHECK: weft.gather_elements %{{.*}}[%{{.*}}] {axis = 1 : i64} : (tensor<5x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  %2 = weft.gather_elements %x[%i] {axis = 1 : i64} : (tensor<5x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  // CHECK: weft.gather_nd %{{.*}}[%{{.*}}] {batch_dims = 0 : i64} : (tensor<5x3xf32>, tensor<2x2xi64>) -> tensor<2xf32>
  %3 = weft.gather_nd %x[%i] {batch_dims = 0 : i64} : (tensor<5x3xf32>, tensor<2x2xi64>) -> tensor<2xf32>
  return
}

// CHECK-LABEL: func.func @arg_extremes
func.func @arg_extremes(%x: tensor<3x5x4xf32>) {
  // CHECK: weft.arg_max %{{.*}} {axis = 1 : i64, select_last_index = false} : (tensor<3x5x4xf32>) -> tensor<3x4xi64>
  %0 = weft.arg_max %x {axis = 1 : i64, select_last_index = false} : (tensor<3x5x4xf32>) -> tensor<3x4xi64>
  // CHECK: weft.arg_min %{{.*}} {axis = 2 : i64, select_last_index = true} : (tensor<3x5x4xf32>) -> tensor<3x5xi64>
  %1 = weft.arg_min %x {axis = 2 : i64, select_last_index = true} : (tensor<3x5x4xf32>) -> tensor<3x5xi64>
  return
}

// CHECK-LABEL: func.func @scatter_and_top_k
func.func @scatter_and_top_k(%x: tensor<5x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>,
                             %e: tensor<2x3xi32>) {
  // CHECK: weft.scatter_nd add %{{.*}}[%{{.*}}], %{{.*}} : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<5x3xf32>
  %0 = weft.scatter_nd add %x[%i], %u : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<5x3xf32>
  // CHECK: weft.scatter_elements none %{{.*}}[%{{.*}}], %{{.*}} {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2x3xi32>, tensor<2x3xf32>) -> tensor<5x3xf32>
  %1 = weft.scatter_elements none %x[%e], %u {axis = 0 : i64} : (tensor<5x3xf32>, tensor<2x3xi32>, tensor<2x3xf32>) -> tensor<5x3xf32>
  // CHECK: weft.top_k %{{.*}} {axis = 0 : i64, k = 2 : i64, largest = true} : (tensor<5x3xf32>) -> tensor<2x3xi64>
  %2 = weft.top_k %x {axis = 0 : i64, k = 2 : i64, largest = true} : (tensor<5x3xf32>) -> tensor<2x3xi64>
  return
}

// CHECK-LABEL: func.func @run_time_sizes
func.func @run_time_sizes(%x: tensor<3x4xf32>, %b: tensor<1x6x4xf32>, %s: tensor<1x2x6xf32>,
                          %m: tensor<i64>, %t: tensor<f32>, %p: tensor<2x12xi64>, %n: tensor<i64>) {
  // CHECK: weft.non_zero %{{.*}} : (tensor<3x4xf32>) -> tensor<3x12xi64>
  %0 = weft.non_zero %x : (tensor<3x4xf32>) -> tensor<3x12xi64>
  // CHECK: weft.non_max_suppression %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {bound_per_class = 2 : i64, center_point_box = false} : (tensor<1x6x4xf32>, tensor<1x2x6xf32>, tensor<i64>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<5x3xi64>
  %1 = weft.non_max_suppression %b, %s, %m, %m, %t, %t {bound_per_class = 2 : i64, center_point_box = false} : (tensor<1x6x4xf32>, tensor<1x2x6xf32>, tensor<i64>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<5x3xi64>
  // CHECK: weft.compact %{{.*}}[%{{.*}}] {dims = array<i64: 1>} : (tensor<2x12xi64>, tensor<i64>) -> tensor<2x12xi64>
  %2 = weft.compact %p[%n] {dims = array<i64: 1>} : (tensor<2x12xi64>, tensor<i64>) -> tensor<2x12xi64>
  // CHECK: weft.unique %{{.*}} {axis = 1 : i64, sorted = true} : (tensor<3x4xf32>) -> tensor<4x4xi64>
  %3 = weft.unique %x {axis = 1 : i64, sorted = true} : (tensor<3x4xf32>) -> tensor<4x4xi64>
  // CHECK: weft.non_zero %{{.*}}[%{{.*}}] {dims = array<i64: 1>} : (tensor<2x12xi64>, tensor<i64>) -> tensor<3x24xi64>
  %4 = weft.non_zero %p[%n] {dims = array<i64: 1>} : (tensor<2x12xi64>, tensor<i64>) -> tensor<3x24xi64>
  return
}

// CHECK-LABEL: func.func @host_control_flow
func.func @host_control_flow(%c: tensor<i1>, %m: tensor<i64>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<3x4xf32>) {
  // CHECK: weft.if %{{.*}} : tensor<i1> -> tensor<4xf32> {
  // CHECK: weft.yield %{{.*}} : tensor<4xf32>
  // CHECK: } else {
  // CHECK: weft.trap "not for these shapes" : tensor<4xf32>
  %0 = weft.if %c : tensor<i1> -> tensor<4xf32> {
    %n = weft.neg %x : tensor<4xf32>
    weft.yield %n : tensor<4xf32>
  } else {
    %t = weft.trap "not for these shapes" : tensor<4xf32>
    weft.yield %t : tensor<4xf32>
  }
  // CHECK: weft.loop(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NEXT: ^bb0(%{{.*}}: tensor<i64>, %[[CI:.*]]: tensor<i1>, %[[A:.*]]: tensor<4xf32>):
  // CHECK: weft.yield %[[CI]], %{{.*}} : tensor<i1>, tensor<4xf32>
  %1 = weft.loop(%m, %c, %x) : (tensor<i64>, tensor<i1>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %a: tensor<4xf32>):
    %s = weft.add %a, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    weft.yield %ci, %s : tensor<i1>, tensor<4xf32>
  }
  // A scan result: one slice per iteration of a constant trip count.
  // CHECK: weft.loop(%{{.*}}, %{{.*}}) : (tensor<i64>, tensor<i1>) -> tensor<3x4xf32> {
  %three = weft.constant dense<3> : tensor<i64>
  %2 = weft.loop(%three, %c) : (tensor<i64>, tensor<i1>) -> tensor<3x4xf32> {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>):
    weft.yield %ci, %x : tensor<i1>, tensor<4xf32>
  }
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<3x4xf32>
}
