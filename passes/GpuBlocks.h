//===- GpuBlocks.h - the CUDA backend's matmul blocks, for graph passes -*- C++ -*-===//
//
// What weft-split-reduction must know of how the CUDA backend runs a
// matmul (codegen/cuda: StageBlocks.cpp, TileThreads.cpp), which checks its
// own constants against these at compile time.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_PASSES_GPUBLOCKS_H
#define WEFT_PASSES_GPUBLOCKS_H

#include <cstdint>

namespace weft {

/// A block's tile of a matmul's output (rows x columns) and the reduction
/// steps it stages through shared memory at a time.
inline constexpr int64_t kGpuBlockRows = 64, kGpuBlockCols = 64, kGpuBlockStep = 32;
/// Outputs from which a matmul's 4 x 4 thread tiles go to blocks (16384
/// threads of 16 outputs each).
inline constexpr int64_t kGpuMinBlockOutputs = 262144;

} // namespace weft

#endif // WEFT_PASSES_GPUBLOCKS_H
