// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(weft-partition{devices=2 plan=pipeline micro-batches=4})' | FileCheck %s

// The batch of 8 is cut into 4 micro-batches of 2; the two big matmuls land
// in different stages. Stage 0's result and the input, which stage 1 reads
// too (a skip connection), are sent at the end of stage 0 and received at
// the start of stage 1; the output is computed by the last stage.
// CHECK-LABEL: func.func @two_layers
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf32>) -> tensor<2x64xf32>
// CHECK-SAME: weft.micro_batches = 4 : i64
// CHECK-SAME: weft.num_devices = 2 : i64
// CHECK-SAME: weft.parallel_plan = "pipeline"
// CHECK: %[[A:.*]] = weft.matmul %[[X]]
// CHECK: %[[R:.*]] = weft.relu %[[A]]
// CHECK: %[[SX:.*]] = shard.send %[[X]] on @devices grid_axes = [0] destination = [1] {weft.stage = 0 : i64}
// CHECK: %[[SR:.*]] = shard.send %[[R]] on @devices grid_axes = [0] destination = [1] {weft.stage = 0 : i64}
// CHECK: %[[RX:.*]] = shard.recv %[[SX]] on @devices grid_axes = [0] source = [0] {weft.stage = 1 : i64}
// CHECK: %[[RR:.*]] = shard.recv %[[SR]] on @devices grid_axes = [0] source = [0] {weft.stage = 1 : i64}
// CHECK: %[[B:.*]] = weft.matmul %[[RR]]
// CHECK: %[[S:.*]] = weft.add %[[B]], %[[RX]]
// CHECK: return %[[S]]
func.func @two_layers(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %w0 = weft.constant dense<0.5> : tensor<64x64xf32>
  %w1 = weft.constant dense<0.25> : tensor<64x64xf32>
  %0 = weft.matmul %x, %w0 : (tensor<8x64xf32>, tensor<64x64xf32>) -> tensor<8x64xf32>
  %1 = weft.relu %0 : tensor<8x64xf32>
  %2 = weft.matmul %1, %w1 : (tensor<8x64xf32>, tensor<64x64xf32>) -> tensor<8x64xf32>
  %3 = weft.add %2, %x : (tensor<8x64xf32>, tensor<8x64xf32>) -> tensor<8x64xf32>
  return %3 : tensor<8x64xf32>
}

// -----

// One matmul holds most of the work: a cut inside it balances the stages,
// so it is cut into 8 blocks of 64 output columns; the first stage computes
// the small matmul and 3 blocks (the balance the dynamic program finds
// with the transfers), the second the other 5, and a concat
// in the last stage joins them.
// CHECK-LABEL: func.func @one_big_matmul
// CHECK: weft.matmul %{{.*}} : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
// CHECK-COUNT-3: weft.matmul %{{.*}} : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
// CHECK: shard.send
// CHECK: shard.recv
// CHECK-COUNT-5: weft.matmul %recv{{.*}} : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
// CHECK: weft.concat {{.*}} {axis = 1 : i64} : ({{.*}}) -> tensor<2x512xf32>
func.func @one_big_matmul(%x: tensor<8x64xf32>) -> tensor<8x512xf32> {
  %w0 = weft.constant dense<0.5> : tensor<64x64xf32>
  %w1 = weft.constant dense<0.25> : tensor<64x512xf32>
  %0 = weft.matmul %x, %w0 : (tensor<8x64xf32>, tensor<64x64xf32>) -> tensor<8x64xf32>
  %1 = weft.matmul %0, %w1 : (tensor<8x64xf32>, tensor<64x512xf32>) -> tensor<8x512xf32>
  return %1 : tensor<8x512xf32>
}
