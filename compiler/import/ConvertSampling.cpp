//===- ConvertSampling.cpp - GridSample, RoiAlign, DeformConv -> weft -----===//
//
// Ops that sample their input at run-time coordinates: the coordinates are
// computed elementwise, and each sample's taps (nearest, bilinear or cubic
// neighbours) are read with run-time gathers by linear index and weighted.
// Indices are clamped into the input, and a tap outside it is weighted 0
// (or clamped or reflected, as the op's padding mode says), so no gather
// reads outside the input.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;
using FV = FailureOr<Value>;

/// Elementwise weft ops over FailureOr values (a failed operand fails the
/// result); scalars and clamp bounds are in element type `elt`.
struct Arith {
  ImportContext &ctx;
  Type elt;

  Value scalar(double v) const { return ctx.splat(RankedTensorType::get({}, elt), v); }
  template <typename OpTy>
  FV binary(FV a, FV b) const {
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<OpTy>(*a, *b);
  }
  FV add(FV a, FV b) const { return binary<AddOp>(a, b); }
  FV sub(FV a, FV b) const { return binary<SubOp>(a, b); }
  FV mul(FV a, FV b) const { return binary<MulOp>(a, b); }
  FV div(FV a, FV b) const { return binary<DivOp>(a, b); }
  FV max(FV a, FV b) const { return binary<MaxOp>(a, b); }
  FV both(FV a, FV b) const { return binary<AndOp>(a, b); }
  FV compare(CompareKind kind, FV a, FV b) const {
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<CompareOp>(kind, *a, *b);
  }
  FV select(FV cond, FV a, FV b) const {
    if (failed(cond) || failed(a) || failed(b))
      return failure();
    return ctx.createInferred<WhereOp>(*cond, *a, *b);
  }
  FV floor(FV a) const {
    if (failed(a))
      return failure();
    return ctx.create<FloorOp>(*a);
  }
  FV clip(FV a, double lo, double hi) const {
    if (failed(a))
      return failure();
    return ctx.create<ClipOp>(*a, cast<TypedAttr>(FloatAttr::get(elt, lo)),
                              cast<TypedAttr>(FloatAttr::get(elt, hi)));
  }
};

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

  Arith m{ctx, elt};
  // Reflects v into [lo, hi] (ONNX's reference: by whole ranges, the
  // parity of their count choosing the side).
  auto reflect = [&](FV v, double lo, double hi) -> FV {
    double range = hi - lo;
    if (range <= 0)
      return m.clip(v, lo, lo);
    auto below = m.compare(CompareKind::lt, v, m.scalar(lo));
    auto dx = m.select(below, m.sub(m.scalar(lo), v), m.sub(v, m.scalar(hi)));
    auto k = m.floor(m.div(dx, m.scalar(range)));
    auto r = m.sub(dx, m.mul(k, m.scalar(range)));
    auto half = m.mul(k, m.scalar(0.5));
    auto even = m.compare(CompareKind::eq, m.floor(half), half);
    auto fromLow = m.add(m.scalar(lo), r), fromHigh = m.sub(m.scalar(hi), r);
    auto reflected = m.select(below, m.select(even, fromLow, fromHigh),
                            m.select(even, fromHigh, fromLow));
    auto inside = m.compare(CompareKind::le, v, m.scalar(hi));
    auto notBelow = m.compare(CompareKind::ge, v, m.scalar(lo));
    if (failed(inside) || failed(notBelow))
      return failure();
    auto within = ctx.createInferred<AndOp>(*inside, *notBelow);
    return m.select(within, v, reflected);
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
    FV v = align ? m.mul(m.add(*flat, m.scalar(1.0)), m.scalar((double)(s - 1) / 2.0))
                 : m.div(m.sub(m.mul(m.add(*flat, m.scalar(1.0)), m.scalar((double)s)), m.scalar(1.0)),
                       m.scalar(2.0));
    if (nearest && succeeded(v))
      v = ctx.create<RoundOp>(*v);
    if (padding == "border" && !cubic) {
      // Cubic sampling clamps only its taps' indices, as onnxruntime
      // does; for nearest and linear sampling, clamping the coordinate
      // too gives the same values.
      v = m.clip(v, 0.0, (double)(s - 1));
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
      taps[d].push_back({v, m.scalar(1.0)});
      continue;
    }
    FV base = m.floor(v);
    FV t = m.sub(v, base);
    if (!cubic) {
      taps[d].push_back({base, m.sub(m.scalar(1.0), t)});
      taps[d].push_back({m.add(base, m.scalar(1.0)), t});
      continue;
    }
    // Cubic convolution weights of the taps at base - 1 .. base + 2.
    constexpr double a = -0.75;
    auto near = [&](FV s) { // |s| <= 1: ((a + 2)s - (a + 3))s^2 + 1
      return m.add(m.mul(m.sub(m.mul(m.scalar(a + 2), s), m.scalar(a + 3)), m.mul(s, s)), m.scalar(1.0));
    };
    auto far = [&](FV s) { // 1 < |s| < 2: ((a s - 5a)s + 8a)s - 4a
      return m.sub(m.mul(m.add(m.mul(m.sub(m.mul(m.scalar(a), s), m.scalar(5 * a)), s), m.scalar(8 * a)), s),
                 m.scalar(4 * a));
    };
    taps[d].push_back({m.sub(base, m.scalar(1.0)), far(m.add(t, m.scalar(1.0)))});
    taps[d].push_back({base, near(t)});
    taps[d].push_back({m.add(base, m.scalar(1.0)), near(m.sub(m.scalar(1.0), t))});
    taps[d].push_back({m.add(base, m.scalar(2.0)), far(m.sub(m.scalar(2.0), t))});
  }
  auto data = ctx.reshape(*x, {n, c, volume});
  if (failed(data))
    return failure();
  Type i64 = IntegerType::get(ctx.getContext(), 64);
  Value zeroIndex = ctx.splat(RankedTensorType::get({1, c, 1}, i64), 0.0);
  // The value at one integral position per axis, [N, C, P], weighted 0
  // outside the input with zero padding.
  auto read = [&](ArrayRef<FV> at) -> FV {
    FV linear = m.scalar(0.0);
    FV inside = failure();
    bool masked = padding == "zeros";
    for (int64_t d = 0; d < spatial; ++d) {
      FV i = at[d];
      int64_t s = sizes[d];
      if (padding == "reflection")
        i = reflectIn(i, s);
      if (masked) {
        auto ok = m.binary<AndOp>(m.compare(CompareKind::ge, i, m.scalar(0.0)),
                      m.compare(CompareKind::le, i, m.scalar((double)(s - 1))));
        inside = d == 0 ? ok : m.binary<AndOp>(inside, ok);
      }
      linear = m.add(m.mul(linear, m.scalar((double)s)), m.clip(i, 0.0, (double)(s - 1)));
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
      v = m.mul(v, ctx.create<CastOp>(RankedTensorType::get({n, 1, points}, elt), *inside));
    }
    return v;
  };
  // Sum over every combination of taps of the product of their weights.
  FV result = failure();
  SmallVector<size_t> pick(spatial, 0);
  while (true) {
    SmallVector<FV> at;
    FV weight = m.scalar(1.0);
    for (int64_t d = 0; d < spatial; ++d) {
      at.push_back(taps[d][pick[d]].index);
      weight = nearest ? weight : m.mul(weight, taps[d][pick[d]].weight);
    }
    FV term = read(at);
    if (!nearest)
      term = m.mul(term, weight);
    result = failed(result) ? term : m.add(result, term);
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
  Arith m{ctx, work};
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
    FV start = m.sub(m.mul(column(lo), m.scalar(scale)), m.scalar(offset));
    FV end = m.sub(m.mul(column(lo + 2), m.scalar(scale)), m.scalar(offset));
    FV extent = m.sub(end, start);
    if (!halfPixel)
      extent = m.max(extent, m.scalar(1.0));
    FV binSize = m.div(extent, m.scalar((double)bins));
    FV grid = m.scalar((double)g);
    if (adaptive) {
      FV need = m.div(extent, m.scalar((double)bins));
      if (failed(need))
        return failure();
      grid = m.max(ctx.create<CeilOp>(*need), m.scalar(0.0));
      if (failed(grid))
        return failure();
      grid = ctx.create<ClipOp>(*grid, cast<TypedAttr>(FloatAttr::get(work, 0.0)),
                                cast<TypedAttr>(FloatAttr::get(work, (double)g)));
    }
    Value binPos = iota({1, bins, 1}, bins, 0.0), samplePos = iota({1, 1, g}, g, 0.5);
    // Dividing by a grid of 0 makes no sample valid below.
    FV safeGrid = m.max(grid, m.scalar(1.0));
    FV coord = m.add(m.add(start, m.mul(binPos, binSize)), m.div(m.mul(samplePos, binSize), safeGrid));
    FV valid = m.both(m.compare(CompareKind::ge, coord, m.scalar(-1.0)),
                    m.compare(CompareKind::le, coord, m.scalar((double)size)));
    if (adaptive)
      valid = m.both(valid, m.compare(CompareKind::lt, samplePos, grid));
    FV clamped = m.max(coord, m.scalar(0.0));
    if (failed(clamped))
      return failure();
    FV low0 = ctx.create<FloorOp>(*clamped);
    FV edge = m.compare(CompareKind::ge, low0, m.scalar((double)(size - 1)));
    FV last = m.scalar((double)(size - 1));
    FV low = m.select(edge, last, low0);
    FV high = m.select(edge, last, m.add(low0, m.scalar(1.0)));
    FV pos = m.select(edge, last, clamped);
    FV frac = m.sub(pos, low);
    FV on = toWork(valid);
    FV wLow = m.mul(m.sub(m.scalar(1.0), frac), on), wHigh = m.mul(frac, on);
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
    FV weights = pair(m.add(wLow, zeros), m.add(wHigh, zeros));
    FV index = toIndex(pair(m.add(low, zeros), m.add(high, zeros)));
    FV gridValue = m.add(grid, ctx.splat(RankedTensorType::get({r, 1, 1}, work), 0.0));
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
  FV weights = m.mul(yView(ys->weights), xView(xs->weights));
  FV rowStart = m.mul(yView(ys->index), ctx.splat(RankedTensorType::get({}, i64), (double)w));
  FV spatial = m.add(rowStart, xView(xs->index));
  // Batch offsets: the clamped batch index times C * H * W.
  Value batch64 = *batch;
  if (!bt.getElementType().isInteger(64))
    batch64 = ctx.create<CastOp>(RankedTensorType::get(bt.getShape(), i64), batch64);
  FV clampedBatch = m.binary<MinOp>(m.binary<MaxOp>(batch64, ctx.splat(RankedTensorType::get({}, i64), 0.0)),
                        ctx.splat(RankedTensorType::get({}, i64), (double)(n - 1)));
  FV batchOffset = m.mul(clampedBatch, ctx.splat(RankedTensorType::get({}, i64), (double)(c * h * w)));
  if (failed(batchOffset))
    return failure();
  FV batchView = ctx.reshape(*batchOffset, {r, 1, 1, 1, 1, 1, 1, 1});
  SmallVector<int64_t> channelStarts;
  for (int64_t i = 0; i < c; ++i)
    channelStarts.push_back(i * h * w);
  Value channelOffset = ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get({1, c, 1, 1, 1, 1, 1, 1}, i64), ArrayRef<int64_t>(channelStarts)));
  FV index = m.add(m.add(spatial, batchView), channelOffset);
  FV data = ctx.reshape(asWork(*x), {n * c * h * w});
  if (failed(index) || failed(data) || failed(weights))
    return failure();
  FV values = ctx.createInferred<GatherOp>(*data, *index, (uint64_t)0);
  FV weighted = m.mul(values, weights);
  int64_t samples = gh * gw * 4;
  if (failed(weighted))
    return failure();
  FV flat = ctx.reshape(*weighted, {r, c, oh, ow, samples});
  FV grids = m.mul(ys->grid, xs->grid);
  if (failed(grids))
    return failure();
  FV count = m.max(grids, m.scalar(1.0));
  FV countView = failed(count) ? count : ctx.reshape(*count, {r, 1, 1, 1});
  FV result = failure();
  if (!isMax) {
    if (failed(flat))
      return failure();
    result = m.div(ctx.createInferred<ReduceOp>(ReduceKind::sum, *flat, ArrayRef<int64_t>{4}, false),
                 countView);
  } else {
    // Masked (adaptive) samples do not take part in the maximum; a bin
    // without samples is 0.
    if (adaptive) {
      auto yMask = m.compare(CompareKind::lt, iota({1, 1, 1, 1, gh, 1, 1, 1}, gh, 0.0),
                           ctx.reshape(ys->grid, {r, 1, 1, 1, 1, 1, 1, 1}));
      auto xMask = m.compare(CompareKind::lt, iota({1, 1, 1, 1, 1, gw, 1, 1}, gw, 0.0),
                           ctx.reshape(xs->grid, {r, 1, 1, 1, 1, 1, 1, 1}));
      auto inGrid = m.both(yMask, xMask);
      Value lowest = ctx.splat(RankedTensorType::get({}, work),
                               -std::numeric_limits<double>::infinity());
      auto kept = m.select(inGrid, *weighted, lowest);
      if (failed(kept))
        return failure();
      flat = ctx.reshape(*kept, {r, c, oh, ow, samples});
    }
    if (failed(flat))
      return failure();
    result = ctx.createInferred<ReduceOp>(ReduceKind::max, *flat, ArrayRef<int64_t>{4}, false);
    if (adaptive)
      result = m.select(m.compare(CompareKind::eq, ctx.reshape(*grids, {r, 1, 1, 1}), m.scalar(0.0)),
                      m.scalar(0.0), result);
  }
  if (failed(result))
    return failure();
  Value out = *result;
  if (work != elt)
    out = ctx.create<CastOp>(RankedTensorType::get({r, c, oh, ow}, elt), out);
  ctx.setOutput(node, 0, out);
  return success();
}

// DeformConv (2-D): every kernel tap samples X bilinearly at its regular
// place plus a run-time offset (zero outside X, as GridSample with
// align_corners and zero padding), times the optional mask; the samples,
// [N, C * kH * kW, oH * oW] per group, then meet the filter in one batched
// matmul per group, as a convolution's im2col columns would.
LogicalResult convertDeformConv(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0), w = ctx.input(node, 1), offset = ctx.input(node, 2);
  if (failed(x) || failed(w) || failed(offset))
    return failure();
  auto bias = ctx.optionalInput(node, 3), mask = ctx.optionalInput(node, 4);
  if (failed(bias) || failed(mask))
    return failure();
  auto xt = ImportContext::typeOf(*x), wt = ImportContext::typeOf(*w),
       ot = ImportContext::typeOf(*offset);
  Type elt = xt.getElementType();
  if (!isa<FloatType>(elt) || wt.getElementType() != elt || ot.getElementType() != elt)
    return ctx.fail("X, W and offset must be floating-point tensors of one type");
  if (xt.getRank() != 4 || wt.getRank() != 4 || ot.getRank() != 4)
    return ctx.fail("only 2-D deformable convolution (rank-4 X, W and offset) is supported");
  int64_t n = xt.getShape()[0], c = xt.getShape()[1], h = xt.getShape()[2],
          wd = xt.getShape()[3];
  int64_t oc = wt.getShape()[0], cpg = wt.getShape()[1], kh = wt.getShape()[2],
          kw = wt.getShape()[3];
  int64_t group = ctx.getInt(node, "group", 1), og = ctx.getInt(node, "offset_group", 1);
  if (group < 1 || og < 1 || c != cpg * group || oc % group != 0 || c % og != 0)
    return ctx.fail("W must be [M, C/group, kH, kW] with M divisible by group, and C "
                    "divisible by offset_group");
  if (auto ks = ctx.getOptionalInts(node, "kernel_shape"))
    if (ks->size() != 2 || (*ks)[0] != kh || (*ks)[1] != kw)
      return ctx.fail("kernel_shape does not match W's spatial dimensions");
  SmallVector<int64_t> strides = ctx.getInts(node, "strides", {1, 1});
  SmallVector<int64_t> dil = ctx.getInts(node, "dilations", {1, 1});
  SmallVector<int64_t> pads = ctx.getInts(node, "pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4 ||
      llvm::any_of(strides, [](int64_t v) { return v < 1; }) ||
      llvm::any_of(dil, [](int64_t v) { return v < 1; }) ||
      llvm::any_of(pads, [](int64_t v) { return v < 0; }))
    return ctx.fail("needs 2 positive strides and dilations and 4 non-negative pads");
  int64_t oh = (h + pads[0] + pads[2] - ((kh - 1) * dil[0] + 1)) / strides[0] + 1;
  int64_t ow = (wd + pads[1] + pads[3] - ((kw - 1) * dil[1] + 1)) / strides[1] + 1;
  int64_t k = kh * kw, p = oh * ow;
  if (oh < 1 || ow < 1)
    return ctx.fail("the kernel is larger than the padded input");
  if (ot.getShape() != ArrayRef<int64_t>{n, og * k * 2, oh, ow})
    return ctx.fail("offset must be [" + Twine(n) + ", " + Twine(og * k * 2) + ", " +
                    Twine(oh) + ", " + Twine(ow) + "] (offset_group x kH x kW x 2 offsets "
                    "per output position)");
  if (*mask && ImportContext::typeOf(*mask).getShape() != ArrayRef<int64_t>{n, og * k, oh, ow})
    return ctx.fail("mask must be [" + Twine(n) + ", " + Twine(og * k) + ", " + Twine(oh) +
                    ", " + Twine(ow) + "]");
  if (*bias && ImportContext::typeOf(*bias).getShape() != ArrayRef<int64_t>{oc})
    return ctx.fail("B must have one value per output channel");
  if (failed(ctx.checkShape({n, c, k, p, 4}, "the sampled taps")))
    return failure();
  Arith m{ctx, elt};

  // The taps' regular places, [1, 1, K, P] per axis.
  SmallVector<double> baseY, baseX;
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xo = 0; xo < ow; ++xo) {
          baseY.push_back((double)(y * strides[0] - pads[0] + i * dil[0]));
          baseX.push_back((double)(xo * strides[1] - pads[1] + j * dil[1]));
        }
  auto table = [&](ArrayRef<double> v) {
    SmallVector<Attribute> attrs;
    for (double d : v)
      attrs.push_back(FloatAttr::get(elt, d));
    return ctx.constant(DenseElementsAttr::get(RankedTensorType::get({1, 1, k, p}, elt), attrs));
  };
  // Offsets [N, og, K, 2, P]: (dy, dx) per tap.
  WEFT_TRY(offsets, ctx.reshape(*offset, {n, og, k, 2, p}));
  auto part = [&](int64_t which) -> FV {
    auto s = ctx.createInferred<SliceOp>(offsets, ArrayRef<int64_t>{0, 0, 0, which, 0},
                                         ArrayRef<int64_t>{n, og, k, 1, p},
                                         ArrayRef<int64_t>{1, 1, 1, 1, 1});
    if (failed(s))
      return failure();
    return ctx.reshape(*s, {n, og, k, p});
  };
  FV fy = m.add(part(0), table(baseY)), fx = m.add(part(1), table(baseX));
  FV y0 = m.floor(fy), x0 = m.floor(fx);
  FV wy1 = m.sub(fy, y0), wx1 = m.sub(fx, x0);
  FV wy0 = m.sub(m.scalar(1.0), wy1), wx0 = m.sub(m.scalar(1.0), wx1);
  FV maskValue = m.scalar(1.0);
  if (*mask)
    maskValue = ctx.reshape(*mask, {n, og, k, p});
  WEFT_TRY(data, ctx.reshape(*x, {n, og, c / og, h * wd}));
  Type i64 = IntegerType::get(ctx.getContext(), 64);
  Value spread = ctx.splat(RankedTensorType::get({1, 1, c / og, 1}, i64), 0.0);
  // One corner: X at (yi, xi), weighted, 0 outside X; [N, og, C/og, K*P].
  auto corner = [&](FV yi, FV xi, FV weight) -> FV {
    auto inY = m.binary<AndOp>(m.compare(CompareKind::ge, yi, m.scalar(0.0)),
                   m.compare(CompareKind::le, yi, m.scalar((double)(h - 1))));
    auto inX = m.binary<AndOp>(m.compare(CompareKind::ge, xi, m.scalar(0.0)),
                   m.compare(CompareKind::le, xi, m.scalar((double)(wd - 1))));
    auto inside = m.binary<AndOp>(inY, inX);
    FV linear = m.add(m.mul(m.clip(yi, 0.0, (double)(h - 1)), m.scalar((double)wd)),
                    m.clip(xi, 0.0, (double)(wd - 1)));
    if (failed(inside) || failed(linear))
      return failure();
    FV scaled = m.mul(m.mul(weight, ctx.create<CastOp>(RankedTensorType::get({n, og, k, p}, elt),
                                                   *inside)),
                    maskValue);
    Value idx = ctx.create<CastOp>(RankedTensorType::get({n, og, k, p}, i64), *linear);
    auto flatIdx = ctx.reshape(idx, {n, og, 1, k * p});
    if (failed(flatIdx) || failed(scaled))
      return failure();
    auto wide = ctx.createInferred<AddOp>(*flatIdx, spread);
    if (failed(wide))
      return failure();
    FV v = ctx.createInferred<GatherElementsOp>(data, *wide, (int64_t)3);
    FV flatWeight = ctx.reshape(*scaled, {n, og, 1, k * p});
    return m.mul(v, flatWeight);
  };
  FV y1 = m.add(y0, m.scalar(1.0)), x1 = m.add(x0, m.scalar(1.0));
  FV sampled = m.add(m.add(corner(y0, x0, m.mul(wy0, wx0)), corner(y0, x1, m.mul(wy0, wx1))),
                   m.add(corner(y1, x0, m.mul(wy1, wx0)), corner(y1, x1, m.mul(wy1, wx1))));
  if (failed(sampled))
    return failure();
  // Columns [N, group, C/group * K, P] against W [1, group, M/group, C/group * K].
  WEFT_TRY(columns, ctx.reshape(*sampled, {n, group, cpg * k, p}));
  WEFT_TRY(filter, ctx.reshape(*w, {1, group, oc / group, cpg * k}));
  WEFT_TRY(product, ctx.createInferred<MatMulOp>(filter, columns));
  WEFT_TRY(result, ctx.reshape(product, {n, oc, oh, ow}));
  if (*bias) {
    WEFT_TRY(b, ctx.reshape(*bias, {1, oc, 1, 1}));
    WEFT_TRY(biased, ctx.createInferred<AddOp>(result, b));
    result = biased;
  }
  ctx.setOutput(node, 0, result);
  return success();
}

} // namespace

void weft::registerSamplingConverters(ConverterTable &t) {
  t["GridSample"] = convertGridSample;
  t["RoiAlign"] = convertRoiAlign;
  t["DeformConv"] = convertDeformConv;
}
