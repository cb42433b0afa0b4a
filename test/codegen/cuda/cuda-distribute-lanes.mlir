// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-distribute-lanes))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-distribute-lanes{on-host=true}))' | FileCheck %s --check-prefix=HOST

#id = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>
#merge = affine_map<(d0, d1) -> (d1)>

// x - sum(x) over a row of 64 shared by 32 lanes. On a GPU each lane runs
// the lane loops' bodies for itself (its index from gpu.lane_id), and the
// merge of the lanes' partial sums is five xor shuffles, then the init.
// CHECK-LABEL: func.func private @row_minus_sum
// CHECK-SAME: weft.lanes = 32 : i64
// CHECK: %[[L:.*]] = gpu.lane_id upper_bound 32
// CHECK-NOT: scf.forall
// CHECK: memref.subview %{{.*}}[0, %[[L]]] [1, 2] [1, 32]
// CHECK: %[[V:.*]] = memref.load %[[P:.*]][%[[L]], %[[C0:.*]]] : memref<32x1xf32>
// CHECK: %[[C16:.*]] = arith.constant 16 : i32
// CHECK: %[[S16:.*]], %{{.*}} = gpu.shuffle xor %[[V]], %[[C16]], %{{.*}} : f32
// CHECK: %[[V16:.*]] = arith.addf %[[V]], %[[S16]] : f32
// CHECK: arith.constant 8 : i32
// CHECK: gpu.shuffle xor %[[V16]]
// CHECK: arith.constant 4 : i32
// CHECK: gpu.shuffle xor
// CHECK: arith.constant 2 : i32
// CHECK: gpu.shuffle xor
// CHECK: arith.constant 1 : i32
// CHECK: %[[S1:.*]], %{{.*}} = gpu.shuffle xor
// CHECK: %[[T:.*]] = arith.addf %{{.*}}, %[[S1]] : f32
// CHECK: %[[I:.*]] = memref.load %[[SUM:.*]][%[[C0]]] : memref<1xf32>
// CHECK: %[[R:.*]] = arith.addf %[[I]], %[[T]] : f32
// CHECK: memref.store %[[R]], %[[SUM]][%[[C0]]] : memref<1xf32>
// CHECK-NOT: weft.lane_merge
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[SUM]] : memref<1x2xf32, strided<[64, 32], offset: ?>>, memref<1xf32>)
// CHECK: return

// On a CPU the lane loops are loops and the merge a loop over the partials.
// HOST-LABEL: func.func private @row_minus_sum
// HOST-NOT: gpu.
// HOST: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step
// HOST: memref.subview %{{.*}}[0, %[[L]]] [1, 2] [1, 32]
// HOST: linalg.generic {{.*}} ins(%{{.*}} : memref<32x1xf32>) outs(%{{.*}} : memref<1xf32>) {
// HOST: scf.for
func.func private @row_minus_sum(%arg0: memref<4x64xf32>, %arg1: memref<4x64xf32>, %id: index) attributes {weft.dispatch_fn, weft.lanes = 32 : i64, weft.workgroup_count = 4 : i64} {
  %zero = arith.constant 0.0 : f32
  %row = memref.subview %arg0[%id, 0] [1, 64] [1, 1] : memref<4x64xf32> to memref<1x64xf32, strided<[64, 1], offset: ?>>
  %out = memref.subview %arg1[%id, 0] [1, 64] [1, 1] : memref<4x64xf32> to memref<1x64xf32, strided<[64, 1], offset: ?>>
  %sum = memref.alloca() : memref<1xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<1xf32>)
  %partials = memref.alloca() : memref<32x1xf32>
  scf.forall (%l) in (32) {
    %mine = memref.subview %row[0, %l] [1, 2] [1, 32] : memref<1x64xf32, strided<[64, 1], offset: ?>> to memref<1x2xf32, strided<[64, 32], offset: ?>>
    %p = memref.subview %partials[%l, 0] [1, 1] [1, 1] : memref<32x1xf32> to memref<1xf32, strided<[1], offset: ?>>
    linalg.fill ins(%zero : f32) outs(%p : memref<1xf32, strided<[1], offset: ?>>)
    linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%mine : memref<1x2xf32, strided<[64, 32], offset: ?>>) outs(%p : memref<1xf32, strided<[1], offset: ?>>) {
    ^bb0(%in: f32, %acc: f32):
      %a = arith.addf %acc, %in : f32
      linalg.yield %a : f32
    }
  } {mapping = [#gpu.lane<linear_dim_0>]}
  linalg.generic {indexing_maps = [#id, #merge], iterator_types = ["reduction", "parallel"]} ins(%partials : memref<32x1xf32>) outs(%sum : memref<1xf32>) attrs = {weft.lane_merge} {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %acc, %in : f32
    linalg.yield %a : f32
  }
  scf.forall (%l) in (32) {
    %x = memref.subview %row[0, %l] [1, 2] [1, 32] : memref<1x64xf32, strided<[64, 1], offset: ?>> to memref<1x2xf32, strided<[64, 32], offset: ?>>
    %y = memref.subview %out[0, %l] [1, 2] [1, 32] : memref<1x64xf32, strided<[64, 1], offset: ?>> to memref<1x2xf32, strided<[64, 32], offset: ?>>
    linalg.generic {indexing_maps = [#id, #red, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %sum : memref<1x2xf32, strided<[64, 32], offset: ?>>, memref<1xf32>) outs(%y : memref<1x2xf32, strided<[64, 32], offset: ?>>) {
    ^bb0(%in: f32, %s: f32, %o: f32):
      %d = arith.subf %in, %s : f32
      linalg.yield %d : f32
    }
  } {mapping = [#gpu.lane<linear_dim_0>]}
  return
}

// The row is cleared outside the lane loops: all 32 lanes would write it,
// so the dispatch keeps one thread per row (no weft.lanes, lane loops as
// loops) rather than race.
// CHECK-LABEL: func.func private @writes_outside
// CHECK-SAME: attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64}
// CHECK-NOT: gpu.
// CHECK: scf.for
func.func private @writes_outside(%arg0: memref<4x64xf32>, %arg1: memref<4x64xf32>, %id: index) attributes {weft.dispatch_fn, weft.lanes = 32 : i64, weft.workgroup_count = 4 : i64} {
  %zero = arith.constant 0.0 : f32
  %row = memref.subview %arg0[%id, 0] [1, 64] [1, 1] : memref<4x64xf32> to memref<1x64xf32, strided<[64, 1], offset: ?>>
  %out = memref.subview %arg1[%id, 0] [1, 64] [1, 1] : memref<4x64xf32> to memref<1x64xf32, strided<[64, 1], offset: ?>>
  linalg.fill ins(%zero : f32) outs(%out : memref<1x64xf32, strided<[64, 1], offset: ?>>)
  scf.forall (%l) in (32) {
    %x = memref.subview %row[0, %l] [1, 2] [1, 32] : memref<1x64xf32, strided<[64, 1], offset: ?>> to memref<1x2xf32, strided<[64, 32], offset: ?>>
    %y = memref.subview %out[0, %l] [1, 2] [1, 32] : memref<1x64xf32, strided<[64, 1], offset: ?>> to memref<1x2xf32, strided<[64, 32], offset: ?>>
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : memref<1x2xf32, strided<[64, 32], offset: ?>>) outs(%y : memref<1x2xf32, strided<[64, 32], offset: ?>>) {
    ^bb0(%in: f32, %o: f32):
      %d = arith.addf %in, %o : f32
      linalg.yield %d : f32
    }
  } {mapping = [#gpu.lane<linear_dim_0>]}
  return
}

// A lane loop of fewer iterations than lanes runs on the first lanes (here
// lane 0 writes the thread's one output).
// CHECK-LABEL: func.func private @lane_zero_writes
// CHECK-SAME: weft.lanes = 32 : i64
// CHECK: %[[L:.*]] = gpu.lane_id upper_bound 32
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[L]], %[[ONE]] : index
// CHECK: scf.if %[[FIRST]] {
// CHECK: memref.store
// CHECK: }
// CHECK: return
// HOST-LABEL: func.func private @lane_zero_writes
// HOST: scf.for
// HOST: memref.store
func.func private @lane_zero_writes(%arg0: memref<4xf32>, %id: index) attributes {weft.dispatch_fn, weft.lanes = 32 : i64, weft.workgroup_count = 4 : i64} {
  %one = arith.constant 1.0 : f32
  scf.forall (%l) in (1) {
    memref.store %one, %arg0[%id] : memref<4xf32>
  } {mapping = [#gpu.lane<linear_dim_0>]}
  return
}
