// RUN: weft-opt %s -split-input-file -weft-cpu-build-host -verify-diagnostics | FileCheck %s
// RUN: weft-opt %s -split-input-file -weft-cpu-build-host='model-name=net' -verify-diagnostics | FileCheck %s --check-prefix=NET

// The planned entry function becomes <name>_entry(device, arena, inputs,
// outputs) -> status, calling weft_device_dispatch once per dispatch with a
// stack array of buffer addresses and the workgroup count.

// CHECK-LABEL: module attributes
// CHECK-SAME: weft.arena_size = 192 : i64
// CHECK-SAME: weft.input_names = ["x", "s"]
// CHECK-SAME: weft.input_types = [tensor<4x8xf32>, tensor<f32>]
// CHECK-SAME: weft.model_name = "model"
// CHECK-SAME: weft.output_names = ["y", "z"]
// CHECK-SAME: weft.output_types = [tensor<32xf32>, tensor<4x8xf32>]
// CHECK: llvm.func @weft_device_dispatch(!llvm.ptr, !llvm.ptr, !llvm.ptr, i64) -> !llvm.ptr

// Each dispatch function gets a (bindings, workgroup id) wrapper that
// rebuilds identity-layout descriptors from the bound base pointers.
// CHECK-LABEL: func.func private @main_dispatch_0_wg(%arg0: !llvm.ptr, %arg1: index)
// CHECK: %[[S0:.*]] = llvm.getelementptr %arg0[0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.insertvalue %[[P0]], %{{.*}}[0] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK: %[[M0:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<4x8xf32>
// CHECK: %[[M1:.*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<8xf32>
// CHECK: %[[M2:.*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<4x8xf32>
// CHECK: call @main_dispatch_0(%[[M0]], %[[M1]], %[[M2]], %arg1) : (memref<4x8xf32>, memref<8xf32>, memref<4x8xf32>, index) -> ()
// CHECK-LABEL: func.func private @main_dispatch_1_wg
// CHECK-LABEL: func.func private @main_dispatch_2_wg
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64)> to memref<f32>

// Weights become private constant globals.
// CHECK: llvm.mlir.global private constant @[[W:__weft_weight_0]](dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00]> : tensor<8xf32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<8 x f32>

// CHECK-LABEL: func.func @model_entry
// CHECK-SAME: (%[[DEV:.*]]: !llvm.ptr, %[[ARENA:.*]]: !llvm.ptr, %[[INS:.*]]: !llvm.ptr, %[[OUTS:.*]]: !llvm.ptr) -> !llvm.ptr
// CHECK-NOT: weft.
// Inputs come from the input array, the weight from its global, the
// intermediate from the arena at its planned offset.
// CHECK: %[[X:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[SC:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[WP:.*]] = llvm.mlir.addressof @[[W]] : !llvm.ptr
// CHECK: %[[OFF:.*]] = llvm.mlir.constant(128 : i64) : i64
// CHECK: %[[T:.*]] = llvm.getelementptr %[[ARENA]][%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[B0:.*]] = llvm.alloca %{{.*}} x !llvm.array<3 x ptr>
// CHECK: llvm.store %[[X]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.store %[[WP]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.store %[[T]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: %[[F0:.*]] = constant @main_dispatch_0_wg : (!llvm.ptr, index) -> ()
// CHECK: %[[FP0:.*]] = builtin.unrealized_conversion_cast %[[F0]] : (!llvm.ptr, index) -> () to !llvm.ptr
// CHECK: %[[N0:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[ST0:.*]] = llvm.call @weft_device_dispatch(%[[DEV]], %[[FP0]], %[[B0]], %[[N0]])
// A non-null status returns at once.
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: %[[BAD:.*]] = llvm.icmp "ne" %[[ST0]], %[[NULL]] : !llvm.ptr
// CHECK: cf.cond_br %[[BAD]], ^[[EXIT:.*]](%[[ST0]] : !llvm.ptr), ^[[NEXT:.*]]
// The reshape aliases the arena buffer; a returned result is written into
// its output slot.
// CHECK: ^[[NEXT]]:
// CHECK: %[[O0:.*]] = llvm.getelementptr %[[OUTS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[Y:.*]] = llvm.load %[[O0]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.alloca %{{.*}} x !llvm.array<2 x ptr>
// CHECK: llvm.store %[[T]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.store %[[Y]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: constant @main_dispatch_1_wg
// CHECK: llvm.mlir.constant(1 : i64) : i64
// CHECK: llvm.call @weft_device_dispatch
// CHECK: %[[O1:.*]] = llvm.getelementptr %[[OUTS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[Z:.*]] = llvm.load %[[O1]]
// CHECK: llvm.store %[[SC]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.store %[[T]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.store %[[Z]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.call @weft_device_dispatch
// CHECK: cf.cond_br %{{.*}}, ^[[EXIT]](%{{.*}} : !llvm.ptr), ^[[LAST:.*]]
// Success returns null.
// CHECK: ^[[LAST]]:
// CHECK-NEXT: %[[OK:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-NEXT: cf.br ^[[EXIT]](%[[OK]] : !llvm.ptr)
// CHECK: ^[[EXIT]](%[[STATUS:.*]]: !llvm.ptr):
// CHECK: return %[[STATUS]] : !llvm.ptr
// The planned entry function is gone.
// CHECK-NOT: func.func @main(

// NET: weft.model_name = "net"
// NET: func.func @net_entry(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) -> !llvm.ptr
// NET-NOT: @model_entry
func.func private @main_dispatch_0(%arg0: memref<4x8xf32>, %arg1: memref<8xf32>, %arg2: memref<4x8xf32>, %arg3: index) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %c0 = arith.constant 0 : index
  %v = memref.load %arg1[%arg3] : memref<8xf32>
  memref.store %v, %arg2[%arg3, %c0] : memref<4x8xf32>
  return
}
func.func private @main_dispatch_1(%arg0: memref<32xf32>, %arg1: memref<32xf32>, %arg2: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  linalg.copy ins(%arg0 : memref<32xf32>) outs(%arg1 : memref<32xf32>)
  return
}
func.func private @main_dispatch_2(%arg0: memref<f32>, %arg1: memref<4x8xf32>, %arg2: memref<4x8xf32>, %arg3: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  linalg.copy ins(%arg1 : memref<4x8xf32>) outs(%arg2 : memref<4x8xf32>)
  return
}
func.func @main(%arg0: tensor<4x8xf32>, %arg1: tensor<f32>) -> (tensor<32xf32>, tensor<4x8xf32>) attributes {weft.arena_size = 192 : i64, weft.input_names = ["x", "s"], weft.output_names = ["y", "z"]} {
  %w = weft.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : tensor<8xf32>
  %0 = weft.dispatch_call @main_dispatch_0(%arg0, %w) {result_offsets = array<i64: 128>} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = weft.reshape %0 : (tensor<4x8xf32>) -> tensor<32xf32>
  %2 = weft.dispatch_call @main_dispatch_1(%1) {result_offsets = array<i64: -1>} : (tensor<32xf32>) -> tensor<32xf32>
  %3 = weft.dispatch_call @main_dispatch_2(%arg1, %0) {result_offsets = array<i64: -1>} : (tensor<f32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %2, %3 : tensor<32xf32>, tensor<4x8xf32>
}

// -----

func.func private @main_dispatch_0(%arg0: memref<4xf32>, %arg1: memref<4xf32>, %arg2: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  return
}
func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{dispatch has no memory plan (run weft-plan-memory)}}
  %0 = weft.dispatch_call @main_dispatch_0(%arg0) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// expected-error @below {{no entry function to build a host program from}}
module {
  func.func private @main_dispatch_0(%arg0: memref<4xf32>, %arg1: index) attributes {weft.dispatch_fn} {
    return
  }
}

// -----

func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{unexpected op in the planned entry function}}
  %0 = weft.relu %arg0 : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Arena offsets of 256 MiB and more do not fit a GEP's constant index
// (29 bits): they stay exact as i64 values.
// CHECK-LABEL: func.func @model_entry
// CHECK: %[[BIG:.*]] = llvm.mlir.constant(320000000 : i64) : i64
// CHECK: llvm.getelementptr %{{.*}}[%[[BIG]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: %[[HUGE:.*]] = llvm.mlir.constant(8589934592 : i64) : i64
// CHECK: llvm.getelementptr %{{.*}}[%[[HUGE]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
func.func private @main_dispatch_0(%arg0: memref<4xf32>, %arg1: memref<4xf32>, %arg2: memref<4xf32>, %arg3: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  return
}
func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> attributes {weft.arena_size = 8589934608 : i64} {
  %0:2 = weft.dispatch_call @main_dispatch_0(%arg0) {result_offsets = array<i64: 320000000, 8589934592>} : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return %0#0 : tensor<4xf32>
}

// -----

// Scratch for workgroup temporaries follows the planned tensors (aligned to
// 64 bytes); the largest need is reserved once and bound after the results.
// CHECK-LABEL: module attributes
// CHECK-SAME: weft.arena_size = 320 : i64
// CHECK-LABEL: func.func @model_entry
// CHECK: %[[OFF:.*]] = llvm.mlir.constant(128 : i64) : i64
// CHECK: %[[SCRATCH:.*]] = llvm.getelementptr %{{.*}}[%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: llvm.alloca %{{.*}} x !llvm.array<3 x ptr>
// CHECK: llvm.store
// CHECK: llvm.store
// CHECK: llvm.store %[[SCRATCH]]
// CHECK: llvm.call @weft_device_dispatch
// CHECK: llvm.alloca %{{.*}} x !llvm.array<3 x ptr>
// CHECK: llvm.store
// CHECK: llvm.store
// CHECK: llvm.store %[[SCRATCH]]
func.func private @main_dispatch_0(%arg0: memref<4xf32>, %arg1: memref<4xf32>, %s: memref<192xi8>, %arg3: index) attributes {weft.dispatch_fn, weft.scratch_size = 192 : i64, weft.workgroup_count = 1 : i64} {
  return
}
func.func private @main_dispatch_1(%arg0: memref<4xf32>, %arg1: memref<4xf32>, %s: memref<64xi8>, %arg3: index) attributes {weft.dispatch_fn, weft.scratch_size = 64 : i64, weft.workgroup_count = 1 : i64} {
  return
}
func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> attributes {weft.arena_size = 100 : i64} {
  %0 = weft.dispatch_call @main_dispatch_0(%arg0) {result_offsets = array<i64: 0>} : (tensor<4xf32>) -> tensor<4xf32>
  %1 = weft.dispatch_call @main_dispatch_1(%0) {result_offsets = array<i64: -1>} : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}
