// RUN: weft-opt %s -split-input-file -weft-lower-to-linalg | FileCheck %s

// An f16 matmul accumulates in f32: a zero-filled f32 init, the products
// of the extended inputs added in f32, and one truncation of the sums.
// CHECK-LABEL: func.func @matmul_f16
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[F:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: %[[M:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x16xf16>, tensor<16x8xf16>) outs(%[[F]] : tensor<4x8xf32>)
// CHECK-NEXT: ^bb0(%[[X:.*]]: f16, %[[Y:.*]]: f16, %[[ACC:.*]]: f32):
// CHECK-DAG: %[[XW:.*]] = arith.extf %[[X]] : f16 to f32
// CHECK-DAG: %[[YW:.*]] = arith.extf %[[Y]] : f16 to f32
// CHECK: %[[P:.*]] = arith.mulf %[[XW]], %[[YW]] : f32
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK: linalg.yield %[[S]] : f32
// CHECK: linalg.generic {{.*}} ins(%[[M]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<4x8xf16>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK-NOT: arith.addf {{.*}} : f16
func.func @matmul_f16(%a: tensor<4x16xf16>, %b: tensor<16x8xf16>) -> tensor<4x8xf16> {
  %0 = weft.dispatch(%a, %b) : (tensor<4x16xf16>, tensor<16x8xf16>) -> tensor<4x8xf16> {
  ^bb0(%x: tensor<4x16xf16>, %y: tensor<16x8xf16>):
    %r = weft.matmul %x, %y : (tensor<4x16xf16>, tensor<16x8xf16>) -> tensor<4x8xf16>
    weft.yield %r : tensor<4x8xf16>
  }
  return %0 : tensor<4x8xf16>
}

// -----

// A bf16 mean: the sum in f32 (constants widened), divided in f32 (the
// sum is not rounded before the division: a 16-bit sum could overflow
// where the mean does not) and rounded once.
// CHECK-LABEL: func.func @mean_bf16
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2x64xbf16>) outs(%{{.*}} : tensor<2xf32>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: arith.addf %{{.*}} : f32
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : tensor<2xf32>) outs(%{{.*}} : tensor<2xbf16>)
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %{{.*}}: bf16):
// CHECK-NEXT: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NOT: arith.addf {{.*}} : bf16
func.func @mean_bf16(%a: tensor<2x64xbf16>) -> tensor<2xbf16> {
  %0 = weft.dispatch(%a) : (tensor<2x64xbf16>) -> tensor<2xbf16> {
  ^bb0(%x: tensor<2x64xbf16>):
    %r = weft.reduce mean %x {axes = array<i64: 1>, keepdims = false} : (tensor<2x64xbf16>) -> tensor<2xbf16>
    weft.yield %r : tensor<2xbf16>
  }
  return %0 : tensor<2xbf16>
}

// -----

// f32 reductions are left as they are.
// CHECK-LABEL: func.func @matmul_f32
// CHECK: linalg.matmul
// CHECK-NOT: arith.extf
// CHECK-NOT: arith.truncf
func.func @matmul_f32(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %0 = weft.dispatch(%a, %b) : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: tensor<4x16xf32>, %y: tensor<16x8xf32>):
    %r = weft.matmul %x, %y : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
    weft.yield %r : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

// An f16 elementwise chain computes in f32 and rounds once, at its end (a
// fused add and multiply: the sum is not rounded to f16 in between).
// CHECK-LABEL: func.func @chain_f16
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8xf16>, tensor<8xf16>) outs(%{{.*}} : tensor<8xf16>)
// CHECK: %[[S:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: arith.truncf
// CHECK: %[[P:.*]] = arith.mulf %[[S]], %{{.*}} : f32
// CHECK-NEXT: %[[R:.*]] = arith.truncf %[[P]] : f32 to f16
// CHECK-NEXT: linalg.yield %[[R]] : f16
func.func @chain_f16(%a: tensor<8xf16>, %b: tensor<8xf16>) -> tensor<8xf16> {
  %0 = weft.dispatch(%a, %b) : (tensor<8xf16>, tensor<8xf16>) -> tensor<8xf16> {
  ^bb0(%x: tensor<8xf16>, %y: tensor<8xf16>):
    %s = weft.add %x, %y : (tensor<8xf16>, tensor<8xf16>) -> tensor<8xf16>
    %t = weft.mul %s, %y : (tensor<8xf16>, tensor<8xf16>) -> tensor<8xf16>
    weft.yield %t : tensor<8xf16>
  }
  return %0 : tensor<8xf16>
}
