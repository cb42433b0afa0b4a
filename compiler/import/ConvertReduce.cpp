//===- ConvertReduce.cpp - reduction ONNX ops -> weft ---------------------===//
//
// The Reduce* family (axes from the attribute or, in later opsets, the
// input; ReduceMax/ReduceMin of bools reduced as i8) and ArgMax/ArgMin,
// with keepdims restored by a reshape.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

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

} // namespace

void weft::registerReduceConverters(ConverterTable &t) {
  t["ArgMax"] = convertArg<ArgMaxOp>;
  t["ArgMin"] = convertArg<ArgMinOp>;
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
