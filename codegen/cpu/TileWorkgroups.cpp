//===- TileWorkgroups.cpp - weft-cpu-tile-workgroups ---------------------===//
//
// Splits each dispatch into independent workgroups: the root op's outer
// parallel loops become an scf.forall, with the dispatch's other ops fused
// into every tile. When the root is a convolution's or contraction's
// epilogue, the split is the one that op's kernel strategy asks for. Each forall iteration later becomes one call from the
// runtime's thread pool.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/KernelConfig.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace weft::cpu {
#define GEN_PASS_DEF_TILEWORKGROUPS
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

/// The op whose result the dispatch writes out (the first output), seen
/// through reshapes.
TilingInterface findRoot(func::FuncOp fn) {
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

/// Ops that may stay outside the forall: they compute nothing per element.
bool isSharedSetup(Operation *op) {
  return isa<bufferization::ToTensorOp, bufferization::MaterializeInDestinationOp,
             tensor::EmptyOp, arith::ConstantOp, func::ReturnOp, scf::ForallOp,
             tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op);
}

struct TileWorkgroupsPass : weft::cpu::impl::TileWorkgroupsBase<TileWorkgroupsPass> {
  using TileWorkgroupsBase::TileWorkgroupsBase;

  /// Tile sizes (0 = untiled) for the root's loops; count = product of
  /// tiles. Loops are split in the order KernelConfig gives, each into the
  /// most pieces (up to what is still wanted) that divide it into whole
  /// granules, so every tile has the same static shape.
  /// `planOp` (with static loop ranges `planBounds`) is the op whose kernel
  /// strategy decides the split: the root itself, or the convolution or
  /// contraction whose epilogue the root is (root loop d is its loop d).
  SmallVector<int64_t> chooseTiles(Operation *planOp, ArrayRef<int64_t> planBounds,
                                   ArrayRef<int64_t> bounds,
                                   ArrayRef<utils::IteratorType> iters,
                                   int64_t &count) {
    int64_t work = 1;
    for (int64_t b : planBounds)
      work *= std::max<int64_t>(b, 1);
    int64_t want = std::clamp<int64_t>(work / std::max<int64_t>(minWork, 1), 1,
                                       targetWorkgroups);
    TargetInfo target;
    target.vectorWidth = vectorWidth;
    target.vectorRegisters = vectorRegisters;
    target.l1Bytes = l1Bytes;
    WorkgroupSplit split = chooseWorkgroupSplit(planOp, planBounds, target);
    SmallVector<int64_t> tiles(bounds.size(), 0);
    count = 1;
    for (int64_t d : split.order) {
      if (count >= want)
        break;
      if (d >= (int64_t)bounds.size() || iters[d] != utils::IteratorType::parallel ||
          bounds[d] <= 1)
        continue;
      int64_t remaining = want / count;
      int64_t granule = std::max<int64_t>(split.granule[d], 1);
      int64_t pieces = 1;
      for (int64_t c = std::min(remaining, bounds[d]); c >= 2; --c)
        if (bounds[d] % c == 0 && (bounds[d] / c) % granule == 0) {
          pieces = c;
          break;
        }
      if (pieces == 1)
        continue;
      tiles[d] = bounds[d] / pieces;
      count *= pieces;
    }
    return tiles;
  }

  LogicalResult tile(func::FuncOp fn, int64_t &count) {
    count = 1;
    TilingInterface root = findRoot(fn);
    if (!root)
      return success();
    OpBuilder b(root);
    SmallVector<Range> domain = root.getIterationDomain(b);
    SmallVector<int64_t> bounds;
    for (Range r : domain) {
      auto size = getConstantIntValue(r.size);
      if (!size)
        return success();
      bounds.push_back(*size);
    }
    SmallVector<utils::IteratorType> iters = root.getLoopIteratorTypes();
    Operation *planOp = root;
    SmallVector<int64_t> planBounds = bounds;
    if (linalg::LinalgOp anchor = epilogueRoot(root)) {
      SmallVector<int64_t> anchorBounds = anchor.getStaticLoopRanges();
      if (!ShapedType::isDynamicShape(anchorBounds)) {
        planOp = anchor;
        planBounds = anchorBounds;
      }
    }
    SmallVector<int64_t> tiles = chooseTiles(planOp, planBounds, bounds, iters, count);
    if (count == 1)
      return success();

    IRRewriter rewriter(&getContext());
    scf::SCFTilingOptions tiling;
    tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    SmallVector<OpFoldResult> sizes;
    for (int64_t t : tiles)
      sizes.push_back(rewriter.getIndexAttr(t));
    tiling.setTileSizes(sizes);
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

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kDispatchFnAttr))
      return;
    // Tile a copy: if anything that computes is left outside the workgroup
    // loop, every workgroup would redo it, so the dispatch stays whole.
    func::FuncOp trial = fn.clone();
    int64_t count = 1;
    bool ok = succeeded(tile(trial, count));
    if (ok && count > 1) {
      RewritePatternSet patterns(&getContext());
      (void)applyPatternsGreedily(trial, std::move(patterns));
      for (Operation &op : trial.getBody().front())
        if (!isSharedSetup(&op) && !op.use_empty())
          ok = false;
    }
    OpBuilder b(fn);
    if (ok && count > 1) {
      fn.getBody().takeBody(trial.getBody());
    } else {
      count = 1;
    }
    trial.erase();
    fn->setAttr(kWorkgroupCountAttr, b.getI64IntegerAttr(count));
  }
};

} // namespace
