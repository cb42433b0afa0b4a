// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-distribute-lanes))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-distribute-lanes{on-host=true}))' | FileCheck %s --check-prefix=HOST

// The lane's row and column in bf16 fragments stored transposed
// (@bf16_transposed below).
// CHECK-DAG: #[[PROW:.*]] = affine_map<(d0) -> ((d0 floordiv 16) * 8 + d0 mod 8)>
// CHECK-DAG: #[[PCOL:.*]] = affine_map<(d0) -> (((d0 floordiv 8) mod 2) * 8)>

// The lane's group (g = lane / 4) and place in it (t = lane % 4).
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0) -> (d0 floordiv 4)>
// CHECK-DAG: #[[INGROUP:.*]] = affine_map<(d0) -> (d0 mod 4)>

// A warp's TF32 matmul (m16n8k8 mma.sync products) whose A is stored
// [k, m] and B [n, k] (each with its other dimension contiguous): each
// lane loads its 4 sums of each of the 4 16 x 8 tiles as pairs; per 8
// reduction steps its 4 elements of A itself (ldmatrix cannot transpose
// 32-bit elements), a0 at [k = t, m = g], and B's two pairs of 8 x 8
// tiles by ldmatrix (B's reduction is contiguous, as m16n8k8 wants its
// columns), then 4 products of the one A fragment; last it stores its
// sums. The warp's index is the thread's over 32.
// CHECK-LABEL: func.func private @transposed
// CHECK: %[[T:.*]] = gpu.thread_id x
// CHECK: %[[W:.*]] = arith.divui %[[T]], %c32
// CHECK: %[[R:.*]] = affine.apply #{{.*}}(%[[W]])
// CHECK: %[[A:.*]] = memref.subview %{{.*}}[0, %[[R]]] [16, 16]
// CHECK: %[[C:.*]] = memref.subview %{{.*}}[%[[R]], 0] [16, 32]
// CHECK: %[[B:.*]] = memref.subview %{{.*}}[0, 0] [32, 16]
// CHECK-COUNT-8: vector.load %[[C]]{{.*}} vector<2xf32>
// CHECK: %[[L:.*]] = gpu.lane_id
// CHECK: %[[G:.*]] = affine.apply #[[GROUP]](%[[L]])
// CHECK: %[[TT:.*]] = affine.apply #[[INGROUP]](%[[L]])
// CHECK: memref.load %[[A]][%[[TT]], %[[G]]]
// CHECK-COUNT-3: memref.load %[[A]]
// CHECK: nvgpu.ldmatrix %[[B]][%{{.*}}, %{{.*}}] {numTiles = 4 : i32, transpose = false} {{.*}} -> vector<4x1xf32>
// CHECK: nvgpu.ldmatrix %[[B]]
// CHECK-COUNT-4: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>}
// CHECK-COUNT-4: memref.load %[[A]]
// CHECK-COUNT-2: nvgpu.ldmatrix %[[B]]
// CHECK-COUNT-4: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK-COUNT-8: vector.store {{.*}}, %[[C]]
// CHECK-NOT: linalg.generic
// CHECK: return
// On a CPU: a loop of 8 warps and the contraction itself.
// HOST-LABEL: func.func private @transposed
// HOST-NOT: gpu.thread_id
// HOST: scf.for %{{.*}} = %c0 to %c8 step %c1
// HOST: linalg.generic
// HOST-NOT: weft.mma
// HOST-NOT: gpu.subgroup
// HOST: return
#a = affine_map<(m, n, k) -> (k, m)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func private @transposed(%out: memref<128x32xf32>) attributes {weft.dispatch_fn, weft.lanes = 256 : i64} {
  %as = memref.alloca() : memref<16x128xf32, #gpu.address_space<workgroup>>
  %bs = memref.alloca() : memref<32x16xf32, #gpu.address_space<workgroup>>
  %cs = memref.alloca() : memref<128x32xf32, #gpu.address_space<workgroup>>
  scf.forall (%w) in (8) {
    %r = affine.apply affine_map<(d0) -> (d0 * 16)>(%w)
    %a = memref.subview %as[0, %r] [16, 16] [1, 1] : memref<16x128xf32, #gpu.address_space<workgroup>> to memref<16x16xf32, strided<[128, 1], offset: ?>, #gpu.address_space<workgroup>>
    %c = memref.subview %cs[%r, 0] [16, 32] [1, 1] : memref<128x32xf32, #gpu.address_space<workgroup>> to memref<16x32xf32, strided<[32, 1], offset: ?>, #gpu.address_space<workgroup>>
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %bs : memref<16x16xf32, strided<[128, 1], offset: ?>, #gpu.address_space<workgroup>>, memref<32x16xf32, #gpu.address_space<workgroup>>) outs(%c : memref<16x32xf32, strided<[32, 1], offset: ?>, #gpu.address_space<workgroup>>) attrs = {weft.mma = "tf32"} {
    ^bb0(%x: f32, %y: f32, %o: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  } {mapping = [#gpu.warp<linear_dim_0>]}
  return
}

// A warp's bf16 matmul whose A is stored [k, m] and B [n, k]: A's pieces
// load transposed, lane l naming row 8 (l / 16) + l % 8 and column
// 8 ((l / 8) % 2) (its four pieces along the stored rows first); B's load
// as stored (its pairs run along k, which is contiguous), the same rows
// and columns; the first 16 x 16 of B serves two m16n8k16 products
// (registers 0, 1 and 2, 3).
// CHECK-LABEL: func.func private @bf16_transposed
// CHECK: %[[A:.*]] = memref.subview %{{.*}}[0, %{{.*}}] [32, 16]
// CHECK: %[[B:.*]] = memref.subview %{{.*}}[0, 0] [32, 32]
// CHECK: %[[L:.*]] = gpu.lane_id
// CHECK-COUNT-8: vector.load {{.*}} vector<2xf32>
// CHECK: %[[L2:.*]] = gpu.lane_id
// CHECK: %[[R:.*]] = affine.apply #[[PROW]](%[[L2]])
// CHECK: %[[K:.*]] = affine.apply #[[PCOL]](%[[L2]])
// CHECK: nvgpu.ldmatrix %[[A]][%[[R]], %[[K]]] {numTiles = 4 : i32, transpose = true}
// CHECK: %[[R2:.*]] = affine.apply #[[PROW]](%[[L2]])
// CHECK: %[[K2:.*]] = affine.apply #[[PCOL]](%[[L2]])
// CHECK: %[[FB:.*]] = nvgpu.ldmatrix %[[B]][%[[R2]], %[[K2]]] {numTiles = 4 : i32, transpose = false}
// CHECK: vector.extract %[[FB]][0]
// CHECK: vector.extract %[[FB]][1]
// CHECK: vector.extract %[[FB]][2]
// CHECK: vector.extract %[[FB]][3]
// CHECK: nvgpu.ldmatrix %[[B]]{{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK-COUNT-4: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// CHECK: nvgpu.ldmatrix %[[A]]{{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK-COUNT-4: nvvm.mma.sync
// CHECK-COUNT-8: vector.store {{.*}} vector<2xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
// HOST-LABEL: func.func private @bf16_transposed
// HOST-NOT: nvgpu
// HOST: linalg.generic
// HOST-NOT: weft.mma
// HOST: return
func.func private @bf16_transposed(%out: memref<128x32xf32>) attributes {weft.dispatch_fn, weft.lanes = 256 : i64} {
  %as = memref.alloca() : memref<32x128xbf16, #gpu.address_space<workgroup>>
  %bs = memref.alloca() : memref<32x32xbf16, #gpu.address_space<workgroup>>
  %cs = memref.alloca() : memref<128x32xf32, #gpu.address_space<workgroup>>
  scf.forall (%w) in (8) {
    %r = affine.apply affine_map<(d0) -> (d0 * 16)>(%w)
    %a = memref.subview %as[0, %r] [32, 16] [1, 1] : memref<32x128xbf16, #gpu.address_space<workgroup>> to memref<32x16xbf16, strided<[128, 1], offset: ?>, #gpu.address_space<workgroup>>
    %c = memref.subview %cs[%r, 0] [16, 32] [1, 1] : memref<128x32xf32, #gpu.address_space<workgroup>> to memref<16x32xf32, strided<[32, 1], offset: ?>, #gpu.address_space<workgroup>>
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %bs : memref<32x16xbf16, strided<[128, 1], offset: ?>, #gpu.address_space<workgroup>>, memref<32x32xbf16, #gpu.address_space<workgroup>>) outs(%c : memref<16x32xf32, strided<[32, 1], offset: ?>, #gpu.address_space<workgroup>>) attrs = {weft.mma = "bf16"} {
    ^bb0(%x: bf16, %y: bf16, %o: f32):
      %xw = arith.extf %x : bf16 to f32
      %yw = arith.extf %y : bf16 to f32
      %p = arith.mulf %xw, %yw : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }
  } {mapping = [#gpu.warp<linear_dim_0>]}
  return
}

// 3xTF32: each register x of A and B (plain f32) is split into
// big = cvt.rna.tf32(x) and small = cvt.rna.tf32(x - big); each 16 x 8 tile
// adds small(A) big(B), big(A) small(B) and big(A) big(B), in that order.
// CHECK-LABEL: func.func private @split
// CHECK: %[[X:.*]] = arith.bitcast %{{.*}} : i32 to f32
// CHECK: %[[XB:.*]] = nvvm.convert.float.to.tf32 %[[X]] {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK: %[[XBF:.*]] = arith.bitcast %[[XB]] : i32 to f32
// CHECK: %[[XR:.*]] = arith.subf %[[X]], %[[XBF]] : f32
// CHECK: %[[XS:.*]] = nvvm.convert.float.to.tf32 %[[XR]] {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK-COUNT-2: nvvm.mma.sync A[%[[XS]],
// CHECK-COUNT-4: nvvm.mma.sync A[%[[XB]],
// CHECK-NOT: nvvm.mma.sync
// CHECK: return
// On a CPU the same three terms per product: four TF32 roundings (the
// integer add and mask), three products added to the sum.
// HOST-LABEL: func.func private @split
// HOST: linalg.generic
// HOST-COUNT-4: arith.andi
// HOST-COUNT-3: arith.mulf
// HOST-NOT: weft.mma
// HOST: return
func.func private @split(%out: memref<16x16xf32>) attributes {weft.dispatch_fn, weft.lanes = 256 : i64} {
  %as = memref.alloca() : memref<16x12xf32, #gpu.address_space<workgroup>>
  %bs = memref.alloca() : memref<8x24xf32, #gpu.address_space<workgroup>>
  %cs = memref.alloca() : memref<16x16xf32, #gpu.address_space<workgroup>>
  %a = memref.subview %as[0, 0] [16, 8] [1, 1] : memref<16x12xf32, #gpu.address_space<workgroup>> to memref<16x8xf32, strided<[12, 1]>, #gpu.address_space<workgroup>>
  %b = memref.subview %bs[0, 0] [8, 16] [1, 1] : memref<8x24xf32, #gpu.address_space<workgroup>> to memref<8x16xf32, strided<[24, 1]>, #gpu.address_space<workgroup>>
  scf.forall (%w) in (1) {
    linalg.matmul {weft.mma = "3xtf32"} ins(%a, %b : memref<16x8xf32, strided<[12, 1]>, #gpu.address_space<workgroup>>, memref<8x16xf32, strided<[24, 1]>, #gpu.address_space<workgroup>>) outs(%cs : memref<16x16xf32, #gpu.address_space<workgroup>>)
  } {mapping = [#gpu.warp<linear_dim_0>]}
  return
}
