//===- ImportContext.cpp - state shared by the ONNX op converters ---------===//
//
// Tensor conversion (raw bytes or typed fields -> DenseElementsAttr, never
// through text), value bookkeeping, attribute getters and the helpers that
// build ops at the current node's location.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"
#include "llvm/ADT/SmallPtrSet.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/MathExtras.h"

#include <cstring>

using namespace mlir;
using namespace weft;

//===----------------------------------------------------------------------===//
// Types and tensors
//===----------------------------------------------------------------------===//

Type weft::convertElementType(MLIRContext *context, int32_t onnxType) {
  Builder b(context);
  switch (onnxType) {
  case onnx::TensorProto_DataType_FLOAT:
    return b.getF32Type();
  case onnx::TensorProto_DataType_DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto_DataType_FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto_DataType_BFLOAT16:
    return b.getBF16Type();
  case onnx::TensorProto_DataType_BOOL:
    return b.getI1Type();
  case 17: // FLOAT8E4M3FN (libonnx 1.12's enum predates it)
    return b.getType<Float8E4M3FNType>();
  case 18: // FLOAT8E4M3FNUZ (libonnx 1.12's enum predates it)
    return b.getType<Float8E4M3FNUZType>();
  case 19: // FLOAT8E5M2 (libonnx 1.12's enum predates it)
    return b.getType<Float8E5M2Type>();
  case 20: // FLOAT8E5M2FNUZ (libonnx 1.12's enum predates it)
    return b.getType<Float8E5M2FNUZType>();
  case onnx::TensorProto_DataType_INT8:
    return b.getIntegerType(8);
  case onnx::TensorProto_DataType_INT16:
    return b.getIntegerType(16);
  case onnx::TensorProto_DataType_INT32:
    return b.getIntegerType(32);
  case onnx::TensorProto_DataType_INT64:
    return b.getIntegerType(64);
  case onnx::TensorProto_DataType_UINT8:
    return b.getIntegerType(8, /*isSigned=*/false);
  case onnx::TensorProto_DataType_UINT16:
    return b.getIntegerType(16, /*isSigned=*/false);
  case onnx::TensorProto_DataType_UINT32:
    return b.getIntegerType(32, /*isSigned=*/false);
  case onnx::TensorProto_DataType_UINT64:
    return b.getIntegerType(64, /*isSigned=*/false);
  default:
    return Type();
  }
}

StringRef weft::onnxTypeName(int32_t onnxType) {
  switch (onnxType) {
  case 0: return "UNDEFINED";
  case 1: return "FLOAT";
  case 2: return "UINT8";
  case 3: return "INT8";
  case 4: return "UINT16";
  case 5: return "INT16";
  case 6: return "INT32";
  case 7: return "INT64";
  case 8: return "STRING";
  case 9: return "BOOL";
  case 10: return "FLOAT16";
  case 11: return "DOUBLE";
  case 12: return "UINT32";
  case 13: return "UINT64";
  case 14: return "COMPLEX64";
  case 15: return "COMPLEX128";
  case 16: return "BFLOAT16";
  case 17: return "FLOAT8E4M3FN";
  case 18: return "FLOAT8E4M3FNUZ";
  case 19: return "FLOAT8E5M2";
  case 20: return "FLOAT8E5M2FNUZ";
  case 21: return "UINT4";
  case 22: return "INT4";
  case 23: return "FLOAT4E2M1";
  default: return "unknown";
  }
}

Location weft::nodeLocation(MLIRContext *context, StringRef name,
                            StringRef opType) {
  return NameLoc::get(StringAttr::get(context, name),
                      NameLoc::get(StringAttr::get(context, opType)));
}

// Builds the attribute from little-endian element bytes, storing a splat
// when every element is equal (zero biases, ConstantOfShape-like weights).
static DenseElementsAttr fromBytes(RankedTensorType type,
                                   ArrayRef<char> bytes) {
  int64_t n = type.getNumElements();
  size_t width = bytes.size() / std::max<int64_t>(n, 1);
  if (n > 1) {
    bool same = true;
    for (int64_t i = 1; i < n && same; ++i)
      same = std::memcmp(bytes.data(), bytes.data() + i * width, width) == 0;
    if (same)
      bytes = bytes.take_front(width);
  }
  return DenseElementsAttr::getFromRawBuffer(type, bytes);
}

// Appends `value` truncated to `width` bytes (little-endian host).
static void appendBytes(std::vector<char> &out, uint64_t value, size_t width) {
  char buf[8];
  std::memcpy(buf, &value, 8);
  out.insert(out.end(), buf, buf + width);
}

/// A constant of ONNX's 4-bit integers (INT4 = 22, UINT4 = 21), packed two
/// to a byte (the first element in the low nibble) in raw_data or in
/// int32_data (one packed byte per entry), as an i4 / ui4 tensor (one byte
/// per element in the attribute). Weft takes 4-bit integers only as
/// constants (quantized weights, which DequantizeLinear folds); the
/// importer refuses any 4-bit value computed at run time.
static FailureOr<DenseElementsAttr> convertInt4Proto(MLIRContext *context,
                                                     const onnx::TensorProto &tensor,
                                                     Location loc, StringRef what,
                                                     ArrayRef<int64_t> shape,
                                                     int64_t numElements) {
  bool isSigned = tensor.data_type() == 22;
  Type elt = IntegerType::get(context, 4,
                              isSigned ? IntegerType::Signless : IntegerType::Unsigned);
  int64_t packed = (numElements + 1) / 2;
  std::vector<uint8_t> bytes;
  if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if ((int64_t)raw.size() != packed)
      return emitError(loc) << what << " has " << raw.size()
                            << " bytes of raw data but its shape needs " << packed
                            << " (two 4-bit values a byte)";
    bytes.assign(raw.begin(), raw.end());
  } else {
    if (tensor.int32_data_size() != packed)
      return emitError(loc) << what << " has " << tensor.int32_data_size()
                            << " values in int32_data but its shape needs " << packed
                            << " (two 4-bit values an entry)";
    for (int32_t v : tensor.int32_data())
      bytes.push_back((uint8_t)v);
  }
  std::vector<char> values(numElements);
  for (int64_t i = 0; i < numElements; ++i) {
    int v = (bytes[i / 2] >> (4 * (i % 2))) & 0xf;
    values[i] = (char)(isSigned && v >= 8 ? v - 16 : v);
  }
  return fromBytes(RankedTensorType::get(shape, elt),
                   ArrayRef<char>(values.data(), values.size()));
}

FailureOr<DenseElementsAttr>
weft::convertTensorProto(MLIRContext *context, const onnx::TensorProto &tensor,
                         Location loc, StringRef what) {
  int32_t dt = tensor.data_type();
  bool int4 = dt == 21 || dt == 22;
  Type elt = convertElementType(context, dt);
  if (!elt && !int4)
    return emitError(loc) << what << " has element type " << onnxTypeName(dt)
                          << ", which Weft does not support";
  SmallVector<int64_t> shape;
  int64_t numElements = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0)
      return emitError(loc) << what << " has negative dimension " << d;
    if (d != 0 && numElements > (int64_t(1) << 50) / d)
      return emitError(loc) << what << " is too large";
    numElements *= d;
    shape.push_back(d);
  }
  if (tensor.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
    return emitError(loc) << what << " keeps its data externally and it was "
                                     "not loaded";
  if (int4)
    return convertInt4Proto(context, tensor, loc, what, shape, numElements);
  auto type = RankedTensorType::get(shape, elt);
  bool isBool = elt.isInteger(1);
  size_t width = isBool ? 1 : elt.getIntOrFloatBitWidth() / 8;

  if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if ((int64_t)raw.size() != numElements * (int64_t)width)
      return emitError(loc) << what << " has " << raw.size()
                            << " bytes of raw data but its shape needs "
                            << numElements * width;
    if (isBool) {
      SmallVector<bool> bits;
      bits.reserve(numElements);
      for (char c : raw)
        bits.push_back(c != 0);
      return DenseElementsAttr::get(type, ArrayRef<bool>(bits));
    }
    return fromBytes(type, ArrayRef<char>(raw.data(), raw.size()));
  }

  // Typed repeated fields: ONNX stores narrow types widened to int32, 16-bit
  // floats as their bit patterns in int32_data, unsigned 32/64-bit in
  // uint64_data.
  std::vector<char> bytes;
  auto checkCount = [&](int64_t count,
                        StringRef field) -> LogicalResult {
    if (count == numElements) {
      // Only now: the shape alone may claim more bytes than exist.
      bytes.reserve(numElements * width);
      return success();
    }
    if (count == 0)
      return emitError(loc) << what << " holds no data (expected "
                            << numElements << " elements)";
    return emitError(loc) << what << " has " << count << " values in "
                          << field << " but its shape needs " << numElements;
  };
  switch (dt) {
  case onnx::TensorProto_DataType_FLOAT:
    if (failed(checkCount(tensor.float_data_size(), "float_data")))
      return failure();
    for (float f : tensor.float_data()) {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      appendBytes(bytes, bits, 4);
    }
    break;
  case onnx::TensorProto_DataType_DOUBLE:
    if (failed(checkCount(tensor.double_data_size(), "double_data")))
      return failure();
    for (double d : tensor.double_data()) {
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      appendBytes(bytes, bits, 8);
    }
    break;
  case onnx::TensorProto_DataType_INT64:
    if (failed(checkCount(tensor.int64_data_size(), "int64_data")))
      return failure();
    for (int64_t v : tensor.int64_data())
      appendBytes(bytes, (uint64_t)v, 8);
    break;
  case onnx::TensorProto_DataType_UINT32:
  case onnx::TensorProto_DataType_UINT64:
    if (failed(checkCount(tensor.uint64_data_size(), "uint64_data")))
      return failure();
    for (uint64_t v : tensor.uint64_data())
      appendBytes(bytes, v, width);
    break;
  case onnx::TensorProto_DataType_BOOL: {
    if (failed(checkCount(tensor.int32_data_size(), "int32_data")))
      return failure();
    SmallVector<bool> bits;
    for (int32_t v : tensor.int32_data())
      bits.push_back(v != 0);
    return DenseElementsAttr::get(type, ArrayRef<bool>(bits));
  }
  default: // INT8/16/32, UINT8/16, FLOAT16, BFLOAT16, FLOAT8*
    if (failed(checkCount(tensor.int32_data_size(), "int32_data")))
      return failure();
    for (int32_t v : tensor.int32_data())
      appendBytes(bytes, (uint64_t)(uint32_t)v, width);
    break;
  }
  return fromBytes(type, ArrayRef<char>(bytes.data(), bytes.size()));
}

//===----------------------------------------------------------------------===//
// Node and diagnostics
//===----------------------------------------------------------------------===//

ImportContext::ImportContext(OpBuilder &builder, int64_t opset)
    : builder(builder), opset(opset), loc(builder.getUnknownLoc()) {}

void ImportContext::beginNode(const onnx::NodeProto &node,
                              StringRef displayName) {
  nodeName = displayName.str();
  opType = node.op_type();
  loc = nodeLocation(getContext(), nodeName, opType);
  attributeError = false;
}

InFlightDiagnostic ImportContext::emitError(const Twine &reason) {
  return mlir::emitError(loc) << "node '" << nodeName << "' (" << opType
                              << "): " << reason;
}

LogicalResult ImportContext::fail(const Twine &reason) {
  (void)emitError(reason);
  return failure();
}

void ImportContext::attrError(const Twine &message) {
  attributeError = true;
  (void)emitError(message);
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

void ImportContext::define(StringRef name, Value value) {
  values[name] = value;
}

void ImportContext::addLazyInitializer(StringRef name,
                                       const onnx::TensorProto *tensor) {
  lazyInitializers[name] = tensor;
}

void ImportContext::markUnproduced(StringRef name, std::string producer) {
  unproduced[name] = std::move(producer);
}

bool ImportContext::isDefined(StringRef name) const {
  return values.count(name) || lazyInitializers.count(name);
}

FailureOr<Value> ImportContext::lookup(StringRef name) {
  auto it = values.find(name);
  if (it != values.end())
    return it->second;
  auto lazy = lazyInitializers.find(name);
  if (lazy != lazyInitializers.end()) {
    Location initLoc = nodeLocation(getContext(), name, "initializer");
    auto attr = convertTensorProto(getContext(), *lazy->second, initLoc,
                                   ("initializer '" + name + "'").str());
    if (failed(attr))
      return failure();
    // At the top of the function: the first use may sit in a region (a
    // branch of a run-time If) that later uses cannot see into.
    OpBuilder::InsertionGuard guard(builder);
    Operation *scope = builder.getInsertionBlock()->getParentOp();
    if (scope && !isa<func::FuncOp>(scope)) {
      while (scope && !isa<func::FuncOp>(scope))
        scope = scope->getParentOp();
      if (scope)
        builder.setInsertionPointToStart(&cast<func::FuncOp>(scope).getBody().front());
    }
    Value v = ConstantOp::create(builder, initLoc, *attr).getResult();
    values[name] = v;
    return v;
  }
  auto un = unproduced.find(name);
  if (un != unproduced.end()) {
    (void)emitError("input '" + name + "' is " + un->second +
                    ", which Weft does not support");
    return failure();
  }
  (void)emitError("input '" + name +
                  "' is not defined by an earlier node, an initializer or a "
                  "graph input");
  return failure();
}

bool ImportContext::hasInput(const onnx::NodeProto &node, int index) {
  return index < node.input_size() && !node.input(index).empty();
}

bool ImportContext::hasOutput(const onnx::NodeProto &node, int index) {
  return index < node.output_size() && !node.output(index).empty();
}

FailureOr<Value> ImportContext::input(const onnx::NodeProto &node, int index) {
  if (!hasInput(node, index)) {
    (void)emitError("missing required input #" + Twine(index));
    return failure();
  }
  return lookup(node.input(index));
}

FailureOr<Value> ImportContext::optionalInput(const onnx::NodeProto &node,
                                              int index) {
  if (!hasInput(node, index))
    return Value();
  return lookup(node.input(index));
}

void ImportContext::setOutput(const onnx::NodeProto &node, int index,
                              Value value) {
  if (hasOutput(node, index))
    define(node.output(index), value);
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *ImportContext::findAttr(const onnx::NodeProto &node,
                                                    StringRef name) {
  for (const auto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

// Old exporters sometimes leave AttributeProto.type unset; the populated
// field then tells the kind.
static bool isKind(const onnx::AttributeProto &a,
                   onnx::AttributeProto_AttributeType kind, bool populated) {
  return a.type() == kind ||
         (a.type() == onnx::AttributeProto_AttributeType_UNDEFINED && populated);
}

int64_t ImportContext::getInt(const onnx::NodeProto &node, StringRef name,
                              int64_t defaultValue) {
  const auto *a = findAttr(node, name);
  if (!a)
    return defaultValue;
  if (!isKind(*a, onnx::AttributeProto_AttributeType_INT, a->has_i())) {
    attrError("attribute '" + name + "' must be an int");
    return defaultValue;
  }
  return a->i();
}

float ImportContext::getFloat(const onnx::NodeProto &node, StringRef name,
                              float defaultValue) {
  const auto *a = findAttr(node, name);
  if (!a)
    return defaultValue;
  if (!isKind(*a, onnx::AttributeProto_AttributeType_FLOAT, a->has_f())) {
    attrError("attribute '" + name + "' must be a float");
    return defaultValue;
  }
  return a->f();
}

std::string ImportContext::getString(const onnx::NodeProto &node,
                                     StringRef name, StringRef defaultValue) {
  const auto *a = findAttr(node, name);
  if (!a)
    return defaultValue.str();
  if (!isKind(*a, onnx::AttributeProto_AttributeType_STRING, a->has_s())) {
    attrError("attribute '" + name + "' must be a string");
    return defaultValue.str();
  }
  return a->s();
}

std::optional<SmallVector<int64_t>>
ImportContext::getOptionalInts(const onnx::NodeProto &node, StringRef name) {
  const auto *a = findAttr(node, name);
  if (!a)
    return std::nullopt;
  if (!isKind(*a, onnx::AttributeProto_AttributeType_INTS, true)) {
    attrError("attribute '" + name + "' must be a list of ints");
    return std::nullopt;
  }
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

SmallVector<int64_t> ImportContext::getInts(const onnx::NodeProto &node,
                                            StringRef name,
                                            ArrayRef<int64_t> defaultValue) {
  if (auto v = getOptionalInts(node, name))
    return *v;
  return SmallVector<int64_t>(defaultValue);
}

SmallVector<float> ImportContext::getFloats(const onnx::NodeProto &node,
                                            StringRef name,
                                            ArrayRef<float> defaultValue) {
  const auto *a = findAttr(node, name);
  if (!a)
    return SmallVector<float>(defaultValue);
  if (!isKind(*a, onnx::AttributeProto_AttributeType_FLOATS, true)) {
    attrError("attribute '" + name + "' must be a list of floats");
    return SmallVector<float>(defaultValue);
  }
  return SmallVector<float>(a->floats().begin(), a->floats().end());
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

DenseElementsAttr ImportContext::getConstantValue(Value value) {
  if (!value)
    return {};
  if (auto c = value.getDefiningOp<ConstantOp>())
    return dyn_cast<DenseElementsAttr>(c.getValue());
  return {};
}

FailureOr<DenseElementsAttr>
ImportContext::constantInput(const onnx::NodeProto &node, int index,
                             StringRef what) {
  auto v = input(node, index);
  if (failed(v))
    return failure();
  if (auto attr = getConstantValue(*v))
    return attr;
  // A model input: the user can compile for one value of it.
  if (auto arg = dyn_cast<BlockArgument>(*v))
    if (auto name = dyn_cast<NameLoc>(arg.getLoc())) {
      (void)emitError("input #" + Twine(index) + " (" + what + ", '" + node.input(index) +
                      "') must be known at compile time but is the model input '" +
                      name.getName().getValue() +
                      "'; compile for one value of it with --input-value " +
                      name.getName().getValue() + "=FILE.pb (a serialized TensorProto)");
      return failure();
    }
  // Computed from model inputs: name the first one, which the user can pin
  // to one value (the computation then folds).
  if (auto input = modelInputFeeding(*v)) {
    (void)emitError("input #" + Twine(index) + " (" + what + ", '" + node.input(index) +
                    "') must be known at compile time but is computed from the model "
                    "input '" + *input + "'; compile for one value of it with --input-value " +
                    *input + "=FILE.pb (a serialized TensorProto)");
    return failure();
  }
  (void)emitError("input #" + Twine(index) + " (" + what + ", '" +
                  node.input(index) +
                  "') must be a constant (an initializer or a Constant node) "
                  "but is computed at run time");
  return failure();
}

SmallVector<int64_t> ImportContext::toInts(DenseElementsAttr attr) {
  SmallVector<int64_t> out;
  if (isa<FloatType>(attr.getElementType())) {
    for (const APFloat &v : attr.getValues<APFloat>()) {
      double d = v.convertToDouble();
      out.push_back(d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN
                                                            : (int64_t)d);
    }
    return out;
  }
  bool isBool = attr.getElementType().isInteger(1);
  for (const APInt &v : attr.getValues<APInt>())
    out.push_back(isBool ? (int64_t)v.getZExtValue() : v.getSExtValue());
  return out;
}

FailureOr<SmallVector<int64_t>>
ImportContext::constantInts(const onnx::NodeProto &node, int index,
                            StringRef what) {
  auto attr = constantInput(node, index, what);
  if (failed(attr))
    return failure();
  if (!attr->getElementType().isSignlessInteger()) {
    (void)emitError("input #" + Twine(index) + " (" + what +
                    ") must hold integers");
    return failure();
  }
  return toInts(*attr);
}

static std::string typeName(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

/// Input `index` of `node` as a constant with exactly one element.
static FailureOr<DenseElementsAttr> singleConstant(ImportContext &ctx,
                                                   const onnx::NodeProto &node,
                                                   int index, StringRef what) {
  auto attr = ctx.constantInput(node, index, what);
  if (failed(attr))
    return failure();
  if (attr->getNumElements() != 1) {
    (void)ctx.emitError("input #" + Twine(index) + " (" + what +
                        ") must hold exactly one value");
    return failure();
  }
  return attr;
}

FailureOr<TypedAttr> ImportContext::constantElement(const onnx::NodeProto &node,
                                                    int index, StringRef what,
                                                    Type elementType) {
  auto attr = singleConstant(*this, node, index, what);
  if (failed(attr))
    return failure();
  if (attr->getElementType() != elementType) {
    (void)emitError("input #" + Twine(index) + " (" + what + ") has element type " +
                    typeName(attr->getElementType()) + " but must be " +
                    typeName(elementType));
    return failure();
  }
  return cast<TypedAttr>(*attr->getValues<Attribute>().begin());
}

FailureOr<double> ImportContext::constantScalar(const onnx::NodeProto &node,
                                                int index, StringRef what) {
  auto attr = singleConstant(*this, node, index, what);
  if (failed(attr))
    return failure();
  Type elt = attr->getElementType();
  if (isa<FloatType>(elt))
    return (*attr->getValues<APFloat>().begin()).convertToDouble();
  APInt v = *attr->getValues<APInt>().begin();
  return elt.isInteger(1) ? (double)v.getZExtValue() : (double)v.getSExtValue();
}

//===----------------------------------------------------------------------===//
// Building ops
//===----------------------------------------------------------------------===//

Value ImportContext::constant(DenseElementsAttr value) {
  return ConstantOp::create(builder, loc, value).getResult();
}

Value ImportContext::splat(RankedTensorType type, double value) {
  Type elt = type.getElementType();
  Attribute scalar;
  if (auto ft = dyn_cast<FloatType>(elt))
    scalar = builder.getFloatAttr(ft, value);
  else if (elt.isInteger(1))
    scalar = builder.getBoolAttr(value != 0);
  else
    scalar = builder.getIntegerAttr(elt, (int64_t)value);
  return constant(DenseElementsAttr::get(type, scalar));
}

FailureOr<Value> ImportContext::reshape(Value value, ArrayRef<int64_t> shape) {
  auto type = typeOf(value);
  if (type.getShape() == shape)
    return value;
  if (failed(checkShape(shape, "the reshaped tensor")))
    return failure();
  auto newType = RankedTensorType::get(shape, type.getElementType());
  if (newType.getNumElements() != type.getNumElements()) {
    (void)emitError("cannot reshape " + Twine(type.getNumElements()) +
                    " elements into a tensor of " +
                    Twine(newType.getNumElements()));
    return failure();
  }
  if (auto attr = getConstantValue(value))
    if (attr.isSplat() || attr.getNumElements() <= kFoldLimit)
      return constant(attr.reshape(newType));
  return create<ReshapeOp>(newType, value);
}

Type ImportContext::placeholderType() { return builder.getNoneType(); }

FailureOr<Value> ImportContext::finishInferred(Operation *op) {
  // Capture the interface's message so it reaches the user with the node
  // name and operand types instead of as a bare "operands differ".
  std::string message;
  SmallVector<Type, 1> types;
  LogicalResult inferred = failure();
  {
    ScopedDiagnosticHandler capture(getContext(), [&](Diagnostic &diag) {
      if (diag.getSeverity() != DiagnosticSeverity::Error)
        return failure();
      if (message.empty())
        message = diag.str();
      return success();
    });
    auto iface = cast<InferTypeOpInterface>(op);
    inferred = iface.inferReturnTypes(
        getContext(), loc, op->getOperands(), op->getRawDictionaryAttrs(),
        op->getPropertiesStorage(), op->getRegions(), types);
  }
  if (failed(inferred) || types.size() != op->getNumResults()) {
    std::string operandTypes;
    llvm::raw_string_ostream os(operandTypes);
    llvm::interleaveComma(op->getOperandTypes(), os);
    (void)emitError((message.empty() ? std::string("cannot infer the result type")
                                     : message) +
                    " (operand types: " + operandTypes + ")");
    op->erase();
    return failure();
  }
  for (auto [result, type] : llvm::zip(op->getResults(), types))
    result.setType(type);
  // Every computed tensor stays within the bounds that static planning can
  // handle (hostile pads or broadcasts could ask for petabytes).
  for (Type t : types)
    if (auto rt = dyn_cast<RankedTensorType>(t))
      if (failed(checkShape(rt.getShape(), "the result")))
        return failure();
  if (auto folded = foldSmallConstant(op))
    return folded;
  return op->getResult(0);
}

Value ImportContext::foldSmallConstant(Operation *op) {
  // Only single-result ops on small constants: shape computations (pads
  // built by Concat/Reshape/Slice/Transpose chains, scales, axes) must be
  // constants by the time a later converter reads them.
  if (op->getNumResults() != 1)
    return {};
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type || !type.hasStaticShape() || type.getNumElements() > kFoldLimit)
    return {};
  SmallVector<Attribute> operands;
  for (Value v : op->getOperands()) {
    auto attr = getConstantValue(v);
    if (!attr || (!attr.isSplat() && attr.getNumElements() > kFoldLimit))
      return {};
    operands.push_back(attr);
  }
  SmallVector<OpFoldResult, 1> results;
  if (failed(op->fold(operands, results)) || results.size() != 1)
    return {};
  auto attr = dyn_cast_or_null<DenseElementsAttr>(
      dyn_cast_if_present<Attribute>(results[0]));
  if (!attr || attr.getType() != type)
    return {};
  op->erase();
  return constant(attr);
}

LogicalResult ImportContext::checkShape(ArrayRef<int64_t> shape,
                                        StringRef what) {
  constexpr int64_t kMaxElements = int64_t(1) << 40;
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return fail(what + " has negative dimension " + Twine(d));
    if (d > kMaxElements || (d && total > kMaxElements / d))
      return fail(what + " has more than 2^40 elements");
    total *= d;
  }
  return success();
}

FailureOr<int64_t> ImportContext::normalizeAxis(int64_t axis, int64_t rank,
                                                StringRef what) {
  if (axis < -rank || axis >= rank) {
    (void)emitError(what + " " + Twine(axis) + " is out of range for rank " +
                    Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

FailureOr<SmallVector<int64_t>>
ImportContext::normalizeAxes(ArrayRef<int64_t> axes, int64_t rank,
                             StringRef what) {
  SmallVector<int64_t> out;
  for (int64_t axis : axes) {
    auto a = normalizeAxis(axis, rank, what);
    if (failed(a))
      return failure();
    if (llvm::is_contained(out, *a)) {
      (void)emitError(what + " name axis " + Twine(*a) + " twice");
      return failure();
    }
    out.push_back(*a);
  }
  return out;
}

std::optional<std::string> ImportContext::modelInputFeeding(Value value) {
  SmallVector<Value> work{value};
  llvm::SmallPtrSet<Operation *, 16> seen;
  while (!work.empty()) {
    Value cur = work.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(cur)) {
      // A run-time loop's iteration and condition come from its trip count
      // and condition, a carried value from its initial value too.
      if (auto loop = dyn_cast_or_null<LoopOp>(arg.getOwner()->getParentOp())) {
        work.push_back(loop.getMaxTrips());
        work.push_back(loop.getCondition());
        if (arg.getArgNumber() >= 2 && arg.getArgNumber() - 2 < loop.getInits().size())
          work.push_back(loop.getInits()[arg.getArgNumber() - 2]);
        continue;
      }
      if (!isa_and_nonnull<func::FuncOp>(arg.getOwner()->getParentOp()))
        continue;
      if (auto name = dyn_cast<NameLoc>(arg.getLoc()))
        return name.getName().getValue().str();
      continue;
    }
    Operation *def = cur.getDefiningOp();
    if (!def || !seen.insert(def).second)
      continue;
    llvm::append_range(work, def->getOperands());
  }
  return std::nullopt;
}

FailureOr<SmallVector<Value>> ImportContext::importSubgraph(const onnx::GraphProto &graph,
                                                           StringRef what, ValueRange inputs) {
  if (graph.input_size() != (int)inputs.size())
    return fail(what + " takes " + Twine(graph.input_size()) + " inputs, but " +
                Twine(inputs.size()) + " are given to it");
  if (!converters)
    return fail("subgraphs cannot be imported here");
  if (graph.sparse_initializer_size() > 0)
    return fail("sparse initializers in " + what + " are not supported");
  std::string parentName = nodeName, parentType = opType;
  Location parentLoc = loc;
  auto restore = [&] {
    nodeName = parentName;
    opType = parentType;
    loc = parentLoc;
  };
  // A subgraph's names are its own: they leave scope with it (a run-time
  // If's branches live in regions that the rest of the graph cannot see).
  auto savedValues = values;
  auto savedLazy = lazyInitializers;
  auto savedUnproduced = unproduced;
  auto savedRunTimeDims = runTimeDimsOf;
  auto savedNonZeros = nonZeros;
  auto leaveScope = [&] {
    // Outer initializers first used here were built at the function's top:
    // they stay defined.
    for (const auto &entry : savedLazy)
      if (!savedValues.count(entry.getKey()))
        if (auto it = values.find(entry.getKey()); it != values.end())
          savedValues[entry.getKey()] = it->second;
    values = std::move(savedValues);
    lazyInitializers = std::move(savedLazy);
    unproduced = std::move(savedUnproduced);
    runTimeDimsOf = std::move(savedRunTimeDims);
    nonZeros = std::move(savedNonZeros);
  };
  // On every exit, failures included: a caller may go on (a branch that
  // cannot be compiled for these shapes becomes a run-time error).
  llvm::scope_exit exitScope([&] {
    leaveScope();
    restore();
  });
  for (auto [i, v] : llvm::enumerate(inputs))
    values[graph.input(i).name()] = v;
  for (const auto &init : graph.initializer())
    if (!isDefined(init.name()))
      addLazyInitializer(init.name(), &init);
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    std::string name = !node.name().empty()
                           ? node.name()
                           : parentName + "/" + what.str() + "/" + node.op_type() + "_" +
                                 std::to_string(i);
    bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
    ConvertFn convert = defaultDomain ? converters->lookup(node.op_type()) : nullptr;
    if (!convert) {
      restore();
      std::string op = defaultDomain ? node.op_type() : node.domain() + "." + node.op_type();
      return fail("node '" + name + "' of its " + what + " uses the unsupported ONNX operator " +
                  op);
    }
    beginNode(node, name);
    if (failed(convert(*this, node, opset)) || attributeError ||
        failed(propagateRunTimeDims(*this, node)))
      return failure();
    for (int j = 0; j < node.output_size(); ++j)
      if (!node.output(j).empty() && !isDefined(node.output(j)))
        markUnproduced(node.output(j), "output #" + std::to_string(j) + " of node '" + name +
                                           "' (" + node.op_type() + ")");
  }
  restore();
  SmallVector<Value> outputs;
  for (const auto &out : graph.output()) {
    if (auto producer = unproducedBy(out.name())) {
      (void)fail(what + " output '" + out.name() + "' is " + *producer +
                 ", which Weft does not support");
      return failure();
    }
    if (!runTimeDims(out.name()).empty()) {
      (void)fail(what + " output '" + out.name() + "' has a size decided at run time (" +
                 runTimeDims(out.name())[0].origin +
                 "); such values cannot leave a subgraph, whose shapes are static");
      return failure();
    }
    auto v = lookup(out.name());
    if (failed(v))
      return failure();
    outputs.push_back(*v);
  }
  return outputs;
}

LogicalResult ImportContext::convertWith(StringRef type, const onnx::NodeProto &node,
                                         int64_t nodeOpset) {
  ConvertFn convert = converters ? converters->lookup(type) : nullptr;
  if (!convert)
    return fail("internal: no converter for " + type);
  return convert(*this, node, nodeOpset);
}
