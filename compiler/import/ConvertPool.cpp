//===- ConvertPool.cpp - pooling ONNX ops -> weft -------------------------===//
//
// Windows in 1-D to 3-D: MaxPool (with its Indices output), AveragePool and
// LpPool, the global pools, and MaxUnpool. 1-D pools run as 2-D ones, 3-D
// max and average pools as two separable 2-D steps, LpPool as a depthwise
// convolution with a filter of ones.
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

void weft::registerPoolConverters(ConverterTable &t) {
  t["MaxUnpool"] = convertMaxUnpool;
  t["MaxPool"] = convertMaxPool;
  t["AveragePool"] = convertPoolAnyRank<PoolKind::avg>;
  t["LpPool"] = convertLpPoolAnyRank;
  t["GlobalAveragePool"] = convertGlobalPool<ReduceKind::mean>;
  t["GlobalMaxPool"] = convertGlobalPool<ReduceKind::max>;
}
