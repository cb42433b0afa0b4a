//===- Passes.h - CUDA codegen passes ----------------------------*- C++ -*-===//
//
// The CUDA backend: the dispatch functions that the CPU backend outlines
// become GPU kernels (one thread per output element for now), lowered through
// the gpu and nvvm dialects and compiled by the CUDA toolkit's ptxas into
// images embedded in the host object; the host program launches them through
// the runtime.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_CODEGEN_CUDA_PASSES_H
#define WEFT_CODEGEN_CUDA_PASSES_H

#include "codegen/cpu/Passes.h"
#include "passes/GpuBlocks.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/TilingInterface.h"

#include <string>
#include <vector>

namespace weft {
namespace cuda {
#define GEN_PASS_DECL
#include "codegen/cuda/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cuda/Passes.h.inc"

/// On a dispatch function declaration after weft-cuda-outline-kernels: the
/// kernel's index in the GPU module, and its launch shape [blocks, threads].
inline constexpr llvm::StringLiteral kKernelIndexAttr = "weft.kernel_index";
inline constexpr llvm::StringLiteral kLaunchAttr = "weft.launch";

/// What the host program and the model description need of the images.
inline constexpr llvm::StringLiteral kDeviceImagesAttr = "weft.device_images";
inline constexpr llvm::StringLiteral kKernelNamesAttr = "weft.kernel_names";

/// The f32 lanes of a GPU thread's vectors (one 16-byte access): the width
/// weft-cpu-tile-contractions vectorizes register tiles with, and the
/// multiple weft-cuda-tile-threads makes a contraction tile's columns.
inline constexpr int64_t kThreadVectorWidth = 4;

/// Threads per block of a kernel launch (weft-cuda-outline-kernels'
/// default); weft-cuda-tile-threads shapes register-tiled blocks for it.
inline constexpr int64_t kThreadsPerBlock = 256;

/// A row of a softmax or a normalization goes to one warp of this many
/// lanes when its length is at least kMinLaneRow (weft-cuda-tile-threads),
/// each lane taking every 32nd element of the row's whole multiples of 32
/// and the first n % 32 lanes one element each of the rest.
inline constexpr int64_t kWarpLanes = 32;
inline constexpr int64_t kMinLaneRow = kGpuMinLaneLength;
/// Whether a loop of `extent` iterations can be shared by a warp's lanes.
inline bool isLaneable(int64_t extent) { return extent >= kMinLaneRow; }

/// On a dispatch function whose rows are shared by the lanes of a warp: the
/// lanes per workgroup id (a kernel launches this many threads per id).
inline constexpr llvm::StringLiteral kLanesAttr = "weft.lanes";
/// On the linalg op that merges the lanes' partial reductions.
inline constexpr llvm::StringLiteral kLaneMergeAttr = "weft.lane_merge";

/// Rewrites the iteration of `rows` (a thread loop of
/// weft-cuda-tile-threads whose root op writes a row along its loop
/// `rootLoop`, or, without `rootLoop`, one element or tile) so that
/// kWarpLanes lanes share it: lane loops (`#gpu.lane` mapping) compute
/// partial reductions, merged by ops marked kLaneMergeAttr, and each
/// lane's strided share of the row (without `rootLoop`: lane 0 computes
/// and writes the output). Fails, possibly leaving the IR half rewritten,
/// when the iteration does not fit that plan: run it on a copy.
mlir::LogicalResult splitRowAcrossLanes(mlir::scf::ForallOp rows,
                                        std::optional<unsigned> rootLoop);

/// A large f32 matmul goes to blocks of kThreadsPerBlock threads, each
/// block a tile of kBlockOutputs outputs (64 x 64, 32 x 128 or 128 x 32
/// rows x columns; a 4 x 4 register tile per thread), its operands staged
/// through shared memory kBlockReductionStep reduction steps at a time
/// (StageBlocks.cpp).
inline constexpr int64_t kBlockOutputs = 4096;
inline constexpr int64_t kBlockReductionStep = 32;
static_assert(kBlockOutputs == kGpuBlockRows * kGpuBlockCols &&
                  kBlockReductionStep == kGpuBlockStep,
              "weft-split-reduction sizes its parts by these blocks (passes/GpuBlocks.h)");

/// On tensor cores, each of a block's kWarpsPerBlock warps computes a
/// kWarpTileRows x kWarpTileCols tile of the block's accumulator per
/// reduction step from the shared buffers, in kMmaRows x kMmaCols tiles
/// per kMmaReduction steps (TF32 inputs: two mma.sync m16n8k8) or per
/// kMmaHalfReduction (f16: a WMMA m16n16k16; bf16: two mma.sync m16n8k16),
/// f32 sums.
inline constexpr int64_t kWarpsPerBlock = kThreadsPerBlock / kWarpLanes;
inline constexpr int64_t kWarpTileRows = 16;
inline constexpr int64_t kWarpTileCols = 32;
inline constexpr int64_t kMmaRows = 16;
inline constexpr int64_t kMmaCols = 16;
inline constexpr int64_t kMmaReduction = 8;
inline constexpr int64_t kMmaHalfReduction = 16;
static_assert(kBlockReductionStep % kMmaReduction == 0 &&
                  kBlockReductionStep % kMmaHalfReduction == 0,
              "a reduction step is whole fragments");
static_assert(kWarpTileRows * kWarpTileCols * kWarpsPerBlock == kBlockOutputs,
              "one warp tile of a block's output per warp");

/// Rewrites the iteration of `block` (a loop of weft-cuda-tile-threads
/// whose iteration computes a tile of kBlockOutputs elements, rows x
/// columns, of a matmul's output or of its elementwise epilogue's) into
/// loops of the block's
/// threads (`#gpu.thread<linear_dim_0>` mapping): each thread initializes
/// its 4 x 4 tile of an accumulator, then per kBlockReductionStep steps the
/// threads copy the block's A rows and B columns into shared buffers
/// (`bufferization.alloc_tensor`, in workgroup memory when
/// `workgroupMemory`; an operand that an elementwise op of the block
/// computes from values outside it, such as a convolution's gathered
/// columns, is computed per step into its buffer instead of copied) and
/// each adds its tile's products, and last each
/// thread computes its tile of the output. With `tf32` the copies round
/// f32 A and B to TF32 (10-bit mantissas, to nearest, ties away from
/// zero) and the products are added by loops of the block's warps
/// (`#gpu.warp<linear_dim_0>`), each a kWarpTileRows x kWarpTileCols tile
/// of the accumulator, its contraction marked cpu::kMmaAttr = "tf32"; with
/// `tf32x3` the copies keep f32 and the warps' contraction is marked
/// "3xtf32" (each operand split into two TF32 parts, three products); with
/// `f16Mma` f16 A and B (f32 sums) are copied as they are and added the
/// same way, marked "f16", and with `bf16Mma` bf16 ones, marked "bf16"
/// (without them such a block fails). Fails,
/// possibly leaving the IR half rewritten, when the block does not fit
/// that plan: run it on a copy.
mlir::LogicalResult stageBlockThroughWorkgroupMemory(mlir::scf::ForallOp block,
                                                     bool workgroupMemory, bool tf32,
                                                     bool tf32x3, bool f16Mma, bool bf16Mma);

/// `x` (f32) rounded to TF32 (a 10-bit mantissa; to nearest, ties away
/// from zero, as `cvt.rna.tf32.f32`): the low 13 bits of the magnitude
/// rounded into the rest, in integer arithmetic that runs on any target.
/// NaNs stay as they are.
mlir::Value roundToTf32(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// An NCHW convolution (its input already padded) is, for each image, the
/// product of its filter [F, C * KH * KW] and the image's columns
/// [C * KH * KW, OH * OW] (im2col): `conv` rewritten as that contraction
/// (loops n, f, p, k; the filter its first operand, so its rows are the
/// output channels and its columns the output positions, contiguous in
/// the columns and the output), its result expanded back to
/// [N, F, OH, OW]; weft-cuda-tile-threads then moves the reshape past the
/// elementwise epilogue. The columns of a 1x1 convolution of strides and
/// dilations 1 are the image itself, viewed as [N, C, H * W]; any other's
/// are a gather from the image (a linalg.generic of no inputs that reads
/// it at n, k / (KH * KW), oh * sh + (k / KW % KH) * dh,
/// ow * sw + k % KW * dw), which is never built whole: the blocks compute
/// the columns of each reduction step into shared memory
/// (stageBlockThroughWorkgroupMemory). Fails, changing nothing, on a
/// convolution of dynamic shapes or of another kind. A reduction
/// C * KH * KW that is not a multiple of kBlockReductionStep is padded to
/// one: the filter's rows and the columns are then gathers that read 0
/// past it. A grouped convolution
/// (linalg.conv_2d_ngchw_gfchw) is the matmul of each group's filter
/// [F/G, C/G * KH * KW] and its columns, batched over (n, g).
mlir::LogicalResult convAsMatmul(mlir::linalg::LinalgOp conv);

/// Where the dispatch's result is computed from a tensor.empty (through
/// ops that only write their init: a fill, a broadcast bias) and reshaped
/// into the output (convAsMatmul's expand_shape), computes it in the
/// output itself, reshaped the other way, instead: otherwise bufferization
/// would compute it in a temporary as large as the output and copy it.
/// Fails on a dispatch with other than one output; changes nothing where
/// the result is not so computed.
mlir::LogicalResult writeThroughReshape(mlir::func::FuncOp fn);

// WarpMatmul.cpp: weft-cuda-distribute-lanes' work on a block dispatch
// whose thread and warp loops already run per thread (GPU only).

/// The buffer `v` views (through subviews, reshapes and casts).
mlir::Value viewedBuffer(mlir::Value v);

/// The warp's matmul `op` into f32 sums (marked cpu::kMmaAttr: "tf32", f32
/// inputs already rounded to TF32, as mma.sync m16n8k8 products; "3xtf32",
/// f32 inputs each split into two TF32 parts, three such products per
/// tile; "f16", f16 inputs, WMMA fragments of
/// kMmaRows x kMmaCols x kMmaHalfReduction; or "bf16", bf16 inputs, as
/// mma.sync m16n8k16 products): the output's fragments
/// loaded, the products of A's and B's fragments added along the
/// reduction, and stored back. Where `op` is one step of a loop over the
/// reduction (a block's steps, stepsCarryingSums), the fragments are
/// loaded once before the loop (after a barrier: the block's threads
/// initialized them), carried through it in registers and stored once
/// after it, rather than loaded and stored at every step.
mlir::LogicalResult lowerWarpMatmul(mlir::linalg::LinalgOp op);

/// The warp's matmul `op` marked cpu::kMmaAttr = "3xtf32" as a CPU runs
/// it (weft-cuda-distribute-lanes on a host): a linalg.generic that adds,
/// per product of x and y, small(x) big(y), big(x) small(y) and
/// big(x) big(y) (big = TF32 rounding, small = TF32 rounding of the rest),
/// the terms the GPU's three tensor-core products add. Replaces `op`.
mlir::LogicalResult emulateTf32x3(mlir::linalg::LinalgOp op);

/// Keeps a thread's tile of the block's accumulator in registers through
/// the loop of reduction steps `steps` (the FMA blocks, whose thread reads
/// its tile from shared memory at the top of each step and writes it back
/// at the end): a read of a workgroup buffer at loop-invariant indices and
/// a later write of the same vector type there, where nothing else in the
/// loop touches the buffer, become one read before the loop, a loop result
/// and one write after it. Each thread's tile is its own (the thread loops
/// tile the accumulator without overlap), so no other thread's access is
/// missed.
void carryTilesInRegisters(mlir::scf::ForOp &steps);

/// Whether `scope` or an op nested in it, other than those `skip`
/// accepts, may read (unless `writesOnly`) or write memory that `touches`
/// accepts (given the value accessed; null where an op cannot name it, or
/// has effects it does not declare). Barriers, mma.sync and TF32
/// conversions (registers only) access none.
bool mayAccess(mlir::Operation *scope, llvm::function_ref<bool(mlir::Operation *)> skip,
               llvm::function_ref<bool(mlir::Value)> touches, bool writesOnly);

/// Keeps a block's thread tiles out of shared memory where only their own
/// thread reads them back (ForwardTiles.cpp): a vector read of a workgroup
/// buffer takes the vector that an earlier write of the same block wrote
/// at the same element (indices computed alike, the same vector but for
/// leading unit dimensions), with only barriers and accesses of other
/// buffers between; a buffer no longer read loses its writes and goes, and
/// so do the barriers after which no op accesses workgroup memory or reads
/// what was written before them. For `fn` after its thread loops are
/// distributed (GPU only).
void forwardThreadTiles(mlir::func::FuncOp fn);

/// Software-pipelines a block's loop of reduction steps `steps` (in
/// `fn`) over its reads of global memory (StepPipeline.cpp): the next
/// step's reads (and the index arithmetic they need) are in flight while
/// the step's products are added (scf::pipelineForLoop, two stages).
/// Where the loop alone uses its shared buffers and shared memory holds
/// two copies of them (one of them, if need be, in a buffer of the same
/// element type that the loop does not use: a tensor-core block's
/// accumulator, behind a barrier after the loop), they are doubled first
/// (step i writes copy i % 2),
/// the barrier that ended each step goes, and the next step's reads are
/// issued right after the step's remaining barrier; with
/// `asyncCopies` (every chip sm_80 or newer) those of them that a thread
/// writes to shared memory as they are become nvgpu.device_async_copy
/// (cp.async), waited for before that barrier. Leaves a loop that writes
/// global memory or reads none alone; fails only where the pipeliner
/// gave up halfway.
mlir::LogicalResult pipelineSteps(mlir::func::FuncOp fn, mlir::scf::ForOp steps,
                                  bool asyncCopies);

/// A gather that a block's threads compute straight into a shared buffer
/// (a convolution's columns: each element a load from the image at
/// computed indices) as straight-line code: the body of `gather` (a
/// linalg.generic writing at most `maxElements`, no inputs, its init unread,
/// no effects but loads of other buffers) once per element, its
/// linalg.index ops the element's indices, then one vector write of the
/// elements, so that pipelineSteps can issue its loads a step early
/// like the other global reads. `gather` is left as it is where it does
/// not qualify.
void unrollGather(mlir::linalg::GenericOp gather, int64_t maxElements = 16);

/// Tiles `root` and fuses its producers into one scf.forall iteration per
/// tile of `sizes` (0: a loop left whole), as cpu::tileRootIntoForall
/// does, except along a loop that its tile does not divide: there it takes
/// ceil(size / tile) tiles, the last moved back to end where the loop
/// ends, so every tile is whole (static shapes) and the last overlaps the
/// one before. The loop must be at least one tile long.
mlir::LogicalResult tileRootIntoOverlappingForall(mlir::TilingInterface root,
                                                  llvm::ArrayRef<int64_t> sizes);

/// Whether `forall` is a loop of a block's threads (StageBlocks.cpp).
inline bool isThreadLoop(mlir::scf::ForallOp forall) {
  std::optional<mlir::ArrayAttr> mapping = forall.getMapping();
  return mapping && mapping->size() == 1 &&
         mlir::isa<mlir::gpu::GPUThreadMappingAttr>((*mapping)[0]);
}

/// Whether `forall` is a loop of a block's warps (StageBlocks.cpp).
inline bool isWarpLoop(mlir::scf::ForallOp forall) {
  std::optional<mlir::ArrayAttr> mapping = forall.getMapping();
  return mapping && mapping->size() == 1 &&
         mlir::isa<mlir::gpu::GPUWarpMappingAttr>((*mapping)[0]);
}

/// Whether `forall` is a loop of a block's threads or of its warps.
inline bool isBlockLoop(mlir::scf::ForallOp forall) {
  return isThreadLoop(forall) || isWarpLoop(forall);
}

/// Whether `type` is a buffer in GPU workgroup (shared) memory.
inline bool isWorkgroupMemory(mlir::Type type) {
  auto memref = mlir::dyn_cast<mlir::MemRefType>(type);
  auto space = memref ? mlir::dyn_cast_or_null<mlir::gpu::AddressSpaceAttr>(memref.getMemorySpace())
                      : nullptr;
  return space && space.getValue() == mlir::gpu::AddressSpace::Workgroup;
}

/// Every buffer a kernel takes starts at a multiple of this many bytes:
/// arena and weight offsets are multiples of the model's alignment (64 by
/// default, never less than this), and the runtime refuses device views
/// of the caller's memory that are not. Kernels tell LLVM so, which lets
/// it load and store 16 bytes at a time where offsets allow.
inline constexpr int64_t kBufferAlignment = 16;

/// Every shared (workgroup) buffer starts at a multiple of this many bytes:
/// a WMMA fragment load or store needs a 32-byte aligned start (the
/// fragments' offsets within a buffer are multiples of 32 bytes).
inline constexpr int64_t kSharedAlignment = 32;

struct CudaPipelineOptions {
  std::string modelName = "model";
  std::vector<std::string> chips = {"sm_90"};
  std::string toolkitPath = "/usr/local/cuda";
  int64_t alignment = 64;
  /// "fatbin" (the cubin and the PTX, embedded in the host object) or
  /// "isa" (PTX text only: weftc --emit=ptx stops there).
  std::string format = "fatbin";
  /// Large f32 matmuls on tensor cores in TF32 (weftc --cuda-tf32).
  bool tf32 = false;
  /// Large f32 matmuls on tensor cores as three TF32 products of split
  /// operands, to about f32's precision (weftc --cuda-3xtf32).
  bool tf32x3 = false;
  /// Large f16 matmuls on tensor cores (every chip sm_70 or newer).
  bool f16Mma = true;
  /// Large bf16 matmuls on tensor cores (every chip sm_80 or newer).
  bool bf16Mma = true;
  /// Blocks copy their operands to shared memory with cp.async (every
  /// chip sm_80 or newer).
  bool asyncCopies = true;
};

/// Dispatch bodies (linalg on tensors) -> GPU kernels compiled to images,
/// and the host entry that launches them, in the LLVM dialect. With format
/// "isa" the pipeline stops after compiling the kernels (gpu.binary holds
/// PTX).
void buildCudaCodegenPipeline(mlir::OpPassManager &pm, const CudaPipelineOptions &options);

/// The same kernels run on the CPU (weftc --target=cuda-on-cpu): each GPU
/// thread becomes one workgroup of the CPU thread pool, driven by the CUDA
/// host program (packed weights, launches by kernel index, the runtime's
/// device reads, writes and copies), which a CPU device runs. It checks the
/// CUDA backend's kernels and host code numerically where no GPU exists;
/// only the kernels' outlining into a GPU module and the NVVM lowering are
/// left out.
void buildThreadStrategyOnCpuPipeline(mlir::OpPassManager &pm,
                                      const CudaPipelineOptions &options);

/// Registers the pipeline as `weft-cuda-codegen` for weft-opt.
void registerCudaPipelines();
} // namespace cuda
} // namespace weft

#endif // WEFT_CODEGEN_CUDA_PASSES_H
