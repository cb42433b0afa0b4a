//===- ConvertResize.cpp - ONNX Resize -> gathers and weighted sums -------===//
//
// Resize is separable: each resized axis maps every output position to a few
// input positions (taps) and their weights, which depend only on the shapes
// and the attributes. The tables are computed here, at compile time, in
// double precision with ONNX's reference semantics (coordinate
// transformation, nearest rounding, linear/cubic kernels, antialias,
// exclude_outside, edge clamping); the graph then holds, per axis from the
// innermost out, a weft.gather of the taps and a sum of the taps times
// their weights. An axis whose every output reads one input position with
// weight 1 (nearest, or an identity) is a plain gather, exact for every
// dtype.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

struct ResizeAttrs {
  std::string mode, transform, nearestMode;
  double cubicA = -0.75;
  bool excludeOutside = false, antialias = false;
  double extrapolation = 0.0;
};

/// One axis's taps: for output position o, `taps` input indices (already
/// clamped into the axis) with their weights; `outside[o]` when the output
/// takes the extrapolation value (tf_crop_and_resize only).
struct AxisTable {
  int64_t taps = 0;
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<bool> outside;
};

std::vector<double> nearestCoeffs(double ratio, bool integral, StringRef mode) {
  if (integral)
    return {0, 1};
  if (mode == "round_prefer_ceil")
    return {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
  if (mode == "floor")
    return {1, 0};
  if (mode == "ceil")
    return {0, 1};
  return {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0}; // round_prefer_floor
}

std::vector<double> cubicCoeffs(double t, double a) {
  double u = 1 - t;
  return {((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
          ((a + 2) * t - (a + 3)) * t * t + 1, ((a + 2) * u - (a + 3)) * u * u + 1,
          ((a * (u + 1) - 5 * a) * (u + 1) + 8 * a) * (u + 1) - 4 * a};
}

double cubicKernel(double x, double a) {
  x = std::fabs(x);
  if (x <= 1)
    return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2)
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/// Coefficients of the `ratio` in (0, 1] after the left neighbour, for a
/// scale of `scale` along the axis (antialias widens the kernel when
/// downscaling).
std::vector<double> coeffsFor(const ResizeAttrs &at, double ratio, bool integral, double scale) {
  if (at.mode == "nearest")
    return nearestCoeffs(ratio, integral, at.nearestMode);
  if (at.mode == "linear") {
    if (!at.antialias)
      return {1 - ratio, ratio};
    double s = std::min(scale, 1.0);
    int64_t start = (int64_t)std::floor(-1 / s) + 1;
    int64_t footprint = 2 - 2 * start;
    std::vector<double> c;
    double sum = 0;
    for (int64_t i = start; i < start + footprint; ++i) {
      c.push_back(std::clamp(1 - std::fabs((i - ratio) * s), 0.0, 1.0));
      sum += c.back();
    }
    for (double &v : c)
      v /= sum;
    return c;
  }
  if (!at.antialias)
    return cubicCoeffs(ratio, at.cubicA);
  double s = std::min(scale, 1.0);
  int64_t start = (int64_t)std::floor(-2 / s) + 1, end = 2 - start;
  std::vector<double> c;
  double sum = 0;
  for (int64_t i = start; i < end; ++i) {
    c.push_back(cubicKernel(s * (i - ratio), at.cubicA));
    sum += c.back();
  }
  for (double &v : c)
    v /= sum;
  return c;
}

/// The table of one axis of `in` positions resized to `out` with `scale`.
/// roiStart/roiEnd serve tf_crop_and_resize.
AxisTable axisTable(const ResizeAttrs &at, int64_t in, int64_t out, double scale,
                    double roiStart, double roiEnd) {
  AxisTable t;
  double outWidth = scale * (double)in;
  for (int64_t o = 0; o < out; ++o) {
    double x = (double)o, xo = 0;
    bool outside = false;
    const std::string &m = at.transform;
    if (m == "align_corners") {
      xo = outWidth == 1 ? 0.0 : x * (double)(in - 1) / (outWidth - 1);
    } else if (m == "asymmetric") {
      xo = x / scale;
    } else if (m == "tf_crop_and_resize") {
      xo = outWidth == 1 ? (roiEnd - roiStart) * (double)(in - 1) / 2
                         : x * (roiEnd - roiStart) * (double)(in - 1) / (outWidth - 1);
      xo += roiStart * (double)(in - 1);
      outside = xo < 0 || xo > (double)(in - 1);
    } else if (m == "tf_half_pixel_for_nn") { // opsets 11-12
      xo = (x + 0.5) / scale;
    } else if (m == "pytorch_half_pixel") {
      xo = outWidth == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    } else if (m == "half_pixel_symmetric") {
      double adjustment = (double)out / outWidth;
      double center = (double)in / 2;
      xo = center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    } else { // half_pixel
      xo = (x + 0.5) / scale - 0.5;
    }
    double left = std::floor(xo);
    bool integral = xo == left;
    double ratio = integral ? 1.0 : xo - left;
    std::vector<double> c = coeffsFor(at, ratio, integral, scale);
    int64_t n = (int64_t)c.size();
    // The n integers nearest to xo (ties to the smaller), within the
    // edge-padded axis [-pad, in + pad), in ascending order.
    int64_t pad = (n + 1) / 2;
    std::vector<int64_t> candidates;
    for (int64_t i = (int64_t)left - n - 1; i <= (int64_t)left + n + 1; ++i)
      if (i >= -pad && i < in + pad)
        candidates.push_back(i);
    std::stable_sort(candidates.begin(), candidates.end(), [&](int64_t a, int64_t b) {
      double da = std::fabs(xo - (double)a), db = std::fabs(xo - (double)b);
      return da < db || (da == db && a < b);
    });
    candidates.resize(std::min<size_t>(candidates.size(), n));
    std::sort(candidates.begin(), candidates.end());
    if (at.excludeOutside) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        if (candidates[k] < 0 || candidates[k] >= in)
          c[k] = 0;
        sum += c[k];
      }
      for (double &v : c)
        v = sum != 0 ? v / sum : v;
    }
    if (t.taps == 0)
      t.taps = n;
    for (int64_t k = 0; k < n; ++k) {
      t.index.push_back(std::clamp<int64_t>(candidates[k], 0, in - 1));
      t.weight.push_back(c[k]);
    }
    t.outside.push_back(outside);
  }
  return t;
}

/// A single input position with weight 1 per output (ignoring exact
/// zeros): the positions, or nothing.
std::optional<std::vector<int64_t>> singleTap(const AxisTable &t, int64_t out) {
  std::vector<int64_t> pick;
  for (int64_t o = 0; o < out; ++o) {
    int64_t chosen = -1;
    for (int64_t k = 0; k < t.taps; ++k) {
      double w = t.weight[o * t.taps + k];
      if (w == 0)
        continue;
      if (w != 1 || chosen >= 0)
        return std::nullopt;
      chosen = t.index[o * t.taps + k];
    }
    if (chosen < 0)
      return std::nullopt;
    pick.push_back(chosen);
  }
  return pick;
}

Value i64Constant(ImportContext &ctx, ArrayRef<int64_t> shape, ArrayRef<int64_t> values) {
  return ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get(shape, ctx.getBuilder().getI64Type()), values));
}

/// `x` resized along `axis` with table `t` (to `out` positions).
FailureOr<Value> resizeAxis(ImportContext &ctx, Value x, int64_t axis, int64_t out,
                            const AxisTable &t, double extrapolation) {
  auto type = ImportContext::typeOf(x);
  Type elt = type.getElementType();
  int64_t rank = type.getRank();
  Value result;
  if (auto pick = singleTap(t, out)) {
    bool identity = out == type.getShape()[axis];
    for (int64_t o = 0; identity && o < out; ++o)
      identity = (*pick)[o] == o;
    if (identity) {
      result = x;
    } else {
      auto g = ctx.createInferred<GatherOp>(x, i64Constant(ctx, {out}, *pick), axis);
      if (failed(g))
        return failure();
      result = *g;
    }
  } else {
    if (!isa<FloatType>(elt))
      return ctx.fail("linear and cubic modes need a floating-point input");
    auto g = ctx.createInferred<GatherOp>(x, i64Constant(ctx, {out, t.taps}, t.index), axis);
    if (failed(g))
      return failure();
    // Weights [out, taps] placed at dims (axis, axis + 1) of the gathered
    // rank + 1 tensor.
    SmallVector<int64_t> wShape(rank + 1 - axis, 1);
    wShape[0] = out;
    wShape[1] = t.taps;
    SmallVector<APFloat> w;
    auto ft = cast<FloatType>(elt);
    for (double v : t.weight) {
      APFloat f(v);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      w.push_back(f);
    }
    Value weights = ctx.constant(DenseElementsAttr::get(RankedTensorType::get(wShape, elt), w));
    auto product = ctx.createInferred<MulOp>(*g, weights);
    if (failed(product))
      return failure();
    auto sum = ctx.createInferred<ReduceOp>(ReduceKind::sum, *product,
                                            ArrayRef<int64_t>{axis + 1}, false);
    if (failed(sum))
      return failure();
    result = *sum;
  }
  if (llvm::is_contained(t.outside, true)) {
    SmallVector<int64_t> mShape(rank - axis, 1);
    mShape[0] = out;
    SmallVector<bool> keep;
    for (bool o : t.outside)
      keep.push_back(!o);
    Value mask = ctx.constant(DenseElementsAttr::get(
        RankedTensorType::get(mShape, ctx.getBuilder().getI1Type()), ArrayRef<bool>(keep)));
    auto r = ctx.createInferred<WhereOp>(mask, result,
                                         ctx.splat(RankedTensorType::get({}, elt), extrapolation));
    if (failed(r))
      return failure();
    result = *r;
  }
  return result;
}

/// A constant float input, or nothing when absent or empty.
FailureOr<std::vector<double>> floatsInput(ImportContext &ctx, const Node &node, int index,
                                           StringRef what) {
  if (!ImportContext::hasInput(node, index))
    return std::vector<double>{};
  auto attr = ctx.constantInput(node, index, what);
  if (failed(attr))
    return failure();
  std::vector<double> out;
  if (isa<FloatType>(attr->getElementType())) {
    for (const APFloat &v : attr->getValues<APFloat>())
      out.push_back(v.convertToDouble());
  } else {
    for (int64_t v : ImportContext::toInts(*attr))
      out.push_back((double)v);
  }
  return out;
}

LogicalResult convertResize(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  int64_t rank = type.getRank();
  ResizeAttrs at;
  at.mode = ctx.getString(node, "mode", "nearest");
  // Upsample and Resize-10 sample at x / scale and round down (Upsample's
  // nearest mode repeats each element); the version converter's Resize 10
  // -> 11 adapter drops that, so models declared before opset 11 keep it.
  bool legacy = opset < 11 || ctx.getOriginalOpset() < 11;
  at.transform = ctx.getString(node, "coordinate_transformation_mode",
                               legacy ? "asymmetric" : "half_pixel");
  at.nearestMode = ctx.getString(node, "nearest_mode", legacy ? "floor" : "round_prefer_floor");
  at.cubicA = ctx.getFloat(node, "cubic_coeff_a", -0.75f);
  at.excludeOutside = ctx.getInt(node, "exclude_outside", 0) != 0;
  at.antialias = ctx.getInt(node, "antialias", 0) != 0;
  at.extrapolation = ctx.getFloat(node, "extrapolation_value", 0.0f);
  std::string policy = ctx.getString(node, "keep_aspect_ratio_policy", "stretch");
  if (at.mode != "nearest" && at.mode != "linear" && at.mode != "cubic")
    return ctx.fail("mode '" + at.mode + "' is not one of nearest, linear, cubic");
  static const char *transforms[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                     "align_corners", "asymmetric", "tf_crop_and_resize",
                                     "tf_half_pixel_for_nn"};
  if (!llvm::is_contained(transforms, StringRef(at.transform)))
    return ctx.fail("coordinate_transformation_mode '" + at.transform + "' is not supported");
  static const char *nearestModes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  if (!llvm::is_contained(nearestModes, StringRef(at.nearestMode)))
    return ctx.fail("nearest_mode '" + at.nearestMode + "' is not supported");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    return ctx.fail("keep_aspect_ratio_policy '" + policy + "' is not supported");
  if (at.antialias && at.mode == "nearest")
    return ctx.fail("antialias applies to linear and cubic modes only");

  // Opset 10 (and Upsample) take X and scales; later opsets X, roi, scales,
  // sizes.
  int scalesIndex = opset < 11 || ctx.getOpType() == "Upsample" ? 1 : 2;
  auto roi = opset < 11 ? FailureOr<std::vector<double>>(std::vector<double>{})
                        : floatsInput(ctx, node, 1, "roi");
  auto scales = floatsInput(ctx, node, scalesIndex, "scales");
  auto sizes = scalesIndex == 2 ? floatsInput(ctx, node, 3, "sizes")
                                : FailureOr<std::vector<double>>(std::vector<double>{});
  if (failed(roi) || failed(scales) || failed(sizes))
    return failure();
  SmallVector<int64_t> axes = ctx.getInts(node, "axes", {});
  if (axes.empty())
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  auto normalized = ctx.normalizeAxes(axes, rank);
  if (failed(normalized))
    return failure();
  axes = *normalized;
  size_t n = axes.size();
  if (scales->empty() == sizes->empty())
    return ctx.fail("needs exactly one of scales and sizes");
  if (!scales->empty() && scales->size() != n)
    return ctx.fail("scales has " + Twine(scales->size()) + " values for " + Twine(n) + " axes");
  if (!sizes->empty() && sizes->size() != n)
    return ctx.fail("sizes has " + Twine(sizes->size()) + " values for " + Twine(n) + " axes");
  if (at.transform == "tf_crop_and_resize" && roi->size() != 2 * n)
    return ctx.fail("tf_crop_and_resize needs a roi of " + Twine(2 * n) + " values");

  SmallVector<double> scale(rank, 1.0);
  SmallVector<int64_t> outShape(type.getShape());
  SmallVector<double> roiStart(rank, 0.0), roiEnd(rank, 1.0);
  for (size_t i = 0; i < n; ++i) {
    int64_t d = axes[i];
    if (!roi->empty() && roi->size() == 2 * n) {
      roiStart[d] = (*roi)[i];
      roiEnd[d] = (*roi)[n + i];
    }
    int64_t in = type.getShape()[d];
    if (!scales->empty()) {
      double s = (*scales)[i];
      if (!(s > 0) || !std::isfinite(s))
        return ctx.fail("scales must be positive and finite");
      scale[d] = s;
      double o = std::floor(s * (double)in);
      if (o > (double)((int64_t)1 << 32))
        return ctx.fail("the output would have more than 2^32 positions along an axis");
      outShape[d] = (int64_t)o;
    } else {
      double o = (*sizes)[i];
      if (o < 1 || o > (double)((int64_t)1 << 32) || in == 0)
        return ctx.fail("sizes must be at least 1 and the input axes non-empty");
      outShape[d] = (int64_t)o;
      scale[d] = o / (double)in;
    }
  }
  if (!sizes->empty() && policy != "stretch") {
    double s = scale[axes[0]];
    for (int64_t d : axes)
      s = policy == "not_larger" ? std::min(s, scale[d]) : std::max(s, scale[d]);
    for (int64_t d : axes) {
      scale[d] = s;
      outShape[d] = (int64_t)(s * (double)type.getShape()[d] + 0.5);
    }
  }
  if (failed(ctx.checkShape(outShape, "output")))
    return failure();

  Value y = *x;
  for (int64_t d = rank - 1; d >= 0; --d) {
    int64_t in = type.getShape()[d];
    if (!llvm::is_contained(axes, d) || (outShape[d] == in && scale[d] == 1.0 &&
                                         at.transform != "tf_crop_and_resize"))
      continue;
    if (in == 0 || outShape[d] == 0)
      return ctx.fail("resizing an empty axis or to an empty axis is not supported");
    AxisTable t = axisTable(at, in, outShape[d], scale[d], roiStart[d], roiEnd[d]);
    auto r = resizeAxis(ctx, y, d, outShape[d], t, at.extrapolation);
    if (failed(r))
      return failure();
    y = *r;
  }
  ctx.setOutput(node, 0, y);
  return success();
}

} // namespace

namespace {

// GridSample in 2-D and 3-D with nearest, linear or (2-D) cubic sampling:
// the grid's normalized coordinates (x, y[, z], innermost axis first) are
// turned into source coordinates elementwise (align_corners, then border
// clamping or reflection of the coordinate), and each tap reads the input
// with a run-time gather along the flattened spatial axis. Taps follow
// ONNX's reference (and onnxruntime): rounded to even for nearest,
// floor/floor+1 with linear weights, or floor-1..floor+2 with cubic
// convolution weights (alpha -0.75). A tap outside the input reads 0 with
// zero padding; border and reflection padding clamp or reflect its index.
LogicalResult convertGridSample(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0), grid = ctx.input(node, 1);
  if (failed(x) || failed(grid))
    return failure();
  auto xt = ImportContext::typeOf(*x), gt = ImportContext::typeOf(*grid);
  Type elt = xt.getElementType();
  if (!isa<FloatType>(elt) || gt.getElementType() != elt)
    return ctx.fail("X and grid must be floating-point tensors of one type");
  int64_t rank = xt.getRank(), spatial = rank - 2;
  if ((rank != 4 && rank != 5) || gt.getRank() != rank || gt.getShape()[rank - 1] != spatial ||
      gt.getShape()[0] != xt.getShape()[0])
    return ctx.fail("needs X [N, C, H, W] with grid [N, Ho, Wo, 2], or X [N, C, D, H, W] "
                    "with grid [N, Do, Ho, Wo, 3]");
  std::string mode = ctx.getString(node, "mode", opset >= 20 ? "linear" : "bilinear");
  bool nearest = mode == "nearest";
  bool cubic = mode == "cubic" || mode == "bicubic";
  if (!nearest && !cubic && mode != "linear" && mode != "bilinear")
    return ctx.fail("mode '" + mode + "' is not nearest, linear or cubic");
  if (cubic && spatial != 2)
    return ctx.fail("cubic sampling is defined for 2-D inputs only");
  std::string padding = ctx.getString(node, "padding_mode", "zeros");
  if (padding != "zeros" && padding != "border" && padding != "reflection")
    return ctx.fail("padding_mode '" + padding + "' is not zeros, border or reflection");
  bool align = ctx.getInt(node, "align_corners", 0) != 0;
  int64_t n = xt.getShape()[0], c = xt.getShape()[1];
  ArrayRef<int64_t> sizes = xt.getShape().drop_front(2);
  ArrayRef<int64_t> outSpatial = gt.getShape().slice(1, spatial);
  int64_t points = 1, volume = 1;
  for (int64_t d = 0; d < spatial; ++d) {
    points *= outSpatial[d];
    volume *= sizes[d];
  }
  if (volume == 0)
    return ctx.fail("cannot sample an empty input");

  auto scalar = [&](double v) { return ctx.splat(RankedTensorType::get({}, elt), v); };
  // Elementwise helpers over FailureOr values.
  using FV = FailureOr<Value>;
  auto bin = [&](auto tag, FV a, FV b) -> FV {
    using OpTy = decltype(tag);
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<OpTy>(*a, *b);
  };
  auto add = [&](FV a, FV b) { return bin(AddOp(), a, b); };
  auto sub = [&](FV a, FV b) { return bin(SubOp(), a, b); };
  auto mul = [&](FV a, FV b) { return bin(MulOp(), a, b); };
  auto div = [&](FV a, FV b) { return bin(DivOp(), a, b); };
  auto floorOf = [&](FV a) -> FV {
    if (failed(a))
      return failure();
    return ctx.create<FloorOp>(*a);
  };
  auto clip = [&](FV a, double lo, double hi) -> FV {
    if (failed(a))
      return failure();
    return ctx.create<ClipOp>(*a, cast<TypedAttr>(FloatAttr::get(elt, lo)),
                              cast<TypedAttr>(FloatAttr::get(elt, hi)));
  };
  auto select = [&](FV cond, FV a, FV b) -> FV {
    if (failed(cond) || failed(a) || failed(b))
      return failure();
    return ctx.createInferred<WhereOp>(*cond, *a, *b);
  };
  auto compare = [&](CompareKind k, FV a, FV b) -> FV {
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<CompareOp>(k, *a, *b);
  };
  // Reflects v into [lo, hi] (ONNX's reference: by whole ranges, the
  // parity of their count choosing the side).
  auto reflect = [&](FV v, double lo, double hi) -> FV {
    double range = hi - lo;
    if (range <= 0)
      return clip(v, lo, lo);
    auto below = compare(CompareKind::lt, v, scalar(lo));
    auto dx = select(below, sub(scalar(lo), v), sub(v, scalar(hi)));
    auto k = floorOf(div(dx, scalar(range)));
    auto r = sub(dx, mul(k, scalar(range)));
    auto half = mul(k, scalar(0.5));
    auto even = compare(CompareKind::eq, floorOf(half), half);
    auto fromLow = add(scalar(lo), r), fromHigh = sub(scalar(hi), r);
    auto reflected = select(below, select(even, fromLow, fromHigh),
                            select(even, fromHigh, fromLow));
    auto inside = compare(CompareKind::le, v, scalar(hi));
    auto notBelow = compare(CompareKind::ge, v, scalar(lo));
    if (failed(inside) || failed(notBelow))
      return failure();
    auto within = ctx.createInferred<AndOp>(*inside, *notBelow);
    return select(within, v, reflected);
  };
  auto reflectIn = [&](FV v, int64_t s) {
    return align ? reflect(v, 0.0, (double)(s - 1)) : reflect(v, -0.5, (double)s - 0.5);
  };
  // Normalized grid component -> source coordinate along an axis of size s.
  auto coordinate = [&](int64_t component, int64_t s) -> FV {
    SmallVector<int64_t> starts(rank, 0), lens(gt.getShape()), steps(rank, 1);
    starts[rank - 1] = component;
    lens[rank - 1] = 1;
    auto g = ctx.createInferred<SliceOp>(*grid, ArrayRef<int64_t>(starts),
                                         ArrayRef<int64_t>(lens), ArrayRef<int64_t>(steps));
    if (failed(g))
      return failure();
    auto flat = ctx.reshape(*g, {n, 1, points});
    FV v = align ? mul(add(*flat, scalar(1.0)), scalar((double)(s - 1) / 2.0))
                 : div(sub(mul(add(*flat, scalar(1.0)), scalar((double)s)), scalar(1.0)),
                       scalar(2.0));
    if (nearest && succeeded(v))
      v = ctx.create<RoundOp>(*v);
    if (padding == "border" && !cubic) {
      // Cubic sampling clamps only its taps' indices, as onnxruntime
      // does; for nearest and linear sampling, clamping the coordinate
      // too gives the same values.
      v = clip(v, 0.0, (double)(s - 1));
    } else if (padding == "reflection") {
      v = reflectIn(v, s);
    }
    return v;
  };
  // Per spatial axis (outermost first): its taps' integral positions and
  // weights, each [N, 1, P].
  struct Tap {
    FV index = failure(), weight = failure();
  };
  SmallVector<SmallVector<Tap>> taps(spatial);
  for (int64_t d = 0; d < spatial; ++d) {
    FV v = coordinate(spatial - 1 - d, sizes[d]);
    if (failed(v))
      return failure();
    if (nearest) {
      taps[d].push_back({v, scalar(1.0)});
      continue;
    }
    FV base = floorOf(v);
    FV t = sub(v, base);
    if (!cubic) {
      taps[d].push_back({base, sub(scalar(1.0), t)});
      taps[d].push_back({add(base, scalar(1.0)), t});
      continue;
    }
    // Cubic convolution weights of the taps at base - 1 .. base + 2.
    constexpr double a = -0.75;
    auto near = [&](FV s) { // |s| <= 1: ((a + 2)s - (a + 3))s^2 + 1
      return add(mul(sub(mul(scalar(a + 2), s), scalar(a + 3)), mul(s, s)), scalar(1.0));
    };
    auto far = [&](FV s) { // 1 < |s| < 2: ((a s - 5a)s + 8a)s - 4a
      return sub(mul(add(mul(sub(mul(scalar(a), s), scalar(5 * a)), s), scalar(8 * a)), s),
                 scalar(4 * a));
    };
    taps[d].push_back({sub(base, scalar(1.0)), far(add(t, scalar(1.0)))});
    taps[d].push_back({base, near(t)});
    taps[d].push_back({add(base, scalar(1.0)), near(sub(scalar(1.0), t))});
    taps[d].push_back({add(base, scalar(2.0)), far(sub(scalar(2.0), t))});
  }
  auto data = ctx.reshape(*x, {n, c, volume});
  if (failed(data))
    return failure();
  Type i64 = IntegerType::get(ctx.getContext(), 64);
  Value zeroIndex = ctx.splat(RankedTensorType::get({1, c, 1}, i64), 0.0);
  // The value at one integral position per axis, [N, C, P], weighted 0
  // outside the input with zero padding.
  auto read = [&](ArrayRef<FV> at) -> FV {
    FV linear = scalar(0.0);
    FV inside = failure();
    bool masked = padding == "zeros";
    for (int64_t d = 0; d < spatial; ++d) {
      FV i = at[d];
      int64_t s = sizes[d];
      if (padding == "reflection")
        i = reflectIn(i, s);
      if (masked) {
        auto ok = bin(AndOp(), compare(CompareKind::ge, i, scalar(0.0)),
                      compare(CompareKind::le, i, scalar((double)(s - 1))));
        inside = d == 0 ? ok : bin(AndOp(), inside, ok);
      }
      linear = add(mul(linear, scalar((double)s)), clip(i, 0.0, (double)(s - 1)));
    }
    if (failed(linear))
      return failure();
    Value idx = ctx.create<CastOp>(RankedTensorType::get({n, 1, points}, i64), *linear);
    auto wide = ctx.createInferred<AddOp>(idx, zeroIndex);
    if (failed(wide))
      return failure();
    FV v = ctx.createInferred<GatherElementsOp>(*data, *wide, (int64_t)2);
    if (masked) {
      if (failed(inside))
        return failure();
      v = mul(v, ctx.create<CastOp>(RankedTensorType::get({n, 1, points}, elt), *inside));
    }
    return v;
  };
  // Sum over every combination of taps of the product of their weights.
  FV result = failure();
  SmallVector<size_t> pick(spatial, 0);
  while (true) {
    SmallVector<FV> at;
    FV weight = scalar(1.0);
    for (int64_t d = 0; d < spatial; ++d) {
      at.push_back(taps[d][pick[d]].index);
      weight = nearest ? weight : mul(weight, taps[d][pick[d]].weight);
    }
    FV term = read(at);
    if (!nearest)
      term = mul(term, weight);
    result = failed(result) ? term : add(result, term);
    if (failed(result))
      return failure();
    int64_t d = spatial - 1;
    while (d >= 0 && ++pick[d] == taps[d].size())
      pick[d--] = 0;
    if (d < 0)
      break;
  }
  SmallVector<int64_t> outShape{n, c};
  outShape.append(outSpatial.begin(), outSpatial.end());
  auto out = ctx.reshape(*result, outShape);
  if (failed(out))
    return failure();
  ctx.setOutput(node, 0, *out);
  return success();
}

} // namespace

namespace {

// RoiAlign: every region's bins averaged (or maxed) over a grid of
// bilinear samples, as ONNX's reference computes them. Regions are run-time
// data; the sample grid is static: sampling_ratio s > 0 gives s x s samples
// per bin, and the adaptive grid (sampling_ratio 0, ceil(region / bins)
// samples) is bounded by what a region inside the feature map needs,
// ceil((H + 1) / output_height) x ceil((W + 1) / output_width), its unused
// samples masked out. Each sample's four corners are gathered from X by
// linear index (batch index clamped into X), weighted, and reduced.
LogicalResult convertRoiAlign(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0), rois = ctx.input(node, 1), batch = ctx.input(node, 2);
  if (failed(x) || failed(rois) || failed(batch))
    return failure();
  auto xt = ImportContext::typeOf(*x), rt = ImportContext::typeOf(*rois),
       bt = ImportContext::typeOf(*batch);
  Type elt = xt.getElementType();
  if (!isa<FloatType>(elt) || rt.getElementType() != elt)
    return ctx.fail("X and rois must be floating-point tensors of one type");
  if (xt.getRank() != 4 || rt.getRank() != 2 || rt.getShape()[1] != 4 || bt.getRank() != 1 ||
      bt.getShape()[0] != rt.getShape()[0] || !isa<IntegerType>(bt.getElementType()))
    return ctx.fail("needs X [N, C, H, W], rois [R, 4] and integer batch_indices [R]");
  std::string mode = ctx.getString(node, "mode", "avg");
  if (mode != "avg" && mode != "max")
    return ctx.fail("mode must be avg or max, got '" + mode + "'");
  bool isMax = mode == "max";
  std::string transform = ctx.getString(node, "coordinate_transformation_mode",
                                        opset >= 16 ? "half_pixel" : "output_half_pixel");
  if (transform != "half_pixel" && transform != "output_half_pixel")
    return ctx.fail("coordinate_transformation_mode must be half_pixel or output_half_pixel");
  bool halfPixel = transform == "half_pixel";
  int64_t oh = ctx.getInt(node, "output_height", 1), ow = ctx.getInt(node, "output_width", 1);
  int64_t ratio = ctx.getInt(node, "sampling_ratio", 0);
  double scale = ctx.getFloat(node, "spatial_scale", 1.0f);
  if (oh < 1 || ow < 1 || oh > 4096 || ow > 4096 || ratio < 0 || ratio > 64)
    return ctx.fail("output_height and output_width must be in [1, 4096], sampling_ratio in "
                    "[0, 64]");
  int64_t n = xt.getShape()[0], c = xt.getShape()[1], h = xt.getShape()[2],
          w = xt.getShape()[3], r = rt.getShape()[0];
  if (n == 0 || h == 0 || w == 0)
    return ctx.fail("cannot sample an empty input");
  bool adaptive = ratio == 0;
  int64_t gh = adaptive ? (h + 1 + oh - 1) / oh : ratio;
  int64_t gw = adaptive ? (w + 1 + ow - 1) / ow : ratio;
  if (adaptive)
    mlir::emitWarning(ctx.getLoc(), "RoiAlign '" + ctx.getNodeName().str() +
                                        "' with sampling_ratio 0 takes at most " +
                                        std::to_string(gh) + " x " + std::to_string(gw) +
                                        " samples per bin, enough for regions inside the "
                                        "feature map; a larger region is sampled more "
                                        "sparsely than onnxruntime samples it");
  SmallVector<int64_t> full{r, c, oh, ow, gh, gw, 2, 2};
  if (failed(ctx.checkShape(full, "the sampled corners")))
    return failure();
  // Coordinates are computed in f32 (f64 for f64 inputs).
  Type work = elt.isF64() ? elt : Float32Type::get(ctx.getContext());
  Type i64 = IntegerType::get(ctx.getContext(), 64);
  auto asWork = [&](Value v) {
    auto t = ImportContext::typeOf(v);
    return t.getElementType() == work ? v
                                      : ctx.create<CastOp>(
                                            RankedTensorType::get(t.getShape(), work), v);
  };
  Value boxes = asWork(*rois);
  auto scalar = [&](double v) { return ctx.splat(RankedTensorType::get({}, work), v); };
  using FV = FailureOr<Value>;
  auto bin = [&](auto tag, FV a, FV b) -> FV {
    using OpTy = decltype(tag);
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<OpTy>(*a, *b);
  };
  auto add = [&](FV a, FV b) { return bin(AddOp(), a, b); };
  auto sub = [&](FV a, FV b) { return bin(SubOp(), a, b); };
  auto mul = [&](FV a, FV b) { return bin(MulOp(), a, b); };
  auto div = [&](FV a, FV b) { return bin(DivOp(), a, b); };
  auto maxOf = [&](FV a, FV b) { return bin(MaxOp(), a, b); };
  auto compare = [&](CompareKind k, FV a, FV b) -> FV {
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<CompareOp>(k, *a, *b);
  };
  auto select = [&](FV cond, FV a, FV b) -> FV {
    if (failed(cond) || failed(a) || failed(b))
      return failure();
    return ctx.createInferred<WhereOp>(*cond, *a, *b);
  };
  auto both = [&](FV a, FV b) { return bin(AndOp(), a, b); };
  auto toWork = [&](FV a) -> FV {
    if (failed(a))
      return failure();
    return ctx.create<CastOp>(
        RankedTensorType::get(ImportContext::typeOf(*a).getShape(), work), *a);
  };
  auto toIndex = [&](FV a) -> FV {
    if (failed(a))
      return failure();
    return ctx.create<CastOp>(RankedTensorType::get(ImportContext::typeOf(*a).getShape(), i64),
                              *a);
  };
  auto iota = [&](ArrayRef<int64_t> shape, int64_t count, double offset) {
    SmallVector<double> v;
    for (int64_t i = 0; i < count; ++i)
      v.push_back((double)i + offset);
    auto type = RankedTensorType::get(shape, work);
    return work.isF64() ? ctx.constant(DenseElementsAttr::get(type, ArrayRef<double>(v)))
                        : ctx.constant(DenseElementsAttr::get(
                              type, ArrayRef<float>(SmallVector<float>(v.begin(), v.end()))));
  };
  struct Axis {
    Value weights; // [R, bins, grid, 2]: low and high corner weights
    Value index;   // [R, bins, grid, 2]: low and high corner positions (i64)
    Value grid;    // [R, 1, 1]: samples per bin along this axis
  };
  // One axis of the sampling: column `lo` (and `lo` + 2) of the regions,
  // `bins` output positions, at most `g` samples each, extent `size`.
  auto sampleAxis = [&](int64_t lo, int64_t bins, int64_t g, int64_t size) -> FailureOr<Axis> {
    auto column = [&](int64_t col) -> FV {
      auto s = ctx.createInferred<SliceOp>(boxes, ArrayRef<int64_t>{0, col},
                                           ArrayRef<int64_t>{r, 1}, ArrayRef<int64_t>{1, 1});
      if (failed(s))
        return failure();
      return ctx.reshape(*s, {r, 1, 1});
    };
    double offset = halfPixel ? 0.5 : 0.0;
    FV start = sub(mul(column(lo), scalar(scale)), scalar(offset));
    FV end = sub(mul(column(lo + 2), scalar(scale)), scalar(offset));
    FV extent = sub(end, start);
    if (!halfPixel)
      extent = maxOf(extent, scalar(1.0));
    FV binSize = div(extent, scalar((double)bins));
    FV grid = scalar((double)g);
    if (adaptive) {
      FV need = div(extent, scalar((double)bins));
      if (failed(need))
        return failure();
      grid = maxOf(ctx.create<CeilOp>(*need), scalar(0.0));
      if (failed(grid))
        return failure();
      grid = ctx.create<ClipOp>(*grid, cast<TypedAttr>(FloatAttr::get(work, 0.0)),
                                cast<TypedAttr>(FloatAttr::get(work, (double)g)));
    }
    Value binPos = iota({1, bins, 1}, bins, 0.0), samplePos = iota({1, 1, g}, g, 0.5);
    // Dividing by a grid of 0 makes no sample valid below.
    FV safeGrid = maxOf(grid, scalar(1.0));
    FV coord = add(add(start, mul(binPos, binSize)), div(mul(samplePos, binSize), safeGrid));
    FV valid = both(compare(CompareKind::ge, coord, scalar(-1.0)),
                    compare(CompareKind::le, coord, scalar((double)size)));
    if (adaptive)
      valid = both(valid, compare(CompareKind::lt, samplePos, grid));
    FV clamped = maxOf(coord, scalar(0.0));
    if (failed(clamped))
      return failure();
    FV low0 = ctx.create<FloorOp>(*clamped);
    FV edge = compare(CompareKind::ge, low0, scalar((double)(size - 1)));
    FV last = scalar((double)(size - 1));
    FV low = select(edge, last, low0);
    FV high = select(edge, last, add(low0, scalar(1.0)));
    FV pos = select(edge, last, clamped);
    FV frac = sub(pos, low);
    FV on = toWork(valid);
    FV wLow = mul(sub(scalar(1.0), frac), on), wHigh = mul(frac, on);
    auto pair = [&](FV a, FV b) -> FV {
      if (failed(a) || failed(b))
        return failure();
      auto ea = ctx.reshape(*a, {r, bins, g, 1});
      auto eb = ctx.reshape(*b, {r, bins, g, 1});
      if (failed(ea) || failed(eb))
        return failure();
      return ctx.createInferred<ConcatOp>(ValueRange{*ea, *eb}, (uint64_t)3);
    };
    // Broadcast to [R, bins, g] before pairing.
    Value zeros = ctx.splat(RankedTensorType::get({r, bins, g}, work), 0.0);
    FV weights = pair(add(wLow, zeros), add(wHigh, zeros));
    FV index = toIndex(pair(add(low, zeros), add(high, zeros)));
    FV gridValue = add(grid, ctx.splat(RankedTensorType::get({r, 1, 1}, work), 0.0));
    if (failed(weights) || failed(index) || failed(gridValue))
      return failure();
    return Axis{*weights, *index, *gridValue};
  };
  auto ys = sampleAxis(1, oh, gh, h), xs = sampleAxis(0, ow, gw, w);
  if (failed(ys) || failed(xs))
    return failure();
  // Weights and linear indices over [R, C, OH, OW, gh, gw, 2, 2].
  auto yView = [&](Value v) { return ctx.reshape(v, {r, 1, oh, 1, gh, 1, 2, 1}); };
  auto xView = [&](Value v) { return ctx.reshape(v, {r, 1, 1, ow, 1, gw, 1, 2}); };
  FV weights = mul(yView(ys->weights), xView(xs->weights));
  FV rowStart = mul(yView(ys->index), ctx.splat(RankedTensorType::get({}, i64), (double)w));
  FV spatial = add(rowStart, xView(xs->index));
  // Batch offsets: the clamped batch index times C * H * W.
  Value batch64 = *batch;
  if (!bt.getElementType().isInteger(64))
    batch64 = ctx.create<CastOp>(RankedTensorType::get(bt.getShape(), i64), batch64);
  FV clampedBatch = bin(MinOp(), bin(MaxOp(), batch64, ctx.splat(RankedTensorType::get({}, i64), 0.0)),
                        ctx.splat(RankedTensorType::get({}, i64), (double)(n - 1)));
  FV batchOffset = mul(clampedBatch, ctx.splat(RankedTensorType::get({}, i64), (double)(c * h * w)));
  if (failed(batchOffset))
    return failure();
  FV batchView = ctx.reshape(*batchOffset, {r, 1, 1, 1, 1, 1, 1, 1});
  SmallVector<int64_t> channelStarts;
  for (int64_t i = 0; i < c; ++i)
    channelStarts.push_back(i * h * w);
  Value channelOffset = ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get({1, c, 1, 1, 1, 1, 1, 1}, i64), ArrayRef<int64_t>(channelStarts)));
  FV index = add(add(spatial, batchView), channelOffset);
  FV data = ctx.reshape(asWork(*x), {n * c * h * w});
  if (failed(index) || failed(data) || failed(weights))
    return failure();
  FV values = ctx.createInferred<GatherOp>(*data, *index, (uint64_t)0);
  FV weighted = mul(values, weights);
  int64_t samples = gh * gw * 4;
  if (failed(weighted))
    return failure();
  FV flat = ctx.reshape(*weighted, {r, c, oh, ow, samples});
  FV grids = mul(ys->grid, xs->grid);
  if (failed(grids))
    return failure();
  FV count = maxOf(grids, scalar(1.0));
  FV countView = failed(count) ? count : ctx.reshape(*count, {r, 1, 1, 1});
  FV result = failure();
  if (!isMax) {
    if (failed(flat))
      return failure();
    result = div(ctx.createInferred<ReduceOp>(ReduceKind::sum, *flat, ArrayRef<int64_t>{4}, false),
                 countView);
  } else {
    // Masked (adaptive) samples do not take part in the maximum; a bin
    // without samples is 0.
    if (adaptive) {
      auto yMask = compare(CompareKind::lt, iota({1, 1, 1, 1, gh, 1, 1, 1}, gh, 0.0),
                           ctx.reshape(ys->grid, {r, 1, 1, 1, 1, 1, 1, 1}));
      auto xMask = compare(CompareKind::lt, iota({1, 1, 1, 1, 1, gw, 1, 1}, gw, 0.0),
                           ctx.reshape(xs->grid, {r, 1, 1, 1, 1, 1, 1, 1}));
      auto inGrid = both(yMask, xMask);
      Value lowest = ctx.splat(RankedTensorType::get({}, work),
                               -std::numeric_limits<double>::infinity());
      auto kept = select(inGrid, *weighted, lowest);
      if (failed(kept))
        return failure();
      flat = ctx.reshape(*kept, {r, c, oh, ow, samples});
    }
    if (failed(flat))
      return failure();
    result = ctx.createInferred<ReduceOp>(ReduceKind::max, *flat, ArrayRef<int64_t>{4}, false);
    if (adaptive)
      result = select(compare(CompareKind::eq, ctx.reshape(*grids, {r, 1, 1, 1}), scalar(0.0)),
                      scalar(0.0), result);
  }
  if (failed(result))
    return failure();
  Value out = *result;
  if (work != elt)
    out = ctx.create<CastOp>(RankedTensorType::get({r, c, oh, ow}, elt), out);
  ctx.setOutput(node, 0, out);
  return success();
}

} // namespace

void weft::registerResizeConverters(ConverterTable &t) {
  t["Resize"] = convertResize;
  t["Upsample"] = convertResize;
  t["GridSample"] = convertGridSample;
  t["RoiAlign"] = convertRoiAlign;
}
