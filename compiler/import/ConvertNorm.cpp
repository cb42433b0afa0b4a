//===- ConvertNorm.cpp - normalization, softmax and losses -> weft --------===//
//
// BatchNormalization (inference), Softmax/LogSoftmax, LayerNormalization,
// InstanceNormalization, GroupNormalization, MeanVarianceNormalization,
// LRN, NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, built from
// weft reductions and elementwise ops (or weft.batch_norm, weft.softmax and
// weft.layer_norm where one op fits).
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

//===----------------------------------------------------------------------===//
// Normalization and softmax
//===----------------------------------------------------------------------===//

// Inference form only. Extra outputs (running statistics) are left
// unproduced: a model that merely names them still imports, one that uses
// them gets an error at the consumer.
LogicalResult convertBatchNorm(ImportContext &ctx, const Node &node,
                               int64_t opset) {
  if (opset >= 14 && ctx.getInt(node, "training_mode", 0) != 0)
    return ctx.fail("training_mode=1 is not supported (Weft compiles "
                    "inference graphs)");
  SmallVector<Value, 5> in;
  for (int i = 0; i < 5; ++i) {
    auto v = ctx.input(node, i);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  for (Value v : in)
    if (!isa<FloatType>(ImportContext::typeOf(v).getElementType()))
      return ctx.fail("needs floating-point inputs (X, scale, B, mean and var)");
  auto result = ctx.createInferred<BatchNormOp>(
      in[0], in[1], in[2], in[3], in[4],
      ctx.getBuilder().getF32FloatAttr(ctx.getFloat(node, "epsilon", 1e-5f)));
  if (failed(result))
    return failure();
  ctx.setOutput(node, 0, *result);
  return success();
}

template <bool Log>
LogicalResult convertSoftmax(ImportContext &ctx, const Node &node,
                             int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (!isa<FloatType>(type.getElementType()))
    return ctx.fail("needs a floating-point input");
  int64_t rank = type.getRank();
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", opset < 13 ? 1 : -1),
                                rank);
  if (failed(axis))
    return failure();
  // Before opset 13 the input is coerced to 2-D [prod(d[:axis]),
  // prod(d[axis:])] and normalized over the second dimension; when axis is
  // the last dimension that is the same as normalizing along it.
  if (opset >= 13 || *axis == rank - 1) {
    ctx.setOutput(node, 0, ctx.create<SoftmaxOp>(*x, (uint64_t)*axis, Log));
    return success();
  }
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < *axis ? outer : inner) *= type.getShape()[i];
  auto flat = ctx.reshape(*x, {outer, inner});
  if (failed(flat))
    return failure();
  Value sm = ctx.create<SoftmaxOp>(*flat, (uint64_t)1, Log);
  auto back = ctx.reshape(sm, type.getShape());
  if (failed(back))
    return failure();
  ctx.setOutput(node, 0, *back);
  return success();
}

// The ops below have no weft op of their own; they are decomposed into
// reductions and elementwise ops that later stages already handle.

struct Moments {
  Value centered; // x - mean
  Value mean;
  Value invStdDev; // 1 / sqrt(var + epsilon)
};

// Mean and inverse standard deviation of `x` over `axes` (kept as size-1
// dimensions), the shared core of LayerNormalization and
// InstanceNormalization.
FailureOr<Moments> moments(ImportContext &ctx, Value x, ArrayRef<int64_t> axes,
                           float epsilon) {
  WEFT_TRY(mean, ctx.createInferred<ReduceOp>(ReduceKind::mean, x, axes, true));
  WEFT_TRY(centered, ctx.createInferred<SubOp>(x, mean));
  WEFT_TRY(squared, ctx.createInferred<MulOp>(centered, centered));
  WEFT_TRY(var,
           ctx.createInferred<ReduceOp>(ReduceKind::mean, squared, axes, true));
  Type elt = ImportContext::typeOf(x).getElementType();
  Value eps = ctx.splat(RankedTensorType::get({}, elt), epsilon);
  WEFT_TRY(shifted, ctx.createInferred<AddOp>(var, eps));
  Value root = ctx.create<SqrtOp>(shifted);
  return Moments{centered, mean, ctx.create<ReciprocalOp>(root)};
}

Value castIfNeeded(ImportContext &ctx, Value v, Type elt) {
  auto type = ImportContext::typeOf(v);
  if (type.getElementType() == elt)
    return v;
  return ctx.create<CastOp>(RankedTensorType::get(type.getShape(), elt), v);
}

// The type a normalization of `elt` values computes in: f32 for f16 and
// bf16, as onnxruntime does. Its statistics are reductions, each its own
// dispatch, so they would otherwise pass between dispatches in 16 bits: a
// variance of values about 300 apart overflows f16.
Type computeType(Type elt) {
  return isa<Float16Type, BFloat16Type>(elt) ? (Type)Float32Type::get(elt.getContext()) : elt;
}

// Y = (X - mean) * invStdDev * Scale + B over the axes from `axis` on,
// computed in f32 when stash_type is 1 (the default) as ONNX specifies.
LogicalResult convertLayerNorm(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto scale = ctx.input(node, 1);
  if (failed(scale))
    return failure();
  auto bias = ctx.optionalInput(node, 2);
  if (failed(bias))
    return failure();
  auto type = ImportContext::typeOf(*x);
  Type elt = type.getElementType();
  if (!isa<FloatType>(elt))
    return ctx.fail("needs a floating-point input");
  auto axis = ctx.normalizeAxis(ctx.getInt(node, "axis", -1), type.getRank());
  if (failed(axis))
    return failure();
  // Statistics over no element are undefined; onnxruntime refuses them.
  if (llvm::is_contained(type.getShape().drop_front(*axis), 0)) {
    std::string typeText;
    llvm::raw_string_ostream(typeText) << type;
    return ctx.fail("normalizes over an empty group of axes (input type " + typeText +
                    ", axis " + Twine(*axis) + ")");
  }
  float epsilon = ctx.getFloat(node, "epsilon", 1e-5f);
  int64_t stash = ctx.getInt(node, "stash_type", 1);
  if (stash != 1 && stash != onnx::TensorProto_DataType_FLOAT16 &&
      stash != onnx::TensorProto_DataType_DOUBLE &&
      stash != onnx::TensorProto_DataType_BFLOAT16)
    return ctx.fail("unsupported stash_type " + Twine(stash));
  Type computeElt = convertElementType(ctx.getContext(), (int32_t)stash);
  // The common case (f32, only Y used) is one op, so one dispatch.
  bool statsUsed = false;
  for (int i = 1; i < node.output_size(); ++i)
    statsUsed |= !node.output(i).empty();
  if (elt.isF32() && computeElt.isF32() && !statsUsed &&
      ImportContext::typeOf(*scale).getElementType() == elt &&
      (!*bias || ImportContext::typeOf(*bias).getElementType() == elt)) {
    Value y = ctx.create<LayerNormOp>(type, *x, *scale, *bias, (uint64_t)*axis,
                                      llvm::APFloat(epsilon));
    if (failed(mlir::verify(y.getDefiningOp()))) { // scale/bias shapes
      y.getDefiningOp()->erase();
      return failure();
    }
    ctx.setOutput(node, 0, y);
    return success();
  }
  SmallVector<int64_t> axes =
      llvm::to_vector(llvm::seq<int64_t>(*axis, type.getRank()));
  auto m = moments(ctx, castIfNeeded(ctx, *x, computeElt), axes, epsilon);
  if (failed(m))
    return failure();
  WEFT_TRY(normalized, ctx.createInferred<MulOp>(m->centered, m->invStdDev));
  WEFT_TRY(scaled, ctx.createInferred<MulOp>(
                       castIfNeeded(ctx, normalized, elt), *scale));
  Value y = scaled;
  if (*bias) {
    WEFT_TRY(shifted, ctx.createInferred<AddOp>(y, *bias));
    y = shifted;
  }
  ctx.setOutput(node, 0, y);
  ctx.setOutput(node, 1, m->mean);
  ctx.setOutput(node, 2, m->invStdDev);
  return success();
}

LogicalResult convertInstanceNorm(ImportContext &ctx, const Node &node,
                                  int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto scale = ctx.input(node, 1);
  if (failed(scale))
    return failure();
  auto bias = ctx.input(node, 2);
  if (failed(bias))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (type.getRank() < 3 || !isa<FloatType>(type.getElementType()))
    return ctx.fail("expects a floating-point N x C x D1 x ... input");
  int64_t channels = type.getShape()[1];
  Type elt = type.getElementType(), wide = computeType(elt);
  SmallVector<int64_t> axes =
      llvm::to_vector(llvm::seq<int64_t>(2, type.getRank()));
  auto m = moments(ctx, castIfNeeded(ctx, *x, wide), axes, ctx.getFloat(node, "epsilon", 1e-5f));
  if (failed(m))
    return failure();
  // Scale and B are per channel: [C] -> [C, 1, ..., 1] to broadcast.
  SmallVector<int64_t> perChannel(type.getRank() - 1, 1);
  perChannel[0] = channels;
  WEFT_TRY(s, ctx.reshape(castIfNeeded(ctx, *scale, wide), perChannel));
  WEFT_TRY(b, ctx.reshape(castIfNeeded(ctx, *bias, wide), perChannel));
  WEFT_TRY(normalized, ctx.createInferred<MulOp>(m->centered, m->invStdDev));
  WEFT_TRY(scaled, ctx.createInferred<MulOp>(normalized, s));
  WEFT_TRY(y, ctx.createInferred<AddOp>(scaled, b));
  ctx.setOutput(node, 0, castIfNeeded(ctx, y, elt));
  return success();
}

// GroupNormalization: InstanceNormalization's moments over each group of
// C / num_groups channels ([N, G, C/G * spatial]), then a per-channel
// scale and bias (opset 21), or per-group ones (opset 18), repeated over
// each group's channels.
LogicalResult convertGroupNorm(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0), scale = ctx.input(node, 1), bias = ctx.input(node, 2);
  if (failed(x) || failed(scale) || failed(bias))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (type.getRank() < 3 || !isa<FloatType>(type.getElementType()))
    return ctx.fail("expects a floating-point N x C x D1 x ... input");
  if (!ImportContext::hasAttr(node, "num_groups"))
    return ctx.fail("missing required attribute 'num_groups'");
  int64_t groups = ctx.getInt(node, "num_groups", 1);
  int64_t n = type.getShape()[0], channels = type.getShape()[1];
  if (groups <= 0 || channels % groups != 0)
    return ctx.fail("num_groups (" + Twine(groups) + ") must divide the channels (" +
                    Twine(channels) + ")");
  int64_t spatial = type.getNumElements() / std::max<int64_t>(n * channels, 1);
  Type elt = type.getElementType(), wide = computeType(elt);
  WEFT_TRY(grouped, ctx.reshape(castIfNeeded(ctx, *x, wide), {n, groups, channels / groups * spatial}));
  auto m = moments(ctx, grouped, {2}, ctx.getFloat(node, "epsilon", 1e-5f));
  if (failed(m))
    return failure();
  WEFT_TRY(normalized, ctx.createInferred<MulOp>(m->centered, m->invStdDev));
  WEFT_TRY(back, ctx.reshape(normalized, type.getShape()));
  SmallVector<int64_t> perChannel(type.getRank() - 1, 1);
  perChannel[0] = channels;
  auto affine = [&](Value v, StringRef what) -> FailureOr<Value> {
    int64_t size = ImportContext::typeOf(v).getNumElements();
    if (size == channels)
      return ctx.reshape(v, perChannel);
    if (size == groups && opset < 21) {
      SmallVector<int64_t> index;
      for (int64_t c = 0; c < channels; ++c)
        index.push_back(c / (channels / groups));
      Value indices = ctx.constant(DenseElementsAttr::get(
          RankedTensorType::get({channels}, ctx.getBuilder().getI64Type()),
          ArrayRef<int64_t>(index)));
      WEFT_TRY(flat, ctx.reshape(v, {groups}));
      WEFT_TRY(repeated, ctx.createInferred<GatherOp>(flat, indices, (int64_t)0));
      return ctx.reshape(repeated, perChannel);
    }
    (void)ctx.fail(what + " must have " + Twine(channels) + " elements (one per channel)");
    return failure();
  };
  auto s = affine(castIfNeeded(ctx, *scale, wide), "scale");
  auto b = affine(castIfNeeded(ctx, *bias, wide), "bias");
  if (failed(s) || failed(b))
    return failure();
  WEFT_TRY(scaled, ctx.createInferred<MulOp>(back, *s));
  WEFT_TRY(y, ctx.createInferred<AddOp>(scaled, *b));
  ctx.setOutput(node, 0, castIfNeeded(ctx, y, elt));
  return success();
}

// MeanVarianceNormalization: (x - mean) / (sqrt(variance) + 1e-9) over
// `axes` (default N, H, W), as ONNX's function body.
LogicalResult convertMVN(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  if (!isa<FloatType>(type.getElementType()))
    return ctx.fail("needs a floating-point input");
  auto axes = ctx.normalizeAxes(ctx.getInts(node, "axes", {0, 2, 3}), type.getRank());
  if (failed(axes))
    return failure();
  llvm::sort(*axes);
  Type elt = type.getElementType(), wide = computeType(elt);
  Value xw = castIfNeeded(ctx, *x, wide);
  WEFT_TRY(mean, ctx.createInferred<ReduceOp>(ReduceKind::mean, xw, ArrayRef<int64_t>(*axes), true));
  WEFT_TRY(centered, ctx.createInferred<SubOp>(xw, mean));
  WEFT_TRY(squared, ctx.createInferred<MulOp>(centered, centered));
  WEFT_TRY(var, ctx.createInferred<ReduceOp>(ReduceKind::mean, squared, ArrayRef<int64_t>(*axes), true));
  Value root = ctx.create<SqrtOp>(var);
  WEFT_TRY(denominator, ctx.createInferred<AddOp>(
                            root, ctx.splat(RankedTensorType::get({}, wide), 1e-9)));
  WEFT_TRY(y, ctx.createInferred<DivOp>(centered, denominator));
  ctx.setOutput(node, 0, castIfNeeded(ctx, y, elt));
  return success();
}

// LRN: x / (bias + alpha / size * (sum of x^2 over the channel window))^beta,
// the window [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to the
// channels: the squares padded with zeros along C and `size` shifted
// slices added.
LogicalResult convertLRN(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  Type elt = type.getElementType();
  if (!isa<FloatType>(elt) || type.getRank() < 3)
    return ctx.fail("needs a floating-point input of rank >= 3 (N, C, ...)");
  if (!ImportContext::hasAttr(node, "size"))
    return ctx.fail("missing required attribute 'size'");
  int64_t size = ctx.getInt(node, "size", 1);
  if (size < 1 || size > 1024)
    return ctx.fail("size must be in [1, 1024]");
  double alpha = ctx.getFloat(node, "alpha", 1e-4f), beta = ctx.getFloat(node, "beta", 0.75f),
         bias = ctx.getFloat(node, "bias", 1.0f);
  int64_t rank = type.getRank();
  WEFT_TRY(squared, ctx.createInferred<MulOp>(*x, *x));
  SmallVector<int64_t> low(rank, 0), high(rank, 0);
  low[1] = (size - 1) / 2;
  high[1] = size / 2;
  WEFT_TRY(padded, ctx.createInferred<PadOp>(squared, ArrayRef<int64_t>(low),
                                             ArrayRef<int64_t>(high),
                                             cast<TypedAttr>(FloatAttr::get(elt, 0.0))));
  Value sum;
  SmallVector<int64_t> sizes(type.getShape()), steps(rank, 1);
  for (int64_t t = 0; t < size; ++t) {
    SmallVector<int64_t> starts(rank, 0);
    starts[1] = t;
    WEFT_TRY(window, ctx.createInferred<SliceOp>(padded, ArrayRef<int64_t>(starts),
                                                 ArrayRef<int64_t>(sizes), ArrayRef<int64_t>(steps)));
    if (!sum) {
      sum = window;
      continue;
    }
    WEFT_TRY(next, ctx.createInferred<AddOp>(sum, window));
    sum = next;
  }
  auto scalar = RankedTensorType::get({}, elt);
  WEFT_TRY(scaled, ctx.createInferred<MulOp>(sum, ctx.splat(scalar, alpha / (double)size)));
  WEFT_TRY(shifted, ctx.createInferred<AddOp>(scaled, ctx.splat(scalar, bias)));
  WEFT_TRY(power, ctx.createInferred<PowOp>(shifted, ctx.splat(scalar, beta)));
  WEFT_TRY(y, ctx.createInferred<DivOp>(*x, power));
  ctx.setOutput(node, 0, y);
  return success();
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

// The negative log-likelihood of `logProb` [N, C, d..] at the classes
// `target` [N, d..]: -logProb[n, target[n, d..], d..] times the class weight
// (1 without `weight`), 0 where target == ignore_index. reduction "sum"
// adds the losses, "mean" divides that by the sum of the weights used.
// Targets outside [0, C) other than ignore_index read a clamped class
// (ONNX leaves them undefined).
FailureOr<Value> negativeLogLikelihood(ImportContext &ctx, Value logProb, Value target,
                                       Value weight, std::optional<int64_t> ignoreIndex,
                                       StringRef reduction) {
  auto type = ImportContext::typeOf(logProb);
  auto tt = ImportContext::typeOf(target);
  Type elt = type.getElementType();
  if (!isa<FloatType>(elt))
    return ctx.fail("needs floating-point scores");
  if (!tt.getElementType().isSignlessInteger(32) && !tt.getElementType().isSignlessInteger(64))
    return ctx.fail("the target must be int32 or int64");
  if (type.getRank() < 2 || tt.getRank() != type.getRank() - 1 ||
      tt.getShape()[0] != type.getShape()[0] ||
      tt.getShape().drop_front() != type.getShape().drop_front(2))
    return ctx.fail("expects scores [N, C, d..] and a target [N, d..]");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return ctx.fail("reduction must be \"none\", \"sum\" or \"mean\", got \"" + reduction +
                    "\"");
  int64_t classes = type.getShape()[1];
  if (weight) {
    auto wt = ImportContext::typeOf(weight);
    if (wt.getRank() != 1 || wt.getShape()[0] != classes || wt.getElementType() != elt)
      return ctx.fail("the weight must be a [C] tensor of the scores' type");
  }
  SmallVector<int64_t> withClass(tt.getShape());
  withClass.insert(withClass.begin() + 1, 1);
  WEFT_TRY(index, ctx.reshape(target, withClass));
  WEFT_TRY(picked, ctx.createInferred<GatherElementsOp>(logProb, index, (int64_t)1));
  WEFT_TRY(flat, ctx.reshape(picked, tt.getShape()));
  Value loss = ctx.create<NegOp>(flat);
  auto scalar = RankedTensorType::get({}, elt);
  Value w;
  if (weight) {
    WEFT_TRY(perTarget, ctx.createInferred<GatherOp>(weight, target, (int64_t)0));
    w = perTarget;
  }
  if (ignoreIndex) {
    Value ignored = ctx.splat(RankedTensorType::get({}, tt.getElementType()), (double)*ignoreIndex);
    WEFT_TRY(skip, ctx.createInferred<CompareOp>(CompareKind::eq, target, ignored));
    WEFT_TRY(masked, ctx.createInferred<WhereOp>(skip, ctx.splat(scalar, 0.0),
                                                 w ? w : ctx.splat(scalar, 1.0)));
    w = masked;
  }
  if (w) {
    WEFT_TRY(weighted, ctx.createInferred<MulOp>(loss, w));
    loss = weighted;
  }
  if (reduction == "none")
    return loss;
  SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, tt.getRank()));
  if (reduction == "mean" && !w)
    return ctx.createInferred<ReduceOp>(ReduceKind::mean, loss, ArrayRef<int64_t>(all), false);
  WEFT_TRY(total, ctx.createInferred<ReduceOp>(ReduceKind::sum, loss, ArrayRef<int64_t>(all), false));
  if (reduction == "sum")
    return total;
  WEFT_TRY(weightSum, ctx.createInferred<ReduceOp>(ReduceKind::sum, w, ArrayRef<int64_t>(all), false));
  return ctx.createInferred<DivOp>(total, weightSum);
}

std::optional<int64_t> ignoreIndexOf(ImportContext &ctx, const Node &node) {
  if (!ImportContext::hasAttr(node, "ignore_index"))
    return std::nullopt;
  return ctx.getInt(node, "ignore_index", 0);
}

LogicalResult convertNLLLoss(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto target = ctx.input(node, 1);
  if (failed(target))
    return failure();
  Value weight;
  if (ImportContext::hasInput(node, 2)) {
    auto w = ctx.input(node, 2);
    if (failed(w))
      return failure();
    weight = *w;
  }
  auto loss = negativeLogLikelihood(ctx, *x, *target, weight, ignoreIndexOf(ctx, node),
                                    ctx.getString(node, "reduction", "mean"));
  if (failed(loss))
    return failure();
  ctx.setOutput(node, 0, *loss);
  return success();
}

// SoftmaxCrossEntropyLoss = NLL of LogSoftmax over the class axis; the
// optional second output is that log-probability.
LogicalResult convertSoftmaxCrossEntropy(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto labels = ctx.input(node, 1);
  if (failed(labels))
    return failure();
  Value weight;
  if (ImportContext::hasInput(node, 2)) {
    auto w = ctx.input(node, 2);
    if (failed(w))
      return failure();
    weight = *w;
  }
  auto type = ImportContext::typeOf(*x);
  if (!isa<FloatType>(type.getElementType()))
    return ctx.fail("needs floating-point scores");
  if (type.getRank() < 2)
    return ctx.fail("expects scores [N, C, d..]");
  Value logProb = ctx.create<SoftmaxOp>(*x, (uint64_t)1, true);
  auto loss = negativeLogLikelihood(ctx, logProb, *labels, weight, ignoreIndexOf(ctx, node),
                                    ctx.getString(node, "reduction", "mean"));
  if (failed(loss))
    return failure();
  ctx.setOutput(node, 0, *loss);
  if (ImportContext::hasOutput(node, 1))
    ctx.setOutput(node, 1, logProb);
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

} // namespace

void weft::registerNormConverters(ConverterTable &t) {
  t["NegativeLogLikelihoodLoss"] = convertNLLLoss;
  t["MeanVarianceNormalization"] = convertMVN;
  t["LRN"] = convertLRN;
  t["SoftmaxCrossEntropyLoss"] = convertSoftmaxCrossEntropy;
  t["BatchNormalization"] = convertBatchNorm;
  t["LayerNormalization"] = convertLayerNorm;
  t["InstanceNormalization"] = convertInstanceNorm;
  t["GroupNormalization"] = convertGroupNorm;
  t["Softmax"] = convertSoftmax<false>;
  t["LogSoftmax"] = convertSoftmax<true>;
}
