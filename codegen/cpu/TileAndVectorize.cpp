//===- TileAndVectorize.cpp - weft-cpu-tile-and-vectorize ----------------===//
//
// Second-level tiling inside a workgroup, on buffers: each linalg op is cut
// into pieces that fit vector registers and vectorized. Contractions get an
// MxN register block with the reduction loop outermost-free so the
// accumulator can be hoisted; convolutions and pooling are reduced to 1-D
// windows, which upstream vectorizes.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/KernelConfig.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace weft::cpu {
#define GEN_PASS_DEF_TILEANDVECTORIZE
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

/// Vectors of i1 are bit-packed in LLVM while memrefs of i1 hold one byte per
/// element, so ops that load or store booleans stay scalar.
bool touchesBooleans(linalg::LinalgOp op) {
  return llvm::any_of(op->getOperandTypes(), [](Type t) {
    auto shaped = dyn_cast<ShapedType>(t);
    return shaped && shaped.getElementType().isInteger(1);
  });
}

/// `pool` (an NHWC pooling op on buffers, already tiled to one output row
/// and one window row) as the 1-D NWC pooling op `Nwc` on rank-reduced
/// views, which upstream vectorizes along the output columns and channels.
/// (Upstream's decomposition of 2-D windows works on tensors only.)
template <typename Nwc>
bool poolRowAs1D(RewriterBase &rw, linalg::LinalgOp pool) {
  auto in = dyn_cast<MemRefType>(pool.getDpsInputs()[0].getType());
  auto window = dyn_cast<MemRefType>(pool.getDpsInputs()[1].getType());
  auto out = dyn_cast<MemRefType>(pool.getDpsInits()[0].getType());
  if (!in || !window || !out || !in.hasStaticShape() || !window.hasStaticShape() ||
      !out.hasStaticShape() || in.getRank() != 4 || window.getRank() != 2 ||
      out.getRank() != 4 || in.getDimSize(1) != 1 || window.getDimSize(0) != 1 ||
      out.getDimSize(1) != 1)
    return false;
  auto strides = pool->getAttrOfType<DenseIntElementsAttr>("strides");
  auto dilations = pool->getAttrOfType<DenseIntElementsAttr>("dilations");
  if (!strides || !dilations || strides.getNumElements() != 2 ||
      dilations.getNumElements() != 2)
    return false;
  Location loc = pool.getLoc();
  rw.setInsertionPoint(pool);
  auto drop = [&](Value v, ArrayRef<int64_t> shape) {
    return memref::createCanonicalRankReducingSubViewOp(rw, loc, v, shape);
  };
  Value in1 = drop(pool.getDpsInputs()[0], {in.getDimSize(0), in.getDimSize(2), in.getDimSize(3)});
  Value window1 = drop(pool.getDpsInputs()[1], {window.getDimSize(1)});
  Value out1 =
      drop(pool.getDpsInits()[0], {out.getDimSize(0), out.getDimSize(2), out.getDimSize(3)});
  auto second = [&](DenseIntElementsAttr a) {
    return DenseIntElementsAttr::get(RankedTensorType::get({1}, rw.getI64Type()),
                                     ArrayRef<int64_t>{a.getValues<int64_t>()[1]});
  };
  SmallVector<NamedAttribute> attrs = {rw.getNamedAttr("strides", second(strides)),
                                       rw.getNamedAttr("dilations", second(dilations))};
  Nwc::create(rw, loc, ValueRange{in1, window1}, ValueRange{out1}, attrs);
  rw.eraseOp(pool);
  return true;
}

/// f32 math that becomes vectorized polynomials (accurate to a few ulp, no
/// libm call per lane). The logarithms stay libm calls: the upstream
/// approximations treat subnormal inputs as FLT_MIN (log(1e-45) came out
/// -87.3 instead of -103.3); so do sin, cos, atan and all f64 math.
bool approximated(StringRef opName) {
  return llvm::is_contained({"math.exp", "math.expm1", "math.tanh", "math.erf"}, opName);
}

struct TileAndVectorizePass : weft::cpu::impl::TileAndVectorizeBase<TileAndVectorizePass> {
  using TileAndVectorizeBase::TileAndVectorizeBase;

  // Built once per pass instance, not once per dispatch function: collecting
  // every registered op's canonicalizations is expensive.
  FrozenRewritePatternSet cleanup;

  LogicalResult initialize(MLIRContext *context) override {
    RewritePatternSet patterns(context);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    populateMathPolynomialApproximationPatterns(patterns, approximated);
    for (Dialect *d : context->getLoadedDialects())
      d->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName name : context->getRegisteredOperations())
      name.getCanonicalizationPatterns(patterns, context);
    cleanup = FrozenRewritePatternSet(std::move(patterns));
    return success();
  }

  SmallVector<int64_t> tileSizes(linalg::LinalgOp op, ArrayRef<int64_t> ranges) {
    SmallVector<int64_t> v = {vectorWidth, vectorWidth / 2, vectorWidth / 4, 2, 1};
    SmallVector<int64_t> tiles(ranges.size(), 1);
    if (isa<linalg::Conv2DNchwFchwOp>(op)) {
      // (n, f, oh, ow, c, kh, kw): 1-D windows along ow.
      tiles[3] = firstDivisor(ranges[3], v);
      tiles[6] = 0;
      return tiles;
    }
    if (isa<linalg::PoolingNchwMaxOp, linalg::PoolingNchwSumOp>(op)) {
      // (n, c, oh, ow, kh, kw)
      tiles[3] = firstDivisor(ranges[3], v);
      tiles[5] = 0;
      return tiles;
    }
    if (isa<linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp, linalg::PoolingNhwcMinOp,
            linalg::PoolingNhwcMaxUnsignedOp, linalg::PoolingNhwcMinUnsignedOp>(op)) {
      // (n, oh, ow, c, kh, kw): 1-D windows of a few output columns, each a
      // vector along the channels (contiguous in NHWC); the last loop is
      // the window's, not the channels'.
      tiles[2] = firstDivisor(ranges[2], {4, 2, 1});
      tiles[3] = firstDivisor(ranges[3], v);
      tiles[5] = 0;
      return tiles;
    }
    if (linalg::isaContractionOpInterface(op)) {
      FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
      if (succeeded(dims) && dims->m.size() == 1 && dims->n.size() == 1 &&
          dims->k.size() == 1) {
        tiles[dims->m[0]] = firstDivisor(ranges[dims->m[0]], {8, 4, 2, 1});
        tiles[dims->n[0]] = firstDivisor(ranges[dims->n[0]],
                                        {2 * vectorWidth, vectorWidth, vectorWidth / 2, 4, 2, 1});
        tiles[dims->k[0]] = 1;
        return tiles;
      }
    }
    tiles.back() = firstDivisor(ranges.back(), v);
    return tiles;
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kDispatchFnAttr))
      return;
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::LinalgOp> ops;
    fn.walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics())
        continue;
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      if (ShapedType::isDynamicShape(ranges))
        continue;
      SmallVector<int64_t> tiles = tileSizes(op, ranges);
      bool whole = true;
      for (auto [t, r] : llvm::zip(tiles, ranges))
        whole &= (t == 0 || t == r);
      if (whole)
        continue;
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
      SmallVector<OpFoldResult> sizes;
      for (int64_t t : tiles)
        sizes.push_back(rewriter.getIndexAttr(t));
      options.setTileSizes(sizes);
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (succeeded(tiled))
        rewriter.eraseOp(op);
    }

    // 2-D windows of height one become 1-D convolutions that vectorize.
    SmallVector<linalg::LinalgOp> pools;
    fn.walk([&](linalg::LinalgOp op) {
      if (op.hasPureBufferSemantics())
        pools.push_back(op);
    });
    for (linalg::LinalgOp op : pools) {
      if (isa<linalg::PoolingNhwcMaxOp>(op))
        poolRowAs1D<linalg::PoolingNwcMaxOp>(rewriter, op);
      else if (isa<linalg::PoolingNhwcSumOp>(op))
        poolRowAs1D<linalg::PoolingNwcSumOp>(rewriter, op);
      else if (isa<linalg::PoolingNhwcMinOp>(op))
        poolRowAs1D<linalg::PoolingNwcMinOp>(rewriter, op);
      else if (isa<linalg::PoolingNhwcMaxUnsignedOp>(op))
        poolRowAs1D<linalg::PoolingNwcMaxUnsignedOp>(rewriter, op);
      else if (isa<linalg::PoolingNhwcMinUnsignedOp>(op))
        poolRowAs1D<linalg::PoolingNwcMinUnsignedOp>(rewriter, op);
    }
    {
      RewritePatternSet patterns(&getContext());
      linalg::populateDecomposeConvolutionPatterns(patterns);
      (void)applyPatternsGreedily(fn, std::move(patterns));
    }

    SmallVector<linalg::LinalgOp> tiledOps;
    fn.walk([&](linalg::LinalgOp op) { tiledOps.push_back(op); });
    for (linalg::LinalgOp op : tiledOps) {
      if (ShapedType::isDynamicShape(op.getStaticLoopRanges()) ||
          touchesBooleans(op) || failed(linalg::vectorizeOpPrecondition(op)))
        continue;
      rewriter.setInsertionPoint(op);
      if (succeeded(linalg::vectorize(rewriter, op)))
        rewriter.eraseOp(op);
    }

    (void)applyPatternsGreedily(fn, cleanup);
    linalg::hoistRedundantVectorTransfers(fn);
  }
};

} // namespace
