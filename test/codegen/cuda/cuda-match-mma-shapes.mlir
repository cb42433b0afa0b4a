// RUN: weft-opt %s --pass-pipeline='builtin.module(gpu.module(convert-gpu-to-nvvm,weft-cuda-match-mma-shapes))' | FileCheck %s
// RUN: weft-opt %s --pass-pipeline='builtin.module(gpu.module(convert-gpu-to-nvvm))' | FileCheck %s --check-prefix=UPSTREAM

// The gpu dialect's lowering loads and stores an f32 accumulator as
// m16n16k16 whatever its products; next to m16n16k8 TF32 products the
// accumulator's load and store take k = 8 too. A function of f16 products
// keeps k = 16.
// UPSTREAM: nvvm.wmma.load {{.*}}frag = #nvvm.mma_frag<c>, k = 16
// UPSTREAM: nvvm.wmma.mma {{.*}}eltypeA = #nvvm.mma_type<tf32>{{.*}}k = 8
// UPSTREAM: nvvm.wmma.store {{.*}}k = 16

// CHECK-LABEL: llvm.func @tf32
// CHECK: nvvm.wmma.load {{.*}}eltype = #nvvm.mma_type<tf32>, frag = #nvvm.mma_frag<a>, k = 8
// CHECK: nvvm.wmma.load {{.*}}eltype = #nvvm.mma_type<tf32>, frag = #nvvm.mma_frag<b>, k = 8
// CHECK: nvvm.wmma.load {{.*}}eltype = #nvvm.mma_type<f32>, frag = #nvvm.mma_frag<c>, k = 8
// CHECK: nvvm.wmma.mma {{.*}}eltypeA = #nvvm.mma_type<tf32>, eltypeB = #nvvm.mma_type<f32>, k = 8
// CHECK: nvvm.wmma.store {{.*}}eltype = #nvvm.mma_type<f32>, k = 8
// CHECK-LABEL: llvm.func @f16
// CHECK: nvvm.wmma.load {{.*}}frag = #nvvm.mma_frag<c>, k = 16
// CHECK: nvvm.wmma.mma {{.*}}eltypeA = #nvvm.mma_type<f16>{{.*}}k = 16
// CHECK: nvvm.wmma.store {{.*}}k = 16
gpu.module @m {
  gpu.func @tf32(%a: memref<16x8xf32, 3>, %b: memref<8x16xf32, 3>, %c: memref<16x16xf32, 3>) kernel {
    %c0 = arith.constant 0 : index
    %fa = gpu.subgroup_mma_load_matrix %a[%c0, %c0] {leadDimension = 8 : index} : memref<16x8xf32, 3> -> !gpu.mma_matrix<16x8xf32, "AOp">
    %fb = gpu.subgroup_mma_load_matrix %b[%c0, %c0] {leadDimension = 16 : index} : memref<8x16xf32, 3> -> !gpu.mma_matrix<8x16xf32, "BOp">
    %fc = gpu.subgroup_mma_load_matrix %c[%c0, %c0] {leadDimension = 16 : index} : memref<16x16xf32, 3> -> !gpu.mma_matrix<16x16xf32, "COp">
    %d = gpu.subgroup_mma_compute %fa, %fb, %fc : !gpu.mma_matrix<16x8xf32, "AOp">, !gpu.mma_matrix<8x16xf32, "BOp"> -> !gpu.mma_matrix<16x16xf32, "COp">
    gpu.subgroup_mma_store_matrix %d, %c[%c0, %c0] {leadDimension = 16 : index} : !gpu.mma_matrix<16x16xf32, "COp">, memref<16x16xf32, 3>
    gpu.return
  }
  gpu.func @f16(%a: memref<16x16xf16, 3>, %b: memref<16x16xf16, 3>, %c: memref<16x16xf32, 3>) kernel {
    %c0 = arith.constant 0 : index
    %fa = gpu.subgroup_mma_load_matrix %a[%c0, %c0] {leadDimension = 16 : index} : memref<16x16xf16, 3> -> !gpu.mma_matrix<16x16xf16, "AOp">
    %fb = gpu.subgroup_mma_load_matrix %b[%c0, %c0] {leadDimension = 16 : index} : memref<16x16xf16, 3> -> !gpu.mma_matrix<16x16xf16, "BOp">
    %fc = gpu.subgroup_mma_load_matrix %c[%c0, %c0] {leadDimension = 16 : index} : memref<16x16xf32, 3> -> !gpu.mma_matrix<16x16xf32, "COp">
    %d = gpu.subgroup_mma_compute %fa, %fb, %fc : !gpu.mma_matrix<16x16xf16, "AOp">, !gpu.mma_matrix<16x16xf16, "BOp"> -> !gpu.mma_matrix<16x16xf32, "COp">
    gpu.subgroup_mma_store_matrix %d, %c[%c0, %c0] {leadDimension = 16 : index} : !gpu.mma_matrix<16x16xf32, "COp">, memref<16x16xf32, 3>
    gpu.return
  }
}
