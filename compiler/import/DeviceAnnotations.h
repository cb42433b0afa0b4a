//===- DeviceAnnotations.h - ONNX multi-device configuration ----*- C++ -*-===//
#ifndef WEFT_COMPILER_IMPORT_DEVICEANNOTATIONS_H
#define WEFT_COMPILER_IMPORT_DEVICEANNOTATIONS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"

#include <onnx/onnx_pb.h>

namespace weft {

/// Reads a model's ONNX multi-device annotations (IR 11: the model's
/// device configurations, each node's sharding specs and pipeline stage),
/// which libonnx 1.12 keeps as unknown fields. Returns a null attribute
/// when the model has none, else
///   {configurations = [{name, num_devices}, ...],
///    nodes = {<node name> = {specs = [{tensor, axis (-1: whole), shards}],
///                            pipeline_stage?}}}.
/// Malformed annotations are errors at `loc`.
mlir::FailureOr<mlir::DictionaryAttr> readDeviceAnnotations(const onnx::ModelProto &model,
                                                            mlir::MLIRContext *ctx,
                                                            mlir::Location loc);

} // namespace weft

#endif // WEFT_COMPILER_IMPORT_DEVICEANNOTATIONS_H
