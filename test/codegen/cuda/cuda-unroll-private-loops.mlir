// RUN: weft-opt %s --pass-pipeline='builtin.module(gpu.module(weft-cuda-unroll-private-loops,canonicalize))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(gpu.module(weft-cuda-unroll-private-loops{max-ops=20},canonicalize))' | FileCheck %s --check-prefix=SMALL

// A lane's share of a row kept in a private array: the loops whose
// induction variable indexes it (6 elements, summed over 4 parts, then
// read back) are unrolled, so every access is at a constant index; the
// loop over the parts, which only indexes the source, stays. So do a loop
// over a workgroup array, one of more than 32 trips and one that only
// accumulates into a private scalar at a fixed index.
// CHECK-LABEL: gpu.func @lane_share
// CHECK: scf.for %{{.*}} = %c0 to %c4
// CHECK-NOT: scf.for
// CHECK: memref.store %{{.*}}, %[[A:.*]][%c5] : memref<6xf32>
// CHECK-NEXT: }
// CHECK-NOT: scf.for
// CHECK: memref.load %[[A]][%c5] : memref<6xf32>
// CHECK: memref.store
// CHECK-NEXT: scf.for %{{.*}} = %c0 to %c6
// CHECK-NEXT: memref.load %{{.*}} : memref<6xf32, 3>
// CHECK: scf.for %{{.*}} = %c0 to %c64
// CHECK: scf.for %{{.*}} = %c0 to %c8
// CHECK-NOT: scf.for
// CHECK: gpu.return
// With at most 20 operations in an unrolled loop, the loops of 6 x 6
// operations stay.
// SMALL-LABEL: gpu.func @lane_share
// SMALL: scf.for %{{.*}} = %c0 to %c4
// SMALL-NEXT: scf.for %{{.*}} = %c0 to %c6
// SMALL: scf.for %{{.*}} = %c0 to %c6
// SMALL-NEXT: memref.load %{{.*}} : memref<6xf32>
gpu.module @kernels {
  gpu.func @lane_share(%src: memref<4x192xf32>, %dst: memref<192xf32>, %big: memref<64xf32>) kernel {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c6 = arith.constant 6 : index
    %c8 = arith.constant 8 : index
    %c32 = arith.constant 32 : index
    %c64 = arith.constant 64 : index
    %zero = arith.constant 0.0 : f32
    %lane = gpu.lane_id
    %a = memref.alloca() : memref<6xf32>
    %acc = memref.alloca() : memref<1xf32>
    %shared = memref.alloca() : memref<6xf32, 3>
    %long = memref.alloca() : memref<64xf32>
    scf.for %p = %c0 to %c4 step %c1 {
      scf.for %i = %c0 to %c6 step %c1 {
        %col = affine.apply affine_map<(d0)[s0] -> (d0 * 32 + s0)>(%i)[%lane]
        %x = memref.load %src[%p, %col] : memref<4x192xf32>
        %old = memref.load %a[%i] : memref<6xf32>
        %sum = arith.addf %old, %x : f32
        memref.store %sum, %a[%i] : memref<6xf32>
      }
    }
    scf.for %i = %c0 to %c6 step %c1 {
      %v = memref.load %a[%i] : memref<6xf32>
      %col = affine.apply affine_map<(d0)[s0] -> (d0 * 32 + s0)>(%i)[%lane]
      memref.store %v, %dst[%col] : memref<192xf32>
    }
    scf.for %i = %c0 to %c6 step %c1 {
      %v = memref.load %shared[%i] : memref<6xf32, 3>
      memref.store %v, %dst[%i] : memref<192xf32>
    }
    scf.for %i = %c0 to %c64 step %c1 {
      %v = memref.load %big[%i] : memref<64xf32>
      memref.store %v, %long[%i] : memref<64xf32>
    }
    %l = memref.load %long[%c1] : memref<64xf32>
    memref.store %l, %dst[%c1] : memref<192xf32>
    scf.for %i = %c0 to %c8 step %c1 {
      %v = memref.load %big[%i] : memref<64xf32>
      %old = memref.load %acc[%c0] : memref<1xf32>
      %sum = arith.addf %old, %v : f32
      memref.store %sum, %acc[%c0] : memref<1xf32>
    }
    gpu.return
  }
}
