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

/// Outputs from which a convolution goes to blocks (16 of them; its 4 x 4
/// thread tiles need not keep 16384 threads busy on their own): a
/// convolution's register tiles read its image through strided windows
/// (ResNet-50's 7x7 stage: 0.13 to 0.22 of the sectors they fetch used, in
/// weft-gpu-sim), where blocks read each element once per block. An
/// estimate, not measured on a GPU.
inline constexpr int64_t kGpuMinConvBlockOutputs = 65536;

/// A dispatch of one output per thread whose outputs each reduce at least
/// kGpuMinWarpReduction products gives each output to a warp, whose lanes
/// split the reduction, when it has fewer than kGpuMaxWarpOutputs outputs
/// (weft-cuda-tile-threads). Estimates, not measured on a GPU.
inline constexpr int64_t kGpuMinWarpReduction = 512, kGpuMaxWarpOutputs = 65536;
/// The shortest loop whose elements a warp's lanes share (a row of a
/// softmax, or the loop a warp per output splits).
inline constexpr int64_t kGpuMinLaneLength = 64;

/// Whether a convolution's reduction of `reduction` = C / groups * KH * KW
/// products (`window` = KH * KW) suits a block, padded with zeros to whole
/// steps: more than one step; or, where its columns are gathered from
/// windows of more than one tap (which thread tiles read strided:
/// MobileNetV2's 3x3 stem of stride 2, 27 products, 0.15 of the fetched
/// sectors used in weft-gpu-sim), more than half of one. A 1x1
/// convolution of fewer products reads its image's rows whole with thread
/// tiles. An estimate, not measured on a GPU.
inline bool gpuBlockReduction(int64_t reduction, int64_t window) {
  return reduction > kGpuBlockStep || (window > 1 && 2 * reduction > kGpuBlockStep);
}

/// Whether the CUDA backend runs an f32 convolution as the matmul of its
/// filter and its image's columns in FMA blocks (weft-cuda-tile-threads):
/// `rows` output channels per group, `positions` = OH * OW, `reduction` =
/// C / groups * KH * KW, `window` = KH * KW, `outputs` in all. 4 x 4
/// thread tiles need rows that are a multiple of 4 and
/// kGpuMinConvBlockOutputs outputs; a block needs a reduction that
/// gpuBlockReduction accepts and a tile of 64 x 64, 32 x 128 or 128 x 32
/// that the rows and positions reach (dividing them, or its last block
/// moved back to overlap the one before: ResNet-50's 49 positions take two
/// blocks of 32, at 0 and 17).
inline bool gpuConvTakesBlocks(int64_t rows, int64_t positions, int64_t reduction,
                               int64_t window, int64_t outputs) {
  if (rows % 4 != 0 || !gpuBlockReduction(reduction, window) ||
      outputs < kGpuMinConvBlockOutputs)
    return false;
  return (rows >= 64 && positions >= 64) || (rows >= 32 && positions >= 128) ||
         (rows >= 128 && positions >= 32);
}

} // namespace weft

#endif // WEFT_PASSES_GPUBLOCKS_H
