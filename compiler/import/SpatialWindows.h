//===- SpatialWindows.h - window helpers of conv and pooling -----*- C++ -*-===//
//
// What the convolution converters (ConvertNN.cpp) and the pooling ones
// (ConvertPool.cpp) share: a window op's strides, dilations and padding,
// with auto_pad resolved to explicit pads so no ONNX padding rule survives
// import; a 1-D window op run as the 2-D one; and the attributes of the
// nodes they build to express an op through another converter.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_IMPORT_SPATIALWINDOWS_H
#define WEFT_COMPILER_IMPORT_SPATIALWINDOWS_H

#include "compiler/import/ImportContext.h"

namespace weft::windows {

/// Adds an INTS attribute to a node built by a converter (a 3-D pool's 2-D
/// steps, Col2Im's ConvTranspose).
void addInts(onnx::NodeProto &node, llvm::StringRef name, llvm::ArrayRef<int64_t> values);

/// The strides and dilations of a window op, one per spatial dimension, and
/// its explicit padding: every dimension's begin, then every end.
struct Window {
  llvm::SmallVector<int64_t> strides, dilations, pads;
};

/// Reads strides, dilations and the padding (explicit or auto_pad) of a
/// window op over spatial extents `in` (1, 2 or 3 of them) with kernel
/// `kernel`. `pads` holds every dimension's begin, then every end.
mlir::FailureOr<Window> readWindow(ImportContext &ctx, const onnx::NodeProto &node,
                                   llvm::ArrayRef<int64_t> in,
                                   llvm::ArrayRef<int64_t> kernel);

/// A 1-D window op (rank-3 input) runs as the 2-D one over [N, C, 1, W]: a
/// copy of the node with every window attribute given a leading unit
/// dimension reads the reshaped input under a private name and writes a
/// private output, which is reshaped back. `convert2D` converts the copy.
mlir::LogicalResult windowAs2D(ImportContext &ctx, const onnx::NodeProto &node,
                               int64_t opset, ConvertFn convert2D);

} // namespace weft::windows

#endif // WEFT_COMPILER_IMPORT_SPATIALWINDOWS_H
