//===- LowerStructured.h - structured-op lowering, by family -----*- C++ -*-===//
//
// Internal to the non-elementwise lowering: cpu::lowerStructured
// (LowerStructured.cpp) dispatches each op to the lowering of its family,
// declared here and defined in LowerContractions.cpp, LowerReductions.cpp
// and LowerIndexing.cpp, with the scalar helpers those files share.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_CODEGEN_CPU_LOWERSTRUCTURED_H
#define WEFT_CODEGEN_CPU_LOWERSTRUCTURED_H

#include "codegen/cpu/Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

namespace weft {
namespace cpu {
namespace detail {

using IT = mlir::utils::IteratorType;

inline bool isFloat(mlir::Type t) { return mlir::isa<mlir::FloatType>(t); }

inline mlir::Value add(mlir::OpBuilder &b, mlir::Location l, mlir::Value x, mlir::Value y) {
  return isFloat(x.getType()) ? (mlir::Value)mlir::arith::AddFOp::create(b, l, x, y)
                              : mlir::arith::AddIOp::create(b, l, x, y);
}
inline mlir::Value mul(mlir::OpBuilder &b, mlir::Location l, mlir::Value x, mlir::Value y) {
  return isFloat(x.getType()) ? (mlir::Value)mlir::arith::MulFOp::create(b, l, x, y)
                              : mlir::arith::MulIOp::create(b, l, x, y);
}

// Contractions and convolutions (LowerContractions.cpp).
mlir::FailureOr<mlir::Value> lowerMatMul(mlir::OpBuilder &b, MatMulOp op);
mlir::FailureOr<mlir::Value> lowerGemm(mlir::OpBuilder &b, GemmOp op);
mlir::FailureOr<mlir::Value> lowerConv(mlir::OpBuilder &b, ConvOp op);

// Reductions (LowerReductions.cpp).
mlir::FailureOr<mlir::Value> lowerReduce(mlir::OpBuilder &b, ReduceOp op);
mlir::FailureOr<mlir::Value> lowerSoftmax(mlir::OpBuilder &b, SoftmaxOp op);
mlir::FailureOr<mlir::Value> lowerLayerNorm(mlir::OpBuilder &b, LayerNormOp op);
/// ArgMax (`isMax`) or ArgMin of `input` along `axis`; `op` gives the
/// location, the i64 result type and the unsigned tag.
mlir::Value lowerArg(mlir::OpBuilder &b, mlir::Operation *op, mlir::Value input,
                     int64_t axis, bool selectLast, bool isMax);

// Gathers, scatters and TopK (LowerIndexing.cpp).
mlir::Value lowerGather(mlir::OpBuilder &b, GatherOp op);
mlir::Value lowerGatherElements(mlir::OpBuilder &b, GatherElementsOp op);
mlir::Value lowerGatherND(mlir::OpBuilder &b, GatherNDOp op);
mlir::Value lowerScatterND(mlir::OpBuilder &b, ScatterNDOp op);
mlir::Value lowerScatterElements(mlir::OpBuilder &b, ScatterElementsOp op);
mlir::Value lowerTopK(mlir::OpBuilder &b, TopKOp op);
// Results sized at run time, padded to a bound (LowerIndexing.cpp).
mlir::Value lowerNonZero(mlir::OpBuilder &b, NonZeroOp op);
mlir::Value lowerNonMaxSuppression(mlir::OpBuilder &b, NonMaxSuppressionOp op);
mlir::Value lowerCompact(mlir::OpBuilder &b, CompactOp op);
mlir::Value lowerUnique(mlir::OpBuilder &b, UniqueOp op);

} // namespace detail
} // namespace cpu
} // namespace weft

#endif // WEFT_CODEGEN_CPU_LOWERSTRUCTURED_H
