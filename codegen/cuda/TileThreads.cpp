//===- TileThreads.cpp - weft-cuda-tile-threads --------------------------===//
//
// One GPU thread per element of the dispatch's result: its root op is tiled
// with size 1 on every parallel loop, and the rest of the dispatch is fused
// into that tile. A large f32 contraction or NCHW convolution (or one with
// an elementwise epilogue) gives each thread a small register tile of its
// output instead (up to 4 x 4: rows x columns of a matmul, output channels
// x output columns of a convolution), which weft-cpu-tile-contractions then
// keeps in registers across the reduction, so each loaded element serves
// up to four outputs; a block of threads then covers a square patch of
// tiles. Loops along which a fused reduction's result is only
// broadcast (a softmax's or a normalization's row) stay whole: a row whose
// innermost such loop is at least 64 long goes to the 32 lanes of a warp
// (SplitLanes.cpp); otherwise a thread computes the reduction once
// for the row when the rows are long or many (kRowForRedundancy,
// kRowForThreads), and short rows keep one thread per element. Few outputs
// that each reduce a long loop (ResNet-50's 7x7 convolutions, a
// matrix-vector product) go to a warp each, whose lanes split the
// reduction. Large matmuls, and NCHW convolutions as the matmuls of their
// filter and their image's columns, go to blocks that stage their operands
// through shared memory (StageBlocks.cpp); blocks that do not divide the
// output overlap at its end. A dispatch that does not fuse whole runs as
// one thread.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/KernelConfig.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/ScopeExit.h"

#include <array>

namespace weft::cuda {
#define GEN_PASS_DEF_TILETHREADS
#include "codegen/cuda/Passes.h.inc"
} // namespace weft::cuda

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

/// Threads are counted in int64; a grid holds at most 2^31 - 1 blocks.
constexpr int64_t kMaxThreads = int64_t(1) << 40;
/// A fused reduction shared along loops of this many elements, or rows
/// enough for this many threads, makes a thread take whole rows: below
/// both, recomputing the reduction per element (spread over many threads)
/// is estimated cheaper on a GPU than a few long sequential threads. These
/// are estimates for one-thread-per-element kernels, not measured on a GPU.
constexpr int64_t kRowForRedundancy = 1024, kRowForThreads = 2048;
/// A dispatch of one output per thread whose outputs each reduce at least
/// kMinSplitReduction elements gives each output to a warp when it has
/// fewer than kMaxThreadsForSplitReduction outputs (ResNet-50's 7x7 stage:
/// 25088 outputs of 2048 or 4608 products each, one chain of dependent FMAs
/// per thread otherwise). Estimates, not measured on a GPU.
constexpr int64_t kMinSplitReduction = kGpuMinWarpReduction,
                  kMaxThreadsForSplitReduction = kGpuMaxWarpOutputs;
/// A single-thread dispatch writing at least this many elements is worth a
/// warning.
constexpr int64_t kWarnSerialElements = 4096;
/// A thread of a contraction computes an mr x nr tile of its output (held
/// in registers across the reduction by weft-cpu-tile-contractions) only
/// while the dispatch keeps at least this many threads: about four warps
/// for each of an H100's 132 multiprocessors, below which too few warps
/// would be left to hide memory latency. An estimate, not measured on a
/// GPU.
constexpr int64_t kMinThreadsForRegisterTiles = 16384;
static_assert(kMinThreadsForRegisterTiles * 16 == kGpuMinBlockOutputs,
              "weft-split-reduction keeps its parts above this (passes/GpuBlocks.h)");
/// A matmul whose blocks run on tensor cores (f16, or TF32 with
/// --cuda-tf32 or --cuda-3xtf32) takes them from this many blocks on,
/// where register tiles (or, for f16, one output per thread) would
/// otherwise be chosen: a multiprocessor's tensor cores add TF32 or f16
/// products about 8 times as fast as its FMA units (H100), so 16 busy
/// multiprocessors of 132 are estimated to beat FMAs on all of them
/// (3xTF32's three products per product leave them about 2.7 times as
/// fast: kept the same). An estimate, not measured on a GPU.
constexpr int64_t kMinMmaBlocks = 16;

/// The contraction `root` is, or the one whose elementwise epilogue it is.
linalg::LinalgOp rootContraction(Operation *root) {
  if (linalg::LinalgOp contraction = cpu::epilogueRoot(root))
    return contraction;
  return dyn_cast_or_null<linalg::LinalgOp>(root);
}

/// A matmul-like contraction's innermost row (m) and column (n) loops and
/// its number of outputs, when it has static loops, one reduction loop and
/// at least one m and one n loop.
struct MatmulLoops {
  int64_t rows, cols, outputs;
};
std::optional<MatmulLoops> matmulLoops(linalg::LinalgOp contraction) {
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(contraction);
  SmallVector<int64_t> ranges = contraction.getStaticLoopRanges();
  if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.size() != 1 ||
      ShapedType::isDynamicShape(ranges))
    return std::nullopt;
  int64_t outputs = 1;
  for (auto [d, iter] : llvm::enumerate(contraction.getIteratorTypesArray()))
    if (iter == utils::IteratorType::parallel)
      outputs *= ranges[d];
  return MatmulLoops{(int64_t)dims->m.back(), (int64_t)dims->n.back(), outputs};
}

/// A thread's register tile: `rows` along loop `rowLoop`, `cols` along
/// `colLoop`; 1 along every other loop (and everywhere by default).
struct ThreadTiles {
  int64_t rowLoop = -1, rows = 1, colLoop = -1, cols = 1;
  int64_t along(int64_t loop) const {
    return loop == rowLoop ? rows : loop == colLoop ? cols : 1;
  }
};

/// The first of `candidates` (rows x columns, in order of preference) that
/// divides `rows` x `cols` and leaves at least `minThreads` threads of
/// `outputs`, as a tile; one element when none does.
ThreadTiles firstTile(ArrayRef<std::array<int64_t, 2>> candidates, int64_t rowLoop,
                      int64_t rows, int64_t colLoop, int64_t cols, int64_t outputs,
                      int64_t minThreads) {
  for (const auto &c : candidates)
    if (rows % c[0] == 0 && cols % c[1] == 0 && outputs / (c[0] * c[1]) >= minThreads)
      return ThreadTiles{rowLoop, c[0], colLoop, c[1]};
  return ThreadTiles();
}

/// The register tile of a contraction root (`root`, or the contraction
/// whose elementwise epilogue `root` is) along its m and n loops; one
/// element when the contraction does not qualify or tiles would leave
/// fewer than `minThreads` threads.
ThreadTiles chooseThreadTiles(Operation *root,
                              int64_t minThreads = kMinThreadsForRegisterTiles) {
  linalg::LinalgOp contraction = rootContraction(root);
  if (!contraction)
    return ThreadTiles();
  // An NCHW convolution (loops n, f, oh, ow, ...): a tile of output
  // channels x output columns, as square as the extents and the thread
  // count allow.
  if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(contraction.getOperation())) {
    SmallVector<int64_t> bounds = conv.getStaticLoopRanges();
    if (ShapedType::isDynamicShape(bounds) ||
        !llvm::all_of(conv->getOperandTypes(),
                      [](Type t) { return getElementTypeOrSelf(t).isF32(); }))
      return ThreadTiles();
    static const std::array<int64_t, 2> convTiles[] = {{4, 4}, {4, 2}, {2, 4}, {2, 2},
                                                       {4, 1}, {1, 4}, {2, 1}, {1, 2}};
    return firstTile(convTiles, 1, bounds[1], 3, bounds[3],
                     bounds[0] * bounds[1] * bounds[2] * bounds[3], minThreads);
  }
  cpu::TargetInfo thread;
  thread.vectorWidth = kThreadVectorWidth;
  thread.l1Bytes = 0; // no reduction blocks
  thread.outerLoopsAsBatch = true;
  std::optional<cpu::ContractionTiles> t = cpu::chooseContractionTiles(contraction, thread);
  if (!t)
    return ThreadTiles();
  int64_t outputs = 1;
  for (auto [d, bound] : llvm::enumerate(t->bounds))
    if (contraction.getIteratorTypesArray()[d] == utils::IteratorType::parallel)
      outputs *= bound;
  // Columns stay whole vectors.
  static const std::array<int64_t, 2> matmulTiles[] = {
      {4, kThreadVectorWidth}, {2, kThreadVectorWidth}, {1, kThreadVectorWidth}};
  return firstTile(matmulTiles, t->m, t->bounds[t->m], t->n, t->bounds[t->n], outputs,
                   minThreads);
}

/// An elementwise root with many outputs: each thread takes
/// kThreadVectorWidth neighbouring elements of the output's innermost
/// dimension (one 16-byte access of f32 where the operands are
/// contiguous too), as long as 4 x kMinThreadsForRegisterTiles outputs
/// leave enough threads. Not a gather other than a row gather
/// (kRowGatherAttr): its reads at computed indices (a padded pool's
/// windows, gatheredPool in LowerPooling.cpp) are no 16-byte accesses,
/// and four neighbouring outputs per thread put a warp's lanes four
/// outputs apart in memory where one per thread keeps them side by side.
ThreadTiles chooseElementTiles(Operation *root) {
  auto op = dyn_cast<linalg::LinalgOp>(root);
  if (!op || op.getNumReductionLoops() != 0 || op->getNumResults() != 1 ||
      op.getNumDpsInits() != 1)
    return ThreadTiles();
  if (!root->hasAttr(cpu::kRowGatherAttr) &&
      root->walk([](tensor::ExtractOp) { return WalkResult::interrupt(); }).wasInterrupted())
    return ThreadTiles();
  AffineMap out = op.getIndexingMapMatchingResult(op->getResult(0));
  if (out.getNumResults() == 0)
    return ThreadTiles();
  auto last = dyn_cast<AffineDimExpr>(out.getResults().back());
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (!last || ShapedType::isDynamicShape(ranges))
    return ThreadTiles();
  int64_t outputs = 1;
  for (int64_t r : ranges)
    outputs = outputs > kMaxThreads / std::max<int64_t>(r, 1) ? kMaxThreads : outputs * r;
  unsigned loop = last.getPosition();
  if (ranges[loop] % kThreadVectorWidth != 0 ||
      outputs < kThreadVectorWidth * kMinThreadsForRegisterTiles)
    return ThreadTiles();
  return ThreadTiles{-1, 1, (int64_t)loop, kThreadVectorWidth};
}

/// Whether the image of the convolution that `root` is (or whose
/// elementwise epilogue `root` is) is computed in the dispatch: a padding
/// that weft-form-dispatches fused in, for blocks that gather from the
/// unpadded image.
bool convImageComputedInside(Operation *root) {
  linalg::LinalgOp contraction = rootContraction(root);
  if (!isa_and_nonnull<linalg::Conv2DNchwFchwOp, linalg::Conv2DNgchwGfchwOp>(
          contraction.getOperation()))
    return false;
  Value image = contraction.getDpsInputs()[0];
  while (auto expand = image.getDefiningOp<tensor::ExpandShapeOp>())
    image = expand.getSrc();
  return isa_and_nonnull<linalg::LinalgOp>(image.getDefiningOp());
}

/// Whether the convolution that `root` is (or whose elementwise epilogue
/// `root` is) is depthwise (one input channel per group), whose padding
/// weft-form-dispatches fuses in for its threads to read their windows
/// with bounds checks.
bool isDepthwise(Operation *root) {
  auto conv = dyn_cast_or_null<linalg::Conv2DNgchwGfchwOp>(rootContraction(root).getOperation());
  return conv && cast<ShapedType>(conv.getDpsInputs()[0].getType()).getDimSize(2) == 1;
}

/// Whether `op`'s result may depend on what its output buffer held before:
/// it reads its init, and following the inits of the ops that read theirs
/// ends neither at an op that does not (a fill, a broadcast bias, a copy of
/// an input) nor at a tensor.empty.
bool mayReadOutput(linalg::LinalgOp op) {
  for (int depth = 0; depth < 8; ++depth) {
    if (op.getNumDpsInits() != 1)
      return true;
    OpOperand *init = op.getDpsInitOperand(0);
    if (!op.payloadUsesValueFromOperand(init))
      return false;
    // Reshapes (a grouped convolution's view of its bias) read nothing.
    Value v = init->get();
    while (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(v.getDefiningOp()))
      v = v.getDefiningOp()->getOperand(0);
    if (v.getDefiningOp<tensor::EmptyOp>())
      return false;
    op = v.getDefiningOp<linalg::LinalgOp>();
    if (!op)
      return true;
  }
  return true;
}

/// The 4 x 4 thread tiles of an f32 convolution rewritten as a matmul
/// (convAsMatmul; `root` is it or its elementwise epilogue) along its rows
/// (output channels) and columns (positions), for blocks: from
/// kGpuMinConvBlockOutputs outputs on, its positions not necessarily a
/// multiple of 4 (its blocks overlap at their end; chooseBlockTile). None
/// otherwise.
ThreadTiles convMatmulTiles(Operation *root) {
  linalg::LinalgOp contraction = rootContraction(root);
  if (!contraction || !llvm::all_of(contraction->getOperandTypes(), [](Type t) {
        return getElementTypeOrSelf(t).isF32();
      }))
    return ThreadTiles();
  std::optional<MatmulLoops> loops = matmulLoops(contraction);
  if (!loops || contraction.getStaticLoopRanges()[loops->rows] % 4 != 0 ||
      loops->outputs < kGpuMinConvBlockOutputs)
    return ThreadTiles();
  return ThreadTiles{loops->rows, 4, loops->cols, kThreadVectorWidth};
}

/// The rows x columns of a block's tile of the output of `root` (whose
/// register-tiled contraction is itself or the one its elementwise
/// epilogue reads), when it is a matmul large enough for blocks: the
/// first of 64 x 64, 32 x 128 and 128 x 32 that divides its rows and
/// columns, with one reduction loop a multiple of kBlockReductionStep (at
/// least two of them, or one where an operand is gathered in the
/// dispatch). Where none divides, the one that computes the
/// fewest outputs twice, its last block along a loop that it does not
/// divide moved back to end at the loop's end (overlapping the one before;
/// see tileBlocks), if the result does not read the output. Convolutions
/// are not (they are rewritten as matmuls first: convAsMatmul).
std::optional<std::array<int64_t, 2>> chooseBlockTile(Operation *root, const ThreadTiles &tiles) {
  linalg::LinalgOp contraction = rootContraction(root);
  auto rootOp = dyn_cast<linalg::LinalgOp>(root);
  if (!contraction || !rootOp || isa<linalg::ConvolutionOpInterface>(contraction.getOperation()))
    return std::nullopt;
  SmallVector<int64_t> rootRanges = rootOp.getStaticLoopRanges();
  SmallVector<int64_t> ranges = contraction.getStaticLoopRanges();
  SmallVector<unsigned> reductions;
  contraction.getReductionDims(reductions);
  if (ShapedType::isDynamicShape(rootRanges) || ShapedType::isDynamicShape(ranges) ||
      reductions.size() != 1)
    return std::nullopt;
  int64_t k = ranges[reductions[0]];
  // One step leaves nothing to overlap: blocks pay for themselves only
  // where an operand is computed in the dispatch (a convolution's columns,
  // gathered: thread tiles would read its image through strided windows).
  bool gathered = llvm::any_of(contraction.getDpsInputs(), [](Value in) {
    auto producer = in.getDefiningOp<linalg::GenericOp>();
    return producer && producer.getNumReductionLoops() == 0;
  });
  if (k % kBlockReductionStep != 0 || k < kBlockReductionStep ||
      (k < 2 * kBlockReductionStep && !gathered))
    return std::nullopt;
  static const std::array<int64_t, 2> blockTiles[] = {{64, 64}, {32, 128}, {128, 32}};
  int64_t rows = rootRanges[tiles.rowLoop], cols = rootRanges[tiles.colLoop];
  for (const auto &t : blockTiles) {
    assert(t[0] * t[1] == kBlockOutputs && "a block's tile has kBlockOutputs elements");
    if (rows % t[0] == 0 && cols % t[1] == 0)
      return t;
  }
  // Overlapping blocks write some outputs twice (the same values), which
  // is only right when nothing reads the output.
  if (mayReadOutput(rootOp) || mayReadOutput(contraction))
    return std::nullopt;
  std::optional<std::array<int64_t, 2>> best;
  int64_t bestOutputs = 0;
  for (const auto &t : blockTiles) {
    if (rows < t[0] || cols < t[1])
      continue;
    int64_t outputs = llvm::divideCeil(rows, t[0]) * llvm::divideCeil(cols, t[1]) * kBlockOutputs;
    if (!best || outputs < bestOutputs) {
      best = t;
      bestOutputs = outputs;
    }
  }
  return best;
}

/// The rows and columns loops of a matmul of f16 (with `f16`) or bf16
/// (with `bf16`) operands into f32 sums (a widened 16-bit MatMul, or the
/// one `root` is the epilogue of) with at least kMinMmaBlocks blocks'
/// outputs: its innermost m and n loops, the others batch loops, as a
/// 4 x 4 tile; no tiles otherwise. Such a matmul has no register tiles: it
/// goes to blocks on tensor cores, or one output per thread.
ThreadTiles chooseHalfMatmulLoops(Operation *root, bool f16, bool bf16) {
  linalg::LinalgOp contraction = rootContraction(root);
  if (!contraction || contraction.getNumDpsInputs() != 2 || contraction.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(contraction) ||
      !getElementTypeOrSelf(contraction.getDpsInits()[0].getType()).isF32() ||
      !llvm::all_of(contraction.getDpsInputs(), [&](Value v) {
        Type t = getElementTypeOrSelf(v.getType());
        return (f16 && t.isF16()) || (bf16 && t.isBF16());
      }))
    return ThreadTiles();
  std::optional<MatmulLoops> loops = matmulLoops(contraction);
  if (!loops || loops->outputs < kMinMmaBlocks * kBlockOutputs)
    return ThreadTiles();
  return ThreadTiles{loops->rows, 4, loops->cols, kThreadVectorWidth};
}

/// A Concat of dispatch inputs arrives as a chain of tensor.insert_slice
/// ops into the output, which fuses into no thread loop (a dispatch of one
/// thread copying everything). Rewritten as one linalg.generic over the
/// output that reads each element from the piece holding it, it runs one
/// thread per element. Only pieces that are dispatch inputs (to_tensor) and
/// that tile the output along one axis are taken.
void concatAsGather(func::FuncOp fn) {
  SmallVector<bufferization::MaterializeInDestinationOp> sinks;
  fn.walk([&](bufferization::MaterializeInDestinationOp m) { sinks.push_back(m); });
  for (auto sink : sinks) {
    SmallVector<tensor::InsertSliceOp> chain;
    Value v = sink.getSource();
    while (auto insert = v.getDefiningOp<tensor::InsertSliceOp>()) {
      chain.push_back(insert);
      v = insert.getDest();
    }
    auto outType = dyn_cast<RankedTensorType>(sink.getSource().getType());
    if (chain.empty() || !outType || !outType.hasStaticShape() ||
        !isa_and_nonnull<bufferization::ToTensorOp, tensor::EmptyOp>(v.getDefiningOp()))
      continue;
    struct Piece {
      Value source;
      int64_t offset, size;
    };
    SmallVector<Piece> pieces;
    int64_t axis = -1;
    bool ok = true;
    for (tensor::InsertSliceOp insert : chain) {
      auto src = insert.getSourceType();
      if (!insert.getSource().getDefiningOp<bufferization::ToTensorOp>() ||
          src.getRank() != outType.getRank() || !insert.hasUnitStride() ||
          ShapedType::isDynamicShape(insert.getStaticOffsets()) ||
          ShapedType::isDynamicShape(insert.getStaticSizes())) {
        ok = false;
        break;
      }
      for (int64_t d = 0; d < outType.getRank(); ++d) {
        int64_t off = insert.getStaticOffsets()[d], size = insert.getStaticSizes()[d];
        if (size == outType.getDimSize(d) && off == 0)
          continue;
        if (axis != -1 && axis != d)
          ok = false;
        axis = d;
      }
      if (!ok)
        break;
      int64_t a = std::max<int64_t>(axis, 0);
      pieces.push_back({insert.getSource(), insert.getStaticOffsets()[a],
                        insert.getStaticSizes()[a]});
    }
    if (!ok || axis < 0 || pieces.size() < 2)
      continue;
    // The pieces must cover the axis exactly once.
    llvm::sort(pieces, [](const Piece &x, const Piece &y) { return x.offset < y.offset; });
    int64_t end = 0;
    for (const Piece &p : pieces) {
      ok &= p.offset == end && p.size > 0;
      end = p.offset + p.size;
    }
    if (!ok || end != outType.getDimSize(axis))
      continue;

    OpBuilder b(sink);
    Location loc = sink.getLoc();
    // The gather writes the whole output: the chain's own destination
    // (the output buffer) serves as its init, so nothing is copied after.
    Value empty = v;
    int64_t rank = outType.getRank();
    SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    auto gather = linalg::GenericOp::create(
        b, loc, TypeRange{outType}, ValueRange{}, ValueRange{empty}, maps, iters,
        [&](OpBuilder &nb, Location nl, ValueRange) {
          SmallVector<Value> idx;
          for (int64_t d = 0; d < rank; ++d)
            idx.push_back(linalg::IndexOp::create(nb, nl, d));
          // if (i < end of piece 0) piece 0 else if (i < end of piece 1) ...
          std::function<Value(OpBuilder &, size_t)> pick = [&](OpBuilder &ib, size_t k) -> Value {
            SmallVector<Value> at(idx);
            at[axis] = arith::SubIOp::create(ib, nl, idx[axis],
                                             arith::ConstantIndexOp::create(ib, nl, pieces[k].offset));
            if (k + 1 == pieces.size())
              return tensor::ExtractOp::create(ib, nl, pieces[k].source, at);
            Value inside = arith::CmpIOp::create(
                ib, nl, arith::CmpIPredicate::ult, idx[axis],
                arith::ConstantIndexOp::create(ib, nl, pieces[k].offset + pieces[k].size));
            auto branch = scf::IfOp::create(
                ib, nl, inside,
                [&](OpBuilder &tb, Location tl) {
                  scf::YieldOp::create(tb, tl, tensor::ExtractOp::create(tb, tl, pieces[k].source, at)
                                                   .getResult());
                },
                [&](OpBuilder &eb, Location el) { scf::YieldOp::create(eb, el, pick(eb, k + 1)); });
            return branch.getResult(0);
          };
          linalg::YieldOp::create(nb, nl, pick(nb, 0));
        });
    sink.getSourceMutable().assign(gather.getResult(0));
    for (tensor::InsertSliceOp insert : chain)
      if (insert->use_empty())
        insert.erase();
  }
}

/// Whether `root`, or a producer an elementwise `root` reads, is a
/// reduction (a contraction, a convolution) of at least kMinSplitReduction
/// elements per output, along a loop that lanes can share (at least 64
/// long).
bool hasLongReduction(TilingInterface root) {
  auto op = dyn_cast<linalg::LinalgOp>(root.getOperation());
  if (!op)
    return false;
  SmallVector<linalg::LinalgOp> candidates;
  if (op.getNumReductionLoops() != 0)
    candidates.push_back(op);
  else
    for (Value input : op.getDpsInputs())
      if (auto producer = input.getDefiningOp<linalg::LinalgOp>())
        candidates.push_back(producer);
  for (linalg::LinalgOp producer : candidates) {
    if (producer.getNumReductionLoops() == 0)
      continue;
    SmallVector<int64_t> ranges = producer.getStaticLoopRanges();
    SmallVector<unsigned> reductions;
    producer.getReductionDims(reductions);
    int64_t length = 1;
    bool laneable = false;
    for (unsigned d : reductions) {
      if (ShapedType::isDynamic(ranges[d]))
        return false;
      length *= ranges[d];
      laneable |= isLaneable(ranges[d]);
    }
    if (laneable && length >= kMinSplitReduction)
      return true;
  }
  return false;
}

/// Marks in `whole` the root loops along which a reduction fused into the
/// dispatch does not vary: tiled by 1 there, every thread would compute the
/// whole reduction again (a softmax's row sum once per element of the row,
/// O(n^2) work for a row of n). `toRoot[k]` is the root loop of `op`'s loop
/// k (-1: none). Only projected-permutation maps are followed.
void markReductionBroadcasts(linalg::LinalgOp op, ArrayRef<int64_t> toRoot,
                             llvm::SmallBitVector &whole, int depth = 0) {
  if (depth > 16)
    return;
  for (OpOperand *operand : op.getDpsInputOperands()) {
    auto producer = operand->get().getDefiningOp<linalg::LinalgOp>();
    AffineMap map = op.getMatchingIndexingMap(operand);
    if (!producer || !map.isProjectedPermutation())
      continue;
    // The root loops this operand's elements vary along.
    llvm::SmallBitVector varies(whole.size());
    for (unsigned r = 0; r < map.getNumResults(); ++r)
      if (int64_t loop = toRoot[map.getDimPosition(r)]; loop >= 0)
        varies.set(loop);
    auto result = cast<OpResult>(operand->get());
    AffineMap out = producer.getIndexingMapMatchingResult(result);
    if (!out.isProjectedPermutation() || out.getNumResults() != map.getNumResults())
      continue;
    if (producer.getNumReductionLoops() > 0) {
      for (unsigned loop = 0; loop < whole.size(); ++loop)
        if (!varies.test(loop))
          whole.set(loop);
    }
    // The producer's loop k computes result dim r (out: r = dim k), which
    // `op` reads at its loop map(r).
    SmallVector<int64_t> producerToRoot(producer.getNumLoops(), -1);
    for (unsigned r = 0; r < out.getNumResults(); ++r)
      producerToRoot[out.getDimPosition(r)] = toRoot[map.getDimPosition(r)];
    markReductionBroadcasts(producer, producerToRoot, whole, depth + 1);
  }
}

struct TileThreadsPass : weft::cuda::impl::TileThreadsBase<TileThreadsPass> {
  using TileThreadsBase::TileThreadsBase;

  /// A transpose root (all loops parallel, one input read through a
  /// permutation, the output through the identity) whose input's innermost
  /// dimension is not the output's: its loops are interchanged so that the
  /// input's innermost loop is the last, which consecutive threads walk, so
  /// a warp's lanes read neighbouring input elements (one request of 4
  /// sectors) while each thread still writes 4 neighbours of the output's
  /// innermost dimension. Otherwise the lanes' reads were a row of the input
  /// apart each (BERT-base's K transposes: 32 sectors per request for 128
  /// bytes, weft-gpu-sim --profile).
  void readTransposesAlongLanes(func::FuncOp fn) {
    TilingInterface root = cpu::findDispatchRoot(fn);
    if (!root)
      return;
    IRRewriter rw(&getContext());
    Operation *op = root.getOperation();
    if (auto t = dyn_cast<linalg::TransposeOp>(op)) {
      rw.setInsertionPoint(t);
      FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rw, t);
      if (failed(g))
        return;
      op = *g;
    }
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic || generic.getNumDpsInputs() != 1 || generic.getNumDpsInits() != 1 ||
        generic.getNumReductionLoops() != 0 || !generic.hasPureTensorSemantics())
      return;
    AffineMap in = generic.getMatchingIndexingMap(generic.getDpsInputOperand(0));
    AffineMap out = generic.getMatchingIndexingMap(generic.getDpsInitOperand(0));
    unsigned n = generic.getNumLoops();
    if (!in.isPermutation() || !out.isIdentity() || n < 2)
      return;
    SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
    unsigned inner = cast<AffineDimExpr>(in.getResults().back()).getPosition();
    if (ShapedType::isDynamicShape(ranges) || inner == n - 1 || ranges[inner] < kWarpLanes ||
        ranges[n - 1] % kThreadVectorWidth != 0)
      return;
    SmallVector<unsigned> order;
    for (unsigned d = 0; d < n; ++d)
      if (d != inner)
        order.push_back(d);
    order.push_back(inner);
    rw.setInsertionPoint(generic);
    (void)linalg::interchangeGenericOp(rw, generic, order);
  }

  /// Tiles the root of `fn` into one forall iteration per element of its
  /// parallel loops; `count` is the number of iterations (1: not tiled).
  LogicalResult tile(func::FuncOp fn, int64_t &count) {
    count = 1;
    // A reshape between the root and its producer (a grouped convolution
    // computed on [N, G, C/G, ..] views, then collapsed for its epilogue)
    // stops producer fusion: fold it into the elementwise ops by expanding
    // them, so the reshape moves to the dispatch's output.
    RewritePatternSet patterns(&getContext());
    linalg::populateFoldReshapeOpsByExpansionPatterns(
        patterns, [](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          return producer && !isa<bufferization::ToTensorOp>(producer);
        });
    (void)applyPatternsGreedily(fn, std::move(patterns));
    concatAsGather(fn);
    readTransposesAlongLanes(fn);
    TilingInterface root = cpu::findDispatchRoot(fn);
    if (!root)
      return success();
    OpBuilder b(root);
    SmallVector<Range> domain = root.getIterationDomain(b);
    SmallVector<utils::IteratorType> iters = root.getLoopIteratorTypes();
    // A thread keeps whole the loops along which a fused reduction is
    // shared (it computes the reduction once and the row's elements).
    llvm::SmallBitVector whole(domain.size());
    if (auto linalgRoot = dyn_cast<linalg::LinalgOp>(root.getOperation())) {
      SmallVector<int64_t> identity;
      for (int64_t k = 0; k < (int64_t)domain.size(); ++k)
        identity.push_back(k);
      markReductionBroadcasts(linalgRoot, identity, whole);
    }
    // A row long enough for a warp (its innermost whole loop at least 64
    // long) is shared by the lanes of one warp, whatever the row count.
    std::optional<unsigned> laneLoop;
    for (int64_t index = (int64_t)domain.size() - 1; index >= 0 && whole.any(); --index) {
      std::optional<int64_t> size = getConstantIntValue(domain[index].size);
      if (!whole.test(index) || !size)
        continue;
      if (isLaneable(*size))
        laneLoop = index;
      break;
    }
    if (whole.any() && !laneLoop) {
      int64_t shared = 1, rows = 1;
      for (auto [index, range, iter] : llvm::enumerate(domain, iters)) {
        std::optional<int64_t> size = getConstantIntValue(range.size);
        if (!size || iter != utils::IteratorType::parallel)
          continue;
        int64_t &product = whole.test(index) ? shared : rows;
        product = product > kMaxThreads / std::max<int64_t>(*size, 1) ? kMaxThreads
                                                                      : product * *size;
      }
      if (shared < kRowForRedundancy && rows < kRowForThreads)
        whole.reset();
    }
    // A contraction's thread may take a register tile instead of one
    // element (the root's loop d is the contraction's loop d).
    ThreadTiles tiles;
    if (whole.none())
      tiles = chooseThreadTiles(root.getOperation());
    if (whole.none() && tiles.rowLoop < 0 && tiles.colLoop < 0)
      tiles = chooseElementTiles(root.getOperation());
    // A large convolution goes to the matmul blocks as the matmul it is
    // (of its filter and its image's columns).
    if (whole.none() && succeeded(convBlocks(fn, count)))
      return success();
    if (convImageComputedInside(root.getOperation()) && !isDepthwise(root.getOperation()))
      root->emitWarning("this dispatch's convolution does not run in the GPU's blocks, so the "
                        "padding of its image fused into it is computed by each thread for "
                        "its window");
    // A large matmul goes to blocks whose threads share its operands
    // through shared memory; one of f16 operands only to blocks on tensor
    // cores.
    ThreadTiles blockLoops = tiles;
    if (whole.none())
      blockLoops = blockLoopsFor(root.getOperation(), tiles);
    if (blockLoops.rows == 4 && blockLoops.cols == kThreadVectorWidth)
      if (std::optional<std::array<int64_t, 2>> block =
              chooseBlockTile(root.getOperation(), blockLoops))
        if (succeeded(tileBlocks(fn, blockLoops, *block, count)))
          return success();
    SmallVector<OpFoldResult> sizes;
    for (auto [index, range, iter] : llvm::enumerate(domain, iters)) {
      auto size = getConstantIntValue(range.size);
      // An empty loop: no element, nothing to split (upstream tiling does
      // not handle a zero extent).
      if (!size || *size == 0)
        return success();
      bool split = iter == utils::IteratorType::parallel && *size > 1 && !whole.test(index);
      int64_t tile = split ? tiles.along(index) : 0;
      sizes.push_back(b.getIndexAttr(tile));
      if (split) {
        int64_t threads = *size / tile;
        if (count > kMaxThreads / threads)
          return success();
        count *= threads;
      }
    }
    // One output per thread with a long reduction (a convolution over many
    // input channels, a matrix-vector product) and too few outputs to keep
    // the GPU busy: a warp per output, its lanes splitting the reduction.
    bool splitReduction = whole.none() && tiles.rowLoop < 0 && tiles.colLoop < 0 &&
                          count < kMaxThreadsForSplitReduction && hasLongReduction(root);
    if (count == 1 || failed(cpu::tileRootIntoForall(root, sizes)))
      return success(count == 1);
    if (laneLoop)
      splitAcrossLanes(fn, *laneLoop);
    else if (splitReduction)
      splitAcrossLanes(fn, std::nullopt);
    // A block of a register-tiled contraction covers a square patch of
    // tiles: its threads share A's rows and B's columns in the cache.
    if (tiles.rowLoop >= 0 && tiles.colLoop >= 0) {
      int64_t rowDim = -1, colDim = -1, dim = 0;
      for (auto [index, range, iter] : llvm::enumerate(domain, iters)) {
        if (iter != utils::IteratorType::parallel || getConstantIntValue(range.size) <= 1)
          continue;
        if ((int64_t)index == tiles.rowLoop)
          rowDim = dim;
        if ((int64_t)index == tiles.colLoop)
          colDim = dim;
        ++dim;
      }
      SmallVector<scf::ForallOp> loops(fn.getBody().getOps<scf::ForallOp>());
      if (loops.size() == 1 && rowDim >= 0 && colDim >= 0)
        patchBlocks(loops[0], rowDim, colDim);
    }
    return success();
  }

  /// The loops of a matmul `root` (4 x 4 tiles along them) for blocks: its
  /// register `tiles` where they are 4 x 4; else, where its blocks would
  /// run on tensor cores (f16 operands with f16Mma, bf16 ones with
  /// bf16Mma, f32 ones with tf32 or tf32x3),
  /// 4 x 4 tiles from kMinMmaBlocks blocks' outputs on; else `tiles`.
  ThreadTiles blockLoopsFor(Operation *root, const ThreadTiles &tiles) {
    if (tiles.rows == 4 && tiles.cols == kThreadVectorWidth)
      return tiles;
    if (f16Mma || bf16Mma)
      if (ThreadTiles half = chooseHalfMatmulLoops(root, f16Mma, bf16Mma); half.rowLoop >= 0)
        return half;
    if (tf32 || tf32x3)
      return chooseThreadTiles(root, kMinMmaBlocks * kThreadsPerBlock);
    return tiles;
  }

  /// Runs the NCHW convolution that is the root of `fn` (or that its
  /// elementwise epilogue reads) as a matmul in blocks (convAsMatmul, the
  /// reshape moved past the epilogue), where that matmul takes 4 x 4
  /// register tiles (or, of f16 operands, tensor cores) and blocks; leaves
  /// `fn` as it was otherwise.
  LogicalResult convBlocks(func::FuncOp fn, int64_t &count) {
    TilingInterface root = cpu::findDispatchRoot(fn);
    if (!root)
      return failure();
    linalg::LinalgOp contraction = rootContraction(root.getOperation());
    if (!isa_and_nonnull<linalg::Conv2DNchwFchwOp, linalg::Conv2DNgchwGfchwOp>(
            contraction.getOperation()))
      return failure();
    // The filter [(g,) f, c, kh, kw]: a reduction of c * kh * kw products.
    auto filter = dyn_cast<RankedTensorType>(contraction.getDpsInputs()[1].getType());
    if (!filter || !filter.hasStaticShape())
      return failure();
    ArrayRef<int64_t> taps = filter.getShape().take_back(3);
    if (!gpuBlockReduction(taps[0] * taps[1] * taps[2], taps[1] * taps[2]))
      return failure();
    func::FuncOp trial = fn.clone();
    llvm::scope_exit erase([&] { trial.erase(); });
    SmallVector<linalg::LinalgOp> convs;
    trial.walk([&](Operation *op) {
      if (isa<linalg::Conv2DNchwFchwOp, linalg::Conv2DNgchwGfchwOp>(op))
        convs.push_back(cast<linalg::LinalgOp>(op));
    });
    if (convs.size() != 1 || failed(convAsMatmul(convs[0])))
      return failure();
    RewritePatternSet patterns(&getContext());
    // Not into a broadcast from a reshaped input (a grouped convolution's
    // bias [G, F/G] broadcast to [N, G, F/G, P]): collapsed, it would be
    // [N, F, P] viewed as the init, which the blocks cannot compute per tile.
    linalg::populateFoldReshapeOpsByCollapsingPatterns(patterns, [](OpOperand *use) {
      auto generic = dyn_cast<linalg::GenericOp>(use->getOwner());
      bool broadcast = generic && generic.getNumReductionLoops() == 0 &&
                       isa<linalg::YieldOp>(generic.getBody()->front()) &&
                       isa<BlockArgument>(generic.getBody()->front().getOperand(0));
      return !broadcast || !generic.isDpsInput(use);
    });
    linalg::FillOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(trial, std::move(patterns))))
      return failure();
    root = cpu::findDispatchRoot(trial);
    if (!root || failed(writeThroughReshape(trial)))
      return failure();
    ThreadTiles tiles = convMatmulTiles(root.getOperation());
    if (tiles.rows != 4)
      tiles = blockLoopsFor(root.getOperation(), chooseThreadTiles(root.getOperation()));
    if (tiles.rows != 4 || tiles.cols != kThreadVectorWidth)
      return failure();
    std::optional<std::array<int64_t, 2>> block = chooseBlockTile(root.getOperation(), tiles);
    if (!block || failed(tileBlocks(trial, tiles, *block, count)))
      return failure();
    fn.getBody().takeBody(trial.getBody());
    return success();
  }

  /// Tiles the root of `fn` into one forall iteration per `block` (rows x
  /// columns) tile of its output (rows along `tiles.rowLoop`, columns
  /// along `tiles.colLoop`), each staged through shared memory by the
  /// block's threads; `count` is the number of blocks. Leaves `fn` as it
  /// was when the block does not fit that plan.
  LogicalResult tileBlocks(func::FuncOp fn, const ThreadTiles &tiles,
                           std::array<int64_t, 2> block, int64_t &count) {
    func::FuncOp trial = fn.clone();
    llvm::scope_exit erase([&] { trial.erase(); });
    TilingInterface root = cpu::findDispatchRoot(trial);
    if (!root)
      return failure();
    OpBuilder b(root);
    SmallVector<int64_t> sizes;
    int64_t blocks = 1;
    for (auto [index, range, iter] :
         llvm::enumerate(root.getIterationDomain(b), root.getLoopIteratorTypes())) {
      std::optional<int64_t> size = getConstantIntValue(range.size);
      if (!size || *size == 0)
        return failure();
      int64_t tile = 0;
      if (iter == utils::IteratorType::parallel && *size > 1)
        tile = (int64_t)index == tiles.rowLoop   ? block[0]
               : (int64_t)index == tiles.colLoop ? block[1]
                                                 : 1;
      // A loop that the block does not divide ends with a block that
      // overlaps the one before (chooseBlockTile checked that this is
      // right).
      if (tile > *size)
        return failure();
      if (tile)
        blocks *= llvm::divideCeil(*size, tile);
      sizes.push_back(tile);
    }
    bool divides = llvm::all_of(llvm::zip(root.getIterationDomain(b), sizes), [](auto rt) {
      int64_t tile = std::get<1>(rt);
      return tile == 0 || *getConstantIntValue(std::get<0>(rt).size) % tile == 0;
    });
    if (failed(divides ? cpu::tileRootIntoForall(root, getAsIndexOpFoldResult(b.getContext(), sizes))
                       : tileRootIntoOverlappingForall(root, sizes)))
      return failure();
    SmallVector<scf::ForallOp> loops(trial.getBody().getOps<scf::ForallOp>());
    if (loops.size() != 1 ||
        failed(stageBlockThroughWorkgroupMemory(loops[0], workgroupMemory, tf32, tf32x3, f16Mma,
                                                    bf16Mma)))
      return failure();
    fn.getBody().takeBody(trial.getBody());
    count = blocks;
    lanes = kThreadsPerBlock;
    return success();
  }

  /// Reorders the iterations of `threads` (loop `rowDim` over row tiles,
  /// `colDim` over column tiles) so that each run of kThreadsPerBlock
  /// consecutive ids, one block, is a 16 x 16 (or 8 x 32, 32 x 8) patch of
  /// tiles rather than a strip along the columns; other loops stay
  /// outermost. Left as is where no patch divides the tile counts.
  void patchBlocks(scf::ForallOp threads, int64_t rowDim, int64_t colDim) {
    // Iteration counts (the loop steps over tile offsets).
    SmallVector<int64_t> lbs(threads.getStaticLowerBound()), ubs(threads.getStaticUpperBound()),
        steps(threads.getStaticStep()), counts;
    for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
      if (ShapedType::isDynamic(lb) || ShapedType::isDynamic(ub) || ShapedType::isDynamic(step) ||
          lb != 0 || step <= 0 || ub % step != 0)
        return;
      counts.push_back(ub / step);
    }
    static const std::array<int64_t, 2> patches[] = {{16, 16}, {8, 32}, {32, 8}};
    static_assert(16 * 16 == kThreadsPerBlock, "a patch is one block of threads");
    int64_t rows = counts[rowDim], cols = counts[colDim], pr = 0, pc = 0;
    for (const auto &p : patches)
      if (rows % p[0] == 0 && cols % p[1] == 0 && (rows > p[0] || cols > p[1])) {
        pr = p[0];
        pc = p[1];
        break;
      }
    if (!pr)
      return;
    IRRewriter rewriter(threads);
    Location loc = threads.getLoc();
    SmallVector<OpFoldResult> bounds;
    SmallVector<int64_t> outer;
    for (int64_t d = 0; d < (int64_t)counts.size(); ++d)
      if (d != rowDim && d != colDim) {
        outer.push_back(d);
        bounds.push_back(rewriter.getIndexAttr(counts[d]));
      }
    int64_t n = outer.size();
    for (int64_t b : {rows / pr, cols / pc, pr, pc})
      bounds.push_back(rewriter.getIndexAttr(b));
    auto patched = scf::ForallOp::create(rewriter, loc, bounds, threads.getOutputs(),
                                         threads.getMapping());
    Block *body = patched.getBody();
    rewriter.setInsertionPointToStart(body);
    SmallVector<Value> ivs(patched.getInductionVars());
    AffineExpr hi, lo;
    bindDims(rewriter.getContext(), hi, lo);
    // The old loop's value: (hi * patch + lo) * step, or index * step.
    auto offset = [&](Value h, Value l, int64_t patch, int64_t step) -> Value {
      return affine::AffineApplyOp::create(rewriter, loc, hi * (patch * step) + lo * step,
                                           ValueRange{h, l});
    };
    auto scaled = [&](Value index, int64_t step) -> Value {
      if (step == 1)
        return index;
      return affine::AffineApplyOp::create(rewriter, loc, hi * step, ValueRange{index});
    };
    SmallVector<Value> replacements(counts.size());
    for (auto [k, d] : llvm::enumerate(outer))
      replacements[d] = scaled(ivs[k], steps[d]);
    replacements[rowDim] = offset(ivs[n], ivs[n + 2], pr, steps[rowDim]);
    replacements[colDim] = offset(ivs[n + 1], ivs[n + 3], pc, steps[colDim]);
    llvm::append_range(replacements, patched.getRegionIterArgs());
    rewriter.eraseOp(body->getTerminator());
    rewriter.mergeBlocks(threads.getBody(), body, replacements);
    rewriter.replaceOp(threads, patched.getResults());
  }

  /// Gives each row of `fn` (tiled into a row loop) to the lanes of a warp,
  /// or leaves it to one thread where the row does not fit that plan.
  void splitAcrossLanes(func::FuncOp fn, std::optional<unsigned> rootLoop) {
    func::FuncOp trial = fn.clone();
    SmallVector<scf::ForallOp> rows(trial.getBody().getOps<scf::ForallOp>());
    if (rows.size() == 1 && succeeded(splitRowAcrossLanes(rows[0], rootLoop))) {
      fn.getBody().takeBody(trial.getBody());
      lanes = kWarpLanes;
    }
    trial.erase();
  }

  /// Lanes per workgroup id of the dispatch being tiled.
  int64_t lanes = 1;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(cpu::kDispatchFnAttr))
      return;
    lanes = 1;
    int64_t count = cpu::tileDispatchWhole(
        fn, [&](func::FuncOp trial, int64_t &n) { return tile(trial, n); });
    OpBuilder b(fn);
    fn->setAttr(cpu::kWorkgroupCountAttr, b.getI64IntegerAttr(count));
    if (count > 1 && lanes > 1)
      fn->setAttr(kLanesAttr, b.getI64IntegerAttr(lanes));
    if (count > 1)
      return;
    // One thread writing a large result is a performance cliff on a GPU:
    // say so, at the dispatch's ONNX nodes.
    int64_t written = 0;
    fn.walk([&](bufferization::MaterializeInDestinationOp m) {
      if (auto type = dyn_cast<ShapedType>(m.getDest().getType()); type && type.hasStaticShape())
        written += type.getNumElements();
    });
    if (written >= kWarnSerialElements)
      fn.emitWarning("this dispatch runs as one GPU thread (its ops do not fuse into one "
                     "thread loop), writing ")
          << written << " elements";
  }
};

} // namespace
