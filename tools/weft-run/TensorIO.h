//===- TensorIO.h - Host tensors and ONNX TensorProto files -----*- C++ -*-===//
//
// weft-run feeds compiled models with tensors stored the way the ONNX backend
// tests store them: one serialized onnx.TensorProto per file (input_0.pb,
// output_0.pb, ...). This header declares the host-side tensor that owns a
// 64-byte aligned buffer (so compiled kernels may use aligned vector loads on
// it), and the functions that read such a tensor from a TensorProto file,
// whichever of raw_data or the typed repeated fields holds the values, and
// write one back with raw_data.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_TOOLS_WEFT_RUN_TENSORIO_H
#define WEFT_TOOLS_WEFT_RUN_TENSORIO_H

#include "weft/runtime.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace weft {

/// Alignment of every buffer weft-run hands to a model.
constexpr size_t kTensorAlignment = 64;

/// A dense, row-major tensor in host memory that owns its buffer.
class HostTensor {
public:
  /// Allocates a tensor of the given type, every byte set to `fillByte`.
  /// Fails on a rank above WEFT_MAX_RANK, a negative dimension, a size that
  /// overflows, an unknown dtype or when memory runs out.
  static llvm::Expected<HostTensor> allocate(weft_dtype_t dtype,
                                             llvm::ArrayRef<int64_t> shape,
                                             std::string name,
                                             uint8_t fillByte = 0);

  weft_dtype_t dtype() const { return dtype_; }
  llvm::ArrayRef<int64_t> shape() const { return shape_; }
  const std::string &name() const { return name_; }
  int64_t numElements() const { return numElements_; }
  size_t byteSize() const { return byteSize_; }
  void *data() { return storage_.get(); }
  const void *data() const { return storage_.get(); }

  /// Relabels the elements as `dtype`, of the same size, keeping their bits
  /// (false, and nothing changed, when the sizes differ).
  bool reinterpretAs(weft_dtype_t dtype);

  /// A view of this tensor for weft_model_run; valid while the tensor lives.
  weft_tensor_view_t view();

private:
  struct FreeDeleter {
    void operator()(void *ptr) const { std::free(ptr); }
  };

  HostTensor() = default;

  weft_dtype_t dtype_ = WEFT_DTYPE_INVALID;
  std::vector<int64_t> shape_;
  std::string name_;
  int64_t numElements_ = 0;
  size_t byteSize_ = 0;
  std::unique_ptr<void, FreeDeleter> storage_;
};

/// True for the ONNX data types that map onto a weft_dtype_t.
bool isSupportedDtype(int32_t onnxDataType);

/// "f32[3,4]"; "f32[]" for a scalar.
std::string formatType(weft_dtype_t dtype, llvm::ArrayRef<int64_t> shape);

/// "[3,4]"; "[]" for a scalar.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// Reads one serialized onnx.TensorProto. Every failure (missing file,
/// malformed protobuf, unsupported type, wrong amount of data) is an error
/// that names the file.
llvm::Expected<HostTensor> readTensorProto(llvm::StringRef path);

/// Writes `tensor` as an onnx.TensorProto with name, dims, data_type and
/// little-endian raw_data.
llvm::Error writeTensorProto(llvm::StringRef path, const HostTensor &tensor);

} // namespace weft

#endif // WEFT_TOOLS_WEFT_RUN_TENSORIO_H
