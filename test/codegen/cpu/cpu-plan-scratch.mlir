// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-plan-scratch))' -verify-diagnostics | FileCheck %s

// Each workgroup gets its own 64-byte aligned block of a scratch buffer
// inserted before the workgroup id; allocas become views into it.
// CHECK-LABEL: func.func private @two_temps
// CHECK-SAME: (%{{.*}}: memref<8xf32>, %{{.*}}: memref<8xf32>, %[[S:.*]]: memref<384xi8>, %[[WG:.*]]: index)
// CHECK-SAME: weft.scratch_size = 384 : i64
// CHECK: %[[BLOCK:.*]] = arith.constant 192 : index
// CHECK: %[[BASE:.*]] = arith.muli %[[WG]], %[[BLOCK]] : index
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[O0:.*]] = arith.addi %[[BASE]], %[[C0]] : index
// CHECK: memref.view %[[S]][%[[O0]]][] : memref<384xi8> to memref<4xf32>
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[O1:.*]] = arith.addi %[[BASE]], %[[C64]] : index
// CHECK: memref.view %[[S]][%[[O1]]][] : memref<384xi8> to memref<2x16xf32>
// CHECK-NOT: memref.alloca
func.func private @two_temps(%in: memref<8xf32>, %out: memref<8xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 2 : i64} {
  %t = memref.alloca() {alignment = 64 : i64} : memref<4xf32>
  %u = memref.alloca() {alignment = 64 : i64} : memref<2x16xf32>
  %c0 = arith.constant 0 : index
  %v = memref.load %t[%c0] : memref<4xf32>
  memref.store %v, %u[%c0, %c0] : memref<2x16xf32>
  return
}

// -----

// Without temporaries the signature is unchanged.
// CHECK-LABEL: func.func private @none
// CHECK-SAME: (%{{.*}}: memref<8xf32>, %{{.*}}: index)
// CHECK-NOT: weft.scratch_size
func.func private @none(%out: memref<8xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  return
}

// -----

func.func private @dynamic(%out: memref<8xf32>, %n: index, %wg: index) attributes {weft.dispatch_fn} {
  // expected-error @below {{workgroup temporary 'memref<?xf32>' has no static size to plan}}
  %t = memref.alloca(%n) : memref<?xf32>
  return
}
