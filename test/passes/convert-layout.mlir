// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-convert-layout))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-convert-layout{filter-block=2}))' | FileCheck %s --check-prefix=BLOCK
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-convert-layout{filter-block=32}))' | FileCheck %s --check-prefix=MM

// pad -> conv 3x3 -> bias -> relu -> conv 1x1 -> residual add: both convs go
// channels-last, the bias constant is re-laid as [1,1,1,C], and only one
// transpose is left at each end of the chain.
// CHECK-LABEL: func.func @chain
// CHECK-DAG: %[[W2:.*]] = weft.constant dense<2.000000e+00> : tensor<1x1x4x4xf32>
// CHECK-DAG: %[[B:.*]] = weft.constant dense<{{\[\[\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]]]]> : tensor<1x1x1x4xf32>
// CHECK-DAG: %[[W:.*]] = weft.constant dense<1.000000e+00> : tensor<3x3x4x4xf32>
// CHECK: %[[P:.*]] = weft.pad %arg0
// CHECK: %[[T:.*]] = weft.transpose %[[P]] {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x10x10xf32>) -> tensor<1x10x10x4xf32>
// CHECK: %[[C1:.*]] = weft.conv %[[T]], %[[W]] {channels_last, {{.*}}} : (tensor<1x10x10x4xf32>, tensor<3x3x4x4xf32>) -> tensor<1x8x8x4xf32>
// CHECK: %[[A:.*]] = weft.add %[[C1]], %[[B]] : (tensor<1x8x8x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x8x8x4xf32>
// CHECK: %[[R:.*]] = weft.relu %[[A]] : tensor<1x8x8x4xf32>
// CHECK: %[[C2:.*]] = weft.conv %[[R]], %[[W2]] {channels_last, {{.*}}} : (tensor<1x8x8x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x8x8x4xf32>
// CHECK: %[[S:.*]] = weft.add %[[C2]], %[[R]] : (tensor<1x8x8x4xf32>, tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
// CHECK: %[[Y:.*]] = weft.transpose %[[S]] {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x8x8x4xf32>) -> tensor<1x4x8x8xf32>
// CHECK: return %[[Y]]
func.func @chain(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %w = weft.constant dense<1.0> : tensor<4x4x3x3xf32>
  %w2 = weft.constant dense<2.0> : tensor<4x4x1x1xf32>
  %b = weft.constant dense<[[[1.0]], [[2.0]], [[3.0]], [[4.0]]]> : tensor<4x1x1xf32>
  %p = weft.pad %x {low = array<i64: 0, 0, 1, 1>, high = array<i64: 0, 0, 1, 1>, value = 0.0 : f32} : (tensor<1x4x8x8xf32>) -> tensor<1x4x10x10xf32>
  %0 = weft.conv %p, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x10x10xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %1 = weft.add %0, %b : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
  %2 = weft.relu %1 : tensor<1x4x8x8xf32>
  %3 = weft.conv %2, %w2 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x8x8xf32>
  %4 = weft.add %3, %2 : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  return %4 : tensor<1x4x8x8xf32>
}

// -----

// Depthwise conv -> max pool -> global mean: the pool follows the conv into
// NHWC, the reduction axes move to (1, 2), and the last transpose only moves
// unit dimensions, so it is a reshape.
// CHECK-LABEL: func.func @dw_pool_mean
// CHECK: %[[W:.*]] = weft.constant dense<1.000000e+00> : tensor<3x3x1x8xf32>
// CHECK: %[[T:.*]] = weft.transpose %arg0 {perm = array<i64: 0, 2, 3, 1>}
// CHECK: %[[C:.*]] = weft.conv %[[T]], %[[W]] {channels_last, {{.*}}group = 8 : i64{{.*}}} : (tensor<1x8x8x8xf32>, tensor<3x3x1x8xf32>) -> tensor<1x6x6x8xf32>
// CHECK: %[[P:.*]] = weft.pool max %[[C]] {{{.*}}channels_last{{.*}}} : (tensor<1x6x6x8xf32>) -> tensor<1x3x3x8xf32>
// CHECK: %[[M:.*]] = weft.reduce mean %[[P]] {axes = array<i64: 1, 2>, keepdims = true} : (tensor<1x3x3x8xf32>) -> tensor<1x1x1x8xf32>
// CHECK: %[[Y:.*]] = weft.reshape %[[M]] : (tensor<1x1x1x8xf32>) -> tensor<1x8x1x1xf32>
// CHECK-NOT: weft.transpose
// CHECK: return %[[Y]]
func.func @dw_pool_mean(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x1x1xf32> {
  %w = weft.constant dense<1.0> : tensor<8x1x3x3xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 8 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x8x8xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x6x6xf32>
  %1 = weft.pool max %0 {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x6x6xf32>) -> tensor<1x8x3x3xf32>
  %2 = weft.reduce mean %1 {axes = array<i64: 2, 3>, keepdims = true} : (tensor<1x8x3x3xf32>) -> tensor<1x8x1x1xf32>
  return %2 : tensor<1x8x1x1xf32>
}

// -----

// Filters that are not constants keep NCHW: re-laying them would cost a
// transpose while the model runs. Without a filter block, neither does a
// grouped (not depthwise) convolution.
// CHECK-LABEL: func.func @grouped
// CHECK-NOT: channels_last
// CHECK-NOT: weft.transpose
// CHECK: return
func.func @grouped(%x: tensor<1x8x8x8xf32>, %w: tensor<8x8x1x1xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) {
  %g = weft.constant dense<1.0> : tensor<8x4x1x1xf32>
  %0 = weft.conv %x, %g {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x8x8xf32>, tensor<8x4x1x1xf32>) -> tensor<1x8x8x8xf32>
  %1 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  return %0, %1 : tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>
}

// -----

// With filter-block=2 the FCHW filter [2, 1, 1, 2] becomes [F/2, KH, KW, C, 2]:
// element (f, kh, kw, c) at [f / 2, kh, kw, c, f % 2]. Without the option it
// is HWCF; a single input channel makes the input's transpose a reshape.
// The blocked conv's output is blocked too, viewed as NHWC by a reshape.
// CHECK-LABEL: func.func @blocked
// CHECK: weft.constant dense<{{\[\[\[\[}}1.000000e+00, 3.000000e+00]], {{\[\[}}2.000000e+00, 4.000000e+00]]]]> : tensor<1x2x1x2xf32>
// BLOCK-LABEL: func.func @blocked
// BLOCK: %[[W:.*]] = weft.constant dense<{{\[\[\[\[\[}}1.000000e+00, 3.000000e+00]], {{\[\[}}2.000000e+00, 4.000000e+00]]]]]> : tensor<1x1x2x1x2xf32>
// BLOCK: %[[X:.*]] = weft.reshape %arg0 : (tensor<1x1x3x3xf32>) -> tensor<1x3x3x1xf32>
// BLOCK: %[[C:.*]] = weft.conv %[[X]], %[[W]] {channels_last, {{.*}}} : (tensor<1x3x3x1xf32>, tensor<1x1x2x1x2xf32>) -> tensor<1x3x2x1x2xf32>
// BLOCK: weft.reshape %[[C]] : (tensor<1x3x2x1x2xf32>) -> tensor<1x3x2x2xf32>
func.func @blocked(%x: tensor<1x1x3x3xf32>) -> tensor<1x2x3x2xf32> {
  %w = weft.constant dense<[[[[1.0, 2.0]]], [[[3.0, 4.0]]]]> : tensor<2x1x1x2xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x3x3xf32>, tensor<2x1x1x2xf32>) -> tensor<1x2x3x2xf32>
  return %0 : tensor<1x2x3x2xf32>
}

// -----

// A grouped convolution takes a blocked filter when a block divides each
// group's output channels: [F/B, KH, KW, C/G, B], block f / 2 in group
// f / 2 here, element (f, c) at [f / 2, 0, 0, c, f % 2].
// BLOCK-LABEL: func.func @grouped_blocked
// BLOCK: %[[W:.*]] = weft.constant dense<{{\[\[\[\[\[}}1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]]], {{\[\[\[\[}}5.000000e+00, 7.000000e+00], [6.000000e+00, 8.000000e+00]]]]]> : tensor<2x1x1x2x2xf32>
// BLOCK: weft.conv %{{.*}}, %[[W]] {channels_last, {{.*}}group = 2 : i64{{.*}}} : (tensor<1x3x3x4xf32>, tensor<2x1x1x2x2xf32>) -> tensor<1x3x3x2x2xf32>
func.func @grouped_blocked(%x: tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %w = weft.constant dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]], [[[5.0]], [[6.0]]], [[[7.0]], [[8.0]]]]> : tensor<4x2x1x1xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  return %0 : tensor<1x4x3x3xf32>
}

// -----

// One output channel per group is less than a block of 2: pairs of groups
// merge into one of 4 input channels whose filter is zero outside each
// channel's own group (block diagonal), group 4 -> 2.
// BLOCK-LABEL: func.func @grouped_merged
// BLOCK: %[[W:.*]] = weft.constant dense<{{\[\[\[\[\[}}1.000000e+00, 0.000000e+00], [2.000000e+00, 0.000000e+00], [0.000000e+00, 3.000000e+00], [0.000000e+00, 4.000000e+00]]]], {{\[\[\[\[}}5.000000e+00, 0.000000e+00], [6.000000e+00, 0.000000e+00], [0.000000e+00, 7.000000e+00], [0.000000e+00, 8.000000e+00]]]]]> : tensor<2x1x1x4x2xf32>
// BLOCK: weft.conv %{{.*}}, %[[W]] {channels_last, {{.*}}group = 2 : i64{{.*}}} : (tensor<1x3x3x8xf32>, tensor<2x1x1x4x2xf32>) -> tensor<1x3x3x2x2xf32>
func.func @grouped_merged(%x: tensor<1x8x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %w = weft.constant dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]], [[[5.0]], [[6.0]]], [[[7.0]], [[8.0]]]]> : tensor<4x2x1x1xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 4 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  return %0 : tensor<1x4x3x3xf32>
}

// -----

// The blocked output [N, OH, OW, F/B, B] flows through elementwise ops as
// is: the per-channel constant gets the blocked shape [1, 1, 1, 1, 2], and
// the 4-D view (a reshape, no data moved) appears only where an op needs
// it. The residual is an NCHW argument, so the transpose stops before it.
// BLOCK-LABEL: func.func @blocked_epilogue
// BLOCK-DAG: %[[B:.*]] = weft.constant dense<{{\[\[\[\[\[}}5.000000e+00, 6.000000e+00]]]]]> : tensor<1x1x1x1x2xf32>
// BLOCK: %[[C:.*]] = weft.conv {{.*}} -> tensor<1x3x2x1x2xf32>
// BLOCK: %[[A:.*]] = weft.add %[[C]], %[[B]] : (tensor<1x3x2x1x2xf32>, tensor<1x1x1x1x2xf32>) -> tensor<1x3x2x1x2xf32>
// BLOCK: %[[V:.*]] = weft.reshape %[[A]] : (tensor<1x3x2x1x2xf32>) -> tensor<1x3x2x2xf32>
// BLOCK: %[[T:.*]] = weft.transpose %[[V]] {perm = array<i64: 0, 3, 1, 2>}
// BLOCK: weft.add %[[T]], %arg1
func.func @blocked_epilogue(%x: tensor<1x1x3x3xf32>, %r: tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32> {
  %w = weft.constant dense<[[[[1.0, 2.0]]], [[[3.0, 4.0]]]]> : tensor<2x1x1x2xf32>
  %b = weft.constant dense<[[[5.0]], [[6.0]]]> : tensor<2x1x1xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x3x3xf32>, tensor<2x1x1x2xf32>) -> tensor<1x2x3x2xf32>
  %1 = weft.add %0, %b : (tensor<1x2x3x2xf32>, tensor<2x1x1xf32>) -> tensor<1x2x3x2xf32>
  %2 = weft.add %1, %r : (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x3x2xf32>
  %3 = weft.relu %2 : tensor<1x2x3x2xf32>
  return %3 : tensor<1x2x3x2xf32>
}

// -----

// A matmul by a constant [K, N] becomes a 1x1 channels-last convolution over
// one image row of M columns with its filter blocked at compile time:
// [K, N] -> [N/B, 1, 1, K, B] (here B = 16 of the default 32 that divides
// N = 48), the result reshaped back. A matmul of two run-time values, or
// whose N no block divides, is left alone (and so is every matmul without
// filter blocking, in the default run).
// CHECK-LABEL: func.func @matmul_const
// CHECK: weft.matmul
// MM-LABEL: func.func @matmul_const
// MM: %[[X:.*]] = weft.reshape %{{.*}} : (tensor<2x3x8xf32>) -> tensor<1x1x6x8xf32>
// MM: %[[C:.*]] = weft.conv %[[X]], %{{.*}} {channels_last, {{.*}}} : (tensor<1x1x6x8xf32>, tensor<3x1x1x8x16xf32>) -> tensor<1x1x6x3x16xf32>
// MM: weft.reshape %[[C]] : (tensor<1x1x6x3x16xf32>) -> tensor<2x3x48xf32>
// MM-NOT: weft.matmul
// MM: return
func.func @matmul_const(%a: tensor<2x3x8xf32>) -> tensor<2x3x48xf32> {
  %b = weft.constant dense<0.5> : tensor<8x48xf32>
  %0 = weft.matmul %a, %b : (tensor<2x3x8xf32>, tensor<8x48xf32>) -> tensor<2x3x48xf32>
  return %0 : tensor<2x3x48xf32>
}

// MM-LABEL: func.func @matmul_left_alone
// MM: weft.matmul %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>)
// MM: weft.matmul %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8x12xf32>)
func.func @matmul_left_alone(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> (tensor<4x16xf32>, tensor<4x12xf32>) {
  %0 = weft.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %c = weft.constant dense<0.5> : tensor<8x12xf32>
  %1 = weft.matmul %a, %c : (tensor<4x8xf32>, tensor<8x12xf32>) -> tensor<4x12xf32>
  return %0, %1 : tensor<4x16xf32>, tensor<4x12xf32>
}

// -----

// A gemm by a constant whose N (20) is not a multiple of the vector width
// (16 with filter-block=32) computes 32 columns and slices 20: as a plain
// A * B + bias it becomes a 1x1 blocked conv whose bias gains zeros.
// CHECK-LABEL: func.func @gemm_padded
// CHECK: weft.gemm
// MM-LABEL: func.func @gemm_padded
// MM-DAG: %[[BIAS:.*]] = weft.constant dense<[5.000000e-01, {{(5.000000e-01, )+(0.000000e\+00, )+}}0.000000e+00]> : tensor<32xf32>
// MM-DAG: weft.constant dense<{{\[\[\[\[\[}}1.000000e+00, {{.*}}, 2.000000e+01, {{(0.000000e\+00, )+}}0.000000e+00], [2.100000e+01, {{.*}}, 4.000000e+01, {{(0.000000e\+00, )+}}0.000000e+00]]]]]> : tensor<1x1x1x2x32xf32>
// MM-DAG: %[[X:.*]] = weft.reshape %{{.*}} : (tensor<1x2xf32>) -> tensor<1x1x1x2xf32>
// MM: %[[C:.*]] = weft.conv %[[X]], %{{.*}}, %{{.*}} {channels_last, {{.*}}} : (tensor<1x1x1x2xf32>, tensor<1x1x1x2x32xf32>, tensor<32xf32>) -> tensor<1x1x1x1x32xf32>
// MM: %[[W:.*]] = weft.reshape %[[C]] : (tensor<1x1x1x1x32xf32>) -> tensor<1x32xf32>
// MM: weft.slice %[[W]] {sizes = array<i64: 1, 20>, starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : (tensor<1x32xf32>) -> tensor<1x20xf32>
// MM-NOT: weft.gemm
// MM: return
// With alpha = 2 it stays a gemm, on 32 columns of B, and is sliced.
// MM-LABEL: func.func @gemm_padded_alpha
// MM: %[[G:.*]] = weft.gemm %{{.*}}, %{{.*}} {alpha = 2.000000e+00 : f32{{.*}}} : (tensor<3x2xf32>, tensor<2x32xf32>) -> tensor<3x32xf32>
// MM: weft.slice %[[G]] {sizes = array<i64: 3, 20>, {{.*}}} : (tensor<3x32xf32>) -> tensor<3x20xf32>
// A plain gemm whose columns the vector width divides needs no padding but
// still becomes the blocked 1x1 convolution (its filter panels read
// contiguously), without a slice.
// MM-LABEL: func.func @gemm_aligned
// MM: %[[C:.*]] = weft.conv %{{.*}}, %{{.*}} {channels_last, {{.*}}} : (tensor<1x1x3x2xf32>, tensor<1x1x1x2x32xf32>) -> tensor<1x1x3x1x32xf32>
// MM: weft.reshape %[[C]] : (tensor<1x1x3x1x32xf32>) -> tensor<3x32xf32>
// MM-NOT: weft.slice
// MM-NOT: weft.gemm
// MM: return
func.func @gemm_padded(%a: tensor<1x2xf32>) -> tensor<1x20xf32> {
  %b = weft.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0], [21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0]]> : tensor<2x20xf32>
  %c = weft.constant dense<0.5> : tensor<20xf32>
  %0 = weft.gemm %a, %b, %c {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = false} : (tensor<1x2xf32>, tensor<2x20xf32>, tensor<20xf32>) -> tensor<1x20xf32>
  return %0 : tensor<1x20xf32>
}
func.func @gemm_padded_alpha(%a: tensor<3x2xf32>) -> tensor<3x20xf32> {
  %b = weft.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0], [21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0]]> : tensor<2x20xf32>
  %0 = weft.gemm %a, %b {alpha = 2.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = false} : (tensor<3x2xf32>, tensor<2x20xf32>) -> tensor<3x20xf32>
  return %0 : tensor<3x20xf32>
}
func.func @gemm_aligned(%a: tensor<3x2xf32>) -> tensor<3x32xf32> {
  %b = weft.constant dense<0.5> : tensor<2x32xf32>
  %0 = weft.gemm %a, %b {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = false} : (tensor<3x2xf32>, tensor<2x32xf32>) -> tensor<3x32xf32>
  return %0 : tensor<3x32xf32>
}

// -----

// A matmul by a constant whose N (40) no block divides computes 48 columns
// (three 16-column panels, B padded with zeros) and slices 40.
// MM-LABEL: func.func @matmul_padded
// MM: %[[C:.*]] = weft.conv %{{.*}}, %{{.*}} {channels_last, {{.*}}} : (tensor<1x1x6x8xf32>, tensor<3x1x1x8x16xf32>) -> tensor<1x1x6x3x16xf32>
// MM: %[[W:.*]] = weft.reshape %[[C]] : (tensor<1x1x6x3x16xf32>) -> tensor<2x3x48xf32>
// MM: weft.slice %[[W]] {sizes = array<i64: 2, 3, 40>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<2x3x48xf32>) -> tensor<2x3x40xf32>
// MM-NOT: weft.matmul
func.func @matmul_padded(%a: tensor<2x3x8xf32>) -> tensor<2x3x40xf32> {
  %b = weft.constant dense<0.5> : tensor<8x40xf32>
  %0 = weft.matmul %a, %b : (tensor<2x3x8xf32>, tensor<8x40xf32>) -> tensor<2x3x40xf32>
  return %0 : tensor<2x3x40xf32>
}

// -----

// The activation and the residual add after a matmul run as a blocked
// convolution move above the reshape that undoes it, onto the blocked
// shape, so they can join the convolution's kernel; the residual is
// reshaped (no data moves), a bias-like [N] operand is blocked.
// MM-LABEL: func.func @matmul_epilogue
// MM: %[[C:.*]] = weft.conv %{{.*}}, %{{.*}} {channels_last, {{.*}}} : (tensor<1x1x6x8xf32>, tensor<1x1x1x8x32xf32>) -> tensor<1x1x6x1x32xf32>
// MM: %[[R:.*]] = weft.relu %[[C]] : tensor<1x1x6x1x32xf32>
// MM: %[[X:.*]] = weft.reshape %{{.*}} : (tensor<2x3x32xf32>) -> tensor<1x1x6x1x32xf32>
// MM: %[[A:.*]] = weft.add %[[R]], %[[X]] : (tensor<1x1x6x1x32xf32>, tensor<1x1x6x1x32xf32>) -> tensor<1x1x6x1x32xf32>
// MM: %[[B:.*]] = weft.add %[[A]], %{{.*}} : (tensor<1x1x6x1x32xf32>, tensor<1x1x1x1x32xf32>) -> tensor<1x1x6x1x32xf32>
// MM: weft.reshape %[[B]] : (tensor<1x1x6x1x32xf32>) -> tensor<2x3x32xf32>
func.func @matmul_epilogue(%a: tensor<2x3x8xf32>, %x: tensor<2x3x32xf32>) -> tensor<2x3x32xf32> {
  %b = weft.constant dense<0.5> : tensor<8x32xf32>
  %c = weft.constant dense<0.25> : tensor<32xf32>
  %0 = weft.matmul %a, %b : (tensor<2x3x8xf32>, tensor<8x32xf32>) -> tensor<2x3x32xf32>
  %1 = weft.relu %0 : tensor<2x3x32xf32>
  %2 = weft.add %1, %x : (tensor<2x3x32xf32>, tensor<2x3x32xf32>) -> tensor<2x3x32xf32>
  %3 = weft.add %2, %c : (tensor<2x3x32xf32>, tensor<32xf32>) -> tensor<2x3x32xf32>
  return %3 : tensor<2x3x32xf32>
}

// -----

// Squeeze-excitation: the per-channel scale [1, C, 1, 1] comes from 1x1
// convs on the pooled image, a reshape of their channels-last result, not a
// transpose; the scaling Mul still goes channels-last with the image (its
// scale's transpose is a reshape), so only the model's output is
// transposed. The SiLU on the [1, 8, 1, 1] squeeze, whose own transposes are
// reshapes, is left as it is (rewriting it would never end).
// MM-LABEL: func.func @se
// MM: weft.transpose {{.*}} -> tensor<1x10x10x32xf32>
// MM-NOT: weft.transpose
// MM: weft.mul {{.*}} : (tensor<1x8x8x32xf32>, tensor<1x8x8x32xf32>) -> tensor<1x8x8x32xf32>
// MM-NOT: weft.transpose
// MM: weft.mul {{.*}} : (tensor<1x8x1x1xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x1x1xf32>
// MM-NOT: weft.transpose
// MM: weft.mul {{.*}} : (tensor<1x8x8x32xf32>, tensor<1x1x1x32xf32>) -> tensor<1x8x8x32xf32>
// MM-NEXT: weft.transpose {{.*}} {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x8x8x32xf32>) -> tensor<1x32x8x8xf32>
// MM-NEXT: return
func.func @se(%x: tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32> {
  %w = weft.constant dense<1.0> : tensor<32x1x3x3xf32>
  %w1 = weft.constant dense<0.5> : tensor<8x32x1x1xf32>
  %b1 = weft.constant dense<0.5> : tensor<8xf32>
  %w2 = weft.constant dense<0.25> : tensor<32x8x1x1xf32>
  %b2 = weft.constant dense<0.5> : tensor<32xf32>
  %p = weft.pad %x {low = array<i64: 0, 0, 1, 1>, high = array<i64: 0, 0, 1, 1>, value = 0.0 : f32} : (tensor<1x32x8x8xf32>) -> tensor<1x32x10x10xf32>
  %0 = weft.conv %p, %w {dilations = array<i64: 1, 1>, group = 32 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x32x10x10xf32>, tensor<32x1x3x3xf32>) -> tensor<1x32x8x8xf32>
  %s0 = weft.sigmoid %0 : tensor<1x32x8x8xf32>
  %m0 = weft.mul %0, %s0 : (tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %1 = weft.reduce mean %m0 {axes = array<i64: 2, 3>, keepdims = true} : (tensor<1x32x8x8xf32>) -> tensor<1x32x1x1xf32>
  %2 = weft.conv %1, %w1, %b1 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x32x1x1xf32>, tensor<8x32x1x1xf32>, tensor<8xf32>) -> tensor<1x8x1x1xf32>
  %s2 = weft.sigmoid %2 : tensor<1x8x1x1xf32>
  %m2 = weft.mul %2, %s2 : (tensor<1x8x1x1xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x1x1xf32>
  %3 = weft.conv %m2, %w2, %b2 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x1x1xf32>, tensor<32x8x1x1xf32>, tensor<32xf32>) -> tensor<1x32x1x1xf32>
  %4 = weft.sigmoid %3 : tensor<1x32x1x1xf32>
  %5 = weft.mul %m0, %4 : (tensor<1x32x8x8xf32>, tensor<1x32x1x1xf32>) -> tensor<1x32x8x8xf32>
  return %5 : tensor<1x32x8x8xf32>
}
