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

// Not split: enough blocks already (128 x 2304 = 72 blocks), too short a
// reduction (4 parts of fewer than 4 steps), too few outputs for the
// parts to take blocks, f16.
// CHECK-LABEL: func.func @unsplit
// CHECK-NOT: weft.split_reduction
// CHECK: return
func.func @unsplit(%x: tensor<128x768xf32>, %y: tensor<128x256xf32>, %z: tensor<16x4096xf32>,
                   %h: tensor<128x3072xf16>) -> (tensor<128x2304xf32>, tensor<128x768xf32>, tensor<16x64xf32>, tensor<128x768xf16>) {
  %w1 = weft.constant dense<0.5> : tensor<768x2304xf32>
  %0 = weft.matmul %x, %w1 : (tensor<128x768xf32>, tensor<768x2304xf32>) -> tensor<128x2304xf32>
  %w2 = weft.constant dense<0.5> : tensor<256x768xf32>
  %1 = weft.matmul %y, %w2 : (tensor<128x256xf32>, tensor<256x768xf32>) -> tensor<128x768xf32>
  %w3 = weft.constant dense<0.5> : tensor<4096x64xf32>
  %2 = weft.matmul %z, %w3 : (tensor<16x4096xf32>, tensor<4096x64xf32>) -> tensor<16x64xf32>
  %w4 = weft.constant dense<0.5> : tensor<3072x768xf16>
  %3 = weft.matmul %h, %w4 : (tensor<128x3072xf16>, tensor<3072x768xf16>) -> tensor<128x768xf16>
  return %0, %1, %2, %3 : tensor<128x2304xf32>, tensor<128x768xf32>, tensor<16x64xf32>, tensor<128x768xf16>
}
