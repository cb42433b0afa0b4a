//===- GuardedShapeInference.h - ONNX shape inference on untrusted models -*- C++ -*-===//
#ifndef WEFT_COMPILER_IMPORT_GUARDEDSHAPEINFERENCE_H
#define WEFT_COMPILER_IMPORT_GUARDEDSHAPEINFERENCE_H

#include <onnx/onnx_pb.h>

namespace weft {

/// Runs libonnx's shape inference over `model` (recording what it infers as
/// value_info), as the opset upgrade needs, with every operator whose
/// libonnx 1.12 inference function reads past its vectors or divides by an
/// attribute on malformed input (the convolution and pooling family) first
/// checked by Weft: such a node stops inference for itself with an ONNX
/// shape-inference error instead of crashing the process. Inference errors
/// are swallowed; the caller's own checks report a bad model.
void inferShapesGuarded(onnx::ModelProto &model);

} // namespace weft

#endif // WEFT_COMPILER_IMPORT_GUARDEDSHAPEINFERENCE_H
