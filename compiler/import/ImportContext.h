//===- ImportContext.h - state shared by the ONNX op converters --*- C++ -*-===//
//
// The importer walks the ONNX graph once, in order, and hands each node to a
// converter picked by op type. Converters share this context: the builder
// (positioned at the end of the function body), the map from ONNX value
// names to SSA values, attribute getters whose defaults are always spelled
// out at the call site (so no ONNX default survives import implicitly),
// access to constant inputs (initializers and Constant nodes alike, both
// become weft.constant), and diagnostics located at the current node.
//
// Converters are grouped by op family (math, nn, tensor, constant); each
// family file
// exposes one registration function that fills the op-type table.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_IMPORT_IMPORTCONTEXT_H
#define WEFT_COMPILER_IMPORT_IMPORTCONTEXT_H

#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

namespace weft {

class ImportContext;

/// Converts one ONNX node. `opset` is the model's default-domain opset
/// version (after any upgrade), which selects between the op's versions.
using ConvertFn = mlir::LogicalResult (*)(ImportContext &ctx,
                                          const onnx::NodeProto &node,
                                          int64_t opset);
using ConverterTable = llvm::StringMap<ConvertFn>;

void registerMathConverters(ConverterTable &table);
void registerUnaryConverters(ConverterTable &table);
void registerCastConverters(ConverterTable &table);
void registerNNConverters(ConverterTable &table);
void registerPoolConverters(ConverterTable &table);
void registerReduceConverters(ConverterTable &table);
void registerTensorConverters(ConverterTable &table);
void registerIndexingConverters(ConverterTable &table);
void registerConstantConverters(ConverterTable &table);
void registerResizeConverters(ConverterTable &table);
void registerRNNConverters(ConverterTable &table);
void registerControlFlowConverters(ConverterTable &table);
void registerQuantizedConverters(ConverterTable &table);
void registerLinalgConverters(ConverterTable &table);
void registerSignalConverters(ConverterTable &table);
void registerSamplingConverters(ConverterTable &table);
void registerNormConverters(ConverterTable &table);
void registerRunTimeSizeConverters(ConverterTable &table);

/// A Slice node's starts, ends, axes and steps as written (attributes
/// before opset 10, constant inputs after; steps default to 1), not yet
/// checked or normalized.
struct SliceArguments {
  llvm::SmallVector<int64_t> starts, ends, axes, steps;
};
mlir::FailureOr<SliceArguments> readSliceArguments(ImportContext &ctx,
                                                   const onnx::NodeProto &node,
                                                   int64_t opset);

/// After `node` was converted: gives its outputs the run-time-sized dims
/// of its inputs (see ImportContext::RunTimeDim), or reports why the op
/// cannot take such an input (ConvertRunTimeSizes.cpp).
mlir::LogicalResult propagateRunTimeDims(ImportContext &ctx,
                                         const onnx::NodeProto &node);

/// Maps an ONNX TensorProto data type to the MLIR element type Weft uses:
/// signless integers for ONNX's signed types, unsigned integers (ui8..ui64)
/// for its unsigned ones, i1 for bool, the f8 types for ONNX's 8-bit floats.
/// Returns a null type for strings, complex numbers and 4-bit integers
/// (which only constants hold: convertTensorProto reads them as i4/ui4).
mlir::Type convertElementType(mlir::MLIRContext *context, int32_t onnxType);

/// The elements of a constant of 4- to 32-bit integers or 8-bit floats as
/// floats (exact for every such value); nullopt for other types.
std::optional<std::vector<float>> constantAsFloats(mlir::DenseElementsAttr attr);

/// Human-readable name of an ONNX data type, for diagnostics.
llvm::StringRef onnxTypeName(int32_t onnxType);

/// Builds the dense attribute of a tensor from its raw bytes or typed
/// repeated fields. `what` names the tensor in diagnostics, which are
/// emitted at `loc`. External data must already have been loaded.
mlir::FailureOr<mlir::DenseElementsAttr>
convertTensorProto(mlir::MLIRContext *context, const onnx::TensorProto &tensor,
                   mlir::Location loc, llvm::StringRef what);

/// Location of ONNX node `name` of type `opType`: loc("name"("OpType")).
mlir::Location nodeLocation(mlir::MLIRContext *context, llvm::StringRef name,
                            llvm::StringRef opType);

class ImportContext {
public:
  /// Constants at most this large are reshaped and folded while importing,
  /// which keeps shape computations (Shape -> Gather -> Concat -> Reshape)
  /// static without duplicating weights.
  static constexpr int64_t kFoldLimit = 4096;

  ImportContext(mlir::OpBuilder &builder, int64_t opset);

  mlir::MLIRContext *getContext() { return builder.getContext(); }
  mlir::OpBuilder &getBuilder() { return builder; }
  int64_t getOpset() const { return opset; }
  /// The opset the model declared, before the version converter upgraded
  /// it: where an adapter loses an old op's semantics (Resize-10's
  /// asymmetric coordinates), the converter restores them.
  int64_t getOriginalOpset() const { return originalOpset ? originalOpset : opset; }
  void setOriginalOpset(int64_t o) { originalOpset = o; }

  //===--------------------------------------------------------------------===//
  // The node being converted
  //===--------------------------------------------------------------------===//

  /// Makes `node` (shown as `displayName`) the current node: new ops get its
  /// location and diagnostics name it.
  void beginNode(const onnx::NodeProto &node, llvm::StringRef displayName);
  mlir::Location getLoc() const { return loc; }
  llvm::StringRef getNodeName() const { return nodeName; }
  llvm::StringRef getOpType() const { return opType; }

  /// Reports `reason` at the current node as "node 'n' (Op): reason".
  mlir::InFlightDiagnostic emitError(const llvm::Twine &reason);
  /// emitError + failure, for `return ctx.fail(...)`.
  mlir::LogicalResult fail(const llvm::Twine &reason);
  /// True once an attribute getter met a malformed attribute (and reported it).
  bool hadAttributeError() const { return attributeError; }
  /// Forgets an attribute error reported while importing a subgraph that
  /// the caller replaces (a branch compiled as a run-time error).
  void clearAttributeError() { attributeError = false; }

  //===--------------------------------------------------------------------===//
  // Values
  //===--------------------------------------------------------------------===//

  /// Binds ONNX value `name` to `value`.
  void define(llvm::StringRef name, mlir::Value value);
  /// Registers an initializer that becomes a weft.constant on first use.
  void addLazyInitializer(llvm::StringRef name,
                          const onnx::TensorProto *tensor);
  /// Records that `name` is an output the converter of `producer` did not
  /// produce, so a later use reports that instead of "undefined".
  void markUnproduced(llvm::StringRef name, std::string producer);
  /// Looks up ONNX value `name`; reports an error and returns failure when it
  /// is not defined (yet).
  mlir::FailureOr<mlir::Value> lookup(llvm::StringRef name);
  bool isDefined(llvm::StringRef name) const;
  /// Describes the producer of `name` when it is an output a converter did
  /// not produce.
  std::optional<std::string> unproducedBy(llvm::StringRef name) const {
    auto it = unproduced.find(name);
    if (it == unproduced.end())
      return std::nullopt;
    return it->second;
  }

  /// Input `index` is present (not omitted and not the empty name).
  static bool hasInput(const onnx::NodeProto &node, int index);
  /// Output `index` is requested (present with a non-empty name).
  static bool hasOutput(const onnx::NodeProto &node, int index);
  /// The value of required input `index`.
  mlir::FailureOr<mlir::Value> input(const onnx::NodeProto &node, int index);
  /// The value of optional input `index`, or a null value when absent.
  mlir::FailureOr<mlir::Value> optionalInput(const onnx::NodeProto &node,
                                             int index);
  /// Binds output `index` of `node` (ignored when that output is unnamed).
  void setOutput(const onnx::NodeProto &node, int index, mlir::Value value);

  /// What a DequantizeLinear computed a value from: (q - zeroPoint) * scale,
  /// q an integer tensor, the scale (and the zero point, null when absent)
  /// one value or one per slice along `axis` of q. Converters of ops with
  /// integer kernels (Conv) look their operands up here.
  struct Dequantized {
    mlir::Value q, scale, zeroPoint;
    int64_t axis = 1;
  };
  void recordDequantized(mlir::Value result, const Dequantized &d) { dequantized[result] = d; }
  std::optional<Dequantized> dequantizedFrom(mlir::Value v) const {
    auto it = dequantized.find(v);
    if (it == dequantized.end())
      return std::nullopt;
    return it->second;
  }
  /// A dimension whose size only the run decides (NonZero's count of
  /// elements, the boxes NonMaxSuppression keeps): the value is padded to
  /// its static size along `dim`, and `extent` (an i64 scalar tensor)
  /// holds the run's size. `origin` says what decided it, for messages.
  struct RunTimeDim {
    int64_t dim;
    mlir::Value extent;
    std::string origin;
  };
  void setRunTimeDims(llvm::StringRef name, llvm::ArrayRef<RunTimeDim> dims) {
    if (dims.empty())
      runTimeDimsOf.erase(name);
    else
      runTimeDimsOf[name] = llvm::SmallVector<RunTimeDim, 1>(dims);
  }
  llvm::ArrayRef<RunTimeDim> runTimeDims(llvm::StringRef name) const {
    auto it = runTimeDimsOf.find(name);
    if (it == runTimeDimsOf.end())
      return {};
    return it->second;
  }

  /// The NonZero of a value already computed in this scope (coordinates,
  /// count), so that selections by one mask share one run-time count.
  std::optional<std::pair<mlir::Value, mlir::Value>> nonZeroOf(mlir::Value v) const {
    auto it = nonZeros.find(v);
    if (it == nonZeros.end())
      return std::nullopt;
    return it->second;
  }
  void recordNonZero(mlir::Value v, mlir::Value coords, mlir::Value count) {
    nonZeros[v] = {coords, count};
  }

  /// See ImportOptions::integerConvolutions.
  bool integerConvolutions() const { return integerConvs; }
  void setIntegerConvolutions(bool on) { integerConvs = on; }

  //===--------------------------------------------------------------------===//
  // Attributes (every getter takes the ONNX default explicitly)
  //===--------------------------------------------------------------------===//

  static const onnx::AttributeProto *findAttr(const onnx::NodeProto &node,
                                              llvm::StringRef name);
  static bool hasAttr(const onnx::NodeProto &node, llvm::StringRef name) {
    return findAttr(node, name) != nullptr;
  }
  int64_t getInt(const onnx::NodeProto &node, llvm::StringRef name,
                 int64_t defaultValue);
  float getFloat(const onnx::NodeProto &node, llvm::StringRef name,
                 float defaultValue);
  std::string getString(const onnx::NodeProto &node, llvm::StringRef name,
                        llvm::StringRef defaultValue);
  llvm::SmallVector<int64_t> getInts(const onnx::NodeProto &node,
                                     llvm::StringRef name,
                                     llvm::ArrayRef<int64_t> defaultValue);
  /// The ints of attribute `name`, or nullopt when it is absent.
  std::optional<llvm::SmallVector<int64_t>>
  getOptionalInts(const onnx::NodeProto &node, llvm::StringRef name);
  llvm::SmallVector<float> getFloats(const onnx::NodeProto &node,
                                     llvm::StringRef name,
                                     llvm::ArrayRef<float> defaultValue);

  //===--------------------------------------------------------------------===//
  // Constants
  //===--------------------------------------------------------------------===//

  /// The dense value of `value` when it is defined by a weft.constant.
  static mlir::DenseElementsAttr getConstantValue(mlir::Value value);
  /// Input `index` as a constant; `what` names it in the error emitted when
  /// it is computed at run time.
  mlir::FailureOr<mlir::DenseElementsAttr>
  constantInput(const onnx::NodeProto &node, int index, llvm::StringRef what);
  /// Input `index` as a list of integers (a constant integer tensor).
  mlir::FailureOr<llvm::SmallVector<int64_t>>
  constantInts(const onnx::NodeProto &node, int index, llvm::StringRef what);
  /// Input `index` as one number (a constant with a single element).
  mlir::FailureOr<double> constantScalar(const onnx::NodeProto &node,
                                         int index, llvm::StringRef what);
  /// Input `index` as one element of exactly `elementType` (an IntegerAttr
  /// or FloatAttr), so int64/uint64 extremes stay exact.
  mlir::FailureOr<mlir::TypedAttr>
  constantElement(const onnx::NodeProto &node, int index, llvm::StringRef what,
                  mlir::Type elementType);
  /// The elements of an integer attribute value as int64 (signless, read as
  /// signed; floats are truncated, NaN reads as 0).
  static llvm::SmallVector<int64_t> toInts(mlir::DenseElementsAttr attr);

  //===--------------------------------------------------------------------===//
  // Building ops at the current node
  //===--------------------------------------------------------------------===//

  /// A weft.constant holding `value`.
  mlir::Value constant(mlir::DenseElementsAttr value);
  /// A splat constant of `type` whose every element is `value` (converted to
  /// the element type).
  mlir::Value splat(mlir::RankedTensorType type, double value);
  /// weft.reshape of `value` to `shape` (no op when the shape is unchanged;
  /// small constants are reshaped at import time).
  mlir::FailureOr<mlir::Value> reshape(mlir::Value value,
                                       llvm::ArrayRef<int64_t> shape);

  /// Creates an op whose result type comes from InferTypeOpInterface. Unlike
  /// the generated inferring builders (which abort when inference fails),
  /// this reports the failure at the node and returns failure.
  template <typename OpTy, typename... Args>
  mlir::FailureOr<mlir::Value> createInferred(Args &&...args) {
    auto op = OpTy::create(builder, loc, mlir::TypeRange{placeholderType()},
                           std::forward<Args>(args)...);
    return finishInferred(op.getOperation());
  }

  /// Creates an op with an explicit or trait-derived result type.
  template <typename OpTy, typename... Args>
  mlir::Value create(Args &&...args) {
    return OpTy::create(builder, loc, std::forward<Args>(args)...)
        ->getResult(0);
  }

  static mlir::RankedTensorType typeOf(mlir::Value value) {
    return mlir::cast<mlir::RankedTensorType>(value.getType());
  }

  /// Checks that `shape` is a plausible static shape (no negative sizes, at
  /// most 2^40 elements), so arithmetic on hostile models cannot overflow.
  mlir::LogicalResult checkShape(llvm::ArrayRef<int64_t> shape,
                                 llvm::StringRef what);

  /// Normalizes `axis` (which may be negative) for a tensor of `rank`;
  /// reports an error naming `what` when it is out of range.
  mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                         llvm::StringRef what = "axis");
  /// Normalizes a list of axes, rejecting duplicates; the order is kept.
  mlir::FailureOr<llvm::SmallVector<int64_t>>
  normalizeAxes(llvm::ArrayRef<int64_t> axes, int64_t rank,
                llvm::StringRef what = "axes");

  //===--------------------------------------------------------------------===//
  // Subgraphs
  //===--------------------------------------------------------------------===//

  /// The converters, which importSubgraph runs on a subgraph's nodes.
  void setConverters(const ConverterTable *table) { converters = table; }
  /// Imports the nodes of `graph` (an attribute `what` of the current node)
  /// into the current scope, where outer values stay visible, and returns
  /// its outputs. The current node is the same afterwards.
  /// `inputs` binds the subgraph's inputs (a Loop or Scan body's), one
  /// value each.
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  importSubgraph(const onnx::GraphProto &graph, llvm::StringRef what,
                 mlir::ValueRange inputs = {});
  /// The name of a model input that `value` is computed from, if any: the
  /// input a user can pin with --input-value to make `value` a constant.
  static std::optional<std::string> modelInputFeeding(mlir::Value value);
  /// Runs the converter of `opType` on `node`, a node a converter built to
  /// express its own op through another one; locations and diagnostics
  /// stay those of the current node.
  mlir::LogicalResult convertWith(llvm::StringRef opType, const onnx::NodeProto &node,
                                  int64_t opset);

private:
  mlir::Type placeholderType();
  mlir::FailureOr<mlir::Value> finishInferred(mlir::Operation *op);
  /// Replaces `op` by a weft.constant when its operands are small constants
  /// and its folder computes the result; null (and `op` kept) otherwise.
  mlir::Value foldSmallConstant(mlir::Operation *op);
  void attrError(const llvm::Twine &message);

  mlir::OpBuilder &builder;
  int64_t opset;
  int64_t originalOpset = 0;
  mlir::Location loc;
  std::string nodeName;
  std::string opType;
  bool attributeError = false;
  bool integerConvs = false;
  llvm::DenseMap<mlir::Value, Dequantized> dequantized;
  llvm::StringMap<mlir::Value> values;
  llvm::StringMap<const onnx::TensorProto *> lazyInitializers;
  llvm::StringMap<std::string> unproduced;
  llvm::StringMap<llvm::SmallVector<RunTimeDim, 1>> runTimeDimsOf;
  llvm::DenseMap<mlir::Value, std::pair<mlir::Value, mlir::Value>> nonZeros;
  const ConverterTable *converters = nullptr;
};

/// A 3-D convolution (ONNX Conv on NCDHW with an [M, C/group, kD, kH, kW]
/// filter) built from one 2-D weft.conv. `pads` is [d0, h0, w0, d1, h1, w1].
mlir::FailureOr<mlir::Value>
convolve3D(ImportContext &ctx, mlir::Value x, mlir::Value w, mlir::Value bias,
           llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> dilations,
           llvm::ArrayRef<int64_t> pads, int64_t group);

/// The exact i32 sums of the 2-D convolution of (x - xZeroPoint) by w on the
/// integer kernels (ImportOptions::integerConvolutions): x uint8 or int8 (shifted
/// to uint8 by 128, its zero point with it) NCHW with
/// a constant scalar zero point (or none), w a constant int8 filter [F, C,
/// KH, KW] whose zero point (if given) is constant zeros, group 1. The
/// input is padded by its zero point (`pads` is [top, left, bottom,
/// right]) and its channels up to a multiple of 4 against zero weights;
/// the output channels, up to a multiple of 4 by zero filters, are sliced
/// back to F; the zero point's share is subtracted per output channel.
/// Null when the integer kernels are off, the operands do not qualify, or
/// a sum could leave i32 (255 x a channel's sum of |w| >= 2^31).
mlir::FailureOr<mlir::Value> integerConvSums(ImportContext &ctx, mlir::Value x,
                                             mlir::Value xZeroPoint, mlir::Value w,
                                             mlir::Value wZeroPoint,
                                             llvm::ArrayRef<int64_t> strides,
                                             llvm::ArrayRef<int64_t> dilations,
                                             llvm::ArrayRef<int64_t> pads);

/// integerConvSums for a depthwise convolution (group C, w [C, 1, KH, KW]):
/// the exact i32 sums of (x - xZeroPoint) * w per channel, on the integer
/// depthwise kernels (widened multiply-adds on uint8 input rows).
mlir::FailureOr<mlir::Value> integerDepthwiseSums(ImportContext &ctx, mlir::Value x,
                                                  mlir::Value xZeroPoint, mlir::Value w,
                                                  mlir::Value wZeroPoint,
                                                  llvm::ArrayRef<int64_t> strides,
                                                  llvm::ArrayRef<int64_t> dilations,
                                                  llvm::ArrayRef<int64_t> pads);

/// The exact i32 product of (a - aZeroPoint) [.., M, K] and a constant int8
/// b [K, N] (b's zero point, if given, constant zeros)
/// on the integer kernels, as a 1x1 integer convolution over one row of M
/// columns (integerConvSums; a uint8 or int8, aZeroPoint one value of its
/// type, constant or not).
/// Null when the integer kernels are off or the operands do not qualify.
mlir::FailureOr<mlir::Value> integerMatMulSums(ImportContext &ctx, mlir::Value a,
                                               mlir::Value aZeroPoint, mlir::Value b,
                                               mlir::Value bZeroPoint);

/// Gives a weft.loop its body block, whose arguments are the iteration (a
/// tensor<i64>), the condition (a tensor<i1>) and one per initial value.
mlir::Block *addLoopBody(weft::LoopOp loop);

/// Binds `var` to the value of `expr`, a FailureOr<Value>, or returns
/// failure from the enclosing function.
#define WEFT_TRY(var, expr)                                                    \
  auto var##OrFailure = (expr);                                                \
  if (failed(var##OrFailure))                                                  \
    return failure();                                                          \
  mlir::Value var = *var##OrFailure

} // namespace weft

#endif // WEFT_COMPILER_IMPORT_IMPORTCONTEXT_H
