//===- TensorFolding.cpp - folding helpers of the tensor converters -------===//
//
// See TensorFolding.h.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/TensorFolding.h"

using namespace mlir;

namespace weft::folding {

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

SmallVector<int64_t> delinearize(int64_t index, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> coords(shape.size());
  for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
    coords[d] = shape[d] ? index % shape[d] : 0;
    index = shape[d] ? index / shape[d] : 0;
  }
  return coords;
}

int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

// Builds a constant of `outType` whose element i is element srcIndex(i) of
// `in`; null when `in` is too large to fold at import time.
DenseElementsAttr remap(DenseElementsAttr in, RankedTensorType outType,
                        llvm::function_ref<int64_t(int64_t)> srcIndex) {
  if (!in)
    return {};
  if (in.isSplat())
    return DenseElementsAttr::get(outType, in.getSplatValue<Attribute>());
  if (in.getNumElements() > ImportContext::kFoldLimit ||
      outType.getNumElements() > ImportContext::kFoldLimit)
    return {};
  SmallVector<Attribute> values(in.getValues<Attribute>());
  SmallVector<Attribute> out;
  out.reserve(outType.getNumElements());
  for (int64_t i = 0, e = outType.getNumElements(); i < e; ++i)
    out.push_back(values[srcIndex(i)]);
  return DenseElementsAttr::get(outType, out);
}

// weft.slice with full starts/sizes/steps, folded for small constants.
FailureOr<Value> slice(ImportContext &ctx, Value x, ArrayRef<int64_t> starts,
                       ArrayRef<int64_t> sizes, ArrayRef<int64_t> steps) {
  auto type = ImportContext::typeOf(x);
  if (type.getShape() == sizes &&
      llvm::all_of(starts, [](int64_t s) { return s == 0; }) &&
      llvm::all_of(steps, [](int64_t s) { return s == 1; }))
    return x;
  auto outType = RankedTensorType::get(sizes, type.getElementType());
  SmallVector<int64_t> inStrides = stridesOf(type.getShape());
  auto folded = remap(ImportContext::getConstantValue(x), outType,
                      [&](int64_t i) {
                        auto c = delinearize(i, sizes);
                        int64_t src = 0;
                        for (size_t d = 0; d < c.size(); ++d)
                          src += (starts[d] + c[d] * steps[d]) * inStrides[d];
                        return src;
                      });
  if (folded)
    return ctx.constant(folded);
  return ctx.createInferred<SliceOp>(x, starts, sizes, steps);
}

// A slice of `size` elements from `start` (step `step`) along `axis`.
FailureOr<Value> sliceAxis(ImportContext &ctx, Value x, int64_t axis,
                           int64_t start, int64_t size, int64_t step) {
  auto shape = ImportContext::typeOf(x).getShape();
  SmallVector<int64_t> starts(shape.size(), 0), sizes(shape),
      steps(shape.size(), 1);
  starts[axis] = start;
  sizes[axis] = size;
  steps[axis] = step;
  return slice(ctx, x, starts, sizes, steps);
}

// weft.concat, folded when every input is a small constant.
FailureOr<Value> concat(ImportContext &ctx, ArrayRef<Value> inputs,
                        int64_t axis) {
  if (inputs.size() == 1)
    return inputs[0];
  SmallVector<DenseElementsAttr> attrs;
  for (Value v : inputs)
    attrs.push_back(ImportContext::getConstantValue(v));
  bool allConstant = llvm::all_of(attrs, [](DenseElementsAttr a) { return a; });
  auto first = ImportContext::typeOf(inputs[0]);
  bool sameShapes = llvm::all_of(inputs, [&](Value v) {
    auto t = ImportContext::typeOf(v);
    if (t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return false;
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getShape()[d] != first.getShape()[d])
        return false;
    return true;
  });
  if (allConstant && sameShapes) {
    SmallVector<int64_t> shape(first.getShape());
    shape[axis] = 0;
    int64_t total = 0;
    for (Value v : inputs) {
      shape[axis] += ImportContext::typeOf(v).getShape()[axis];
      total += ImportContext::typeOf(v).getNumElements();
    }
    if (total <= ImportContext::kFoldLimit) {
      SmallVector<Attribute> out;
      auto outType = RankedTensorType::get(shape, first.getElementType());
      SmallVector<SmallVector<Attribute>> values;
      for (auto a : attrs)
        values.emplace_back(a.getValues<Attribute>());
      for (int64_t i = 0, e = outType.getNumElements(); i < e; ++i) {
        auto c = delinearize(i, shape);
        int64_t pos = c[axis];
        size_t k = 0;
        while (pos >= ImportContext::typeOf(inputs[k]).getShape()[axis])
          pos -= ImportContext::typeOf(inputs[k++]).getShape()[axis];
        c[axis] = pos;
        auto inShape = ImportContext::typeOf(inputs[k]).getShape();
        int64_t src = 0;
        auto strides = stridesOf(inShape);
        for (size_t d = 0; d < c.size(); ++d)
          src += c[d] * strides[d];
        out.push_back(values[k][src]);
      }
      return ctx.constant(DenseElementsAttr::get(outType, out));
    }
  }
  return ctx.createInferred<ConcatOp>(ValueRange(inputs), (uint64_t)axis);
}

LogicalResult setReshaped(ImportContext &ctx, const onnx::NodeProto &node, Value x,
                          ArrayRef<int64_t> shape) {
  auto r = ctx.reshape(x, shape);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

} // namespace weft::folding
