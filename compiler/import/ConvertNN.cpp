//===- ConvertNN.cpp - contraction and convolution ONNX ops -> weft -------===//
//
// Contractions (MatMul, Gemm) and convolution in 1-D to 3-D: Conv, the 3-D
// convolution built from a 2-D weft.conv (which ConvTranspose and LpPool
// use too), and Col2Im as a ConvTranspose. Pooling is in ConvertPool.cpp,
// ArgMax/ArgMin and the Reduce* family in ConvertReduce.cpp, the window
// attributes they share in SpatialWindows.cpp.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"
#include "compiler/import/SpatialWindows.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace weft;
using namespace weft::windows;

namespace {

using Node = onnx::NodeProto;

//===----------------------------------------------------------------------===//
// MatMul and Gemm
//===----------------------------------------------------------------------===//

// numpy matmul: a 1-D left operand is a row vector, a 1-D right operand a
// column vector, and the added dimension is dropped from the result.
/// x_scale * w_scale of a product of dequantized operands on the integer
/// kernels: x's scale one f32 value, w's a constant f32 of one value or
/// one per slice along `axis` of w, laid out as `perSlice` (whose element
/// count is the number of slices) to broadcast against the product. Null
/// when the scales are not of that form.
FailureOr<Value> productScale(ImportContext &ctx, const ImportContext::Dequantized &dx,
                              const ImportContext::Dequantized &dw, int64_t axis,
                              ArrayRef<int64_t> perSlice) {
  DenseElementsAttr wScale = ImportContext::getConstantValue(dw.scale);
  auto xsType = ImportContext::typeOf(dx.scale);
  int64_t slices = 1;
  for (int64_t d : perSlice)
    slices *= d;
  if (!wScale || !wScale.getElementType().isF32() || xsType.getNumElements() != 1 ||
      !xsType.getElementType().isF32() ||
      (wScale.getNumElements() != 1 && (wScale.getNumElements() != slices || dw.axis != axis)))
    return Value();
  auto ws = ctx.reshape(dw.scale, wScale.getNumElements() == 1 ? ArrayRef<int64_t>{} : perSlice);
  auto xs = ctx.reshape(dx.scale, {});
  if (failed(ws) || failed(xs))
    return failure();
  return ctx.createInferred<MulOp>(*xs, *ws);
}

/// MatMul(DequantizeLinear(a), DequantizeLinear(b)) of a QDQ model on the
/// integer kernels (see integerMatMulSums): a uint8 or int8 with one f32 scale, b
/// a constant int8 [K, N] whose zero point is 0 and whose f32 scale is one
/// value or one per column. The exact i32 product times a_scale *
/// b_scale, in f32. Null when the operands are not of that form.
FailureOr<Value> dequantizedIntegerMatMul(ImportContext &ctx, Value a, Value b) {
  auto da = ctx.dequantizedFrom(a), db = ctx.dequantizedFrom(b);
  if (!ctx.integerConvolutions() || !da || !db || ImportContext::typeOf(db->q).getRank() != 2)
    return Value();
  int64_t n = ImportContext::typeOf(db->q).getShape()[1];
  WEFT_TRY(multiplier, productScale(ctx, *da, *db, 1, {n}));
  if (!multiplier)
    return Value();
  WEFT_TRY(sum, integerMatMulSums(ctx, da->q, da->zeroPoint, db->q, db->zeroPoint));
  if (!sum)
    return Value();
  Value real = ctx.create<CastOp>(
      ImportContext::typeOf(sum).clone(Float32Type::get(ctx.getContext())), sum);
  return ctx.createInferred<MulOp>(real, multiplier);
}

LogicalResult convertMatMul(ImportContext &ctx, const Node &node, int64_t) {
  auto a = ctx.input(node, 0);
  if (failed(a))
    return failure();
  auto b = ctx.input(node, 1);
  if (failed(b))
    return failure();
  WEFT_TRY(integer, dequantizedIntegerMatMul(ctx, *a, *b));
  if (integer) {
    ctx.setOutput(node, 0, integer);
    return success();
  }
  auto at = ImportContext::typeOf(*a), bt = ImportContext::typeOf(*b);
  if (at.getRank() == 0 || bt.getRank() == 0)
    return ctx.fail("MatMul operands must have rank >= 1");
  Value lhs = *a, rhs = *b;
  if (at.getRank() == 1) {
    auto r = ctx.reshape(lhs, {1, at.getShape()[0]});
    if (failed(r))
      return failure();
    lhs = *r;
  }
  if (bt.getRank() == 1) {
    auto r = ctx.reshape(rhs, {bt.getShape()[0], 1});
    if (failed(r))
      return failure();
    rhs = *r;
  }
  auto product = ctx.createInferred<MatMulOp>(lhs, rhs);
  if (failed(product))
    return failure();
  Value result = *product;
  if (at.getRank() == 1 || bt.getRank() == 1) {
    SmallVector<int64_t> shape(ImportContext::typeOf(result).getShape());
    if (bt.getRank() == 1)
      shape.pop_back();
    if (at.getRank() == 1)
      shape.erase(shape.end() - (bt.getRank() == 1 ? 1 : 2));
    auto r = ctx.reshape(result, shape);
    if (failed(r))
      return failure();
    result = *r;
  }
  ctx.setOutput(node, 0, result);
  return success();
}

/// Gemm(DequantizeLinear(a), DequantizeLinear(b), c) of a QDQ model (a
/// classifier) on the integer kernels, as dequantizedIntegerMatMul: a
/// uint8 or int8 [M, K] (transA 0) with one f32 scale, b a constant int8 [K, N]
/// (or [N, K] with transB, re-laid at compile time) whose zero point is 0
/// and whose f32 scale is one value or one per column (per row of the
/// transposed form). alpha joins the scale; beta * c is added in f32. Null
/// when the operands are not of that form.
FailureOr<Value> dequantizedIntegerGemm(ImportContext &ctx, const Node &node, Value a, Value b,
                                        Value c) {
  auto da = ctx.dequantizedFrom(a), db = ctx.dequantizedFrom(b);
  if (!ctx.integerConvolutions() || !da || !db || ctx.getInt(node, "transA", 0) != 0)
    return Value();
  auto bt = ImportContext::typeOf(db->q);
  DenseElementsAttr bq = ImportContext::getConstantValue(db->q);
  if (!bq || bt.getRank() != 2 || !bt.getElementType().isSignlessInteger(8))
    return Value();
  bool transB = ctx.getInt(node, "transB", 0) != 0;
  int64_t k = bt.getShape()[transB ? 1 : 0], n = bt.getShape()[transB ? 0 : 1];
  WEFT_TRY(multiplier, productScale(ctx, *da, *db, transB ? 0 : 1, {n}));
  if (!multiplier)
    return Value();
  Value q = db->q;
  if (transB) {
    std::vector<int8_t> kn(k * n);
    int64_t i = 0;
    for (const APInt &v : bq.getValues<APInt>()) {
      kn[(i % k) * n + i / k] = (int8_t)v.getSExtValue();
      ++i;
    }
    q = ctx.constant(DenseElementsAttr::get(
        RankedTensorType::get({k, n}, bt.getElementType()), ArrayRef<int8_t>(kn)));
  }
  WEFT_TRY(sum, integerMatMulSums(ctx, da->q, da->zeroPoint, q, db->zeroPoint));
  if (!sum)
    return Value();
  auto f32 = Float32Type::get(ctx.getContext());
  auto scalar = [&](float v) {
    return ctx.constant(DenseElementsAttr::get(RankedTensorType::get({}, f32), v));
  };
  float alpha = ctx.getFloat(node, "alpha", 1.0f), beta = ctx.getFloat(node, "beta", 1.0f);
  if (alpha != 1.0f) {
    WEFT_TRY(scaled, ctx.createInferred<MulOp>(multiplier, scalar(alpha)));
    multiplier = scaled;
  }
  Value real = ctx.create<CastOp>(ImportContext::typeOf(sum).clone(f32), sum);
  WEFT_TRY(y, ctx.createInferred<MulOp>(real, multiplier));
  if (!c || beta == 0.0f)
    return y;
  Value term = c;
  if (beta != 1.0f) {
    WEFT_TRY(scaledC, ctx.createInferred<MulOp>(c, scalar(beta)));
    term = scaledC;
  }
  return ctx.createInferred<AddOp>(y, term);
}

LogicalResult convertGemm(ImportContext &ctx, const Node &node, int64_t) {
  auto a = ctx.input(node, 0);
  if (failed(a))
    return failure();
  auto b = ctx.input(node, 1);
  if (failed(b))
    return failure();
  auto c = ctx.optionalInput(node, 2);
  if (failed(c))
    return failure();
  if (ImportContext::typeOf(*a).getRank() != 2 ||
      ImportContext::typeOf(*b).getRank() != 2)
    return ctx.fail("Gemm operands A and B must be 2-D");
  WEFT_TRY(integer, dequantizedIntegerGemm(ctx, node, *a, *b, *c));
  if (integer) {
    ctx.setOutput(node, 0, integer);
    return success();
  }
  OpBuilder &bld = ctx.getBuilder();
  auto result = ctx.createInferred<GemmOp>(
      *a, *b, *c, bld.getF32FloatAttr(ctx.getFloat(node, "alpha", 1.0f)),
      bld.getF32FloatAttr(ctx.getFloat(node, "beta", 1.0f)),
      bld.getBoolAttr(ctx.getInt(node, "transA", 0) != 0),
      bld.getBoolAttr(ctx.getInt(node, "transB", 0) != 0));
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

// A 3-D convolution as one 2-D convolution: every output depth position
// gathers its KD input planes into the channels, [N*OD, G*KD*C/G, H, W],
// and the filter [F, C/G, KD, KH, KW] becomes [F, KD*C/G, KH, KW] to match
// (each group's channels ordered by depth tap, then channel). The depth
// padding is a weft.pad; the height and width padding stay the 2-D op's.
FailureOr<Value> weft::convolve3D(ImportContext &ctx, Value x, Value w, Value bias,
                                  ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations,
                                  ArrayRef<int64_t> pads, int64_t group) {
  auto xt = ImportContext::typeOf(x), wt = ImportContext::typeOf(w);
  Type elt = xt.getElementType();
  int64_t n = xt.getShape()[0], c = xt.getShape()[1], d = xt.getShape()[2],
          h = xt.getShape()[3], wd = xt.getShape()[4];
  int64_t f = wt.getShape()[0], cg = wt.getShape()[1], kd = wt.getShape()[2],
          kh = wt.getShape()[3], kw = wt.getShape()[4];
  if (group <= 0 || c % group != 0 || cg != c / group || f % group != 0)
    return ctx.fail("the weight must be [M, C/group, kD, kH, kW] with C the input's "
                    "channels and M divisible by group");
  if (!isa<FloatType>(elt))
    return ctx.fail("needs floating-point tensors");
  if (pads[0] || pads[3]) {
    auto padded = ctx.createInferred<PadOp>(
        x, ArrayRef<int64_t>{0, 0, pads[0], 0, 0}, ArrayRef<int64_t>{0, 0, pads[3], 0, 0},
        cast<TypedAttr>(FloatAttr::get(elt, 0.0)));
    if (failed(padded))
      return failure();
    x = *padded;
    d += pads[0] + pads[3];
  }
  if (kd < 1)
    return ctx.fail("the kernel has " + Twine(kd) + " elements in spatial dimension 0");
  int64_t span = (kd - 1) * dilations[0] + 1;
  if (d < span)
    return ctx.fail("the window (" + Twine(span) + " elements with dilation) is larger than "
                    "the padded input (" + Twine(d) + ") in spatial dimension 0");
  int64_t od = (d - span) / strides[0] + 1;
  SmallVector<Value> taps;
  for (int64_t k = 0; k < kd; ++k) {
    auto tap = ctx.createInferred<SliceOp>(
        x, ArrayRef<int64_t>{0, 0, k * dilations[0], 0, 0},
        ArrayRef<int64_t>{n, c, od, h, wd}, ArrayRef<int64_t>{1, 1, strides[0], 1, 1});
    if (failed(tap))
      return failure();
    auto lifted = ctx.reshape(*tap, {n, 1, c, od, h, wd});
    if (failed(lifted))
      return failure();
    taps.push_back(*lifted);
  }
  Value stacked = taps.front();
  if (taps.size() > 1) {
    auto cat = ctx.createInferred<ConcatOp>(taps, (uint64_t)1);
    if (failed(cat))
      return failure();
    stacked = *cat;
  }
  WEFT_TRY(split, ctx.reshape(stacked, {n, kd, group, cg, od, h, wd}));
  WEFT_TRY(planes, ctx.createInferred<TransposeOp>(split,
                                                   ArrayRef<int64_t>{0, 4, 2, 1, 3, 5, 6}));
  WEFT_TRY(input2D, ctx.reshape(planes, {n * od, group * kd * cg, h, wd}));
  WEFT_TRY(byTap, ctx.createInferred<TransposeOp>(w, ArrayRef<int64_t>{0, 2, 1, 3, 4}));
  WEFT_TRY(filter2D, ctx.reshape(byTap, {f, kd * cg, kh, kw}));
  WEFT_TRY(conv, ctx.createInferred<ConvOp>(
                     input2D, filter2D, bias, ArrayRef<int64_t>{strides[1], strides[2]},
                     ArrayRef<int64_t>{dilations[1], dilations[2]},
                     ArrayRef<int64_t>{pads[1], pads[2], pads[4], pads[5]}, (uint64_t)group));
  auto ct = ImportContext::typeOf(conv);
  int64_t oh = ct.getShape()[2], ow = ct.getShape()[3];
  WEFT_TRY(unfolded, ctx.reshape(conv, {n, od, f, oh, ow}));
  return ctx.createInferred<TransposeOp>(unfolded, ArrayRef<int64_t>{0, 2, 1, 3, 4});
}

namespace {

/// Conv(DequantizeLinear(x), DequantizeLinear(w)) of a QDQ model on the
/// integer kernels (see integerConvSums): x uint8 or int8 with one f32 scale and a
/// constant zero point, w a constant int8 filter whose zero point is 0
/// and whose f32 scale is one value or one per output channel. The exact
/// i32 sums of (x - x_zp) * w, times x_scale * w_scale, plus the bias in
/// f32: one rounding, as in onnxruntime's int8 kernels. Null when the
/// operands are not of that form.
FailureOr<Value> dequantizedIntegerConv(ImportContext &ctx, Value x, Value w, Value bias,
                                        const Window &window, int64_t group) {
  auto dx = ctx.dequantizedFrom(x), dw = ctx.dequantizedFrom(w);
  if (!ctx.integerConvolutions() || !dx || !dw || ImportContext::typeOf(dw->q).getRank() != 4)
    return Value();
  // Group 1, or depthwise (see integerDepthwiseSums).
  ArrayRef<int64_t> ws = ImportContext::typeOf(dw->q).getShape();
  bool depthwise = group > 1 && ws[0] == group && ws[1] == 1 &&
                   ImportContext::typeOf(dx->q).getShape()[1] == group;
  if (group != 1 && !depthwise)
    return Value();
  int64_t f = ImportContext::typeOf(dw->q).getShape()[0];
  WEFT_TRY(multiplier, productScale(ctx, *dx, *dw, 0, {1, f, 1, 1}));
  if (!multiplier)
    return Value();
  if (bias) {
    auto bt = ImportContext::typeOf(bias);
    if (!bt.getElementType().isF32() || bt.getRank() != 1 || bt.getShape()[0] != f)
      return Value();
  }
  WEFT_TRY(sum, (depthwise ? integerDepthwiseSums : integerConvSums)(
                    ctx, dx->q, dx->zeroPoint, dw->q, dw->zeroPoint, window.strides,
                    window.dilations, window.pads));
  if (!sum)
    return Value();
  Value real = ctx.create<CastOp>(ImportContext::typeOf(sum).clone(Float32Type::get(
                                      ctx.getContext())),
                                  sum);
  auto y = ctx.createInferred<MulOp>(real, multiplier);
  if (failed(y))
    return failure();
  if (!bias)
    return *y;
  auto b = ctx.reshape(bias, {1, f, 1, 1});
  if (failed(b))
    return failure();
  return ctx.createInferred<AddOp>(*y, *b);
}

LogicalResult convertConv(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto w = ctx.input(node, 1);
  if (failed(w))
    return failure();
  auto bias = ctx.optionalInput(node, 2);
  if (failed(bias))
    return failure();
  auto xt = ImportContext::typeOf(*x), wt = ImportContext::typeOf(*w);
  if ((xt.getRank() != 4 && xt.getRank() != 5) || wt.getRank() != xt.getRank())
    return ctx.fail("only 1-D, 2-D and 3-D convolution (rank-3, 4 or 5 input and weight of "
                    "the same rank) are supported; the input has rank " +
                    Twine(xt.getRank()) + " and the weight rank " +
                    Twine(wt.getRank()));
  ArrayRef<int64_t> kernel = wt.getShape().drop_front(2);
  if (auto ks = ctx.getOptionalInts(node, "kernel_shape"))
    if (ArrayRef<int64_t>(*ks) != kernel)
      return ctx.fail("kernel_shape does not match the weight's spatial "
                      "dimensions");
  // An empty window has no output ONNX defines (onnxruntime refuses it).
  if (llvm::any_of(kernel, [](int64_t k) { return k < 1; }))
    return ctx.fail("the weight's window has an empty spatial dimension; kernel sizes must "
                    "be positive");
  auto window = readWindow(ctx, node, xt.getShape().drop_front(2), kernel);
  if (failed(window))
    return failure();
  int64_t group = ctx.getInt(node, "group", 1);
  if (group <= 0)
    return ctx.fail("group must be positive");
  if (xt.getRank() == 5) {
    WEFT_TRY(result, convolve3D(ctx, *x, *w, *bias, window->strides, window->dilations,
                                window->pads, group));
    ctx.setOutput(node, 0, result);
    return success();
  }
  WEFT_TRY(integer, dequantizedIntegerConv(ctx, *x, *w, *bias, *window, group));
  if (integer) {
    ctx.setOutput(node, 0, integer);
    return success();
  }
  auto result = ctx.createInferred<ConvOp>(
      *x, *w, *bias, ArrayRef<int64_t>(window->strides),
      ArrayRef<int64_t>(window->dilations), ArrayRef<int64_t>(window->pads),
      (uint64_t)group);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

LogicalResult convertConvAnyRank(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (ImportContext::typeOf(*x).getRank() == 3)
    return windowAs2D(ctx, node, opset, convertConv);
  return convertConv(ctx, node, opset);
}

// Col2Im: every column of X is one block of the image, its C x K values
// (K = the block's size) added at the block's place. That is ConvTranspose
// with X viewed as [N, C*K, blocks..] and C groups, each group's K channels
// placing one block element through a one-hot [K, 1, block..] filter; an
// image larger than the last block's end is completed by output_padding.
LogicalResult convertCol2Im(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  if (!isa<FloatType>(xt.getElementType()))
    return ctx.fail("needs a floating-point input");
  if (xt.getRank() != 3)
    return ctx.fail("needs an input [N, C * block size, blocks], got rank " +
                    Twine(xt.getRank()));
  auto image = ctx.constantInts(node, 1, "image_shape");
  auto block = ctx.constantInts(node, 2, "block_shape");
  if (failed(image) || failed(block))
    return failure();
  int64_t nd = image->size();
  if (nd < 1 || nd > 3 || (int64_t)block->size() != nd)
    return ctx.fail("image_shape and block_shape need the same 1 to 3 entries");
  SmallVector<int64_t> dil = ctx.getInts(node, "dilations", SmallVector<int64_t>(nd, 1));
  SmallVector<int64_t> strides = ctx.getInts(node, "strides", SmallVector<int64_t>(nd, 1));
  SmallVector<int64_t> pads = ctx.getInts(node, "pads", SmallVector<int64_t>(2 * nd, 0));
  if ((int64_t)dil.size() != nd || (int64_t)strides.size() != nd ||
      (int64_t)pads.size() != 2 * nd)
    return ctx.fail("dilations and strides need " + Twine(nd) + " entries, pads " +
                    Twine(2 * nd));
  int64_t k = 1, blocks = 1;
  SmallVector<int64_t> counts, outPad;
  for (int64_t i = 0; i < nd; ++i) {
    int64_t b = (*block)[i], img = (*image)[i];
    if (b < 1 || img < 1 || dil[i] < 1 || strides[i] < 1 || pads[i] < 0 || pads[i + nd] < 0 ||
        b > 4096 || dil[i] > 4096 || strides[i] > 4096 || img > (int64_t(1) << 24))
      return ctx.fail("image and block sizes, dilations and strides must be positive (at "
                      "most 4096, images 2^24), pads non-negative");
    int64_t span = (b - 1) * dil[i] + 1, padded = img + pads[i] + pads[i + nd];
    if (padded < span)
      return ctx.fail("the block (" + Twine(span) + " elements with dilation) is larger "
                      "than the padded image (" + Twine(padded) + ") in dimension " + Twine(i));
    int64_t count = (padded - span) / strides[i] + 1;
    counts.push_back(count);
    outPad.push_back(padded - ((count - 1) * strides[i] + span));
    k *= b;
    blocks *= count;
  }
  int64_t n = xt.getShape()[0], ck = xt.getShape()[1];
  if (ck % k != 0)
    return ctx.fail("the input's " + Twine(ck) + " rows are not a multiple of the block "
                    "size " + Twine(k));
  if (xt.getShape()[2] != blocks)
    return ctx.fail("the input has " + Twine(xt.getShape()[2]) + " columns; the image and "
                    "block shapes make " + Twine(blocks) + " blocks");
  int64_t channels = ck / k;
  SmallVector<int64_t> viewShape{n, ck};
  viewShape.append(counts);
  auto view = ctx.reshape(*x, viewShape);
  if (failed(view))
    return failure();
  SmallVector<int64_t> filterShape{ck, 1};
  filterShape.append(block->begin(), block->end());
  auto filterType = RankedTensorType::get(filterShape, xt.getElementType());
  SmallVector<APFloat> ones(ck * k, APFloat::getZero(cast<FloatType>(xt.getElementType())
                                                         .getFloatSemantics()));
  for (int64_t r = 0; r < ck; ++r)
    ones[r * k + r % k] = APFloat::getOne(ones[0].getSemantics());
  Node copy;
  copy.set_op_type("ConvTranspose");
  copy.set_name(node.name());
  std::string inName = node.output(0) + "\x01col2im_in";
  std::string wName = node.output(0) + "\x01col2im_w";
  copy.add_input(inName);
  copy.add_input(wName);
  copy.add_output(node.output(0));
  auto ints = [&](StringRef name, ArrayRef<int64_t> values) { addInts(copy, name, values); };
  ints("strides", strides);
  ints("dilations", dil);
  ints("pads", pads);
  ints("output_padding", outPad);
  auto *g = copy.add_attribute();
  g->set_name("group");
  g->set_type(onnx::AttributeProto_AttributeType_INT);
  g->set_i(channels);
  ctx.define(inName, *view);
  ctx.define(wName, ctx.constant(DenseElementsAttr::get(filterType, ones)));
  return ctx.convertWith("ConvTranspose", copy, opset);
}

} // namespace

void weft::registerNNConverters(ConverterTable &t) {
  t["Col2Im"] = convertCol2Im;
  t["MatMul"] = convertMatMul;
  t["Gemm"] = convertGemm;
  t["Conv"] = convertConvAnyRank;
}

/// The uint8 input of the integer kernels, whose dot products multiply
/// unsigned by signed bytes: a uint8 `x` as it is; an int8 one as the
/// uint8 x + 128 (a widening cast, an add and a narrowing one, which fuse
/// into x's producer), its zero point moved by 128 too. `zeroPoint` must be
/// absent (0) or one constant of x's type; `zp` gets it, in uint8 terms.
/// Null when x or its zero point do not qualify.
static FailureOr<Value> uint8Input(ImportContext &ctx, Value x, Value zeroPoint, uint64_t &zp) {
  auto t = ImportContext::typeOf(x);
  Type elt = t.getElementType();
  bool isSigned = elt.isSignlessInteger(8);
  if (!elt.isUnsignedInteger(8) && !isSigned)
    return Value();
  zp = isSigned ? 128 : 0;
  if (zeroPoint) {
    DenseElementsAttr z = ImportContext::getConstantValue(zeroPoint);
    if (!z || z.getNumElements() != 1 || z.getElementType() != elt)
      return Value();
    const APInt &v = *z.getValues<APInt>().begin();
    zp = isSigned ? (uint64_t)(v.getSExtValue() + 128) : v.getZExtValue();
  }
  if (!isSigned)
    return x;
  MLIRContext *mctx = ctx.getContext();
  Type i32 = IntegerType::get(mctx, 32);
  Value wide = ctx.create<CastOp>(t.clone(i32), x);
  Value offset = ctx.constant(DenseElementsAttr::get(RankedTensorType::get({}, i32), int32_t(128)));
  WEFT_TRY(shifted, ctx.createInferred<AddOp>(wide, offset));
  return ctx.create<CastOp>(t.clone(IntegerType::get(mctx, 8, IntegerType::Unsigned)), shifted);
}

/// The constant int8 filter of an integer convolution whose operands
/// qualify: x a static rank-4 tensor, w a constant rank-4 int8 filter whose
/// zero point is absent or constant zeros, a 2-D window. Null otherwise
/// (x's type and zero point are uint8Input's business).
static DenseElementsAttr integerFilter(Value x, Value w, Value wZeroPoint,
                                       ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations,
                                       ArrayRef<int64_t> pads) {
  auto qx = ImportContext::typeOf(x), qw = ImportContext::typeOf(w);
  DenseElementsAttr wq = ImportContext::getConstantValue(w);
  if (qx.getRank() != 4 || !qx.hasStaticShape() || !wq ||
      !qw.getElementType().isSignlessInteger(8) || qw.getRank() != 4 || strides.size() != 2 ||
      dilations.size() != 2 || pads.size() != 4)
    return nullptr;
  if (wZeroPoint) {
    DenseElementsAttr z = ImportContext::getConstantValue(wZeroPoint);
    if (!z || llvm::any_of(z.getValues<APInt>(), [](const APInt &v) { return !v.isZero(); }))
      return nullptr;
  }
  return wq;
}

FailureOr<Value> weft::integerConvSums(ImportContext &ctx, Value x, Value xZeroPoint, Value w,
                                       Value wZeroPoint, ArrayRef<int64_t> strides,
                                       ArrayRef<int64_t> dilations, ArrayRef<int64_t> pads) {
  if (!ctx.integerConvolutions())
    return Value();
  auto qx = ImportContext::typeOf(x), qw = ImportContext::typeOf(w);
  // The filter: constant int8, its zero point 0.
  DenseElementsAttr wq = integerFilter(x, w, wZeroPoint, strides, dilations, pads);
  if (!wq)
    return Value();
  int64_t f = qw.getShape()[0], c = qw.getShape()[1];
  if (f < 1 || c != qx.getShape()[1])
    return Value();
  // The input's: one constant (uint8, or int8 with the input shifted).
  bool spatialPads = llvm::any_of(pads, [](int64_t v) { return v != 0; });
  uint64_t xZp = 0;
  WEFT_TRY(unsignedX, uint8Input(ctx, x, xZeroPoint, xZp));
  if (!unsignedX)
    return Value();
  // Padding by the zero point (the centered 0); input channels up to a
  // multiple of 4 (their filter weights are 0). Output channels go up to a
  // multiple of 4 too (the narrowest dot product), by zero filters whose
  // sums a slice drops.
  Value input = unsignedX, filter = w;
  int64_t extra = llvm::alignTo(c, 4) - c, fAll = llvm::alignTo(f, 4);
  if (extra || spatialPads) {
    auto padded = ctx.createInferred<PadOp>(
        input, ArrayRef<int64_t>{0, 0, pads[0], pads[1]},
        ArrayRef<int64_t>{0, extra, pads[2], pads[3]},
        cast<TypedAttr>(
            IntegerAttr::get(ImportContext::typeOf(unsignedX).getElementType(), xZp)));
    if (failed(padded))
      return failure();
    input = *padded;
  }
  ArrayRef<int64_t> ws = qw.getShape();
  int64_t window = ws[2] * ws[3];
  // Every i32 sum must be exact: 255 x a channel's sum of |w| (and the
  // zero point's share) within 2^31 (a long reduction of large weights
  // keeps the other paths).
  {
    SmallVector<int64_t> magnitude(f, 0);
    int64_t i = 0;
    for (const APInt &v : wq.getValues<APInt>())
      magnitude[i++ / (c * window)] += std::abs(v.getSExtValue());
    if (255 * *llvm::max_element(magnitude) >= (int64_t(1) << 31))
      return Value();
  }
  if (extra || fAll != f) {
    std::vector<int8_t> wide(fAll * (c + extra) * window, 0);
    int64_t i = 0;
    for (const APInt &v : wq.getValues<APInt>()) {
      int64_t o = i / (c * window), rest = i % (c * window);
      wide[o * (c + extra) * window + rest] = (int8_t)v.getSExtValue();
      ++i;
    }
    auto type = RankedTensorType::get({fAll, c + extra, ws[2], ws[3]}, qw.getElementType());
    filter = ctx.constant(DenseElementsAttr::get(type, ArrayRef<int8_t>(wide)));
  }
  WEFT_TRY(acc, ctx.createInferred<ConvOp>(input, filter, Value(), strides, dilations,
                                           ArrayRef<int64_t>{0, 0, 0, 0}, (uint64_t)1));
  Value sums = acc;
  if (xZp != 0) {
    // Minus x_zp times each output channel's filter sum.
    SmallVector<int32_t> correction(fAll, 0);
    int64_t per = c * window, i = 0;
    for (const APInt &v : wq.getValues<APInt>())
      correction[i++ / per] += (int32_t)xZp * (int32_t)v.getSExtValue();
    Value corr = ctx.constant(DenseElementsAttr::get(
        RankedTensorType::get({1, fAll, 1, 1}, IntegerType::get(ctx.getContext(), 32)),
        ArrayRef<int32_t>(correction)));
    WEFT_TRY(corrected, ctx.createInferred<SubOp>(sums, corr));
    sums = corrected;
  }
  if (fAll == f)
    return sums;
  ArrayRef<int64_t> os = ImportContext::typeOf(sums).getShape();
  return ctx.createInferred<SliceOp>(sums, ArrayRef<int64_t>{0, 0, 0, 0},
                                     ArrayRef<int64_t>{os[0], f, os[2], os[3]},
                                     ArrayRef<int64_t>{1, 1, 1, 1});
}

FailureOr<Value> weft::integerDepthwiseSums(ImportContext &ctx, Value x, Value xZeroPoint,
                                            Value w, Value wZeroPoint,
                                            ArrayRef<int64_t> strides,
                                            ArrayRef<int64_t> dilations,
                                            ArrayRef<int64_t> pads) {
  if (!ctx.integerConvolutions())
    return Value();
  auto qx = ImportContext::typeOf(x), qw = ImportContext::typeOf(w);
  DenseElementsAttr wq = integerFilter(x, w, wZeroPoint, strides, dilations, pads);
  if (!wq)
    return Value();
  int64_t c = qx.getShape()[1];
  if (c < 2 || qw.getShape()[0] != c || qw.getShape()[1] != 1)
    return Value();
  uint64_t xZp = 0;
  WEFT_TRY(unsignedX, uint8Input(ctx, x, xZeroPoint, xZp));
  if (!unsignedX)
    return Value();
  // A window's 255 x 127 x KH x KW stays far inside i32 for any window a
  // model has (2^31 / 32385 taps); refuse the absurd rest.
  int64_t window = qw.getShape()[2] * qw.getShape()[3];
  if (window > 65536)
    return Value();
  // Padding by the zero point (the centered 0).
  Value input = unsignedX;
  if (llvm::any_of(pads, [](int64_t v) { return v != 0; })) {
    WEFT_TRY(padded, ctx.createInferred<PadOp>(
                         input, ArrayRef<int64_t>{0, 0, pads[0], pads[1]},
                         ArrayRef<int64_t>{0, 0, pads[2], pads[3]},
                         cast<TypedAttr>(IntegerAttr::get(
                             ImportContext::typeOf(unsignedX).getElementType(), xZp))));
    input = padded;
  }
  WEFT_TRY(acc, ctx.createInferred<ConvOp>(input, w, Value(), strides, dilations,
                                           ArrayRef<int64_t>{0, 0, 0, 0}, (uint64_t)c));
  if (xZp == 0)
    return acc;
  // Minus x_zp times each channel's filter sum.
  SmallVector<int32_t> correction(c, 0);
  int64_t i = 0;
  for (const APInt &v : wq.getValues<APInt>())
    correction[i++ / window] += (int32_t)xZp * (int32_t)v.getSExtValue();
  Value corr = ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get({1, c, 1, 1}, IntegerType::get(ctx.getContext(), 32)),
      ArrayRef<int32_t>(correction)));
  return ctx.createInferred<SubOp>(acc, corr);
}

FailureOr<Value> weft::integerMatMulSums(ImportContext &ctx, Value a, Value aZeroPoint, Value b,
                                         Value bZeroPoint) {
  if (!ctx.integerConvolutions())
    return Value();
  auto at = ImportContext::typeOf(a), bt = ImportContext::typeOf(b);
  DenseElementsAttr bq = ImportContext::getConstantValue(b);
  // A uint8 or int8 (see uint8Input, through integerConvSums).
  bool signedA = at.getElementType().isSignlessInteger(8);
  if (!bq || at.getRank() < 2 || bt.getRank() != 2 || !at.hasStaticShape() ||
      (!at.getElementType().isUnsignedInteger(8) && !signedA) ||
      !bt.getElementType().isSignlessInteger(8))
    return Value();
  int64_t k = bt.getShape()[0], n = bt.getShape()[1];
  if (at.getShape().back() != k || n < 1 || k < 1)
    return Value();
  int64_t m = at.getNumElements() / k;
  // B^T as a 1x1 filter [N, K, 1, 1].
  std::vector<int8_t> filter(n * k);
  int64_t i = 0;
  for (const APInt &v : bq.getValues<APInt>()) {
    filter[(i % n) * k + i / n] = (int8_t)v.getSExtValue();
    ++i;
  }
  Value w = ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get({n, k, 1, 1}, bt.getElementType()), ArrayRef<int8_t>(filter)));
  // An int8 A shifted to uint8 here, before the reshape, so the shift
  // joins A's producer (its zero point moves by `shift`, below).
  Value unsignedA = a;
  int32_t shift = 0;
  if (signedA) {
    uint64_t unused;
    WEFT_TRY(shifted, uint8Input(ctx, a, Value(), unused));
    unsignedA = shifted;
    shift = 128;
  }
  // A's rows as the columns of a one-row NCHW image (the layout pass
  // cancels the transposes: its channels-last form is A's own layout).
  auto rows = ctx.reshape(unsignedA, {1, 1, m, k});
  if (failed(rows))
    return failure();
  auto image = ctx.createInferred<TransposeOp>(*rows, ArrayRef<int64_t>{0, 3, 1, 2});
  if (failed(image))
    return failure();
  // A's zero point: one value of A's type, constant or computed at run
  // time.
  if (aZeroPoint) {
    auto zt = ImportContext::typeOf(aZeroPoint);
    if (zt.getNumElements() != 1 || zt.getElementType() != at.getElementType())
      return Value();
  }
  auto sums = integerConvSums(ctx, *image, Value(), w, bZeroPoint, {1, 1}, {1, 1},
                              {0, 0, 0, 0});
  if (failed(sums) || !*sums)
    return sums;
  auto back = ctx.createInferred<TransposeOp>(*sums, ArrayRef<int64_t>{0, 2, 3, 1});
  if (failed(back))
    return failure();
  SmallVector<int64_t> shape(at.getShape().drop_back());
  shape.push_back(n);
  auto product = ctx.reshape(*back, shape);
  if (failed(product) || (!aZeroPoint && !shift))
    return product;
  // Minus a_zp (+ shift) times each column's sum of B, on the [.., M, N]
  // result (an operand of N values, which joins the kernel's epilogue).
  Type i32 = IntegerType::get(ctx.getContext(), 32);
  SmallVector<int32_t> columns(n, 0);
  i = 0;
  for (const APInt &v : bq.getValues<APInt>())
    columns[i++ % n] += (int32_t)v.getSExtValue();
  auto columnType = RankedTensorType::get({n}, i32);
  Value corr;
  DenseElementsAttr z = aZeroPoint ? ImportContext::getConstantValue(aZeroPoint) : nullptr;
  if (!aZeroPoint || z) {
    int32_t zp = shift;
    if (z) {
      const APInt &v = *z.getValues<APInt>().begin();
      zp += (int32_t)(signedA ? v.getSExtValue() : (int64_t)v.getZExtValue());
    }
    for (int32_t &v : columns)
      v *= zp;
    corr = ctx.constant(DenseElementsAttr::get(columnType, ArrayRef<int32_t>(columns)));
  } else {
    auto scalar = ctx.reshape(aZeroPoint, {});
    if (failed(scalar))
      return failure();
    Value zp32 = ctx.create<CastOp>(RankedTensorType::get({}, i32), *scalar);
    if (shift) {
      WEFT_TRY(moved, ctx.createInferred<AddOp>(
                          zp32, ctx.constant(DenseElementsAttr::get(
                                    RankedTensorType::get({}, i32), shift))));
      zp32 = moved;
    }
    auto scaled = ctx.createInferred<MulOp>(
        ctx.constant(DenseElementsAttr::get(columnType, ArrayRef<int32_t>(columns))), zp32);
    if (failed(scaled))
      return failure();
    corr = *scaled;
  }
  return ctx.createInferred<SubOp>(*product, corr);
}
