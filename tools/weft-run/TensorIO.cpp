//===- TensorIO.cpp - Host tensors and ONNX TensorProto files -------------===//
//
// Reading is strict on purpose: the files come from test generators and users,
// and a short raw_data or a value count that does not match the dims must be
// reported against the file rather than read past the end of a buffer. Sizes
// are checked before anything is allocated, so a file that claims a huge
// shape fails cleanly instead of exhausting memory.
//
//===----------------------------------------------------------------------===//

#include "TensorIO.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SwapByteOrder.h"
#include "llvm/Support/raw_ostream.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cstring>

using namespace weft;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static size_t roundUp(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

//===----------------------------------------------------------------------===//
// HostTensor
//===----------------------------------------------------------------------===//

llvm::Expected<HostTensor> HostTensor::allocate(weft_dtype_t dtype,
                                                llvm::ArrayRef<int64_t> shape,
                                                std::string name,
                                                uint8_t fillByte) {
  size_t elementSize = weft_dtype_size(dtype);
  if (elementSize == 0)
    return makeError("unsupported element type " +
                     llvm::Twine(static_cast<int>(dtype)));
  if (shape.size() > WEFT_MAX_RANK)
    return makeError("rank " + llvm::Twine(shape.size()) +
                     " is above the runtime's maximum of " +
                     llvm::Twine(WEFT_MAX_RANK));
  int64_t numElements = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      return makeError("negative dimension " + llvm::Twine(dim) +
                       " in shape " + formatShape(shape));
    if (dim != 0 && numElements > INT64_MAX / dim)
      return makeError("shape " + formatShape(shape) +
                       " has more elements than fit in 64 bits");
    numElements *= dim;
  }
  if (static_cast<uint64_t>(numElements) >
      (SIZE_MAX - kTensorAlignment) / elementSize)
    return makeError("shape " + formatShape(shape) + " is too large");

  HostTensor tensor;
  tensor.dtype_ = dtype;
  tensor.shape_.assign(shape.begin(), shape.end());
  tensor.name_ = std::move(name);
  tensor.numElements_ = numElements;
  tensor.byteSize_ = static_cast<size_t>(numElements) * elementSize;
  // Empty tensors still get a (non-NULL) block so every view has data.
  size_t allocSize = roundUp(std::max<size_t>(tensor.byteSize_, 1),
                             kTensorAlignment);
  void *ptr = std::aligned_alloc(kTensorAlignment, allocSize);
  if (!ptr)
    return makeError("out of memory allocating " + llvm::Twine(allocSize) +
                     " bytes for a tensor of type " +
                     formatType(dtype, shape));
  std::memset(ptr, fillByte, allocSize);
  tensor.storage_.reset(ptr);
  return std::move(tensor);
}

bool HostTensor::reinterpretAs(weft_dtype_t dtype) {
  if (weft_dtype_size(dtype) != weft_dtype_size(dtype_) || weft_dtype_size(dtype) == 0)
    return false;
  dtype_ = dtype;
  return true;
}

weft_tensor_view_t HostTensor::view() {
  weft_tensor_view_t view;
  std::memset(&view, 0, sizeof(view));
  view.data = data();
  view.dtype = dtype_;
  view.rank = static_cast<int32_t>(shape_.size());
  for (size_t i = 0; i < shape_.size(); ++i)
    view.shape[i] = shape_[i];
  return view;
}

//===----------------------------------------------------------------------===//
// Formatting
//===----------------------------------------------------------------------===//

bool weft::isSupportedDtype(int32_t onnxDataType) {
  switch (onnxDataType) {
  case WEFT_DTYPE_F32:
  case WEFT_DTYPE_U8:
  case WEFT_DTYPE_I8:
  case WEFT_DTYPE_U16:
  case WEFT_DTYPE_I16:
  case WEFT_DTYPE_I32:
  case WEFT_DTYPE_I64:
  case WEFT_DTYPE_BOOL:
  case WEFT_DTYPE_F16:
  case WEFT_DTYPE_F64:
  case WEFT_DTYPE_U32:
  case WEFT_DTYPE_U64:
  case WEFT_DTYPE_BF16:
  case WEFT_DTYPE_F8E4M3FN:
  case WEFT_DTYPE_F8E4M3FNUZ:
  case WEFT_DTYPE_F8E5M2:
  case WEFT_DTYPE_F8E5M2FNUZ:
    return true;
  default:
    return false;
  }
}

std::string weft::formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string result = "[";
  llvm::raw_string_ostream os(result);
  llvm::interleave(shape, os, ",");
  os << "]";
  return result;
}

std::string weft::formatType(weft_dtype_t dtype, llvm::ArrayRef<int64_t> shape) {
  return std::string(weft_dtype_name(dtype)) + formatShape(shape);
}

static std::string onnxTypeName(int32_t dataType) {
  if (onnx::TensorProto_DataType_IsValid(dataType))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(dataType));
  return "unknown";
}

//===----------------------------------------------------------------------===//
// Byte order
//===----------------------------------------------------------------------===//

/// TensorProto raw_data is little-endian; converts in place between that and
/// the host's order (a no-op on little-endian hosts).
static void convertLittleEndian(void *data, int64_t numElements,
                                size_t elementSize) {
  if (!llvm::sys::IsBigEndianHost || elementSize == 1)
    return;
  auto *bytes = static_cast<uint8_t *>(data);
  for (int64_t i = 0; i < numElements; ++i) {
    uint8_t *element = bytes + i * elementSize;
    std::reverse(element, element + elementSize);
  }
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {
/// Which repeated field holds the values of a dtype when raw_data is unused
/// (onnx.proto's comments on each field define this mapping).
enum class TypedField { Float, Int32, Int64, Double, UInt64 };
} // namespace

static TypedField typedFieldFor(weft_dtype_t dtype) {
  switch (dtype) {
  case WEFT_DTYPE_F32:
    return TypedField::Float;
  case WEFT_DTYPE_I64:
    return TypedField::Int64;
  case WEFT_DTYPE_F64:
    return TypedField::Double;
  case WEFT_DTYPE_U32:
  case WEFT_DTYPE_U64:
    return TypedField::UInt64;
  default:
    // int32, and the narrow types whose values (or, for f16/bf16/f8, bit
    // patterns) are widened into int32_data.
    return TypedField::Int32;
  }
}

static const char *typedFieldName(TypedField field) {
  switch (field) {
  case TypedField::Float:
    return "float_data";
  case TypedField::Int32:
    return "int32_data";
  case TypedField::Int64:
    return "int64_data";
  case TypedField::Double:
    return "double_data";
  case TypedField::UInt64:
    return "uint64_data";
  }
  return "?";
}

static int64_t typedFieldSize(const onnx::TensorProto &proto,
                              TypedField field) {
  switch (field) {
  case TypedField::Float:
    return proto.float_data_size();
  case TypedField::Int32:
    return proto.int32_data_size();
  case TypedField::Int64:
    return proto.int64_data_size();
  case TypedField::Double:
    return proto.double_data_size();
  case TypedField::UInt64:
    return proto.uint64_data_size();
  }
  return 0;
}

template <typename Dst, typename Field>
static void copyTypedField(const Field &field, void *dst) {
  auto *out = static_cast<Dst *>(dst);
  for (int i = 0, e = field.size(); i < e; ++i)
    out[i] = static_cast<Dst>(field.Get(i));
}

static void copyTypedData(const onnx::TensorProto &proto, HostTensor &tensor) {
  void *dst = tensor.data();
  switch (tensor.dtype()) {
  case WEFT_DTYPE_F32:
    return copyTypedField<float>(proto.float_data(), dst);
  case WEFT_DTYPE_F64:
    return copyTypedField<double>(proto.double_data(), dst);
  case WEFT_DTYPE_I64:
    return copyTypedField<int64_t>(proto.int64_data(), dst);
  case WEFT_DTYPE_U32:
    return copyTypedField<uint32_t>(proto.uint64_data(), dst);
  case WEFT_DTYPE_U64:
    return copyTypedField<uint64_t>(proto.uint64_data(), dst);
  case WEFT_DTYPE_I32:
    return copyTypedField<int32_t>(proto.int32_data(), dst);
  case WEFT_DTYPE_I16:
    return copyTypedField<int16_t>(proto.int32_data(), dst);
  case WEFT_DTYPE_I8:
    return copyTypedField<int8_t>(proto.int32_data(), dst);
  case WEFT_DTYPE_U16:
  case WEFT_DTYPE_F16:
  case WEFT_DTYPE_BF16:
    return copyTypedField<uint16_t>(proto.int32_data(), dst);
  case WEFT_DTYPE_U8:
  case WEFT_DTYPE_F8E4M3FN:
  case WEFT_DTYPE_F8E4M3FNUZ:
  case WEFT_DTYPE_F8E5M2:
  case WEFT_DTYPE_F8E5M2FNUZ:
    return copyTypedField<uint8_t>(proto.int32_data(), dst);
  case WEFT_DTYPE_BOOL: {
    auto *out = static_cast<uint8_t *>(dst);
    const auto &field = proto.int32_data();
    for (int i = 0, e = field.size(); i < e; ++i)
      out[i] = field.Get(i) != 0;
    return;
  }
  default:
    return;
  }
}

static bool hasAnyTypedData(const onnx::TensorProto &proto) {
  return proto.float_data_size() || proto.int32_data_size() ||
         proto.int64_data_size() || proto.double_data_size() ||
         proto.uint64_data_size() || proto.string_data_size();
}

/// Builds the tensor once the protobuf parsed; errors here do not name the
/// file, the caller adds it.
static llvm::Expected<HostTensor> tensorFromProto(const onnx::TensorProto &proto) {
  if (proto.has_data_location() &&
      proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
    return makeError("tensors with external data are not supported");
  if (proto.has_segment())
    return makeError("segmented tensors are not supported");
  int32_t dataType = proto.data_type();
  if (!isSupportedDtype(dataType))
    return makeError("data_type " + llvm::Twine(dataType) + " (" +
                     onnxTypeName(dataType) + ") is not supported");
  auto dtype = static_cast<weft_dtype_t>(dataType);
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());

  // Validate the shape and the amount of data before allocating anything.
  if (shape.size() > WEFT_MAX_RANK)
    return makeError("rank " + llvm::Twine(shape.size()) +
                     " is above the runtime's maximum of " +
                     llvm::Twine(WEFT_MAX_RANK));
  uint64_t numElements = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      return makeError("negative dimension " + llvm::Twine(dim) +
                       " in dims " + formatShape(shape));
    if (dim != 0 && numElements > static_cast<uint64_t>(INT64_MAX / dim))
      return makeError("dims " + formatShape(shape) +
                       " have more elements than fit in 64 bits");
    numElements *= static_cast<uint64_t>(dim);
  }
  size_t elementSize = weft_dtype_size(dtype);
  if (proto.has_raw_data()) {
    if (hasAnyTypedData(proto))
      return makeError("holds both raw_data and typed data fields");
    uint64_t rawSize = proto.raw_data().size();
    if (numElements > UINT64_MAX / elementSize ||
        rawSize != numElements * elementSize)
      return makeError("raw_data has " + llvm::Twine(rawSize) +
                       " bytes but type " + formatType(dtype, shape) +
                       " needs " + llvm::Twine(numElements) + " x " +
                       llvm::Twine(elementSize) + " bytes");
  } else {
    TypedField field = typedFieldFor(dtype);
    int64_t count = typedFieldSize(proto, field);
    if (static_cast<uint64_t>(count) != numElements)
      return makeError(llvm::Twine(typedFieldName(field)) + " has " +
                       llvm::Twine(count) + " values but type " +
                       formatType(dtype, shape) + " has " +
                       llvm::Twine(numElements) + " elements");
  }

  llvm::Expected<HostTensor> tensor =
      HostTensor::allocate(dtype, shape, proto.name());
  if (!tensor)
    return tensor.takeError();
  if (proto.has_raw_data()) {
    std::memcpy(tensor->data(), proto.raw_data().data(), tensor->byteSize());
    convertLittleEndian(tensor->data(), tensor->numElements(), elementSize);
  } else {
    copyTypedData(proto, *tensor);
  }
  return tensor;
}

llvm::Expected<HostTensor> weft::readTensorProto(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError("cannot read '" + path +
                     "': " + buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return makeError("'" + path + "' is larger than 2 GiB, the limit of a " +
                     "serialized TensorProto");
  onnx::TensorProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return makeError("'" + path + "' is not a valid serialized ONNX " +
                     "TensorProto");
  llvm::Expected<HostTensor> tensor = tensorFromProto(proto);
  if (!tensor)
    return makeError("'" + path + "': " + llvm::toString(tensor.takeError()));
  return tensor;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

llvm::Error weft::writeTensorProto(llvm::StringRef path,
                                   const HostTensor &tensor) {
  onnx::TensorProto proto;
  proto.set_name(tensor.name());
  for (int64_t dim : tensor.shape())
    proto.add_dims(dim);
  proto.set_data_type(static_cast<int32_t>(tensor.dtype()));
  std::string *raw = proto.mutable_raw_data();
  raw->assign(static_cast<const char *>(tensor.data()), tensor.byteSize());
  convertLittleEndian(raw->data(), tensor.numElements(),
                      weft_dtype_size(tensor.dtype()));
  std::string serialized;
  if (!proto.SerializeToString(&serialized))
    return makeError("cannot serialize output tensor '" + tensor.name() +
                     "' for '" + path + "'");
  llvm::Error error = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << serialized;
    return llvm::Error::success();
  });
  if (error)
    return makeError("cannot write '" + path +
                     "': " + llvm::toString(std::move(error)));
  return llvm::Error::success();
}
