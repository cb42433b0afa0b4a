// RUN: not weft-opt %s --weft-cuda-outline-kernels='chips=sm90' 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not weft-opt %s --weft-cuda-outline-kernels='threads-per-block=100' 2>&1 | FileCheck %s --check-prefix=BLOCK

// CHIP: error: unknown CUDA architecture 'sm90' (expected sm_XY, such as sm_80 or sm_90)
// BLOCK: error: threads per block must be a multiple of 32 from 32 to 1024, not 100
func.func private @d(%arg0: memref<4xf32>, %arg1: index) attributes {weft.dispatch_fn} {
  return
}
