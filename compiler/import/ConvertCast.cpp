//===- ConvertCast.cpp - type conversions and forwarding ONNX ops -> weft -===//
//
// Cast and CastLike (small constants are cast at import time, so shape
// subgraphs that cast i64 <-> f32 stay static), QuantizeLinear,
// DequantizeLinear and DynamicQuantizeLinear built from elementwise ops,
// and the value-forwarding ops (Identity, inference-mode Dropout).
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APSInt.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

//===----------------------------------------------------------------------===//
// Cast
//===----------------------------------------------------------------------===//

// Casts a small constant at import time (shape subgraphs cast i64 <-> f32).
DenseElementsAttr foldCast(DenseElementsAttr attr, Type to) {
  if (!attr || (!attr.isSplat() &&
                attr.getNumElements() > ImportContext::kFoldLimit))
    return {};
  Type from = attr.getElementType();
  // To an 8-bit float: saturation is ONNX's, not APFloat's (weft.cast
  // converts at run time).
  if (isa<FloatType>(to) && to.getIntOrFloatBitWidth() == 8)
    return {};
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

bool isFloat8(Type t) { return isa<FloatType>(t) && t.getIntOrFloatBitWidth() == 8; }

/// `x` converted to `to`; `saturate` (ONNX's attribute, opset 19 on) says
/// what an 8-bit float result does with values out of its range.
Value castTensor(ImportContext &ctx, Value x, Type to, bool saturate = true) {
  auto inType = ImportContext::typeOf(x);
  if (inType.getElementType() == to)
    return x;
  if (auto folded = foldCast(ImportContext::getConstantValue(x), to))
    return ctx.constant(folded);
  auto outType = RankedTensorType::get(inType.getShape(), to);
  auto op = CastOp::create(ctx.getBuilder(), ctx.getLoc(), outType, x);
  if (!saturate && isFloat8(to))
    op.setNoSaturate(true);
  return op;
}

LogicalResult castTo(ImportContext &ctx, const Node &node, Value x, Type to) {
  ctx.setOutput(node, 0, castTensor(ctx, x, to, ctx.getInt(node, "saturate", 1) != 0));
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
// Quantization
//===----------------------------------------------------------------------===//

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

} // namespace

// Raw bytes read directly, 8-bit floats through a table.
std::optional<std::vector<float>> weft::constantAsFloats(DenseElementsAttr attr) {
  Type t = attr.getElementType();
  int64_t n = attr.getNumElements();
  ArrayRef<char> raw = attr.getRawData();
  unsigned width = t.getIntOrFloatBitWidth();
  if (t.isInteger(1) || (t.isInteger() && width != 4 && width != 8 && width != 16 && width != 32))
    return std::nullopt;
  // i4 attributes hold a byte per element, the value in its low bits.
  bool nibble = width == 4;
  if (nibble)
    width = 8;
  std::vector<float> out(n);
  auto at = [&](int64_t i) { return attr.isSplat() ? 0 : i * (width / 8); };
  if (auto ft = dyn_cast<FloatType>(t)) {
    if (width != 8)
      return std::nullopt;
    float table[256];
    for (unsigned b = 0; b < 256; ++b)
      table[b] = APFloat(ft.getFloatSemantics(), APInt(8, b)).convertToFloat();
    for (int64_t i = 0; i < n; ++i)
      out[i] = table[(uint8_t)raw[at(i)]];
    return out;
  }
  bool isUnsigned = t.isUnsignedInteger();
  for (int64_t i = 0; i < n; ++i) {
    const char *p = raw.data() + at(i);
    int64_t v = 0;
    if (width == 8) {
      v = isUnsigned ? (int64_t)(uint8_t)*p : (int64_t)(int8_t)*p;
      if (nibble)
        v = (v & 0xf) - (!isUnsigned && (v & 0x8) ? 16 : 0);
    } else if (width == 16) {
      uint16_t u;
      std::memcpy(&u, p, 2);
      v = isUnsigned ? (int64_t)u : (int64_t)(int16_t)u;
    } else {
      uint32_t u;
      std::memcpy(&u, p, 4);
      v = isUnsigned ? (int64_t)u : (int64_t)(int32_t)u;
    }
    out[i] = (float)v;
  }
  return out;
}

namespace {

/// DequantizeLinear of constants (quantized weights), evaluated at compile
/// time whatever their size so the kernels see constant f32 weights (a
/// convolution's filter is re-laid out only when constant): (x - zp) *
/// scale in f32, as the kernels would compute it. `x`'s `axis` (normalized)
/// indexes a per-axis scale, or with `block` > 0 a blocked one of x's rank.
DenseElementsAttr foldDequantize(DenseElementsAttr x, DenseElementsAttr scale,
                                 DenseElementsAttr zp, int64_t axis, int64_t block) {
  if (!x || !scale || !scale.getElementType().isF32())
    return {};
  auto xs = constantAsFloats(x);
  std::optional<std::vector<float>> zs;
  if (zp && !(zs = constantAsFloats(zp)))
    return {};
  if (!xs)
    return {};
  auto shape = x.getType().getShape();
  int64_t n = x.getNumElements(), outer = 1, inner = 1, dim = 1;
  int64_t params = scale.getNumElements();
  bool perTensor = params == 1 && block == 0;
  if (!perTensor) {
    for (int64_t d = 0; d < (int64_t)shape.size(); ++d)
      (d < axis ? outer : d > axis ? inner : dim) *= shape[d];
  }
  int64_t groups = block > 0 ? (dim + block - 1) / block : dim;
  auto scales = scale.getValues<float>();
  std::vector<float> scaleVec(scales.begin(), scales.end());
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = 0;
    if (!perTensor) {
      int64_t in = i % inner, a = (i / inner) % dim, o = i / (inner * dim);
      int64_t g = block > 0 ? a / block : a;
      p = block > 0 ? (o * groups + g) * inner + in : g;
    }
    float v = (*xs)[i];
    if (zs)
      v -= (*zs)[zs->size() == 1 ? 0 : p];
    out[i] = v * scaleVec[params == 1 ? 0 : p];
  }
  auto type = RankedTensorType::get(shape, scale.getElementType());
  return DenseElementsAttr::get(type, ArrayRef<float>(out));
}

// DequantizeLinear: (x - zero_point) * scale, in the scale's type.
LogicalResult convertDequantize(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  auto scale = ctx.input(node, 1);
  if (failed(x) || failed(scale))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  Type elt = ImportContext::typeOf(*scale).getElementType();
  if (!isa<FloatType>(elt) || !(xt.getElementType().isInteger() || isFloat8(xt.getElementType())) ||
      xt.getElementType().isInteger(1))
    return ctx.fail("expects an integer or 8-bit float input and a floating-point scale");
  int64_t axis = ctx.getInt(node, "axis", 1);
  int64_t block = ctx.getInt(node, "block_size", 0);
  if (block < 0)
    return ctx.fail("block_size must be >= 0");
  auto s = quantParam(ctx, *scale, xt, axis, block, "scale");
  if (failed(s))
    return failure();
  // Quantized weights: folded now, whatever their size (quantParam checked
  // the parameters' shapes).
  if (auto xc = ImportContext::getConstantValue(*x)) {
    DenseElementsAttr zc;
    bool zpKnown = !ImportContext::hasInput(node, 2);
    if (!zpKnown) {
      auto zp = ctx.input(node, 2);
      if (failed(zp))
        return failure();
      zc = ImportContext::getConstantValue(*zp);
      zpKnown = zc && zc.getElementType() == xt.getElementType();
    }
    auto normalized = xt.getRank() ? ctx.normalizeAxis(axis, xt.getRank()) : FailureOr<int64_t>(0);
    if (failed(normalized))
      return failure();
    if (zpKnown)
      if (auto folded = foldDequantize(xc, ImportContext::getConstantValue(*scale), zc,
                                       *normalized, block)) {
        Value result = ctx.constant(folded);
        if (block == 0)
          ctx.recordDequantized(result, {*x, *scale, zc ? ctx.input(node, 2).value() : Value(),
                                         *normalized});
        ctx.setOutput(node, 0, result);
        return success();
      }
  }
  Value v = castTensor(ctx, *x, elt);
  if (ImportContext::hasInput(node, 2)) {
    auto zp = ctx.input(node, 2);
    if (failed(zp))
      return failure();
    if (ImportContext::typeOf(*zp).getElementType() != xt.getElementType())
      return ctx.fail("the zero point must have the input's type");
    auto z = quantParam(ctx, *zp, xt, axis, block, "zero_point");
    if (failed(z))
      return failure();
    auto centered = ctx.createInferred<SubOp>(v, castTensor(ctx, *z, elt));
    if (failed(centered))
      return failure();
    v = *centered;
  }
  auto y = ctx.createInferred<MulOp>(v, *s);
  if (failed(y))
    return failure();
  if (block == 0) {
    // (A per-tensor scale leaves the axis unused, and it need not be valid.)
    int64_t rank = xt.getRank(), a = axis < 0 ? axis + rank : axis;
    ctx.recordDequantized(*y, {*x, *scale,
                               ImportContext::hasInput(node, 2) ? ctx.input(node, 2).value()
                                                                : Value(),
                               a >= 0 && a < rank ? a : -1});
  }
  ctx.setOutput(node, 0, *y);
  return success();
}

// QuantizeLinear: saturate(round_half_even(x / scale) + zero_point) to the
// zero point's integer type (uint8 without one, or output_dtype); to an
// 8-bit float, x / scale + zero_point converted (rounding to nearest even,
// saturating unless `saturate` is 0).
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
  bool toFloat8 = target && isFloat8(target);
  if (!target || (!toFloat8 && (!target.isInteger() || target.isInteger(1) ||
                                target.getIntOrFloatBitWidth() > 32)))
    return ctx.fail("quantizes to 8-, 16- or 32-bit integers or 8-bit floats only");
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
  auto q = ctx.createInferred<DivOp>(castTensor(ctx, *x, work), castTensor(ctx, *s, work));
  if (failed(q))
    return failure();
  Value v = toFloat8 ? *q : ctx.create<RoundOp>(*q);
  if (zp) {
    auto z = quantParam(ctx, zp, xt, axis, block, "zero_point");
    if (failed(z))
      return failure();
    auto shifted = ctx.createInferred<AddOp>(v, castTensor(ctx, *z, work));
    if (failed(shifted))
      return failure();
    v = *shifted;
  }
  if (toFloat8) {
    ctx.setOutput(node, 0, castTensor(ctx, v, target, ctx.getInt(node, "saturate", 1) != 0));
    return success();
  }
  unsigned width = target.getIntOrFloatBitWidth();
  bool isUnsigned = target.isUnsignedInteger();
  double lo = isUnsigned ? 0.0 : -std::ldexp(1.0, width - 1);
  double hi = isUnsigned ? std::ldexp(1.0, width) - 1 : std::ldexp(1.0, width - 1) - 1;
  auto clamped = ctx.create<ClipOp>(v, cast<TypedAttr>(FloatAttr::get(work, lo)),
                                    cast<TypedAttr>(FloatAttr::get(work, hi)));
  ctx.setOutput(node, 0, castTensor(ctx, clamped, target));
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
  ctx.setOutput(node, 0, castTensor(ctx, clip255(*shifted), u8));
  ctx.setOutput(node, 1, *scale);
  if (ImportContext::hasOutput(node, 2))
    ctx.setOutput(node, 2, castTensor(ctx, zpRounded, u8));
  return success();
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

} // namespace

void weft::registerCastConverters(ConverterTable &t) {
  t["Cast"] = convertCast;
  t["CastLike"] = convertCastLike;
  t["QuantizeLinear"] = convertQuantize;
  t["DequantizeLinear"] = convertDequantize;
  t["DynamicQuantizeLinear"] = convertDynamicQuantize;
  t["Identity"] = convertIdentity;
  t["Dropout"] = convertDropout;
}
