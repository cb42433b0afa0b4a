//===- OnnxImporter.h - ONNX model -> weft dialect ---------------*- C++ -*-===//
//
// Loads an ONNX model (with external data), checks it with the ONNX checker,
// upgrades old opsets with the ONNX version converter, pins symbolic
// dimensions and builds a `func.func` of weft ops whose locations name the
// ONNX node and op type. All failures are reported as MLIR diagnostics.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_IMPORT_ONNXIMPORTER_H
#define WEFT_COMPILER_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace weft {

struct ImportOptions {
  /// Values for symbolic dimensions, e.g. {"batch": 1}.
  llvm::StringMap<int64_t> dims;
  /// Shapes of inputs, by input name (weftc --input-shape NAME=D0xD1..).
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Inputs specialized to one value, by input name: the path of a
  /// serialized TensorProto (weftc --input-value NAME=FILE). The graph is
  /// compiled for that value (it pins the input's shape too); the input stays
  /// in the ABI and the runtime refuses any other value.
  llvm::StringMap<std::string> inputValues;
  /// Name of the generated function.
  std::string entryName = "main";
  /// Convolutions of DequantizeLinear'd 8-bit values (a QDQ model's uint8
  /// activations and constant int8 weights) become integer convolutions
  /// with the rescaling after them, for a target with 8-bit dot-product
  /// kernels; otherwise they compute on the dequantized f32 values.
  bool integerConvolutions = false;
};

/// Imports the model at `path`. The module holds one function `entryName`
/// with attributes `weft.input_names` / `weft.output_names` (arrays of
/// strings, in model order) and, when inputs are specialized,
/// `weft.input_values` (per input, its value or a unit attribute). Returns failure after emitting diagnostics.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxFile(mlir::MLIRContext &context, llvm::StringRef path,
               const ImportOptions &options);

} // namespace weft

#endif // WEFT_COMPILER_IMPORT_ONNXIMPORTER_H
