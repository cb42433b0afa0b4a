// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-distribute-lanes))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(func.func(weft-cuda-distribute-lanes{on-host=true}))' | FileCheck %s --check-prefix=HOST

// The lane's row and column in bf16 fragments stored transposed
// (@bf16_transposed below).
// CHECK-DAG: #[[PROW:.*]] = affine_map<(d0) -> ((d0 floordiv 16) * 8 + d0 mod 8)>
// CHECK-DAG: #[[PCOL:.*]] = affine_map<(d0) -> (((d0 floordiv 8) mod 2) * 8)>

// A warp's TF32 matmul whose A is stored [k, m] and B [n, k] (each with its
// other dimension contiguous) loads column-major fragments (`transpose`)
// and multiplies them as such; the element (row, col) of such a fragment
// is at [col, row]. The warp's index is the thread's over 32.
// CHECK-LABEL: func.func private @transposed
// CHECK: %[[T:.*]] = gpu.thread_id x
// CHECK: %[[W:.*]] = arith.divui %[[T]], %c32
// CHECK: %[[R:.*]] = affine.apply #{{.*}}(%[[W]])
// CHECK: %[[A:.*]] = memref.subview %{{.*}}[0, %[[R]]] [16, 16]
// CHECK: %[[C:.*]] = memref.subview %{{.*}}[%[[R]], 0] [16, 32]
// CHECK: %[[B:.*]] = memref.subview %{{.*}}[0, 0] [32, 16]
// CHECK: gpu.subgroup_mma_load_matrix %[[C]][%c0{{.*}}, %c0{{.*}}] {leadDimension = 32 : index} {{.*}} "COp">
// CHECK: gpu.subgroup_mma_load_matrix %[[C]][%c0{{.*}}, %c16{{.*}}] {leadDimension = 32 : index} {{.*}} "COp">
// CHECK: gpu.subgroup_mma_load_matrix %[[A]][%c0{{.*}}, %c0{{.*}}] {leadDimension = 128 : index, transpose} {{.*}} -> !gpu.mma_matrix<16x8xf32, "AOp">
// CHECK: gpu.subgroup_mma_load_matrix %[[B]][%c0{{.*}}, %c0{{.*}}] {leadDimension = 16 : index, transpose} {{.*}} -> !gpu.mma_matrix<8x16xf32, "BOp">
// CHECK: gpu.subgroup_mma_load_matrix %[[B]][%c16{{.*}}, %c0{{.*}}] {leadDimension = 16 : index, transpose} {{.*}} -> !gpu.mma_matrix<8x16xf32, "BOp">
// CHECK-COUNT-2: gpu.subgroup_mma_compute {{.*}} {a_transpose, b_transpose}
// CHECK: gpu.subgroup_mma_load_matrix %[[A]][%c8{{.*}}, %c0{{.*}}] {leadDimension = 128 : index, transpose}
// CHECK: gpu.subgroup_mma_load_matrix %[[B]][%c0{{.*}}, %c8{{.*}}] {leadDimension = 16 : index, transpose}
// CHECK: gpu.subgroup_mma_load_matrix %[[B]][%c16{{.*}}, %c8{{.*}}] {leadDimension = 16 : index, transpose}
// CHECK-COUNT-2: gpu.subgroup_mma_compute {{.*}} {a_transpose, b_transpose}
// CHECK: gpu.subgroup_mma_store_matrix {{.*}}, %[[C]][%c0{{.*}}, %c0{{.*}}]
// CHECK: gpu.subgroup_mma_store_matrix {{.*}}, %[[C]][%c0{{.*}}, %c16{{.*}}]
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
