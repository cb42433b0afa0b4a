// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-decompose{widen-half-contractions=true}),canonicalize)' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-decompose),canonicalize)' | FileCheck %s --check-prefix=KEEP

// For the CPU's f32 kernels an f16 MatMul runs on f32 casts of its
// operands and casts its result back; its constant B folds into an f32
// constant (1.5 and -2.25 exactly, 0.1 as the f16 value nearest it).
// CHECK-LABEL: func.func @matmul_f16
// CHECK-DAG: %[[W:.*]] = weft.constant dense<{{\[\[}}1.500000e+00, -2.250000e+00], [0.0999755859{{.*}}, 0.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[X:.*]] = weft.cast %arg0 : tensor<4x2xf16> to tensor<4x2xf32>
// CHECK: %[[M:.*]] = weft.matmul %[[X]], %[[W]] : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
// CHECK: %[[Y:.*]] = weft.cast %[[M]] : tensor<4x2xf32> to tensor<4x2xf16>
// CHECK: return %[[Y]]
// Without the option (the CUDA targets) it stays f16.
// KEEP-LABEL: func.func @matmul_f16
// KEEP: weft.matmul %arg0, %{{.*}} : (tensor<4x2xf16>, tensor<2x2xf16>) -> tensor<4x2xf16>
func.func @matmul_f16(%x: tensor<4x2xf16>) -> tensor<4x2xf16> {
  %w = weft.constant dense<[[1.5, -2.25], [0.1, 0.0]]> : tensor<2x2xf16>
  %y = weft.matmul %x, %w : (tensor<4x2xf16>, tensor<2x2xf16>) -> tensor<4x2xf16>
  return %y : tensor<4x2xf16>
}

// -----

// A bf16 Conv with a bias: all three operands cast, the result cast back.
// CHECK-LABEL: func.func @conv_bf16
// CHECK-COUNT-3: weft.cast {{.*}}bf16> to tensor<{{.*}}f32>
// CHECK: weft.conv {{.*}} -> tensor<1x2x4x4xf32>
// CHECK: weft.cast {{.*}} : tensor<1x2x4x4xf32> to tensor<1x2x4x4xbf16>
func.func @conv_bf16(%x: tensor<1x3x4x4xbf16>, %w: tensor<2x3x1x1xbf16>, %b: tensor<2xbf16>) -> tensor<1x2x4x4xbf16> {
  %y = weft.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x4x4xbf16>, tensor<2x3x1x1xbf16>, tensor<2xbf16>) -> tensor<1x2x4x4xbf16>
  return %y : tensor<1x2x4x4xbf16>
}

// -----

// An f32 MatMul is left alone.
// CHECK-LABEL: func.func @matmul_f32
// CHECK-NOT: weft.cast
// CHECK: weft.matmul %arg0, %arg1 : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
func.func @matmul_f32(%x: tensor<4x2xf32>, %w: tensor<2x2xf32>) -> tensor<4x2xf32> {
  %y = weft.matmul %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
