//===- Lowering.h - weft -> linalg lowering helpers --------------*- C++ -*-===//
//
// Shared pieces of the weft-to-linalg lowering: each lower* function builds
// the linalg/tensor/arith form of one weft op at the builder's insertion
// point and returns the replacement value, or fails with a diagnostic at the
// op's location (its ONNX node).
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_CODEGEN_CPU_LOWERING_H
#define WEFT_CODEGEN_CPU_LOWERING_H

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/IR/Builders.h"

namespace weft {
namespace cpu {

/// Elementwise ops (unary, binary with broadcasting, compare, where, clip,
/// cast, activations) -> one linalg.generic. Returns nullptr-free failure for
/// ops it does not handle (`handled` is false then).
mlir::FailureOr<mlir::Value> lowerElementwise(mlir::OpBuilder &b,
                                              mlir::Operation *op,
                                              bool &handled);

/// Max or average pooling (LowerPooling.cpp).
mlir::FailureOr<mlir::Value> lowerPool(mlir::OpBuilder &b, PoolOp op);

/// Contractions, windows, reductions and data movement.
mlir::FailureOr<mlir::Value> lowerStructured(mlir::OpBuilder &b,
                                             mlir::Operation *op,
                                             bool &handled);

/// A generic over `outType`'s iteration space whose inputs broadcast
/// numpy-style; `body` maps the scalar inputs to the scalar result.
mlir::Value buildBroadcastGeneric(
    mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType outType,
    mlir::ValueRange inputs,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::ValueRange)>
        body);

/// Every reduction on tensors in `region` whose (one) init is f16 or bf16
/// accumulates in f32 instead: an f32 twin of the op on an extended init,
/// its payload computed in f32, and one truncation of the result; then
/// every generic with 16-bit float results (or a widened producer)
/// computes in f32 on its producers' f32 values, truncated once where a
/// user is not such a generic (WidenAccumulators.cpp). An op whose payload
/// it cannot widen stays. Returns whether it widened any.
bool widenHalfAccumulators(mlir::Region &region);

/// Scalar constant of `type` (float or integer) with value `v`.
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Type type, double v);

/// tensor.empty of the given static type.
mlir::Value emptyLike(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::RankedTensorType type);

/// linalg.fill of a new empty tensor with `v`.
mlir::Value filled(mlir::OpBuilder &b, mlir::Location loc,
                   mlir::RankedTensorType type, double v);

/// Linalg and arith work on signless integers, so weft-lower-to-linalg
/// first tags every op whose integer operands (or, for casts, result) are
/// unsigned, then drops signedness from all types. The lowerings read the
/// tags to pick unsigned arithmetic (divui, maxui, cmpi ult, uitofp, ...).
constexpr llvm::StringLiteral kUnsignedOperandsAttr = "weft.unsigned_operands";
constexpr llvm::StringLiteral kUnsignedResultAttr = "weft.unsigned_result";
inline bool hasUnsignedOperands(mlir::Operation *op) {
  return op->hasAttr(kUnsignedOperandsAttr);
}
inline bool hasUnsignedResult(mlir::Operation *op) {
  return op->hasAttr(kUnsignedResultAttr);
}

/// The smallest (`max` false) or largest finite value of `type`, exact for
/// every integer width; `isUnsigned` selects the unsigned range.
mlir::TypedAttr extremeValue(mlir::Type type, bool max, bool isUnsigned);

/// |x| of a signed integer without math.absi (which has no CPU lowering):
/// x < 0 ? 0 - x : x, wrapping at INT_MIN as ONNX's reference does.
mlir::Value intAbs(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// linalg.fill of a new empty tensor with the scalar attribute `v`.
mlir::Value filledWith(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::RankedTensorType type, mlir::TypedAttr v);

} // namespace cpu
} // namespace weft

#endif // WEFT_CODEGEN_CPU_LOWERING_H
