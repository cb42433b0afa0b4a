//===- TileContractions.cpp - weft-cpu-tile-contractions -----------------===//
//
// Cache and register tiling of contractions and channels-last
// convolutions, on tensors, inside each workgroup. A matmul's reduction is
// cut into blocks whose B panel fits in half of L1, every block into MR x NR
// register tiles whose accumulator lives in vector registers for the whole
// block (the read/write pair is hoisted out of the reduction loop), and each
// reduction step is one vector.contract (MR x NR x 1) that lowers to MR
// broadcast-FMA outer products. A convolution is computed directly: register
// tiles of output columns x channels, each window/input-channel step the same
// kind of outer product (or, depthwise, one FMA). The tile shapes come from
// KernelConfig.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/KernelConfig.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace weft::cpu {
#define GEN_PASS_DEF_TILECONTRACTIONS
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

/// A GPU thread's elementwise op of at most this many elements (a 4 x 4
/// register tile's epilogue) is vectorized.
constexpr int64_t kMaxThreadVectorElements = 16;
/// So is a thread's small reduction (not a contraction) of at most this
/// many elements: a split reduction's sum of up to 8 parts of 4 outputs,
/// read as 16-byte rows instead of element by element into a temporary.
constexpr int64_t kMaxThreadReductionElements = 32;
/// Reduction steps a GPU thread's register tile takes at once (4 f32: one
/// 16-byte access).
constexpr int64_t kGpuReductionStep = 4;

/// Tiles `op` with `sizes` (0 = untiled) into scf.for loops, replaces its
/// results, and returns the tiled op and the loops (outermost first).
FailureOr<scf::SCFTilingResult> tileWith(RewriterBase &rw, linalg::LinalgOp op,
                                         ArrayRef<int64_t> sizes,
                                         ArrayRef<int64_t> interchange = {}) {
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
  SmallVector<OpFoldResult> s;
  for (int64_t v : sizes)
    s.push_back(rw.getIndexAttr(v));
  options.setTileSizes(s);
  if (!interchange.empty())
    options.setInterchange(interchange);
  rw.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> r =
      scf::tileUsingSCF(rw, cast<TilingInterface>(op.getOperation()), options);
  if (failed(r))
    return failure();
  rw.replaceOp(op, r->replacements);
  return r;
}

/// Vectorizes `op` in place, a contraction as vector.contract.
LogicalResult vectorizeInPlace(RewriterBase &rw, linalg::LinalgOp op) {
  rw.setInsertionPoint(op);
  FailureOr<linalg::VectorizationResult> v = linalg::vectorize(
      rw, op, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
      /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
      /*assumeDynamicDimsMatchVecSizes=*/false, /*createNamedContraction=*/true);
  if (failed(v))
    return failure();
  rw.replaceOp(op, v->replacements);
  return success();
}

/// Vectorizes the elementwise `op` after dropping its unit dimensions
/// (rank-reducing slices), so its vectors have the shape of the data; one
/// left scalar is still correct, only slower. A row gather's (see
/// kRowGatherAttr) reads of its source become contiguous vector reads.
void vectorizeDroppingUnitDims(RewriterBase &rw, linalg::LinalgOp linalgOp) {
  if (!linalgOp.hasPureTensorSemantics())
    return;
  rw.setInsertionPoint(linalgOp);
  auto generic = dyn_cast<linalg::GenericOp>(linalgOp.getOperation());
  if (!generic) {
    FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rw, linalgOp);
    if (failed(g))
      return;
    generic = *g;
  }
  bool rowGather = generic->hasAttr(kRowGatherAttr);
  linalg::ControlDropUnitDims control;
  control.rankReductionStrategy =
      linalg::ControlDropUnitDims::RankReductionStrategy::ExtractInsertSlice;
  if (FailureOr<linalg::DropUnitDimsResult> d = linalg::dropUnitDims(rw, generic, control);
      succeeded(d)) {
    rw.replaceOp(generic, d->replacements);
    generic = cast<linalg::GenericOp>(d->resultOp.getOperation());
  }
  rw.setInsertionPoint(generic);
  FailureOr<linalg::VectorizationResult> v =
      linalg::vectorize(rw, generic, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
                        /*vectorizeNDExtract=*/rowGather);
  if (succeeded(v))
    rw.replaceOp(generic, v->replacements);
}

/// `v` ([N, H, W, ...]) as [N, 1, H * W, ...], through a collapse and an
/// expand (both views of the same buffer once bufferized).
Value flattenRows(RewriterBase &rw, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<ReassociationIndices> groups = {{0}, {1, 2}};
  for (int64_t d = 3; d < type.getRank(); ++d)
    groups.push_back({d});
  SmallVector<int64_t> flat = {type.getDimSize(0), type.getDimSize(1) * type.getDimSize(2)};
  llvm::append_range(flat, type.getShape().drop_front(3));
  Value collapsed = tensor::CollapseShapeOp::create(
      rw, loc, RankedTensorType::get(flat, type.getElementType()), v, groups);
  SmallVector<int64_t> unit = {flat[0], 1};
  llvm::append_range(unit, ArrayRef<int64_t>(flat).drop_front(1));
  return tensor::ExpandShapeOp::create(rw, loc, RankedTensorType::get(unit, type.getElementType()),
                                       collapsed, groups);
}

/// The inverse of flattenRows: [N, 1, H * W, ...] back to [N, H, W, ...].
Value unflattenRows(RewriterBase &rw, Location loc, Value v, RankedTensorType original) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<ReassociationIndices> groups = {{0}, {1, 2}};
  for (int64_t d = 3; d < type.getRank(); ++d)
    groups.push_back({d});
  SmallVector<int64_t> flat = {type.getDimSize(0), type.getDimSize(2)};
  llvm::append_range(flat, type.getShape().drop_front(3));
  Value collapsed = tensor::CollapseShapeOp::create(
      rw, loc, RankedTensorType::get(flat, type.getElementType()), v, groups);
  return tensor::ExpandShapeOp::create(rw, loc, original, collapsed, groups);
}

/// Rewrites a pointwise blocked convolution (see flattensRows), the ops
/// that initialize its accumulator and its epilogue over [N, 1, OH * OW,
/// ...] views of their tensors; the maps stay the same. Every operand of
/// those ops must be indexed by all of the output's loops (it is flattened
/// too) or by none of its rows and columns (it stays as it is). Returns the
/// new convolution, or the old one when some operand does not qualify.
linalg::LinalgOp flattenPointwiseConv(RewriterBase &rw, linalg::LinalgOp conv) {
  SmallVector<linalg::LinalgOp> inits; // innermost first
  for (Value init = conv.getDpsInitOperand(0)->get();;) {
    auto producer = init.getDefiningOp<linalg::LinalgOp>();
    if (!producer || producer.getNumDpsInits() != 1 || !producer->hasOneUse())
      break;
    inits.insert(inits.begin(), producer);
    init = producer.getDpsInitOperand(0)->get();
  }
  linalg::GenericOp epilogue = epilogueOf(conv);
  // Which operands are flattened: -1 cannot be, 0 stays, 1 is flattened.
  auto kind = [](linalg::LinalgOp op, OpOperand &o) {
    AffineMap map = op.getMatchingIndexingMap(&o);
    if (map.isIdentity() && map.getNumResults() == 5)
      return 1;
    if (map.isFunctionOfDim(1) || map.isFunctionOfDim(2))
      return -1;
    return 0;
  };
  SmallVector<linalg::LinalgOp> chain(inits);
  if (epilogue)
    chain.push_back(epilogue);
  for (linalg::LinalgOp op : chain)
    for (OpOperand &o : op->getOpOperands())
      if (o.get().getDefiningOp() != conv.getOperation() && kind(op, o) < 0)
        return conv;

  Location loc = conv.getLoc();
  auto flatType = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> s = {t.getDimSize(0), 1, t.getDimSize(1) * t.getDimSize(2)};
    llvm::append_range(s, t.getShape().drop_front(3));
    return RankedTensorType::get(s, t.getElementType());
  };
  // Rebuilds `op` with its flattenable operands flattened (for the
  // convolution: all but the filter); `rebuilt` holds the new value of an
  // operand produced by an op already rebuilt.
  DenseMap<Value, Value> rebuilt;
  auto rebuild = [&](linalg::LinalgOp op, bool isConv) {
    rw.setInsertionPoint(op);
    SmallVector<Value> operands;
    for (OpOperand &o : op->getOpOperands()) {
      if (Value r = rebuilt.lookup(o.get()))
        operands.push_back(r);
      else if (isConv ? o.getOperandNumber() != 1 : kind(op, o) == 1) // not the filter
        operands.push_back(flattenRows(rw, loc, o.get()));
      else
        operands.push_back(o.get());
    }
    Operation *copy = clone(rw, op, TypeRange{flatType(op->getResult(0))}, operands);
    rebuilt[op->getResult(0)] = copy->getResult(0);
    return cast<linalg::LinalgOp>(copy);
  };
  for (linalg::LinalgOp op : inits)
    rebuild(op, false);
  linalg::LinalgOp flatConv = rebuild(conv, true);
  linalg::LinalgOp last = epilogue ? rebuild(epilogue, false) : flatConv;
  linalg::LinalgOp old = epilogue ? linalg::LinalgOp(epilogue) : conv;
  rw.setInsertionPointAfter(last);
  Value back = unflattenRows(rw, loc, last->getResult(0),
                             cast<RankedTensorType>(old->getResult(0).getType()));
  rw.replaceAllUsesWith(old->getResult(0), back);
  if (epilogue)
    rw.eraseOp(epilogue);
  rw.eraseOp(conv);
  for (linalg::LinalgOp op : llvm::reverse(inits))
    rw.eraseOp(op);
  return flatConv;
}

struct TileContractionsPass
    : weft::cpu::impl::TileContractionsBase<TileContractionsPass> {
  using TileContractionsBase::TileContractionsBase;

  /// Tiles the contraction `op`: its columns past the last whole vector
  /// and its rows past the last whole register tile (t.nTail, t.mTail), if
  /// any, are split off first and tiled as one narrower or shorter tile.
  LogicalResult tileOne(RewriterBase &rw, linalg::LinalgOp op, const ContractionTiles &t) {
    SmallVector<std::pair<linalg::LinalgOp, ContractionTiles>> parts = {{op, t}};
    for (auto [dim, tail] : {std::pair{t.n, t.nTail}, std::pair{t.m, t.mTail}}) {
      if (!tail)
        continue;
      SmallVector<std::pair<linalg::LinalgOp, ContractionTiles>> split;
      for (auto &[part, tiles] : parts) {
        rw.setInsertionPoint(part);
        auto [whole, rest] =
            linalg::splitOp(rw, cast<TilingInterface>(part.getOperation()), dim,
                            rw.getIndexAttr(tiles.bounds[dim] - tail));
        if (!whole || !rest)
          return failure();
        ContractionTiles head = tiles, end = tiles;
        head.bounds[dim] -= tail;
        end.bounds[dim] = tail;
        (dim == t.n ? end.nr : end.mr) = tail;
        split.push_back({cast<linalg::LinalgOp>(whole.getOperation()), head});
        split.push_back({cast<linalg::LinalgOp>(rest.getOperation()), end});
      }
      parts = std::move(split);
    }
    for (auto &[part, tiles] : parts)
      if (failed(tileWhole(rw, part, tiles)))
        return failure();
    return success();
  }

  /// tileOne for a contraction whose tiles divide it.
  LogicalResult tileWhole(RewriterBase &rw, linalg::LinalgOp op, const ContractionTiles &t) {
    int64_t nLoops = op.getNumLoops();
    // Level 1: reduction blocks that keep the operand panels cache-resident.
    linalg::LinalgOp current = op;
    if (t.kBlock < t.bounds[t.k]) {
      SmallVector<int64_t> sizes(nLoops, 0);
      sizes[t.k] = t.kBlock;
      FailureOr<scf::SCFTilingResult> r = tileWith(rw, current, sizes);
      if (failed(r))
        return failure();
      current = cast<linalg::LinalgOp>(r->tiledOps.back());
    }
    // Level 2: register tiles, N outside M so one B panel serves every row
    // block.
    {
      SmallVector<int64_t> sizes(nLoops, 0);
      for (int64_t b : t.batch)
        sizes[b] = 1;
      sizes[t.m] = t.mr;
      sizes[t.n] = t.nr;
      SmallVector<int64_t> order;
      for (int64_t b : t.batch)
        order.push_back(b);
      order.push_back(t.n);
      order.push_back(t.m);
      for (int64_t d = 0; d < nLoops; ++d)
        if (!llvm::is_contained(order, d))
          order.push_back(d);
      FailureOr<scf::SCFTilingResult> r = tileWith(rw, current, sizes, order);
      if (failed(r))
        return failure();
      current = cast<linalg::LinalgOp>(r->tiledOps.back());
    }
    // Level 3: one reduction step per vector.contract. A GPU thread takes
    // kGpuReductionStep of them at once where they divide the reduction:
    // then A's rows are read that many neighbours at a time (one 16-byte
    // load each where k is A's innermost dimension) rather than one
    // element per row and step.
    {
      SmallVector<int64_t> sizes(nLoops, 0);
      sizes[t.k] = gpuThreads && t.bounds[t.k] % kGpuReductionStep == 0 ? kGpuReductionStep : 1;
      FailureOr<scf::SCFTilingResult> r = tileWith(rw, current, sizes);
      if (failed(r))
        return failure();
      current = cast<linalg::LinalgOp>(r->tiledOps.back());
    }
    Operation *step = current->getParentOp();
    if (failed(vectorizeInPlace(rw, current)))
      return failure();
    // A step with a unit loop that one operand lacks (the batch of one of
    // [1, M, K] x [K, N]) is vectorized as a product of broadcasting reads
    // and a reduction. With the reads split into plain reads and
    // vector.broadcast ops, upstream patterns fold it back into a
    // vector.contract whose maps absorb the broadcasts, which lowers to
    // fused multiply-adds.
    SmallVector<Operation *> reductions;
    step->walk([&](vector::MultiDimReductionOp r) {
      reductions.push_back(r);
      for (Value operand : r.getSource().getDefiningOp()
                               ? r.getSource().getDefiningOp()->getOperands()
                               : ValueRange())
        if (auto read = operand.getDefiningOp<vector::TransferReadOp>())
          reductions.push_back(read);
    });
    if (!reductions.empty()) {
      RewritePatternSet patterns(rw.getContext());
      vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
      vector::populateVectorReductionToContractPatterns(patterns);
      GreedyRewriteConfig config;
      config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
      (void)applyOpPatternsGreedily(reductions, std::move(patterns), config);
    }
    return success();
  }

  /// Direct channels-last convolution: register tiles of mr output columns
  /// x nr channels (channels outside columns, so one filter panel serves a
  /// whole row), then the window and input channels one step at a time; each
  /// step's tile is rewritten as the small op it is (a matmul or a
  /// multiply-add on rank-reduced slices) and vectorized.
  /// Tiles the epilogue of `root` with the root's register tile (`sizes`
  /// and `order` over the root's parallel loops) and fuses the root and the
  /// ops that initialize its accumulator into every tile, so the epilogue
  /// reads the accumulator where it was computed. Returns the tiled root;
  /// the other tiled ops are appended to `others`.
  FailureOr<linalg::LinalgOp> tileWithEpilogue(RewriterBase &rw, linalg::LinalgOp root,
                                               linalg::GenericOp epilogue,
                                               ArrayRef<int64_t> sizes,
                                               ArrayRef<int64_t> order,
                                               SmallVectorImpl<Operation *> &others) {
    llvm::SmallPtrSet<Operation *, 4> fusable = {root.getOperation()};
    for (Value init = root.getDpsInitOperand(0)->get();;) {
      auto producer = init.getDefiningOp<linalg::LinalgOp>();
      if (!producer || producer.getNumDpsInits() != 1)
        break;
      fusable.insert(producer);
      init = producer.getDpsInitOperand(0)->get();
    }
    scf::SCFTilingOptions tiling;
    tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
    SmallVector<OpFoldResult> s;
    for (int64_t v : sizes)
      s.push_back(rw.getIndexAttr(v));
    tiling.setTileSizes(s);
    tiling.setInterchange(order);
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tiling);
    // A peeled epilogue reads the root through a slice of its own: merged
    // with the tile's slice, the root becomes fusable again.
    RewritePatternSet cleanup(rw.getContext());
    tensor::populateMergeConsecutiveInsertExtractSlicePatterns(cleanup);
    options.cleanupPatterns = FrozenRewritePatternSet(std::move(cleanup));
    options.setFusionControlFn(
        [&](tensor::ExtractSliceOp, OpResult producer,
            bool) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          if (!fusable.contains(producer.getOwner()))
            return std::nullopt;
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        });
    rw.setInsertionPoint(epilogue);
    FailureOr<scf::SCFTileAndFuseResult> r = scf::tileConsumerAndFuseProducersUsingSCF(
        rw, cast<TilingInterface>(epilogue.getOperation()), options);
    if (failed(r))
      return failure();
    linalg::LinalgOp tiledRoot;
    for (Operation *op : r->tiledAndFusedOps) {
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (linalgOp && linalgOp.getNumReductionLoops() > 0)
        tiledRoot = linalgOp;
      else
        others.push_back(op);
    }
    if (!tiledRoot)
      return failure();
    for (OpResult res : epilogue->getResults())
      if (Value repl = r->replacements.lookup(res))
        rw.replaceAllUsesWith(res, repl);
    return tiledRoot;
  }

  /// Splits a convolution's work along loop `dim` at `point`: its
  /// `epilogue`, if any (both halves then read slices of the one
  /// convolution, and each fuses the tiles of it that it needs), else the
  /// convolution itself. `tile` gets each half as (convolution, epilogue,
  /// whether it is the second half).
  LogicalResult splitConv(
      RewriterBase &rw, linalg::LinalgOp op, linalg::GenericOp epilogue, int64_t dim,
      int64_t point,
      llvm::function_ref<LogicalResult(linalg::LinalgOp, linalg::GenericOp, bool)> tile) {
    Operation *target = epilogue ? epilogue.getOperation() : op.getOperation();
    rw.setInsertionPoint(target);
    auto [whole, rest] =
        linalg::splitOp(rw, cast<TilingInterface>(target), dim, rw.getIndexAttr(point));
    if (!whole || !rest)
      return failure();
    for (auto [half, second] : {std::pair{whole, false}, std::pair{rest, true}}) {
      LogicalResult done =
          epilogue ? tile(op, cast<linalg::GenericOp>(half.getOperation()), second)
                   : tile(cast<linalg::LinalgOp>(half.getOperation()), {}, second);
      if (failed(done))
        return failure();
    }
    return success(); // an original op is dead now; the cleanup erases it
  }

  /// Tiles a channels-last convolution (with its epilogue, if any) into
  /// register tiles of t.mr columns. When t.mr does not divide the output
  /// width, the columns are split at the last whole tile, and the remaining
  /// ones become one tile of their own; channels past the last whole vector
  /// (t.channelTail) are split off the same way, into tiles as wide as
  /// they are: every tile keeps a static shape and vectorizes.
  LogicalResult tileConv(RewriterBase &rw, linalg::LinalgOp op, const ConvTiles &t,
                         SmallVectorImpl<Operation *> &epilogueTiles) {
    linalg::GenericOp epilogue = epilogueOf(op);
    if (!t.channelTail)
      return tileConvColumns(rw, op, epilogue, t, epilogueTiles);
    ConvTiles head = t, tail = t;
    head.channelTail = tail.channelTail = 0;
    tail.nr = t.channelTail;
    int64_t channels = op.getStaticLoopRanges()[3];
    return splitConv(rw, op, epilogue, /*dim=*/3, channels - t.channelTail,
                     [&](linalg::LinalgOp o, linalg::GenericOp e, bool second) {
                       return tileConvColumns(rw, o, e, second ? tail : head, epilogueTiles);
                     });
  }

  /// tileConv for one side of a channel split (or all channels): `op` with
  /// its `epilogue`, if any.
  LogicalResult tileConvColumns(RewriterBase &rw, linalg::LinalgOp op,
                                linalg::GenericOp epilogue, const ConvTiles &t,
                                SmallVectorImpl<Operation *> &epilogueTiles) {
    int64_t ow = op.getStaticLoopRanges()[2];
    if (ow % t.mr == 0)
      return tileConvPart(rw, op, epilogue, t, t.mr, epilogueTiles);
    return splitConv(rw, op, epilogue, /*dim=*/2, ow - ow % t.mr,
                     [&](linalg::LinalgOp o, linalg::GenericOp e, bool second) {
                       return tileConvPart(rw, o, e, t, second ? ow % t.mr : t.mr,
                                           epilogueTiles);
                     });
  }

  /// Tiles `op` (or, with an `epilogue`, the epilogue and the slices of
  /// `op` it reads) into register tiles of `mr` columns, which must divide
  /// its output width.
  LogicalResult tileConvPart(RewriterBase &rw, linalg::LinalgOp op, linalg::GenericOp epilogue,
                             const ConvTiles &t, int64_t mr,
                             SmallVectorImpl<Operation *> &epilogueTiles) {
    int64_t nLoops = op.getNumLoops();
    // Parallel loops: (n, oh, ow, f) or, blocked, (n, oh, ow, fb, fi).
    int64_t nParallel = t.blocked ? 5 : 4;
    SmallVector<int64_t> sizes(nLoops, 0);
    sizes[0] = 1;
    sizes[1] = 1;
    sizes[2] = mr;
    sizes[3] = t.blocked ? 1 : t.nr;
    // Channels (a blocked filter's block and the part of it a tile covers)
    // outside rows and columns: one filter panel serves a whole row.
    SmallVector<int64_t> order = {0, 3, 1, 2};
    if (t.blocked) {
      sizes[4] = t.nr;
      order = {0, 3, 4, 1, 2};
    }
    for (int64_t d = order.size(); d < nLoops; ++d)
      order.push_back(d);
    linalg::LinalgOp current;
    if (epilogue) {
      FailureOr<linalg::LinalgOp> tiled = tileWithEpilogue(
          rw, op, epilogue, ArrayRef<int64_t>(sizes).take_front(nParallel),
          ArrayRef<int64_t>(order).take_front(nParallel), epilogueTiles);
      if (failed(tiled))
        return failure();
      current = *tiled;
    } else {
      FailureOr<scf::SCFTilingResult> r = tileWith(rw, op, sizes, order);
      if (failed(r))
        return failure();
      current = cast<linalg::LinalgOp>(r->tiledOps.back());
    }
    SmallVector<int64_t> steps(nLoops, 1);
    for (int64_t d = 0; d < nParallel; ++d)
      steps[d] = 0;
    // An integer blocked convolution's step takes its four input channels
    // at once.
    bool dotProducts = t.integer && t.blocked;
    if (dotProducts)
      steps[nLoops - 1] = 0;
    FailureOr<scf::SCFTilingResult> r = tileWith(rw, current, steps);
    if (failed(r))
      return failure();
    current = cast<linalg::LinalgOp>(r->tiledOps.back());
    if (dotProducts)
      return integerStep(rw, current, t, mr, nParallel);

    // The step's operands: input [1, 1, (mr-1)*s+1, c], filter [1, 1, 1, nr]
    // (depthwise [1, 1, nr], blocked [1, 1, 1, 1, nr]), output [1, 1, mr, nr]
    // (blocked [1, 1, mr, 1, nr]).
    Location loc = current.getLoc();
    rw.setInsertionPoint(current);
    Value in = current.getDpsInputOperand(0)->get();
    Value filter = current.getDpsInputOperand(1)->get();
    Value out = current.getDpsInitOperand(0)->get();
    // f32 throughout, or an integer depthwise one's i8 input and filter
    // into i32 sums.
    Type inElt = getElementTypeOrSelf(in.getType());
    Type filterElt = getElementTypeOrSelf(filter.getType());
    Type accElt = getElementTypeOrSelf(out.getType());
    auto idx = [&](int64_t v) -> OpFoldResult { return rw.getIndexAttr(v); };
    int64_t cols = t.depthwise ? t.nr : 1;
    // The plain convolution's rows are one input channel: slice them as a
    // 1-D tensor and expand it, since a strided rank-reducing subview that
    // keeps a unit dimension is ambiguous to expand-strided-metadata.
    Value rows = tensor::ExtractSliceOp::create(
        rw, loc,
        t.depthwise ? RankedTensorType::get({mr, cols}, inElt)
                    : RankedTensorType::get({mr}, inElt),
        in, SmallVector<OpFoldResult>(4, idx(0)),
        SmallVector<OpFoldResult>{idx(1), idx(1), idx(mr), idx(cols)},
        SmallVector<OpFoldResult>{idx(1), idx(1), idx(t.strideW), idx(1)});
    if (!t.depthwise)
      rows = tensor::ExpandShapeOp::create(rw, loc, RankedTensorType::get({mr, 1}, inElt),
                                           rows, ArrayRef<ReassociationIndices>{{0, 1}});
    auto filterType = cast<RankedTensorType>(filter.getType());
    SmallVector<OpFoldResult> filterSizes(filterType.getRank(), idx(1));
    filterSizes.back() = idx(t.nr);
    Value row = tensor::ExtractSliceOp::create(
        rw, loc,
        RankedTensorType::get(t.depthwise ? SmallVector<int64_t>{t.nr}
                                          : SmallVector<int64_t>{1, t.nr},
                              filterElt),
        filter, SmallVector<OpFoldResult>(filterType.getRank(), idx(0)), filterSizes,
        SmallVector<OpFoldResult>(filterType.getRank(), idx(1)));
    SmallVector<OpFoldResult> outOffsets(nParallel, idx(0));
    SmallVector<OpFoldResult> outSizes(nParallel, idx(1));
    outSizes[2] = idx(mr);
    outSizes.back() = idx(t.nr);
    SmallVector<OpFoldResult> unit(nParallel, idx(1));
    auto accType = RankedTensorType::get({mr, t.nr}, accElt);
    Value acc = tensor::ExtractSliceOp::create(rw, loc, accType, out, outOffsets, outSizes, unit);
    linalg::LinalgOp step;
    if (!t.depthwise) {
      step = linalg::MatmulOp::create(rw, loc, TypeRange{accType}, ValueRange{rows, row},
                                      ValueRange{acc});
    } else {
      MLIRContext *ctx = rw.getContext();
      AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
      AffineMap col = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
      step = linalg::GenericOp::create(
          rw, loc, TypeRange{accType}, ValueRange{rows, row}, ValueRange{acc},
          ArrayRef<AffineMap>{id, col, id},
          SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
          [integer = t.integer, accElt](OpBuilder &b, Location l, ValueRange a) {
            if (!integer) {
              linalg::YieldOp::create(b, l,
                                      math::FmaOp::create(b, l, a[0], a[1], a[2]).getResult());
              return;
            }
            // uint8 x int8, widened to the i32 sums.
            Value x = arith::ExtUIOp::create(b, l, accElt, a[0]);
            Value w = arith::ExtSIOp::create(b, l, accElt, a[1]);
            Value p = arith::MulIOp::create(b, l, x, w);
            linalg::YieldOp::create(b, l, arith::AddIOp::create(b, l, a[2], p).getResult());
          });
    }
    Value back = tensor::InsertSliceOp::create(rw, loc, step->getResult(0), out, outOffsets,
                                               outSizes, unit);
    rw.replaceOp(current, back);
    return vectorizeInPlace(rw, step);
  }

  /// One step of an integer convolution's register tile, built as vector
  /// ops: input [1, 1, (mr-1)*s+1, 4] (uint8), filter [1, 1, 1, 1, nr, 4]
  /// (int8, the nr x 4 bytes contiguous), output [1, 1, mr, 1, nr] (i32).
  /// Each column's four input bytes are broadcast to every lane as one i32;
  /// with VNNI, `vpdpbusd` then adds, for each of 16 (8, 4) output channels, the
  /// four products of those bytes with the channel's four filter bytes to
  /// its accumulator. Without it, the same sums as widened i32
  /// multiply-adds, one input channel at a time.
  LogicalResult integerStep(RewriterBase &rw, linalg::LinalgOp current, const ConvTiles &t,
                            int64_t mr, int64_t nParallel) {
    Location loc = current.getLoc();
    rw.setInsertionPoint(current);
    Value in = current.getDpsInputOperand(0)->get();
    Value filter = current.getDpsInputOperand(1)->get();
    Value out = current.getDpsInitOperand(0)->get();
    Type i8 = rw.getI8Type(), i32 = rw.getI32Type();
    // vpdpbusd on 16 lanes of i32, or 8 or 4 (its 256- and 128-bit forms)
    // for a block that narrow.
    int64_t nr = t.nr, lanes = std::min<int64_t>(nr, 16);
    if (nr % lanes != 0 || (lanes != 16 && lanes != 8 && lanes != 4))
      return failure();
    auto idx = [&](int64_t v) -> OpFoldResult { return rw.getIndexAttr(v); };
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(rw, loc, v);
    };
    Value zero = index(0);
    // The filter's nr x 4 bytes as one vector.
    auto filterType = cast<RankedTensorType>(filter.getType());
    SmallVector<OpFoldResult> filterSizes(filterType.getRank(), idx(1));
    filterSizes[filterType.getRank() - 2] = idx(nr);
    filterSizes.back() = idx(4);
    Value panel = tensor::ExtractSliceOp::create(
        rw, loc, RankedTensorType::get({nr, 4}, i8), filter,
        SmallVector<OpFoldResult>(filterType.getRank(), idx(0)), filterSizes,
        SmallVector<OpFoldResult>(filterType.getRank(), idx(1)));
    Value flat = tensor::CollapseShapeOp::create(rw, loc, RankedTensorType::get({nr * 4}, i8),
                                                 panel, ArrayRef<ReassociationIndices>{{0, 1}});
    Value pad8 = arith::ConstantOp::create(rw, loc, rw.getIntegerAttr(i8, 0));
    Value weights = vector::TransferReadOp::create(rw, loc, VectorType::get({nr * 4}, i8), flat,
                                                   ValueRange{zero}, pad8, ArrayRef<bool>{true});
    // The accumulator tile.
    SmallVector<OpFoldResult> outOffsets(nParallel, idx(0));
    SmallVector<OpFoldResult> outSizes(nParallel, idx(1));
    outSizes[2] = idx(mr);
    outSizes.back() = idx(nr);
    SmallVector<OpFoldResult> unit(nParallel, idx(1));
    auto accType = RankedTensorType::get({mr, nr}, i32);
    Value accTile =
        tensor::ExtractSliceOp::create(rw, loc, accType, out, outOffsets, outSizes, unit);
    Value pad32 = arith::ConstantOp::create(rw, loc, rw.getIntegerAttr(i32, 0));
    Value acc = vector::TransferReadOp::create(rw, loc, VectorType::get({mr, nr}, i32), accTile,
                                               ValueRange{zero, zero}, pad32,
                                               ArrayRef<bool>{true, true});
    auto lane32 = VectorType::get({lanes}, i32);
    auto lane8 = VectorType::get({4 * lanes}, i8);
    SmallVector<Value> filterParts;
    for (int64_t j = 0; j < nr / lanes; ++j)
      filterParts.push_back(vector::ExtractStridedSliceOp::create(
          rw, loc, weights, ArrayRef<int64_t>{4 * lanes * j}, ArrayRef<int64_t>{4 * lanes},
          ArrayRef<int64_t>{1}));
    StringAttr vpdpbusd =
        rw.getStringAttr("llvm.x86.avx512.vpdpbusd." + std::to_string(32 * lanes));
    for (int64_t m = 0; m < mr; ++m) {
      // Column m's four input bytes, at input column m * strideW.
      Value bytes = vector::TransferReadOp::create(
          rw, loc, VectorType::get({4}, i8), in,
          ValueRange{zero, zero, index(m * t.strideW), zero}, pad8, ArrayRef<bool>{true});
      Value row = vector::ExtractOp::create(rw, loc, acc, ArrayRef<int64_t>{m});
      if (vnni) {
        Value word = vector::BitCastOp::create(rw, loc, VectorType::get({1}, i32), bytes);
        Value scalar = vector::ExtractOp::create(rw, loc, word, ArrayRef<int64_t>{0});
        Value spread = vector::BroadcastOp::create(rw, loc, lane32, scalar);
        Value a = vector::BitCastOp::create(rw, loc, lane8, spread);
        for (int64_t j = 0; j < nr / lanes; ++j) {
          Value part = vector::ExtractStridedSliceOp::create(
              rw, loc, row, ArrayRef<int64_t>{lanes * j}, ArrayRef<int64_t>{lanes},
              ArrayRef<int64_t>{1});
          Value dot = LLVM::CallIntrinsicOp::create(rw, loc, lane32, vpdpbusd,
                                                    ValueRange{part, a, filterParts[j]})
                          .getResult(0);
          row = vector::InsertStridedSliceOp::create(rw, loc, dot, row,
                                                     ArrayRef<int64_t>{lanes * j},
                                                     ArrayRef<int64_t>{1});
        }
      } else {
        auto wide = VectorType::get({nr}, i32);
        for (int64_t k = 0; k < 4; ++k) {
          Value x = vector::ExtractOp::create(rw, loc, bytes, ArrayRef<int64_t>{k});
          Value xv = vector::BroadcastOp::create(rw, loc, wide,
                                                 arith::ExtUIOp::create(rw, loc, i32, x));
          SmallVector<int64_t> picks;
          for (int64_t n = 0; n < nr; ++n)
            picks.push_back(4 * n + k);
          Value w = vector::ShuffleOp::create(rw, loc, weights, weights, picks);
          Value wv = arith::ExtSIOp::create(rw, loc, wide, w);
          row = arith::AddIOp::create(rw, loc, row, arith::MulIOp::create(rw, loc, xv, wv));
        }
      }
      acc = vector::InsertOp::create(rw, loc, row, acc, ArrayRef<int64_t>{m});
    }
    Value written = vector::TransferWriteOp::create(rw, loc, acc, accTile,
                                                    ValueRange{zero, zero},
                                                    ArrayRef<bool>{true, true})
                        .getResult();
    Value back = tensor::InsertSliceOp::create(rw, loc, written, out, outOffsets, outSizes, unit);
    rw.replaceOp(current, back);
    return success();
  }

  /// A grouped convolution ([N, G, C, H, W] x [G, F, C, KH, KW]) over one
  /// group as the NCHW convolution it is, through unit-dimension reshapes
  /// of its operands and result; fails (leaving it) for several groups or
  /// dynamic shapes.
  LogicalResult oneGroupAsNchw(RewriterBase &rw, linalg::Conv2DNgchwGfchwOp op) {
    auto in = dyn_cast<RankedTensorType>(op.getDpsInputOperand(0)->get().getType());
    auto filter = dyn_cast<RankedTensorType>(op.getDpsInputOperand(1)->get().getType());
    auto out = dyn_cast<RankedTensorType>(op.getDpsInitOperand(0)->get().getType());
    if (!in || !filter || !out || !in.hasStaticShape() || !filter.hasStaticShape() ||
        !out.hasStaticShape() || in.getDimSize(1) != 1 || filter.getDimSize(0) != 1 ||
        out.getDimSize(1) != 1)
      return failure();
    Location loc = op.getLoc();
    rw.setInsertionPoint(op);
    // [N, 1, C, H, W] -> [N, C, H, W]; [1, F, C, KH, KW] -> [F, C, KH, KW].
    SmallVector<ReassociationIndices> dropSecond = {{0}, {1, 2}, {3}, {4}};
    SmallVector<ReassociationIndices> dropFirst = {{0, 1}, {2}, {3}, {4}};
    auto collapse = [&](Value v, ArrayRef<ReassociationIndices> groups) -> Value {
      return tensor::CollapseShapeOp::create(rw, loc, v, groups);
    };
    Value input = collapse(op.getDpsInputOperand(0)->get(), dropSecond);
    Value weights = collapse(op.getDpsInputOperand(1)->get(), dropFirst);
    Value init = collapse(op.getDpsInitOperand(0)->get(), dropSecond);
    auto conv = linalg::Conv2DNchwFchwOp::create(
        rw, loc, TypeRange{init.getType()}, ValueRange{input, weights}, ValueRange{init},
        op.getStrides(), op.getDilations());
    Value back = tensor::ExpandShapeOp::create(rw, loc, out, conv->getResult(0), dropSecond);
    rw.replaceOp(op, back);
    return success();
  }

  /// A GPU thread's tile of an NCHW convolution, output [1, F, 1, W] with
  /// F and W at most 8: each (input channel, window row, window column) step
  /// adds the outer product of F filter elements and W input elements
  /// (strideW apart) to the F x W accumulator, as an (F x 1) x (1 x W)
  /// matmul that is vectorized. Returns false (and changes nothing) when
  /// `op` is not such a tile.
  bool tileNchwConvThread(RewriterBase &rw, linalg::Conv2DNchwFchwOp op) {
    SmallVector<int64_t> bounds = op.getStaticLoopRanges(); // n, f, oh, ow, c, kh, kw
    if (ShapedType::isDynamicShape(bounds) || bounds[0] != 1 || bounds[2] != 1)
      return false;
    int64_t fr = bounds[1], wr = bounds[3];
    if (fr * wr < 2 || fr > 8 || wr > 8)
      return false;
    for (OpOperand &o : op->getOpOperands())
      if (!getElementTypeOrSelf(o.get().getType()).isF32())
        return false;
    int64_t strideW = op.getStrides().getValues<int64_t>()[1];
    // A 1x1 window takes kGpuReductionStep input channels per step: the
    // filter's are neighbours (one 16-byte load per output channel).
    int64_t cs = bounds[5] == 1 && bounds[6] == 1 && bounds[4] % kGpuReductionStep == 0
                     ? kGpuReductionStep
                     : 1;
    FailureOr<scf::SCFTilingResult> r = tileWith(rw, op, {0, 0, 0, 0, cs, 1, 1});
    if (failed(r))
      return false;
    auto step = cast<linalg::LinalgOp>(r->tiledOps.back());
    // The step's operands: input [1, cs, 1, (W-1)*s+1], filter [F, cs, 1, 1],
    // output [1, F, 1, W]. Unit dimensions are dropped through 1-D slices,
    // expanded again (a strided rank-reducing slice that keeps a unit
    // dimension is ambiguous to expand-strided-metadata).
    Location loc = step.getLoc();
    rw.setInsertionPoint(step);
    Value in = step.getDpsInputOperand(0)->get();
    Value filter = step.getDpsInputOperand(1)->get();
    Value out = step.getDpsInitOperand(0)->get();
    Type f32 = rw.getF32Type();
    auto idx = [&](int64_t v) -> OpFoldResult { return rw.getIndexAttr(v); };
    SmallVector<OpFoldResult> zeros(4, idx(0)), ones(4, idx(1));
    Value cols, rows;
    if (cs == 1) {
      cols = tensor::ExtractSliceOp::create(
          rw, loc, RankedTensorType::get({wr}, f32), in, zeros,
          SmallVector<OpFoldResult>{idx(1), idx(1), idx(1), idx(wr)},
          SmallVector<OpFoldResult>{idx(1), idx(1), idx(1), idx(strideW)});
      cols = tensor::ExpandShapeOp::create(rw, loc, RankedTensorType::get({1, wr}, f32), cols,
                                           ArrayRef<ReassociationIndices>{{0, 1}});
      rows = tensor::ExtractSliceOp::create(
          rw, loc, RankedTensorType::get({fr}, f32), filter, zeros,
          SmallVector<OpFoldResult>{idx(fr), idx(1), idx(1), idx(1)}, ones);
      rows = tensor::ExpandShapeOp::create(rw, loc, RankedTensorType::get({fr, 1}, f32), rows,
                                           ArrayRef<ReassociationIndices>{{0, 1}});
    } else {
      // Input [1, cs, 1, (W-1)*s+1] as [cs, W]; filter [F, cs, 1, 1] as
      // [F, cs].
      cols = tensor::ExtractSliceOp::create(
          rw, loc, RankedTensorType::get({cs, wr}, f32), in, zeros,
          SmallVector<OpFoldResult>{idx(1), idx(cs), idx(1), idx(wr)},
          SmallVector<OpFoldResult>{idx(1), idx(1), idx(1), idx(strideW)});
      rows = tensor::ExtractSliceOp::create(
          rw, loc, RankedTensorType::get({fr, cs}, f32), filter, zeros,
          SmallVector<OpFoldResult>{idx(fr), idx(cs), idx(1), idx(1)}, ones);
    }
    SmallVector<OpFoldResult> outSizes = {idx(1), idx(fr), idx(1), idx(wr)};
    auto accType = RankedTensorType::get({fr, wr}, f32);
    Value acc = tensor::ExtractSliceOp::create(rw, loc, accType, out, zeros, outSizes, ones);
    auto product = linalg::MatmulOp::create(rw, loc, TypeRange{accType}, ValueRange{rows, cols},
                                            ValueRange{acc});
    Value back = tensor::InsertSliceOp::create(rw, loc, product->getResult(0), out, zeros,
                                               outSizes, ones);
    rw.replaceOp(step, back);
    (void)vectorizeInPlace(rw, product); // left as a matmul, still correct
    return true;
  }

  /// A row reduction (see chooseRowReduction) one row at a time, each row
  /// accumulated into a partial result of `width` lanes (its identity
  /// value first) by elementwise vector ops, and the lanes combined once
  /// after the row; all of it vectorized here. A reduction left as it was
  /// is still correct, only slower.
  void tileRowReduction(RewriterBase &rw, linalg::LinalgOp op, int64_t width) {
    int64_t nLoops = op.getNumLoops();
    // A row that is not a multiple of `width`: its last elements are a
    // reduction of their own, onto the result of the rest (left to the
    // generic code: fewer than one vector per row).
    int64_t extent = op.getStaticLoopRanges().back();
    if (extent % width != 0) {
      rw.setInsertionPoint(op);
      auto [whole, rest] = linalg::splitOp(rw, cast<TilingInterface>(op.getOperation()),
                                           nLoops - 1, rw.getIndexAttr(extent - extent % width));
      if (!whole || !rest)
        return;
      op = cast<linalg::LinalgOp>(whole.getOperation());
    }
    linalg::LinalgOp row = op;
    if (nLoops > 1) {
      SmallVector<int64_t> sizes(nLoops, 1);
      sizes.back() = 0;
      FailureOr<scf::SCFTilingResult> r = tileWith(rw, op, sizes);
      if (failed(r))
        return;
      row = cast<linalg::LinalgOp>(r->tiledOps.back());
    }
    SmallVector<OpFoldResult> sizes(nLoops, rw.getIndexAttr(0));
    sizes.back() = rw.getIndexAttr(width);
    rw.setInsertionPoint(row);
    FailureOr<scf::SCFTilingResult> partial = scf::tileReductionUsingScf(
        rw, cast<PartialReductionOpInterface>(row.getOperation()), sizes);
    if (failed(partial))
      return;
    rw.replaceOp(row, partial->replacements);
    SmallVector<Operation *> toVectorize(partial->tiledOps.begin(), partial->tiledOps.end());
    for (Value init : partial->initialValues)
      if (Operation *def = init.getDefiningOp())
        toVectorize.push_back(def);
    llvm::append_range(toVectorize, partial->mergeOps);
    for (Operation *op : toVectorize) {
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (!linalgOp || !linalgOp.hasPureTensorSemantics())
        continue;
      rw.setInsertionPoint(op);
      FailureOr<linalg::VectorizationResult> v = linalg::vectorize(rw, op);
      if (succeeded(v))
        rw.replaceOp(op, v->replacements);
    }
  }

  /// A row gather (pad, slice; see kRowGatherAttr) is tiled to one output
  /// row at a time and vectorized: each row is one contiguous vector read of
  /// the source (at clamped outer indices) and, for a pad, a select against
  /// the pad value. Rows longer than 256 elements are split by a divisor
  /// that is a multiple of the vector width; a row that has none stays
  /// scalar (correct, only slower).
  void vectorizeRowGather(RewriterBase &rw, linalg::GenericOp op, int64_t vectorWidth) {
    Type element = cast<ShapedType>(op->getResult(0).getType()).getElementType();
    if (element.isInteger(1) || !element.isIntOrFloat())
      return;
    SmallVector<int64_t> bounds = op.getStaticLoopRanges();
    if (bounds.empty() || ShapedType::isDynamicShape(bounds))
      return;
    constexpr int64_t kMaxRow = 256;
    int64_t row = bounds.back();
    if (row > kMaxRow) {
      int64_t best = 0;
      for (int64_t c = vectorWidth; c <= kMaxRow; c += vectorWidth)
        if (row % c == 0)
          best = c;
      if (!best)
        return;
      row = best;
    }
    SmallVector<int64_t> sizes(bounds.size(), 1);
    sizes.back() = row;
    linalg::LinalgOp current = op;
    if (sizes != bounds) {
      FailureOr<scf::SCFTilingResult> r = tileWith(rw, op, sizes);
      if (failed(r))
        return;
      current = cast<linalg::LinalgOp>(r->tiledOps.back());
    }
    rw.setInsertionPoint(current);
    FailureOr<linalg::VectorizationResult> v = linalg::vectorize(
        rw, current, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
        /*vectorizeNDExtract=*/true);
    if (succeeded(v))
      rw.replaceOp(current, v->replacements);
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kDispatchFnAttr))
      return;
    if (!gpuThreads) {
      SmallVector<linalg::GenericOp> gathers;
      fn.walk([&](linalg::GenericOp op) {
        if (op->hasAttr(kRowGatherAttr) && op.hasPureTensorSemantics())
          gathers.push_back(op);
      });
      IRRewriter rw(&getContext());
      for (linalg::GenericOp op : gathers)
        vectorizeRowGather(rw, op, vectorWidth);
    }
    TargetInfo target;
    target.vectorWidth = vectorWidth;
    target.vectorRegisters = vectorRegisters;
    target.l1Bytes = l1Bytes;
    target.l1Ways = l1Ways;
    target.outerLoopsAsBatch = gpuThreads;
    target.peelTails = !gpuThreads;
    // A result written inside a padded buffer (weft-pad-in-place) is not
    // contiguous across its rows, so they cannot be viewed as one.
    bool stridedResult = llvm::any_of(fn.getArgumentTypes(), [](Type t) {
      auto m = dyn_cast<MemRefType>(t);
      return m && !m.getLayout().isIdentity();
    });
    if (!gpuThreads && !stridedResult) {
      SmallVector<linalg::LinalgOp> pointwise;
      fn.walk([&](linalg::LinalgOp op) {
        if (op.hasPureTensorSemantics() && flattensRows(op))
          pointwise.push_back(op);
      });
      IRRewriter rw(&getContext());
      for (linalg::LinalgOp op : pointwise)
        (void)flattenPointwiseConv(rw, op);
    }
    SmallVector<std::pair<linalg::LinalgOp, int64_t>> rows;
    if (!gpuThreads) {
      fn.walk([&](linalg::LinalgOp op) {
        if (!op.hasPureTensorSemantics())
          return;
        if (std::optional<int64_t> width = chooseRowReduction(op, target))
          rows.push_back({op, *width});
      });
      IRRewriter rw(&getContext());
      for (auto &[op, width] : rows)
        tileRowReduction(rw, op, width);
    }
    SmallVector<std::pair<linalg::LinalgOp, ContractionTiles>> work;
    SmallVector<std::pair<linalg::LinalgOp, ConvTiles>> convs;
    fn.walk([&](linalg::LinalgOp op) {
      // A warp's product on the GPU's matrix units stays whole.
      if (!op.hasPureTensorSemantics() || op->hasAttr(kMmaAttr))
        return;
      std::optional<ConvTiles> conv;
      if (!gpuThreads)
        conv = chooseConvTiles(op, target);
      if (conv)
        convs.push_back({op, *conv});
      else if (std::optional<ContractionTiles> t = chooseContractionTiles(op, target))
        work.push_back({op, *t});
    });
    SmallVector<linalg::Conv2DNchwFchwOp> threadConvs;
    if (gpuThreads) {
      // A thread's tile of a grouped convolution (a depthwise one) within
      // one group is an NCHW convolution.
      SmallVector<linalg::Conv2DNgchwGfchwOp> grouped;
      fn.walk([&](linalg::Conv2DNgchwGfchwOp op) {
        if (op.hasPureTensorSemantics())
          grouped.push_back(op);
      });
      IRRewriter rw(&getContext());
      for (linalg::Conv2DNgchwGfchwOp op : grouped)
        (void)oneGroupAsNchw(rw, op);
      fn.walk([&](linalg::Conv2DNchwFchwOp op) {
        if (op.hasPureTensorSemantics())
          threadConvs.push_back(op);
      });
    }
    // A GPU thread's elementwise ops are small (one element, a register
    // tile's epilogue, or kThreadVectorWidth neighbours): vectors, whose
    // operands are read before the result is written, so LLVM can merge
    // neighbouring accesses into wide ones.
    SmallVector<linalg::LinalgOp> threadElementwise;
    if (gpuThreads)
      fn.walk([&](linalg::LinalgOp op) {
        if (!op.hasPureTensorSemantics() || !op->getParentOfType<scf::ForallOp>())
          return;
        // Not a contraction (register tiles), nor the combination of a
        // warp's lanes' partial sums (SplitLanes: shuffles), whose input
        // is the lane loop's result.
        bool reduction = op.getNumReductionLoops() != 0;
        if (reduction && (linalg::isaContractionOpInterface(op) ||
                          llvm::any_of(work, [&](auto &w) { return w.first == op; }) ||
                          llvm::any_of(op->getOperands(), [](Value v) {
                            return v.getDefiningOp<scf::ForallOp>() != nullptr;
                          })))
          return;
        SmallVector<int64_t> ranges = op.getStaticLoopRanges();
        if (ShapedType::isDynamicShape(ranges))
          return;
        int64_t elements = 1;
        for (int64_t r : ranges)
          elements *= r;
        if (elements > 1 &&
            elements <= (reduction ? kMaxThreadReductionElements : kMaxThreadVectorElements))
          threadElementwise.push_back(op);
      });
    if (work.empty() && convs.empty() && rows.empty() && threadConvs.empty() &&
        threadElementwise.empty())
      return;
    IRRewriter rw(&getContext());
    for (linalg::Conv2DNchwFchwOp op : threadConvs)
      (void)tileNchwConvThread(rw, op);
    for (auto &[op, tiles] : work)
      if (failed(tileOne(rw, op, tiles))) {
        op->emitError("internal error: cannot tile this contraction");
        return signalPassFailure();
      }
    SmallVector<Operation *> epilogueTiles;
    for (auto &[op, tiles] : convs)
      if (failed(tileConv(rw, op, tiles, epilogueTiles))) {
        op->emitError("internal error: cannot tile this convolution");
        return signalPassFailure();
      }
    // The epilogue and accumulator-initialization tiles are register-tile
    // sized: vectorize them here, so the accumulator passes through
    // registers (one left scalar is still correct, only slower).
    // Their unit dimensions are dropped first (rank-reducing slices), so
    // their vectors have the accumulator's shape and the accumulator is
    // forwarded to them instead of going through memory.
    for (Operation *op : epilogueTiles)
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
        vectorizeDroppingUnitDims(rw, linalgOp);
    // (Ops a contraction's tiling replaced are gone from the IR.)
    for (linalg::LinalgOp op : threadElementwise)
      if (op->getBlock())
        vectorizeDroppingUnitDims(rw, op);

    {
      RewritePatternSet patterns(&getContext());
      tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
      scf::ForOp::getCanonicalizationPatterns(patterns, &getContext());
      tensor::ExtractSliceOp::getCanonicalizationPatterns(patterns, &getContext());
      vector::TransferReadOp::getCanonicalizationPatterns(patterns, &getContext());
      vector::TransferWriteOp::getCanonicalizationPatterns(patterns, &getContext());
      (void)applyPatternsGreedily(fn, std::move(patterns));
    }
    // The accumulator's read/write pair moves out of the reduction loop and
    // becomes a vector loop-carried value.
    SmallVector<scf::ForOp> loops;
    fn.walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops) // innermost first
      (void)hoistLoopInvariantSubsets(rw, cast<LoopLikeOpInterface>(loop.getOperation()));
    // Drop the tensor iter_args the hoisting left unused, and forward each
    // accumulator written to a tile tensor to the epilogue's read of it.
    RewritePatternSet patterns(&getContext());
    scf::ForOp::getCanonicalizationPatterns(patterns, &getContext());
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, &getContext());
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, &getContext());
    (void)applyPatternsGreedily(fn, std::move(patterns));
  }
};

} // namespace
