//===- TileContractions.cpp - weft-cpu-tile-contractions -----------------===//
//
// Cache and register tiling of contractions, on tensors, inside each
// workgroup: the reduction is cut into blocks that keep both operand panels
// in L2, every block into MR x NR register tiles whose accumulator lives in
// vector registers for the whole block (the read/write pair is hoisted out
// of the reduction loop), and each reduction step is one vector.contract
// (MR x NR x 1) that lowers to MR broadcast-FMA outer products. The tile
// shapes come from the root's KernelConfig.
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

struct TileContractionsPass
    : weft::cpu::impl::TileContractionsBase<TileContractionsPass> {
  using TileContractionsBase::TileContractionsBase;

  LogicalResult tileOne(RewriterBase &rw, linalg::LinalgOp op,
                        const ContractionTiles &t) {
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
    // Level 3: one reduction step per vector.contract.
    {
      SmallVector<int64_t> sizes(nLoops, 0);
      sizes[t.k] = 1;
      FailureOr<scf::SCFTilingResult> r = tileWith(rw, current, sizes);
      if (failed(r))
        return failure();
      current = cast<linalg::LinalgOp>(r->tiledOps.back());
    }
    rw.setInsertionPoint(current);
    FailureOr<linalg::VectorizationResult> v = linalg::vectorize(
        rw, current, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
        /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
        /*assumeDynamicDimsMatchVecSizes=*/false, /*createNamedContraction=*/true);
    if (failed(v))
      return failure();
    rw.replaceOp(current, v->replacements);
    return success();
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kDispatchFnAttr))
      return;
    TargetInfo target;
    target.vectorWidth = vectorWidth;
    SmallVector<std::pair<linalg::LinalgOp, ContractionTiles>> work;
    fn.walk([&](linalg::LinalgOp op) {
      if (!op.hasPureTensorSemantics())
        return;
      if (std::optional<ContractionTiles> t = chooseContractionTiles(op, target))
        work.push_back({op, *t});
    });
    if (work.empty())
      return;
    IRRewriter rw(&getContext());
    for (auto &[op, tiles] : work)
      if (failed(tileOne(rw, op, tiles))) {
        op->emitError("internal error: cannot tile this contraction");
        return signalPassFailure();
      }

    {
      RewritePatternSet patterns(&getContext());
      tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
      vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
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
    // Drop the tensor iter_args the hoisting left unused.
    RewritePatternSet patterns(&getContext());
    scf::ForOp::getCanonicalizationPatterns(patterns, &getContext());
    (void)applyPatternsGreedily(fn, std::move(patterns));
  }
};

} // namespace
