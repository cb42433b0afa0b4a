//===- ConvertNN.cpp - neural-network ONNX ops -> weft --------------------===//
//
// Contractions (MatMul, Gemm), windows in 1-D to 3-D (Conv, MaxPool with
// Indices, AveragePool, LpPool, global pooling, MaxUnpool, Col2Im), ArgMax/
// ArgMin and the Reduce* family. auto_pad is resolved to explicit pads here,
// so no ONNX padding rule survives import.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

//===----------------------------------------------------------------------===//
// MatMul and Gemm
//===----------------------------------------------------------------------===//

// numpy matmul: a 1-D left operand is a row vector, a 1-D right operand a
// column vector, and the added dimension is dropped from the result.
LogicalResult convertMatMul(ImportContext &ctx, const Node &node, int64_t) {
  auto a = ctx.input(node, 0);
  if (failed(a))
    return failure();
  auto b = ctx.input(node, 1);
  if (failed(b))
    return failure();
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

//===----------------------------------------------------------------------===//
// Windows: Conv and pooling
//===----------------------------------------------------------------------===//

/// Adds an INTS attribute to a node built here (a 3-D pool's 2-D steps,
/// Col2Im's ConvTranspose).
void addInts(Node &node, StringRef name, ArrayRef<int64_t> values) {
  auto *a = node.add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto_AttributeType_INTS);
  for (int64_t v : values)
    a->add_ints(v);
}

struct Window {
  SmallVector<int64_t> strides, dilations, pads;
};

// Reads strides, dilations and the padding (explicit or auto_pad) of a
// window op over spatial extents `in` (1, 2 or 3 of them) with kernel
// `kernel`. `pads` holds every dimension's begin, then every end.
FailureOr<Window> readWindow(ImportContext &ctx, const Node &node,
                             ArrayRef<int64_t> in, ArrayRef<int64_t> kernel) {
  Window w;
  size_t n = in.size();
  w.strides = ctx.getInts(node, "strides", SmallVector<int64_t>(n, 1));
  w.dilations = ctx.getInts(node, "dilations", SmallVector<int64_t>(n, 1));
  if (w.strides.size() != n || w.dilations.size() != n)
    return ctx.fail("expects " + Twine(n) + " strides and " + Twine(n) +
                    " dilations for a " + Twine(n) + "-D window");
  if (llvm::any_of(w.strides, [](int64_t s) { return s <= 0; }) ||
      llvm::any_of(w.dilations, [](int64_t d) { return d <= 0; }))
    return ctx.fail("strides and dilations must be positive");
  std::string autoPad = ctx.getString(node, "auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && ImportContext::hasAttr(node, "pads"))
    return ctx.fail("auto_pad '" + autoPad +
                    "' and explicit pads cannot be used together");
  w.pads.assign(2 * n, 0);
  if (autoPad == "NOTSET") {
    w.pads = ctx.getInts(node, "pads", SmallVector<int64_t>(2 * n, 0));
    if (w.pads.size() != 2 * n)
      return ctx.fail("expects " + Twine(2 * n) + " pads (every begin, then every end)");
    if (llvm::any_of(w.pads, [](int64_t p) { return p < 0; }))
      return ctx.fail("pads must be non-negative");
    // A pad wider than the padded extent's plausible size only makes a
    // tensor of zeros; bound it so shape arithmetic cannot overflow.
    if (llvm::any_of(w.pads, [](int64_t p) { return p > (int64_t(1) << 31); }))
      return ctx.fail("pads larger than 2^31 are not supported");
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    // The output keeps ceil(in / stride) positions; the extra padding goes
    // at the end (SAME_UPPER) or the beginning (SAME_LOWER) when odd.
    for (size_t i = 0; i < n; ++i) {
      int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
      int64_t span = (kernel[i] - 1) * w.dilations[i] + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + span - in[i]);
      int64_t small = total / 2, large = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : large;
      w.pads[i + n] = autoPad == "SAME_UPPER" ? large : small;
    }
  } else if (autoPad != "VALID") {
    return ctx.fail("unknown auto_pad '" + autoPad + "'");
  }
  for (size_t i = 0; i < n; ++i) {
    int64_t span = (kernel[i] - 1) * w.dilations[i] + 1;
    if (in[i] + w.pads[i] + w.pads[i + n] < span)
      return ctx.fail("the window (" + Twine(span) +
                      " elements with dilation) is larger than the padded "
                      "input (" +
                      Twine(in[i] + w.pads[i] + w.pads[i + n]) +
                      ") in spatial dimension " + Twine(i));
  }
  return w;
}

} // namespace

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
  auto result = ctx.createInferred<ConvOp>(
      *x, *w, *bias, ArrayRef<int64_t>(window->strides),
      ArrayRef<int64_t>(window->dilations), ArrayRef<int64_t>(window->pads),
      (uint64_t)group);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

// MaxPool's Indices: for each window, the first tap (in window order) that
// lies inside X and equals the window's maximum, as a flat index into X
// (row-major, or column-major over the spatial axes for storage_order 1).
// The taps are strided slices of X padded to cover every window; which
// taps are inside X is known at compile time. `pads` in `window` holds
// every spatial begin, then every end.
FailureOr<Value> maxPoolIndices(ImportContext &ctx, Value x, Value maxima,
                                ArrayRef<int64_t> kernel, const Window &window,
                                bool columnMajor) {
  auto xt = ImportContext::typeOf(x);
  Type elt = xt.getElementType();
  int64_t rank = xt.getRank(), sp = rank - 2;
  ArrayRef<int64_t> in = xt.getShape().drop_front(2);
  ArrayRef<int64_t> out = ImportContext::typeOf(maxima).getShape().drop_front(2);
  int64_t n = xt.getShape()[0], c = xt.getShape()[1];
  ArrayRef<int64_t> st = window.strides, dl = window.dilations, pd = window.pads;
  int64_t taps = 1, positions = 1;
  for (int64_t d = 0; d < sp; ++d) {
    taps *= kernel[d];
    positions *= out[d];
  }
  SmallVector<int64_t> stackedShape{n, c};
  stackedShape.append(out.begin(), out.end());
  stackedShape.push_back(taps);
  if (failed(ctx.checkShape(stackedShape, "the pooling windows")))
    return failure();
  SmallVector<int64_t> low(rank, 0), high(rank, 0);
  for (int64_t d = 0; d < sp; ++d) {
    int64_t need = (out[d] - 1) * st[d] + (kernel[d] - 1) * dl[d] + 1;
    low[d + 2] = pd[d];
    high[d + 2] = std::max<int64_t>(0, need - in[d] - pd[d]);
  }
  TypedAttr zero = isa<FloatType>(elt) ? cast<TypedAttr>(FloatAttr::get(elt, 0.0))
                                       : cast<TypedAttr>(IntegerAttr::get(elt, 0));
  Value padded = x;
  if (llvm::any_of(low, [](int64_t v) { return v != 0; }) ||
      llvm::any_of(high, [](int64_t v) { return v != 0; })) {
    WEFT_TRY(p, ctx.createInferred<PadOp>(x, ArrayRef<int64_t>(low), ArrayRef<int64_t>(high),
                                          zero));
    padded = p;
  }
  // Taps in window order (the last axis fastest), each a strided slice.
  SmallVector<Value> slices;
  SmallVector<SmallVector<int64_t>> offsets(sp); // per axis, per tap
  SmallVector<int64_t> order;
  SmallVector<int64_t> tap(sp, 0);
  SmallVector<int64_t> lifted{n, c};
  lifted.append(out.begin(), out.end());
  lifted.push_back(1);
  for (int64_t t = 0; t < taps; ++t) {
    SmallVector<int64_t> starts(rank, 0), sizes{n, c}, steps(rank, 1);
    for (int64_t d = 0; d < sp; ++d) {
      starts[d + 2] = tap[d] * dl[d];
      sizes.push_back(out[d]);
      steps[d + 2] = st[d];
      offsets[d].push_back(tap[d] * dl[d]);
    }
    WEFT_TRY(slice, ctx.createInferred<SliceOp>(padded, ArrayRef<int64_t>(starts),
                                                ArrayRef<int64_t>(sizes),
                                                ArrayRef<int64_t>(steps)));
    WEFT_TRY(up, ctx.reshape(slice, lifted));
    slices.push_back(up);
    order.push_back(t);
    for (int64_t d = sp - 1; d >= 0 && ++tap[d] == kernel[d]; --d)
      tap[d] = 0;
  }
  // Which (position, tap) pairs read X rather than padding.
  std::vector<char> inside;
  inside.reserve(positions * taps);
  SmallVector<int64_t> pos(sp, 0);
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t t = 0; t < taps; ++t) {
      bool ok = true;
      for (int64_t d = 0; d < sp; ++d) {
        int64_t at = pos[d] * st[d] - pd[d] + offsets[d][t];
        ok &= at >= 0 && at < in[d];
      }
      inside.push_back(ok);
    }
    for (int64_t d = sp - 1; d >= 0 && ++pos[d] == out[d]; --d)
      pos[d] = 0;
  }
  Value stacked = slices.front();
  if (slices.size() > 1) {
    WEFT_TRY(cat, ctx.createInferred<ConcatOp>(slices, (uint64_t)rank));
    stacked = cat;
  }
  Type i1 = IntegerType::get(ctx.getContext(), 1), i64 = IntegerType::get(ctx.getContext(), 64);
  auto i64Const = [&](ArrayRef<int64_t> shape, ArrayRef<int64_t> values) {
    return ctx.constant(DenseElementsAttr::get(RankedTensorType::get(shape, i64), values));
  };
  SmallVector<int64_t> validShape{1, 1};
  validShape.append(out.begin(), out.end());
  validShape.push_back(taps);
  Value valid = ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get(validShape, i1),
      ArrayRef<bool>(reinterpret_cast<const bool *>(inside.data()), inside.size())));
  WEFT_TRY(maxView, ctx.reshape(maxima, lifted));
  WEFT_TRY(equal, ctx.createInferred<CompareOp>(CompareKind::eq, stacked, maxView));
  WEFT_TRY(hit, ctx.createInferred<AndOp>(equal, valid));
  WEFT_TRY(candidate, ctx.createInferred<WhereOp>(hit, i64Const({taps}, order),
                                                  ctx.splat(RankedTensorType::get({}, i64),
                                                            (double)taps)));
  WEFT_TRY(first, ctx.createInferred<ReduceOp>(ReduceKind::min, candidate,
                                               ArrayRef<int64_t>{rank}, false));
  // Per axis: the chosen tap's coordinate, then the flat index (the first
  // spatial axis fastest when column-major).
  SmallVector<int64_t> weight(sp, 1);
  for (int64_t d = sp - 2; d >= 0; --d)
    weight[d] = weight[d + 1] * in[d + 1];
  if (columnMajor)
    for (int64_t d = 0; d < sp; ++d)
      weight[d] = d == 0 ? 1 : weight[d - 1] * in[d - 1];
  Value index;
  for (int64_t d = 0; d < sp; ++d) {
    WEFT_TRY(delta, ctx.createInferred<GatherOp>(i64Const({taps}, offsets[d]), first,
                                                 (uint64_t)0));
    SmallVector<int64_t> startShape(rank, 1), starts;
    startShape[d + 2] = out[d];
    for (int64_t o = 0; o < out[d]; ++o)
      starts.push_back(o * st[d] - pd[d]);
    WEFT_TRY(coord, ctx.createInferred<AddOp>(delta, i64Const(startShape, starts)));
    WEFT_TRY(term, ctx.createInferred<MulOp>(
                       coord, ctx.splat(RankedTensorType::get({}, i64), (double)weight[d])));
    if (!index) {
      index = term;
      continue;
    }
    WEFT_TRY(sum, ctx.createInferred<AddOp>(index, term));
    index = sum;
  }
  int64_t plane = 1;
  for (int64_t v : in)
    plane *= v;
  SmallVector<int64_t> planeStart, planeShape(rank, 1);
  planeShape[0] = n;
  planeShape[1] = c;
  for (int64_t p = 0; p < n * c; ++p)
    planeStart.push_back(p * plane);
  return ctx.createInferred<AddOp>(index, i64Const(planeShape, planeStart));
}

template <PoolKind Kind>
LogicalResult convertPool(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  if (xt.getRank() != 4)
    return ctx.fail("only 1-D, 2-D and 3-D pooling (rank-3, 4 or 5 input) are supported; the "
                    "input has rank " +
                    Twine(xt.getRank()));
  auto kernel = ctx.getOptionalInts(node, "kernel_shape");
  if (!kernel)
    return ctx.fail("missing required attribute 'kernel_shape'");
  if (kernel->size() != 2 ||
      llvm::any_of(*kernel, [](int64_t k) { return k <= 0; }))
    return ctx.fail("kernel_shape must hold two positive sizes");
  auto window = readWindow(ctx, node, xt.getShape().drop_front(2), *kernel);
  if (failed(window))
    return failure();
  // A window wholly in the padding has no element to pool; onnxruntime
  // refuses such pads.
  for (int64_t d = 0; d < 2; ++d)
    if (window->pads[d] >= (*kernel)[d] || window->pads[d + 2] >= (*kernel)[d])
      return ctx.fail("pads (" + Twine(window->pads[d]) + ", " + Twine(window->pads[d + 2]) +
                      ") must be smaller than the kernel (" + Twine((*kernel)[d]) +
                      ") in spatial dimension " + Twine(d));
  bool ceilMode = ctx.getInt(node, "ceil_mode", 0) != 0;
  bool countIncludePad =
      Kind == PoolKind::avg && ctx.getInt(node, "count_include_pad", 0) != 0;
  // Codegen's max pooling compares signed: an unsigned input is pooled in
  // the next wider signed type, which holds all its values, and cast back.
  Value input = *x;
  Type elt = xt.getElementType();
  auto wideType = [&](Type t) -> Type {
    auto it = dyn_cast<IntegerType>(t);
    if (!it || !it.isUnsigned())
      return {};
    if (it.getWidth() >= 64)
      return {};
    return IntegerType::get(ctx.getContext(), it.getWidth() * 2);
  };
  Type wide = wideType(elt);
  if (auto it = dyn_cast<IntegerType>(elt); it && it.isUnsigned() && !wide)
    return ctx.fail("max pooling of uint64 is not supported");
  if (wide)
    input = ctx.create<CastOp>(RankedTensorType::get(xt.getShape(), wide), input);
  auto result = ctx.createInferred<PoolOp>(
      Kind, input, ArrayRef<int64_t>(*kernel), ArrayRef<int64_t>(window->strides),
      ArrayRef<int64_t>(window->dilations), ArrayRef<int64_t>(window->pads),
      ceilMode, countIncludePad);
  if (failed(result))
    return failure();
  Value out = *result;
  if (wide)
    out = ctx.create<CastOp>(
        RankedTensorType::get(ImportContext::typeOf(out).getShape(), elt), out);
  ctx.setOutput(node, 0, out);
  if (Kind == PoolKind::max && ImportContext::hasOutput(node, 1)) {
    WEFT_TRY(indices, maxPoolIndices(ctx, *x, out, *kernel, *window,
                                     ctx.getInt(node, "storage_order", 0) != 0));
    ctx.setOutput(node, 1, indices);
  }
  return success();
}

// A 1-D window op (rank-3 input) runs as the 2-D one over [N, C, 1, W]: a
// copy of the node with every window attribute given a leading unit
// dimension reads the reshaped input under a private name and writes a
// private output, which is reshaped back.
LogicalResult windowAs2D(ImportContext &ctx, const Node &node, int64_t opset,
                         LogicalResult (*convert2D)(ImportContext &, const Node &, int64_t)) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  Node copy = node;
  std::string in = node.input(0) + "\x01as2d", out = node.output(0) + "\x01as2d";
  copy.set_input(0, in);
  copy.set_output(0, out);
  // MaxPool's Indices index [N, C, 1, W] row-major, which is [N, C, W]'s
  // flat index too: they are only reshaped back.
  std::string indicesOut = node.output(0) + "\x01as2d_indices";
  bool withIndices = ImportContext::hasOutput(node, 1);
  for (int i = 1; i < copy.output_size(); ++i)
    copy.set_output(i, i == 1 && withIndices ? indicesOut : "");
  for (auto &attr : *copy.mutable_attribute()) {
    const std::string &name = attr.name();
    if (name != "kernel_shape" && name != "strides" && name != "dilations" && name != "pads")
      continue;
    std::vector<int64_t> values(attr.ints().begin(), attr.ints().end());
    attr.clear_ints();
    if (name == "pads") {
      if (values.size() != 2)
        return ctx.fail("a 1-D window needs 2 pads, got " + Twine(values.size()));
      for (int64_t v : {int64_t(0), values[0], int64_t(0), values[1]})
        attr.add_ints(v);
    } else {
      if (values.size() != 1)
        return ctx.fail("a 1-D window needs one value in '" + name + "', got " +
                        Twine(values.size()));
      attr.add_ints(1);
      attr.add_ints(values[0]);
    }
  }
  auto reshaped = ctx.reshape(*x, {xt.getShape()[0], xt.getShape()[1], 1, xt.getShape()[2]});
  if (failed(reshaped))
    return failure();
  ctx.define(in, *reshaped);
  // A convolution's rank-3 filter [M, C/g, k] becomes [M, C/g, 1, k].
  if (node.input_size() > 1 && !node.input(1).empty()) {
    auto w = ctx.input(node, 1);
    if (failed(w))
      return failure();
    auto wt = ImportContext::typeOf(*w);
    if (wt.getRank() == 3) {
      auto w4 = ctx.reshape(*w, {wt.getShape()[0], wt.getShape()[1], 1, wt.getShape()[2]});
      if (failed(w4))
        return failure();
      std::string wName = node.input(1) + "\x01as2d";
      ctx.define(wName, *w4);
      copy.set_input(1, wName);
    }
  }
  if (failed(convert2D(ctx, copy, opset)))
    return failure();
  auto result = ctx.lookup(out);
  if (failed(result))
    return failure();
  auto rt = ImportContext::typeOf(*result);
  auto back = ctx.reshape(*result, {rt.getShape()[0], rt.getShape()[1], rt.getShape()[3]});
  if (failed(back))
    return failure();
  ctx.setOutput(node, 0, *back);
  if (withIndices) {
    auto indices = ctx.lookup(indicesOut);
    if (failed(indices))
      return failure();
    auto flat = ctx.reshape(*indices, {rt.getShape()[0], rt.getShape()[1], rt.getShape()[3]});
    if (failed(flat))
      return failure();
    ctx.setOutput(node, 1, *flat);
  }
  return success();
}

// A 3-D max or average pool is separable: the window's maximum (or sum
// over a count that is a product of per-axis counts, with or without
// padding) is the H-W pool of every depth slice, then a pool along D.
// Both run as the 2-D op: [N, C*D, H, W] with the (kh, kw) window, then
// [N, C, D, OH*OW] with a (kd, 1) window. Each step is a copy of the node
// with 2-D window attributes, reading and writing private names.
template <PoolKind Kind>
LogicalResult pool3DAs2D(ImportContext &ctx, const Node &node, int64_t opset, Value x) {
  auto xt = ImportContext::typeOf(x);
  ArrayRef<int64_t> shape = xt.getShape();
  int64_t n = shape[0], c = shape[1], d = shape[2], h = shape[3], w = shape[4];
  auto kernel = ctx.getOptionalInts(node, "kernel_shape");
  if (!kernel || kernel->size() != 3 || llvm::any_of(*kernel, [](int64_t k) { return k <= 0; }))
    return ctx.fail("a 3-D pool needs kernel_shape with three positive sizes");
  SmallVector<int64_t> strides = ctx.getInts(node, "strides", {1, 1, 1});
  SmallVector<int64_t> dilations = ctx.getInts(node, "dilations", {1, 1, 1});
  if (strides.size() != 3 || dilations.size() != 3)
    return ctx.fail("a 3-D pool needs 3 strides and 3 dilations");
  if (llvm::any_of(strides, [](int64_t v) { return v <= 0; }) ||
      llvm::any_of(dilations, [](int64_t v) { return v <= 0; }))
    return ctx.fail("strides and dilations must be positive");
  std::string autoPad = ctx.getString(node, "auto_pad", "NOTSET");
  SmallVector<int64_t> pads(6, 0);
  int64_t in[3] = {d, h, w};
  if (autoPad == "NOTSET") {
    pads = ctx.getInts(node, "pads", {0, 0, 0, 0, 0, 0});
    if (pads.size() != 6 || llvm::any_of(pads, [](int64_t p) { return p < 0; }))
      return ctx.fail("a 3-D pool needs 6 non-negative pads");
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int i = 0; i < 3; ++i) {
      int64_t out = (in[i] + strides[i] - 1) / strides[i];
      int64_t span = ((*kernel)[i] - 1) * dilations[i] + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + span - in[i]);
      int64_t small = total / 2, large = total - small;
      pads[i] = autoPad == "SAME_UPPER" ? small : large;
      pads[i + 3] = autoPad == "SAME_UPPER" ? large : small;
    }
  } else if (autoPad != "VALID") {
    return ctx.fail("unknown auto_pad '" + autoPad + "'");
  }
  auto step = [&](Value input, StringRef tag, ArrayRef<int64_t> k, ArrayRef<int64_t> st,
                  ArrayRef<int64_t> dl, ArrayRef<int64_t> pd) -> FailureOr<Value> {
    Node copy;
    copy.set_op_type(node.op_type());
    copy.set_name(node.name());
    std::string inName = node.output(0) + "\x01" + tag.str() + "in";
    std::string outName = node.output(0) + "\x01" + tag.str() + "out";
    copy.add_input(inName);
    copy.add_output(outName);
    for (const auto &attr : node.attribute())
      if (attr.name() == "ceil_mode" || attr.name() == "count_include_pad")
        *copy.add_attribute() = attr;
    auto ints = [&](StringRef name, ArrayRef<int64_t> values) { addInts(copy, name, values); };
    ints("kernel_shape", k);
    ints("strides", st);
    ints("dilations", dl);
    ints("pads", pd);
    ctx.define(inName, input);
    if (failed(convertPool<Kind>(ctx, copy, opset)))
      return failure();
    return ctx.lookup(outName);
  };
  auto planes = ctx.reshape(x, {n, c * d, h, w});
  if (failed(planes))
    return failure();
  auto hw = step(*planes, "hw", {(*kernel)[1], (*kernel)[2]}, {strides[1], strides[2]},
                 {dilations[1], dilations[2]}, {pads[1], pads[2], pads[4], pads[5]});
  if (failed(hw))
    return failure();
  auto hwt = ImportContext::typeOf(*hw);
  int64_t oh = hwt.getShape()[2], ow = hwt.getShape()[3];
  auto columns = ctx.reshape(*hw, {n, c, d, oh * ow});
  if (failed(columns))
    return failure();
  auto dd = step(*columns, "d", {(*kernel)[0], 1}, {strides[0], 1}, {dilations[0], 1},
                 {pads[0], 0, pads[3], 0});
  if (failed(dd))
    return failure();
  int64_t od = ImportContext::typeOf(*dd).getShape()[2];
  auto out = ctx.reshape(*dd, {n, c, od, oh, ow});
  if (failed(out))
    return failure();
  ctx.setOutput(node, 0, *out);
  if (Kind == PoolKind::max && ImportContext::hasOutput(node, 1)) {
    Window window{strides, dilations, pads};
    WEFT_TRY(indices, maxPoolIndices(ctx, x, *out, *kernel, window,
                                     ctx.getInt(node, "storage_order", 0) != 0));
    ctx.setOutput(node, 1, indices);
  }
  return success();
}

template <PoolKind Kind>
LogicalResult convertPoolAnyRank(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  int64_t rank = ImportContext::typeOf(*x).getRank();
  if (rank == 3)
    return windowAs2D(ctx, node, opset, convertPool<Kind>);
  if (rank == 5)
    return pool3DAs2D<Kind>(ctx, node, opset, *x);
  return convertPool<Kind>(ctx, node, opset);
}

LogicalResult convertConvAnyRank(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (ImportContext::typeOf(*x).getRank() == 3)
    return windowAs2D(ctx, node, opset, convertConv);
  return convertConv(ctx, node, opset);
}

// LpPool: (sum over the window of |x|^p)^(1/p). The window sum is a
// depthwise convolution with a filter of ones over |x|^p, whose zero
// padding adds nothing; ceil_mode pads the end further with zeros so the
// last partial windows exist.
LogicalResult convertLpPool(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  Type elt = xt.getElementType();
  if (!isa<FloatType>(elt))
    return ctx.fail("needs a floating-point input");
  int64_t spatial = xt.getRank() - 2;
  if (spatial != 2 && spatial != 3)
    return ctx.fail("only 1-D, 2-D and 3-D pooling (rank-3, 4 or 5 input) are supported; "
                    "the input has rank " + Twine(xt.getRank()));
  auto kernel = ctx.getOptionalInts(node, "kernel_shape");
  if (!kernel)
    return ctx.fail("missing required attribute 'kernel_shape'");
  if ((int64_t)kernel->size() != spatial ||
      llvm::any_of(*kernel, [](int64_t k) { return k <= 0; }))
    return ctx.fail("kernel_shape must hold " + Twine(spatial) + " positive sizes");
  ArrayRef<int64_t> in = xt.getShape().drop_front(2);
  auto window = readWindow(ctx, node, in, *kernel);
  if (failed(window))
    return failure();
  int64_t p = ctx.getInt(node, "p", 2);
  if (p <= 0)
    return ctx.fail("p must be positive, got " + Twine(p));
  if (ctx.getInt(node, "ceil_mode", 0) != 0) {
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t span = ((*kernel)[i] - 1) * window->dilations[i] + 1;
      int64_t padded = in[i] + window->pads[i] + window->pads[i + spatial];
      int64_t s = window->strides[i];
      int64_t out = (padded - span + s - 1) / s + 1;
      // ONNX drops a last window that would start in the end padding.
      if ((out - 1) * s >= in[i] + window->pads[i])
        --out;
      window->pads[i + spatial] += std::max<int64_t>(0, (out - 1) * s + span - padded);
    }
  }
  Value a = ctx.create<AbsOp>(*x);
  auto scalar = [&](double v) { return ctx.splat(RankedTensorType::get({}, elt), v); };
  FailureOr<Value> powered = a;
  if (p == 2)
    powered = ctx.createInferred<MulOp>(a, a);
  else if (p != 1)
    powered = ctx.createInferred<PowOp>(a, scalar((double)p));
  if (failed(powered))
    return failure();
  int64_t channels = xt.getShape()[1];
  SmallVector<int64_t> filterShape{channels, 1};
  filterShape.append(kernel->begin(), kernel->end());
  Value ones = ctx.splat(RankedTensorType::get(filterShape, elt), 1.0);
  auto sum = spatial == 3
                 ? convolve3D(ctx, *powered, ones, Value(), window->strides,
                              window->dilations, window->pads, channels)
                 : ctx.createInferred<ConvOp>(*powered, ones, Value(),
                                              ArrayRef<int64_t>(window->strides),
                                              ArrayRef<int64_t>(window->dilations),
                                              ArrayRef<int64_t>(window->pads),
                                              (uint64_t)channels);
  if (failed(sum))
    return failure();
  FailureOr<Value> result = *sum;
  if (p == 2)
    result = ctx.create<SqrtOp>(*sum);
  else if (p != 1)
    result = ctx.createInferred<PowOp>(*sum, scalar(1.0 / (double)p));
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

LogicalResult convertLpPoolAnyRank(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (ImportContext::typeOf(*x).getRank() == 3)
    return windowAs2D(ctx, node, opset, convertLpPool);
  return convertLpPool(ctx, node, opset);
}

// storage_order only changes the Indices output: a model that sets it
// without asking for Indices computes the same values.
LogicalResult convertMaxPool(ImportContext &ctx, const Node &node,
                             int64_t opset) {
  return convertPoolAnyRank<PoolKind::max>(ctx, node, opset);
}

template <ReduceKind Kind>
LogicalResult convertGlobalPool(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  int64_t rank = ImportContext::typeOf(*x).getRank();
  if (rank < 3)
    return ctx.fail("expects an N x C x D1 x ... input of rank >= 3, got rank " +
                    Twine(rank));
  // A window with no element has no mean and no maximum; onnxruntime
  // refuses such an input unless the batch itself is empty.
  auto xType = ImportContext::typeOf(*x);
  if (xType.getDimSize(0) != 0 && llvm::is_contained(xType.getShape().drop_front(2), 0)) {
    std::string typeText;
    llvm::raw_string_ostream(typeText) << xType;
    return ctx.fail("pools over an empty spatial window (input type " + typeText + ")");
  }
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(2, rank));
  auto result = ctx.createInferred<ReduceOp>(Kind, *x, ArrayRef<int64_t>(axes),
                                             /*keepdims=*/true);
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

template <ReduceKind Kind>
LogicalResult convertReduce(ImportContext &ctx, const Node &node,
                            int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  int64_t rank = ImportContext::typeOf(*x).getRank();
  // axes moved from an attribute to an optional input: in opset 13 for
  // ReduceSum, in opset 18 for the others.
  int64_t axesInputOpset = Kind == ReduceKind::sum ? 13 : 18;
  SmallVector<int64_t> axes;
  if (opset >= axesInputOpset) {
    if (ImportContext::hasInput(node, 1)) {
      auto v = ctx.constantInts(node, 1, "axes");
      if (failed(v))
        return failure();
      axes = *v;
    }
  } else {
    axes = ctx.getInts(node, "axes", {});
  }
  bool keepdims = ctx.getInt(node, "keepdims", 1) != 0;
  if (axes.empty()) {
    if (ctx.getInt(node, "noop_with_empty_axes", 0) != 0) {
      ctx.setOutput(node, 0, *x);
      return success();
    }
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  auto normalized = ctx.normalizeAxes(axes, rank);
  if (failed(normalized))
    return failure();
  llvm::sort(*normalized);
  // ReduceMax/ReduceMin of bools (opset 20): any/all, reduced as i8.
  Value input = *x;
  auto xt = ImportContext::typeOf(input);
  bool boolMinMax = xt.getElementType().isInteger(1) &&
                    (Kind == ReduceKind::max || Kind == ReduceKind::min);
  if (boolMinMax)
    input = ctx.create<CastOp>(
        RankedTensorType::get(xt.getShape(), IntegerType::get(ctx.getContext(), 8)), input);
  auto result = ctx.createInferred<ReduceOp>(
      Kind, input, ArrayRef<int64_t>(*normalized), keepdims);
  if (failed(result))
    return failure();
  Value out = *result;
  if (boolMinMax)
    out = ctx.create<CastOp>(RankedTensorType::get(ImportContext::typeOf(out).getShape(),
                                                   xt.getElementType()),
                             out);
  ctx.setOutput(node, 0, out);
  return success();
}

} // namespace

namespace {
// ArgMax/ArgMin: the op drops the axis; keepdims=1 (the default) reshapes
// it back as a unit dimension.
template <typename OpTy>
LogicalResult convertArg(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (type.getElementType().isInteger(1))
    return ctx.fail("does not accept bool tensors");
  if (type.getRank() == 0)
    return ctx.fail("needs an input of rank >= 1");
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  bool keepdims = ctx.getInt(node, "keepdims", 1) != 0;
  bool last = ctx.getInt(node, "select_last_index", 0) != 0;
  auto r = ctx.createInferred<OpTy>(*x, *axis, last);
  if (failed(r))
    return failure();
  Value result = *r;
  if (keepdims) {
    SmallVector<int64_t> shape(type.getShape());
    shape[*axis] = 1;
    auto reshaped = ctx.reshape(result, shape);
    if (failed(reshaped))
      return failure();
    result = *reshaped;
  }
  ctx.setOutput(node, 0, result);
  return success();
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

// MaxUnpool: X's values written into zeros at MaxPool's indices, which
// index the flattened output (batch and channels included). Indices out of
// range are clamped, like every run-time scatter index.
LogicalResult convertMaxUnpool(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  auto indices = ctx.input(node, 1);
  if (failed(x) || failed(indices))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  auto it = ImportContext::typeOf(*indices);
  if (it.getShape() != xt.getShape() || !it.getElementType().isInteger(64))
    return ctx.fail("I must be int64 with X's shape");
  int64_t spatial = xt.getRank() - 2;
  if (spatial < 1)
    return ctx.fail("X must have rank 3 or more");
  SmallVector<int64_t> kernel = ctx.getInts(node, "kernel_shape", {});
  SmallVector<int64_t> strides = ctx.getInts(node, "strides", SmallVector<int64_t>(spatial, 1));
  SmallVector<int64_t> pads = ctx.getInts(node, "pads", SmallVector<int64_t>(2 * spatial, 0));
  if ((int64_t)kernel.size() != spatial || (int64_t)strides.size() != spatial ||
      (int64_t)pads.size() != 2 * spatial)
    return ctx.fail("kernel_shape and strides need " + Twine(spatial) + " entries, pads " +
                    Twine(2 * spatial));
  SmallVector<int64_t> outShape(xt.getShape().take_front(2));
  for (int64_t d = 0; d < spatial; ++d)
    outShape.push_back((xt.getShape()[2 + d] - 1) * strides[d] + kernel[d] - pads[d] -
                       pads[spatial + d]);
  if (ImportContext::hasOutput(node, 0) && node.input_size() > 2 && !node.input(2).empty()) {
    auto given = ctx.constantInts(node, 2, "output_shape");
    if (failed(given))
      return failure();
    if ((int64_t)given->size() != xt.getRank())
      return ctx.fail("output_shape has " + Twine(given->size()) + " entries for rank " +
                      Twine(xt.getRank()));
    // The indices address the unpooled shape; placing them in a larger
    // output_shape means re-linearizing each, which is not built.
    if (ArrayRef<int64_t>(*given) != ArrayRef<int64_t>(outShape))
      return ctx.fail("an output_shape other than the unpooled shape is not supported");
  }
  if (failed(ctx.checkShape(outShape, "the output")))
    return failure();
  int64_t total = 1;
  for (int64_t d : outShape)
    total *= d;
  auto flatX = ctx.reshape(*x, {xt.getNumElements()});
  auto flatI = ctx.reshape(*indices, {xt.getNumElements()});
  if (failed(flatX) || failed(flatI))
    return failure();
  Value zeros = ctx.splat(RankedTensorType::get({total}, xt.getElementType()), 0.0);
  auto scattered = ctx.createInferred<ScatterElementsOp>(zeros, *flatI, *flatX, (int64_t)0,
                                                         ScatterReduction::none);
  if (failed(scattered))
    return failure();
  auto out = ctx.reshape(*scattered, outShape);
  if (failed(out))
    return failure();
  ctx.setOutput(node, 0, *out);
  return success();
}

} // namespace

void weft::registerNNConverters(ConverterTable &t) {
  t["MaxUnpool"] = convertMaxUnpool;
  t["Col2Im"] = convertCol2Im;
  t["ArgMax"] = convertArg<ArgMaxOp>;
  t["ArgMin"] = convertArg<ArgMinOp>;
  t["MatMul"] = convertMatMul;
  t["Gemm"] = convertGemm;
  t["Conv"] = convertConvAnyRank;
  t["MaxPool"] = convertMaxPool;
  t["AveragePool"] = convertPoolAnyRank<PoolKind::avg>;
  t["LpPool"] = convertLpPoolAnyRank;
  t["GlobalAveragePool"] = convertGlobalPool<ReduceKind::mean>;
  t["GlobalMaxPool"] = convertGlobalPool<ReduceKind::max>;
  t["ReduceSum"] = convertReduce<ReduceKind::sum>;
  t["ReduceMean"] = convertReduce<ReduceKind::mean>;
  t["ReduceMax"] = convertReduce<ReduceKind::max>;
  t["ReduceMin"] = convertReduce<ReduceKind::min>;
  t["ReduceProd"] = convertReduce<ReduceKind::prod>;
  t["ReduceL1"] = convertReduce<ReduceKind::l1>;
  t["ReduceL2"] = convertReduce<ReduceKind::l2>;
  t["ReduceLogSum"] = convertReduce<ReduceKind::log_sum>;
  t["ReduceLogSumExp"] = convertReduce<ReduceKind::log_sum_exp>;
  t["ReduceSumSquare"] = convertReduce<ReduceKind::sum_square>;
}
