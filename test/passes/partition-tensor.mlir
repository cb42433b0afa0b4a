// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(weft-partition{devices=2 plan=tensor})' | FileCheck %s

// A Megatron pair: the first matmul is column-parallel (each device reads
// its 4 of the 8 weight columns, stacked as parts), the bias and the relu
// follow the split, the second matmul is row-parallel (each device its 4
// of the 8 weight rows) and an all-reduce sums the parts before the whole
// bias and the softmax.
// CHECK-LABEL: func.func @pair
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-SAME: weft.input_splits = array<i64: -1>
// CHECK-SAME: weft.output_splits = array<i64: -1>
// CHECK-SAME: weft.parallel_plan = "tensor"
// CHECK: %[[W1:.*]] = weft.constant {{.*}} : tensor<2x16x4xf32>
// CHECK: %[[S1:.*]] = shard.all_slice %[[W1]] on @devices grid_axes = [0] slice_axis = 0 : tensor<2x16x4xf32> -> tensor<1x16x4xf32>
// CHECK: %[[P1:.*]] = weft.reshape %[[S1]] : (tensor<1x16x4xf32>) -> tensor<16x4xf32>
// CHECK: %[[H:.*]] = weft.matmul %[[X]], %[[P1]] : (tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<4x4xf32>
// CHECK: %[[B1:.*]] = weft.constant {{.*}} : tensor<2x4xf32>
// CHECK: shard.all_slice %[[B1]]
// CHECK: weft.add %[[H]], %{{.*}} : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4x4xf32>
// CHECK: weft.relu %{{.*}} : tensor<4x4xf32>
// CHECK: weft.constant {{.*}} : tensor<2x4x16xf32>
// CHECK: %[[PART:.*]] = weft.matmul %{{.*}}, %{{.*}} : (tensor<4x4xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK: %[[SUM:.*]] = shard.all_reduce %[[PART]] on @devices grid_axes = [0] : tensor<4x16xf32> -> tensor<4x16xf32>
// CHECK: weft.add %[[SUM]], %{{.*}} : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK: weft.softmax
func.func @pair(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %w1 = weft.constant dense<0.5> : tensor<16x8xf32>
  %b1 = weft.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %w2 = weft.constant dense<0.25> : tensor<8x16xf32>
  %b2 = weft.constant dense<0.1> : tensor<16xf32>
  %0 = weft.matmul %x, %w1 : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = weft.add %0, %b1 : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = weft.relu %1 : tensor<4x8xf32>
  %3 = weft.matmul %2, %w2 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %4 = weft.add %3, %b2 : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %5 = weft.softmax %4 {axis = 1 : i64, log = false} : tensor<4x16xf32>
  return %5 : tensor<4x16xf32>
}

// -----

// A softmax over the columns a column-parallel matmul split: the parts are
// gathered whole first (the columns are axis 1, so the parts are gathered
// stacked and moved into place).
// CHECK-LABEL: func.func @gathered
// CHECK: %[[M:.*]] = weft.matmul {{.*}} -> tensor<4x4xf32>
// CHECK: %[[L:.*]] = weft.reshape %[[M]] : (tensor<4x4xf32>) -> tensor<1x4x4xf32>
// CHECK: %[[G:.*]] = shard.all_gather %[[L]] on @devices grid_axes = [0] gather_axis = 0 : tensor<1x4x4xf32> -> tensor<2x4x4xf32>
// CHECK: %[[T:.*]] = weft.transpose %[[G]] {perm = array<i64: 1, 0, 2>} : (tensor<2x4x4xf32>) -> tensor<4x2x4xf32>
// CHECK: %[[W:.*]] = weft.reshape %[[T]] : (tensor<4x2x4xf32>) -> tensor<4x8xf32>
// CHECK: weft.softmax %[[W]] {axis = 1 : i64, log = false} : tensor<4x8xf32>
func.func @gathered(%x: tensor<4x16xf32>) -> tensor<4x8xf32> {
  %w = weft.constant dense<0.5> : tensor<16x8xf32>
  %0 = weft.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %1 = weft.softmax %0 {axis = 1 : i64, log = false} : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}
