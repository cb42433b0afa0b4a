// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(weft-partition{devices=2})' -verify-diagnostics | FileCheck %s

// The batch (axis 0 of %x) is cut in two: every value that carries it
// shrinks, weights stay whole, the reshape keeps the batch at axis 0, the
// transpose moves it, a reduction over another axis keeps it. The function
// records the plan and the whole tensors' types.
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: (%{{.*}}: tensor<4x16xf32>, %{{.*}}: tensor<3xf32>) -> (tensor<4x8xf32>, tensor<3xf32>, tensor<2x4xf32>)
// CHECK-SAME: weft.abi_input_types = [tensor<8x16xf32>, tensor<3xf32>]
// CHECK-SAME: weft.abi_output_types = [tensor<8x8xf32>, tensor<3xf32>, tensor<2x8xf32>]
// CHECK-SAME: weft.input_splits = array<i64: 0, -1>
// CHECK-SAME: weft.num_devices = 2 : i64
// CHECK-SAME: weft.output_splits = array<i64: 0, -1, 1>
// CHECK-SAME: weft.parallel_plan = "data"
// CHECK: weft.constant {{.*}} : tensor<16x8xf32>
// CHECK: weft.matmul %{{.*}}, %{{.*}} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
// CHECK: weft.add %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: weft.softmax %{{.*}} {axis = 1 : i64, log = false} : tensor<4x8xf32>
// CHECK: weft.reshape %{{.*}} : (tensor<4x8xf32>) -> tensor<4x2x4xf32>
// CHECK: weft.reduce sum %{{.*}} {axes = array<i64: 1>, keepdims = false} : (tensor<4x2x4xf32>) -> tensor<4x4xf32>
// CHECK: weft.transpose %{{.*}} {perm = array<i64: 1, 0>} : (tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK: weft.slice %{{.*}} {sizes = array<i64: 2, 4>, starts = array<i64: 2, 0>, steps = array<i64: 1, 1>} : (tensor<4x4xf32>) -> tensor<2x4xf32>
// CHECK: weft.exp %{{.*}} : tensor<3xf32>
func.func @mlp(%x: tensor<8x16xf32>, %s: tensor<3xf32>) -> (tensor<8x8xf32>, tensor<3xf32>, tensor<2x8xf32>) {
  %w = weft.constant dense<0.5> : tensor<16x8xf32>
  %b = weft.constant dense<0.1> : tensor<8xf32>
  %0 = weft.matmul %x, %w : (tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<8x8xf32>
  %1 = weft.add %0, %b : (tensor<8x8xf32>, tensor<8xf32>) -> tensor<8x8xf32>
  %2 = weft.softmax %1 {axis = 1 : i64, log = false} : tensor<8x8xf32>
  %3 = weft.reshape %2 : (tensor<8x8xf32>) -> tensor<8x2x4xf32>
  %4 = weft.reduce sum %3 {axes = array<i64: 1>, keepdims = false} : (tensor<8x2x4xf32>) -> tensor<8x4xf32>
  %5 = weft.transpose %4 {perm = array<i64: 1, 0>} : (tensor<8x4xf32>) -> tensor<4x8xf32>
  %6 = weft.slice %5 {starts = array<i64: 2, 0>, sizes = array<i64: 2, 8>, steps = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
  %7 = weft.exp %s : tensor<3xf32>
  return %2, %7, %6 : tensor<8x8xf32>, tensor<3xf32>, tensor<2x8xf32>
}

// -----

func.func @softmax_over_batch(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @below {{data parallel: weft.softmax cannot run on parts of its tensors: it normalizes over the split axis}}
  %0 = weft.softmax %x {axis = 0 : i64, log = false} : tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// -----

func.func @reduce_over_batch(%x: tensor<8x16xf32>) -> tensor<16xf32> {
  // expected-error @below {{data parallel: weft.reduce cannot run on parts of its tensors: it reduces over the split axis}}
  %0 = weft.reduce sum %x {axes = array<i64: 0>, keepdims = false} : (tensor<8x16xf32>) -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

// A constant with the batch axis is cut at compile time: its parts are
// stacked on a new leading axis, and each device reads its own in place.
// CHECK-LABEL: func.func @batch_sized_constant
// CHECK: %[[C:.*]] = weft.constant dense<{{.*}}> : tensor<2x4x16xf32>
// CHECK: %[[S:.*]] = shard.all_slice %[[C]] on @devices grid_axes = [0] slice_axis = 0 : tensor<2x4x16xf32> -> tensor<1x4x16xf32>
// CHECK: %[[P:.*]] = weft.reshape %[[S]] : (tensor<1x4x16xf32>) -> tensor<4x16xf32>
// CHECK: weft.add %{{.*}}, %[[P]] : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
func.func @batch_sized_constant(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c = weft.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]]> : tensor<8x16xf32>
  %0 = weft.add %x, %c : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// -----

// Rows merged with the columns: each device's rows are a contiguous run of
// the flattened tensor, so the split stays on it.
// CHECK-LABEL: func.func @merge_batch
// CHECK: weft.reshape %{{.*}} : (tensor<4x16xf32>) -> tensor<64xf32>
func.func @merge_batch(%x: tensor<8x16xf32>) -> tensor<128xf32> {
  %0 = weft.reshape %x : (tensor<8x16xf32>) -> tensor<128xf32>
  return %0 : tensor<128xf32>
}

// -----

func.func @batch_into_columns(%x: tensor<8x16xf32>) -> tensor<128xf32> {
  %0 = weft.transpose %x {perm = array<i64: 1, 0>} : (tensor<8x16xf32>) -> tensor<16x8xf32>
  // expected-error @below {{it merges or splits the split axis in a way that does not keep each device's part contiguous}}
  %1 = weft.reshape %0 : (tensor<16x8xf32>) -> tensor<128xf32>
  return %1 : tensor<128xf32>
}

// -----

// expected-error @below {{data parallel: the batch of input '#0' is 3, which 2 devices cannot share equally (not a multiple)}}
func.func @odd_batch(%x: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %0 = weft.relu %x : tensor<3x16xf32>
  return %0 : tensor<3x16xf32>
}

// -----

// expected-error @below {{the batch of input 'x' is 1, which 2 devices cannot share equally (more devices than batch rows)}}
func.func @tiny_batch(%x: tensor<1x16xf32>) -> tensor<1x16xf32> attributes {weft.input_names = ["x"]} {
  %0 = weft.relu %x : tensor<1x16xf32>
  return %0 : tensor<1x16xf32>
}
