//===- Decompose.cpp - weft-decompose ------------------------------------===//
//
// Rewrites composite ops into simpler ones so later stages handle fewer
// shapes of problem: batch norm becomes scale-and-shift, convolution and
// max-pooling padding becomes its own pad.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace weft {
#define GEN_PASS_DEF_DECOMPOSE
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;

namespace {

static std::optional<SmallVector<double>> constantValues(Value v) {
  auto cst = v.getDefiningOp<ConstantOp>();
  if (!cst)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
  if (!dense || !isa<FloatType>(dense.getElementType()))
    return std::nullopt;
  SmallVector<double> out;
  for (APFloat f : dense.getValues<APFloat>())
    out.push_back(f.convertToDouble());
  return out;
}

static Value floatConstant(PatternRewriter &rewriter, Location loc,
                           RankedTensorType type, ArrayRef<double> values) {
  SmallVector<APFloat> data;
  auto ft = cast<FloatType>(type.getElementType());
  for (double v : values) {
    APFloat f(v);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    data.push_back(f);
  }
  return ConstantOp::create(rewriter, loc, DenseElementsAttr::get(type, data));
}

/// y = x * s + t with s = scale / sqrt(var + eps), t = bias - mean * s.
struct DecomposeBatchNorm : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp op,
                                PatternRewriter &rewriter) const override {
    auto type = op.getType();
    int64_t c = type.getShape()[1];
    // Parameters broadcast along axis 1: shape [C, 1, ..., 1].
    SmallVector<int64_t> paramShape(type.getRank() - 1, 1);
    paramShape[0] = c;
    auto paramType = RankedTensorType::get(paramShape, type.getElementType());
    Location loc = op.getLoc();
    auto scale = constantValues(op.getScale()), bias = constantValues(op.getBias()),
         mean = constantValues(op.getMean()), var = constantValues(op.getVariance());
    Value s, t;
    if (scale && bias && mean && var) {
      SmallVector<double> sv(c), tv(c);
      for (int64_t i = 0; i < c; ++i) {
        sv[i] = (*scale)[i] / std::sqrt((*var)[i] + op.getEpsilon().convertToDouble());
        tv[i] = (*bias)[i] - (*mean)[i] * sv[i];
      }
      s = floatConstant(rewriter, loc, paramType, sv);
      t = floatConstant(rewriter, loc, paramType, tv);
    } else {
      auto vecType = cast<RankedTensorType>(op.getScale().getType());
      Value eps = floatConstant(rewriter, loc,
                                RankedTensorType::get({1}, vecType.getElementType()),
                                {op.getEpsilon().convertToDouble()});
      Value ve = AddOp::create(rewriter, loc, op.getVariance(), eps);
      Value sd = SqrtOp::create(rewriter, loc, ve);
      Value s1 = DivOp::create(rewriter, loc, op.getScale(), sd);
      Value ms = MulOp::create(rewriter, loc, op.getMean(), s1);
      Value t1 = SubOp::create(rewriter, loc, op.getBias(), ms);
      s = ReshapeOp::create(rewriter, loc, paramType, s1);
      t = ReshapeOp::create(rewriter, loc, paramType, t1);
    }
    Value scaled = MulOp::create(rewriter, loc, op.getInput(), s);
    rewriter.replaceOpWithNewOp<AddOp>(op, scaled, t);
    return success();
  }
};

/// Moves a window op's [top, left, bottom, right] pads into a weft.pad of
/// its input (rows and columns where its layout has them) filled with
/// `value`; failure when it has none.
template <typename WindowOp>
LogicalResult movePadsToInput(WindowOp op, TypedAttr value, PatternRewriter &rewriter) {
  ArrayRef<int64_t> pads = op.getPads();
  if (llvm::all_of(pads, [](int64_t p) { return p == 0; }))
    return failure();
  ConvDims cd = convDims(op.getChannelsLast());
  SmallVector<int64_t> low(4, 0), high(4, 0);
  low[cd.h] = pads[0];
  low[cd.w] = pads[1];
  high[cd.h] = pads[2];
  high[cd.w] = pads[3];
  Value padded = PadOp::create(rewriter, op.getLoc(), op.getInput(),
                               rewriter.getDenseI64ArrayAttr(low),
                               rewriter.getDenseI64ArrayAttr(high), value);
  rewriter.modifyOpInPlace(op, [&] {
    op.getInputMutable().assign(padded);
    op.setPads(ArrayRef<int64_t>{0, 0, 0, 0});
  });
  return success();
}

/// conv(x, pads) -> conv(pad(x, 0), no pads).
struct DecomposeConvPadding : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    return movePadsToInput(
        op, rewriter.getZeroAttr(op.getInput().getType().getElementType()), rewriter);
  }
};

/// maxpool(x, pads) -> maxpool(pad(x, lowest), no pads): the padded input
/// is planned once in the arena; fused into the pool's kernel, every
/// workgroup kept its own padded tile in scratch (8 MB of it for ResNet-50's
/// first pool, more than the arena's tensors need at their peak).
struct DecomposeMaxPoolPadding : OpRewritePattern<PoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PoolOp op, PatternRewriter &rewriter) const override {
    // With ceil_mode the last window's placement depends on the pads.
    if (op.getKind() != PoolKind::max || op.getCeilMode())
      return failure();
    Type elt = op.getInput().getType().getElementType();
    TypedAttr lowest;
    if (auto ft = dyn_cast<FloatType>(elt))
      lowest = rewriter.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), true));
    else if (auto it = dyn_cast<IntegerType>(elt); it && !it.isUnsigned())
      lowest = rewriter.getIntegerAttr(it, APInt::getSignedMinValue(it.getWidth()));
    else
      return failure();
    return movePadsToInput(op, lowest, rewriter);
  }
};

/// gemm(A, W, transB) with constant W -> gemm(A, transpose(W)): the
/// transpose folds into the weights, so the kernel reads B row-major. Not
/// when A has fewer than `minRows` rows (statically).
struct PretransposeGemmWeights : OpRewritePattern<GemmOp> {
  PretransposeGemmWeights(MLIRContext *ctx, int64_t minRows)
      : OpRewritePattern(ctx), minRows(minRows) {}
  LogicalResult matchAndRewrite(GemmOp op, PatternRewriter &rewriter) const override {
    if (!op.getTransB() || !op.getB().getDefiningOp<ConstantOp>())
      return failure();
    auto a = dyn_cast<RankedTensorType>(op.getA().getType());
    if (minRows > 0 && a && a.getRank() == 2) {
      int64_t rows = a.getDimSize(op.getTransA() ? 1 : 0);
      if (!ShapedType::isDynamic(rows) && rows < minRows)
        return failure();
    }
    Value bt = TransposeOp::create(rewriter, op.getLoc(), op.getB(),
                                   rewriter.getDenseI64ArrayAttr({1, 0}));
    rewriter.modifyOpInPlace(op, [&] {
      op.getBMutable().assign(bt);
      op.setTransB(false);
    });
    return success();
  }
  int64_t minRows;
};

/// A MatMul, Gemm or Conv of f16 or bf16 tensors -> the same op on f32
/// casts of its operands, its result cast back: the CPU's contraction
/// kernels are f32 ones, and the result is the same (sums in f32, one
/// rounding). Constant operands (weights) fold into f32 constants.
template <typename Op>
struct WidenHalfContraction : OpRewritePattern<Op> {
  using OpRewritePattern<Op>::OpRewritePattern;
  LogicalResult matchAndRewrite(Op op, PatternRewriter &rewriter) const override {
    auto isHalf = [](Type t) {
      return isa<Float16Type, BFloat16Type>(getElementTypeOrSelf(t));
    };
    Type result = op->getResult(0).getType();
    auto resultType = dyn_cast<RankedTensorType>(result);
    if (!resultType || !isHalf(result) ||
        !llvm::all_of(op->getOperandTypes(), [&](Type t) {
          return isHalf(t) || isa<NoneType>(t);
        }))
      return failure();
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    IRMapping map;
    for (Value v : op->getOperands())
      if (auto t = dyn_cast<RankedTensorType>(v.getType()))
        map.map(v, CastOp::create(rewriter, loc, t.clone(f32), v));
    Operation *wide = rewriter.clone(*op, map);
    wide->getResult(0).setType(resultType.clone(f32));
    rewriter.replaceOpWithNewOp<CastOp>(op, resultType, wide->getResult(0));
    return success();
  }
};

/// reduce(x) over every axis -> reshape(reduce(reshape(x, [N]), axis 0)):
/// one reduction loop over contiguous elements, which the CPU kernels
/// vectorize as a row reduction (several loops stay scalar). The result's
/// shape (keepdims or not) comes back through a reshape.
struct FlattenFullReduction : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp op, PatternRewriter &rw) const override {
    auto in = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!in || !in.hasStaticShape() || in.getRank() < 2 || in.getNumElements() == 0)
      return failure();
    ArrayRef<int64_t> axes = op.getAxes();
    if (!axes.empty() && (int64_t)axes.size() != in.getRank())
      return failure();
    Location loc = op.getLoc();
    Value flat = ReshapeOp::create(
        rw, loc, RankedTensorType::get({in.getNumElements()}, in.getElementType()),
        op.getInput());
    auto reduced = ReduceOp::create(rw, loc, op.getKindAttr(), flat,
                                    rw.getDenseI64ArrayAttr({0}), rw.getBoolAttr(false));
    reduced->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    rw.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), reduced.getResult());
    return success();
  }
};

struct DecomposePass : weft::impl::DecomposeBase<DecomposePass> {
  using DecomposeBase::DecomposeBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DecomposeBatchNorm, DecomposeConvPadding>(&getContext());
    if (poolPadsApart)
      patterns.add<DecomposeMaxPoolPadding>(&getContext());
    patterns.add<PretransposeGemmWeights>(&getContext(), pretransposeMinRows);
    if (flattenFullReductions)
      patterns.add<FlattenFullReduction>(&getContext());
    if (widenHalfContractions)
      patterns.add<WidenHalfContraction<MatMulOp>, WidenHalfContraction<GemmOp>,
                   WidenHalfContraction<ConvOp>>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    if (!poolPadsApart)
      getOperation().walk([](PoolOp pool) {
        if (llvm::any_of(pool.getPads(), [](int64_t p) { return p != 0; }) ||
            pool.getCeilMode())
          pool->setAttr(kGatherPaddingAttr, UnitAttr::get(pool.getContext()));
      });
  }
};

} // namespace
