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
    target.l1Ways = l1Ways;
    target.peelTails = true;
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
    TilingInterface root = findDispatchRoot(fn);
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

    SmallVector<OpFoldResult> sizes;
    for (int64_t t : tiles)
      sizes.push_back(b.getIndexAttr(t));
    return cpu::tileRootIntoForall(root, sizes);
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kDispatchFnAttr))
      return;
    int64_t count = tileDispatchWhole(
        fn, [&](func::FuncOp trial, int64_t &n) { return tile(trial, n); });
    OpBuilder b(fn);
    fn->setAttr(kWorkgroupCountAttr, b.getI64IntegerAttr(count));
  }
};

} // namespace
