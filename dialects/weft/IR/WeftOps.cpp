//===- WeftOps.cpp - weft op verifiers and shape inference ----------------===//
//
// Every graph op infers its static result type from its operands and
// attributes, so the importer never has to trust ONNX value_info, and
// verifiers reject malformed attributes with a message at the op's location
// (the ONNX node name).
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace weft;

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<int64_t>> weft::broadcastShapes(ArrayRef<int64_t> a,
                                                      ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return failure();
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t weft::windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                               int64_t dilation, int64_t padBegin,
                               int64_t padEnd, bool ceilMode) {
  int64_t span = (kernel - 1) * dilation + 1;
  int64_t avail = in + padBegin + padEnd - span;
  if (avail < 0)
    return 0;
  int64_t out = (ceilMode ? (avail + stride - 1) / stride : avail / stride) + 1;
  // A ceil-mode window must start inside the input or its leading padding.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

static LogicalResult emitInferError(std::optional<Location> loc,
                                    const Twine &message) {
  if (loc)
    return emitError(*loc, message);
  return failure();
}

bool weft::isBroadcastElementwise(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, PReluOp, AndOp,
             OrOp, XorOp, ModOp, FModOp, ShlOp, ShrOp, CompareOp, WhereOp>(op);
}

static RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

// Wraps the generic InferTypeOpInterface hook around an adaptor-based body.
#define WEFT_INFER(OP)                                                         \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,      \
      DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,       \
      SmallVectorImpl<Type> &results) {                                        \
    OP::Adaptor adaptor(operands, attrs, props, regions);                      \
    return infer##OP(ctx, loc, adaptor, results);                              \
  }

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

static LogicalResult inferBroadcast(std::optional<Location> loc,
                                    ArrayRef<Value> values, Type elementType,
                                    SmallVectorImpl<Type> &results) {
  SmallVector<int64_t> shape;
  for (Value v : values) {
    auto t = tensorOf(v);
    auto b = broadcastShapes(shape, t.getShape());
    if (failed(b))
      return emitInferError(loc, "operands are not broadcast-compatible");
    shape = *b;
  }
  results.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

template <typename AdaptorT>
static LogicalResult inferBinary(MLIRContext *, std::optional<Location> loc,
                                 AdaptorT adaptor,
                                 SmallVectorImpl<Type> &results) {
  Type lhsElt = tensorOf(adaptor.getLhs()).getElementType();
  if (lhsElt != tensorOf(adaptor.getRhs()).getElementType())
    return emitInferError(loc, "operand element types differ");
  return inferBroadcast(loc, {adaptor.getLhs(), adaptor.getRhs()}, lhsElt,
                        results);
}

#define WEFT_BINARY(OP)                                                        \
  static LogicalResult infer##OP(MLIRContext *c, std::optional<Location> l,    \
                                 OP::Adaptor a, SmallVectorImpl<Type> &r) {    \
    return inferBinary(c, l, a, r);                                            \
  }                                                                            \
  WEFT_INFER(OP)
WEFT_BINARY(AddOp)
WEFT_BINARY(SubOp)
WEFT_BINARY(MulOp)
WEFT_BINARY(DivOp)
WEFT_BINARY(MaxOp)
WEFT_BINARY(MinOp)
WEFT_BINARY(PReluOp)
WEFT_BINARY(AndOp)
WEFT_BINARY(OrOp)
WEFT_BINARY(XorOp)
WEFT_BINARY(ModOp)
WEFT_BINARY(FModOp)
WEFT_BINARY(ShlOp)
WEFT_BINARY(ShrOp)
#undef WEFT_BINARY

// Pow allows different base and exponent types; the result takes the base's.
static LogicalResult inferPowOp(MLIRContext *, std::optional<Location> loc,
                                PowOp::Adaptor a, SmallVectorImpl<Type> &r) {
  return inferBroadcast(loc, {a.getLhs(), a.getRhs()},
                        tensorOf(a.getLhs()).getElementType(), r);
}
WEFT_INFER(PowOp)

static LogicalResult inferCompareOp(MLIRContext *ctx,
                                    std::optional<Location> loc,
                                    CompareOp::Adaptor a,
                                    SmallVectorImpl<Type> &r) {
  if (tensorOf(a.getLhs()).getElementType() !=
      tensorOf(a.getRhs()).getElementType())
    return emitInferError(loc, "operand element types differ");
  return inferBroadcast(loc, {a.getLhs(), a.getRhs()},
                        IntegerType::get(ctx, 1), r);
}
WEFT_INFER(CompareOp)

static LogicalResult inferWhereOp(MLIRContext *, std::optional<Location> loc,
                                  WhereOp::Adaptor a,
                                  SmallVectorImpl<Type> &r) {
  if (!tensorOf(a.getCondition()).getElementType().isInteger(1))
    return emitInferError(loc, "condition must be a tensor of i1");
  Type elt = tensorOf(a.getLhs()).getElementType();
  if (elt != tensorOf(a.getRhs()).getElementType())
    return emitInferError(loc, "value operand element types differ");
  return inferBroadcast(loc, {a.getCondition(), a.getLhs(), a.getRhs()}, elt,
                        r);
}
WEFT_INFER(WhereOp)

LogicalResult ClipOp::verify() {
  Type elt = getInput().getType().getElementType();
  auto lo = getMin(), hi = getMax();
  if (lo.getType() != elt || hi.getType() != elt)
    return emitOpError("bounds must have the element type ")
           << elt << ", got " << lo.getType() << " and " << hi.getType();
  if (auto flo = dyn_cast<FloatAttr>(lo)) {
    auto fhi = dyn_cast<FloatAttr>(hi);
    if (!fhi)
      return emitOpError("bounds must both be float attributes");
    if (flo.getValue() > fhi.getValue())
      return emitOpError("min ") << flo.getValueAsDouble()
                                 << " is greater than max "
                                 << fhi.getValueAsDouble();
    return success();
  }
  auto ilo = dyn_cast<IntegerAttr>(lo), ihi = dyn_cast<IntegerAttr>(hi);
  if (!ilo || !ihi)
    return emitOpError("bounds must be float or integer attributes");
  bool isUnsigned = elt.isUnsignedInteger();
  const APInt &a = ilo.getValue(), &b = ihi.getValue();
  if (isUnsigned ? a.ugt(b) : a.sgt(b))
    return emitOpError("min ") << (isUnsigned ? a.getZExtValue() : a.getSExtValue())
                               << " is greater than max "
                               << (isUnsigned ? b.getZExtValue() : b.getSExtValue());
  return success();
}

LogicalResult CastOp::verify() {
  if (getInput().getType().getShape() != getOutput().getType().getShape())
    return emitOpError("input and output shapes differ");
  Type out = getOutput().getType().getElementType();
  if (getNoSaturate() && (!isa<FloatType>(out) || out.getIntOrFloatBitWidth() != 8))
    return emitOpError("no_saturate needs an 8-bit float result");
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

static LogicalResult inferMatMulOp(MLIRContext *, std::optional<Location> loc,
                                   MatMulOp::Adaptor a,
                                   SmallVectorImpl<Type> &r) {
  auto lhs = tensorOf(a.getLhs()), rhs = tensorOf(a.getRhs());
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitInferError(loc, "matmul operands must have rank >= 2");
  if (lhs.getElementType() != rhs.getElementType())
    return emitInferError(loc, "operand element types differ");
  int64_t m = lhs.getShape()[lhs.getRank() - 2];
  int64_t k = lhs.getShape().back();
  int64_t k2 = rhs.getShape()[rhs.getRank() - 2];
  int64_t n = rhs.getShape().back();
  if (k != k2)
    return emitInferError(loc, "matmul contraction sizes differ");
  auto batch = broadcastShapes(lhs.getShape().drop_back(2),
                               rhs.getShape().drop_back(2));
  if (failed(batch))
    return emitInferError(loc, "batch dimensions are not broadcast-compatible");
  SmallVector<int64_t> shape = *batch;
  shape.push_back(m);
  shape.push_back(n);
  r.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}
WEFT_INFER(MatMulOp)

static LogicalResult inferGemmOp(MLIRContext *, std::optional<Location> loc,
                                 GemmOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto at = tensorOf(a.getA()), bt = tensorOf(a.getB());
  if (at.getRank() != 2 || bt.getRank() != 2)
    return emitInferError(loc, "gemm operands A and B must be 2-D");
  int64_t m = at.getShape()[a.getTransA() ? 1 : 0];
  int64_t k = at.getShape()[a.getTransA() ? 0 : 1];
  int64_t k2 = bt.getShape()[a.getTransB() ? 1 : 0];
  int64_t n = bt.getShape()[a.getTransB() ? 0 : 1];
  if (k != k2)
    return emitInferError(loc, "gemm contraction sizes differ");
  r.push_back(RankedTensorType::get({m, n}, at.getElementType()));
  return success();
}
WEFT_INFER(GemmOp)

LogicalResult GemmOp::verify() {
  if (Value c = getC()) {
    auto b = broadcastShapes(getOutput().getType().getShape(),
                             tensorOf(c).getShape());
    if (failed(b) || ArrayRef<int64_t>(*b) != getOutput().getType().getShape())
      return emitOpError("C does not broadcast to the result shape");
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Windows: conv and pooling
//===----------------------------------------------------------------------===//

static LogicalResult checkWindowAttrs(Operation *op, ArrayRef<int64_t> strides,
                                      ArrayRef<int64_t> dilations,
                                      ArrayRef<int64_t> pads) {
  if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
    return op->emitOpError(
        "expects 2 strides, 2 dilations and 4 pads (2-D windows only)");
  if (llvm::any_of(strides, [](int64_t s) { return s <= 0; }) ||
      llvm::any_of(dilations, [](int64_t d) { return d <= 0; }))
    return op->emitOpError("strides and dilations must be positive");
  if (llvm::any_of(pads, [](int64_t p) { return p < 0; }))
    return op->emitOpError("pads must be non-negative");
  return success();
}

/// Where each dimension of a convolution's input and filter is.
ConvDims weft::convDims(bool channelsLast, int64_t filterRank) {
  if (channelsLast && (filterRank == 5 || filterRank == 6))
    return ConvDims{/*c=*/3, /*h=*/1, /*w=*/2, /*f=*/0, /*fc=*/3, /*kh=*/1, /*kw=*/2};
  if (channelsLast)
    return ConvDims{/*c=*/3, /*h=*/1, /*w=*/2, /*f=*/3, /*fc=*/2, /*kh=*/0, /*kw=*/1};
  return ConvDims{/*c=*/1, /*h=*/2, /*w=*/3, /*f=*/0, /*fc=*/1, /*kh=*/2, /*kw=*/3};
}

int64_t weft::convOutputChannels(ArrayRef<int64_t> filterShape, bool channelsLast) {
  if (filterShape.size() == 5 || filterShape.size() == 6)
    return filterShape[0] * filterShape[4];
  return filterShape[convDims(channelsLast).f];
}

static LogicalResult inferConvOp(MLIRContext *, std::optional<Location> loc,
                                 ConvOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto in = tensorOf(a.getInput()), w = tensorOf(a.getFilter());
  bool blocked = a.getChannelsLast() && (w.getRank() == 5 || w.getRank() == 6);
  if (in.getRank() != 4 || (w.getRank() != 4 && !blocked))
    return emitInferError(loc, "conv supports 2-D (rank-4 NCHW) inputs only");
  ArrayRef<int64_t> s = a.getStrides(), d = a.getDilations(), p = a.getPads();
  if (s.size() != 2 || d.size() != 2 || p.size() != 4)
    return emitInferError(loc, "conv expects 2 strides, 2 dilations, 4 pads");
  ConvDims cd = convDims(a.getChannelsLast(), w.getRank());
  int64_t oh = windowOutputSize(in.getShape()[cd.h], w.getShape()[cd.kh], s[0],
                                d[0], p[0], p[2], false);
  int64_t ow = windowOutputSize(in.getShape()[cd.w], w.getShape()[cd.kw], s[1],
                                d[1], p[1], p[3], false);
  int64_t n = in.getShape()[0];
  int64_t f = convOutputChannels(w.getShape(), a.getChannelsLast());
  SmallVector<int64_t> shape = a.getChannelsLast()
                                   ? SmallVector<int64_t>{n, oh, ow, f}
                                   : SmallVector<int64_t>{n, f, oh, ow};
  // A blocked filter gives a blocked output: [N, OH, OW, F/B, B].
  if (blocked)
    shape = {n, oh, ow, w.getShape()[0], w.getShape()[4]};
  // An 8-bit integer convolution accumulates in i32.
  Type elt = in.getElementType();
  if (isa<IntegerType>(elt))
    elt = IntegerType::get(elt.getContext(), 32);
  r.push_back(RankedTensorType::get(shape, elt));
  return success();
}
WEFT_INFER(ConvOp)

LogicalResult ConvOp::verify() {
  if (failed(checkWindowAttrs(*this, getStrides(), getDilations(), getPads())))
    return failure();
  auto in = getInput().getType(), w = getFilter().getType();
  bool integer = isa<IntegerType>(in.getElementType());
  bool blocked = getChannelsLast() && (w.getRank() == 5 || (integer && w.getRank() == 6));
  if (in.getRank() != 4 || (w.getRank() != 4 && !blocked))
    return emitOpError(getChannelsLast()
                           ? "expects rank-4 NHWC input and HWCF (or blocked) filter"
                           : "expects rank-4 NCHW input and FCHW filter");
  // A grouped blocked filter: every block lies in one group.
  if (blocked && getGroup() != 1 &&
      (integer || getGroup() <= 0 || w.getShape()[0] % getGroup() != 0))
    return emitOpError("a blocked filter's group must divide its blocks (and integer "
                       "convolutions have group 1)");
  if (integer || isa<IntegerType>(w.getElementType())) {
    // The integer form: uint8 input, int8 filter, exact i32 sums.
    if (!in.getElementType().isUnsignedInteger(8) || !w.getElementType().isSignlessInteger(8))
      return emitOpError("an integer convolution takes a ui8 input and an i8 filter");
    // Group 1, or depthwise (one input channel per group, one filter each).
    ConvDims dims = convDims(getChannelsLast(), w.getRank());
    int64_t channels = in.getShape()[dims.c];
    bool depthwise = w.getRank() == 4 && (int64_t)getGroup() == channels &&
                     convOutputChannels(w.getShape(), getChannelsLast()) == channels &&
                     w.getShape()[dims.fc] == 1;
    if ((getGroup() != 1 && !depthwise) || getBias())
      return emitOpError("an integer convolution has group 1 (or is depthwise) and no bias");
    if (w.getRank() == 6 && w.getShape()[5] != 4)
      return emitOpError("a rank-6 filter holds groups of 4 input channels");
  }
  ConvDims cd = convDims(getChannelsLast(), w.getRank());
  int64_t g = getGroup();
  int64_t c = in.getShape()[cd.c];
  if (w.getRank() == 6) {
    if (c != 4 * w.getShape()[cd.fc])
      return emitOpError("filter expects ")
             << 4 * w.getShape()[cd.fc] << " input channels but the input has " << c;
    return success();
  }
  int64_t f = convOutputChannels(w.getShape(), getChannelsLast());
  if (g <= 0 || c % g != 0 || f % g != 0)
    return emitOpError("group ") << g << " does not divide the channels";
  if (c / g != w.getShape()[cd.fc])
    return emitOpError("filter expects ")
           << w.getShape()[cd.fc] * g << " input channels but the input has " << c;
  if (Value b = getBias())
    if (tensorOf(b).getRank() != 1 || tensorOf(b).getShape()[0] != f)
      return emitOpError("bias must be 1-D with one value per output channel");
  return success();
}

static LogicalResult inferPoolOp(MLIRContext *, std::optional<Location> loc,
                                 PoolOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto in = tensorOf(a.getInput());
  ArrayRef<int64_t> k = a.getKernel(), s = a.getStrides(),
                    d = a.getDilations(), p = a.getPads();
  if (in.getRank() != 4 || k.size() != 2 || s.size() != 2 || d.size() != 2 ||
      p.size() != 4)
    return emitInferError(loc, "pool supports 2-D (rank-4 NCHW) inputs only");
  bool ceil = a.getCeilMode();
  ConvDims cd = convDims(a.getChannelsLast());
  int64_t oh = windowOutputSize(in.getShape()[cd.h], k[0], s[0], d[0], p[0], p[2],
                                ceil);
  int64_t ow = windowOutputSize(in.getShape()[cd.w], k[1], s[1], d[1], p[1], p[3],
                                ceil);
  int64_t n = in.getShape()[0], c = in.getShape()[cd.c];
  SmallVector<int64_t> shape = a.getChannelsLast() ? SmallVector<int64_t>{n, oh, ow, c}
                                                   : SmallVector<int64_t>{n, c, oh, ow};
  r.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}
WEFT_INFER(PoolOp)

LogicalResult PoolOp::verify() {
  if (getKernel().size() != 2 ||
      llvm::any_of(getKernel(), [](int64_t k) { return k <= 0; }))
    return emitOpError("kernel must hold two positive sizes");
  return checkWindowAttrs(*this, getStrides(), getDilations(), getPads());
}

static LogicalResult inferBatchNormOp(MLIRContext *,
                                      std::optional<Location> loc,
                                      BatchNormOp::Adaptor a,
                                      SmallVectorImpl<Type> &r) {
  auto in = tensorOf(a.getInput());
  if (in.getRank() < 2)
    return emitInferError(loc, "batch_norm input must have rank >= 2");
  for (Value v : {a.getScale(), a.getBias(), a.getMean(), a.getVariance()})
    if (tensorOf(v).getRank() != 1 ||
        tensorOf(v).getShape()[0] != in.getShape()[1])
      return emitInferError(loc, "batch_norm parameters must be 1-D of size C");
  r.push_back(in);
  return success();
}
WEFT_INFER(BatchNormOp)

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t axis = static_cast<int64_t>(getAxis());
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for rank " << rank;
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  int64_t rank = in.getRank();
  int64_t axis = static_cast<int64_t>(getAxis());
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for rank " << rank;
  if (getOutput().getType() != in)
    return emitOpError("result type must be the input type");
  ArrayRef<int64_t> normalized = in.getShape().drop_front(axis);
  for (Value v : {getScale(), getBias()}) {
    if (!v)
      continue;
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getElementType() != in.getElementType())
      return emitOpError("scale and bias must have the input's element type");
    if (t.getRank() > (int64_t)normalized.size())
      return emitOpError("scale and bias must not have more dimensions than the ")
             << normalized.size() << " normalized ones";
    ArrayRef<int64_t> tail = normalized.take_back(t.getRank());
    for (auto [d, n] : llvm::zip(t.getShape(), tail))
      if (d != 1 && d != n)
        return emitOpError("scale and bias dimensions must be 1 or those of the "
                           "normalized dimensions they align with");
  }
  return success();
}

static SmallVector<int64_t> reducedShape(ArrayRef<int64_t> shape,
                                         ArrayRef<int64_t> axes, bool keep) {
  SmallVector<int64_t> out;
  for (auto [i, d] : llvm::enumerate(shape)) {
    bool reduced = axes.empty() || llvm::is_contained(axes, (int64_t)i);
    if (!reduced)
      out.push_back(d);
    else if (keep)
      out.push_back(1);
  }
  return out;
}

static LogicalResult inferReduceOp(MLIRContext *, std::optional<Location> loc,
                                   ReduceOp::Adaptor a,
                                   SmallVectorImpl<Type> &r) {
  auto in = tensorOf(a.getInput());
  r.push_back(RankedTensorType::get(
      reducedShape(in.getShape(), a.getAxes(), a.getKeepdims()),
      in.getElementType()));
  return success();
}
WEFT_INFER(ReduceOp)

LogicalResult ReduceOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t prev = -1;
  for (int64_t axis : getAxes()) {
    if (axis <= prev || axis >= rank)
      return emitOpError("axes must be sorted, unique and in [0, ")
             << rank << ")";
    prev = axis;
  }
  return success();
}

template <typename AdaptorT>
static LogicalResult inferArg(std::optional<Location> loc, AdaptorT a,
                              SmallVectorImpl<Type> &r) {
  auto in = tensorOf(a.getInput());
  int64_t axis = a.getAxis();
  if (axis < 0 || axis >= in.getRank())
    return emitInferError(loc, "axis out of range for the input's rank");
  if (in.getShape()[axis] == 0)
    return emitInferError(loc, "the reduced axis is empty");
  SmallVector<int64_t> shape(in.getShape());
  shape.erase(shape.begin() + axis);
  r.push_back(RankedTensorType::get(shape, IntegerType::get(in.getContext(), 64)));
  return success();
}

#define WEFT_ARG(OP)                                                           \
  static LogicalResult infer##OP(MLIRContext *, std::optional<Location> l,     \
                                 OP::Adaptor a, SmallVectorImpl<Type> &r) {    \
    return inferArg(l, a, r);                                                  \
  }                                                                            \
  WEFT_INFER(OP)                                                               \
  LogicalResult OP::verify() {                                                 \
    SmallVector<Type> types;                                                   \
    return inferArg(getLoc(), Adaptor(*this), types);                          \
  }
WEFT_ARG(ArgMaxOp)
WEFT_ARG(ArgMinOp)
#undef WEFT_ARG

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getOutput().getType();
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ")
           << in.getNumElements() << " elements into " << out;
  if (in.getElementType() != out.getElementType())
    return emitOpError("element type must not change");
  return success();
}

static LogicalResult inferTransposeOp(MLIRContext *,
                                      std::optional<Location> loc,
                                      TransposeOp::Adaptor a,
                                      SmallVectorImpl<Type> &r) {
  auto in = tensorOf(a.getInput());
  ArrayRef<int64_t> perm = a.getPerm();
  if ((int64_t)perm.size() != in.getRank())
    return emitInferError(loc, "perm size must equal the input rank");
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= in.getRank())
      return emitInferError(loc, "perm entry out of range");
    shape.push_back(in.getShape()[p]);
  }
  r.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}
WEFT_INFER(TransposeOp)

LogicalResult TransposeOp::verify() {
  int64_t rank = getPerm().size();
  SmallVector<bool> seen(rank, false);
  for (int64_t p : getPerm()) {
    if (p < 0 || p >= rank)
      return emitOpError("perm entry ") << p << " is out of range for rank " << rank;
    if (seen[p])
      return emitOpError("perm is not a permutation");
    seen[p] = true;
  }
  return success();
}

static LogicalResult inferConcatOp(MLIRContext *, std::optional<Location> loc,
                                   ConcatOp::Adaptor a,
                                   SmallVectorImpl<Type> &r) {
  if (a.getInputs().empty())
    return emitInferError(loc, "concat needs at least one input");
  auto first = tensorOf(a.getInputs()[0]);
  int64_t axis = a.getAxis();
  if (axis < 0 || axis >= first.getRank())
    return emitInferError(loc, "concat axis out of range");
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : a.getInputs()) {
    auto t = tensorOf(v);
    if (t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return emitInferError(loc, "concat inputs differ in rank or type");
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (i != axis && t.getShape()[i] != first.getShape()[i])
        return emitInferError(loc, "concat inputs differ off the axis");
    shape[axis] += t.getShape()[axis];
  }
  r.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}
WEFT_INFER(ConcatOp)

LogicalResult ConcatOp::verify() { return success(); }

static LogicalResult inferPadOp(MLIRContext *, std::optional<Location> loc,
                                PadOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto in = tensorOf(a.getInput());
  if ((int64_t)a.getLow().size() != in.getRank() ||
      (int64_t)a.getHigh().size() != in.getRank())
    return emitInferError(loc, "pad needs low/high per dimension");
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < in.getRank(); ++i)
    shape.push_back(in.getShape()[i] + a.getLow()[i] + a.getHigh()[i]);
  r.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}
WEFT_INFER(PadOp)

LogicalResult PadOp::verify() {
  if (llvm::any_of(getLow(), [](int64_t v) { return v < 0; }) ||
      llvm::any_of(getHigh(), [](int64_t v) { return v < 0; }))
    return emitOpError("negative padding is not supported");
  Type elt = getInput().getType().getElementType();
  if (getValue().getType() != elt || !isa<IntegerAttr, FloatAttr>(getValue()))
    return emitOpError("pad value must be a scalar of the element type ")
           << elt << ", got " << getValue();
  return success();
}

//===----------------------------------------------------------------------===//
// Gathers
//===----------------------------------------------------------------------===//

static LogicalResult checkIndices(std::optional<Location> loc, RankedTensorType indices) {
  Type e = indices.getElementType();
  if (!e.isSignlessInteger(32) && !e.isSignlessInteger(64))
    return emitInferError(loc, "indices must be i32 or i64");
  return success();
}

/// GatherElements/ScatterElements: indices no larger than the data off the
/// axis, and none into an empty axis.
static LogicalResult checkElementIndices(std::optional<Location> loc, RankedTensorType data,
                                         RankedTensorType indices, int64_t axis) {
  for (int64_t d = 0; d < data.getRank(); ++d)
    if (d != axis && indices.getShape()[d] > data.getShape()[d])
      return emitInferError(loc, "indices dimension " + Twine(d) + " (" +
                                     Twine(indices.getShape()[d]) + ") exceeds the data's (" +
                                     Twine(data.getShape()[d]) + ")");
  if (data.getShape()[axis] == 0 && indices.getNumElements() != 0)
    return emitInferError(loc, "indices into an empty axis");
  return success();
}

static LogicalResult inferGatherOp(MLIRContext *, std::optional<Location> loc,
                                   GatherOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto data = tensorOf(a.getData()), indices = tensorOf(a.getIndices());
  if (failed(checkIndices(loc, indices)))
    return failure();
  int64_t axis = a.getAxis();
  if (axis < 0 || axis >= data.getRank())
    return emitInferError(loc, "axis out of range for the data's rank");
  if (data.getShape()[axis] == 0 && indices.getNumElements() != 0)
    return emitInferError(loc, "indices into an empty axis");
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  r.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}
WEFT_INFER(GatherOp)
LogicalResult GatherOp::verify() {
  // The shape rules, with their messages at the op.
  SmallVector<Type> types;
  return inferGatherOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferGatherElementsOp(MLIRContext *, std::optional<Location> loc,
                                           GatherElementsOp::Adaptor a,
                                           SmallVectorImpl<Type> &r) {
  auto data = tensorOf(a.getData()), indices = tensorOf(a.getIndices());
  if (failed(checkIndices(loc, indices)))
    return failure();
  int64_t axis = a.getAxis();
  if (data.getRank() != indices.getRank())
    return emitInferError(loc, "data and indices must have the same rank");
  if (axis < 0 || axis >= data.getRank())
    return emitInferError(loc, "axis out of range for the data's rank");
  if (failed(checkElementIndices(loc, data, indices, axis)))
    return failure();
  r.push_back(RankedTensorType::get(indices.getShape(), data.getElementType()));
  return success();
}
WEFT_INFER(GatherElementsOp)
LogicalResult GatherElementsOp::verify() {
  // The shape rules, with their messages at the op.
  SmallVector<Type> types;
  return inferGatherElementsOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferScatterNDOp(MLIRContext *, std::optional<Location> loc,
                                      ScatterNDOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto data = tensorOf(a.getData()), indices = tensorOf(a.getIndices());
  auto updates = tensorOf(a.getUpdates());
  if (failed(checkIndices(loc, indices)))
    return failure();
  int64_t q = indices.getRank();
  if (q < 1)
    return emitInferError(loc, "indices must have rank >= 1");
  int64_t k = indices.getShape().back();
  if (k < 1 || k > data.getRank())
    return emitInferError(loc, "the index tuple length (the indices' last dimension) must "
                               "be in [1, data rank]");
  if (updates.getElementType() != data.getElementType())
    return emitInferError(loc, "updates must have the data's element type");
  SmallVector<int64_t> expect(indices.getShape().drop_back());
  llvm::append_range(expect, data.getShape().drop_front(k));
  if (updates.getShape() != ArrayRef<int64_t>(expect))
    return emitInferError(loc, "updates must have shape indices.shape[:-1] + data.shape[k:]");
  for (int64_t d = 0; d < k; ++d)
    if (data.getShape()[d] == 0 && updates.getNumElements() != 0)
      return emitInferError(loc, "indices into an empty dimension");
  r.push_back(data);
  return success();
}
WEFT_INFER(ScatterNDOp)
LogicalResult ScatterNDOp::verify() {
  SmallVector<Type> types;
  return inferScatterNDOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferScatterElementsOp(MLIRContext *, std::optional<Location> loc,
                                            ScatterElementsOp::Adaptor a,
                                            SmallVectorImpl<Type> &r) {
  auto data = tensorOf(a.getData()), indices = tensorOf(a.getIndices());
  auto updates = tensorOf(a.getUpdates());
  if (failed(checkIndices(loc, indices)))
    return failure();
  int64_t axis = a.getAxis();
  if (data.getRank() != indices.getRank())
    return emitInferError(loc, "data and indices must have the same rank");
  if (axis < 0 || axis >= data.getRank())
    return emitInferError(loc, "axis out of range for the data's rank");
  if (updates.getShape() != indices.getShape())
    return emitInferError(loc, "updates must have the indices' shape");
  if (updates.getElementType() != data.getElementType())
    return emitInferError(loc, "updates must have the data's element type");
  if (failed(checkElementIndices(loc, data, indices, axis)))
    return failure();
  r.push_back(data);
  return success();
}
WEFT_INFER(ScatterElementsOp)
LogicalResult ScatterElementsOp::verify() {
  SmallVector<Type> types;
  return inferScatterElementsOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferTopKOp(MLIRContext *ctx, std::optional<Location> loc,
                                 TopKOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto input = tensorOf(a.getInput());
  int64_t axis = a.getAxis(), k = a.getK();
  if (axis < 0 || axis >= input.getRank())
    return emitInferError(loc, "axis out of range for the input's rank");
  if (k < 0 || k > input.getShape()[axis])
    return emitInferError(loc, "k (" + Twine(k) + ") must be in [0, " +
                                   Twine(input.getShape()[axis]) + "]");
  SmallVector<int64_t> shape(input.getShape());
  shape[axis] = k;
  r.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 64)));
  return success();
}
WEFT_INFER(TopKOp)
LogicalResult TopKOp::verify() {
  SmallVector<Type> types;
  return inferTopKOp(getContext(), getLoc(), Adaptor(*this), types);
}

static bool isScalarOf(RankedTensorType t, Type elt) {
  return t.getRank() == 0 && t.getElementType() == elt;
}

/// `dims` name increasing dims of a tensor of `rank`, one per i64 scalar of
/// `extents`.
static LogicalResult checkExtents(MLIRContext *ctx, std::optional<Location> loc, int64_t rank,
                                  ArrayRef<int64_t> dims, ValueRange extents) {
  if (dims.size() != extents.size())
    return emitInferError(loc, "needs one extent per dim");
  for (auto [k, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= rank || (k && dims[k - 1] >= d))
      return emitInferError(loc, "dims must be increasing dims of the input");
    if (!isScalarOf(tensorOf(extents[k]), IntegerType::get(ctx, 64)))
      return emitInferError(loc, "each extent must be an i64 scalar");
  }
  return success();
}

static LogicalResult inferNonZeroOp(MLIRContext *ctx, std::optional<Location> loc,
                                    NonZeroOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto input = tensorOf(a.getInput());
  if (failed(checkExtents(ctx, loc, input.getRank(), a.getDims(), a.getExtents())))
    return failure();
  int64_t rank = std::max<int64_t>(input.getRank(), 1);
  r.push_back(RankedTensorType::get({rank + 1, std::max<int64_t>(input.getNumElements(), 1)},
                                    IntegerType::get(ctx, 64)));
  return success();
}
WEFT_INFER(NonZeroOp)
LogicalResult NonZeroOp::verify() {
  SmallVector<Type> types;
  return inferNonZeroOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferNonMaxSuppressionOp(MLIRContext *ctx, std::optional<Location> loc,
                                              NonMaxSuppressionOp::Adaptor a,
                                              SmallVectorImpl<Type> &r) {
  auto boxes = tensorOf(a.getBoxes()), scores = tensorOf(a.getScores());
  Type f32 = Float32Type::get(ctx), i64 = IntegerType::get(ctx, 64);
  if (boxes.getRank() != 3 || boxes.getShape()[2] != 4 || !boxes.getElementType().isF32())
    return emitInferError(loc, "boxes must be f32 [B, N, 4]");
  if (scores.getRank() != 3 || !scores.getElementType().isF32() ||
      scores.getShape()[0] != boxes.getShape()[0] || scores.getShape()[2] != boxes.getShape()[1])
    return emitInferError(loc, "scores must be f32 [B, C, N] for boxes [B, N, 4]");
  if (!isScalarOf(tensorOf(a.getNumBoxes()), i64) || !isScalarOf(tensorOf(a.getMaxPerClass()), i64) ||
      !isScalarOf(tensorOf(a.getIouThreshold()), f32) ||
      !isScalarOf(tensorOf(a.getScoreThreshold()), f32))
    return emitInferError(
        loc, "num_boxes and max_per_class must be i64 scalars and the thresholds f32 scalars");
  int64_t bound = a.getBoundPerClass();
  if (bound < 0 || bound > boxes.getShape()[1])
    return emitInferError(loc, "bound_per_class must be in [0, N]");
  int64_t rows = boxes.getShape()[0] * scores.getShape()[1] * bound + 1;
  r.push_back(RankedTensorType::get({rows, 3}, i64));
  return success();
}
WEFT_INFER(NonMaxSuppressionOp)
LogicalResult NonMaxSuppressionOp::verify() {
  SmallVector<Type> types;
  return inferNonMaxSuppressionOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferUniqueOp(MLIRContext *ctx, std::optional<Location> loc,
                                   UniqueOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto input = tensorOf(a.getInput());
  int64_t axis = a.getAxis();
  if (axis < 0 || axis >= input.getRank())
    return emitInferError(loc, "axis out of range for the input's rank");
  r.push_back(RankedTensorType::get({4, std::max<int64_t>(input.getShape()[axis], 1)},
                                    IntegerType::get(ctx, 64)));
  return success();
}
WEFT_INFER(UniqueOp)
LogicalResult UniqueOp::verify() {
  SmallVector<Type> types;
  return inferUniqueOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferCompactOp(MLIRContext *ctx, std::optional<Location> loc,
                                    CompactOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto input = tensorOf(a.getInput());
  if (a.getDims().empty())
    return emitInferError(loc, "needs at least one dim");
  if (failed(checkExtents(ctx, loc, input.getRank(), a.getDims(), a.getExtents())))
    return failure();
  r.push_back(input);
  return success();
}
WEFT_INFER(CompactOp)
LogicalResult CompactOp::verify() {
  SmallVector<Type> types;
  return inferCompactOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferGatherNDOp(MLIRContext *, std::optional<Location> loc,
                                     GatherNDOp::Adaptor a, SmallVectorImpl<Type> &r) {
  auto data = tensorOf(a.getData()), indices = tensorOf(a.getIndices());
  if (failed(checkIndices(loc, indices)))
    return failure();
  int64_t b = a.getBatchDims(), q = indices.getRank();
  if (q < 1 || b < 0 || b >= q || b >= data.getRank())
    return emitInferError(loc, "batch_dims must be below both ranks");
  int64_t k = indices.getShape().back();
  if (k < 1 || b + k > data.getRank())
    return emitInferError(loc, "the index tuple length (the indices' last "
                               "dimension) must be in [1, data rank - batch_dims]");
  for (int64_t d = 0; d < b; ++d)
    if (indices.getShape()[d] != data.getShape()[d])
      return emitInferError(loc, "batch dimension " + Twine(d) +
                                     " differs between data and indices");
  for (int64_t d = b; d < b + k; ++d)
    if (data.getShape()[d] == 0 && indices.getNumElements() != 0)
      return emitInferError(loc, "indices into an empty dimension");
  SmallVector<int64_t> shape(indices.getShape().drop_back());
  llvm::append_range(shape, data.getShape().drop_front(b + k));
  r.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}
WEFT_INFER(GatherNDOp)
LogicalResult GatherNDOp::verify() {
  // The shape rules, with their messages at the op.
  SmallVector<Type> types;
  return inferGatherNDOp(getContext(), getLoc(), Adaptor(*this), types);
}

static LogicalResult inferSliceOp(MLIRContext *, std::optional<Location> loc,
                                  SliceOp::Adaptor a,
                                  SmallVectorImpl<Type> &r) {
  auto in = tensorOf(a.getInput());
  r.push_back(RankedTensorType::get(a.getSizes(), in.getElementType()));
  return success();
}
WEFT_INFER(SliceOp)

LogicalResult SliceOp::verify() {
  auto in = getInput().getType();
  int64_t rank = in.getRank();
  if ((int64_t)getStarts().size() != rank || (int64_t)getSizes().size() != rank ||
      (int64_t)getSteps().size() != rank)
    return emitOpError("starts, sizes and steps need one entry per dimension");
  for (int64_t i = 0; i < rank; ++i) {
    int64_t start = getStarts()[i], size = getSizes()[i], step = getSteps()[i];
    if (step == 0 || size < 0)
      return emitOpError("invalid step or size in dimension ") << i;
    if (size == 0)
      continue;
    int64_t last = start + (size - 1) * step;
    if (start < 0 || start >= in.getShape()[i] || last < 0 ||
        last >= in.getShape()[i])
      return emitOpError("slice leaves the input in dimension ") << i;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Dispatch regions
//===----------------------------------------------------------------------===//

void DispatchOp::build(OpBuilder &builder, OperationState &state,
                       TypeRange resultTypes, ValueRange inputs) {
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value v : inputs)
    block->addArgument(v.getType(), v.getLoc());
}

LogicalResult DispatchOp::verify() {
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError("body must take one argument per input");
  for (auto [arg, in] : llvm::zip(block.getArguments(), getInputs()))
    if (arg.getType() != in.getType())
      return emitOpError("body argument types must match the inputs");
  auto yield = cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yielded types must match the results");
  return success();
}

LogicalResult IfOp::verify() {
  auto ct = cast<RankedTensorType>(getCondition().getType());
  if (!ct.getElementType().isInteger(1) || !ct.hasStaticShape() ||
      ct.getNumElements() != 1)
    return emitOpError("condition must be a tensor holding one i1, got ") << ct;
  for (Region *region : {&getThenRegion(), &getElseRegion()}) {
    auto yield = dyn_cast<YieldOp>(region->front().getTerminator());
    if (!yield)
      return emitOpError("each region must end in weft.yield");
    if (yield.getValues().getTypes() != getResultTypes())
      return emitOpError("yielded types must match the results");
  }
  return success();
}

SmallVector<Region *> LoopOp::getLoopRegions() { return {&getBody()}; }

Block::BlockArgListType LoopOp::getRegionIterArgs() {
  return getBody().front().getArguments().drop_front(2);
}

std::optional<MutableArrayRef<OpOperand>> LoopOp::getYieldedValuesMutable() {
  auto yield = cast<YieldOp>(getBody().front().getTerminator());
  return yield->getOpOperands().slice(1, getInits().size());
}

std::optional<ResultRange> LoopOp::getLoopResults() {
  return getResults().take_front(getInits().size());
}

LogicalResult LoopOp::verify() {
  auto oneOf = [](Type t, auto isElement) {
    auto rt = dyn_cast<RankedTensorType>(t);
    return rt && rt.hasStaticShape() && rt.getNumElements() == 1 &&
           isElement(rt.getElementType());
  };
  auto isI64 = [](Type e) { return e.isInteger(64); };
  auto isI1 = [](Type e) { return e.isInteger(1); };
  if (!oneOf(getMaxTrips().getType(), isI64))
    return emitOpError("max_trips must be a tensor holding one i64, got ")
           << getMaxTrips().getType();
  if (!oneOf(getCondition().getType(), isI1))
    return emitOpError("condition must be a tensor holding one i1, got ")
           << getCondition().getType();
  Block &block = getBody().front();
  size_t numCarried = getInits().size();
  if (getNumResults() < numCarried)
    return emitOpError("needs a result for every carried value");
  if (block.getNumArguments() != numCarried + 2)
    return emitOpError("body must take the iteration, the condition and one argument per "
                       "carried value");
  if (!oneOf(block.getArgument(0).getType(), isI64) ||
      !oneOf(block.getArgument(1).getType(), isI1))
    return emitOpError("body's first arguments must hold one i64 (the iteration) and one i1 "
                       "(the condition)");
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return emitOpError("body must end in weft.yield");
  unsigned numScans = getNumScans();
  if (yield.getValues().size() != 1 + numCarried + numScans)
    return emitOpError("body must yield the condition, the carried values and one slice per "
                       "scan result");
  if (!oneOf(yield.getValues()[0].getType(), isI1))
    return emitOpError("the yielded condition must hold one i1");
  for (size_t i = 0; i < numCarried; ++i) {
    Type t = getInits()[i].getType();
    if (block.getArgument(2 + i).getType() != t || yield.getValues()[1 + i].getType() != t ||
        getResult(i).getType() != t)
      return emitOpError("carried value #") << i << " must keep the type " << t
                                            << " in the body's argument, its yield and the result";
  }
  for (unsigned k = 0; k < numScans; ++k) {
    auto slice = cast<RankedTensorType>(yield.getValues()[1 + numCarried + k].getType());
    auto stacked = cast<RankedTensorType>(getResult(numCarried + k).getType());
    if (stacked.getRank() != slice.getRank() + 1 || stacked.isDynamicDim(0) ||
        stacked.getShape().drop_front() != slice.getShape() ||
        stacked.getElementType() != slice.getElementType())
      return emitOpError("scan result #") << k << " must stack slices of type " << slice
                                          << " along a new static first axis, got " << stacked;
    if (stacked.getDimSize(0) !=
        cast<RankedTensorType>(getResult(numCarried).getType()).getDimSize(0))
      return emitOpError("scan results must all have one length");
  }
  return success();
}

namespace {
/// A condition that became a constant (after folding) keeps one region:
/// its ops move before the if, which is replaced by the yielded values.
struct InlineConstantIf : OpRewritePattern<IfOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(IfOp op, PatternRewriter &rewriter) const override {
    DenseElementsAttr cond;
    if (!matchPattern(op.getCondition(), m_Constant(&cond)))
      return failure();
    bool taken = *cond.getValues<bool>().begin();
    Block &block = (taken ? op.getThenRegion() : op.getElseRegion()).front();
    auto yield = cast<YieldOp>(block.getTerminator());
    SmallVector<Value> values(yield.getValues());
    rewriter.eraseOp(yield);
    rewriter.inlineBlockBefore(&block, op);
    rewriter.replaceOp(op, values);
    return success();
  }
};
} // namespace

void IfOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<InlineConstantIf>(ctx);
}

#define GET_OP_CLASSES
#include "dialects/weft/IR/WeftOps.cpp.inc"
