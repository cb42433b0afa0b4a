//===- ConvertRunTimeSizes.cpp - ops whose result sizes the run decides ---===//
//
// NonZero, Compress, NonMaxSuppression and Unique produce as many elements
// as the data asks for. Weft's shapes are static, so such a result is computed
// padded to the most it can hold (its bound), and the run's size travels
// beside it as an i64 scalar (ImportContext::RunTimeDim). The ops after it
// that cannot be misled by the padding pass the dim on
// (propagateRunTimeDims): elementwise ops, layout changes that keep the dim
// whole, gathers, and reductions, concatenations and splits along other
// dims. Anything else that meets such a value is refused with the reason,
// never computed on the padding. A graph output that holds one is packed
// in its run-time shape's order and its sizes are returned to the runtime
// (OnnxImporter), so a caller reads the shape of each run.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;
using RunTimeDim = ImportContext::RunTimeDim;

std::string nodeLabel(ImportContext &ctx) {
  return std::string(ctx.getOpType()) + " '" + ctx.getNodeName().str() + "'";
}

/// Rows [first, first + count) of `x` along dim 0, keeping the rank.
FailureOr<Value> rows(ImportContext &ctx, Value x, int64_t first, int64_t count) {
  auto shape = ImportContext::typeOf(x).getShape();
  SmallVector<int64_t> starts(shape.size(), 0), sizes(shape), steps(shape.size(), 1);
  starts[0] = first;
  sizes[0] = count;
  return ctx.createInferred<SliceOp>(x, starts, sizes, steps);
}

/// Element [row, 0] of a 2-D i64 tensor, as a scalar tensor.
FailureOr<Value> element(ImportContext &ctx, Value x, int64_t row) {
  SmallVector<int64_t> starts{row, 0}, sizes{1, 1}, steps{1, 1};
  auto s = ctx.createInferred<SliceOp>(x, starts, sizes, steps);
  if (failed(s))
    return failure();
  return ctx.reshape(*s, {});
}

LogicalResult refuseRunTimeInput(ImportContext &ctx, const Node &node) {
  for (int i = 0; i < node.input_size(); ++i)
    if (!node.input(i).empty() && !ctx.runTimeDims(node.input(i)).empty())
      return ctx.fail("input '" + node.input(i) + "' has a size decided at run time (" +
                      ctx.runTimeDims(node.input(i))[0].origin +
                      "), whose padding this op would read as data");
  return success();
}

/// The coordinates of the nonzero elements of a constant, at compile time.
Value foldNonZero(ImportContext &ctx, DenseElementsAttr attr) {
  auto type = cast<RankedTensorType>(attr.getType());
  int64_t rank = std::max<int64_t>(type.getRank(), 1);
  SmallVector<int64_t> flat;
  if (isa<FloatType>(type.getElementType())) {
    for (auto [i, v] : llvm::enumerate(attr.getValues<APFloat>()))
      if (!v.isZero())
        flat.push_back(i);
  } else {
    for (auto [i, v] : llvm::enumerate(attr.getValues<APInt>()))
      if (!v.isZero())
        flat.push_back(i);
  }
  int64_t n = flat.size();
  SmallVector<int64_t> coords(rank * n, 0);
  for (auto [j, f] : llvm::enumerate(flat)) {
    int64_t rest = f;
    for (int64_t d = type.getRank() - 1; d >= 0; --d) {
      coords[d * n + j] = rest % type.getShape()[d];
      rest /= type.getShape()[d];
    }
  }
  auto out = RankedTensorType::get({rank, n}, ctx.getBuilder().getI64Type());
  return ctx.constant(DenseElementsAttr::get(out, ArrayRef<int64_t>(coords)));
}

/// The nonzero elements' coordinates [rank, bound] and their count. One
/// value's are computed once, so that two selections by the same mask
/// (PyTorch's boxes[keep] and scores[keep]) share their run-time count.
FailureOr<std::pair<Value, Value>> nonZero(ImportContext &ctx, Value x,
                                           ArrayRef<RunTimeDim> sized) {
  if (auto known = ctx.nonZeroOf(x))
    return *known;
  SmallVector<RunTimeDim> dims(sized);
  llvm::sort(dims, [](const RunTimeDim &a, const RunTimeDim &b) { return a.dim < b.dim; });
  SmallVector<Value> extents;
  SmallVector<int64_t> at;
  for (const RunTimeDim &d : dims) {
    extents.push_back(d.extent);
    at.push_back(d.dim);
  }
  auto nz = ctx.createInferred<NonZeroOp>(x, extents, at);
  if (failed(nz))
    return failure();
  int64_t rank = ImportContext::typeOf(*nz).getShape()[0] - 1;
  auto coords = rows(ctx, *nz, 0, rank);
  auto count = element(ctx, *nz, rank);
  if (failed(coords) || failed(count))
    return failure();
  ctx.recordNonZero(x, *coords, *count);
  return std::make_pair(*coords, *count);
}

LogicalResult convertNonZero(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  if (auto attr = ImportContext::getConstantValue(*x)) {
    ctx.setOutput(node, 0, foldNonZero(ctx, attr));
    return success();
  }
  auto r = nonZero(ctx, *x, ctx.runTimeDims(node.input(0)));
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, r->first);
  ctx.setRunTimeDims(node.output(0), {{1, r->second, "the count of nonzero elements of " +
                                                         nodeLabel(ctx)}});
  return success();
}

/// The input and the axis an op with an optional `axis` works along: the
/// flattened input and 0 when the attribute is absent.
FailureOr<std::pair<Value, int64_t>> alongAxis(ImportContext &ctx, const Node &node, Value x) {
  auto type = ImportContext::typeOf(x);
  if (ImportContext::hasAttr(node, "axis")) {
    auto a = ctx.normalizeAxis(ctx.getInt(node, "axis", 0), type.getRank());
    if (failed(a))
      return failure();
    return std::make_pair(x, *a);
  }
  auto flat = ctx.reshape(x, {type.getNumElements()});
  if (failed(flat))
    return failure();
  return std::make_pair(*flat, int64_t(0));
}

// Compress: the slices (or, without an axis, the flattened elements) whose
// condition is true, gathered by the condition's NonZero.
LogicalResult convertCompress(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  auto cond = ctx.input(node, 1);
  if (failed(x) || failed(cond))
    return failure();
  // Inputs sized at run time: the condition along its one dim, the data
  // along the selected axis with the same size, or along others (kept).
  ArrayRef<RunTimeDim> condDims = ctx.runTimeDims(node.input(1));
  ArrayRef<RunTimeDim> dataDims = ctx.runTimeDims(node.input(0));
  if (!dataDims.empty() && !ImportContext::hasAttr(node, "axis"))
    return refuseRunTimeInput(ctx, node);
  auto ct = ImportContext::typeOf(*cond);
  if (ct.getRank() != 1 || !ct.getElementType().isInteger(1))
    return ctx.fail("the condition must be a 1-D bool tensor");
  auto along = alongAxis(ctx, node, *x);
  if (failed(along))
    return failure();
  Value data = along->first;
  int64_t axis = along->second;
  auto dt = ImportContext::typeOf(data);
  int64_t length = ct.getShape()[0], dim = dt.getShape()[axis];
  SmallVector<RunTimeDim> kept;
  for (const RunTimeDim &d : dataDims) {
    if (d.dim != axis) {
      kept.push_back(d);
      continue;
    }
    if (condDims.empty() || condDims[0].extent != d.extent)
      return ctx.fail("input '" + node.input(0) + "' is sized at run time along the axis (" +
                      d.origin + ") and the condition is not: their lengths may differ");
  }
  if (length > dim)
    return ctx.fail("the condition has " + Twine(length) + " elements, more than the " +
                    Twine(dim) + " it selects from");
  // Nothing selected: an empty result of static shape.
  auto none = [&] {
    SmallVector<int64_t> shape(dt.getShape());
    shape[axis] = 0;
    ctx.setOutput(node, 0,
                  ctx.constant(DenseElementsAttr::get(
                      RankedTensorType::get(shape, dt.getElementType()), ArrayRef<Attribute>{})));
    return success();
  };
  if (length == 0 || dim == 0)
    return none();
  Value index;
  Value count;
  if (auto attr = ImportContext::getConstantValue(*cond)) {
    // A constant condition selects fixed slices.
    Value coords = foldNonZero(ctx, attr);
    auto flat = ctx.reshape(coords, {ImportContext::typeOf(coords).getShape()[1]});
    if (failed(flat))
      return failure();
    if (ImportContext::typeOf(*flat).getShape()[0] == 0)
      return none();
    index = *flat;
  } else {
    auto r = nonZero(ctx, *cond, condDims);
    if (failed(r))
      return failure();
    auto flat = ctx.reshape(r->first, {ImportContext::typeOf(r->first).getShape()[1]});
    if (failed(flat))
      return failure();
    index = *flat;
    count = r->second;
  }
  auto out = ctx.createInferred<GatherOp>(data, index, axis);
  if (failed(out))
    return failure();
  ctx.setOutput(node, 0, *out);
  if (count)
    kept.push_back({axis, count, "the count of true conditions of " + nodeLabel(ctx)});
  ctx.setRunTimeDims(node.output(0), kept);
  return success();
}

/// An optional scalar input as a 0-d tensor of `elt`, or `fallback`.
FailureOr<Value> scalarInput(ImportContext &ctx, const Node &node, int index, Type elt,
                             double fallback, StringRef what) {
  auto v = ctx.optionalInput(node, index);
  if (failed(v))
    return failure();
  if (!*v)
    return ctx.splat(RankedTensorType::get({}, elt), fallback);
  auto t = ImportContext::typeOf(*v);
  if (t.getNumElements() != 1 || t.getElementType() != elt)
    return ctx.fail(what + " must hold one " + (elt.isF32() ? "float" : "int64") + " value");
  return ctx.reshape(*v, {});
}

LogicalResult convertNonMaxSuppression(ImportContext &ctx, const Node &node, int64_t) {
  auto boxes = ctx.input(node, 0);
  auto scores = ctx.input(node, 1);
  if (failed(boxes) || failed(scores))
    return failure();
  // Boxes selected at run time (the boxes above a score, say): their count
  // bounds the candidates, the padding is never one.
  ArrayRef<RunTimeDim> boxDims = ctx.runTimeDims(node.input(0));
  ArrayRef<RunTimeDim> scoreDims = ctx.runTimeDims(node.input(1));
  Value selectedBoxes;
  if (!boxDims.empty() || !scoreDims.empty()) {
    if (boxDims.size() != 1 || scoreDims.size() != 1 || boxDims[0].dim != 1 ||
        scoreDims[0].dim != 2 || boxDims[0].extent != scoreDims[0].extent)
      return ctx.fail("boxes and scores sized at run time must share one run-time count of "
                      "boxes (boxes' dim 1, scores' dim 2), from the same selection (" +
                      (boxDims.empty() ? scoreDims : boxDims)[0].origin + ")");
    selectedBoxes = boxDims[0].extent;
  }
  for (int i = 2; i < node.input_size(); ++i)
    if (!node.input(i).empty() && !ctx.runTimeDims(node.input(i)).empty())
      return ctx.fail("input '" + node.input(i) + "' is sized at run time");
  auto bt = ImportContext::typeOf(*boxes), st = ImportContext::typeOf(*scores);
  if (!bt.getElementType().isF32() || !st.getElementType().isF32())
    return ctx.fail("boxes and scores must be float tensors");
  if (bt.getRank() != 3 || bt.getShape()[2] != 4)
    return ctx.fail("boxes must have shape [batches, boxes, 4]");
  if (st.getRank() != 3 || st.getShape()[0] != bt.getShape()[0] ||
      st.getShape()[2] != bt.getShape()[1])
    return ctx.fail("scores must have shape [batches, classes, boxes] for boxes [" +
                    Twine(bt.getShape()[0]) + ", " + Twine(bt.getShape()[1]) + ", 4]");
  int64_t centerPoint = ctx.getInt(node, "center_point_box", 0);
  if (centerPoint != 0 && centerPoint != 1)
    return ctx.fail("center_point_box must be 0 or 1");
  auto &b = ctx.getBuilder();
  int64_t n = bt.getShape()[1];
  // The most boxes a class can keep: the maximum when it is a constant.
  int64_t bound = 0;
  Value maxPer;
  if (ImportContext::hasInput(node, 2)) {
    auto m = ctx.input(node, 2);
    if (failed(m))
      return failure();
    if (auto attr = ImportContext::getConstantValue(*m)) {
      auto values = ImportContext::toInts(attr);
      if (values.size() != 1)
        return ctx.fail("max_output_boxes_per_class must hold one value");
      bound = std::clamp<int64_t>(values[0], 0, n);
    } else {
      bound = n;
    }
  }
  auto empty = [&] {
    auto type = RankedTensorType::get({0, 3}, b.getI64Type());
    ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(type, ArrayRef<Attribute>{})));
    return success();
  };
  int64_t total = bt.getShape()[0] * st.getShape()[1] * bound;
  if (total == 0)
    return empty();
  if (failed(ctx.checkShape({total + 1, 3}, "the selected boxes' bound")))
    return failure();
  auto m = scalarInput(ctx, node, 2, b.getI64Type(), 0, "max_output_boxes_per_class");
  auto iou = scalarInput(ctx, node, 3, b.getF32Type(), 0.0, "iou_threshold");
  // No score threshold: NaN, which the kernel reads as "every box".
  auto score = scalarInput(ctx, node, 4, b.getF32Type(), std::nan(""), "score_threshold");
  if (failed(m) || failed(iou) || failed(score))
    return failure();
  maxPer = *m;
  if (!selectedBoxes)
    selectedBoxes = ctx.splat(RankedTensorType::get({}, b.getI64Type()), (double)n);
  auto r = ctx.createInferred<NonMaxSuppressionOp>(*boxes, *scores, selectedBoxes, maxPer, *iou,
                                                   *score, bound, centerPoint != 0);
  if (failed(r))
    return failure();
  auto selected = rows(ctx, *r, 0, total);
  auto count = element(ctx, *r, total);
  if (failed(selected) || failed(count))
    return failure();
  ctx.setOutput(node, 0, *selected);
  ctx.setRunTimeDims(node.output(0),
                     {{0, *count, "the count of boxes " + nodeLabel(ctx) + " keeps"}});
  return success();
}

// Unique: weft.unique gives the first occurrences (in output order), the
// inverse indices, the counts and their count; the values are gathered.
LogicalResult convertUnique(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x) || failed(refuseRunTimeInput(ctx, node)))
    return failure();
  auto along = alongAxis(ctx, node, *x);
  if (failed(along))
    return failure();
  Value data = along->first;
  int64_t axis = along->second;
  auto dt = ImportContext::typeOf(data);
  int64_t n = dt.getShape()[axis];
  auto i64 = ctx.getBuilder().getI64Type();
  if (n == 0) {
    auto empty = [&](ArrayRef<int64_t> shape, Type elt) {
      return ctx.constant(
          DenseElementsAttr::get(RankedTensorType::get(shape, elt), ArrayRef<Attribute>{}));
    };
    ctx.setOutput(node, 0, empty(dt.getShape(), dt.getElementType()));
    for (int j = 1; j < 4; ++j)
      ctx.setOutput(node, j, empty({0}, i64));
    return success();
  }
  bool sorted = ctx.getInt(node, "sorted", 1) != 0;
  auto r = ctx.createInferred<UniqueOp>(data, axis, sorted);
  if (failed(r))
    return failure();
  auto row = [&](int64_t k) -> FailureOr<Value> {
    auto s = rows(ctx, *r, k, 1);
    if (failed(s))
      return failure();
    return ctx.reshape(*s, {n});
  };
  auto firsts = row(0), inverse = row(1), counts = row(2);
  auto count = element(ctx, *r, 3);
  if (failed(firsts) || failed(inverse) || failed(counts) || failed(count))
    return failure();
  auto values = ctx.createInferred<GatherOp>(data, *firsts, axis);
  if (failed(values))
    return failure();
  std::string origin = "the count of distinct values of " + nodeLabel(ctx);
  Value outs[] = {*values, *firsts, *inverse, *counts};
  int64_t dims[] = {axis, 0, -1, 0};
  for (int j = 0; j < 4; ++j) {
    ctx.setOutput(node, j, outs[j]);
    if (dims[j] >= 0 && ImportContext::hasOutput(node, j))
      ctx.setRunTimeDims(node.output(j), {{dims[j], *count, origin}});
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Passing run-time-sized dims on
//===----------------------------------------------------------------------===//

const llvm::StringSet<> &sameShapeOps() {
  static const llvm::StringSet<> ops = {
      "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Floor",
      "Ceil", "Round", "Sin", "Cos", "Tan", "Atan", "Asin", "Acos", "Asinh", "Acosh", "Atanh",
      "Sinh", "Cosh", "Erf", "Sign", "Softplus", "Softsign", "Not", "Identity", "Cast",
      "CastLike", "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Mish",
      "Gelu", "ThresholdedRelu", "Shrink", "Dropout", "IsNaN", "IsInf", "BitwiseNot"};
  return ops;
}

const llvm::StringSet<> &broadcastOps() {
  static const llvm::StringSet<> ops = {
      "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Less",
      "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "Mod",
      "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "PRelu", "Clip"};
  return ops;
}

const llvm::StringSet<> &reduceOps() {
  static const llvm::StringSet<> ops = {
      "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
      "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
  return ops;
}

class Propagation {
public:
  Propagation(ImportContext &ctx, const Node &node) : ctx(ctx), node(node) {}

  LogicalResult run();

private:
  /// The run-time dims of input `i` (none for an absent input).
  ArrayRef<RunTimeDim> dimsOf(int i) {
    if (i >= node.input_size() || node.input(i).empty())
      return {};
    return ctx.runTimeDims(node.input(i));
  }
  int64_t rankOf(int i) {
    auto v = ctx.lookup(node.input(i));
    return failed(v) ? 0 : ImportContext::typeOf(*v).getRank();
  }
  ArrayRef<int64_t> shapeOf(StringRef name) {
    auto v = ctx.lookup(name);
    return failed(v) ? ArrayRef<int64_t>() : ImportContext::typeOf(*v).getShape();
  }
  LogicalResult refuse(int input, const RunTimeDim &d, const Twine &why) {
    return ctx.fail("input '" + node.input(input) + "' is sized at run time along dim " +
                    Twine(d.dim) + " (" + d.origin + "); " + why);
  }
  /// Gives every output the dims `out`.
  LogicalResult setAll(ArrayRef<RunTimeDim> out) {
    for (int j = 0; j < node.output_size(); ++j)
      if (!node.output(j).empty())
        ctx.setRunTimeDims(node.output(j), out);
    return success();
  }
  LogicalResult broadcast(ArrayRef<int> inputs, int64_t outRank,
                          SmallVectorImpl<RunTimeDim> &out);
  LogicalResult reshape();
  LogicalResult slice();
  LogicalResult reduce(int64_t axisDefault, bool single);

  ImportContext &ctx;
  const Node &node;
};

/// Elementwise broadcasting: a run-time dim is kept where every other
/// operand has size 1 there or the very same run-time size.
LogicalResult Propagation::broadcast(ArrayRef<int> inputs, int64_t outRank,
                                     SmallVectorImpl<RunTimeDim> &out) {
  for (int i : inputs)
    for (const RunTimeDim &d : dimsOf(i)) {
      int64_t at = outRank - rankOf(i) + d.dim;
      if (llvm::any_of(out, [&](const RunTimeDim &o) { return o.dim == at; }))
        continue;
      for (int other : inputs) {
        if (other == i || other >= node.input_size() || node.input(other).empty())
          continue;
        int64_t r = rankOf(other), od = at - (outRank - r);
        if (od < 0)
          continue;
        auto same = llvm::find_if(dimsOf(other), [&](const RunTimeDim &x) { return x.dim == od; });
        if (same != dimsOf(other).end()) {
          if (same->extent != d.extent)
            return refuse(i, d, "input '" + node.input(other) +
                                    "' has another size decided at run time there (" +
                                    same->origin + "), which may differ");
          continue;
        }
        int64_t size = shapeOf(node.input(other))[od];
        if (size != 1)
          return refuse(i, d, "input '" + node.input(other) + "' has the fixed size " +
                                  Twine(size) + " there, which the run's size may not match");
      }
      out.push_back({at, d.extent, d.origin});
    }
  return success();
}

/// Reshape, Flatten, Squeeze, Unsqueeze: the dim must stay whole, with the
/// same number of elements before and after it.
LogicalResult Propagation::reshape() {
  for (int i = 1; i < node.input_size(); ++i)
    if (!dimsOf(i).empty())
      return refuse(i, dimsOf(i)[0], "a shape computed from it is not known at compile time");
  ArrayRef<int64_t> in = shapeOf(node.input(0)), out = shapeOf(node.output(0));
  auto product = [](ArrayRef<int64_t> s) {
    int64_t p = 1;
    for (int64_t d : s)
      p *= d;
    return p;
  };
  SmallVector<RunTimeDim> result;
  for (const RunTimeDim &d : dimsOf(0)) {
    int64_t before = product(in.take_front(d.dim)), after = product(in.drop_front(d.dim + 1));
    std::optional<int64_t> found;
    for (int64_t o = 0; o < (int64_t)out.size() && !found; ++o)
      if (out[o] == in[d.dim] && product(out.take_front(o)) == before &&
          product(out.drop_front(o + 1)) == after)
        found = o;
    if (!found)
      return refuse(0, d, "this reshape merges or splits that dim, whose size is not known");
    result.push_back({*found, d.extent, d.origin});
  }
  return setAll(result);
}

/// Slice: a run-time dim must be taken whole (start 0, step 1, an end at
/// or past its bound).
LogicalResult Propagation::slice() {
  ArrayRef<int64_t> in = shapeOf(node.input(0));
  auto args = readSliceArguments(ctx, node, ctx.getOpset());
  if (failed(args))
    return failure();
  const auto &[starts, ends, axes, steps] = *args;
  for (const RunTimeDim &d : dimsOf(0))
    for (auto [k, a] : llvm::enumerate(axes)) {
      if ((a < 0 ? a + (int64_t)in.size() : a) != d.dim)
        continue;
      if (k >= starts.size() || k >= ends.size())
        continue; // the converter has reported the mismatch
      int64_t step = k < steps.size() ? steps[k] : 1;
      if (starts[k] != 0 || step != 1 || ends[k] < in[d.dim])
        return refuse(0, d, "a slice of it needs its run-time size; only a slice that "
                            "takes it whole (start 0, step 1, end at least " +
                                Twine(in[d.dim]) + ") is supported");
    }
  return setAll(dimsOf(0));
}

/// Reductions and ArgMax/ArgMin: over other dims only.
LogicalResult Propagation::reduce(int64_t axisDefault, bool single) {
  int64_t rank = rankOf(0);
  bool keep = ctx.getInt(node, "keepdims", 1) != 0;
  SmallVector<int64_t> axes;
  if (single) {
    axes.push_back(ctx.getInt(node, "axis", axisDefault));
  } else if (auto a = ctx.getOptionalInts(node, "axes")) {
    axes = *a;
  } else if (ImportContext::hasInput(node, 1)) {
    auto c = ctx.constantInts(node, 1, "axes");
    if (failed(c))
      return failure();
    axes = *c;
  }
  if (axes.empty() && !single) {
    if (ctx.getInt(node, "noop_with_empty_axes", 0))
      return setAll(dimsOf(0));
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  for (int64_t &a : axes)
    if (a < 0)
      a += rank;
  SmallVector<RunTimeDim> out;
  for (const RunTimeDim &d : dimsOf(0)) {
    if (llvm::is_contained(axes, d.dim))
      return refuse(0, d, "a reduction over that dim would include its padding");
    int64_t at = d.dim;
    if (!keep)
      at -= llvm::count_if(axes, [&](int64_t a) { return a < d.dim; });
    out.push_back({at, d.extent, d.origin});
  }
  return setAll(out);
}

LogicalResult Propagation::run() {
  SmallVector<int> dynamic;
  for (int i = 0; i < node.input_size(); ++i)
    if (!dimsOf(i).empty())
      dynamic.push_back(i);
  if (dynamic.empty())
    return success();
  StringRef op = node.op_type();
  int first = dynamic[0];
  const RunTimeDim &d0 = dimsOf(first)[0];
  auto outRank = [&](int j = 0) -> int64_t { return shapeOf(node.output(j)).size(); };

  if (sameShapeOps().contains(op)) {
    for (int i : dynamic)
      if (i != 0)
        return refuse(i, dimsOf(i)[0], "only the first input of " + op + " may be");
    return setAll(dimsOf(0));
  }
  if (broadcastOps().contains(op)) {
    SmallVector<int> inputs = llvm::to_vector(llvm::seq<int>(0, node.input_size()));
    SmallVector<RunTimeDim> out;
    if (failed(broadcast(inputs, outRank(), out)))
      return failure();
    return setAll(out);
  }
  if (op == "Transpose") {
    int64_t rank = rankOf(0);
    auto reversed = llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, rank)));
    SmallVector<int64_t> perm = ctx.getInts(node, "perm", reversed);
    SmallVector<RunTimeDim> out;
    for (const RunTimeDim &d : dimsOf(0))
      out.push_back({llvm::find(perm, d.dim) - perm.begin(), d.extent, d.origin});
    return setAll(out);
  }
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze")
    return reshape();
  if (op == "Slice")
    return slice();
  if (op == "Gather") {
    int64_t rank = rankOf(0), q = node.input_size() > 1 ? rankOf(1) : 0;
    int64_t axis = ctx.getInt(node, "axis", 0);
    if (axis < 0)
      axis += rank;
    SmallVector<RunTimeDim> out;
    for (const RunTimeDim &d : dimsOf(0))
      if (d.dim != axis) // indices past the run's size are the model's error
        out.push_back({d.dim < axis ? d.dim : d.dim + q - 1, d.extent, d.origin});
    for (const RunTimeDim &d : dimsOf(1))
      out.push_back({axis + d.dim, d.extent, d.origin});
    return setAll(out);
  }
  if (op == "GatherElements") {
    int64_t axis = ctx.getInt(node, "axis", 0);
    if (axis < 0)
      axis += rankOf(0);
    for (const RunTimeDim &d : dimsOf(0))
      if (d.dim != axis &&
          !llvm::any_of(dimsOf(1), [&](const RunTimeDim &x) {
            return x.dim == d.dim && x.extent == d.extent;
          }))
        return refuse(0, d, "the indices have a fixed size along that dim");
    return setAll(dimsOf(1));
  }
  if (op == "GatherND") {
    int64_t b = ctx.getInt(node, "batch_dims", 0), q = rankOf(1);
    int64_t k = shapeOf(node.input(1)).back();
    SmallVector<RunTimeDim> out;
    for (const RunTimeDim &d : dimsOf(1)) {
      if (d.dim == q - 1)
        return refuse(1, d, "the length of an index tuple must be fixed");
      out.push_back(d);
    }
    for (const RunTimeDim &d : dimsOf(0)) {
      if (d.dim < b) {
        if (!llvm::any_of(dimsOf(1), [&](const RunTimeDim &x) {
              return x.dim == d.dim && x.extent == d.extent;
            }))
          return refuse(0, d, "the indices have a fixed size along that batch dim");
      } else if (d.dim >= b + k) {
        out.push_back({q - 1 + d.dim - b - k, d.extent, d.origin});
      }
    }
    return setAll(out);
  }
  if (op == "Concat" || op == "Split") {
    int64_t rank = rankOf(0);
    int64_t axis = ctx.getInt(node, "axis", op == "Split" ? 0 : 1);
    if (axis < 0)
      axis += rank;
    int count = op == "Concat" ? node.input_size() : 1;
    for (int i = 1; i < node.input_size() && op == "Split"; ++i)
      if (!dimsOf(i).empty())
        return refuse(i, dimsOf(i)[0], "split sizes computed from it are not known");
    for (int i = 0; i < count; ++i)
      for (const RunTimeDim &d : dimsOf(i)) {
        if (d.dim == axis)
          return refuse(i, d, "joining or cutting along it needs its run-time size");
        for (int j = 0; j < count; ++j)
          if (!llvm::any_of(dimsOf(j), [&](const RunTimeDim &x) {
                return x.dim == d.dim && x.extent == d.extent;
              }))
            return refuse(i, d, "input '" + node.input(j) +
                                    "' does not have the same run-time size along that dim");
      }
    return setAll(dimsOf(0));
  }
  if (reduceOps().contains(op))
    return reduce(0, false);
  if (op == "ArgMax" || op == "ArgMin")
    return reduce(0, true);
  if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax" || op == "TopK") {
    int64_t rank = rankOf(0);
    bool coerced = op != "TopK" && ctx.getOpset() < 13;
    int64_t axis = ctx.getInt(node, "axis", coerced ? 1 : -1);
    if (axis < 0)
      axis += rank;
    for (const RunTimeDim &d : dimsOf(0))
      if (coerced ? d.dim >= axis : d.dim == axis)
        return refuse(0, d, "the op works along that dim, which would include its padding");
    for (int i = 1; i < node.input_size(); ++i)
      if (!dimsOf(i).empty())
        return refuse(i, dimsOf(i)[0], "K must be known at compile time");
    return setAll(dimsOf(0));
  }
  if (op == "MatMul") {
    int64_t ra = rankOf(0), rb = rankOf(1), r = outRank();
    SmallVector<RunTimeDim> out;
    for (const RunTimeDim &d : dimsOf(0)) {
      if (d.dim == ra - 1)
        return refuse(0, d, "it is the product's reduction, which would include its padding");
      out.push_back({r - ra + d.dim, d.extent, d.origin});
    }
    for (const RunTimeDim &d : dimsOf(1)) {
      if (rb == 1 || d.dim == rb - 2)
        return refuse(1, d, "it is the product's reduction, which would include its padding");
      if (d.dim < rb - 2)
        return refuse(1, d, "batch dims of the right operand sized at run time are not supported");
      out.push_back({r - 1, d.extent, d.origin});
    }
    for (const RunTimeDim &d : out)
      if (d.dim < r - 2)
        return refuse(0, d0, "batch dims sized at run time are not supported in MatMul");
    return setAll(out);
  }
  if (op == "Gemm") {
    bool ta = ctx.getInt(node, "transA", 0) != 0, tb = ctx.getInt(node, "transB", 0) != 0;
    SmallVector<RunTimeDim> out;
    for (const RunTimeDim &d : dimsOf(0)) {
      if (d.dim != (ta ? 1 : 0))
        return refuse(0, d, "it is the product's reduction, which would include its padding");
      out.push_back({0, d.extent, d.origin});
    }
    for (const RunTimeDim &d : dimsOf(1)) {
      if (d.dim != (tb ? 0 : 1))
        return refuse(1, d, "it is the product's reduction, which would include its padding");
      out.push_back({1, d.extent, d.origin});
    }
    if (!dimsOf(2).empty())
      return refuse(2, dimsOf(2)[0], "a bias sized at run time is not supported");
    return setAll(out);
  }
  if (op == "LayerNormalization") {
    int64_t axis = ctx.getInt(node, "axis", -1);
    if (axis < 0)
      axis += rankOf(0);
    for (int i : dynamic)
      for (const RunTimeDim &d : dimsOf(i))
        if (i != 0 || d.dim >= axis)
          return refuse(i, d, "the normalization works along that dim");
    ctx.setRunTimeDims(node.output(0), dimsOf(0));
    for (int j = 1; j < node.output_size(); ++j)
      if (!node.output(j).empty())
        ctx.setRunTimeDims(node.output(j), dimsOf(0));
    return success();
  }
  if (op == "Shape" || op == "Size")
    return refuse(first, d0, "its shape is known only at run time, and Weft's shapes are static");
  return refuse(first, d0,
                op + " cannot take such a value (the elementwise ops, Cast, Transpose, "
                     "Reshape/Flatten/Squeeze/Unsqueeze keeping that dim whole, "
                     "Gather/GatherElements/GatherND, a Slice taking it whole, Concat, "
                     "Split, reductions, ArgMax/ArgMin, Softmax and TopK along other dims, "
                     "MatMul/Gemm rows and LayerNormalization over other dims can)");
}

} // namespace

LogicalResult weft::propagateRunTimeDims(ImportContext &ctx, const onnx::NodeProto &node) {
  // The converters of the ops that decide sizes set their outputs' dims.
  StringRef op = node.op_type();
  if (op == "NonZero" || op == "Compress" || op == "NonMaxSuppression" || op == "Unique")
    return success();
  return Propagation(ctx, node).run();
}

void weft::registerRunTimeSizeConverters(ConverterTable &t) {
  t["NonZero"] = convertNonZero;
  t["Compress"] = convertCompress;
  t["NonMaxSuppression"] = convertNonMaxSuppression;
  t["Unique"] = convertUnique;
}
