// RUN: weft-opt %s -split-input-file -weft-cpu-build-host='model-name=net target=cuda' -verify-diagnostics | FileCheck %s

// For a CUDA device the entry is net_device_entry(device, kernels, arena,
// weights, inputs, outputs): each dispatch launches its kernel by index with
// the launch shape weft-cuda-outline-kernels chose (blocks x threads), and
// the weights are one blob, each at an aligned offset from `weights` (the
// bools as bytes); no dispatch function or wrapper is left.
// CHECK-LABEL: module attributes
// CHECK-SAME: weft.weight_bytes = 35 : i64
// CHECK-SAME: weft.weights_global = "__weft_weights"
// CHECK: llvm.func @weft_device_launch(!llvm.ptr, !llvm.ptr, i32, !llvm.ptr, i32, i32, i32, i32, i32, i32, i32, i32) -> !llvm.ptr
// CHECK-NOT: func.func private
// CHECK: func.func @net_device_entry(%[[DEV:.*]]: !llvm.ptr, %[[K:.*]]: !llvm.ptr, %[[ARENA:.*]]: !llvm.ptr, %[[W:.*]]: !llvm.ptr, %[[IN:.*]]: !llvm.ptr, %[[OUT:.*]]: !llvm.ptr) -> !llvm.ptr
// CHECK: %[[X:.*]] = llvm.load
// CHECK: %[[W0:.*]] = llvm.getelementptr %[[W]][%{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[C64:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: %[[W1:.*]] = llvm.getelementptr %[[W]][%[[C64]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[T:.*]] = llvm.getelementptr %[[ARENA]]
// CHECK: %[[B0:.*]] = llvm.alloca %{{.*}} x !llvm.array<3 x ptr>
// CHECK: %[[KI:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[NB:.*]] = llvm.mlir.constant(3 : i32) : i32
// CHECK: %[[G:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: %[[TH:.*]] = llvm.mlir.constant(32 : i32) : i32
// CHECK: llvm.call @weft_device_launch(%[[DEV]], %[[K]], %[[KI]], %[[B0]], %[[NB]], %[[G]], %{{.*}}, %{{.*}}, %[[TH]], %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.mlir.constant(3 : i32) : i32
// CHECK: llvm.mlir.constant(2 : i32) : i32
// CHECK: llvm.mlir.constant(256 : i32) : i32
// CHECK: llvm.call @weft_device_launch
// CHECK: llvm.mlir.global private constant @__weft_weights("{{.*}}\01\00\01")
func.func private @net_dispatch_0(memref<4x8xf32>, memref<8xf32>, memref<4x8xf32>, index) attributes {weft.dispatch_fn, weft.kernel_index = 0 : i64, weft.launch = array<i64: 1, 32>}
func.func private @net_dispatch_1(memref<4x8xf32>, memref<3xi8>, memref<4x8xf32>, index) attributes {weft.dispatch_fn, weft.kernel_index = 1 : i64, weft.launch = array<i64: 2, 256>}
func.func @net(%arg0: tensor<4x8xf32>) -> tensor<4x8xf32> attributes {weft.arena_size = 128 : i64, weft.input_names = ["x"], weft.output_names = ["y"]} {
  %w = weft.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : tensor<8xf32>
  %b = weft.constant dense<[true, false, true]> : tensor<3xi1>
  %0 = weft.dispatch_call @net_dispatch_0(%arg0, %w) {result_offsets = array<i64: 0>} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = weft.dispatch_call @net_dispatch_1(%0, %b) {result_offsets = array<i64: -1>} : (tensor<4x8xf32>, tensor<3xi1>) -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// A run-time If reads its condition's byte from the device into a host
// slot made once in the entry block, then branches on it.
// CHECK-LABEL: llvm.func @weft_device_read(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64) -> !llvm.ptr
// CHECK: func.func @net_device_entry
// CHECK: %[[SLOT:.*]] = llvm.alloca %{{.*}} x i8
// CHECK: %[[COND:.*]] = llvm.load
// CHECK: %[[ST:.*]] = llvm.call @weft_device_read(%arg0, %[[SLOT]], %[[COND]], %{{.*}})
// CHECK: cf.cond_br %{{.*}}, ^[[EXIT:.*]](%[[ST]] : !llvm.ptr), ^[[NEXT:.*]]
// CHECK: ^[[NEXT]]:
// CHECK: %[[BYTE:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> i8
// CHECK: %[[TAKEN:.*]] = llvm.icmp "ne" %[[BYTE]]
// CHECK: cf.cond_br %[[TAKEN]]
func.func @net(%arg0: tensor<i1>, %arg1: tensor<4xf32>) -> tensor<4xf32> attributes {weft.arena_size = 0 : i64} {
  %0 = weft.if %arg0 : tensor<i1> -> tensor<4xf32> {
    weft.yield %arg1 : tensor<4xf32>
  } else {
    weft.yield %arg1 : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

// A dispatch whose kernel was never outlined cannot be launched.
func.func private @net_dispatch_0(%arg0: memref<4xf32>, %arg1: memref<4xf32>, %arg2: index) attributes {weft.dispatch_fn} {
  return
}
func.func @net(%arg0: tensor<4xf32>) -> tensor<4xf32> attributes {weft.arena_size = 0 : i64} {
  // expected-error @below {{dispatch has no kernel (run weft-cuda-outline-kernels)}}
  %0 = weft.dispatch_call @net_dispatch_0(%arg0) {result_offsets = array<i64: -1>} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
