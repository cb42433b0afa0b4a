//===- TensorFolding.h - folding helpers of the tensor converters -*- C++ -*-===//
//
// Shape arithmetic and the slice, concat and reshape builders that fold
// small constants at import time, shared by the data-movement converters
// (ConvertTensor.cpp) and the indexing ones (ConvertIndexing.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_IMPORT_TENSORFOLDING_H
#define WEFT_COMPILER_IMPORT_TENSORFOLDING_H

#include "compiler/import/ImportContext.h"

namespace weft::folding {

/// Row-major strides of `shape`.
llvm::SmallVector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape);
/// The coordinates of row-major element `index` of `shape`.
llvm::SmallVector<int64_t> delinearize(int64_t index, llvm::ArrayRef<int64_t> shape);
/// The product of `dims`.
int64_t product(llvm::ArrayRef<int64_t> dims);
/// A constant of `outType` whose element i is element srcIndex(i) of `in`;
/// null when `in` is too large to fold at import time.
mlir::DenseElementsAttr remap(mlir::DenseElementsAttr in, mlir::RankedTensorType outType,
                              llvm::function_ref<int64_t(int64_t)> srcIndex);
/// weft.slice with full starts/sizes/steps, folded for small constants.
mlir::FailureOr<mlir::Value> slice(ImportContext &ctx, mlir::Value x,
                                   llvm::ArrayRef<int64_t> starts,
                                   llvm::ArrayRef<int64_t> sizes,
                                   llvm::ArrayRef<int64_t> steps);
/// A slice of `size` elements from `start` (step `step`) along `axis`.
mlir::FailureOr<mlir::Value> sliceAxis(ImportContext &ctx, mlir::Value x, int64_t axis,
                                       int64_t start, int64_t size, int64_t step = 1);
/// weft.concat, folded when every input is a small constant.
mlir::FailureOr<mlir::Value> concat(ImportContext &ctx, llvm::ArrayRef<mlir::Value> inputs,
                                    int64_t axis);
/// `x` reshaped to `shape` as output 0 of `node`.
mlir::LogicalResult setReshaped(ImportContext &ctx, const onnx::NodeProto &node,
                                mlir::Value x, llvm::ArrayRef<int64_t> shape);

} // namespace weft::folding

#endif // WEFT_COMPILER_IMPORT_TENSORFOLDING_H
