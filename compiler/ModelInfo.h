//===- ModelInfo.h - the compiled model's C-facing description ---*- C++ -*-===//
//
// What the runtime and the user see of a compiled model: the
// weft_model_info_t constant in the object file and the generated C header.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_MODELINFO_H
#define WEFT_COMPILER_MODELINFO_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/Module.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft {

struct TensorDesc {
  std::string name;
  int dtype = 0; ///< weft_dtype_t value
  std::vector<int64_t> shape;
  /// Inputs compiled for one value (weftc --input-value): its dense
  /// little-endian bytes, as the runtime compares them.
  std::optional<std::vector<uint8_t>> value;
  /// Multi-device models: the axis cut into one part per device, or -1.
  int64_t splitAxis = -1;
  /// Outputs: per dim, -1 or the index of the run-time size giving it
  /// (empty when every dim is fixed).
  std::vector<int64_t> runTimeDims;
};

struct ModelDesc {
  std::string name;
  std::vector<TensorDesc> inputs, outputs;
  /// Sizes each run decides; the entry writes them after the outputs.
  int64_t numExtents = 0;
  uint64_t arenaSize = 0;
  uint64_t arenaAlignment = 64;
  uint64_t arenaTensors = 0;    ///< bytes of planned intermediate tensors
  uint64_t arenaLowerBound = 0; ///< most tensor bytes live at once
  uint64_t arenaScratch = 0;    ///< bytes of workgroup scratch after them
  int64_t numDevices = 1;       ///< weftc --devices
  std::string parallelPlan = "none";
  uint64_t weightBytes = 0;       ///< embedded weights in the object
  uint64_t deviceWeightBytes = 0; ///< of which one device reads
  /// A pipeline: micro-batches per run and what moves between its stages
  /// (from, to, from_input, from_offset, to_offset, bytes).
  int64_t microBatches = 0;
  std::vector<std::array<int64_t, 6>> transfers;
  /// A hybrid plan's grid of devices (empty: one axis of numDevices).
  std::vector<int64_t> gridShape;
  /// A CUDA model (weftc --target=cuda): the images embedded in the object
  /// (chip, global, bytes), the kernels the host launches by index, and
  /// the global holding the packed weights.
  bool cuda = false;
  struct DeviceImage {
    std::string chip, global;
    uint64_t bytes = 0;
  };
  std::vector<DeviceImage> deviceImages;
  std::vector<std::string> kernelNames;
  std::string weightsGlobal;
  /// A CUDA model split across devices with its weights cut into parts:
  /// the shared bytes, one part's bytes, and each device's part.
  uint64_t weightsSharedSize = 0, weightPartSize = 0;
  std::vector<int64_t> weightPartOf;
  /// --target=cuda-on-cpu: the kernels' CPU workgroup functions, in kernel
  /// order (no images).
  std::vector<std::string> hostKernels;
};

/// Reads the description that weft-cpu-build-host left on the module.
mlir::FailureOr<ModelDesc> describeModel(mlir::ModuleOp module);

/// Adds `<name>_info()` (and `weft_model_info()` when `exportGeneric`) with
/// the weft_model_info_t constant to `module`.
void emitModelInfo(llvm::Module &module, const ModelDesc &desc, bool exportGeneric);

/// The C header declaring create/run/destroy and documenting the tensors.
std::string renderHeader(const ModelDesc &desc);

} // namespace weft

#endif // WEFT_COMPILER_MODELINFO_H
