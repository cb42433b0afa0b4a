// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(weft-partition{devices=4 plan=data*tensor})' -verify-diagnostics | FileCheck %s

// The hybrid on a 2 x 2 grid: the batch of 4 rows is cut into 2 parts
// along grid axis 0 (the input and output splits), then the Megatron pair
// splits each part's work across the 2 devices of grid axis 1: the weight
// parts are sliced, and the sum all-reduced, along axis 1 only.
// CHECK: shard.grid @devices(shape = 2x2)
// CHECK-LABEL: func.func @pair
// CHECK-SAME: (%[[X:.*]]: tensor<2x16xf32>) -> tensor<2x16xf32>
// CHECK-SAME: weft.input_splits = array<i64: 0>
// CHECK-SAME: weft.num_devices = 4 : i64
// CHECK-SAME: weft.output_splits = array<i64: 0>
// CHECK-SAME: weft.parallel_plan = "data*tensor"
// CHECK: %[[W1:.*]] = weft.constant {{.*}} : tensor<2x16x4xf32>
// CHECK: shard.all_slice %[[W1]] on @devices grid_axes = [1] slice_axis = 0 : tensor<2x16x4xf32> -> tensor<1x16x4xf32>
// CHECK: weft.matmul %[[X]], %{{.*}} : (tensor<2x16xf32>, tensor<16x4xf32>) -> tensor<2x4xf32>
// CHECK: %[[PART:.*]] = weft.matmul %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
// CHECK: shard.all_reduce %[[PART]] on @devices grid_axes = [1] : tensor<2x16xf32> -> tensor<2x16xf32>
func.func @pair(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %w1 = weft.constant dense<0.5> : tensor<16x8xf32>
  %w2 = weft.constant dense<0.25> : tensor<8x16xf32>
  %h = weft.matmul %x, %w1 : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %r = weft.relu %h : tensor<4x8xf32>
  %y = weft.matmul %r, %w2 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// An output the tensor plan leaves split (a column-parallel matmul last) is
// gathered whole within its part's row, along axis 1.
// CHECK-LABEL: func.func @column_last
// CHECK: shard.all_gather %{{.*}} on @devices grid_axes = [1]
// CHECK: return %{{.*}} : tensor<2x8xf32>
func.func @column_last(%x: tensor<4x16xf32>) -> tensor<4x8xf32> {
  %w = weft.constant dense<0.5> : tensor<16x8xf32>
  %h = weft.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %h : tensor<4x8xf32>
}

// -----

// A batch of 1 cannot be cut into the grid's 2 data parts.
// expected-error @below {{data*tensor: the batch is 1, which the 2 data parts of a 2 x 2 grid cannot share equally}}
func.func @no_batch(%x: tensor<1x16xf32>) -> tensor<1x16xf32> {
  %0 = weft.relu %x : tensor<1x16xf32>
  return %0 : tensor<1x16xf32>
}
