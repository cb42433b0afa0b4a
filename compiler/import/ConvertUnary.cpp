//===- ConvertUnary.cpp - unary math and activation ONNX ops -> weft ------===//
//
// Elementwise unary math (Relu, Exp, Sqrt, the trigonometric family, ...),
// Not, IsNaN and IsInf, the parameterised activations (weft.activation)
// and Gelu and Mish composed from elementwise ops. Neg, Abs, rounding and
// Relu of small constants are folded here, so shape arithmetic and trip
// counts computed from constants stay static.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

// Neg and Abs of small integer constants fold (shape arithmetic).
DenseElementsAttr foldIntUnary(StringRef opType, Value x) {
  auto a = ImportContext::getConstantValue(x);
  if (!a || !a.getElementType().isSignlessInteger() ||
      a.getElementType().isInteger(1) ||
      a.getNumElements() > ImportContext::kFoldLimit)
    return {};
  if (opType != "Neg" && opType != "Abs")
    return {};
  unsigned width = a.getElementType().getIntOrFloatBitWidth();
  SmallVector<APInt> out;
  for (int64_t v : ImportContext::toInts(a))
    out.push_back(APInt(width,
                        opType == "Neg" || v < 0 ? -(uint64_t)v : (uint64_t)v,
                        /*isSigned=*/false, /*implicitTrunc=*/true));
  return DenseElementsAttr::get(a.getType(), out);
}

// Rounding, Relu, Neg and Abs of small float constants fold too: a count
// computed from pinned inputs (Range's expansion: ceil((limit - start) /
// delta), clamped by Relu) decides a Loop's trip count.
DenseElementsAttr foldFloatUnary(StringRef opType, Value x) {
  auto a = ImportContext::getConstantValue(x);
  if (!a || !isa<FloatType>(a.getElementType()) ||
      a.getNumElements() > ImportContext::kFoldLimit)
    return {};
  std::optional<APFloat::roundingMode> mode;
  if (opType == "Floor")
    mode = APFloat::rmTowardNegative;
  else if (opType == "Ceil")
    mode = APFloat::rmTowardPositive;
  else if (opType == "Round")
    mode = APFloat::rmNearestTiesToEven;
  else if (opType != "Relu" && opType != "Neg" && opType != "Abs")
    return {};
  SmallVector<APFloat> out;
  for (APFloat v : a.getValues<APFloat>()) {
    if (mode)
      v.roundToIntegral(*mode);
    else if (opType == "Neg")
      v.changeSign();
    else if (opType == "Abs")
      v.clearSign();
    else if (v.isNegative() && !v.isNaN())
      v = APFloat::getZero(v.getSemantics());
    out.push_back(v);
  }
  return DenseElementsAttr::get(a.getType(), out);
}

template <typename OpTy>
LogicalResult convertUnary(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  DenseElementsAttr folded = foldIntUnary(ctx.getOpType(), *x);
  if (!folded)
    folded = foldFloatUnary(ctx.getOpType(), *x);
  if (folded) {
    ctx.setOutput(node, 0, ctx.constant(folded));
    return success();
  }
  ctx.setOutput(node, 0, ctx.create<OpTy>(*x));
  return success();
}

LogicalResult convertNot(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (!ImportContext::typeOf(*x).getElementType().isInteger(1))
    return ctx.fail("Not needs a bool input");
  // Conditions computed from shapes (If(Not(Equal(rank, 2)))) fold.
  if (auto a = ImportContext::getConstantValue(*x);
      a && a.getNumElements() <= ImportContext::kFoldLimit) {
    SmallVector<bool> flipped;
    for (bool v : a.getValues<bool>())
      flipped.push_back(!v);
    ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(a.getType(), flipped)));
    return success();
  }
  ctx.setOutput(node, 0, ctx.create<NotOp>(*x));
  return success();
}

// IsNaN(x) = !(x == x); IsInf(x) compares x (or |x|) with +-infinity.
LogicalResult convertIsNaN(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (!isa<FloatType>(ImportContext::typeOf(*x).getElementType()))
    return ctx.fail("needs a floating-point input");
  auto same = ctx.createInferred<CompareOp>(CompareKind::eq, *x, *x);
  if (failed(same))
    return failure();
  ctx.setOutput(node, 0, ctx.create<NotOp>(*same));
  return success();
}

LogicalResult convertIsInf(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (!isa<FloatType>(type.getElementType()))
    return ctx.fail("needs a floating-point input");
  bool negative = ctx.getInt(node, "detect_negative", 1) != 0;
  bool positive = ctx.getInt(node, "detect_positive", 1) != 0;
  auto scalar = RankedTensorType::get({}, type.getElementType());
  double inf = std::numeric_limits<double>::infinity();
  FailureOr<Value> result = failure();
  if (negative && positive)
    result = ctx.createInferred<CompareOp>(CompareKind::eq, ctx.create<AbsOp>(*x),
                                           ctx.splat(scalar, inf));
  else if (positive || negative)
    result = ctx.createInferred<CompareOp>(CompareKind::eq, *x,
                                           ctx.splat(scalar, positive ? inf : -inf));
  else // Neither: all false (x < x never holds, NaN included).
    result = ctx.createInferred<CompareOp>(CompareKind::lt, *x, *x);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

LogicalResult activation(ImportContext &ctx, const Node &node,
                         ActivationKind kind, float alpha, float beta) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (!isa<FloatType>(ImportContext::typeOf(*x).getElementType()))
    return ctx.fail("needs a floating-point input");
  OpBuilder &b = ctx.getBuilder();
  ctx.setOutput(node, 0,
                ctx.create<ActivationOp>(*x,
                                         ActivationKindAttr::get(
                                             ctx.getContext(), kind),
                                         b.getF32FloatAttr(alpha),
                                         b.getF32FloatAttr(beta)));
  return success();
}

// ONNX's published defaults, spelled out once.
constexpr float kSeluAlpha = 1.67326319217681884765625f;
constexpr float kSeluGamma = 1.05070102214813232421875f;

void registerActivations(ConverterTable &t) {
  t["LeakyRelu"] = [](ImportContext &c, const Node &n, int64_t) {
    return activation(c, n, ActivationKind::leaky_relu,
                      c.getFloat(n, "alpha", 0.01f), 0.0f);
  };
  t["Elu"] = [](ImportContext &c, const Node &n, int64_t) {
    return activation(c, n, ActivationKind::elu, c.getFloat(n, "alpha", 1.0f),
                      0.0f);
  };
  t["Selu"] = [](ImportContext &c, const Node &n, int64_t) {
    return activation(c, n, ActivationKind::selu,
                      c.getFloat(n, "alpha", kSeluAlpha),
                      c.getFloat(n, "gamma", kSeluGamma));
  };
  t["HardSigmoid"] = [](ImportContext &c, const Node &n, int64_t) {
    return activation(c, n, ActivationKind::hard_sigmoid,
                      c.getFloat(n, "alpha", 0.2f), c.getFloat(n, "beta", 0.5f));
  };
  t["Celu"] = [](ImportContext &c, const Node &n, int64_t) {
    return activation(c, n, ActivationKind::celu, c.getFloat(n, "alpha", 1.0f),
                      0.0f);
  };
  t["ThresholdedRelu"] = [](ImportContext &c, const Node &n, int64_t) {
    return activation(c, n, ActivationKind::thresholded_relu,
                      c.getFloat(n, "alpha", 1.0f), 0.0f);
  };
  // HardSwish has no attributes; ONNX defines it as x * HardSigmoid(x) with
  // alpha = 1/6 and beta = 0.5, which we record so the op is self-describing.
  t["HardSwish"] = [](ImportContext &c, const Node &n, int64_t) {
    return activation(c, n, ActivationKind::hard_swish, 1.0f / 6.0f, 0.5f);
  };
  t["Shrink"] = [](ImportContext &c, const Node &n, int64_t) {
    return activation(c, n, ActivationKind::shrink, c.getFloat(n, "bias", 0.0f),
                      c.getFloat(n, "lambd", 0.5f));
  };
}

// Gelu (opset 20) and Mish (opset 18) have no weft op; they are composed
// from the elementwise ops, exactly as the ONNX function bodies define them.
LogicalResult convertGelu(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (!isa<FloatType>(type.getElementType()))
    return ctx.fail("needs a floating-point input");
  std::string approximate = ctx.getString(node, "approximate", "none");
  auto scalar = [&](double v) {
    return ctx.splat(RankedTensorType::get({}, type.getElementType()), v);
  };
  FailureOr<Value> inner;
  if (approximate == "none") {
    // 0.5 * x * (1 + erf(x / sqrt(2)))
    auto scaled = ctx.createInferred<MulOp>(*x, scalar(M_SQRT1_2));
    if (failed(scaled))
      return failure();
    inner = ctx.create<ErfOp>(*scaled);
  } else if (approximate == "tanh") {
    // 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
    auto sq = ctx.createInferred<MulOp>(*x, *x);
    if (failed(sq))
      return failure();
    auto cube = ctx.createInferred<MulOp>(*sq, *x);
    if (failed(cube))
      return failure();
    auto term = ctx.createInferred<MulOp>(*cube, scalar(0.044715));
    if (failed(term))
      return failure();
    auto sum = ctx.createInferred<AddOp>(*x, *term);
    if (failed(sum))
      return failure();
    auto arg = ctx.createInferred<MulOp>(*sum, scalar(std::sqrt(2.0 / M_PI)));
    if (failed(arg))
      return failure();
    inner = ctx.create<TanhOp>(*arg);
  } else {
    return ctx.fail("unknown approximate '" + approximate + "'");
  }
  auto onePlus = ctx.createInferred<AddOp>(*inner, scalar(1.0));
  if (failed(onePlus))
    return failure();
  auto half = ctx.createInferred<MulOp>(*x, scalar(0.5));
  if (failed(half))
    return failure();
  auto y = ctx.createInferred<MulOp>(*half, *onePlus);
  if (failed(y))
    return failure();
  ctx.setOutput(node, 0, *y);
  return success();
}

// Mish(x) = x * tanh(softplus(x)).
LogicalResult convertMish(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (!isa<FloatType>(ImportContext::typeOf(*x).getElementType()))
    return ctx.fail("needs a floating-point input");
  Value t = ctx.create<TanhOp>(ctx.create<SoftplusOp>(*x));
  auto y = ctx.createInferred<MulOp>(*x, t);
  if (failed(y))
    return failure();
  ctx.setOutput(node, 0, *y);
  return success();
}

} // namespace

void weft::registerUnaryConverters(ConverterTable &t) {
  t["Not"] = convertNot;

  t["Relu"] = convertUnary<ReluOp>;
  t["Sigmoid"] = convertUnary<SigmoidOp>;
  t["Tanh"] = convertUnary<TanhOp>;
  t["Exp"] = convertUnary<ExpOp>;
  t["Log"] = convertUnary<LogOp>;
  t["Sqrt"] = convertUnary<SqrtOp>;
  t["Neg"] = convertUnary<NegOp>;
  t["Abs"] = convertUnary<AbsOp>;
  t["Reciprocal"] = convertUnary<ReciprocalOp>;
  t["Floor"] = convertUnary<FloorOp>;
  t["Ceil"] = convertUnary<CeilOp>;
  t["Round"] = convertUnary<RoundOp>;
  t["Sin"] = convertUnary<SinOp>;
  t["Cos"] = convertUnary<CosOp>;
  t["Tan"] = convertUnary<TanOp>;
  t["Atan"] = convertUnary<AtanOp>;
  t["Asin"] = convertUnary<AsinOp>;
  t["Acos"] = convertUnary<AcosOp>;
  t["Asinh"] = convertUnary<AsinhOp>;
  t["Acosh"] = convertUnary<AcoshOp>;
  t["Atanh"] = convertUnary<AtanhOp>;
  t["IsNaN"] = convertIsNaN;
  t["IsInf"] = convertIsInf;
  t["Sinh"] = convertUnary<SinhOp>;
  t["Cosh"] = convertUnary<CoshOp>;
  t["Erf"] = convertUnary<ErfOp>;
  t["Sign"] = convertUnary<SignOp>;
  t["Softplus"] = convertUnary<SoftplusOp>;
  t["Softsign"] = convertUnary<SoftsignOp>;
  registerActivations(t);
  t["Gelu"] = convertGelu;
  t["Mish"] = convertMish;
}
