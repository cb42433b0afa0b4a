// RUN: weft-opt %s --loop-invariant-code-motion | FileCheck %s

// Code in a weft.loop's body that reads no block argument (a transpose of
// a value defined above) moves before the loop; what reads the carried
// value stays.
// CHECK-LABEL: func.func @hoist
// CHECK: %[[T:.*]] = weft.transpose %arg2
// CHECK-NEXT: weft.loop
// CHECK-NOT: weft.transpose
// CHECK: weft.matmul %{{.*}}, %[[T]]
func.func @hoist(%m: tensor<i64>, %a: tensor<2x8xf32>, %w: tensor<8x8xf32>) -> tensor<2x8xf32> {
  %c = weft.constant dense<true> : tensor<i1>
  %r = weft.loop(%m, %c, %a) : (tensor<i64>, tensor<i1>, tensor<2x8xf32>) -> tensor<2x8xf32> {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<2x8xf32>):
    %t = weft.transpose %w {perm = array<i64: 1, 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32>
    %p = weft.matmul %acc, %t : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
    weft.yield %ci, %p : tensor<i1>, tensor<2x8xf32>
  }
  return %r : tensor<2x8xf32>
}
