//===- ConvertQuantized.cpp - integer and quantized matmul/conv -> weft ----===//
//
// MatMulInteger and QLinearMatMul accumulate exactly in i32: on the integer
// convolution kernels by a constant int8 B (uint8 or int8 A with one zero point,
// B's zero point 0; integerMatMulSums), else both operands are widened and
// their zero points subtracted before one i32 matmul; by a constant B whose
// columns keep every partial sum within 2^24, the same product runs
// exactly as an f32 matmul instead (the fast kernels).
// ConvInteger and QLinearConv run on the integer convolution kernels where
// those apply (uint8 or int8 input, constant int8 filter with a zero point of 0,
// see integerConvSums), else in f64, whose 53-bit mantissa holds every i32
// accumulator exactly, or in f32 by a constant filter that keeps every
// partial sum (and the bias) within 2^24. The QLinear forms then requantize as
// onnxruntime does: the accumulator (as f32) times the f32 multiplier
// a_scale * b_scale / y_scale, rounded half to even, plus the output zero
// point, saturated to the output type.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"
#include "compiler/import/SpatialWindows.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

Value castTo(ImportContext &ctx, Value v, Type elt) {
  auto t = ImportContext::typeOf(v);
  if (t.getElementType() == elt)
    return v;
  return ctx.create<CastOp>(RankedTensorType::get(t.getShape(), elt), v);
}

bool isQuantType(Type t) {
  auto it = dyn_cast<IntegerType>(t);
  return it && it.getWidth() == 8;
}

/// `x` widened to `work` with its zero point (input `zpIndex`, optional)
/// subtracted. A zero point is a scalar or, along `perAxis` of x (-1: none
/// allowed), one value per slice.
FailureOr<Value> centered(ImportContext &ctx, const Node &node, Value x, int zpIndex,
                          int64_t perAxis, Type work, StringRef what) {
  auto xt = ImportContext::typeOf(x);
  if (!isQuantType(xt.getElementType()))
    return ctx.fail(what + " must be int8 or uint8");
  Value v = castTo(ctx, x, work);
  if (!ImportContext::hasInput(node, zpIndex))
    return v;
  auto zp = ctx.input(node, zpIndex);
  if (failed(zp))
    return failure();
  auto zt = ImportContext::typeOf(*zp);
  if (zt.getElementType() != xt.getElementType())
    return ctx.fail("the zero point of " + what + " must have its type");
  Value z = castTo(ctx, *zp, work);
  if (zt.getNumElements() != 1) {
    if (perAxis < 0 || zt.getRank() != 1 || zt.getShape()[0] != xt.getShape()[perAxis])
      return ctx.fail("the zero point of " + what +
                      " must be a scalar or hold one value per slice along its axis " +
                      Twine(perAxis));
    SmallVector<int64_t> shape(xt.getRank(), 1);
    shape[perAxis] = xt.getShape()[perAxis];
    auto r = ctx.reshape(z, shape);
    if (failed(r))
      return failure();
    z = *r;
  } else {
    auto r = ctx.reshape(z, {});
    if (failed(r))
      return failure();
    z = *r;
  }
  return ctx.createInferred<SubOp>(v, z);
}

/// A scale input as f32, a scalar or one value per slice of an operand of
/// `rank` along `axis` (laid out to broadcast against the result).
FailureOr<Value> scaleInput(ImportContext &ctx, const Node &node, int index, int64_t rank,
                            int64_t axis, int64_t size, StringRef what) {
  auto s = ctx.input(node, index);
  if (failed(s))
    return failure();
  auto st = ImportContext::typeOf(*s);
  if (!isa<FloatType>(st.getElementType()))
    return ctx.fail(what + " must be floating-point");
  Value v = castTo(ctx, *s, Float32Type::get(ctx.getContext()));
  if (st.getNumElements() == 1)
    return ctx.reshape(v, {});
  if (st.getRank() != 1 || st.getShape()[0] != size || axis < 0)
    return ctx.fail(what + " must be a scalar or hold " + Twine(size) + " values");
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = size;
  return ctx.reshape(v, shape);
}

/// round_half_even(acc * multiplier) + zero point, saturated to the type of
/// the zero point (input `zpIndex`), or uint8 without one.
LogicalResult requantize(ImportContext &ctx, const Node &node, Value acc, Value multiplier,
                         int zpIndex) {
  Type f32 = Float32Type::get(ctx.getContext());
  Type target = IntegerType::get(ctx.getContext(), 8, IntegerType::Unsigned);
  Value zp;
  if (ImportContext::hasInput(node, zpIndex)) {
    auto z = ctx.input(node, zpIndex);
    if (failed(z))
      return failure();
    if (ImportContext::typeOf(*z).getNumElements() != 1)
      return ctx.fail("the output zero point must be a scalar");
    target = ImportContext::typeOf(*z).getElementType();
    auto r = ctx.reshape(castTo(ctx, *z, f32), {});
    if (failed(r))
      return failure();
    zp = *r;
  }
  if (!isQuantType(target))
    return ctx.fail("the output must be int8 or uint8");
  auto scaled = ctx.createInferred<MulOp>(castTo(ctx, acc, f32), multiplier);
  if (failed(scaled))
    return failure();
  Value v = ctx.create<RoundOp>(*scaled);
  if (zp) {
    auto shifted = ctx.createInferred<AddOp>(v, zp);
    if (failed(shifted))
      return failure();
    v = *shifted;
  }
  bool isUnsigned = target.isUnsignedInteger();
  double lo = isUnsigned ? 0.0 : -128.0, hi = isUnsigned ? 255.0 : 127.0;
  Value clamped = ctx.create<ClipOp>(v, cast<TypedAttr>(FloatAttr::get(f32, lo)),
                                     cast<TypedAttr>(FloatAttr::get(f32, hi)));
  ctx.setOutput(node, 0, castTo(ctx, clamped, target));
  return success();
}

/// a_scale * b_scale / y_scale, broadcast against the [.., M, N] result.
FailureOr<Value> multiplier(ImportContext &ctx, FailureOr<Value> as, FailureOr<Value> bs,
                            FailureOr<Value> ys) {
  if (failed(as) || failed(bs) || failed(ys))
    return failure();
  auto ab = ctx.createInferred<MulOp>(*as, *bs);
  if (failed(ab))
    return failure();
  return ctx.createInferred<DivOp>(*ab, *ys);
}

/// The i32 product of two centered operands of rank >= 2 (1-D operands are
/// promoted as MatMul does).
FailureOr<Value> integerProduct(ImportContext &ctx, Value a, Value b) {
  auto at = ImportContext::typeOf(a), bt = ImportContext::typeOf(b);
  if (at.getRank() < 2 || bt.getRank() < 2)
    return ctx.fail("expects operands of rank >= 2");
  return ctx.createInferred<MatMulOp>(a, b);
}

/// The i32 product of A (8-bit, zero point input `aZp`) and a constant B
/// (8-bit, zero point input `bZp`, a constant) computed as an f32 matmul,
/// when that is exact: |A - a_zp| <= 255, so every partial sum of a column
/// n is an integer of magnitude at most 255 * sum_k |B[k][n] - b_zp| (the
/// actual weights), and f32 holds every integer up to 2^24. The f32 matmul
/// takes the fast kernels (a constant B is blocked like a 1x1 conv); its
/// result is marked integral (round, clip to 2^24) so a later conversion
/// back to f32 folds away. Null where it does not apply or is not exact.
FailureOr<Value> exactProductInF32(ImportContext &ctx, const Node &node, Value a, Value b,
                                   int aZp, int bZp) {
  auto at = ImportContext::typeOf(a), bt = ImportContext::typeOf(b);
  auto bc = ImportContext::getConstantValue(b);
  if (!bc || !isQuantType(at.getElementType()) || !isQuantType(bt.getElementType()) ||
      at.getRank() < 2 || bt.getRank() < 2)
    return Value();
  std::optional<std::vector<float>> zb;
  if (ImportContext::hasInput(node, bZp)) {
    auto z = ctx.input(node, bZp);
    if (failed(z))
      return failure();
    auto zc = ImportContext::getConstantValue(*z);
    if (!zc || zc.getElementType() != bt.getElementType())
      return Value();
    zb = constantAsFloats(zc);
  }
  auto bv = constantAsFloats(bc);
  if (!bv)
    return Value();
  int64_t n = bt.getShape().back(), k = bt.getShape()[bt.getRank() - 2];
  if (zb && zb->size() != 1 && (int64_t)zb->size() != n)
    return Value(); // the general path reports it
  std::vector<double> colSum(bv->size() / std::max<int64_t>(k, 1) + 1, 0.0);
  for (size_t i = 0; i < bv->size(); ++i) {
    int64_t col = i % n, batch = i / (n * k);
    if (zb)
      (*bv)[i] -= (*zb)[zb->size() == 1 ? 0 : col];
    colSum[batch * n + col] += std::fabs((*bv)[i]);
  }
  constexpr double kExact = 16777216.0; // 2^24
  if (255.0 * *std::max_element(colSum.begin(), colSum.end()) >= kExact)
    return Value();
  Type f32 = Float32Type::get(ctx.getContext());
  auto ca = centered(ctx, node, a, aZp, at.getRank() - 2, f32, "A");
  if (failed(ca))
    return failure();
  Value cb = ctx.constant(DenseElementsAttr::get(RankedTensorType::get(bt.getShape(), f32),
                                                 ArrayRef<float>(*bv)));
  auto y = integerProduct(ctx, *ca, cb);
  if (failed(y))
    return failure();
  Value r = ctx.create<RoundOp>(*y);
  Value c = ctx.create<ClipOp>(r, cast<TypedAttr>(FloatAttr::get(f32, -kExact)),
                               cast<TypedAttr>(FloatAttr::get(f32, kExact)));
  return castTo(ctx, c, IntegerType::get(ctx.getContext(), 32));
}

/// A MatMulInteger/QLinearMatMul (A, its zero point input `aZp`, B, its
/// zero point `bZp`) on the integer kernels: the exact i32 product of
/// integerMatMulSums (uint8 or int8 A with one zero point, a constant int8 B whose
/// zero point is 0). Null where those do not apply.
FailureOr<Value> integerKernelProduct(ImportContext &ctx, const Node &node, Value a, Value b,
                                      int aZp, int bZp) {
  if (!ctx.integerConvolutions())
    return Value();
  auto az = ctx.optionalInput(node, aZp), bz = ctx.optionalInput(node, bZp);
  if (failed(az) || failed(bz))
    return failure();
  return integerMatMulSums(ctx, a, *az, b, *bz);
}

// MatMulInteger(A, B, a_zero_point, b_zero_point) -> int32. The A zero
// point may be per row (along M), B's per column (along N).
LogicalResult convertMatMulInteger(ImportContext &ctx, const Node &node, int64_t) {
  auto a = ctx.input(node, 0), b = ctx.input(node, 1);
  if (failed(a) || failed(b))
    return failure();
  auto sums = integerKernelProduct(ctx, node, *a, *b, 2, 3);
  if (failed(sums))
    return failure();
  if (*sums) {
    ctx.setOutput(node, 0, *sums);
    return success();
  }
  auto fast = exactProductInF32(ctx, node, *a, *b, 2, 3);
  if (failed(fast))
    return failure();
  if (*fast) {
    ctx.setOutput(node, 0, *fast);
    return success();
  }
  Type i32 = IntegerType::get(ctx.getContext(), 32);
  int64_t ar = ImportContext::typeOf(*a).getRank(), br = ImportContext::typeOf(*b).getRank();
  auto ca = centered(ctx, node, *a, 2, ar - 2, i32, "A");
  auto cb = centered(ctx, node, *b, 3, br - 1, i32, "B");
  if (failed(ca) || failed(cb))
    return failure();
  auto y = integerProduct(ctx, *ca, *cb);
  if (failed(y))
    return failure();
  ctx.setOutput(node, 0, *y);
  return success();
}

// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp).
LogicalResult convertQLinearMatMul(ImportContext &ctx, const Node &node, int64_t) {
  auto a = ctx.input(node, 0), b = ctx.input(node, 3);
  if (failed(a) || failed(b))
    return failure();
  Type i32 = IntegerType::get(ctx.getContext(), 32);
  auto at = ImportContext::typeOf(*a), bt = ImportContext::typeOf(*b);
  int64_t ar = at.getRank(), br = bt.getRank();
  if (ar < 2 || br < 2)
    return ctx.fail("expects operands of rank >= 2");
  auto acc = integerKernelProduct(ctx, node, *a, *b, 2, 5);
  if (succeeded(acc) && !*acc)
    acc = exactProductInF32(ctx, node, *a, *b, 2, 5);
  if (failed(acc))
    return failure();
  if (!*acc) {
    auto ca = centered(ctx, node, *a, 2, ar - 2, i32, "a");
    auto cb = centered(ctx, node, *b, 5, br - 1, i32, "b");
    if (failed(ca) || failed(cb))
      return failure();
    acc = integerProduct(ctx, *ca, *cb);
    if (failed(acc))
      return failure();
  }
  int64_t rank = ImportContext::typeOf(*acc).getRank();
  auto m = multiplier(ctx,
                      scaleInput(ctx, node, 1, rank, rank - 2, at.getShape()[ar - 2], "a_scale"),
                      scaleInput(ctx, node, 4, rank, rank - 1, bt.getShape()[br - 1], "b_scale"),
                      scaleInput(ctx, node, 6, rank, -1, 1, "y_scale"));
  if (failed(m))
    return failure();
  return requantize(ctx, node, *acc, *m, 7);
}

/// A convolution of two centered operands (f32 or f64) with the node's window
/// attributes, through the Conv converter: the operands are bound under
/// private names and a copy of the node (op type Conv) reads them.
FailureOr<Value> centeredConv(ImportContext &ctx, const Node &node, Value x, Value w,
                              int64_t opset) {
  Node conv;
  conv.set_op_type("Conv");
  conv.set_name(node.name());
  std::string xn = node.output(0) + "\x01x", wn = node.output(0) + "\x01w",
              yn = node.output(0) + "\x01y";
  ctx.define(xn, x);
  ctx.define(wn, w);
  conv.add_input(xn);
  conv.add_input(wn);
  conv.add_output(yn);
  for (const auto &attr : node.attribute())
    *conv.add_attribute() = attr;
  if (failed(ctx.convertWith("Conv", conv, opset)))
    return failure();
  return ctx.lookup(yn);
}

constexpr double kExactF32 = 16777216.0; // 2^24: f32 holds every integer up to it

/// A constant 8-bit filter minus its (constant) zero point, as f32, when a
/// convolution by it accumulates exactly in f32: each output channel's
/// partial sums (255 x its sum of |w - zp|, |x - x_zp| <= 255) plus
/// `biasBound` stay within 2^24. Null otherwise.
DenseElementsAttr exactConvFilter(ImportContext &ctx, const Node &node, Value w, int zpIndex,
                                  double biasBound) {
  auto wt = ImportContext::typeOf(w);
  auto wc = ImportContext::getConstantValue(w);
  if (!wc || !isQuantType(wt.getElementType()) || wt.getRank() < 3)
    return {};
  std::optional<std::vector<float>> zp;
  if (ImportContext::hasInput(node, zpIndex)) {
    auto z = ctx.input(node, zpIndex);
    if (failed(z))
      return {};
    auto zc = ImportContext::getConstantValue(*z);
    if (!zc || zc.getElementType() != wt.getElementType())
      return {};
    zp = constantAsFloats(zc);
  }
  auto wv = constantAsFloats(wc);
  int64_t oc = wt.getShape()[0];
  if (!wv || oc == 0 || (zp && zp->size() != 1 && (int64_t)zp->size() != oc))
    return {};
  int64_t per = wv->size() / oc;
  double worst = 0;
  for (int64_t c = 0; c < oc; ++c) {
    double sum = 0;
    for (int64_t i = c * per; i < (c + 1) * per; ++i) {
      if (zp)
        (*wv)[i] -= (*zp)[zp->size() == 1 ? 0 : c];
      sum += std::fabs((*wv)[i]);
    }
    worst = std::max(worst, sum);
  }
  if (255.0 * worst + biasBound >= kExactF32)
    return {};
  return DenseElementsAttr::get(RankedTensorType::get(wt.getShape(), Float32Type::get(
                                                          ctx.getContext())),
                                ArrayRef<float>(*wv));
}

/// A 2-D ConvInteger/QLinearConv (x, its zero point input `xZp`, w, its
/// zero point input `wZp`) on the integer kernels: the exact
/// i32 sums of integerConvSums. Null where those do not apply (uint8 or int8 x,
/// a constant int8 filter with a zero point of 0, group 1; the general path
/// reports malformed attributes).
FailureOr<Value> integerKernelSums(ImportContext &ctx, const Node &node, Value x, Value w,
                                   int xZp, int wZp) {
  auto xt = ImportContext::typeOf(x), wt = ImportContext::typeOf(w);
  if (!ctx.integerConvolutions() || xt.getRank() != 4 || wt.getRank() != 4 ||
      !xt.hasStaticShape() || !wt.hasStaticShape() || ctx.getInt(node, "group", 1) != 1)
    return Value();
  ArrayRef<int64_t> kernel = wt.getShape().drop_front(2);
  if (auto ks = ctx.getOptionalInts(node, "kernel_shape"); ks && ArrayRef<int64_t>(*ks) != kernel)
    return Value();
  if (llvm::any_of(kernel, [](int64_t k) { return k < 1; }))
    return Value();
  auto window = windows::readWindow(ctx, node, xt.getShape().drop_front(2), kernel);
  if (failed(window))
    return failure();
  auto xz = ctx.optionalInput(node, xZp), wz = ctx.optionalInput(node, wZp);
  if (failed(xz) || failed(wz))
    return failure();
  return integerConvSums(ctx, x, *xz, w, *wz, window->strides, window->dilations,
                         window->pads);
}

// ConvInteger(x, w, x_zero_point, w_zero_point) -> int32; the weight's
// zero point may be per output channel. On the integer kernels where they
// apply (integerKernelSums), else in f32 when exact (a constant filter,
// see exactConvFilter; the result marked integral so a conversion back to
// f32 folds), else in f64.
LogicalResult convertConvInteger(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0), w = ctx.input(node, 1);
  if (failed(x) || failed(w))
    return failure();
  auto sums = integerKernelSums(ctx, node, *x, *w, 2, 3);
  if (failed(sums))
    return failure();
  if (*sums) {
    ctx.setOutput(node, 0, *sums);
    return success();
  }
  Type f32 = Float32Type::get(ctx.getContext());
  DenseElementsAttr exact = exactConvFilter(ctx, node, *w, 3, 0);
  Type work = exact ? f32 : (Type)Float64Type::get(ctx.getContext());
  auto cx = centered(ctx, node, *x, 2, -1, work, "x");
  auto cw = exact ? FailureOr<Value>(ctx.constant(exact)) : centered(ctx, node, *w, 3, 0, work, "w");
  if (failed(cx) || failed(cw))
    return failure();
  auto y = centeredConv(ctx, node, *cx, *cw, opset);
  if (failed(y))
    return failure();
  Value acc = *y;
  if (exact) {
    Value r = ctx.create<RoundOp>(acc);
    acc = ctx.create<ClipOp>(r, cast<TypedAttr>(FloatAttr::get(f32, -kExactF32)),
                             cast<TypedAttr>(FloatAttr::get(f32, kExactF32)));
  }
  ctx.setOutput(node, 0, castTo(ctx, acc, IntegerType::get(ctx.getContext(), 32)));
  return success();
}

// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B): the
// int32 bias joins the accumulator before requantization.
LogicalResult convertQLinearConv(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0), w = ctx.input(node, 3);
  if (failed(x) || failed(w))
    return failure();
  // On the integer kernels (exact i32 sums, the bias added in i32) where
  // they apply; else in f32 when exact with the bias added (a constant
  // one), else in f64.
  auto sums = integerKernelSums(ctx, node, *x, *w, 2, 5);
  if (failed(sums))
    return failure();
  DenseElementsAttr exact;
  if (*sums) {
    // (exact stays null: the sums are i32 already.)
  } else if (!ImportContext::hasInput(node, 8)) {
    exact = exactConvFilter(ctx, node, *w, 5, 0);
  } else if (auto bias = ctx.input(node, 8); succeeded(bias)) {
    if (auto bc = ImportContext::getConstantValue(*bias); bc && bc.getElementType().isInteger(32)) {
      double most = 0;
      for (const APInt &v : bc.getValues<APInt>())
        most = std::max(most, std::fabs((double)v.getSExtValue()));
      exact = exactConvFilter(ctx, node, *w, 5, most);
    }
  }
  Type work = *sums ? (Type)IntegerType::get(ctx.getContext(), 32)
              : exact ? (Type)Float32Type::get(ctx.getContext())
                      : Float64Type::get(ctx.getContext());
  FailureOr<Value> acc = *sums;
  if (!*sums) {
    auto cx = centered(ctx, node, *x, 2, -1, work, "x");
    auto cw = exact ? FailureOr<Value>(ctx.constant(exact)) : centered(ctx, node, *w, 5, 0, work, "w");
    if (failed(cx) || failed(cw))
      return failure();
    acc = centeredConv(ctx, node, *cx, *cw, opset);
    if (failed(acc))
      return failure();
  }
  auto yt = ImportContext::typeOf(*acc);
  int64_t rank = yt.getRank(), channels = yt.getShape()[1];
  Value sum = *acc;
  if (ImportContext::hasInput(node, 8)) {
    auto bias = ctx.input(node, 8);
    if (failed(bias))
      return failure();
    auto bt = ImportContext::typeOf(*bias);
    if (!bt.getElementType().isInteger(32) || bt.getRank() != 1 || bt.getShape()[0] != channels)
      return ctx.fail("B must be int32 with one value per output channel");
    SmallVector<int64_t> shape(rank, 1);
    shape[1] = channels;
    auto b = ctx.reshape(castTo(ctx, *bias, work), shape);
    if (failed(b))
      return failure();
    auto added = ctx.createInferred<AddOp>(sum, *b);
    if (failed(added))
      return failure();
    sum = *added;
  }
  auto m = multiplier(ctx, scaleInput(ctx, node, 1, rank, -1, 1, "x_scale"),
                      scaleInput(ctx, node, 4, rank, 1, channels, "w_scale"),
                      scaleInput(ctx, node, 6, rank, -1, 1, "y_scale"));
  if (failed(m))
    return failure();
  return requantize(ctx, node, sum, *m, 7);
}

} // namespace

void weft::registerQuantizedConverters(ConverterTable &t) {
  t["MatMulInteger"] = convertMatMulInteger;
  t["QLinearMatMul"] = convertQLinearMatMul;
  t["ConvInteger"] = convertConvInteger;
  t["QLinearConv"] = convertQLinearConv;
}
