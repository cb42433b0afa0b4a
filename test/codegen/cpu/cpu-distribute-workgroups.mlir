// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-distribute-workgroups))' -verify-diagnostics | FileCheck %s

// Each dispatch function gains a trailing workgroup id; its one workgroup
// loop is replaced by the body of a single iteration at lb + id * step.
// CHECK-LABEL: func.func private @one_dim
// CHECK-SAME: (%{{.*}}: memref<64x64xf32>, %[[OUT:.*]]: memref<64x32xf32>, %{{.*}}: memref<64x32xf32>, %[[WG:.*]]: index)
// CHECK-SAME: weft.workgroup_count = 8 : i64
// CHECK-NOT: scf.forall
// CHECK: %[[C8:.*]] = arith.constant 8 : index
// CHECK: %[[S:.*]] = arith.muli %[[WG]], %[[C8]] : index
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[I:.*]] = arith.addi %[[S]], %[[C0]] : index
// CHECK: %[[D:.*]] = memref.subview %[[OUT]][%[[I]], 0] [8, 32] [1, 1]
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[D]]
// CHECK: linalg.matmul {{.*}} outs(%[[D]]
// CHECK-NEXT: return
func.func private @one_dim(%arg0: memref<64x64xf32>, %arg1: memref<64x32xf32>, %w: memref<64x32xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 8 : i64} {
  %cst = arith.constant 0.000000e+00 : f32
  scf.forall (%i) = (0) to (64) step (8) {
    %a = memref.subview %arg0[%i, 0] [8, 64] [1, 1] : memref<64x64xf32> to memref<8x64xf32, strided<[64, 1], offset: ?>>
    %d = memref.subview %arg1[%i, 0] [8, 32] [1, 1] : memref<64x32xf32> to memref<8x32xf32, strided<[32, 1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%d : memref<8x32xf32, strided<[32, 1], offset: ?>>)
    linalg.matmul ins(%a, %w : memref<8x64xf32, strided<[64, 1], offset: ?>>, memref<64x32xf32>) outs(%d : memref<8x32xf32, strided<[32, 1], offset: ?>>)
  }
  return
}

// -----

// A 2-D workgroup loop delinearizes the id over its trip counts (2 x 2).
// CHECK-LABEL: func.func private @two_dims
// CHECK-SAME: (%{{.*}}: memref<1x2x8xf32>, %{{.*}}: memref<1x2x8xf32>, %[[WG:.*]]: index)
// CHECK: %[[IDS:.*]]:2 = affine.delinearize_index %[[WG]] into (2, 2) : index, index
// CHECK: arith.muli %[[IDS]]#0, %{{.*}} : index
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: %[[J:.*]] = arith.muli %[[IDS]]#1, %[[C4]] : index
// CHECK-NOT: scf.forall
// CHECK: linalg.copy
func.func private @two_dims(%arg0: memref<1x2x8xf32>, %arg1: memref<1x2x8xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  scf.forall (%i, %j) = (0, 0) to (2, 8) step (1, 4) {
    %a = memref.subview %arg0[0, %i, %j] [1, 1, 4] [1, 1, 1] : memref<1x2x8xf32> to memref<1x1x4xf32, strided<[16, 8, 1], offset: ?>>
    %d = memref.subview %arg1[0, %i, %j] [1, 1, 4] [1, 1, 1] : memref<1x2x8xf32> to memref<1x1x4xf32, strided<[16, 8, 1], offset: ?>>
    linalg.copy ins(%a : memref<1x1x4xf32, strided<[16, 8, 1], offset: ?>>) outs(%d : memref<1x1x4xf32, strided<[16, 8, 1], offset: ?>>)
  }
  return
}

// -----

// A single-workgroup dispatch only gains the (unused) id argument.
// CHECK-LABEL: func.func private @whole
// CHECK-SAME: (%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>, %{{.*}}: index)
// CHECK-NEXT: linalg.copy
// CHECK-NEXT: return
func.func private @whole(%arg0: memref<4xf32>, %arg1: memref<4xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  linalg.copy ins(%arg0 : memref<4xf32>) outs(%arg1 : memref<4xf32>)
  return
}

// -----

// Other functions are left alone.
// CHECK-LABEL: func.func @host
// CHECK-SAME: (%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>) {
// CHECK: scf.forall
func.func @host(%arg0: memref<4xf32>, %arg1: memref<4xf32>) {
  scf.forall (%i) in (4) {
    %v = memref.load %arg0[%i] : memref<4xf32>
    memref.store %v, %arg1[%i] : memref<4xf32>
  }
  return
}

// -----

// expected-error @below {{workgroup count 4 does not match the loop's 8}}
func.func private @count_mismatch(%arg0: memref<64xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %cst = arith.constant 0.0 : f32
  scf.forall (%i) = (0) to (64) step (8) {
    %d = memref.subview %arg0[%i] [8] [1] : memref<64xf32> to memref<8xf32, strided<[1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%d : memref<8xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// expected-error @below {{expected one bufferized workgroup scf.forall}}
func.func private @two_loops(%arg0: memref<64xf32>) attributes {weft.dispatch_fn} {
  %cst = arith.constant 0.0 : f32
  scf.forall (%i) in (2) {
    memref.store %cst, %arg0[%i] : memref<64xf32>
  }
  scf.forall (%i) in (2) {
    memref.store %cst, %arg0[%i] : memref<64xf32>
  }
  return
}

// -----

// The loop must be bufferized already (no results).
// expected-error @below {{expected one bufferized workgroup scf.forall}}
func.func private @tensor_forall(%arg0: tensor<64xf32>) attributes {weft.dispatch_fn} {
  %r = scf.forall (%i) in (64) shared_outs(%o = %arg0) -> (tensor<64xf32>) {
    %s = tensor.extract_slice %o[%i] [1] [1] : tensor<64xf32> to tensor<1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s into %o[%i] [1] [1] : tensor<1xf32> into tensor<64xf32>
    }
  }
  return
}

// -----

func.func private @dynamic(%arg0: memref<64xf32>, %n: index) attributes {weft.dispatch_fn} {
  %cst = arith.constant 0.0 : f32
  // expected-error @below {{workgroup loop bounds must be static}}
  scf.forall (%i) in (%n) {
    memref.store %cst, %arg0[%i] : memref<64xf32>
  }
  return
}

// -----

// A write of an argument's buffer outside the loop (a private result
// copied out whole) would let every workgroup overwrite the others' tiles:
// the dispatch runs as one workgroup with a sequential loop instead.
// CHECK-LABEL: func.func private @copy_out
// CHECK-SAME: weft.workgroup_count = 1 : i64
// CHECK-NOT: scf.forall
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: memref.subview %{{.*}}[%[[I]]] [8] [1]
// CHECK: linalg.fill
// CHECK: }
// CHECK: memref.copy
func.func private @copy_out(%arg0: memref<64xf32>, %arg1: memref<64xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 8 : i64} {
  %cst = arith.constant 0.0 : f32
  %tmp = memref.alloca() : memref<64xf32>
  scf.forall (%i) = (0) to (64) step (8) {
    %d = memref.subview %tmp[%i] [8] [1] : memref<64xf32> to memref<8xf32, strided<[1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%d : memref<8xf32, strided<[1], offset: ?>>)
  }
  memref.copy %tmp, %arg1 : memref<64xf32> to memref<64xf32>
  return
}

// -----

// Writes of private buffers outside the loop are each workgroup's own.
// CHECK-LABEL: func.func private @private_write
// CHECK-SAME: weft.workgroup_count = 2 : i64
// CHECK-NOT: scf.for
func.func private @private_write(%arg0: memref<64xf32>, %arg1: memref<64xf32>) attributes {weft.dispatch_fn, weft.workgroup_count = 2 : i64} {
  %cst = arith.constant 0.0 : f32
  %tmp = memref.alloca() : memref<4xf32>
  linalg.fill ins(%cst : f32) outs(%tmp : memref<4xf32>)
  scf.forall (%i) = (0) to (64) step (32) {
    %d = memref.subview %arg1[%i] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%d : memref<32xf32, strided<[1], offset: ?>>)
  }
  return
}
