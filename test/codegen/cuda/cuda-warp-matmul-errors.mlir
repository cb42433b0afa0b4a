// RUN: weft-opt %s --verify-diagnostics --pass-pipeline='builtin.module(func.func(weft-cuda-distribute-lanes))'

// A warp's matmul that is not made of 16 x 16 x 8 tiles (8 rows) is an
// internal error on a GPU, never a wrong kernel.
func.func private @eight_rows(%out: memref<8x16xf32>) attributes {weft.dispatch_fn, weft.lanes = 256 : i64} {
  %as = memref.alloca() : memref<8x8xf32, #gpu.address_space<workgroup>>
  %bs = memref.alloca() : memref<8x16xf32, #gpu.address_space<workgroup>>
  %cs = memref.alloca() : memref<8x16xf32, #gpu.address_space<workgroup>>
  scf.forall (%w) in (1) {
    // expected-error @+1 {{internal error: cannot run this warp's matmul on tensor cores: the shape is not made of 16 x 16 x 8 fragments}}
    linalg.matmul {weft.mma = "tf32"} ins(%as, %bs : memref<8x8xf32, #gpu.address_space<workgroup>>, memref<8x16xf32, #gpu.address_space<workgroup>>) outs(%cs : memref<8x16xf32, #gpu.address_space<workgroup>>)
  } {mapping = [#gpu.warp<linear_dim_0>]}
  return
}

// ldmatrix reads workgroup memory only: a bf16 operand elsewhere is an
// internal error on a GPU, never a wrong kernel.
func.func private @bf16_global(%a: memref<16x16xbf16>, %b: memref<16x16xbf16>) attributes {weft.dispatch_fn, weft.lanes = 256 : i64} {
  %cs = memref.alloca() : memref<16x16xf32, #gpu.address_space<workgroup>>
  scf.forall (%w) in (1) {
    // expected-error @+1 {{internal error: cannot run this warp's matmul on tensor cores: bf16 operands must be in workgroup memory, rows a multiple of 8 apart}}
    linalg.matmul {weft.mma = "bf16"} ins(%a, %b : memref<16x16xbf16>, memref<16x16xbf16>) outs(%cs : memref<16x16xf32, #gpu.address_space<workgroup>>)
  } {mapping = [#gpu.warp<linear_dim_0>]}
  return
}
