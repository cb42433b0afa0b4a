//===- ConvertMath.cpp - elementwise ONNX ops -> weft ---------------------===//
//
// Arithmetic, logic, comparisons, unary math, parameterised activations,
// Clip, Cast, and the value-forwarding ops (Identity, Dropout). Small integer
// constants are folded here so that shape arithmetic in exported graphs
// (Shape -> Mul -> Concat -> Reshape) stays static.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APSInt.h"

#include <cfloat>
#include <cmath>
#include <functional>
#include <limits>

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
// Quantization
//===----------------------------------------------------------------------===//

Value castValue(ImportContext &ctx, Value v, Type elt) {
  auto type = ImportContext::typeOf(v);
  if (type.getElementType() == elt)
    return v;
  return ctx.create<CastOp>(RankedTensorType::get(type.getShape(), elt), v);
}

/// A scale or zero point laid out to broadcast against `x`: a scalar (or
/// one element) as is, a 1-D tensor along `axis`, or (block_size > 0) a
/// tensor of x's rank whose `axis` holds one entry per block, repeated.
FailureOr<Value> quantParam(ImportContext &ctx, Value param, RankedTensorType x,
                            int64_t rawAxis, int64_t blockSize, StringRef what) {
  auto pt = ImportContext::typeOf(param);
  if (pt.getNumElements() == 1 && blockSize == 0)
    return ctx.reshape(param, {});
  int64_t rank = x.getRank();
  auto normalized = ctx.normalizeAxis(rawAxis, rank);
  if (failed(normalized))
    return failure();
  int64_t axis = *normalized;
  if (blockSize > 0) {
    int64_t dim = x.getShape()[axis];
    if (pt.getRank() != rank || pt.getShape()[axis] != (dim + blockSize - 1) / blockSize)
      return ctx.fail(what + " must have the input's rank with ceil(dim / block_size) along the "
                             "axis");
    SmallVector<int64_t> index;
    for (int64_t i = 0; i < dim; ++i)
      index.push_back(i / blockSize);
    Value indices = ctx.constant(DenseElementsAttr::get(
        RankedTensorType::get({dim}, ctx.getBuilder().getI64Type()), ArrayRef<int64_t>(index)));
    return ctx.createInferred<GatherOp>(param, indices, axis);
  }
  if (pt.getRank() != 1 || pt.getShape()[0] != x.getShape()[axis])
    return ctx.fail(what + " must be a scalar or a 1-D tensor of the axis' size (" +
                    Twine(x.getShape()[axis]) + ")");
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = x.getShape()[axis];
  return ctx.reshape(param, shape);
}

// DequantizeLinear: (x - zero_point) * scale, in the scale's type.
LogicalResult convertDequantize(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  auto scale = ctx.input(node, 1);
  if (failed(x) || failed(scale))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  Type elt = ImportContext::typeOf(*scale).getElementType();
  if (!isa<FloatType>(elt) || !xt.getElementType().isInteger() ||
      xt.getElementType().isInteger(1))
    return ctx.fail("expects an integer input and a floating-point scale");
  int64_t axis = ctx.getInt(node, "axis", 1);
  int64_t block = ctx.getInt(node, "block_size", 0);
  if (block < 0)
    return ctx.fail("block_size must be >= 0");
  auto s = quantParam(ctx, *scale, xt, axis, block, "scale");
  if (failed(s))
    return failure();
  Value v = castValue(ctx, *x, elt);
  if (ImportContext::hasInput(node, 2)) {
    auto zp = ctx.input(node, 2);
    if (failed(zp))
      return failure();
    if (ImportContext::typeOf(*zp).getElementType() != xt.getElementType())
      return ctx.fail("the zero point must have the input's type");
    auto z = quantParam(ctx, *zp, xt, axis, block, "zero_point");
    if (failed(z))
      return failure();
    auto centered = ctx.createInferred<SubOp>(v, castValue(ctx, *z, elt));
    if (failed(centered))
      return failure();
    v = *centered;
  }
  auto y = ctx.createInferred<MulOp>(v, *s);
  if (failed(y))
    return failure();
  ctx.setOutput(node, 0, *y);
  return success();
}

// QuantizeLinear: saturate(round_half_even(x / scale) + zero_point) to the
// zero point's integer type (uint8 without one, or output_dtype).
LogicalResult convertQuantize(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  auto scale = ctx.input(node, 1);
  if (failed(x) || failed(scale))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  if (!isa<FloatType>(xt.getElementType()))
    return ctx.fail("needs a floating-point input");
  Type target = IntegerType::get(ctx.getContext(), 8, IntegerType::Unsigned);
  Value zp;
  if (ImportContext::hasInput(node, 2)) {
    auto z = ctx.input(node, 2);
    if (failed(z))
      return failure();
    zp = *z;
    target = ImportContext::typeOf(zp).getElementType();
  } else if (ImportContext::hasAttr(node, "output_dtype")) {
    target = convertElementType(ctx.getContext(), (int32_t)ctx.getInt(node, "output_dtype", 2));
  }
  if (!target || !target.isInteger() || target.isInteger(1) || target.getIntOrFloatBitWidth() > 32)
    return ctx.fail("quantizes to 8-, 16- or 32-bit integers only");
  int64_t axis = ctx.getInt(node, "axis", 1);
  int64_t block = ctx.getInt(node, "block_size", 0);
  if (block < 0)
    return ctx.fail("block_size must be >= 0");
  // Computed in f32 (f64 for f64 input): x / scale, rounded, plus the zero
  // point, clamped to the target's range, converted.
  Type work = xt.getElementType().isF64() ? xt.getElementType()
                                          : (Type)Float32Type::get(ctx.getContext());
  auto s = quantParam(ctx, *scale, xt, axis, block, "scale");
  if (failed(s))
    return failure();
  auto q = ctx.createInferred<DivOp>(castValue(ctx, *x, work), castValue(ctx, *s, work));
  if (failed(q))
    return failure();
  Value v = ctx.create<RoundOp>(*q);
  if (zp) {
    auto z = quantParam(ctx, zp, xt, axis, block, "zero_point");
    if (failed(z))
      return failure();
    auto shifted = ctx.createInferred<AddOp>(v, castValue(ctx, *z, work));
    if (failed(shifted))
      return failure();
    v = *shifted;
  }
  unsigned width = target.getIntOrFloatBitWidth();
  bool isUnsigned = target.isUnsignedInteger();
  double lo = isUnsigned ? 0.0 : -std::ldexp(1.0, width - 1);
  double hi = isUnsigned ? std::ldexp(1.0, width) - 1 : std::ldexp(1.0, width - 1) - 1;
  auto clamped = ctx.create<ClipOp>(v, cast<TypedAttr>(FloatAttr::get(work, lo)),
                                    cast<TypedAttr>(FloatAttr::get(work, hi)));
  ctx.setOutput(node, 0, castValue(ctx, clamped, target));
  return success();
}

// DynamicQuantizeLinear: uint8 with scale = (max(0, max x) - min(0, min x))
// / 255 and zero point saturate(round(-min / scale)), as ONNX's function.
LogicalResult convertDynamicQuantize(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  if (!xt.getElementType().isF32())
    return ctx.fail("needs an f32 input");
  auto scalarF = RankedTensorType::get({}, xt.getElementType());
  auto reduce = [&](ReduceKind kind) {
    return ctx.createInferred<ReduceOp>(kind, *x, ArrayRef<int64_t>{}, false);
  };
  auto mx = reduce(ReduceKind::max), mn = reduce(ReduceKind::min);
  if (failed(mx) || failed(mn))
    return failure();
  Value zero = ctx.splat(scalarF, 0.0);
  auto hi = ctx.createInferred<MaxOp>(*mx, zero), lo = ctx.createInferred<MinOp>(*mn, zero);
  if (failed(hi) || failed(lo))
    return failure();
  auto range = ctx.createInferred<SubOp>(*hi, *lo);
  if (failed(range))
    return failure();
  auto scale = ctx.createInferred<DivOp>(*range, ctx.splat(scalarF, 255.0));
  if (failed(scale))
    return failure();
  auto negLo = ctx.createInferred<SubOp>(zero, *lo);
  if (failed(negLo))
    return failure();
  auto zpReal = ctx.createInferred<DivOp>(*negLo, *scale);
  if (failed(zpReal))
    return failure();
  Type u8 = IntegerType::get(ctx.getContext(), 8, IntegerType::Unsigned);
  auto clip255 = [&](Value v) {
    return ctx.create<ClipOp>(v, cast<TypedAttr>(FloatAttr::get(xt.getElementType(), 0.0)),
                              cast<TypedAttr>(FloatAttr::get(xt.getElementType(), 255.0)));
  };
  Value zpRounded = clip255(ctx.create<RoundOp>(*zpReal));
  auto q = ctx.createInferred<DivOp>(*x, *scale);
  if (failed(q))
    return failure();
  auto shifted = ctx.createInferred<AddOp>(ctx.create<RoundOp>(*q), zpRounded);
  if (failed(shifted))
    return failure();
  ctx.setOutput(node, 0, castValue(ctx, clip255(*shifted), u8));
  ctx.setOutput(node, 1, *scale);
  if (ImportContext::hasOutput(node, 2))
    ctx.setOutput(node, 2, castValue(ctx, zpRounded, u8));
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

//===----------------------------------------------------------------------===//
// Clip and Cast
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

// Casts a small constant at import time (shape subgraphs cast i64 <-> f32).
DenseElementsAttr foldCast(DenseElementsAttr attr, Type to) {
  if (!attr || (!attr.isSplat() &&
                attr.getNumElements() > ImportContext::kFoldLimit))
    return {};
  Type from = attr.getElementType();
  auto type = RankedTensorType::get(attr.getType().getShape(), to);
  auto convert = [&](Attribute value) -> Attribute {
    // Bools and unsigned integers extend with zeros, signed ones with signs.
    bool zeroExtend = from.isInteger(1) || from.isUnsignedInteger();
    if (auto ft = dyn_cast<FloatType>(to)) {
      APFloat f(ft.getFloatSemantics());
      if (isa<FloatType>(from)) {
        f = cast<FloatAttr>(value).getValue();
        bool lost;
        f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      } else {
        // Straight from the integer: one rounding, exact for every width.
        f.convertFromAPInt(cast<IntegerAttr>(value).getValue(), /*IsSigned=*/!zeroExtend,
                           APFloat::rmNearestTiesToEven);
      }
      return FloatAttr::get(to, f);
    }
    unsigned width = to.getIntOrFloatBitWidth();
    if (isa<FloatType>(from)) {
      APFloat f = cast<FloatAttr>(value).getValue();
      if (width == 1)
        return IntegerAttr::get(to, APInt(1, f.isZero() ? 0 : 1));
      if (!f.isFinite())
        return {};
      APSInt i(width, /*isUnsigned=*/to.isUnsignedInteger());
      bool exact;
      // Out of range is undefined in ONNX; leave such casts to run time.
      if (f.convertToInteger(i, APFloat::rmTowardZero, &exact) & APFloat::opInvalidOp)
        return {};
      return IntegerAttr::get(to, i);
    }
    APInt v = cast<IntegerAttr>(value).getValue();
    if (width == 1)
      return IntegerAttr::get(to, APInt(1, v.isZero() ? 0 : 1));
    return IntegerAttr::get(to, zeroExtend ? v.zextOrTrunc(width)
                                           : v.sextOrTrunc(width));
  };
  if (attr.isSplat()) {
    Attribute v = convert(attr.getSplatValue<Attribute>());
    return v ? DenseElementsAttr::get(type, v) : DenseElementsAttr();
  }
  SmallVector<Attribute> values;
  for (Attribute a : attr.getValues<Attribute>()) {
    Attribute v = convert(a);
    if (!v)
      return {};
    values.push_back(v);
  }
  return DenseElementsAttr::get(type, values);
}

LogicalResult castTo(ImportContext &ctx, const Node &node, Value x, Type to) {
  auto inType = ImportContext::typeOf(x);
  if (inType.getElementType() == to) {
    ctx.setOutput(node, 0, x);
    return success();
  }
  if (auto folded = foldCast(ImportContext::getConstantValue(x), to)) {
    ctx.setOutput(node, 0, ctx.constant(folded));
    return success();
  }
  auto outType = RankedTensorType::get(inType.getShape(), to);
  ctx.setOutput(node, 0, ctx.create<CastOp>(outType, x));
  return success();
}

LogicalResult convertCast(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (!ImportContext::hasAttr(node, "to"))
    return ctx.fail("missing required attribute 'to'");
  int64_t to = ctx.getInt(node, "to", 0);
  Type elt = convertElementType(ctx.getContext(), (int32_t)to);
  if (!elt)
    return ctx.fail("casting to " + onnxTypeName((int32_t)to) +
                    " is not supported");
  return castTo(ctx, node, *x, elt);
}

LogicalResult convertCastLike(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto like = ctx.input(node, 1);
  if (failed(like))
    return failure();
  return castTo(ctx, node, *x, ImportContext::typeOf(*like).getElementType());
}

//===----------------------------------------------------------------------===//
// Forwarding ops
//===----------------------------------------------------------------------===//

LogicalResult convertIdentity(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  ctx.setOutput(node, 0, *x);
  return success();
}

// Inference-mode Dropout is the identity; the mask output is not produced,
// so a node that consumes it gets a precise error.
LogicalResult convertDropout(ImportContext &ctx, const Node &node,
                             int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (opset >= 12 && ImportContext::hasInput(node, 2)) {
    auto training = ctx.constantScalar(node, 2, "training_mode");
    if (failed(training))
      return failure();
    // Training with a ratio of 0 drops nothing: still the identity.
    double ratio = 0.5;
    if (*training != 0 && ImportContext::hasInput(node, 1)) {
      auto r = ctx.constantScalar(node, 1, "ratio");
      if (failed(r))
        return failure();
      ratio = *r;
    }
    if (*training != 0 && ratio != 0.0)
      return ctx.fail("training_mode=true with a non-zero ratio is not supported (Weft "
                      "compiles inference graphs, and the dropped elements are random)");
  }
  ctx.setOutput(node, 0, *x);
  // The mask keeps every element.
  if (node.output_size() > 1 && !node.output(1).empty()) {
    auto type = ImportContext::typeOf(*x);
    auto maskType = RankedTensorType::get(type.getShape(), IntegerType::get(ctx.getContext(), 1));
    ctx.setOutput(node, 1, ctx.constant(DenseElementsAttr::get(maskType, true)));
  }
  return success();
}

// HannWindow, HammingWindow, BlackmanWindow: a cosine sum over a size known
// at compile time, built as a constant (in double, rounded once).
LogicalResult convertWindow(ImportContext &ctx, const Node &node, double a0, double a1,
                            double a2) {
  auto size = ctx.constantScalar(node, 0, "size");
  if (failed(size))
    return failure();
  if (*size < 0 || *size > (1 << 24))
    return ctx.fail("size " + std::to_string((int64_t)*size) + " is outside [0, 2^24]");
  int64_t n = (int64_t)*size;
  int64_t dtype = ctx.getInt(node, "output_datatype", 1);
  Type elt = convertElementType(ctx.getContext(), (int32_t)dtype);
  if (!elt)
    return ctx.fail("output_datatype " + onnxTypeName((int32_t)dtype) + " is not supported");
  double denom = ctx.getInt(node, "periodic", 1) ? (double)n : (double)n - 1;
  SmallVector<Attribute> values;
  for (int64_t i = 0; i < n; ++i) {
    double angle = 2 * M_PI * (double)i / denom;
    double w = a0 - a1 * std::cos(angle) + a2 * std::cos(2 * angle);
    // Rounded to float as ONNX computes it; a symmetric window of size 1
    // divides 0 by 0 and is NaN, as in the ONNX definition.
    float f = (float)w;
    if (auto ft = dyn_cast<FloatType>(elt))
      values.push_back(FloatAttr::get(ft, (double)f));
    else
      values.push_back(IntegerAttr::get(elt, (int64_t)f));
  }
  auto type = RankedTensorType::get({n}, elt);
  ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(type, values)));
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
  t["QuantizeLinear"] = convertQuantize;
  t["DequantizeLinear"] = convertDequantize;
  t["DynamicQuantizeLinear"] = convertDynamicQuantize;
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

  t["Clip"] = convertClip;
  t["Cast"] = convertCast;
  t["CastLike"] = convertCastLike;
  t["Identity"] = convertIdentity;
  t["Dropout"] = convertDropout;
  t["HannWindow"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertWindow(ctx, node, 0.5, 0.5, 0.0);
  };
  t["HammingWindow"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertWindow(ctx, node, 25.0 / 46.0, 21.0 / 46.0, 0.0);
  };
  t["BlackmanWindow"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertWindow(ctx, node, 0.42, 0.5, 0.08);
  };
}
