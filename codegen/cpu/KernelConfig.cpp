//===- KernelConfig.cpp - per-root kernel strategy for the CPU ----------===//
#include "codegen/cpu/KernelConfig.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace weft::cpu;

namespace {

/// Whether `map`'s last result is loop `d` (the dimension that is contiguous
/// in memory for an identity-layout tensor).
bool innermostIs(AffineMap map, int64_t d) {
  if (map.getNumResults() == 0)
    return false;
  auto e = dyn_cast<AffineDimExpr>(map.getResults().back());
  return e && (int64_t)e.getPosition() == d;
}

/// The most register-tile rows whose accumulators (`vectorsPerRow` each),
/// one row of the other operand and a broadcast element fit in the vector
/// registers: 6 rows of two vectors with AVX2's 16 registers, 14 with
/// AVX-512's 32.
int64_t maxRegisterRows(int64_t vectorsPerRow, const TargetInfo &target) {
  return std::max<int64_t>(1, (target.vectorRegisters - vectorsPerRow - 1) / vectorsPerRow);
}

/// The most of `columns` addresses, `strideBytes` apart, that fall in one
/// set of an L1 cache whose ways each span 4 KiB (x86's L1 caches are
/// virtually indexed within a page, whatever their size). A register tile
/// whose input columns share a set beyond its ways misses on every step:
/// 1x1 convs over 1024-channel rows (columns 4 KiB apart) ran at 19
/// GFLOP/s with 14-column tiles and at 70-77 with tiles of at most 7.
int64_t columnsPerSet(int64_t columns, int64_t strideBytes) {
  constexpr int64_t kLine = 64, kSets = 4096 / kLine;
  llvm::SmallVector<int64_t> count(kSets, 0);
  int64_t most = 0;
  for (int64_t j = 0; j < columns; ++j)
    most = std::max(most, ++count[(j * strideBytes / kLine) % kSets]);
  return most;
}

/// At most this many of a register tile's input columns may share an L1
/// set: its ways, one kept for the filter stream (7 of an 8-way L1; 11 of
/// a 12-way one, where a 512 x 1024 x 1024 MatMul's rows 4 KiB apart took
/// 8-row tiles instead of 6 and ran about 4% faster on an AVX-512 Xeon).
int64_t maxColumnsPerSet(const TargetInfo &target) {
  return std::max<int64_t>(1, target.l1Ways - 1);
}

/// Estimated cycles of one reduction step of an mr x (nv vectors) register
/// tile: the FMAs on two ports, the loads (mr broadcasts, nv filter
/// vectors) at 1.5 a cycle (two ports, less what broadcast-heavy tiles
/// measured: on Zen 3, 5x16 tiles beat 14x8 ones in ResNet-50), the FMA
/// latency that each accumulator's chain
/// waits for (about 4 cycles; 5 leaves a margin), and, when the filter
/// panel does not stay in L1, its nv vectors at about 32 bytes a cycle
/// from L2.
double stepCycles(int64_t mr, int64_t nv, bool filterFromL2, const TargetInfo &target) {
  double fma = mr * nv / 2.0, loads = (mr + nv) / 1.5, latency = 5.0;
  double l2 = filterFromL2 ? nv * target.vectorWidth * 4 / 32.0 : 0.0;
  return std::max({fma, loads, latency, l2});
}

/// `choices` without the values above `cap`.
SmallVector<int64_t> capped(std::initializer_list<int64_t> choices, int64_t cap) {
  SmallVector<int64_t> r;
  for (int64_t c : choices)
    if (c <= cap)
      r.push_back(c);
  return r;
}

} // namespace

int64_t weft::cpu::firstDivisor(int64_t n, ArrayRef<int64_t> choices) {
  for (int64_t c : choices)
    if (c <= n && n % c == 0)
      return c;
  return 1;
}

std::optional<ContractionTiles>
weft::cpu::chooseContractionTiles(linalg::LinalgOp op, const TargetInfo &target) {
  if (!linalg::isaContractionOpInterface(op) || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims))
    return std::nullopt;
  ContractionTiles t;
  t.bounds = op.getStaticLoopRanges();
  if (ShapedType::isDynamicShape(t.bounds))
    return std::nullopt;
  // A unit loop that only A (or only B) and the output use, such as the
  // batch of one of [1, M, K] x [K, N], is tiled like a batch loop; with
  // outerLoopsAsBatch, so is every other such loop but the innermost of
  // those longer than 1 (the 4 of [4, 32, K] x [K, N]).
  for (SmallVector<unsigned, 2> *list : {&dims->m, &dims->n}) {
    if (list->size() < 2)
      continue;
    SmallVector<unsigned, 2> kept;
    for (unsigned d : *list)
      (t.bounds[d] == 1 ? dims->batch : kept).push_back(d);
    if (target.outerLoopsAsBatch && kept.size() > 1) {
      unsigned innermost = *llvm::max_element(kept);
      for (unsigned d : kept)
        if (d != innermost)
          dims->batch.push_back(d);
      kept.assign({innermost});
    }
    if (kept.empty()) {
      kept.push_back(dims->batch.back());
      dims->batch.pop_back();
    }
    *list = kept;
  }
  llvm::sort(dims->batch);
  if (dims->m.size() != 1 || dims->n.size() != 1 || dims->k.size() != 1)
    return std::nullopt;
  for (OpOperand &o : op->getOpOperands())
    if (!getElementTypeOrSelf(o.get().getType()).isF32())
      return std::nullopt;
  t.m = dims->m[0];
  t.n = dims->n[0];
  t.k = dims->k[0];
  t.batch.assign(dims->batch.begin(), dims->batch.end());
  // Vectors run along n: it must be contiguous in B and in the output.
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!innermostIs(maps[1], t.n) || !innermostIs(maps[2], t.n))
    return std::nullopt;
  int64_t vw = target.vectorWidth;
  int64_t n = t.bounds[t.n], m = t.bounds[t.m], k = t.bounds[t.k];
  if (n % vw != 0 && !target.peelTails)
    return std::nullopt;
  if (n < vw) {
    t.nr = n; // one tile of n lanes
  } else {
    t.nTail = n % vw; // a tile of the columns past the last whole vector
    int64_t whole = n - t.nTail;
    t.nr = whole % (2 * vw) == 0 ? 2 * vw : vw;
  }
  // Accumulators take mr * nr / vw registers; leave room for the B vectors
  // and the broadcast A element.
  int64_t maxMr = maxRegisterRows(std::max<int64_t>(t.nr / vw, 1), target);
  SmallVector<int64_t> heights = t.nr == 2 * vw ? capped({8, 6, 4, 2, 1}, maxMr)
                                                : capped({16, 12, 8, 6, 4, 2, 1}, maxMr);
  t.mr = firstDivisor(m, heights);
  // No good height divides m (197 rows of a ViT's attention): the tallest
  // tile, and the rows left over as one shorter tile.
  if (target.peelTails && t.mr < 4 && m > 4)
    for (int64_t h : heights)
      if (h <= m) {
        t.mr = h;
        t.mTail = m % h;
        break;
      }
  // A reduction block keeps its B panel (kBlock x nr) in half of L1.
  int64_t maxBlock = std::max<int64_t>(1, target.l1Bytes / 2 / (t.nr * 4));
  t.kBlock = k;
  for (int64_t c = maxBlock; c >= 64; c /= 2)
    if (k % c == 0 && c < k) {
      t.kBlock = c;
      break;
    }
  return t;
}

std::optional<ConvTiles> weft::cpu::chooseConvTiles(linalg::LinalgOp op,
                                                    const TargetInfo &target) {
  ConvTiles t;
  bool integerDepthwise = op->hasAttr(kIntegerDepthwiseAttr);
  if (isa<linalg::DepthwiseConv2DNhwcHwcOp>(op) || integerDepthwise)
    t.depthwise = true;
  else if (op->hasAttr(kBlockedConvAttr))
    t.blocked = true;
  else if (!isa<linalg::Conv2DNhwcHwcfOp>(op))
    return std::nullopt;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (ShapedType::isDynamicShape(bounds))
    return std::nullopt;
  // The integer forms: i8 input and filter (uint8 x int8), i32 output.
  t.integer = (t.blocked && bounds.size() == 9) || integerDepthwise;
  for (OpOperand &o : op->getOpOperands()) {
    Type elt = getElementTypeOrSelf(o.get().getType());
    bool output = op.isDpsInit(&o);
    if (t.integer ? !elt.isSignlessInteger(output ? 32 : 8) : !elt.isF32())
      return std::nullopt;
  }
  // Loops: (n, oh, ow, f, kh, kw, c), blocked (n, oh, ow, fb, fi, kh, kw, c)
  // or depthwise (n, oh, ow, c, kh, kw).
  int64_t ow = bounds[2], vw = target.vectorWidth;
  int64_t channels = t.blocked ? bounds[4] : bounds[3];
  // The input's columns that one tile reads are strideW * C elements apart.
  if (t.blocked) {
    t.strideW = op->getAttrOfType<DenseI64ArrayAttr>(kBlockedConvAttr).asArrayRef()[1];
  } else {
    auto strides = op->getAttrOfType<DenseIntElementsAttr>("strides");
    t.strideW = strides ? strides.getValues<int64_t>()[1] : 1;
  }
  auto inputType = cast<ShapedType>(op.getDpsInputOperand(0)->get().getType());
  // Grouped (float blocked only): the input has G times the channels that
  // one block reduces over.
  if (t.blocked && !t.integer && inputType.hasStaticShape()) {
    int64_t groups = inputType.getDimSize(3) / bounds[7];
    if (groups > 1)
      t.blocksPerGroup = bounds[3] / groups;
  }
  int64_t elementBytes = t.integer ? 1 : 4; // input and filter
  int64_t columnBytes = t.strideW * inputType.getDimSize(3) * elementBytes;
  // Register tile width: two vectors or one (a blocked filter's block must
  // be a multiple of it; a block of half a vector is its own tile).
  SmallVector<int64_t> widths;
  // The integer dot products fill whole vectors of i32, or one of 8 or 4
  // lanes (a block of that many channels).
  bool narrowInteger = t.integer && channels < vw && channels >= 4 && llvm::isPowerOf2_64(channels);
  if (t.integer && t.blocked && channels % vw != 0 && !narrowInteger)
    return std::nullopt;
  if (t.blocked) {
    bool narrow = channels == vw / 2 || narrowInteger;
    if (channels > 2 * vw || (channels % vw != 0 && !narrow))
      return std::nullopt;
    if (narrow)
      widths.push_back(channels);
    for (int64_t nv : {2, 1})
      if (channels % (nv * vw) == 0)
        widths.push_back(nv * vw);
  } else {
    // Channels past the last whole vector are one narrower tile; channels
    // that fill no vector are one tile of their own width.
    int64_t whole = channels - channels % vw;
    if (whole == 0) {
      widths.push_back(channels);
    } else {
      t.channelTail = channels % vw;
      for (int64_t nv : {2, 1})
        if (whole % (nv * vw) == 0)
          widths.push_back(nv * vw);
    }
  }
  // The filter panel one tile streams (window x input channels x nr).
  int64_t windowSteps = 1;
  for (int64_t d = t.blocked ? 5 : 4; d < (int64_t)bounds.size(); ++d)
    windowSteps *= bounds[d];
  // Each width takes the column count (up to what fits the registers and
  // the L1 sets) that covers a row's ow columns in the fewest cycles: whole
  // tiles of mr columns and, when mr does not divide ow, one tile of the
  // remainder (peeled, so every tile keeps a static shape). Cycles are per
  // output channel, so widths compare too.
  double bestCycles = 0;
  for (int64_t nr : widths) {
    int64_t nv = std::max<int64_t>(nr / vw, 1);
    int64_t maxMr = maxRegisterRows(nv, target);
    bool filterFromL2 = windowSteps * nr * elementBytes > target.l1Bytes / 2;
    SmallVector<int64_t> rows = nv == 2 ? capped({8, 7, 6, 5, 4, 3, 2, 1}, maxMr)
                                        : capped({14, 12, 8, 7, 6, 5, 4, 3, 2, 1}, maxMr);
    for (int64_t mr : rows) {
      if (mr > ow || columnsPerSet(mr, columnBytes) > maxColumnsPerSet(target))
        continue;
      double cycles = (ow / mr) * stepCycles(mr, nv, filterFromL2, target);
      if (ow % mr) // the peeled tile's own loop nest and code
        cycles += stepCycles(ow % mr, nv, filterFromL2, target) + 0.5;
      cycles /= nr;
      if (bestCycles == 0 || cycles < bestCycles - 1e-9) {
        bestCycles = cycles;
        t.nr = nr;
        t.mr = mr;
      }
    }
  }
  return t;
}

std::optional<int64_t> weft::cpu::chooseRowReduction(linalg::LinalgOp op,
                                                    const TargetInfo &target) {
  if (!isa<linalg::GenericOp>(op) || op.getNumReductionLoops() != 1 ||
      op.getNumDpsInits() != 1 || linalg::isaContractionOpInterface(op))
    return std::nullopt;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  int64_t r = (int64_t)bounds.size() - 1;
  if (r < 0 || ShapedType::isDynamicShape(bounds) ||
      op.getIteratorTypesArray()[r] != utils::IteratorType::reduction)
    return std::nullopt;
  for (OpOperand &o : op->getOpOperands()) {
    if (!getElementTypeOrSelf(o.get().getType()).isF32())
      return std::nullopt;
    AffineMap map = op.getMatchingIndexingMap(&o);
    if (map.isFunctionOfDim(r) && !innermostIs(map, r))
      return std::nullopt;
  }
  // With peelTails, the elements past the last whole vector are reduced
  // after the others (see TileContractions).
  int64_t vw = target.vectorWidth, extent = bounds[r];
  int64_t whole = target.peelTails ? extent - extent % vw : extent;
  if (whole % (2 * vw) == 0 && whole >= 4 * vw)
    return 2 * vw;
  if (whole % vw == 0 && whole >= 2 * vw)
    return vw;
  return std::nullopt;
}

bool weft::cpu::flattensRows(linalg::LinalgOp op) {
  auto strides = op->getAttrOfType<DenseI64ArrayAttr>(kBlockedConvAttr);
  if (!strides || llvm::any_of(strides.asArrayRef(), [](int64_t s) { return s != 1; }))
    return false;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  auto input = cast<ShapedType>(op.getDpsInputOperand(0)->get().getType());
  // Loops (n, oh, ow, fb, fi, kh, kw, c[g, c4]); input [N, H, W, C].
  return (bounds.size() == 8 || bounds.size() == 9) && !ShapedType::isDynamicShape(bounds) &&
         input.hasStaticShape() &&
         bounds[5] == 1 && bounds[6] == 1 && bounds[1] > 1 &&
         input.getDimSize(1) == bounds[1] && input.getDimSize(2) == bounds[2];
}

WorkgroupSplit weft::cpu::chooseWorkgroupSplit(Operation *op, ArrayRef<int64_t> bounds,
                                               const TargetInfo &target) {
  WorkgroupSplit split;
  split.granule.assign(bounds.size(), 1);
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  int64_t vw = target.vectorWidth;
  auto vectorGranule = [&](int64_t extent) -> int64_t {
    if (extent % (2 * vw) == 0)
      return 2 * vw;
    return extent % vw == 0 ? vw : 1;
  };
  if (std::optional<ConvTiles> conv =
          linalgOp ? chooseConvTiles(linalgOp, target) : std::nullopt) {
    // (n, oh, ow, f|c|fb, ...): columns stay whole (they are the register
    // tile's rows); channels split in whole vector pairs, filter blocks
    // (whole register tiles already) one by one.
    // (A narrower last channel tile keeps the channels whole.)
    split.granule[3] = conv->blocked       ? conv->blocksPerGroup
                       : conv->channelTail ? bounds[3]
                                           : vectorGranule(bounds[3]);
    auto bytes = [](Value v) {
      auto t = cast<ShapedType>(v.getType());
      return t.getNumElements() * t.getElementTypeBitWidth() / 8;
    };
    int64_t filterBytes = bytes(linalgOp.getDpsInputOperand(1)->get());
    int64_t inputBytes = bytes(linalgOp.getDpsInputOperand(0)->get());
    split.order = filterBytes > inputBytes ? SmallVector<int64_t>{3, 0, 1}
                                           : SmallVector<int64_t>{0, 1, 3};
    return split;
  }
  if (linalgOp) {
    if (std::optional<ContractionTiles> t = chooseContractionTiles(linalgOp, target)) {
      split.order.append(t->batch.begin(), t->batch.end());
      split.order.push_back(t->m);
      split.order.push_back(t->n);
      // (Rows or columns that end in a tail stay whole.)
      split.granule[t->m] = t->mTail ? t->bounds[t->m] : t->mr;
      split.granule[t->n] = t->nTail ? t->bounds[t->n] : t->nr;
      return split;
    }
  }
  for (int64_t d = 0; d < (int64_t)bounds.size(); ++d)
    split.order.push_back(d);
  return split;
}

linalg::GenericOp weft::cpu::epilogueOf(linalg::LinalgOp root) {
  if (root->getNumResults() != 1 || root.getNumReductionLoops() == 0 ||
      !root->getResult(0).hasOneUse())
    return {};
  AffineMap rootOut = root.getIndexingMapMatchingResult(root->getResult(0));
  int64_t rank = rootOut.getNumResults();
  for (int64_t d = 0; d < rank; ++d) {
    auto e = dyn_cast<AffineDimExpr>(rootOut.getResult(d));
    if (!e || (int64_t)e.getPosition() != d)
      return {};
  }
  OpOperand &use = *root->getResult(0).getUses().begin();
  auto epilogue = dyn_cast<linalg::GenericOp>(use.getOwner());
  if (!epilogue || epilogue.getNumDpsInits() != 1 || epilogue.getNumLoops() != rank ||
      epilogue.getNumParallelLoops() != rank || !epilogue.isDpsInput(&use))
    return {};
  if (!epilogue.getMatchingIndexingMap(&use).isIdentity() ||
      !epilogue.getMatchingIndexingMap(epilogue.getDpsInitOperand(0)).isIdentity())
    return {};
  // Operands may broadcast along loops they lack or along unit dimensions
  // (a bias [1, N] over [M, N] rows reads row 0: a zero in its map).
  for (AffineMap m : epilogue.getIndexingMapsArray())
    if (!m.isProjectedPermutation(/*allowZeroInResults=*/true))
      return {};
  return epilogue;
}

linalg::LinalgOp weft::cpu::epilogueRoot(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic)
    return {};
  for (OpOperand *in : generic.getDpsInputOperands())
    if (auto root = in->get().getDefiningOp<linalg::LinalgOp>())
      if (epilogueOf(root) == generic)
        return root;
  return {};
}

/// The op whose result the dispatch writes out (the first output), seen
/// through reshapes.
TilingInterface weft::cpu::findDispatchRoot(func::FuncOp fn) {
  TilingInterface root;
  fn.walk([&](bufferization::MaterializeInDestinationOp m) {
    if (root)
      return;
    // Reshapes only rename the root's result (a blocked conv's [.., F/B, B]).
    Value v = m.getSource();
    while (Operation *def = v.getDefiningOp()) {
      if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def))
        break;
      v = def->getOperand(0);
    }
    root = v.getDefiningOp<TilingInterface>();
  });
  return root;
}

bool weft::cpu::isWorkgroupSetup(Operation *op) {
  return isa<bufferization::ToTensorOp, bufferization::MaterializeInDestinationOp,
             tensor::EmptyOp, arith::ConstantOp, func::ReturnOp, scf::ForallOp,
             tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::ExtractSliceOp>(op);
}

LogicalResult weft::cpu::tileRootIntoForall(TilingInterface root, ArrayRef<OpFoldResult> sizes) {
  scf::SCFTilingOptions tiling;
  tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  tiling.setTileSizes(sizes);
  return tileRootAndFuse(root, tiling);
}

LogicalResult weft::cpu::tileRootAndFuse(TilingInterface root,
                                         const scf::SCFTilingOptions &tiling) {
  IRRewriter rewriter(root->getContext());
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling);
  rewriter.setInsertionPoint(root);
  FailureOr<scf::SCFTileAndFuseResult> result =
      scf::tileConsumerAndFuseProducersUsingSCF(rewriter, root, options);
  if (failed(result))
    return failure();
  for (OpResult r : root->getResults())
    if (Value repl = result->replacements.lookup(r))
      rewriter.replaceAllUsesWith(r, repl);
  return success();
}

int64_t weft::cpu::tileDispatchWhole(
    func::FuncOp fn, llvm::function_ref<LogicalResult(func::FuncOp, int64_t &)> tile) {
  // Tile a copy: if anything that computes is left outside the loop, every
  // iteration would redo it, so the dispatch stays whole.
  func::FuncOp trial = fn.clone();
  int64_t count = 1;
  bool ok = succeeded(tile(trial, count));
  if (ok && count > 1) {
    RewritePatternSet patterns(fn->getContext());
    (void)applyPatternsGreedily(trial, std::move(patterns));
    for (Operation &op : trial.getBody().front())
      if (!isWorkgroupSetup(&op) && !op.use_empty())
        ok = false;
  }
  if (ok && count > 1)
    fn.getBody().takeBody(trial.getBody());
  else
    count = 1;
  trial.erase();
  return count;
}
