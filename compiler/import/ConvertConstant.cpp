//===- ConvertConstant.cpp - constant-producing ONNX ops -> weft ---------===//
//
// Constant, ConstantOfShape, Shape, Size and Range all produce values known
// at compile time (shapes are static in Weft), so each becomes one
// weft.constant; later converters fold through them.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include <cmath>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

LogicalResult convertConstant(ImportContext &ctx, const Node &node, int64_t) {
  OpBuilder &b = ctx.getBuilder();
  for (const auto &attr : node.attribute()) {
    const std::string &name = attr.name();
    DenseElementsAttr value;
    if (name == "value") {
      auto v = convertTensorProto(ctx.getContext(), attr.t(), ctx.getLoc(),
                                  "the value of node '" +
                                      ctx.getNodeName().str() + "'");
      if (failed(v))
        return failure();
      value = *v;
    } else if (name == "value_float") {
      value = DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                     b.getF32FloatAttr(attr.f()));
    } else if (name == "value_floats") {
      SmallVector<float> v(attr.floats().begin(), attr.floats().end());
      value = DenseElementsAttr::get(
          RankedTensorType::get({(int64_t)v.size()}, b.getF32Type()),
          ArrayRef<float>(v));
    } else if (name == "value_int") {
      value = DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                     b.getI64IntegerAttr(attr.i()));
    } else if (name == "value_ints") {
      SmallVector<int64_t> v(attr.ints().begin(), attr.ints().end());
      value = DenseElementsAttr::get(
          RankedTensorType::get({(int64_t)v.size()}, b.getI64Type()),
          ArrayRef<int64_t>(v));
    } else if (name == "sparse_value" || name == "value_string" ||
               name == "value_strings") {
      return ctx.fail("a constant given as '" + name + "' is not supported");
    } else {
      continue;
    }
    ctx.setOutput(node, 0, ctx.constant(value));
    return success();
  }
  return ctx.fail("has no value attribute");
}

LogicalResult convertConstantOfShape(ImportContext &ctx, const Node &node,
                                     int64_t) {
  auto shape = ctx.constantInts(node, 0, "shape");
  if (failed(shape))
    return failure();
  if (failed(ctx.checkShape(*shape, "shape")))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  Attribute element = b.getF32FloatAttr(0.0f);
  Type elt = b.getF32Type();
  if (const auto *attr = ImportContext::findAttr(node, "value")) {
    auto v = convertTensorProto(ctx.getContext(), attr->t(), ctx.getLoc(),
                                "the value of node '" +
                                    ctx.getNodeName().str() + "'");
    if (failed(v))
      return failure();
    if (v->getNumElements() != 1)
      return ctx.fail("value must hold exactly one element");
    element = v->getSplatValue<Attribute>();
    elt = v->getElementType();
  }
  ctx.setOutput(node, 0,
                ctx.constant(DenseElementsAttr::get(
                    RankedTensorType::get(*shape, elt), element)));
  return success();
}

LogicalResult convertShape(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto shape = ImportContext::typeOf(*x).getShape();
  int64_t rank = shape.size();
  auto clampIndex = [&](int64_t i) {
    if (i < 0)
      i += rank;
    return std::clamp<int64_t>(i, 0, rank);
  };
  int64_t start = clampIndex(ctx.getInt(node, "start", 0));
  int64_t end = clampIndex(ctx.getInt(node, "end", rank));
  SmallVector<int64_t> dims;
  for (int64_t i = start; i < end; ++i)
    dims.push_back(shape[i]);
  auto type = RankedTensorType::get({(int64_t)dims.size()},
                                    ctx.getBuilder().getI64Type());
  ctx.setOutput(node, 0,
                ctx.constant(DenseElementsAttr::get(type, ArrayRef<int64_t>(dims))));
  return success();
}

LogicalResult convertSize(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  ctx.setOutput(node, 0,
                ctx.constant(DenseElementsAttr::get(
                    RankedTensorType::get({}, b.getI64Type()),
                    b.getI64IntegerAttr(
                        ImportContext::typeOf(*x).getNumElements()))));
  return success();
}

// Range with constant operands (the only kind with a static result shape).
LogicalResult convertRange(ImportContext &ctx, const Node &node, int64_t) {
  auto start = ctx.constantScalar(node, 0, "start");
  if (failed(start))
    return failure();
  auto limit = ctx.constantScalar(node, 1, "limit");
  if (failed(limit))
    return failure();
  auto delta = ctx.constantScalar(node, 2, "delta");
  if (failed(delta))
    return failure();
  if (*delta == 0)
    return ctx.fail("delta must be non-zero");
  auto startValue = ctx.input(node, 0);
  Type elt = ImportContext::typeOf(*startValue).getElementType();
  double count = std::ceil((*limit - *start) / *delta);
  if (!(count <= double(1 << 24)))
    return ctx.fail("the range has too many elements");
  int64_t n = count > 0 ? (int64_t)count : 0;
  auto type = RankedTensorType::get({n}, elt);
  // Integer ranges step in integers (doubles would lose precision past 2^53).
  int64_t intStart = 0, intDelta = 0;
  if (!isa<FloatType>(elt)) {
    auto s = ctx.constantInts(node, 0, "start");
    auto d = ctx.constantInts(node, 2, "delta");
    if (failed(s) || failed(d) || s->size() != 1 || d->size() != 1)
      return ctx.fail("start and delta must be single integers");
    intStart = (*s)[0];
    intDelta = (*d)[0];
  }
  // Values, not uniqued attributes: a range may have 2^24 elements, and one
  // IntegerAttr per element took 40 s and 2 GB.
  if (auto ft = dyn_cast<FloatType>(elt)) {
    std::vector<APFloat> values;
    values.reserve(n);
    for (int64_t i = 0; i < n; ++i) {
      APFloat v(*start + i * *delta);
      bool lost;
      v.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v);
    }
    ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(type, values)));
    return success();
  }
  unsigned width = elt.getIntOrFloatBitWidth();
  std::vector<APInt> values;
  values.reserve(n);
  for (int64_t i = 0; i < n; ++i)
    values.emplace_back(width, (uint64_t)intStart + (uint64_t)i * (uint64_t)intDelta,
                        /*isSigned=*/false, /*implicitTrunc=*/true);
  ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(type, values)));
  return success();
}

} // namespace

void weft::registerConstantConverters(ConverterTable &t) {
  t["Constant"] = convertConstant;
  t["ConstantOfShape"] = convertConstantOfShape;
  t["Shape"] = convertShape;
  t["Size"] = convertSize;
  t["Range"] = convertRange;
}
