// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-prefetch-weights{min-slab-bytes=1024}))' | FileCheck %s
// RUN: weft-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(weft-cpu-prefetch-weights))' | FileCheck %s --check-prefix=DEFAULT

// A workgroup computes 8 rows x the 32 channels of its filter slab
// %w[%wg] (64 x 32 f32: 8 KiB, 128 lines), two rows per register tile:
// 4 x 64 steps. At each step one line of the next workgroup's slab is
// prefetched into L2: the step's number g = 64 * i + 2 * k (i steps by 2)
// runs over 0, 2, ..., 510; line = (g * 2^30) >> 32 = g / 4 walks the 128
// lines, each line 16 f32 further. The last workgroup prefetches its own
// slab again (min with 3).
// CHECK: #[[G:.*]] = affine_map<(d0, d1) -> (d0 * 64 + d1 * 2)>
// CHECK-LABEL: func.func private @rows_by_k
// CHECK-SAME: (%{{.*}}: memref<8x64xf32>, %[[W:.*]]: memref<4x64x32xf32>, %{{.*}}: memref<8x4x32xf32>, %[[WG:.*]]: index)
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[W]] {{\[}}[0], [1, 2]] : memref<4x64x32xf32> into memref<4x2048xf32>
// CHECK: %[[NEXT:.*]] = arith.addi %[[WG]], %{{.*}} : index
// CHECK: %[[LAST:.*]] = arith.constant 3 : index
// CHECK: %[[SLAB:.*]] = arith.minsi %[[NEXT]], %[[LAST]] : index
// CHECK: %[[SCALE:.*]] = arith.constant 1073741824 : index
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: %[[STEP:.*]] = affine.apply #[[G]](%[[I]], %[[K]])
// CHECK: %[[SCALED:.*]] = arith.muli %[[STEP]], %[[SCALE]] : index
// CHECK: %[[LINE:.*]] = arith.shrui %[[SCALED]], %[[C32]] : index
// CHECK: %[[OFF:.*]] = arith.shli %[[LINE]], %[[C4]] : index
// CHECK: memref.prefetch %[[FLAT]][%[[SLAB]], %[[OFF]]], read, locality<2>, data : memref<4x2048xf32>
// CHECK-NEXT: vector.transfer_read %[[W]][%[[WG]], %[[K]], %{{.*}}]
// CHECK-NOT: memref.prefetch
// The default threshold (16 KiB) leaves an 8 KiB slab alone.
// DEFAULT-LABEL: func.func private @rows_by_k
// DEFAULT-NOT: memref.prefetch
func.func private @rows_by_k(%a: memref<8x64xf32>, %w: memref<4x64x32xf32>, %out: memref<8x4x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %acc0 = arith.constant dense<0.0> : vector<32xf32>
  scf.for %i = %c0 to %c8 step %c2 {
    %acc = scf.for %k = %c0 to %c64 step %c1 iter_args(%x = %acc0) -> (vector<32xf32>) {
      %b = vector.transfer_read %w[%wg, %k, %c0], %zero {in_bounds = [true]} : memref<4x64x32xf32>, vector<32xf32>
      %s = memref.load %a[%i, %k] : memref<8x64xf32>
      %sb = vector.broadcast %s : f32 to vector<32xf32>
      %y = vector.fma %sb, %b, %x : vector<32xf32>
      scf.yield %y : vector<32xf32>
    }
    vector.transfer_write %acc, %out[%i, %wg, %c0] {in_bounds = [true]} : vector<32xf32>, memref<8x4x32xf32>
  }
  return
}

// -----

// Two slabs per workgroup (2 * wg + j): the loop over j picks the slab,
// so the prefetch is spread over the k loop inside it alone and fetches
// slab 2 * (wg + 1) + j. The k loop has 64 steps for 128 lines: two lines
// a step, g = 2 * k and g + 1, scaled by 2^32 (one line per unit).
// CHECK-LABEL: func.func private @two_slabs
// CHECK-SAME: %[[W:[^:]*]]: memref<8x64x32xf32>, %{{.*}}: memref<64xf32>, %[[WG:[^:]*]]: index)
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[W]]
// CHECK: scf.for %[[J:[^ ]*]] =
// CHECK: %[[NEXT:.*]] = arith.addi %[[WG]], %{{.*}} : index
// CHECK: %[[SLAB0:.*]] = arith.muli %[[NEXT]], %{{.*}} : index
// CHECK: %[[SLAB1:.*]] = arith.addi %[[SLAB0]], %[[J]] : index
// CHECK: %[[SLAB:.*]] = arith.minsi %[[SLAB1]], %{{.*}} : index
// CHECK: %[[SCALE:.*]] = arith.constant 4294967296 : index
// CHECK: scf.for %[[K:[^ ]*]] =
// CHECK: %[[STEP:.*]] = affine.apply #{{.*}}(%[[K]])
// CHECK: arith.muli %[[STEP]], %[[SCALE]]
// CHECK: memref.prefetch %[[FLAT]][%[[SLAB]], %{{.*}}]
// CHECK: %[[STEP1:.*]] = arith.addi %[[STEP]], %{{.*}} : index
// CHECK: arith.muli %[[STEP1]], %[[SCALE]]
// CHECK: memref.prefetch %[[FLAT]][%[[SLAB]], %{{.*}}]
// CHECK-NOT: memref.prefetch
func.func private @two_slabs(%w: memref<8x64x32xf32>, %out: memref<64xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %acc0 = arith.constant dense<0.0> : vector<32xf32>
  %base = arith.muli %wg, %c2 : index
  scf.for %j = %c0 to %c2 step %c1 {
    %slab = arith.addi %base, %j : index
    %acc = scf.for %k = %c0 to %c64 step %c1 iter_args(%x = %acc0) -> (vector<32xf32>) {
      %b = vector.transfer_read %w[%slab, %k, %c0], %zero {in_bounds = [true]} : memref<8x64x32xf32>, vector<32xf32>
      %y = arith.addf %b, %x : vector<32xf32>
      scf.yield %y : vector<32xf32>
    }
    %o = arith.muli %slab, %c0 : index
    vector.transfer_write %acc, %out[%o] {in_bounds = [true]} : vector<32xf32>, memref<64xf32>
  }
  return
}

// -----

// Left alone: every workgroup reads every slab (the index does not use
// the workgroup id); another index uses the workgroup id; the slab is
// read outside any loop; one workgroup; a strided argument.
// CHECK-LABEL: func.func private @all_slabs
// CHECK-NOT: memref.prefetch
// CHECK-LABEL: func.func private @workgroup_in_inner_index
// CHECK-NOT: memref.prefetch
// CHECK-LABEL: func.func private @no_loop
// CHECK-NOT: memref.prefetch
// CHECK-LABEL: func.func private @one_workgroup
// CHECK-NOT: memref.prefetch
// CHECK-LABEL: func.func private @strided
// CHECK-NOT: memref.prefetch
func.func private @all_slabs(%w: memref<4x64x32xf32>, %out: memref<4x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %acc0 = arith.constant dense<0.0> : vector<32xf32>
  scf.for %s = %c0 to %c4 step %c1 {
    %acc = scf.for %k = %c0 to %c64 step %c1 iter_args(%x = %acc0) -> (vector<32xf32>) {
      %b = vector.transfer_read %w[%s, %k, %c0], %zero {in_bounds = [true]} : memref<4x64x32xf32>, vector<32xf32>
      %y = arith.addf %b, %x : vector<32xf32>
      scf.yield %y : vector<32xf32>
    }
    vector.transfer_write %acc, %out[%wg, %c0] {in_bounds = [true]} : vector<32xf32>, memref<4x32xf32>
  }
  return
}
func.func private @workgroup_in_inner_index(%w: memref<4x64x32xf32>, %out: memref<4x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  %acc0 = arith.constant dense<0.0> : vector<32xf32>
  %acc = scf.for %k = %c0 to %c16 step %c1 iter_args(%x = %acc0) -> (vector<32xf32>) {
    %row = arith.addi %k, %wg : index
    %b = vector.transfer_read %w[%wg, %row, %c0], %zero {in_bounds = [true]} : memref<4x64x32xf32>, vector<32xf32>
    %y = arith.addf %b, %x : vector<32xf32>
    scf.yield %y : vector<32xf32>
  }
  vector.transfer_write %acc, %out[%wg, %c0] {in_bounds = [true]} : vector<32xf32>, memref<4x32xf32>
  return
}
func.func private @no_loop(%w: memref<4x64x32xf32>, %out: memref<4x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %b = vector.transfer_read %w[%wg, %c0, %c0], %zero {in_bounds = [true]} : memref<4x64x32xf32>, vector<32xf32>
  vector.transfer_write %b, %out[%wg, %c0] {in_bounds = [true]} : vector<32xf32>, memref<4x32xf32>
  return
}
func.func private @one_workgroup(%w: memref<4x64x32xf32>, %out: memref<4x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %acc0 = arith.constant dense<0.0> : vector<32xf32>
  %acc = scf.for %k = %c0 to %c64 step %c1 iter_args(%x = %acc0) -> (vector<32xf32>) {
    %b = vector.transfer_read %w[%wg, %k, %c0], %zero {in_bounds = [true]} : memref<4x64x32xf32>, vector<32xf32>
    %y = arith.addf %b, %x : vector<32xf32>
    scf.yield %y : vector<32xf32>
  }
  vector.transfer_write %acc, %out[%wg, %c0] {in_bounds = [true]} : vector<32xf32>, memref<4x32xf32>
  return
}
func.func private @strided(%w: memref<4x64x32xf32, strided<[4096, 64, 1]>>, %out: memref<4x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %acc0 = arith.constant dense<0.0> : vector<32xf32>
  %acc = scf.for %k = %c0 to %c64 step %c1 iter_args(%x = %acc0) -> (vector<32xf32>) {
    %b = vector.transfer_read %w[%wg, %k, %c0], %zero {in_bounds = [true]} : memref<4x64x32xf32, strided<[4096, 64, 1]>>, vector<32xf32>
    %y = arith.addf %b, %x : vector<32xf32>
    scf.yield %y : vector<32xf32>
  }
  vector.transfer_write %acc, %out[%wg, %c0] {in_bounds = [true]} : vector<32xf32>, memref<4x32xf32>
  return
}

// -----

// With 16 x 64 steps for 128 lines the k loop is unrolled 4 times: one
// prefetch serves four reduction steps (16 x 16 = 256 unrolled steps,
// g = 64 * i + k with k stepping by 4 up to G = 1024, line = g * 2^29 >>
// 32 = g / 8: half a line per unrolled step).
// CHECK: #[[G:.*]] = affine_map<(d0, d1) -> (d0 * 64 + d1)>
// CHECK-LABEL: func.func private @unrolled
// CHECK: %[[SCALE:.*]] = arith.constant 536870912 : index
// CHECK: scf.for %[[I:[^ ]*]] =
// CHECK: scf.for %[[K:[^ ]*]] = %{{.*}} to %{{.*}} step %[[C4:[^ ]*]] iter_args
// CHECK: %[[STEP:.*]] = affine.apply #[[G]](%[[I]], %[[K]])
// CHECK: arith.muli %[[STEP]], %[[SCALE]]
// CHECK: memref.prefetch
// CHECK-COUNT-4: vector.transfer_read
// CHECK-NOT: memref.prefetch
// CHECK: scf.yield
func.func private @unrolled(%w: memref<4x64x32xf32>, %out: memref<16x4x32xf32>, %wg: index) attributes {weft.dispatch_fn, weft.workgroup_count = 4 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %acc0 = arith.constant dense<0.0> : vector<32xf32>
  scf.for %i = %c0 to %c16 step %c1 {
    %acc = scf.for %k = %c0 to %c64 step %c1 iter_args(%x = %acc0) -> (vector<32xf32>) {
      %b = vector.transfer_read %w[%wg, %k, %c0], %zero {in_bounds = [true]} : memref<4x64x32xf32>, vector<32xf32>
      %y = arith.addf %b, %x : vector<32xf32>
      scf.yield %y : vector<32xf32>
    }
    vector.transfer_write %acc, %out[%i, %wg, %c0] {in_bounds = [true]} : vector<32xf32>, memref<16x4x32xf32>
  }
  return
}
