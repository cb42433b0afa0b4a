// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-split-reduction),canonicalize)' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-split-reduction),canonicalize,func.func(weft-form-dispatches{batch-row-epilogues=true}))' | FileCheck %s --check-prefix=DISPATCH

// BERT-base's second FF layer at 128 tokens: 128 x 768 outputs fill 24
// blocks of 64 x 64. Its 3072 products split in 4 parts of 768: A viewed
// as [128, 4, 768] and transposed to [4, 128, 768], B viewed as
// [4, 768, 768] (folded: a constant), a batched matmul of 96 blocks and a
// sum over the parts, of the matmul's own type.
// CHECK-LABEL: func.func @ff2
// CHECK-DAG: %[[W:.*]] = weft.constant dense<{{.*}}> : tensor<4x768x768xf32>
// CHECK-DAG: %[[A3:.*]] = weft.reshape %arg0 : (tensor<128x3072xf32>) -> tensor<128x4x768xf32>
// CHECK: %[[AT:.*]] = weft.transpose %[[A3]] {perm = array<i64: 1, 0, 2>, weft.split_reduction} : (tensor<128x4x768xf32>) -> tensor<4x128x768xf32>
// CHECK: %[[P:.*]] = weft.matmul %[[AT]], %[[W]] : (tensor<4x128x768xf32>, tensor<4x768x768xf32>) -> tensor<4x128x768xf32>
// CHECK: %[[S:.*]] = weft.reduce sum %[[P]] {axes = array<i64: 0>, keepdims = false, weft.split_reduction} : (tensor<4x128x768xf32>) -> tensor<128x768xf32>
// CHECK: weft.add %[[S]]
// The transpose joins the matmul's dispatch; the sum heads the bias add.
// DISPATCH-LABEL: func.func @ff2
// DISPATCH: weft.dispatch
// DISPATCH-NEXT: ^bb0
// DISPATCH-NEXT: %[[T:.*]] = weft.transpose
// DISPATCH: weft.matmul %[[T]]
// DISPATCH-NEXT: weft.yield
// DISPATCH: weft.dispatch
// DISPATCH-NEXT: ^bb0
// DISPATCH-NEXT: weft.reduce sum
// DISPATCH-NEXT: weft.add
// DISPATCH-NEXT: weft.yield
func.func @ff2(%x: tensor<128x3072xf32>, %b: tensor<768xf32>) -> tensor<128x768xf32> {
  %w = weft.constant dense<0.5> : tensor<3072x768xf32>
  %0 = weft.matmul %x, %w : (tensor<128x3072xf32>, tensor<3072x768xf32>) -> tensor<128x768xf32>
  %1 = weft.add %0, %b : (tensor<128x768xf32>, tensor<768xf32>) -> tensor<128x768xf32>
  return %1 : tensor<128x768xf32>
}

// -----

// A batch of rows [1, 128, 768]: the rows are viewed as [128, 4, 192]
// (4 parts of 6 steps of 32) and the parts' products [4, 128, 768] as
// [4, 1, 128, 768], so that their sum has the matmul's type.
// CHECK-LABEL: func.func @rows
// CHECK: weft.reshape %arg0 : (tensor<1x128x768xf32>) -> tensor<128x4x192xf32>
// CHECK: weft.matmul {{.*}} -> tensor<4x128x768xf32>
// CHECK: weft.reshape {{.*}} : (tensor<4x128x768xf32>) -> tensor<4x1x128x768xf32>
// CHECK: weft.reduce sum {{.*}} -> tensor<1x128x768xf32>
func.func @rows(%x: tensor<1x128x768xf32>) -> tensor<1x128x768xf32> {
  %w = weft.constant dense<0.5> : tensor<768x768xf32>
  %0 = weft.matmul %x, %w : (tensor<1x128x768xf32>, tensor<768x768xf32>) -> tensor<1x128x768xf32>
  return %0 : tensor<1x128x768xf32>
}

// -----

// A sum viewed in another shape before its epilogue (BERT's attention
// output projection: [128, 768] viewed as [1, 128, 768] before the
// residual add): the parts are viewed in that shape instead, so the view
// no longer stands between the sum and the add, which joins its dispatch.
// DISPATCH-LABEL: func.func @viewed_sum
// DISPATCH: weft.dispatch
// DISPATCH: weft.matmul
// DISPATCH-NEXT: weft.yield
// DISPATCH: weft.reshape {{.*}} : (tensor<4x128x768xf32>) -> tensor<4x1x128x768xf32>
// DISPATCH-NEXT: weft.dispatch
// DISPATCH-NEXT: ^bb0
// DISPATCH-NEXT: weft.reduce sum {{.*}} : (tensor<4x1x128x768xf32>) -> tensor<1x128x768xf32>
// DISPATCH-NEXT: weft.add
// DISPATCH-NEXT: weft.yield
// DISPATCH-NEXT: }
// DISPATCH-NEXT: return
func.func @viewed_sum(%x: tensor<128x768xf32>, %r: tensor<1x128x768xf32>) -> tensor<1x128x768xf32> {
  %w = weft.constant dense<0.5> : tensor<768x768xf32>
  %0 = weft.matmul %x, %w : (tensor<128x768xf32>, tensor<768x768xf32>) -> tensor<128x768xf32>
  %1 = weft.reshape %0 : (tensor<128x768xf32>) -> tensor<1x128x768xf32>
  %2 = weft.add %r, %1 : (tensor<1x128x768xf32>, tensor<1x128x768xf32>) -> tensor<1x128x768xf32>
  return %2 : tensor<1x128x768xf32>
}

// -----

// A Gemm A x B + C (a Linear layer, its weights transposed at compile
// time): the split product, then C added to the sum.
// CHECK-LABEL: func.func @linear
// CHECK: %[[S:.*]] = weft.reduce sum {{.*}} -> tensor<128x768xf32>
// CHECK: weft.add %[[S]], %arg1
// CHECK-NOT: weft.gemm
func.func @linear(%x: tensor<128x768xf32>, %c: tensor<768xf32>) -> tensor<128x768xf32> {
  %w = weft.constant dense<0.5> : tensor<768x768xf32>
  %0 = weft.gemm %x, %w, %c {alpha = 1.0 : f32, beta = 1.0 : f32, trans_a = false, trans_b = false} : (tensor<128x768xf32>, tensor<768x768xf32>, tensor<768xf32>) -> tensor<128x768xf32>
  return %0 : tensor<128x768xf32>
}

// -----

// ResNet-50's stage-5 3x3 convolution: 512 x 49 outputs (8 blocks of
// 128 x 32, the second at column 17), 4608 products: 8 parts of 576.
// CHECK-LABEL: func.func @conv7x7
// CHECK: weft.conv {{.*}}group = 8 : i64{{.*}} -> tensor<1x4096x7x7xf32>
// CHECK: weft.reduce sum {{.*}} -> tensor<1x512x7x7xf32>
func.func @conv7x7(%x: tensor<1x512x9x9xf32>) -> tensor<1x512x7x7xf32> {
  %w = weft.constant dense<0.5> : tensor<512x512x3x3xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x512x9x9xf32>, tensor<512x512x3x3xf32>) -> tensor<1x512x7x7xf32>
  return %0 : tensor<1x512x7x7xf32>
}

// -----

// Not split: enough blocks already (128 x 2304 = 72 blocks), too short a
// reduction (4 parts of fewer than 4 steps), f16.
// CHECK-LABEL: func.func @unsplit
// CHECK-NOT: weft.split_reduction
// CHECK: return
func.func @unsplit(%x: tensor<128x768xf32>, %y: tensor<128x256xf32>,
                   %h: tensor<128x3072xf16>) -> (tensor<128x2304xf32>, tensor<128x768xf32>, tensor<128x768xf16>) {
  %w1 = weft.constant dense<0.5> : tensor<768x2304xf32>
  %0 = weft.matmul %x, %w1 : (tensor<128x768xf32>, tensor<768x2304xf32>) -> tensor<128x2304xf32>
  %w2 = weft.constant dense<0.5> : tensor<256x768xf32>
  %1 = weft.matmul %y, %w2 : (tensor<128x256xf32>, tensor<256x768xf32>) -> tensor<128x768xf32>
  %w4 = weft.constant dense<0.5> : tensor<3072x768xf16>
  %3 = weft.matmul %h, %w4 : (tensor<128x3072xf16>, tensor<3072x768xf16>) -> tensor<128x768xf16>
  return %0, %1, %3 : tensor<128x2304xf32>, tensor<128x768xf32>, tensor<128x768xf16>
}

// -----

// ResNet-50's stage-4 3x3 convolution at batch 1 (its image padded
// already): 256 x 196 outputs fill 16 blocks; its 2304 products split in
// 8 parts of 32 input channels (288 products, 9 steps of 32), one
// convolution of 8 groups whose filter holds part s's output channel f at
// s * 256 + f, its [1, 2048, 14, 14] result viewed as [1, 8, 256, 14, 14]
// and summed over the parts, then the bias added.
// CHECK-LABEL: func.func @conv3x3
// CHECK: %[[W5:.*]] = weft.reshape %arg1 : (tensor<256x256x3x3xf32>) -> tensor<256x8x32x3x3xf32>
// CHECK: %[[WT:.*]] = weft.transpose %[[W5]] {perm = array<i64: 1, 0, 2, 3, 4>} : (tensor<256x8x32x3x3xf32>) -> tensor<8x256x32x3x3xf32>
// CHECK: %[[WG:.*]] = weft.reshape %[[WT]] : (tensor<8x256x32x3x3xf32>) -> tensor<2048x32x3x3xf32>
// CHECK: %[[C:.*]] = weft.conv %arg0, %[[WG]] {{{.*}}group = 8 : i64{{.*}}weft.split_reduction} : (tensor<1x256x16x16xf32>, tensor<2048x32x3x3xf32>) -> tensor<1x2048x14x14xf32>
// CHECK: %[[P:.*]] = weft.reshape %[[C]] : (tensor<1x2048x14x14xf32>) -> tensor<1x8x256x14x14xf32>
// CHECK: %[[S:.*]] = weft.reduce sum %[[P]] {axes = array<i64: 1>, keepdims = false, weft.split_reduction} : (tensor<1x8x256x14x14xf32>) -> tensor<1x256x14x14xf32>
// CHECK: %[[B:.*]] = weft.reshape %arg2 : (tensor<256xf32>) -> tensor<256x1x1xf32>
// CHECK: weft.add %[[S]], %[[B]] : (tensor<1x256x14x14xf32>, tensor<256x1x1xf32>) -> tensor<1x256x14x14xf32>
// The grouped convolution is a dispatch of its own (after the one that
// permutes this filter, an argument; a constant one is permuted at
// compile time); the sum heads the bias add and the Relu.
// DISPATCH-LABEL: func.func @conv3x3
// DISPATCH: weft.transpose
// DISPATCH: weft.dispatch
// DISPATCH-NEXT: ^bb0
// DISPATCH-NEXT: weft.conv
// DISPATCH-NEXT: weft.yield
// DISPATCH: weft.dispatch
// DISPATCH-NEXT: ^bb0
// DISPATCH-NEXT: weft.reduce sum
// DISPATCH-NEXT: weft.add
// DISPATCH-NEXT: weft.relu
// DISPATCH-NEXT: weft.yield
func.func @conv3x3(%x: tensor<1x256x16x16xf32>, %w: tensor<256x256x3x3xf32>, %b: tensor<256xf32>) -> tensor<1x256x14x14xf32> {
  %0 = weft.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x256x16x16xf32>, tensor<256x256x3x3xf32>, tensor<256xf32>) -> tensor<1x256x14x14xf32>
  %1 = weft.relu %0 : tensor<1x256x14x14xf32>
  return %1 : tensor<1x256x14x14xf32>
}

// -----

// A 1x1 convolution of 64 blocks (1024 x 196 outputs of 256 products):
// 2 parts, 128 blocks. A constant filter is permuted at compile time.
// CHECK-LABEL: func.func @conv1x1
// CHECK: weft.constant dense<5.000000e-01> : tensor<2048x128x1x1xf32>
// CHECK: weft.conv {{.*}}group = 2 : i64{{.*}} -> tensor<1x2048x14x14xf32>
// CHECK: weft.reduce sum {{.*}} -> tensor<1x1024x14x14xf32>
func.func @conv1x1(%x: tensor<1x256x14x14xf32>) -> tensor<1x1024x14x14xf32> {
  %w = weft.constant dense<0.5> : tensor<1024x256x1x1xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x256x14x14xf32>, tensor<1024x256x1x1xf32>) -> tensor<1x1024x14x14xf32>
  return %0 : tensor<1x1024x14x14xf32>
}

// -----

// ResNet-50's stage-5 3x3 convolution: 512 x 49 outputs (8 blocks of
// 128 x 32, the second at column 17), 4608 products: 8 parts of 576.
// CHECK-LABEL: func.func @conv7x7
// CHECK: weft.conv {{.*}}group = 8 : i64{{.*}} -> tensor<1x4096x7x7xf32>
// CHECK: weft.reduce sum {{.*}} -> tensor<1x512x7x7xf32>
func.func @conv7x7(%x: tensor<1x512x9x9xf32>) -> tensor<1x512x7x7xf32> {
  %w = weft.constant dense<0.5> : tensor<512x512x3x3xf32>
  %0 = weft.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x512x9x9xf32>, tensor<512x512x3x3xf32>) -> tensor<1x512x7x7xf32>
  return %0 : tensor<1x512x7x7xf32>
}

// -----

// Not split: enough blocks already (256 x 3136 outputs: 196 blocks), 28
// positions (no block of 32 reaches across them; 256 products, too few
// for a warp per output), a reduction of 64 products (too
// short for 2 parts of 4 steps of 32), a grouped convolution,
// channels-last, padding not yet moved out.
// CHECK-LABEL: func.func @conv_unsplit
// CHECK-NOT: weft.split_reduction
// CHECK: return
func.func @conv_unsplit(%a: tensor<1x64x56x56xf32>, %b: tensor<1x256x4x7xf32>,
                        %c: tensor<1x64x28x28xf32>, %d: tensor<1x256x14x14xf32>,
                        %e: tensor<1x14x14x256xf32>, %f: tensor<1x256x14x14xf32>)
    -> (tensor<1x256x56x56xf32>, tensor<1x512x4x7xf32>, tensor<1x256x28x28xf32>,
        tensor<1x256x14x14xf32>, tensor<1x14x14x256xf32>, tensor<1x256x14x14xf32>) {
  %wa = weft.constant dense<0.5> : tensor<256x64x1x1xf32>
  %0 = weft.conv %a, %wa {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x64x56x56xf32>, tensor<256x64x1x1xf32>) -> tensor<1x256x56x56xf32>
  %wb = weft.constant dense<0.5> : tensor<512x256x1x1xf32>
  %1 = weft.conv %b, %wb {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x256x4x7xf32>, tensor<512x256x1x1xf32>) -> tensor<1x512x4x7xf32>
  %wc = weft.constant dense<0.5> : tensor<256x64x1x1xf32>
  %2 = weft.conv %c, %wc {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x64x28x28xf32>, tensor<256x64x1x1xf32>) -> tensor<1x256x28x28xf32>
  %wd = weft.constant dense<0.5> : tensor<256x128x1x1xf32>
  %3 = weft.conv %d, %wd {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x256x14x14xf32>, tensor<256x128x1x1xf32>) -> tensor<1x256x14x14xf32>
  %we = weft.constant dense<0.5> : tensor<1x1x256x256xf32>
  %4 = weft.conv %e, %we {channels_last, dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x14x14x256xf32>, tensor<1x1x256x256xf32>) -> tensor<1x14x14x256xf32>
  %wf = weft.constant dense<0.5> : tensor<256x256x3x3xf32>
  %5 = weft.conv %f, %wf {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x256x14x14xf32>, tensor<256x256x3x3xf32>) -> tensor<1x256x14x14xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<1x256x56x56xf32>, tensor<1x512x4x7xf32>, tensor<1x256x28x28xf32>, tensor<1x256x14x14xf32>, tensor<1x14x14x256xf32>, tensor<1x256x14x14xf32>
}

// -----

// MobileNetV2's 1x1 convolution from 960 to 160 channels at 7 x 7: 7840
// outputs of 960 products, too few for blocks even in parts, would each
// go to a warp whose lanes read channels 49 floats apart. In 8 parts of
// 120 channels (62720 outputs) each output is a thread's, neighbouring
// threads reading neighbouring positions; the sum adds the bias and heads
// the residual add.
// CHECK-LABEL: func.func @pointwise7x7
// CHECK: %[[C:.*]] = weft.conv %arg0, %{{.*}} {{{.*}}group = 8 : i64{{.*}}weft.split_reduction} : (tensor<1x960x7x7xf32>, tensor<1280x120x1x1xf32>) -> tensor<1x1280x7x7xf32>
// CHECK: %[[P:.*]] = weft.reshape %[[C]] : (tensor<1x1280x7x7xf32>) -> tensor<1x8x160x7x7xf32>
// CHECK: weft.reduce sum %[[P]] {axes = array<i64: 1>, keepdims = false, weft.split_reduction} : (tensor<1x8x160x7x7xf32>) -> tensor<1x160x7x7xf32>
// DISPATCH-LABEL: func.func @pointwise7x7
// DISPATCH: weft.dispatch
// DISPATCH: weft.conv
// DISPATCH-NEXT: weft.yield
// DISPATCH: weft.dispatch
// DISPATCH-NEXT: ^bb0
// DISPATCH-NEXT: weft.reduce sum
// DISPATCH-NEXT: weft.add
// DISPATCH-NEXT: weft.add
// DISPATCH-NEXT: weft.yield
func.func @pointwise7x7(%x: tensor<1x960x7x7xf32>, %b: tensor<160xf32>, %r: tensor<1x160x7x7xf32>) -> tensor<1x160x7x7xf32> {
  %w = weft.constant dense<0.5> : tensor<160x960x1x1xf32>
  %0 = weft.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x960x7x7xf32>, tensor<160x960x1x1xf32>, tensor<160xf32>) -> tensor<1x160x7x7xf32>
  %1 = weft.add %0, %r : (tensor<1x160x7x7xf32>, tensor<1x160x7x7xf32>) -> tensor<1x160x7x7xf32>
  return %1 : tensor<1x160x7x7xf32>
}

// -----

// A warp per output stays where its lanes read neighbouring channels (an
// image of one position: a squeeze-and-excitation block's 1x1
// convolutions); 4 parts where they reach enough outputs (576 to 96
// channels at 14 x 14: 18816 outputs, 4 parts of 144 channels, not 8).
// (The 960 channels above split in 8, not 16: 16 parts would keep 60
// products each, fewer than 64.)
// CHECK-LABEL: func.func @pointwise_few
// CHECK-NOT: group = 2
// CHECK-NOT: group = 8
// CHECK: weft.conv {{.*}}group = 4 : i64{{.*}} -> tensor<1x384x14x14xf32>
// CHECK-NOT: group = 8
// CHECK: return
func.func @pointwise_few(%a: tensor<1x1024x1x1xf32>, %c: tensor<1x576x14x14xf32>)
    -> (tensor<1x4096x1x1xf32>, tensor<1x96x14x14xf32>) {
  %wa = weft.constant dense<0.5> : tensor<4096x1024x1x1xf32>
  %0 = weft.conv %a, %wa {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1024x1x1xf32>, tensor<4096x1024x1x1xf32>) -> tensor<1x4096x1x1xf32>
  %wc = weft.constant dense<0.5> : tensor<96x576x1x1xf32>
  %2 = weft.conv %c, %wc {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x576x14x14xf32>, tensor<96x576x1x1xf32>) -> tensor<1x96x14x14xf32>
  return %0, %2 : tensor<1x4096x1x1xf32>, tensor<1x96x14x14xf32>
}

// -----

// A matrix-vector product with B [K, N] (a decoder step's projection):
// 1 x 768 outputs of 3072 products would each go to a warp whose lanes
// read B's column 768 floats apart. In 16 parts of 192 (12288 outputs)
// each output is a thread's, neighbouring threads reading neighbouring
// columns; a [16, 4096] x [4096, 64] product likewise (1024 outputs, 16
// parts of 256). A row of 4 columns (lanes 4 floats apart, within a
// sector) keeps its warps.
// CHECK-LABEL: func.func @matvec
// CHECK: weft.matmul {{.*}} : (tensor<16x1x192xf32>, tensor<16x192x768xf32>) -> tensor<16x1x768xf32>
// CHECK: weft.reduce sum {{.*}} -> tensor<1x768xf32>
// CHECK: weft.matmul {{.*}} : (tensor<16x16x256xf32>, tensor<16x256x64xf32>) -> tensor<16x16x64xf32>
// CHECK: weft.reduce sum {{.*}} -> tensor<16x64xf32>
// CHECK: weft.matmul %arg2, {{.*}} : (tensor<1x4096xf32>, tensor<4096x4xf32>) -> tensor<1x4xf32>
// CHECK-NOT: weft.reduce
// CHECK: return
func.func @matvec(%x: tensor<1x3072xf32>, %z: tensor<16x4096xf32>, %v: tensor<1x4096xf32>)
    -> (tensor<1x768xf32>, tensor<16x64xf32>, tensor<1x4xf32>) {
  %w = weft.constant dense<0.5> : tensor<3072x768xf32>
  %0 = weft.matmul %x, %w : (tensor<1x3072xf32>, tensor<3072x768xf32>) -> tensor<1x768xf32>
  %w3 = weft.constant dense<0.5> : tensor<4096x64xf32>
  %1 = weft.matmul %z, %w3 : (tensor<16x4096xf32>, tensor<4096x64xf32>) -> tensor<16x64xf32>
  %w4 = weft.constant dense<0.5> : tensor<4096x4xf32>
  %2 = weft.matmul %v, %w4 : (tensor<1x4096xf32>, tensor<4096x4xf32>) -> tensor<1x4xf32>
  return %0, %1, %2 : tensor<1x768xf32>, tensor<16x64xf32>, tensor<1x4xf32>
}
