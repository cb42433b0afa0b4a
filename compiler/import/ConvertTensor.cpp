//===- ConvertTensor.cpp - data-movement ONNX ops -> weft -----------------===//
//
// Reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze, DepthToSpace,
// SpaceToDepth) become weft.reshape/transpose with static shapes; Transpose,
// Concat, Pad, CenterCropPad, Slice, Split, Tile and Expand become static
// weft ops, and ConvTranspose a convolution of the dilated input. Every
// shape-valued input must be a constant: small constants are folded
// through these ops at import time (TensorFolding.h) so exported shape
// subgraphs stay static. Indexing ops are in ConvertIndexing.cpp.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"
#include "compiler/import/TensorFolding.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <functional>
#include <numeric>

using namespace mlir;
using namespace weft;
using namespace weft::folding;

namespace {

using Node = onnx::NodeProto;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//


//===----------------------------------------------------------------------===//
// Reshape family
//===----------------------------------------------------------------------===//

LogicalResult convertReshape(ImportContext &ctx, const Node &node,
                             int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto in = ImportContext::typeOf(*x);
  SmallVector<int64_t> target;
  if (opset < 5) {
    target = ctx.getInts(node, "shape", {});
  } else {
    auto s = ctx.constantInts(node, 1, "shape");
    if (failed(s))
      return failure();
    target = *s;
  }
  bool allowZero = ctx.getInt(node, "allowzero", 0) != 0;
  if (failed(ctx.checkShape(llvm::to_vector(llvm::map_range(
                                target, [](int64_t d) { return d < 0 ? 1 : d; })),
                            "shape")))
    return failure();
  int64_t inferred = -1, known = 1;
  SmallVector<int64_t> shape;
  for (auto [i, d] : llvm::enumerate(target)) {
    if (d == -1) {
      if (inferred >= 0)
        return ctx.fail("shape has more than one -1");
      inferred = i;
      shape.push_back(1);
      continue;
    }
    if (d == 0 && !allowZero) {
      if ((int64_t)i >= in.getRank())
        return ctx.fail("shape entry " + Twine(i) +
                        " is 0 (copy the input dimension) but the input has "
                        "rank " +
                        Twine(in.getRank()));
      d = in.getShape()[i];
    }
    if (d < 0)
      return ctx.fail("shape entry " + Twine(d) + " is invalid");
    shape.push_back(d);
    // Entries copied from the input (0) were not in checkShape's product.
    if (__builtin_mul_overflow(known, d, &known))
      return ctx.fail("shape has more elements than an int64 can count");
  }
  if (inferred >= 0) {
    if (known == 0 || in.getNumElements() % known != 0)
      return ctx.fail("cannot infer the -1 dimension: " +
                      Twine(in.getNumElements()) +
                      " elements do not divide into the other dimensions");
    shape[inferred] = in.getNumElements() / known;
  }
  return setReshaped(ctx, node, *x, shape);
}

LogicalResult convertFlatten(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  int64_t rank = shape.size();
  int64_t axis = ctx.getInt(node, "axis", 1);
  if (axis < -rank || axis > rank)
    return ctx.fail("axis " + Twine(axis) + " is out of range for rank " +
                    Twine(rank));
  if (axis < 0)
    axis += rank;
  return setReshaped(ctx, node, *x,
                     {product(shape.take_front(axis)),
                      product(shape.drop_front(axis))});
}

LogicalResult convertSqueeze(ImportContext &ctx, const Node &node,
                             int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  std::optional<SmallVector<int64_t>> axes;
  if (opset < 13) {
    axes = ctx.getOptionalInts(node, "axes");
  } else if (ImportContext::hasInput(node, 1)) {
    auto v = ctx.constantInts(node, 1, "axes");
    if (failed(v))
      return failure();
    axes = *v;
  }
  SmallVector<int64_t> out;
  if (!axes) {
    for (int64_t d : shape)
      if (d != 1)
        out.push_back(d);
  } else {
    auto norm = ctx.normalizeAxes(*axes, shape.size());
    if (failed(norm))
      return failure();
    for (int64_t a : *norm)
      if (shape[a] != 1)
        return ctx.fail("cannot squeeze axis " + Twine(a) + " of size " +
                        Twine(shape[a]));
    for (auto [i, d] : llvm::enumerate(shape))
      if (!llvm::is_contained(*norm, (int64_t)i))
        out.push_back(d);
  }
  return setReshaped(ctx, node, *x, out);
}

LogicalResult convertUnsqueeze(ImportContext &ctx, const Node &node,
                               int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  SmallVector<int64_t> axes;
  if (opset < 13) {
    auto a = ctx.getOptionalInts(node, "axes");
    if (!a)
      return ctx.fail("missing required attribute 'axes'");
    axes = *a;
  } else {
    auto a = ctx.constantInts(node, 1, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  }
  int64_t outRank = shape.size() + axes.size();
  auto norm = ctx.normalizeAxes(axes, outRank);
  if (failed(norm))
    return failure();
  SmallVector<int64_t> out;
  size_t next = 0;
  for (int64_t i = 0; i < outRank; ++i)
    out.push_back(llvm::is_contained(*norm, i) ? 1 : shape[next++]);
  return setReshaped(ctx, node, *x, out);
}

//===----------------------------------------------------------------------===//
// Permutation, joins, padding, slicing
//===----------------------------------------------------------------------===//

LogicalResult convertTranspose(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  int64_t rank = ImportContext::typeOf(*x).getRank();
  SmallVector<int64_t> perm = ctx.getInts(
      node, "perm", llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, rank))));
  if ((int64_t)perm.size() != rank)
    return ctx.fail("perm has " + Twine(perm.size()) +
                    " entries but the input has rank " + Twine(rank));
  // perm is a permutation of 0..rank-1: unlike axes, no negative entries.
  for (int64_t p : perm)
    if (p < 0 || p >= rank)
      return ctx.fail("perm entry " + Twine(p) + " is out of range [0, " + Twine(rank) +
                      ")");
  auto norm = ctx.normalizeAxes(perm, rank, "perm");
  if (failed(norm))
    return failure();
  if (llvm::equal(*norm, llvm::seq<int64_t>(0, rank))) {
    ctx.setOutput(node, 0, *x);
    return success();
  }
  auto r = ctx.createInferred<TransposeOp>(*x, ArrayRef<int64_t>(*norm));
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

LogicalResult convertConcat(ImportContext &ctx, const Node &node, int64_t) {
  SmallVector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i) {
    auto v = ctx.input(node, i);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  if (inputs.empty())
    return ctx.fail("needs at least one input");
  if (!ImportContext::hasAttr(node, "axis"))
    return ctx.fail("missing required attribute 'axis'");
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", 0),
                                ImportContext::typeOf(inputs[0]).getRank());
  if (failed(axis))
    return failure();
  auto r = concat(ctx, inputs, *axis);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

LogicalResult convertPad(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  int64_t rank = shape.size();
  std::string mode = ctx.getString(node, "mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect" && mode != "wrap")
    return ctx.fail("mode '" + mode + "' is not one of constant, edge, reflect, wrap");
  SmallVector<int64_t> pads, axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  Type elt = ImportContext::typeOf(*x).getElementType();
  OpBuilder &b = ctx.getBuilder();
  TypedAttr value = isa<FloatType>(elt) ? (TypedAttr)b.getFloatAttr(elt, 0.0)
                                        : (TypedAttr)b.getIntegerAttr(elt, 0);
  if (opset < 11) {
    auto p = ctx.getOptionalInts(node, "pads");
    if (!p)
      return ctx.fail("missing required attribute 'pads'");
    pads = *p;
    if (isa<FloatType>(elt))
      value = b.getFloatAttr(elt, ctx.getFloat(node, "value", 0.0f));
  } else {
    auto p = ctx.constantInts(node, 1, "pads");
    if (failed(p))
      return failure();
    pads = *p;
    if (ImportContext::hasInput(node, 2)) {
      auto v = ctx.constantElement(node, 2, "constant_value", elt);
      if (failed(v))
        return failure();
      value = *v;
    }
    if (ImportContext::hasInput(node, 3)) {
      auto a = ctx.constantInts(node, 3, "axes");
      if (failed(a))
        return failure();
      auto norm = ctx.normalizeAxes(*a, rank);
      if (failed(norm))
        return failure();
      axes = *norm;
    }
  }
  if (pads.size() != 2 * axes.size())
    return ctx.fail("expects " + Twine(2 * axes.size()) + " pads, got " +
                    Twine(pads.size()));
  if (llvm::any_of(pads, [](int64_t p) {
        return p > (int64_t(1) << 40) || p < -(int64_t(1) << 40);
      }))
    return ctx.fail("pads are too large");
  SmallVector<int64_t> low(rank, 0), high(rank, 0);
  for (auto [i, axis] : llvm::enumerate(axes)) {
    low[axis] = pads[i];
    high[axis] = pads[i + axes.size()];
  }
  // Negative pads crop: slice those away first, then pad the rest.
  Value v = *x;
  if (llvm::any_of(low, [](int64_t p) { return p < 0; }) ||
      llvm::any_of(high, [](int64_t p) { return p < 0; })) {
    SmallVector<int64_t> starts(rank, 0), sizes(shape), steps(rank, 1);
    for (int64_t d = 0; d < rank; ++d) {
      int64_t cropLow = std::max<int64_t>(-low[d], 0);
      int64_t cropHigh = std::max<int64_t>(-high[d], 0);
      if (cropLow + cropHigh > shape[d])
        return ctx.fail("negative pads remove more than dimension " +
                        Twine(d) + " holds");
      starts[d] = cropLow;
      sizes[d] = shape[d] - cropLow - cropHigh;
      low[d] = std::max<int64_t>(low[d], 0);
      high[d] = std::max<int64_t>(high[d], 0);
    }
    auto s = slice(ctx, v, starts, sizes, steps);
    if (failed(s))
      return failure();
    v = *s;
  }
  if (llvm::all_of(low, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(high, [](int64_t p) { return p == 0; })) {
    ctx.setOutput(node, 0, v);
    return success();
  }
  if (mode != "constant") {
    // Edge, reflect and wrap read existing elements: per padded axis, a
    // gather of compile-time source positions (exact for every dtype).
    auto vShape = ImportContext::typeOf(v).getShape();
    for (int64_t d = 0; d < rank; ++d) {
      if (low[d] == 0 && high[d] == 0)
        continue;
      int64_t n = vShape[d];
      if (n == 0)
        return ctx.fail("cannot pad an empty dimension in mode '" + mode + "'");
      if (mode == "reflect" && (low[d] >= n || high[d] >= n))
        return ctx.fail("reflect pads must be smaller than the dimension (" + Twine(n) + ")");
      int64_t total = low[d] + n + high[d];
      if (failed(ctx.checkShape({total}, "padded dimension")))
        return failure();
      SmallVector<int64_t> source;
      for (int64_t i = 0; i < total; ++i) {
        int64_t j = i - low[d];
        if (mode == "edge") {
          j = std::clamp<int64_t>(j, 0, n - 1);
        } else if (mode == "wrap") {
          j = ((j % n) + n) % n;
        } else if (n == 1) {
          j = 0;
        } else {
          int64_t period = 2 * (n - 1);
          j = ((j % period) + period) % period;
          if (j >= n)
            j = period - j;
        }
        source.push_back(j);
      }
      Value indices = ctx.constant(DenseElementsAttr::get(
          RankedTensorType::get({total}, ctx.getBuilder().getI64Type()), ArrayRef<int64_t>(source)));
      auto g = ctx.createInferred<GatherOp>(v, indices, d);
      if (failed(g))
        return failure();
      v = *g;
    }
    ctx.setOutput(node, 0, v);
    return success();
  }
  auto r = ctx.createInferred<PadOp>(v, ArrayRef<int64_t>(low),
                                     ArrayRef<int64_t>(high), value);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

// CenterCropPad: per listed axis, a centred slice where the target is
// smaller and a centred zero pad where it is larger (the extra element of
// an odd difference goes after, as ONNX defines it).
LogicalResult convertCenterCropPad(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto target = ctx.constantInts(node, 1, "shape");
  if (failed(target))
    return failure();
  auto type = ImportContext::typeOf(*x);
  int64_t rank = type.getRank();
  SmallVector<int64_t> axes;
  if (auto given = ctx.getOptionalInts(node, "axes")) {
    auto normalized = ctx.normalizeAxes(*given, rank);
    if (failed(normalized))
      return failure();
    axes = *normalized;
  } else {
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  if (target->size() != axes.size())
    return ctx.fail("shape has " + Twine(target->size()) + " elements for " +
                    Twine(axes.size()) + " axes");
  SmallVector<int64_t> starts(rank, 0), sizes(type.getShape()), steps(rank, 1);
  SmallVector<int64_t> low(rank, 0), high(rank, 0);
  for (auto [axis, want] : llvm::zip(axes, *target)) {
    int64_t have = type.getShape()[axis];
    if (want < 0)
      return ctx.fail("shape has a negative size " + Twine(want));
    if (want < have) {
      starts[axis] = (have - want) / 2;
      sizes[axis] = want;
    } else {
      low[axis] = (want - have) / 2;
      high[axis] = want - have - low[axis];
    }
  }
  Value v = *x;
  if (ArrayRef<int64_t>(sizes) != type.getShape()) {
    auto cropped = ctx.createInferred<SliceOp>(v, ArrayRef<int64_t>(starts),
                                               ArrayRef<int64_t>(sizes), ArrayRef<int64_t>(steps));
    if (failed(cropped))
      return failure();
    v = *cropped;
  }
  if (llvm::any_of(low, [](int64_t p) { return p != 0; }) ||
      llvm::any_of(high, [](int64_t p) { return p != 0; })) {
    auto zero = cast<TypedAttr>(ctx.getBuilder().getZeroAttr(type.getElementType()));
    auto padded = ctx.createInferred<PadOp>(v, ArrayRef<int64_t>(low), ArrayRef<int64_t>(high), zero);
    if (failed(padded))
      return failure();
    v = *padded;
  }
  ctx.setOutput(node, 0, v);
  return success();
}

LogicalResult convertSlice(ImportContext &ctx, const Node &node,
                           int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  int64_t rank = shape.size();
  auto args = readSliceArguments(ctx, node, opset);
  if (failed(args))
    return failure();
  auto &[starts, ends, axes, steps] = *args;
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return ctx.fail("starts, ends, axes and steps must have the same length");
  auto norm = ctx.normalizeAxes(axes, rank);
  if (failed(norm))
    return failure();
  SmallVector<int64_t> outStarts(rank, 0), outSizes(shape), outSteps(rank, 1);
  for (auto [i, axis] : llvm::enumerate(*norm)) {
    int64_t dim = shape[axis], step = steps[i];
    if (step == 0)
      return ctx.fail("steps must be non-zero");
    // A step longer than the dimension selects at most one element; clamping
    // it keeps the size arithmetic below free of overflow.
    step = std::clamp<int64_t>(step, -std::max<int64_t>(dim, 1),
                               std::max<int64_t>(dim, 1));
    int64_t start = starts[i], end = ends[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    int64_t size;
    // ONNX clamping: [0, dim] for positive steps, [0, dim-1] / [-1, dim-1]
    // for negative ones.
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      size = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = dim == 0 ? 0 : std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, std::max<int64_t>(dim - 1, -1));
      size = start > end ? (start - end + (-step) - 1) / (-step) : 0;
      if (dim == 0)
        size = 0;
    }
    outStarts[axis] = size ? start : 0;
    outSizes[axis] = size;
    outSteps[axis] = step;
  }
  auto r = slice(ctx, *x, outStarts, outSizes, outSteps);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

LogicalResult convertSplit(ImportContext &ctx, const Node &node,
                           int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", 0), shape.size());
  if (failed(axis))
    return failure();
  int64_t dim = shape[*axis];
  int64_t outputs = node.output_size();
  SmallVector<int64_t> sizes;
  if (opset >= 13 && ImportContext::hasInput(node, 1)) {
    auto s = ctx.constantInts(node, 1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (opset < 13 && ImportContext::hasAttr(node, "split")) {
    sizes = ctx.getInts(node, "split", {});
  } else if (opset >= 18 && ImportContext::hasAttr(node, "num_outputs")) {
    // Opset 18: ceil-sized chunks, the last one smaller.
    int64_t n = ctx.getInt(node, "num_outputs", outputs);
    if (n <= 0 || n != outputs)
      return ctx.fail("num_outputs " + Twine(n) + " does not match the " +
                      Twine(outputs) + " outputs");
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  } else {
    if (outputs == 0 || dim % outputs != 0)
      return ctx.fail("dimension " + Twine(*axis) + " of size " + Twine(dim) +
                      " does not split evenly into " + Twine(outputs) +
                      " outputs");
    sizes.assign(outputs, dim / outputs);
  }
  if ((int64_t)sizes.size() != outputs)
    return ctx.fail("split has " + Twine(sizes.size()) +
                    " sizes but the node has " + Twine(outputs) + " outputs");
  // Summed with a bound so hostile sizes cannot overflow.
  int64_t total = 0;
  bool valid = true;
  for (int64_t s : sizes) {
    if (s < 0 || s > dim - total) {
      valid = false;
      break;
    }
    total += s;
  }
  if (!valid || total != dim)
    return ctx.fail("split sizes do not add up to dimension size " +
                    Twine(dim));
  int64_t offset = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    if (ImportContext::hasOutput(node, i)) {
      auto part = sliceAxis(ctx, *x, *axis, offset, sizes[i]);
      if (failed(part))
        return failure();
      ctx.setOutput(node, i, *part);
    }
    offset += sizes[i];
  }
  return success();
}

LogicalResult convertTile(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto repeats = ctx.constantInts(node, 1, "repeats");
  if (failed(repeats))
    return failure();
  auto type = ImportContext::typeOf(*x);
  int64_t rank = type.getRank();
  if ((int64_t)repeats->size() != rank ||
      llvm::any_of(*repeats, [](int64_t r) { return r < 0; }))
    return ctx.fail("repeats must hold one non-negative count per dimension");
  if (failed(ctx.checkShape(*repeats, "repeats")))
    return failure();
  SmallVector<int64_t> outShape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t extent;
    if (llvm::MulOverflow(type.getShape()[d], (*repeats)[d], extent))
      return ctx.fail("the tiled tensor has more than 2^40 elements");
    outShape.push_back(extent);
  }
  if (failed(ctx.checkShape(outShape, "the tiled tensor")))
    return failure();
  auto outType = RankedTensorType::get(outShape, type.getElementType());
  auto inStrides = stridesOf(type.getShape());
  if (auto folded = remap(ImportContext::getConstantValue(*x), outType,
                          [&](int64_t i) {
                            auto c = delinearize(i, outShape);
                            int64_t src = 0;
                            for (int64_t d = 0; d < rank; ++d)
                              src += (c[d] % type.getShape()[d]) * inStrides[d];
                            return src;
                          })) {
    ctx.setOutput(node, 0, ctx.constant(folded));
    return success();
  }
  // An empty result (a zero repeat) has no elements to copy.
  if (outType.getNumElements() == 0) {
    ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(outType, ArrayRef<Attribute>{})));
    return success();
  }
  // [d0, d1, ..] -> [1, d0, 1, d1, ..], broadcast to [r0, d0, r1, d1, ..],
  // then merged back: a constant number of ops however large the repeats
  // (a concat of r copies took minutes for r in the millions).
  SmallVector<int64_t> spread, broadcast;
  for (int64_t d = 0; d < rank; ++d) {
    spread.append({1, type.getShape()[d]});
    broadcast.append({(*repeats)[d], type.getShape()[d]});
  }
  auto spreadValue = ctx.reshape(*x, spread);
  if (failed(spreadValue))
    return failure();
  Value all = ctx.splat(
      RankedTensorType::get(broadcast, ctx.getBuilder().getI1Type()), 1.0);
  auto wide = ctx.createInferred<WhereOp>(all, *spreadValue, *spreadValue);
  if (failed(wide))
    return failure();
  auto r = ctx.reshape(*wide, outShape);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

// Expand broadcasts x to a constant shape. weft has no broadcast op, so the
// value goes through weft.where with an all-true condition of the target
// shape: exact for every element type (x + 0 would turn -0.0 into +0.0).
LogicalResult convertExpand(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto target = ctx.constantInts(node, 1, "shape");
  if (failed(target))
    return failure();
  if (failed(ctx.checkShape(*target, "shape")))
    return failure();
  auto type = ImportContext::typeOf(*x);
  auto shape = broadcastShapes(type.getShape(), *target);
  if (failed(shape))
    return ctx.fail("the input shape does not broadcast to the requested "
                    "shape");
  if (ArrayRef<int64_t>(*shape) == type.getShape()) {
    ctx.setOutput(node, 0, *x);
    return success();
  }
  auto outType = RankedTensorType::get(*shape, type.getElementType());
  auto inStrides = stridesOf(type.getShape());
  size_t offset = shape->size() - type.getRank();
  if (auto folded = remap(ImportContext::getConstantValue(*x), outType,
                          [&](int64_t i) {
                            auto c = delinearize(i, *shape);
                            int64_t src = 0;
                            for (int64_t d = 0; d < type.getRank(); ++d)
                              if (type.getShape()[d] != 1)
                                src += c[d + offset] * inStrides[d];
                            return src;
                          })) {
    ctx.setOutput(node, 0, ctx.constant(folded));
    return success();
  }
  Value all = ctx.splat(
      RankedTensorType::get(*shape, ctx.getBuilder().getI1Type()), 1.0);
  auto r = ctx.createInferred<WhereOp>(all, *x, *x);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}


// ConvTranspose (1-D, 2-D and 3-D) as a direct convolution: the input with
// s - 1 zeros inserted between its elements (stride s), padded by
// d * (k - 1) minus the transposed op's padding (cropped where that is
// negative), convolved at stride 1 with the filter's channels swapped per
// group and its window flipped. A constant filter is re-laid at compile time.
LogicalResult convertConvTranspose(ImportContext &ctx, const Node &node, int64_t) {
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
  if (!isa<FloatType>(xt.getElementType()))
    return ctx.fail("needs floating-point tensors");
  int64_t rank = xt.getRank();
  if ((rank != 3 && rank != 4 && rank != 5) || wt.getRank() != rank)
    return ctx.fail("only 1-D, 2-D and 3-D transposed convolutions (rank-3, 4 or 5 input "
                    "and weight of the same rank) are supported; the input has rank " +
                    Twine(rank));
  int64_t spatial = rank - 2;
  int64_t group = ctx.getInt(node, "group", 1);
  int64_t channels = xt.getShape()[1];
  if (group <= 0 || channels % group != 0 || wt.getShape()[0] != channels)
    return ctx.fail("the weight must be [C, M/group, k..] with C the input's channels, "
                    "divisible by group");
  auto ints = [&](StringRef name, int64_t dflt, size_t n) -> FailureOr<SmallVector<int64_t>> {
    SmallVector<int64_t> v = ctx.getInts(node, name, SmallVector<int64_t>(n, dflt));
    if (v.size() != n)
      return ctx.fail(name + " needs " + Twine(n) + " values");
    return v;
  };
  auto strides = ints("strides", 1, spatial), dil = ints("dilations", 1, spatial),
       outPad = ints("output_padding", 0, spatial);
  if (failed(strides) || failed(dil) || failed(outPad))
    return failure();
  ArrayRef<int64_t> kernel = wt.getShape().drop_front(2);
  if (auto ks = ctx.getOptionalInts(node, "kernel_shape"))
    if (ArrayRef<int64_t>(*ks) != kernel)
      return ctx.fail("kernel_shape does not match the weight's spatial dimensions");
  for (int64_t i = 0; i < spatial; ++i)
    if ((*strides)[i] <= 0 || (*dil)[i] <= 0 || (*outPad)[i] < 0 || kernel[i] <= 0 ||
        (*strides)[i] > 4096 || (*dil)[i] > 4096)
      return ctx.fail("strides and dilations must be in [1, 4096], output_padding >= 0 and "
                      "kernel sizes positive");
  std::string autoPad = ctx.getString(node, "auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return ctx.fail("unknown auto_pad '" + autoPad + "'");
  auto outputShape = ctx.getOptionalInts(node, "output_shape");
  if (outputShape && outputShape->size() != (size_t)spatial) {
    // output_shape may include N and C.
    if (outputShape->size() == (size_t)rank)
      outputShape = SmallVector<int64_t>(outputShape->begin() + 2, outputShape->end());
    else
      return ctx.fail("output_shape needs " + Twine(spatial) + " values");
  }
  // Padding of the transposed op and the output extent, as ONNX's reference.
  SmallVector<int64_t> padBegin(spatial, 0), padEnd(spatial, 0), out(spatial, 0);
  bool samePads = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (!samePads && ImportContext::hasAttr(node, "pads")) {
    auto pads = ints("pads", 0, 2 * spatial);
    if (failed(pads))
      return failure();
    for (int64_t i = 0; i < spatial; ++i) {
      padBegin[i] = (*pads)[i];
      padEnd[i] = (*pads)[i + spatial];
      if (padBegin[i] < 0 || padEnd[i] < 0)
        return ctx.fail("pads must be non-negative");
    }
  }
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = xt.getShape()[i + 2];
    int64_t full = (*strides)[i] * (in - 1) + (*outPad)[i] + (kernel[i] - 1) * (*dil)[i] + 1;
    if (samePads) {
      int64_t target = outputShape ? (*outputShape)[i] : in * (*strides)[i];
      int64_t total = full - target;
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      padBegin[i] = autoPad == "SAME_UPPER" ? half : total - half;
      padEnd[i] = total - padBegin[i];
      out[i] = target;
    } else if (outputShape) {
      out[i] = (*outputShape)[i];
    } else {
      out[i] = full - padBegin[i] - padEnd[i];
    }
    if (out[i] <= 0 || out[i] > ((int64_t)1 << 31))
      return ctx.fail("the output would have " + Twine(out[i]) + " positions in spatial "
                      "dimension " + Twine(i));
  }
  // 1-D runs as 2-D with a unit height.
  Value in = *x, filter = *w;
  SmallVector<int64_t> s2(*strides), d2(*dil), k2(kernel), pb(padBegin), o2(out);
  if (spatial == 1) {
    auto xs = ctx.reshape(in, {xt.getShape()[0], channels, 1, xt.getShape()[2]});
    auto ws = ctx.reshape(filter, {wt.getShape()[0], wt.getShape()[1], 1, wt.getShape()[2]});
    if (failed(xs) || failed(ws))
      return failure();
    in = *xs;
    filter = *ws;
    s2.insert(s2.begin(), 1);
    d2.insert(d2.begin(), 1);
    k2.insert(k2.begin(), 1);
    pb.insert(pb.begin(), 0);
    o2.insert(o2.begin(), 1);
  }
  int64_t sp = s2.size();
  auto it = ImportContext::typeOf(in);
  int64_t n = it.getShape()[0];
  ArrayRef<int64_t> extents = it.getShape().drop_front(2);
  int64_t m = wt.getShape()[1] * group;
  // Zeros between the elements: [N,C,D0,1,D1,1..] padded to [N,C,D0,s0,D1,s1..]
  // and trimmed after the last element of each dimension.
  if (llvm::any_of(s2, [](int64_t v) { return v > 1; })) {
    SmallVector<int64_t> spreadShape{n, channels}, high(2, 0), flatShape{n, channels},
        trimmedShape{n, channels};
    for (int64_t i = 0; i < sp; ++i) {
      spreadShape.append({extents[i], 1});
      high.append({0, s2[i] - 1});
      flatShape.push_back(extents[i] * s2[i]);
      trimmedShape.push_back((extents[i] - 1) * s2[i] + 1);
    }
    auto spread = ctx.reshape(in, spreadShape);
    if (failed(spread))
      return failure();
    Type elt = xt.getElementType();
    auto padded = ctx.createInferred<PadOp>(
        *spread, ArrayRef<int64_t>(SmallVector<int64_t>(high.size(), 0)),
        ArrayRef<int64_t>(high), cast<TypedAttr>(FloatAttr::get(elt, 0.0)));
    if (failed(padded))
      return failure();
    auto flat = ctx.reshape(*padded, flatShape);
    if (failed(flat))
      return failure();
    auto trimmed = slice(ctx, *flat, SmallVector<int64_t>(sp + 2, 0), trimmedShape,
                         SmallVector<int64_t>(sp + 2, 1));
    if (failed(trimmed))
      return failure();
    in = *trimmed;
  }
  // The convolution's padding; negative amounts crop the spread input.
  auto zt = ImportContext::typeOf(in);
  SmallVector<int64_t> convPads(2 * sp, 0), starts(sp + 2, 0), sizes(zt.getShape());
  for (int64_t i = 0; i < sp; ++i) {
    int64_t span = (k2[i] - 1) * d2[i];
    int64_t extent = zt.getShape()[i + 2];
    int64_t low = span - pb[i];
    // The convolution's output extent is extent + low + high - span = out.
    int64_t high = o2[i] + span - extent - low;
    if (low < 0) {
      starts[i + 2] = -low;
      sizes[i + 2] -= -low;
      low = 0;
    }
    if (high < 0) {
      sizes[i + 2] -= -high;
      high = 0;
    }
    if (sizes[i + 2] <= 0)
      return ctx.fail("the padding leaves no input in spatial dimension " + Twine(i));
    convPads[i] = low;
    convPads[i + sp] = high;
  }
  auto cropped = slice(ctx, in, starts, sizes, SmallVector<int64_t>(sp + 2, 1));
  if (failed(cropped))
    return failure();
  // Filter [C, M/g, k..] -> [M, C/g, k..], window reversed. For a constant
  // filter the folders do this at compile time.
  auto ft = ImportContext::typeOf(filter);
  int64_t mg = ft.getShape()[1], cg = channels / group;
  SmallVector<int64_t> groupedShape{group, cg, mg}, perm{0, 2, 1}, mergedShape{m, cg};
  SmallVector<int64_t> flipStarts{0, 0}, flipSteps{1, 1};
  for (int64_t i = 0; i < sp; ++i) {
    groupedShape.push_back(k2[i]);
    perm.push_back(3 + i);
    mergedShape.push_back(k2[i]);
    flipStarts.push_back(k2[i] - 1);
    flipSteps.push_back(-1);
  }
  auto grouped = ctx.reshape(filter, groupedShape);
  if (failed(grouped))
    return failure();
  auto swapped = ctx.createInferred<TransposeOp>(*grouped, ArrayRef<int64_t>(perm));
  if (failed(swapped))
    return failure();
  auto merged = ctx.reshape(*swapped, mergedShape);
  if (failed(merged))
    return failure();
  auto flipped = slice(ctx, *merged, flipStarts, mergedShape, flipSteps);
  if (failed(flipped))
    return failure();
  SmallVector<int64_t> unitStrides(sp, 1);
  auto conv = sp == 3 ? convolve3D(ctx, *cropped, *flipped, *bias, unitStrides, d2, convPads,
                                   group)
                      : ctx.createInferred<ConvOp>(*cropped, *flipped, *bias,
                                                   ArrayRef<int64_t>(unitStrides),
                                                   ArrayRef<int64_t>(d2),
                                                   ArrayRef<int64_t>(convPads),
                                                   (uint64_t)group);
  if (failed(conv))
    return failure();
  Value result = *conv;
  if (spatial == 1) {
    auto r = ctx.reshape(result, {n, m, out[0]});
    if (failed(r))
      return failure();
    result = *r;
  }
  ctx.setOutput(node, 0, result);
  return success();
}


// DepthToSpace / SpaceToDepth are a reshape, a transpose and a reshape.
LogicalResult reshapeTransposeReshape(ImportContext &ctx, const Node &node,
                                      Value x, ArrayRef<int64_t> split,
                                      ArrayRef<int64_t> perm,
                                      ArrayRef<int64_t> result) {
  auto a = ctx.reshape(x, split);
  if (failed(a))
    return failure();
  auto t = ctx.createInferred<TransposeOp>(*a, perm);
  if (failed(t))
    return failure();
  return setReshaped(ctx, node, *t, result);
}

LogicalResult convertDepthToSpace(ImportContext &ctx, const Node &node,
                                  int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  int64_t b = ctx.getInt(node, "blocksize", 0);
  if (shape.size() != 4 || b <= 0 || shape[1] % (b * b) != 0)
    return ctx.fail("expects a rank-4 input whose channels divide by "
                    "blocksize^2");
  int64_t n = shape[0], c = shape[1] / (b * b), h = shape[2], w = shape[3];
  std::string mode = ctx.getString(node, "mode", "DCR");
  if (mode == "DCR")
    return reshapeTransposeReshape(ctx, node, *x, {n, b, b, c, h, w},
                                   {0, 3, 4, 1, 5, 2}, {n, c, h * b, w * b});
  if (mode == "CRD")
    return reshapeTransposeReshape(ctx, node, *x, {n, c, b, b, h, w},
                                   {0, 1, 4, 2, 5, 3}, {n, c, h * b, w * b});
  return ctx.fail("unknown mode '" + mode + "'");
}

LogicalResult convertSpaceToDepth(ImportContext &ctx, const Node &node,
                                  int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  int64_t b = ctx.getInt(node, "blocksize", 0);
  if (shape.size() != 4 || b <= 0 || shape[2] % b != 0 || shape[3] % b != 0)
    return ctx.fail("expects a rank-4 input whose spatial sizes divide by "
                    "blocksize");
  int64_t n = shape[0], c = shape[1], h = shape[2] / b, w = shape[3] / b;
  return reshapeTransposeReshape(ctx, node, *x, {n, c, h, b, w, b},
                                 {0, 3, 5, 1, 2, 4}, {n, c * b * b, h, w});
}

} // namespace

FailureOr<SliceArguments> weft::readSliceArguments(ImportContext &ctx,
                                                   const onnx::NodeProto &node,
                                                   int64_t opset) {
  SliceArguments a;
  if (opset < 10) {
    a.starts = ctx.getInts(node, "starts", {});
    a.ends = ctx.getInts(node, "ends", {});
    a.axes = ctx.getInts(node, "axes", llvm::to_vector(llvm::seq<int64_t>(0, a.starts.size())));
  } else {
    auto s = ctx.constantInts(node, 1, "starts");
    if (failed(s))
      return failure();
    auto e = ctx.constantInts(node, 2, "ends");
    if (failed(e))
      return failure();
    a.starts = *s;
    a.ends = *e;
    if (ImportContext::hasInput(node, 3)) {
      auto axes = ctx.constantInts(node, 3, "axes");
      if (failed(axes))
        return failure();
      a.axes = *axes;
    } else {
      a.axes = llvm::to_vector(llvm::seq<int64_t>(0, a.starts.size()));
    }
    if (ImportContext::hasInput(node, 4)) {
      auto steps = ctx.constantInts(node, 4, "steps");
      if (failed(steps))
        return failure();
      a.steps = *steps;
    }
  }
  if (a.steps.empty())
    a.steps.assign(a.starts.size(), 1);
  return a;
}

void weft::registerTensorConverters(ConverterTable &t) {
  t["Reshape"] = convertReshape;
  t["Flatten"] = convertFlatten;
  t["Squeeze"] = convertSqueeze;
  t["Unsqueeze"] = convertUnsqueeze;
  t["Transpose"] = convertTranspose;
  t["Concat"] = convertConcat;
  t["Pad"] = convertPad;
  t["Slice"] = convertSlice;
  t["Split"] = convertSplit;
  t["Tile"] = convertTile;
  t["Expand"] = convertExpand;
  t["ConvTranspose"] = convertConvTranspose;
  t["CenterCropPad"] = convertCenterCropPad;
  t["DepthToSpace"] = convertDepthToSpace;
  t["SpaceToDepth"] = convertSpaceToDepth;
}
