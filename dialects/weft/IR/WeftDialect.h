//===- WeftDialect.h - the weft dialect --------------------------*- C++ -*-===//
//
// Declares the weft dialect and its ops. Include this header, not the
// generated .inc files, from everywhere else.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_DIALECTS_WEFT_IR_WEFTDIALECT_H
#define WEFT_DIALECTS_WEFT_IR_WEFTDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/weft/IR/WeftDialect.h.inc"
#include "dialects/weft/IR/WeftEnums.h.inc"

#define GET_OP_CLASSES
#include "dialects/weft/IR/WeftOps.h.inc"

namespace weft {
/// Computes the numpy-style broadcast of two static shapes; failure if they
/// are incompatible.
llvm::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// Elementwise ops whose operands broadcast numpy-style to the result (the
/// binary ops, compare and where): elementwise like the ops with the
/// upstream Elementwise trait, which demands equal shapes.
bool isBroadcastElementwise(mlir::Operation *op);

/// Output extent of a sliding window along one dimension (conv and pooling).
int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                         int64_t dilation, int64_t padBegin, int64_t padEnd,
                         bool ceilMode);

/// Dimension positions of a convolution's (or pooling's) input and filter:
/// NCHW/FCHW by default, NHWC/HWCF with `channels_last`, and with a rank-5
/// channels-last filter the blocked layout [F/B, KH, KW, C, B] (`f` is then
/// the block index; convOutputChannels gives F), with a rank-6 one (an
/// 8-bit integer convolution's) [F/B, KH, KW, C/4, B, 4], where `fc` holds
/// groups of four input channels.
struct ConvDims {
  int64_t c, h, w;   ///< input channels, rows, columns
  int64_t f, fc;     ///< filter output and input channels
  int64_t kh, kw;    ///< filter rows, columns
};
ConvDims convDims(bool channelsLast, int64_t filterRank = 4);
int64_t convOutputChannels(llvm::ArrayRef<int64_t> filterShape, bool channelsLast);
} // namespace weft

#endif // WEFT_DIALECTS_WEFT_IR_WEFTDIALECT_H
