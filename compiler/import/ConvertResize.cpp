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
    std::sort(candidates.begin(), candidates.end(), [&](int64_t a, int64_t b) {
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

void weft::registerResizeConverters(ConverterTable &t) {
  t["Resize"] = convertResize;
  t["Upsample"] = convertResize;
}
