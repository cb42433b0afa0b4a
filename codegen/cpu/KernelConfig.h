//===- KernelConfig.h - per-root kernel strategy for the CPU -----*- C++ -*-===//
//
// The one place that decides how a dispatch's root op becomes a CPU kernel:
// which strategy its family uses and the tile shape at each level (cache
// blocks, register tiles, vectors), from the iteration space and the target.
// Passes ask here instead of carrying their own heuristics, so a change of
// strategy for one op family is one edit, and another backend can choose its
// own.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_CODEGEN_CPU_KERNELCONFIG_H
#define WEFT_CODEGEN_CPU_KERNELCONFIG_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Interfaces/TilingInterface.h"

#include <optional>

namespace weft::cpu {

/// On a linalg.generic: a channels-last convolution with a blocked filter,
/// loops (n, oh, ow, fb, fi, kh, kw, c), or an integer one, loops (n, oh,
/// ow, fb, fi, kh, kw, cg, c4) with c = 4 cg + c4; the value is its two
/// strides.
inline constexpr llvm::StringLiteral kBlockedConvAttr = "weft.blocked_conv";

/// On a linalg.generic: a channels-last integer depthwise convolution,
/// loops (n, oh, ow, c, kh, kw) like linalg.depthwise_conv_2d_nhwc_hwc's,
/// uint8 input and int8 filter [KH, KW, C] (both i8 here) widened to its
/// i32 sums; it carries the named op's `strides` and `dilations` too.
inline constexpr llvm::StringLiteral kIntegerDepthwiseAttr = "weft.integer_depthwise";

/// What the kernels are sized for.
struct TargetInfo {
  int64_t vectorWidth = 16;       ///< f32 lanes per vector register
  int64_t vectorRegisters = 32;   ///< architectural vector registers
  int64_t l1Bytes = 32 * 1024;    ///< data cache per core (0: no reduction blocks)
  int64_t l1Ways = 8;             ///< the data cache's associativity
  /// Whether a contraction may have several m (or n) loops, such as
  /// [B, M, K] x [K, N] with B > 1: the innermost is the tile's m (n), the
  /// others are tiled by 1 like batch loops. GPU threads only: the CPU
  /// backend gives such products another kernel (a 1x1 convolution).
  bool outerLoopsAsBatch = false;
  /// Whether a contraction's n that is not a multiple of the vector width
  /// (or an m that no good register tile height divides) may end in a
  /// narrower (shorter) tile of its own. The CPU's kernels only.
  bool peelTails = false;
};

/// The first value of `choices` (in order of preference) that divides `n`,
/// or 1.
int64_t firstDivisor(int64_t n, llvm::ArrayRef<int64_t> choices);

/// A contraction out[batch.., m, n] += A(m, k) * B(k, n) tiled as: blocks
/// of `kBlock` reduction steps, `mr` x `nr` register tiles (N outside M),
/// one reduction step per vector.contract.
struct ContractionTiles {
  llvm::SmallVector<int64_t> bounds; ///< static loop ranges of the op
  llvm::SmallVector<int64_t> batch;  ///< batch loop positions
  int64_t m = 0, n = 0, k = 0;       ///< loop positions
  int64_t mr = 1, nr = 1, kBlock = 1;
  /// With TargetInfo::peelTails: the last nTail columns (n % vector width)
  /// and the last mTail rows are register tiles of their own, that wide
  /// and that tall; mr and nr divide the rest.
  int64_t mTail = 0, nTail = 0;
};

/// The register/cache tiling of `op` when it is a contraction this backend
/// vectorizes as outer products (static shape, one m/n/k dim each, f32,
/// n innermost in the output and in B, n a multiple of the vector width or,
/// with peelTails, any); std::nullopt otherwise.
std::optional<ContractionTiles> chooseContractionTiles(mlir::linalg::LinalgOp op,
                                                       const TargetInfo &target);

/// A channels-last convolution (linalg conv_2d_nhwc_hwcf,
/// depthwise_conv_2d_nhwc_hwc, or the blocked and integer generics)
/// computed directly, without im2col: each
/// register tile is `mr` output columns x `nr` channels, accumulated over
/// the window and the input channels one element at a time. For a plain
/// convolution a step is an (mr x 1) x (1 x nr) outer product of input
/// elements and a filter row; for a depthwise one, an elementwise
/// multiply-add of mr input rows by one filter row.
struct ConvTiles {
  bool depthwise = false;
  bool blocked = false; ///< a kBlockedConvAttr generic (nr divides its filter block)
  /// The integer form: uint8 x int8 -> i32; blocked, steps of 4 channels;
  /// depthwise (kIntegerDepthwiseAttr), widened multiply-adds.
  bool integer = false;
  int64_t mr = 1, nr = 1; ///< ow % mr columns, if any, are one peeled tile
  int64_t strideW = 1; ///< the input columns a tile reads are this far apart
  /// A grouped blocked convolution's filter blocks per group (its input
  /// map divides fb by this): workgroups split fb in multiples of it, so a
  /// workgroup's local block index finds the same group. 1 otherwise.
  int64_t blocksPerGroup = 1;
  /// A plain (HWCF) or depthwise convolution whose channels are not a
  /// multiple of the vector width: its last `channelTail` channels are a
  /// register tile of their own, that many lanes wide (peeled like the
  /// columns' remainder); nr divides the channels before them.
  int64_t channelTail = 0;
};

/// The direct-convolution tiling of `op` (the register tile that covers a
/// row of output columns in the fewest estimated cycles, with at most 7 of
/// its input columns in one L1 set), or std::nullopt when it is not a
/// static f32 channels-last convolution (a blocked filter's block must fill
/// whole vectors or half of one; other channels may end in a narrower
/// tile, see channelTail), or an integer blocked one whose block fills
/// whole vectors of i32.
std::optional<ConvTiles> chooseConvTiles(mlir::linalg::LinalgOp op,
                                         const TargetInfo &target);

/// Whether the blocked convolution `op` is pointwise (1x1 window, unit
/// strides, input rows and columns those of the output) over more than one
/// output row, so that its rows and columns can be computed as one row of
/// OH * OW columns: register tiles then run along the whole plane instead
/// of being cut at every row end (a 7-column row leaves a 4 and a 3 column
/// tile; 49 columns are eight 6-column tiles and one more).
bool flattensRows(mlir::linalg::LinalgOp op);

/// For a row reduction (an f32 linalg.generic whose one reduction loop is
/// its innermost loop and contiguous in every input that uses it, of a
/// static extent that is a multiple of the vector width (with peelTails,
/// whose whole vectors are at least two), and not a contraction): the
/// width of the partial accumulator it keeps along the row (one or two
/// vectors), reduced across lanes once per row instead of once per vector.
/// std::nullopt otherwise.
std::optional<int64_t> chooseRowReduction(mlir::linalg::LinalgOp op, const TargetInfo &target);

/// How a dispatch root's iteration space is split into workgroups: the
/// parallel loops in the order they are split, and for each loop the
/// granule every workgroup's extent must be a multiple of (so register
/// tiles stay whole). A loop absent from `order` is never split.
struct WorkgroupSplit {
  llvm::SmallVector<int64_t> order;
  llvm::SmallVector<int64_t> granule; ///< indexed by loop
};

/// The split for `op`, whose static loop ranges are `bounds`. A
/// convolution whose filter outweighs its input is split along output
/// channels first, so each workgroup reads its share of the filter once;
/// otherwise along rows.
WorkgroupSplit chooseWorkgroupSplit(mlir::Operation *op,
                                    llvm::ArrayRef<int64_t> bounds,
                                    const TargetInfo &target);

/// The elementwise epilogue of `root` (a convolution or contraction): the
/// only user of its result, an all-parallel linalg.generic over the root's
/// output loops (the root's output map is the identity on its first loops),
/// whose output and whose operand from the root are identity maps. Its
/// loop d is the root's loop d. Null when there is none.
mlir::linalg::GenericOp epilogueOf(mlir::linalg::LinalgOp root);

/// The inverse of epilogueOf: the op whose epilogue `op` is, or null.
mlir::linalg::LinalgOp epilogueRoot(mlir::Operation *op);

/// The op whose result a dispatch function writes out (its first output),
/// seen through reshapes; null when that is not a tiling op.
mlir::TilingInterface findDispatchRoot(mlir::func::FuncOp fn);

/// Ops that may stay outside a workgroup (or GPU thread) loop: they compute
/// nothing per element (reshapes and slices are views of their source).
bool isWorkgroupSetup(mlir::Operation *op);

/// Tiles `root` with `sizes` (0: untiled) into an scf.forall, fusing its
/// producers into the tile, and replaces its results.
mlir::LogicalResult tileRootIntoForall(mlir::TilingInterface root,
                                       llvm::ArrayRef<mlir::OpFoldResult> sizes);

/// Tiles `root` as `tiling` says (its loops, sizes), fusing its producers
/// into the tile, and replaces its results.
mlir::LogicalResult tileRootAndFuse(mlir::TilingInterface root,
                                    const mlir::scf::SCFTilingOptions &tiling);

/// Runs `tile` (which sets the forall's iteration count) on a copy of the
/// dispatch function and keeps the result only when everything that
/// computes ended up inside the loop; returns the iteration count, 1 when
/// the dispatch stays whole.
int64_t tileDispatchWhole(mlir::func::FuncOp fn,
                          llvm::function_ref<mlir::LogicalResult(mlir::func::FuncOp, int64_t &)> tile);

} // namespace weft::cpu

#endif // WEFT_CODEGEN_CPU_KERNELCONFIG_H
