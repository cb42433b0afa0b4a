//===- WeftFolds.cpp - weft folders --------------------------------------===//
//
// Folds that shrink the graph before dispatch formation: constant folding of
// elementwise arithmetic on weights (e.g. batch-norm parameters), algebraic
// identities, and collapsing of no-op data movement (with the transposes'
// canonicalization patterns: composed, or reshapes where only unit
// dimensions move).
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/Dialect/CommonFolders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using namespace mlir;
using namespace weft;

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

OpFoldResult IdentityOp::fold(FoldAdaptor) { return getInput(); }

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  if (auto inner = getInput().getDefiningOp<NegOp>())
    return inner.getInput();
  return constFoldUnaryOp<FloatAttr, APFloat, void>(adaptor.getOperands(),
                                     [](const APFloat &a) { return -a; });
}

/// True when every element of float tensor `v` is an integer in [lo, hi]
/// (or NaN): a clip to such bounds of a rounding, or of a rounding plus
/// integral constants. QuantizeLinear makes these before its conversion.
static bool isIntegralWithin(Value v, double lo, double hi) {
  auto clip = v.getDefiningOp<ClipOp>();
  if (!clip)
    return false;
  auto min = dyn_cast<FloatAttr>(clip.getMin()), max = dyn_cast<FloatAttr>(clip.getMax());
  if (!min || !max)
    return false;
  auto integralIn = [&](double d) { return std::nearbyint(d) == d && d >= lo && d <= hi; };
  if (!integralIn(min.getValueAsDouble()) || !integralIn(max.getValueAsDouble()))
    return false;
  auto isIntegral = [](Value x) {
    if (x.getDefiningOp<RoundOp>())
      return true;
    DenseElementsAttr c;
    if (!matchPattern(x, m_Constant(&c)) || !isa<FloatType>(c.getElementType()))
      return false;
    return llvm::all_of(c.getValues<APFloat>(), [](const APFloat &f) { return f.isInteger(); });
  };
  Value in = clip.getInput();
  if (in.getDefiningOp<RoundOp>())
    return true;
  if (auto add = in.getDefiningOp<AddOp>())
    return isIntegral(add.getLhs()) && isIntegral(add.getRhs()) &&
           add.getLhs().getType() == add.getType();
  return false;
}

OpFoldResult CastOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getOutput().getType())
    return getInput();
  // A float quantized to integers and straight back (QuantizeLinear then
  // DequantizeLinear): the integers are exact in the float, so the value
  // comes back unchanged, and the elementwise chain around it stays one.
  // Unless the integers are stored anyway for another user (an integer
  // convolution): reading them back is then cheaper than storing the
  // floats as well.
  auto inner = getInput().getDefiningOp<CastOp>();
  if (inner && llvm::all_of(inner->getUsers(), [](Operation *u) { return isa<CastOp>(u); })) {
    Value v = inner.getInput();
    auto mid = dyn_cast<IntegerType>(inner.getOutput().getType().getElementType());
    auto ft = dyn_cast<FloatType>(getOutput().getType().getElementType());
    if (mid && ft && v.getType() == getOutput().getType() && mid.getWidth() > 1 &&
        mid.getWidth() <= 64) {
      // Integers the integer type holds and the float holds exactly.
      bool isUnsigned = mid.isUnsigned();
      double exact = std::ldexp(1.0, ft.getFPMantissaWidth());
      double lo = isUnsigned ? 0 : -std::ldexp(1.0, mid.getWidth() - 1);
      double hi = isUnsigned ? std::ldexp(1.0, mid.getWidth()) - 1
                             : std::ldexp(1.0, mid.getWidth() - 1) - 1;
      if (isIntegralWithin(v, std::max(lo, -exact), std::min(hi, exact)))
        return v;
    }
  }
  // A float constant converted to another float type (a 16-bit model's
  // weights widened for f32 kernels) is converted once, at compile time,
  // rounding to nearest even as the kernels' conversions do.
  auto dense = dyn_cast_or_null<DenseElementsAttr>(a.getInput());
  auto out = dyn_cast<RankedTensorType>(getOutput().getType());
  auto from = dense ? dyn_cast<FloatType>(dense.getElementType()) : nullptr;
  auto to = out ? dyn_cast<FloatType>(out.getElementType()) : nullptr;
  // To an 8-bit float: saturation is ONNX's, not APFloat's; left to the
  // kernels.
  if (!from || !to || !out.hasStaticShape() || to.getWidth() == 8)
    return {};
  auto convert = [&](APFloat v) {
    bool lost;
    v.convert(to.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    return v;
  };
  if (dense.isSplat())
    return DenseElementsAttr::get(out, convert(dense.getSplatValue<APFloat>()));
  // 16-bit weights to f32 (an f16 BERT-base's 110M of them): every one of
  // the 65536 values converted once into a table, then the raw data mapped
  // through it, rather than an APFloat per element.
  if (from.getWidth() == 16 && to.isF32()) {
    std::vector<uint32_t> table(1 << 16);
    for (uint32_t bits = 0; bits < table.size(); ++bits)
      table[bits] = (uint32_t)convert(APFloat(from.getFloatSemantics(), APInt(16, bits)))
                        .bitcastToAPInt()
                        .getZExtValue();
    ArrayRef<char> raw = dense.getRawData();
    std::vector<uint32_t> wide(raw.size() / 2);
    for (size_t i = 0; i < wide.size(); ++i) {
      uint16_t bits;
      std::memcpy(&bits, raw.data() + 2 * i, 2);
      wide[i] = table[bits];
    }
    return DenseElementsAttr::getFromRawBuffer(
        out, ArrayRef<char>(reinterpret_cast<const char *>(wide.data()), wide.size() * 4));
  }
  SmallVector<APFloat> values;
  values.reserve(dense.getNumElements());
  for (APFloat v : dense.getValues<APFloat>())
    values.push_back(convert(v));
  return DenseElementsAttr::get(out, values);
}

// True when `attr` is a splat equal to `value` (integer or float).
static bool isSplatOf(Attribute attr, double value) {
  auto splat = dyn_cast_or_null<SplatElementsAttr>(attr);
  if (!splat)
    return false;
  Type elt = splat.getElementType();
  if (isa<FloatType>(elt))
    return splat.getSplatValue<APFloat>().convertToDouble() == value;
  if (elt.isInteger() && !elt.isInteger(1))
    return splat.getSplatValue<APInt>().getSExtValue() == (int64_t)value;
  return false;
}

// Folds `op` on two constants of identical type (broadcasting cases are left
// to the generic code, which is rare for weights).
template <typename Fn>
static OpFoldResult foldFloatBinary(Operation *op, ArrayRef<Attribute> operands,
                                    Fn &&fn) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  if (!isa<FloatType>(resultType.getElementType()))
    return {};
  auto lhs = dyn_cast_or_null<DenseElementsAttr>(operands[0]);
  auto rhs = dyn_cast_or_null<DenseElementsAttr>(operands[1]);
  if (!lhs || !rhs)
    return {};
  if ((lhs.getType() != resultType && !lhs.isSplat()) ||
      (rhs.getType() != resultType && !rhs.isSplat()))
    return {};
  // Keep folding bounded: large broadcasted constants stay runtime work.
  if (resultType.getNumElements() > (1 << 22))
    return {};
  if (lhs.isSplat() && rhs.isSplat())
    return DenseElementsAttr::get(
        resultType, fn(lhs.getSplatValue<APFloat>(), rhs.getSplatValue<APFloat>()));
  SmallVector<APFloat> out;
  out.reserve(resultType.getNumElements());
  auto lv = lhs.getValues<APFloat>(), rv = rhs.getValues<APFloat>();
  for (int64_t i = 0, e = resultType.getNumElements(); i < e; ++i)
    out.push_back(fn(lhs.isSplat() ? lv[0] : lv[i], rhs.isSplat() ? rv[0] : rv[i]));
  return DenseElementsAttr::get(resultType, out);
}

OpFoldResult AddOp::fold(FoldAdaptor a) {
  if (isSplatOf(a.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  if (isSplatOf(a.getLhs(), 0) && getRhs().getType() == getType())
    return getRhs();
  return foldFloatBinary(*this, a.getOperands(),
                         [](APFloat x, const APFloat &y) { return x + y; });
}

OpFoldResult SubOp::fold(FoldAdaptor a) {
  if (isSplatOf(a.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldFloatBinary(*this, a.getOperands(),
                         [](APFloat x, const APFloat &y) { return x - y; });
}

OpFoldResult MulOp::fold(FoldAdaptor a) {
  if (isSplatOf(a.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  if (isSplatOf(a.getLhs(), 1) && getRhs().getType() == getType())
    return getRhs();
  return foldFloatBinary(*this, a.getOperands(),
                         [](APFloat x, const APFloat &y) { return x * y; });
}

OpFoldResult DivOp::fold(FoldAdaptor a) {
  if (isSplatOf(a.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return foldFloatBinary(*this, a.getOperands(),
                         [](APFloat x, const APFloat &y) { return x / y; });
}

OpFoldResult PowOp::fold(FoldAdaptor a) {
  if (isSplatOf(a.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return {};
}

OpFoldResult MaxOp::fold(FoldAdaptor a) {
  if (getLhs() == getRhs() && getLhs().getType() == getType())
    return getLhs();
  return {};
}
OpFoldResult MinOp::fold(FoldAdaptor a) {
  if (getLhs() == getRhs() && getLhs().getType() == getType())
    return getLhs();
  return {};
}
OpFoldResult PReluOp::fold(FoldAdaptor) { return {}; }
// Bitwise ops on integer (and bool) constants of the result's type; shape
// conditions such as And(Equal(...), Not(...)) fold before If reads them.
template <typename Fn>
static OpFoldResult foldIntBinary(Operation *op, ArrayRef<Attribute> operands, Fn &&fn) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  auto lhs = dyn_cast_or_null<DenseIntElementsAttr>(operands[0]);
  auto rhs = dyn_cast_or_null<DenseIntElementsAttr>(operands[1]);
  if (!lhs || !rhs || lhs.getType() != resultType || rhs.getType() != resultType ||
      resultType.getNumElements() > (1 << 16))
    return {};
  SmallVector<APInt> out;
  for (auto [l, r] : llvm::zip(lhs.getValues<APInt>(), rhs.getValues<APInt>()))
    out.push_back(fn(l, r));
  return DenseElementsAttr::get(resultType, out);
}

OpFoldResult AndOp::fold(FoldAdaptor a) {
  return foldIntBinary(*this, a.getOperands(), [](const APInt &l, const APInt &r) { return l & r; });
}
OpFoldResult OrOp::fold(FoldAdaptor a) {
  return foldIntBinary(*this, a.getOperands(), [](const APInt &l, const APInt &r) { return l | r; });
}
OpFoldResult XorOp::fold(FoldAdaptor a) {
  return foldIntBinary(*this, a.getOperands(), [](const APInt &l, const APInt &r) { return l ^ r; });
}
// Where on constants, broadcast to the result: shape computations that
// exporters build with it (PyTorch writes x.expand(n, -1, -1) as a Where
// that turns the -1s into 1s) fold before Expand or Reshape read them.
OpFoldResult WhereOp::fold(FoldAdaptor a) {
  auto type = dyn_cast<RankedTensorType>(getType());
  auto cond = dyn_cast_or_null<DenseIntElementsAttr>(a.getCondition());
  auto lhs = dyn_cast_or_null<DenseElementsAttr>(a.getLhs());
  auto rhs = dyn_cast_or_null<DenseElementsAttr>(a.getRhs());
  if (!type || !type.hasStaticShape() || !cond || !lhs || !rhs ||
      type.getNumElements() > (1 << 16) || !cond.getElementType().isInteger(1) ||
      lhs.getElementType() != type.getElementType() ||
      rhs.getElementType() != type.getElementType())
    return {};
  int64_t rank = type.getRank();
  ArrayRef<int64_t> shape = type.getShape();
  // The flat index into `attr` (broadcast from the right) of the result's
  // element at `at`.
  auto sourceIndex = [&](DenseElementsAttr attr, ArrayRef<int64_t> at) -> int64_t {
    if (attr.isSplat())
      return 0;
    ArrayRef<int64_t> s = cast<ShapedType>(attr.getType()).getShape();
    int64_t offset = rank - (int64_t)s.size(), flat = 0;
    for (auto [d, n] : llvm::enumerate(s))
      flat = flat * n + (n == 1 ? 0 : at[offset + d]);
    return flat;
  };
  auto c = cond.getValues<bool>();
  auto l = lhs.getValues<Attribute>();
  auto r = rhs.getValues<Attribute>();
  SmallVector<Attribute> out;
  out.reserve(type.getNumElements());
  SmallVector<int64_t> at(rank, 0);
  for (int64_t i = 0, e = type.getNumElements(); i < e; ++i) {
    out.push_back(c[sourceIndex(cond, at)] ? l[sourceIndex(lhs, at)] : r[sourceIndex(rhs, at)]);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++at[d] < shape[d])
        break;
      at[d] = 0;
    }
  }
  return DenseElementsAttr::get(type, out);
}

OpFoldResult ModOp::fold(FoldAdaptor) { return {}; }
OpFoldResult FModOp::fold(FoldAdaptor) { return {}; }
OpFoldResult ShlOp::fold(FoldAdaptor) { return {}; }
OpFoldResult ShrOp::fold(FoldAdaptor) { return {}; }

OpFoldResult ReshapeOp::fold(FoldAdaptor a) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(a.getInput()))
    return dense.reshape(getType());
  // reshape(reshape(x)) only depends on x's bytes: skip the middle one.
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

OpFoldResult TransposeOp::fold(FoldAdaptor a) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm))
    identity &= (int64_t)i == p;
  if (identity)
    return getInput();
  // Transposing a splat only changes the shape.
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(a.getInput()))
    return splat.resizeSplat(getType());
  // Weights are permuted once at compile time (e.g. Gemm's transB operand).
  auto dense = dyn_cast_or_null<DenseElementsAttr>(a.getInput());
  unsigned bits = dense ? dense.getElementType().getIntOrFloatBitWidth() : 0;
  if (!dense || bits % 8 != 0)
    return {};
  size_t eltBytes = bits / 8;
  ArrayRef<char> raw = dense.getRawData();
  auto inShape = getInput().getType().getShape();
  auto outShape = getType().getShape();
  int64_t rank = inShape.size(), total = getType().getNumElements();
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    inStrides[d] = inStrides[d + 1] * inShape[d + 1];
  std::vector<char> out(total * eltBytes);
  SmallVector<int64_t> idx(rank, 0);
  for (int64_t linear = 0; linear < total; ++linear) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += idx[d] * inStrides[perm[d]];
    std::memcpy(out.data() + linear * eltBytes, raw.data() + src * eltBytes, eltBytes);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < outShape[d])
        break;
      idx[d] = 0;
    }
  }
  return DenseElementsAttr::getFromRawBuffer(getType(), out);
}

namespace {

/// transpose(transpose(x, p), q) -> transpose(x, p o q); the identity then
/// folds away.
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rw) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    SmallVector<int64_t> perm;
    for (int64_t q : op.getPerm())
      perm.push_back(inner.getPerm()[q]);
    rw.replaceOpWithNewOp<TransposeOp>(op, inner.getInput(), rw.getDenseI64ArrayAttr(perm));
    return success();
  }
};

/// A transpose that keeps the order of the non-unit dimensions moves no
/// data: it is a reshape (a global pool's [1,1,1,C] -> [1,C,1,1], a
/// sequence-first [1,T,D] -> [T,1,D] at batch 1), which costs no kernel.
struct TransposeOfUnitDimsToReshape : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rw) const override {
    auto shape = op.getInput().getType().getShape();
    int64_t last = -1;
    for (int64_t p : op.getPerm()) {
      if (shape[p] == 1)
        continue;
      if (ShapedType::isDynamic(shape[p]) || p < last)
        return failure();
      last = p;
    }
    rw.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), op.getInput());
    return success();
  }
};

} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<ComposeTransposes, TransposeOfUnitDimsToReshape>(ctx);
}

// Slices of constants (an RNN's per-direction weights, a model slicing its
// own initializers) are taken at compile time; bools and splats too.
OpFoldResult SliceOp::fold(FoldAdaptor a) {
  // A slice of everything is the input.
  if (getInput().getType() == getType() &&
      llvm::all_of(getStarts(), [](int64_t s) { return s == 0; }) &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  auto dense = dyn_cast_or_null<DenseElementsAttr>(a.getInput());
  if (!dense)
    return {};
  if (dense.isSplat())
    return dense.resizeSplat(getType());
  RankedTensorType outType = getType();
  int64_t total = outType.getNumElements();
  if (total > (1 << 24))
    return {};
  ArrayRef<int64_t> inShape = getInput().getType().getShape();
  ArrayRef<int64_t> starts = getStarts(), steps = getSteps();
  ArrayRef<int64_t> outShape = outType.getShape();
  int64_t rank = inShape.size();
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    inStrides[d] = inStrides[d + 1] * inShape[d + 1];
  // The source element of each output element, in row-major order.
  std::vector<int64_t> sources;
  sources.reserve(total);
  SmallVector<int64_t> idx(rank, 0);
  for (int64_t linear = 0; linear < total; ++linear) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += (starts[d] + idx[d] * steps[d]) * inStrides[d];
    sources.push_back(src);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < outShape[d])
        break;
      idx[d] = 0;
    }
  }
  unsigned bits = dense.getElementType().getIntOrFloatBitWidth();
  if (bits % 8 != 0) {
    SmallVector<Attribute> values;
    auto all = dense.getValues<Attribute>();
    for (int64_t src : sources)
      values.push_back(all[src]);
    return DenseElementsAttr::get(outType, values);
  }
  size_t eltBytes = bits / 8;
  ArrayRef<char> raw = dense.getRawData();
  std::vector<char> out(total * eltBytes);
  for (int64_t i = 0; i < total; ++i)
    std::memcpy(out.data() + i * eltBytes, raw.data() + sources[i] * eltBytes, eltBytes);
  return DenseElementsAttr::getFromRawBuffer(outType, out);
}
