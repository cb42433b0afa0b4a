//===- ConvertSignal.cpp - DFT, STFT, MelWeightMatrix, windows -> weft ----===//
//
// Spectral ops with lengths known at compile time. A DFT of length L along
// one axis is a matrix product: the signal, moved to [rows, n x C] (C = 1
// for a real signal, 2 for real and imaginary parts), times a constant
// [n x C, K x 2] matrix of cosines and sines computed in double precision
// at compile time. STFT gathers its frames with constant indices, weights
// them by the window and takes the same product. MelWeightMatrix and the
// window generators (HannWindow, HammingWindow, BlackmanWindow) fold to
// constants.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include <cmath>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

/// The transform's matrix is refused beyond this many elements (64 MiB of
/// f32): a length-2048 complex DFT fits.
constexpr int64_t kMaxDftMatrixElements = int64_t(1) << 24;

/// DFT of `x` ([.., n at `axis`, .., C]) along `axis` with length `length`
/// (the signal zero-padded or truncated to it); `bins` outputs (all `length`
/// of them, or length / 2 + 1 when one-sided). The result has `bins` at
/// `axis` and a last dimension of 2 (real, imaginary).
FailureOr<Value> dft(ImportContext &ctx, Value x, int64_t axis, int64_t length, bool inverse,
                     int64_t bins) {
  auto xt = ImportContext::typeOf(x);
  Type elt = xt.getElementType();
  int64_t rank = xt.getRank();
  int64_t n = xt.getShape()[axis], c = xt.getShape()[rank - 1];
  int64_t used = std::min(n, length);
  if (used * c * bins * 2 > kMaxDftMatrixElements)
    return ctx.fail("a DFT of length " + Twine(length) + " over " + Twine(n) +
                    " samples needs a " + Twine(used * c) + " x " + Twine(bins * 2) +
                    " matrix, above the supported " + Twine(kMaxDftMatrixElements) +
                    " elements");
  // f16 and bf16 signals are transformed in f32.
  Type work = elt.isF64() ? elt : Float32Type::get(ctx.getContext());
  if (work != elt)
    x = ctx.create<CastOp>(RankedTensorType::get(xt.getShape(), work), x);
  if (n > length) {
    SmallVector<int64_t> starts(rank, 0), sizes(xt.getShape()), steps(rank, 1);
    sizes[axis] = length;
    WEFT_TRY(cut, ctx.createInferred<SliceOp>(x, ArrayRef<int64_t>(starts),
                                              ArrayRef<int64_t>(sizes), ArrayRef<int64_t>(steps)));
    x = cut;
  }
  // [others.., n, C] -> [rows, n * C].
  SmallVector<int64_t> perm, moved;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.append({axis, rank - 1});
  auto shape = ImportContext::typeOf(x).getShape();
  int64_t rows = 1;
  for (int64_t d : ArrayRef<int64_t>(perm).drop_back(2)) {
    moved.push_back(shape[d]);
    rows *= shape[d];
  }
  WEFT_TRY(last, ctx.createInferred<TransposeOp>(x, ArrayRef<int64_t>(perm)));
  WEFT_TRY(flat, ctx.reshape(last, {rows, used * c}));
  // Row j * C + part, column k * 2 + (0 real, 1 imaginary): the factor
  // exp(-+2 pi i j k / L) (over L when inverse) applied to that part.
  std::vector<double> table(used * c * bins * 2);
  double scale = inverse ? 1.0 / (double)length : 1.0;
  for (int64_t j = 0; j < used; ++j)
    for (int64_t k = 0; k < bins; ++k) {
      double angle = 2.0 * M_PI * (double)((j * k) % length) / (double)length;
      if (!inverse)
        angle = -angle;
      double co = std::cos(angle) * scale, si = std::sin(angle) * scale;
      double *row = &table[(j * c) * bins * 2 + k * 2];
      row[0] = co;
      row[1] = si;
      if (c == 2) {
        double *im = &table[(j * c + 1) * bins * 2 + k * 2];
        im[0] = -si;
        im[1] = co;
      }
    }
  auto matrixType = RankedTensorType::get({used * c, bins * 2}, work);
  DenseElementsAttr matrix =
      work.isF64() ? DenseElementsAttr::get(matrixType, ArrayRef<double>(table))
                   : DenseElementsAttr::get(
                         matrixType, ArrayRef<float>(std::vector<float>(table.begin(),
                                                                        table.end())));
  WEFT_TRY(product, ctx.createInferred<MatMulOp>(flat, ctx.constant(matrix)));
  // [rows, K * 2] -> [others.., K, 2] -> the input's order.
  moved.append({bins, 2});
  WEFT_TRY(unflat, ctx.reshape(product, moved));
  SmallVector<int64_t> back(rank);
  for (int64_t i = 0; i < rank; ++i)
    back[perm[i]] = i;
  WEFT_TRY(result, ctx.createInferred<TransposeOp>(unflat, ArrayRef<int64_t>(back)));
  if (work != elt)
    result = ctx.create<CastOp>(
        RankedTensorType::get(ImportContext::typeOf(result).getShape(), elt), result);
  return result;
}

/// A signal [.., C] with C = 1 (real) or 2 (complex) in a float type.
LogicalResult checkSignal(ImportContext &ctx, RankedTensorType t, int64_t minRank) {
  if (!isa<FloatType>(t.getElementType()))
    return ctx.fail("needs a floating-point signal");
  if (t.getRank() < minRank)
    return ctx.fail("needs a signal of rank >= " + Twine(minRank) + ", got rank " +
                    Twine(t.getRank()));
  int64_t c = t.getShape().back();
  if (c != 1 && c != 2)
    return ctx.fail("the signal's last dimension must be 1 (real) or 2 (complex), got " +
                    Twine(c));
  return success();
}

LogicalResult convertDFT(ImportContext &ctx, const Node &node, int64_t opset) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  if (failed(checkSignal(ctx, xt, 2)))
    return failure();
  int64_t rank = xt.getRank();
  int64_t axis = opset >= 20 ? -2 : ctx.getInt(node, "axis", 1);
  if (opset >= 20 && ImportContext::hasInput(node, 2)) {
    auto a = ctx.constantScalar(node, 2, "axis");
    if (failed(a))
      return failure();
    axis = (int64_t)*a;
  }
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank - 2)
    return ctx.fail("axis must name a signal dimension (not the last, real/imaginary one) "
                    "of the rank-" + Twine(rank) + " input");
  int64_t length = xt.getShape()[axis];
  if (ImportContext::hasInput(node, 1)) {
    auto l = ctx.constantScalar(node, 1, "dft_length");
    if (failed(l))
      return failure();
    if (*l < 1 || *l > (1 << 24))
      return ctx.fail("dft_length must be in [1, 2^24], got " + Twine((int64_t)*l));
    length = (int64_t)*l;
  }
  if (length < 1)
    return ctx.fail("the signal axis is empty");
  bool inverse = ctx.getInt(node, "inverse", 0) != 0;
  bool onesided = ctx.getInt(node, "onesided", 0) != 0;
  WEFT_TRY(result, dft(ctx, *x, axis, length, inverse, onesided ? length / 2 + 1 : length));
  ctx.setOutput(node, 0, result);
  return success();
}

LogicalResult convertSTFT(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  if (failed(checkSignal(ctx, xt, 3)))
    return failure();
  if (xt.getRank() != 3)
    return ctx.fail("needs a signal [batch, length, 1 or 2], got rank " + Twine(xt.getRank()));
  int64_t samples = xt.getShape()[1];
  auto step = ctx.constantScalar(node, 1, "frame_step");
  if (failed(step))
    return failure();
  if (*step < 1 || *step > (1 << 30))
    return ctx.fail("frame_step must be positive, got " + Twine((int64_t)*step));
  auto window = ctx.optionalInput(node, 2);
  if (failed(window))
    return failure();
  int64_t frameLength = samples;
  if (*window) {
    auto wt = ImportContext::typeOf(*window);
    if (wt.getRank() != 1)
      return ctx.fail("the window must have rank 1");
    if (wt.getElementType() != xt.getElementType())
      return ctx.fail("the window's element type must be the signal's");
    frameLength = wt.getShape()[0];
  }
  if (ImportContext::hasInput(node, 3)) {
    auto l = ctx.constantScalar(node, 3, "frame_length");
    if (failed(l))
      return failure();
    if (*window && (int64_t)*l != frameLength)
      return ctx.fail("frame_length " + Twine((int64_t)*l) + " differs from the window's " +
                      Twine(frameLength) + " samples");
    frameLength = (int64_t)*l;
  }
  if (frameLength < 1 || frameLength > samples)
    return ctx.fail("the frame length " + Twine(frameLength) + " must be in [1, " +
                    Twine(samples) + "] (the signal's length)");
  int64_t hop = (int64_t)*step;
  int64_t frames = 1 + (samples - frameLength) / hop;
  if (frames * frameLength > kMaxDftMatrixElements)
    return ctx.fail("the signal makes " + Twine(frames) + " frames of " + Twine(frameLength) +
                    " samples, above the supported " + Twine(kMaxDftMatrixElements));
  // Frames [batch, frames, frame length, C] by constant indices.
  SmallVector<int64_t> indices;
  indices.reserve(frames * frameLength);
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t j = 0; j < frameLength; ++j)
      indices.push_back(f * hop + j);
  auto indexType = RankedTensorType::get({frames, frameLength},
                                         IntegerType::get(ctx.getContext(), 64));
  Value idx = ctx.constant(DenseElementsAttr::get(indexType, ArrayRef<int64_t>(indices)));
  WEFT_TRY(framed, ctx.createInferred<GatherOp>(*x, idx, (uint64_t)1));
  Value weighted = framed;
  if (*window) {
    WEFT_TRY(column, ctx.reshape(*window, {frameLength, 1}));
    WEFT_TRY(product, ctx.createInferred<MulOp>(framed, column));
    weighted = product;
  }
  bool onesided = ctx.getInt(node, "onesided", 1) != 0;
  WEFT_TRY(result, dft(ctx, weighted, 2, frameLength, /*inverse=*/false,
                       onesided ? frameLength / 2 + 1 : frameLength));
  ctx.setOutput(node, 0, result);
  return success();
}

/// Triangular mel filters as ONNX defines them: num_mel_bins + 2 edges
/// evenly spaced in mel between the two edge frequencies, each mapped to
/// the DFT bin floor((dft_length + 1) * hz / sample_rate).
LogicalResult convertMelWeightMatrix(ImportContext &ctx, const Node &node, int64_t) {
  auto mels = ctx.constantScalar(node, 0, "num_mel_bins");
  auto dftLength = ctx.constantScalar(node, 1, "dft_length");
  auto rate = ctx.constantScalar(node, 2, "sample_rate");
  auto lower = ctx.constantScalar(node, 3, "lower_edge_hertz");
  auto upper = ctx.constantScalar(node, 4, "upper_edge_hertz");
  if (failed(mels) || failed(dftLength) || failed(rate) || failed(lower) || failed(upper))
    return failure();
  int64_t numMel = (int64_t)*mels, length = (int64_t)*dftLength;
  if (numMel < 1 || length < 1 || *rate <= 0)
    return ctx.fail("num_mel_bins, dft_length and sample_rate must be positive");
  int64_t spectrum = length / 2 + 1;
  if (numMel * spectrum > kMaxDftMatrixElements)
    return ctx.fail("the matrix would have " + Twine(numMel * spectrum) +
                    " elements, above the supported " + Twine(kMaxDftMatrixElements));
  int64_t dtype = ctx.getInt(node, "output_datatype", 1);
  Type elt = convertElementType(ctx.getContext(), (int32_t)dtype);
  if (!elt)
    return ctx.fail("output_datatype " + onnxTypeName((int32_t)dtype) + " is not supported");
  auto toMel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  double lowMel = toMel(*lower), highMel = toMel(*upper);
  double melStep = (highMel - lowMel) / (double)(numMel + 2);
  SmallVector<int64_t> edges;
  for (int64_t i = 0; i < numMel + 2; ++i) {
    double hz = 700.0 * (std::pow(10.0, ((double)i * melStep + lowMel) / 2595.0) - 1.0);
    edges.push_back((int64_t)std::floor((double)(length + 1) * hz / *rate));
  }
  for (int64_t e : edges)
    if (e < 0 || e >= spectrum)
      return ctx.fail("a filter edge falls on DFT bin " + Twine(e) + ", outside [0, " +
                      Twine(spectrum) + "); check the edge frequencies against the sample "
                      "rate");
  std::vector<double> out(spectrum * numMel, 0.0);
  for (int64_t i = 0; i < numMel; ++i) {
    int64_t lo = edges[i], center = edges[i + 1], hi = edges[i + 2];
    if (center == lo)
      out[center * numMel + i] = 1.0;
    else
      for (int64_t j = lo; j <= center; ++j)
        out[j * numMel + i] = (double)(j - lo) / (double)(center - lo);
    for (int64_t j = center; j < hi; ++j)
      out[j * numMel + i] = (double)(hi - j) / (double)(hi - center);
  }
  SmallVector<Attribute> values;
  values.reserve(out.size());
  for (double v : out) {
    if (auto ft = dyn_cast<FloatType>(elt))
      values.push_back(FloatAttr::get(ft, v));
    else
      values.push_back(IntegerAttr::get(elt, (int64_t)v));
  }
  auto type = RankedTensorType::get({spectrum, numMel}, elt);
  ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(type, values)));
  return success();
}

// HannWindow, HammingWindow, BlackmanWindow: a cosine sum over a size known
// at compile time, built as a constant (in double, rounded once).
LogicalResult convertWindow(ImportContext &ctx, const Node &node, double a0, double a1,
                            double a2) {
  auto size = ctx.constantScalar(node, 0, "size");
  if (failed(size))
    return failure();
  if (*size < 0 || *size > (1 << 24))
    return ctx.fail("size " + std::to_string((int64_t)*size) + " is outside [0, 2^24]");
  int64_t n = (int64_t)*size;
  int64_t dtype = ctx.getInt(node, "output_datatype", 1);
  Type elt = convertElementType(ctx.getContext(), (int32_t)dtype);
  if (!elt)
    return ctx.fail("output_datatype " + onnxTypeName((int32_t)dtype) + " is not supported");
  double denom = ctx.getInt(node, "periodic", 1) ? (double)n : (double)n - 1;
  SmallVector<Attribute> values;
  for (int64_t i = 0; i < n; ++i) {
    double angle = 2 * M_PI * (double)i / denom;
    double w = a0 - a1 * std::cos(angle) + a2 * std::cos(2 * angle);
    // Rounded to float as ONNX computes it; a symmetric window of size 1
    // divides 0 by 0 and is NaN, as in the ONNX definition.
    float f = (float)w;
    if (auto ft = dyn_cast<FloatType>(elt))
      values.push_back(FloatAttr::get(ft, (double)f));
    else
      values.push_back(IntegerAttr::get(elt, (int64_t)f));
  }
  auto type = RankedTensorType::get({n}, elt);
  ctx.setOutput(node, 0, ctx.constant(DenseElementsAttr::get(type, values)));
  return success();
}

} // namespace

void weft::registerSignalConverters(ConverterTable &t) {
  t["DFT"] = convertDFT;
  t["STFT"] = convertSTFT;
  t["MelWeightMatrix"] = convertMelWeightMatrix;
  t["HannWindow"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertWindow(ctx, node, 0.5, 0.5, 0.0);
  };
  t["HammingWindow"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertWindow(ctx, node, 25.0 / 46.0, 21.0 / 46.0, 0.0);
  };
  t["BlackmanWindow"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertWindow(ctx, node, 0.42, 0.5, 0.08);
  };
}
