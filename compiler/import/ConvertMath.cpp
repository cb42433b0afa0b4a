//===- ConvertMath.cpp - binary and variadic ONNX ops -> weft -------------===//
//
// Arithmetic, logic, comparisons, Where, Mod, bit shifts and bitwise ops,
// the variadic Sum/Mean/Max/Min, PRelu and Clip. Small integer constants
// are folded here so that shape arithmetic in exported graphs (Shape -> Mul
// -> Concat -> Reshape) stays static. Unary math and activations are in
// ConvertUnary.cpp; Cast, quantization, Identity and Dropout in
// ConvertCast.cpp.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/APFloat.h"

#include <functional>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

//===----------------------------------------------------------------------===//
// Import-time folding of small integer constants
//===----------------------------------------------------------------------===//

// Index into a broadcast operand of `shape` for the result position `index`
// of `outShape` (numpy broadcasting: size-1 dimensions repeat).
int64_t broadcastIndex(ArrayRef<int64_t> outShape, ArrayRef<int64_t> shape,
                       int64_t index) {
  int64_t result = 0, stride = 1;
  size_t offset = outShape.size() - shape.size();
  for (int64_t d = (int64_t)outShape.size() - 1; d >= 0; --d) {
    int64_t coord = index % outShape[d];
    index /= outShape[d];
    if (d < (int64_t)offset)
      continue;
    int64_t size = shape[d - offset];
    if (size != 1)
      result += coord * stride;
    stride *= size;
  }
  return result;
}

using IntFn = std::function<std::optional<int64_t>(int64_t, int64_t)>;

// Folds an elementwise op on two small integer constants; null when the
// operands are not such constants or `fn` declines (division by zero).
DenseElementsAttr foldIntBinary(Value lhs, Value rhs, const IntFn &fn) {
  auto a = ImportContext::getConstantValue(lhs);
  auto b = ImportContext::getConstantValue(rhs);
  if (!a || !b)
    return {};
  Type elt = a.getElementType();
  if (!elt.isSignlessInteger() || elt.isInteger(1) || elt != b.getElementType())
    return {};
  auto shape = broadcastShapes(a.getType().getShape(), b.getType().getShape());
  if (failed(shape))
    return {};
  auto type = RankedTensorType::get(*shape, elt);
  if (type.getNumElements() > ImportContext::kFoldLimit ||
      a.getNumElements() > ImportContext::kFoldLimit ||
      b.getNumElements() > ImportContext::kFoldLimit)
    return {};
  SmallVector<int64_t> av = ImportContext::toInts(a),
                       bv = ImportContext::toInts(b);
  SmallVector<APInt> out;
  unsigned width = elt.getIntOrFloatBitWidth();
  for (int64_t i = 0, e = type.getNumElements(); i < e; ++i) {
    auto r = fn(av[broadcastIndex(*shape, a.getType().getShape(), i)],
                bv[broadcastIndex(*shape, b.getType().getShape(), i)]);
    if (!r)
      return {};
    out.push_back(APInt(width, (uint64_t)*r, /*isSigned=*/false,
                        /*implicitTrunc=*/true));
  }
  return DenseElementsAttr::get(type, out);
}

// The integer semantics of the foldable binary ops, by ONNX op type.
IntFn intFnFor(StringRef opType) {
  if (opType == "Add")
    return [](int64_t x, int64_t y) -> std::optional<int64_t> {
      return (int64_t)((uint64_t)x + (uint64_t)y); // wraps like the hardware
    };
  if (opType == "Sub")
    return [](int64_t x, int64_t y) -> std::optional<int64_t> {
      return (int64_t)((uint64_t)x - (uint64_t)y);
    };
  if (opType == "Mul")
    return [](int64_t x, int64_t y) -> std::optional<int64_t> {
      return (int64_t)((uint64_t)x * (uint64_t)y);
    };
  if (opType == "Div")
    return [](int64_t x, int64_t y) -> std::optional<int64_t> {
      if (y == 0 || (x == INT64_MIN && y == -1))
        return std::nullopt;
      return x / y; // C++ truncation, as onnxruntime does for integers.
    };
  if (opType == "Max")
    return [](int64_t x, int64_t y) -> std::optional<int64_t> {
      return std::max(x, y);
    };
  if (opType == "Min")
    return [](int64_t x, int64_t y) -> std::optional<int64_t> {
      return std::min(x, y);
    };
  return {};
}

//===----------------------------------------------------------------------===//
// Binary and variadic ops
//===----------------------------------------------------------------------===//

template <typename OpTy>
FailureOr<Value> binary(ImportContext &ctx, Value lhs, Value rhs) {
  // ONNX's type constraints, as onnxruntime enforces them: logic ops take
  // bools only, arithmetic never takes bools.
  bool isBool = ImportContext::typeOf(lhs).getElementType().isInteger(1) ||
                ImportContext::typeOf(rhs).getElementType().isInteger(1);
  bool logic = std::is_same_v<OpTy, AndOp> || std::is_same_v<OpTy, OrOp> ||
               std::is_same_v<OpTy, XorOp>;
  if (logic && !(ImportContext::typeOf(lhs).getElementType().isInteger(1) &&
                 ImportContext::typeOf(rhs).getElementType().isInteger(1)))
    return ctx.fail("needs bool tensors");
  if (!logic && isBool)
    return ctx.fail("does not accept bool tensors");
  if (IntFn fn = intFnFor(ctx.getOpType()))
    if (auto folded = foldIntBinary(lhs, rhs, fn))
      return ctx.constant(folded);
  return ctx.createInferred<OpTy>(lhs, rhs);
}

template <typename OpTy>
LogicalResult convertBinary(ImportContext &ctx, const Node &node, int64_t) {
  auto lhs = ctx.input(node, 0);
  if (failed(lhs))
    return failure();
  auto rhs = ctx.input(node, 1);
  if (failed(rhs))
    return failure();
  auto result = binary<OpTy>(ctx, *lhs, *rhs);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

// Pow's exponent may have another type than its base (the result has the
// base's). A float base takes the exponent converted to its type; an
// integer base is raised in f64 and truncated back, as onnxruntime
// computes integer powers (exact while the result fits in 53 bits).
LogicalResult convertPow(ImportContext &ctx, const Node &node, int64_t) {
  auto base = ctx.input(node, 0);
  auto exponent = ctx.input(node, 1);
  if (failed(base) || failed(exponent))
    return failure();
  Type bt = ImportContext::typeOf(*base).getElementType();
  Type et = ImportContext::typeOf(*exponent).getElementType();
  if (bt.isInteger(1) || et.isInteger(1))
    return ctx.fail("does not accept bool tensors");
  auto castTo = [&](Value v, Type elt) -> Value {
    auto t = ImportContext::typeOf(v);
    if (t.getElementType() == elt)
      return v;
    return ctx.create<CastOp>(RankedTensorType::get(t.getShape(), elt), v);
  };
  if (isa<FloatType>(bt)) {
    auto r = binary<PowOp>(ctx, *base, castTo(*exponent, bt));
    if (failed(r))
      return failure();
    ctx.setOutput(node, 0, *r);
    return success();
  }
  Type f64 = Float64Type::get(ctx.getContext());
  auto r = binary<PowOp>(ctx, castTo(*base, f64), castTo(*exponent, f64));
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, castTo(*r, bt));
  return success();
}

// Sum, Mean, Max, Min take one or more inputs: a left-to-right chain of
// broadcasting binary ops (Mean then divides by the input count).
template <typename OpTy, bool IsMean = false>
LogicalResult convertVariadic(ImportContext &ctx, const Node &node, int64_t) {
  if (node.input_size() == 0)
    return ctx.fail("needs at least one input");
  auto acc = ctx.input(node, 0);
  if (failed(acc))
    return failure();
  Value result = *acc;
  for (int i = 1; i < node.input_size(); ++i) {
    auto next = ctx.input(node, i);
    if (failed(next))
      return failure();
    auto combined = binary<OpTy>(ctx, result, *next);
    if (failed(combined))
      return failure();
    result = *combined;
  }
  if (IsMean && node.input_size() > 1) {
    Type elt = ImportContext::typeOf(result).getElementType();
    if (!isa<FloatType>(elt))
      return ctx.fail("Mean needs floating-point inputs");
    Value count = ctx.splat(RankedTensorType::get({}, elt), node.input_size());
    auto divided = ctx.createInferred<DivOp>(result, count);
    if (failed(divided))
      return failure();
    result = *divided;
  }
  ctx.setOutput(node, 0, result);
  return success();
}

// PRelu's slope broadcasts to X numpy-style. Models exported for opset < 7
// give a per-channel slope [C] for X [N, C, ...], which the version
// converter leaves as is; it is reshaped to [C, 1, ..., 1] when plain
// broadcasting would not apply.
LogicalResult convertPRelu(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto slope = ctx.input(node, 1);
  if (failed(slope))
    return failure();
  auto xt = ImportContext::typeOf(*x), st = ImportContext::typeOf(*slope);
  Value s = *slope;
  if (failed(broadcastShapes(xt.getShape(), st.getShape())) &&
      st.getRank() == 1 && xt.getRank() >= 2 &&
      st.getShape()[0] == xt.getShape()[1]) {
    SmallVector<int64_t> shape(xt.getRank() - 1, 1);
    shape[0] = st.getShape()[0];
    auto r = ctx.reshape(s, shape);
    if (failed(r))
      return failure();
    s = *r;
  }
  auto result = ctx.createInferred<PReluOp>(*x, s);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

template <CompareKind Kind>
LogicalResult convertCompare(ImportContext &ctx, const Node &node, int64_t) {
  auto lhs = ctx.input(node, 0);
  if (failed(lhs))
    return failure();
  auto rhs = ctx.input(node, 1);
  if (failed(rhs))
    return failure();
  // Comparisons of small signed-integer constants (shape arithmetic, an
  // If's condition on a rank) fold, so what they decide is known.
  auto a = ImportContext::getConstantValue(*lhs), b = ImportContext::getConstantValue(*rhs);
  if (a && b) {
    auto holds = [](int64_t x, int64_t y) -> std::optional<int64_t> {
      switch (Kind) {
      case CompareKind::eq: return x == y;
      case CompareKind::lt: return x < y;
      case CompareKind::le: return x <= y;
      case CompareKind::gt: return x > y;
      case CompareKind::ge: return x >= y;
      }
      return std::nullopt;
    };
    if (auto folded = foldIntBinary(*lhs, *rhs, holds)) {
      auto boolType = RankedTensorType::get(folded.getType().getShape(),
                                            IntegerType::get(ctx.getContext(), 1));
      SmallVector<bool> bits;
      for (const APInt &v : folded.template getValues<APInt>())
        bits.push_back(!v.isZero());
      ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(boolType, bits)));
      return success();
    }
  }
  auto result = ctx.createInferred<CompareOp>(Kind, *lhs, *rhs);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

LogicalResult convertWhere(ImportContext &ctx, const Node &node, int64_t) {
  auto cond = ctx.input(node, 0);
  if (failed(cond))
    return failure();
  auto lhs = ctx.input(node, 1);
  if (failed(lhs))
    return failure();
  auto rhs = ctx.input(node, 2);
  if (failed(rhs))
    return failure();
  auto result = ctx.createInferred<WhereOp>(*cond, *lhs, *rhs);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

// Mod: fmod=0 takes the divisor's sign and is defined for integers only
// (onnxruntime refuses it on floats); fmod=1 takes the dividend's sign.
LogicalResult convertMod(ImportContext &ctx, const Node &node, int64_t) {
  auto lhs = ctx.input(node, 0);
  if (failed(lhs))
    return failure();
  auto rhs = ctx.input(node, 1);
  if (failed(rhs))
    return failure();
  int64_t fmod = ctx.getInt(node, "fmod", 0);
  if (fmod != 0 && fmod != 1)
    return ctx.fail("fmod must be 0 or 1, got " + std::to_string(fmod));
  Type elt = ImportContext::typeOf(*lhs).getElementType();
  if (isa<FloatType>(elt) && fmod == 0)
    return ctx.fail("floating-point inputs need fmod=1");
  auto result = fmod ? binary<FModOp>(ctx, *lhs, *rhs) : binary<ModOp>(ctx, *lhs, *rhs);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

LogicalResult convertBitShift(ImportContext &ctx, const Node &node, int64_t) {
  auto lhs = ctx.input(node, 0);
  if (failed(lhs))
    return failure();
  auto rhs = ctx.input(node, 1);
  if (failed(rhs))
    return failure();
  if (!ImportContext::typeOf(*lhs).getElementType().isUnsignedInteger())
    return ctx.fail("needs unsigned integer tensors");
  std::string direction = ctx.getString(node, "direction", "");
  FailureOr<Value> result = failure();
  if (direction == "LEFT")
    result = binary<ShlOp>(ctx, *lhs, *rhs);
  else if (direction == "RIGHT")
    result = binary<ShrOp>(ctx, *lhs, *rhs);
  else
    return ctx.fail("direction must be \"LEFT\" or \"RIGHT\"");
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

// BitwiseAnd/Or/Xor share the logic ops (arith's and/or/xor on any integer);
// BitwiseNot is xor with all ones.
template <typename OpTy>
LogicalResult convertBitwise(ImportContext &ctx, const Node &node, int64_t) {
  auto lhs = ctx.input(node, 0);
  if (failed(lhs))
    return failure();
  auto rhs = ctx.input(node, 1);
  if (failed(rhs))
    return failure();
  Type elt = ImportContext::typeOf(*lhs).getElementType();
  if (!elt.isInteger() || elt.isInteger(1))
    return ctx.fail("needs integer tensors");
  auto r = ctx.createInferred<OpTy>(*lhs, *rhs);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

LogicalResult convertBitwiseNot(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  Type elt = ImportContext::typeOf(*x).getElementType();
  if (!elt.isInteger() || elt.isInteger(1))
    return ctx.fail("needs an integer tensor");
  auto ones = ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get({}, elt),
      IntegerAttr::get(elt, APInt::getAllOnes(elt.getIntOrFloatBitWidth()))));
  auto r = ctx.createInferred<XorOp>(*x, ones);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Clip
//===----------------------------------------------------------------------===//

// The lowest and highest finite values of `elt`, typed like it: exact for
// every integer width and signedness (a double cannot hold INT64_MAX).
std::pair<TypedAttr, TypedAttr> typeRange(Type elt) {
  if (auto ft = dyn_cast<FloatType>(elt)) {
    const llvm::fltSemantics &sem = ft.getFloatSemantics();
    return {FloatAttr::get(ft, APFloat::getLargest(sem, /*Negative=*/true)),
            FloatAttr::get(ft, APFloat::getLargest(sem, /*Negative=*/false))};
  }
  unsigned width = elt.getIntOrFloatBitWidth();
  if (width == 1 || elt.isUnsignedInteger())
    return {IntegerAttr::get(elt, APInt::getMinValue(width)),
            IntegerAttr::get(elt, APInt::getMaxValue(width))};
  return {IntegerAttr::get(elt, APInt::getSignedMinValue(width)),
          IntegerAttr::get(elt, APInt::getSignedMaxValue(width))};
}

bool greaterThan(TypedAttr a, TypedAttr b) {
  if (auto fa = dyn_cast<FloatAttr>(a))
    return fa.getValue() > cast<FloatAttr>(b).getValue();
  const APInt &x = cast<IntegerAttr>(a).getValue(), &y = cast<IntegerAttr>(b).getValue();
  return a.getType().isUnsignedInteger() ? x.ugt(y) : x.sgt(y);
}

LogicalResult convertClip(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  Type elt = ImportContext::typeOf(*x).getElementType();
  if (elt.isInteger(1))
    return ctx.fail("does not accept bool tensors");
  auto [lo, hi] = typeRange(elt);
  if (opset < 11) {
    if (!isa<FloatType>(elt))
      return ctx.fail("before opset 11 needs a floating-point input");
    auto bound = [&](StringRef name, TypedAttr dflt) -> TypedAttr {
      if (!ImportContext::hasAttr(node, name))
        return dflt;
      APFloat v((double)ctx.getFloat(node, name, 0.0f));
      bool lost;
      v.convert(cast<FloatType>(elt).getFloatSemantics(), APFloat::rmNearestTiesToEven,
                &lost);
      return FloatAttr::get(elt, v);
    };
    lo = bound("min", lo);
    hi = bound("max", hi);
  } else {
    // Bounds computed at run time: min(max(x, lo), hi) with broadcasting,
    // which gives hi wherever lo > hi, as ONNX specifies.
    bool runtime = false;
    for (int i : {1, 2})
      if (ImportContext::hasInput(node, i)) {
        auto b = ctx.input(node, i);
        if (failed(b))
          return failure();
        runtime |= !ImportContext::getConstantValue(*b);
      }
    if (runtime) {
      Value y = *x;
      for (int i : {1, 2}) {
        if (!ImportContext::hasInput(node, i)) {
          // An absent bound is the type's finite extreme (so -inf clips to
          // the lowest float, as onnxruntime does).
          Value bound = ctx.constant(
              DenseElementsAttr::get(RankedTensorType::get({}, elt), i == 1 ? lo : hi));
          auto r = i == 1 ? binary<MaxOp>(ctx, y, bound) : binary<MinOp>(ctx, y, bound);
          if (failed(r))
            return failure();
          y = *r;
          continue;
        }
        auto b = ctx.input(node, i);
        if (failed(b))
          return failure();
        auto bt = ImportContext::typeOf(*b);
        if (bt.getNumElements() != 1 || bt.getElementType() != elt)
          return ctx.fail(Twine(i == 1 ? "min" : "max") +
                          " must be a single element of the input's type");
        auto r = i == 1 ? binary<MaxOp>(ctx, y, *b) : binary<MinOp>(ctx, y, *b);
        if (failed(r))
          return failure();
        y = *r;
      }
      if (ImportContext::typeOf(y) != ImportContext::typeOf(*x)) {
        auto r = ctx.reshape(y, ImportContext::typeOf(*x).getShape());
        if (failed(r))
          return failure();
        y = *r;
      }
      ctx.setOutput(node, 0, y);
      return success();
    }
    if (ImportContext::hasInput(node, 1)) {
      auto v = ctx.constantElement(node, 1, "min", elt);
      if (failed(v))
        return failure();
      lo = *v;
    }
    if (ImportContext::hasInput(node, 2)) {
      auto v = ctx.constantElement(node, 2, "max", elt);
      if (failed(v))
        return failure();
      hi = *v;
    }
  }
  // ONNX: when min > max every element becomes max.
  if (greaterThan(lo, hi))
    lo = hi;
  ctx.setOutput(node, 0, ctx.create<ClipOp>(*x, lo, hi));
  return success();
}

} // namespace

void weft::registerMathConverters(ConverterTable &t) {
  t["Add"] = convertBinary<AddOp>;
  t["Sub"] = convertBinary<SubOp>;
  t["Mul"] = convertBinary<MulOp>;
  t["Div"] = convertBinary<DivOp>;
  t["Pow"] = convertPow;
  t["PRelu"] = convertPRelu;
  t["And"] = convertBinary<AndOp>;
  t["Or"] = convertBinary<OrOp>;
  t["Xor"] = convertBinary<XorOp>;
  t["Max"] = convertVariadic<MaxOp>;
  t["Min"] = convertVariadic<MinOp>;
  t["Sum"] = convertVariadic<AddOp>;
  t["Mean"] = convertVariadic<AddOp, true>;
  t["Equal"] = convertCompare<CompareKind::eq>;
  t["Less"] = convertCompare<CompareKind::lt>;
  t["LessOrEqual"] = convertCompare<CompareKind::le>;
  t["Greater"] = convertCompare<CompareKind::gt>;
  t["GreaterOrEqual"] = convertCompare<CompareKind::ge>;
  t["Where"] = convertWhere;
  t["Mod"] = convertMod;
  t["BitShift"] = convertBitShift;
  t["BitwiseAnd"] = convertBitwise<AndOp>;
  t["BitwiseOr"] = convertBitwise<OrOp>;
  t["BitwiseXor"] = convertBitwise<XorOp>;
  t["BitwiseNot"] = convertBitwiseNot;
  t["Clip"] = convertClip;
}
