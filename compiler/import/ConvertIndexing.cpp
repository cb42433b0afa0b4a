//===- ConvertIndexing.cpp - indexing and scan ONNX ops -> weft -----------===//
//
// Ops that pick or place elements by index or position: Gather,
// GatherElements, GatherND, ScatterElements (and Scatter), ScatterND,
// TopK, Trilu, Hardmax, EyeLike, OneHot, and CumSum (a masked sum along
// its axis). Each converter says which of its inputs must be constant;
// constant indices are checked against their axis at import time.
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

/// Indices of the gathers: i32 or i64, as ONNX allows.
LogicalResult checkIndexType(ImportContext &ctx, Value indices) {
  Type e = ImportContext::typeOf(indices).getElementType();
  if (!e.isSignlessInteger(32) && !e.isSignlessInteger(64))
    return ctx.fail("indices must be int32 or int64");
  return success();
}

// Gather: with constant indices, folded for constant data or one strided
// slice when the indices form an arithmetic progression (so the copy fuses
// like any slice); otherwise weft.gather, which reads the indices at run
// time. Constant indices out of range are an error here; run-time ones are
// clamped by weft.gather.
LogicalResult convertGather(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto indicesValue = ctx.input(node, 1);
  if (failed(indicesValue))
    return failure();
  if (failed(checkIndexType(ctx, *indicesValue)))
    return failure();
  auto type = ImportContext::typeOf(*x);
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  auto indicesAttr = ImportContext::getConstantValue(*indicesValue);
  if (!indicesAttr) {
    auto r = ctx.createInferred<GatherOp>(*x, *indicesValue, *axis);
    if (failed(r))
      return failure();
    ctx.setOutput(node, 0, *r);
    return success();
  }
  int64_t dim = type.getShape()[*axis];
  SmallVector<int64_t> indices = ImportContext::toInts(indicesAttr);
  for (int64_t &i : indices) {
    if (i < -dim || i >= dim)
      return ctx.fail("index " + Twine(i) + " is out of range for dimension " +
                      Twine(*axis) + " of size " + Twine(dim));
    if (i < 0)
      i += dim;
  }
  auto indexShape = indicesAttr.getType().getShape();
  SmallVector<int64_t> outShape(type.getShape().take_front(*axis));
  outShape.append(indexShape.begin(), indexShape.end());
  outShape.append(type.getShape().begin() + *axis + 1, type.getShape().end());
  auto outType = RankedTensorType::get(outShape, type.getElementType());
  auto inStrides = stridesOf(type.getShape());
  int64_t q = indexShape.size();
  if (auto folded = remap(ImportContext::getConstantValue(*x), outType,
                          [&](int64_t i) {
                            auto c = delinearize(i, outShape);
                            int64_t flat = 0;
                            for (int64_t k = 0; k < q; ++k)
                              flat = flat * indexShape[k] + c[*axis + k];
                            int64_t src = 0;
                            for (int64_t d = 0; d < type.getRank(); ++d) {
                              int64_t coord =
                                  d < *axis   ? c[d]
                                  : d == *axis ? indices[flat]
                                               : c[d - 1 + q];
                              src += coord * inStrides[d];
                            }
                            return src;
                          })) {
    ctx.setOutput(node, 0, ctx.constant(folded));
    return success();
  }
  int64_t n = indices.size();
  int64_t step = n > 1 ? indices[1] - indices[0] : 1;
  bool progression = step != 0 || n == 1;
  for (int64_t k = 1; k < n && progression; ++k)
    progression = indices[k] - indices[k - 1] == step;
  if (n == 0 || progression) {
    auto s = sliceAxis(ctx, *x, *axis, n ? indices[0] : 0, n, step);
    if (failed(s))
      return failure();
    return setReshaped(ctx, node, *s, outShape);
  }
  auto r = ctx.createInferred<GatherOp>(*x, *indicesValue, *axis);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

// GatherElements and GatherND read their indices at run time (constant
// ones included); out-of-range constant indices are an error.
LogicalResult checkConstantIndices(ImportContext &ctx, Value indices,
                                   function_ref<int64_t(int64_t)> dimOf) {
  auto attr = ImportContext::getConstantValue(indices);
  if (!attr)
    return success();
  SmallVector<int64_t> values = ImportContext::toInts(attr);
  for (int64_t i = 0, e = values.size(); i < e; ++i) {
    int64_t dim = dimOf(i);
    if (values[i] < -dim || values[i] >= dim)
      return ctx.fail("index " + Twine(values[i]) + " is out of range for a dimension of size " +
                      Twine(dim));
  }
  return success();
}

LogicalResult convertGatherElements(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto indices = ctx.input(node, 1);
  if (failed(indices))
    return failure();
  if (failed(checkIndexType(ctx, *indices)))
    return failure();
  auto type = ImportContext::typeOf(*x);
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getShape()[*axis];
  if (failed(checkConstantIndices(ctx, *indices, [&](int64_t) { return dim; })))
    return failure();
  auto r = ctx.createInferred<GatherElementsOp>(*x, *indices, *axis);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

// The reduction attribute of ScatterND/ScatterElements (opset 16+).
FailureOr<ScatterReduction> scatterReduction(ImportContext &ctx, const Node &node) {
  std::string r = ctx.getString(node, "reduction", "none");
  if (r == "none")
    return ScatterReduction::none;
  if (r == "add")
    return ScatterReduction::add;
  if (r == "mul")
    return ScatterReduction::mul;
  if (r == "max")
    return ScatterReduction::max;
  if (r == "min")
    return ScatterReduction::min;
  (void)ctx.fail("reduction '" + r + "' is not one of none, add, mul, max, min");
  return failure();
}

// Scatter (opset 9-10) and ScatterElements: updates written along an axis
// at run-time indices; constant indices out of range are an error.
LogicalResult convertScatterElements(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  auto indices = ctx.input(node, 1);
  auto updates = ctx.input(node, 2);
  if (failed(x) || failed(indices) || failed(updates))
    return failure();
  if (failed(checkIndexType(ctx, *indices)))
    return failure();
  auto type = ImportContext::typeOf(*x);
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getShape()[*axis];
  if (failed(checkConstantIndices(ctx, *indices, [&](int64_t) { return dim; })))
    return failure();
  auto reduction = scatterReduction(ctx, node);
  if (failed(reduction))
    return failure();
  auto r = ctx.createInferred<ScatterElementsOp>(*x, *indices, *updates, *axis, *reduction);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

LogicalResult convertScatterND(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  auto indices = ctx.input(node, 1);
  auto updates = ctx.input(node, 2);
  if (failed(x) || failed(indices) || failed(updates))
    return failure();
  if (failed(checkIndexType(ctx, *indices)))
    return failure();
  auto type = ImportContext::typeOf(*x);
  auto it = ImportContext::typeOf(*indices);
  if (it.getRank() >= 1) {
    int64_t k = it.getShape().back();
    if (failed(checkConstantIndices(ctx, *indices, [&](int64_t i) {
          int64_t d = k > 0 ? i % k : 0;
          return d < type.getRank() ? type.getShape()[d] : (int64_t)0;
        })))
      return failure();
  }
  auto reduction = scatterReduction(ctx, node);
  if (failed(reduction))
    return failure();
  auto r = ctx.createInferred<ScatterNDOp>(*x, *indices, *updates, *reduction);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

// TopK: the indices of the k best elements along the axis (weft.top_k),
// then their values gathered. `sorted` = 0 allows any order; sorted order
// is one of them.
LogicalResult convertTopK(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", -1), type.getRank());
  if (failed(axis))
    return failure();
  int64_t k;
  if (opset < 10) {
    if (!ImportContext::hasAttr(node, "k"))
      return ctx.fail("attribute 'k' is required");
    k = ctx.getInt(node, "k", 0);
  } else {
    auto kv = ctx.constantScalar(node, 1, "K");
    if (failed(kv))
      return failure();
    k = (int64_t)*kv;
  }
  int64_t n = type.getShape()[*axis];
  if (k < 0 || k > n)
    return ctx.fail("k = " + Twine(k) + " is outside [0, " + Twine(n) +
                    "] (the size of axis " + Twine(*axis) + ")");
  bool largest = opset < 11 || ctx.getInt(node, "largest", 1) != 0;
  if (k == 0) {
    // Nothing to select: both outputs are empty.
    SmallVector<int64_t> shape(type.getShape());
    shape[*axis] = 0;
    auto vt = RankedTensorType::get(shape, type.getElementType());
    auto it = RankedTensorType::get(shape, ctx.getBuilder().getI64Type());
    ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(vt, ArrayRef<Attribute>{})));
    if (node.output_size() > 1)
      ctx.setOutput(node, 1, ctx.constant(DenseElementsAttr::get(it, ArrayRef<Attribute>{})));
    return success();
  }
  auto indices = ctx.createInferred<TopKOp>(*x, *axis, k, largest);
  if (failed(indices))
    return failure();
  auto values = ctx.createInferred<GatherElementsOp>(*x, *indices, *axis);
  if (failed(values))
    return failure();
  ctx.setOutput(node, 0, *values);
  if (node.output_size() > 1)
    ctx.setOutput(node, 1, *indices);
  return success();
}

LogicalResult convertGatherND(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto indices = ctx.input(node, 1);
  if (failed(indices))
    return failure();
  if (failed(checkIndexType(ctx, *indices)))
    return failure();
  int64_t batch = ctx.getInt(node, "batch_dims", 0);
  auto type = ImportContext::typeOf(*x);
  auto it = ImportContext::typeOf(*indices);
  if (it.getRank() >= 1 && batch >= 0) {
    int64_t k = it.getShape().back();
    if (failed(checkConstantIndices(ctx, *indices, [&](int64_t i) {
          int64_t d = batch + i % std::max<int64_t>(k, 1);
          return d < type.getRank() ? type.getShape()[d] : 0;
        })))
      return failure();
  }
  auto r = ctx.createInferred<GatherNDOp>(*x, *indices, batch);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

// Trilu keeps the upper (or lower) triangle of the last two dimensions:
// weft.where with a constant mask, zero elsewhere.
LogicalResult convertTrilu(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  int64_t k = 0;
  bool upper = ctx.getInt(node, "upper", 1) != 0;
  auto type = ImportContext::typeOf(*x);
  if (type.getRank() < 2)
    return ctx.fail("expects an input of rank >= 2");
  int64_t rows = type.getShape()[type.getRank() - 2];
  int64_t cols = type.getShape().back();
  Value zero = ctx.splat(RankedTensorType::get({}, type.getElementType()), 0.0);
  if (ImportContext::hasInput(node, 1)) {
    auto kv = ctx.input(node, 1);
    if (failed(kv))
      return failure();
    if (!ImportContext::getConstantValue(*kv)) {
      // k known at run time: keep x where (j - i) >= k (upper) or <= k.
      auto kt = ImportContext::typeOf(*kv);
      if (kt.getNumElements() != 1 || !kt.getElementType().isSignlessInteger(64))
        return ctx.fail("k must be a single int64");
      auto kScalar = ctx.reshape(*kv, {});
      if (failed(kScalar))
        return failure();
      // j - i from a column and a row of indices, broadcast at run time
      // (no rows x cols constant).
      Type i64 = ctx.getBuilder().getI64Type();
      auto iota = [&](int64_t n, ArrayRef<int64_t> shape) {
        SmallVector<int64_t> v = llvm::to_vector(llvm::seq<int64_t>(0, n));
        return ctx.constant(
            DenseElementsAttr::get(RankedTensorType::get(shape, i64), ArrayRef<int64_t>(v)));
      };
      auto offsets = ctx.createInferred<SubOp>(iota(cols, {1, cols}), iota(rows, {rows, 1}));
      if (failed(offsets))
        return failure();
      auto cond = ctx.createInferred<CompareOp>(upper ? CompareKind::ge : CompareKind::le,
                                                *offsets, *kScalar);
      if (failed(cond))
        return failure();
      auto r = ctx.createInferred<WhereOp>(*cond, *x, zero);
      if (failed(r))
        return failure();
      ctx.setOutput(node, 0, *r);
      return success();
    }
    auto v = ctx.constantScalar(node, 1, "k");
    if (failed(v))
      return failure();
    k = (int64_t)*v;
  }
  SmallVector<bool> mask;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      mask.push_back(upper ? j - i >= k : j - i <= k);
  Value cond = ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get({rows, cols}, ctx.getBuilder().getI1Type()),
      ArrayRef<bool>(mask)));
  auto r = ctx.createInferred<WhereOp>(cond, *x, zero);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

/// 0, 1, .., n-1 as i64 along dimension `axis` of a rank-`rank` constant
/// whose other dimensions are 1 (it broadcasts against the rest).
Value iotaAlong(ImportContext &ctx, int64_t n, int64_t axis, int64_t rank) {
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = n;
  SmallVector<int64_t> v = llvm::to_vector(llvm::seq<int64_t>(0, n));
  return ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get(shape, ctx.getBuilder().getI64Type()), ArrayRef<int64_t>(v)));
}

/// `cond` as 0/1 of element type `to`.
FailureOr<Value> boolTo(ImportContext &ctx, Value cond, Type to) {
  auto scalar = RankedTensorType::get({}, to);
  return ctx.createInferred<WhereOp>(cond, ctx.splat(scalar, 1.0), ctx.splat(scalar, 0.0));
}

// Hardmax: 1 at the first maximum along the axis, 0 elsewhere. Before
// opset 13 the input is coerced to 2-D at `axis` (default 1) and the
// maximum taken along the second dimension.
LogicalResult convertHardmax(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (!isa<FloatType>(type.getElementType()))
    return ctx.fail("needs a floating-point input");
  int64_t rank = type.getRank();
  if (rank == 0)
    return ctx.fail("needs an input of rank >= 1");
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", opset < 13 ? 1 : -1), rank);
  if (failed(axis))
    return failure();
  Value in = *x;
  int64_t a = *axis;
  if (opset < 13) {
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i)
      (i < a ? outer : inner) *= type.getShape()[i];
    auto flat = ctx.reshape(in, {outer, inner});
    if (failed(flat))
      return failure();
    in = *flat;
    a = 1;
  }
  auto inType = ImportContext::typeOf(in);
  if (inType.getShape()[a] == 0)
    return setReshaped(ctx, node, in, type.getShape());
  auto arg = ctx.createInferred<ArgMaxOp>(in, a, false);
  if (failed(arg))
    return failure();
  SmallVector<int64_t> kept(inType.getShape());
  kept[a] = 1;
  auto keptArg = ctx.reshape(*arg, kept);
  if (failed(keptArg))
    return failure();
  auto hit = ctx.createInferred<CompareOp>(
      CompareKind::eq, iotaAlong(ctx, inType.getShape()[a], a, inType.getRank()), *keptArg);
  if (failed(hit))
    return failure();
  auto y = boolTo(ctx, *hit, type.getElementType());
  if (failed(y))
    return failure();
  return setReshaped(ctx, node, *y, type.getShape());
}

// EyeLike: ones on the k-th diagonal of a 2-D tensor shaped like the input,
// a constant.
LogicalResult convertEyeLike(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (type.getRank() != 2)
    return ctx.fail("expects a 2-D input");
  Type elt = type.getElementType();
  if (ImportContext::hasAttr(node, "dtype")) {
    int64_t dtype = ctx.getInt(node, "dtype", 0);
    elt = convertElementType(ctx.getContext(), (int32_t)dtype);
    if (!elt)
      return ctx.fail("dtype " + onnxTypeName((int32_t)dtype) + " is not supported");
  }
  int64_t k = ctx.getInt(node, "k", 0);
  int64_t rows = type.getShape()[0], cols = type.getShape()[1];
  if (rows * cols > (int64_t)1 << 26)
    return ctx.fail("the output is too large to build at compile time");
  auto outType = RankedTensorType::get({rows, cols}, elt);
  SmallVector<Attribute> values;
  Attribute one, zero;
  if (auto ft = dyn_cast<FloatType>(elt)) {
    one = FloatAttr::get(ft, 1.0);
    zero = FloatAttr::get(ft, 0.0);
  } else {
    one = IntegerAttr::get(elt, 1);
    zero = IntegerAttr::get(elt, 0);
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      values.push_back(j - i == k ? one : zero);
  ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(outType, values)));
  return success();
}

// OneHot: values[1] where the (normalized) index equals the position along
// the new axis, values[0] elsewhere; indices outside [-depth, depth) give
// an all-off row. depth must be known at compile time (it is a dimension).
LogicalResult convertOneHot(ImportContext &ctx, const Node &node, int64_t) {
  auto indices = ctx.input(node, 0);
  if (failed(indices))
    return failure();
  auto depthValue = ctx.constantScalar(node, 1, "depth");
  if (failed(depthValue))
    return failure();
  auto values = ctx.input(node, 2);
  if (failed(values))
    return failure();
  double depthReal = *depthValue;
  if (!(depthReal >= 1) || depthReal > (double)((int64_t)1 << 31))
    return ctx.fail("depth must be at least 1, got " + std::to_string(depthReal));
  int64_t depth = (int64_t)depthReal;
  auto it = ImportContext::typeOf(*indices);
  auto vt = ImportContext::typeOf(*values);
  if (vt.getNumElements() != 2 || vt.getRank() != 1)
    return ctx.fail("values must be a 2-element [off, on] tensor");
  if (it.getElementType().isInteger(1))
    return ctx.fail("indices must be numeric");
  int64_t rank = it.getRank() + 1;
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", -1), rank);
  if (failed(axis))
    return failure();
  Type i64 = ctx.getBuilder().getI64Type();
  // Float indices truncate toward zero, as a cast does.
  Value idx = *indices;
  if (it.getElementType() != i64)
    idx = ctx.create<CastOp>(RankedTensorType::get(it.getShape(), i64), idx);
  auto scalar = RankedTensorType::get({}, i64);
  auto negative = ctx.createInferred<CompareOp>(CompareKind::lt, idx, ctx.splat(scalar, 0.0));
  if (failed(negative))
    return failure();
  auto shifted = ctx.createInferred<AddOp>(idx, ctx.splat(scalar, (double)depth));
  if (failed(shifted))
    return failure();
  auto normalized = ctx.createInferred<WhereOp>(*negative, *shifted, idx);
  if (failed(normalized))
    return failure();
  SmallVector<int64_t> withAxis(it.getShape());
  withAxis.insert(withAxis.begin() + *axis, 1);
  auto expanded = ctx.reshape(*normalized, withAxis);
  if (failed(expanded))
    return failure();
  auto hit = ctx.createInferred<CompareOp>(CompareKind::eq, iotaAlong(ctx, depth, *axis, rank),
                                           *expanded);
  if (failed(hit))
    return failure();
  auto off = sliceAxis(ctx, *values, 0, 0, 1);
  auto on = sliceAxis(ctx, *values, 0, 1, 1);
  if (failed(off) || failed(on))
    return failure();
  auto offScalar = ctx.reshape(*off, {});
  auto onScalar = ctx.reshape(*on, {});
  if (failed(offScalar) || failed(onScalar))
    return failure();
  auto r = ctx.createInferred<WhereOp>(*hit, *onScalar, *offScalar);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

// CumSum along an axis of length L as a masked sum: every output position
// i adds the inputs j with j <= i (j < i exclusive; j >= i or j > i in
// reverse), through a broadcast [L, L] mask and a reduction. It costs L^2
// per line, so axes longer than kMaxCumSumLength are refused.
constexpr int64_t kMaxCumSumLength = 4096;

LogicalResult convertCumSum(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto axisValue = ctx.constantScalar(node, 1, "axis");
  if (failed(axisValue))
    return failure();
  auto type = ImportContext::typeOf(*x);
  Type elt = type.getElementType();
  if (elt.isInteger(1))
    return ctx.fail("does not accept bool tensors");
  int64_t rank = type.getRank();
  if (rank == 0)
    return ctx.fail("needs an input of rank >= 1");
  auto axis = ctx.normalizeAxis((int64_t)*axisValue, rank);
  if (failed(axis))
    return failure();
  bool exclusive = ctx.getInt(node, "exclusive", 0) != 0;
  bool reverse = ctx.getInt(node, "reverse", 0) != 0;
  int64_t len = type.getShape()[*axis];
  if (len > kMaxCumSumLength)
    return ctx.fail("the axis has " + Twine(len) + " elements; CumSum supports up to " +
                    Twine(kMaxCumSumLength));
  SmallVector<int64_t> spread(type.getShape());
  spread.insert(spread.begin() + *axis, 1);
  auto lines = ctx.reshape(*x, spread);
  if (failed(lines))
    return failure();
  SmallVector<bool> mask;
  for (int64_t i = 0; i < len; ++i)
    for (int64_t j = 0; j < len; ++j)
      mask.push_back(reverse ? (exclusive ? j > i : j >= i) : (exclusive ? j < i : j <= i));
  SmallVector<int64_t> maskShape(rank + 1 - *axis, 1);
  maskShape[0] = len;
  maskShape[1] = len;
  Value m = ctx.constant(DenseElementsAttr::get(
      RankedTensorType::get(maskShape, ctx.getBuilder().getI1Type()), ArrayRef<bool>(mask)));
  auto picked = ctx.createInferred<WhereOp>(m, *lines, ctx.splat(RankedTensorType::get({}, elt), 0.0));
  if (failed(picked))
    return failure();
  auto sum = ctx.createInferred<ReduceOp>(ReduceKind::sum, *picked, ArrayRef<int64_t>{*axis + 1},
                                          false);
  if (failed(sum))
    return failure();
  ctx.setOutput(node, 0, *sum);
  return success();
}

} // namespace

void weft::registerIndexingConverters(ConverterTable &t) {
  t["Gather"] = convertGather;
  t["GatherElements"] = convertGatherElements;
  t["ScatterElements"] = convertScatterElements;
  t["Scatter"] = convertScatterElements;
  t["ScatterND"] = convertScatterND;
  t["TopK"] = convertTopK;
  t["GatherND"] = convertGatherND;
  t["Hardmax"] = convertHardmax;
  t["CumSum"] = convertCumSum;
  t["EyeLike"] = convertEyeLike;
  t["OneHot"] = convertOneHot;
  t["Trilu"] = convertTrilu;
}
