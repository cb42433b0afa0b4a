//===- ContribOps.h - onnxruntime's quantized contrib ops -> ONNX ------===//

#ifndef WEFT_COMPILER_IMPORT_CONTRIBOPS_H
#define WEFT_COMPILER_IMPORT_CONTRIBOPS_H

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace weft {

/// Rewrites the quantized operators of onnxruntime's com.microsoft domain
/// that its quantization tool writes (QLinearAdd, QLinearMul,
/// QLinearGlobalAveragePool and QLinearAveragePool with channels_last 0,
/// QLinearConcat, QLinearSigmoid, QLinearLeakyRelu, QGemm) into the
/// default-domain DequantizeLinear -> float op -> QuantizeLinear nodes they
/// stand for, in every graph of `model`. Other com.microsoft operators are
/// left for the unsupported-operator report. Returns an error message
/// naming a malformed node.
std::optional<std::string> expandQuantizedContribOps(onnx::ModelProto &model);

} // namespace weft

#endif // WEFT_COMPILER_IMPORT_CONTRIBOPS_H
