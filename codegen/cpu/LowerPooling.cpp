//===- LowerPooling.cpp - weft.pool -> linalg ------------------------------===//
//
// Max and average pooling: a named pooling op over the input (padded by
// tensor.pad where its pads or ceil mode need it), an average's divisors
// per output position a constant; or, for a pool marked
// weft.gather_padding (the CUDA targets), one generic that reads the
// unpadded input at bounds-checked indices.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Lowering.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

/// The most window elements gatheredPool unrolls.
constexpr int64_t kMaxGatheredWindow = 64;

/// Pooling `op` (NCHW or NHWC) as one parallel generic over the output,
/// each output's window unrolled in its body and each window element read
/// from the unpadded input where it lies inside it, `padValue` elsewhere
/// (the pads, and the far end's overhang in ceil mode): the max, or the
/// average, whose divisor (the window's real elements, or with
/// count_include_pad those inside the pads too) is counted alongside. A
/// reduction loop over the window would carry
/// its partial result through the output's memory on a GPU thread (LLVM
/// cannot keep it in a register past loads of another buffer that may
/// alias it); unrolled, it stays in registers. Null for a window of more
/// than kMaxGatheredWindow elements.
Value gatheredPool(OpBuilder &b, PoolOp op, TypedAttr padValue) {
  Location l = op.getLoc();
  auto in = op.getInput().getType();
  auto type = op.getType();
  Type elt = type.getElementType();
  bool isMax = op.getKind() == PoolKind::max;
  ArrayRef<int64_t> k = op.getKernel(), s = op.getStrides(), dl = op.getDilations(),
                    p = op.getPads();
  if (k[0] * k[1] > kMaxGatheredWindow)
    return {};
  ConvDims cd = convDims(op.getChannelsLast());
  int64_t h = in.getShape()[cd.h], w = in.getShape()[cd.w];
  bool include = op.getCountIncludePad();
  Value input = op.getInput();
  AffineMap id = b.getMultiDimIdentityMap(4);
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, l, TypeRange{type}, ValueRange{}, ValueRange{emptyLike(b, l, type)},
      ArrayRef<AffineMap>{id}, iters, [&](OpBuilder &gb, Location gl, ValueRange) {
        auto cst = [&](int64_t v) { return arith::ConstantIndexOp::create(gb, gl, v).getResult(); };
        SmallVector<Value> out;
        for (int64_t d = 0; d < 4; ++d)
          out.push_back(linalg::IndexOp::create(gb, gl, d));
        // The input row (column) of window offset `q` from output row
        // (column) `o`, and whether it lies inside the input.
        auto at = [&](Value o, int64_t q, int64_t stride, int64_t dilation, int64_t pad,
                      int64_t size) {
          Value first = arith::MulIOp::create(gb, gl, o, cst(stride));
          Value v = arith::AddIOp::create(gb, gl, first, cst(q * dilation - pad));
          Value low = arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::sge, v, cst(0));
          Value high = arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::slt, v, cst(size));
          return std::pair(v, arith::AndIOp::create(gb, gl, low, high).getResult());
        };
        // Whether input row (column) `v` lies inside the pads.
        auto inPads = [&](Value v, int64_t low, int64_t size, int64_t high) {
          Value lo = arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::sge, v, cst(-low));
          Value hi =
              arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::slt, v, cst(size + high));
          return arith::AndIOp::create(gb, gl, lo, hi).getResult();
        };
        Value pv = arith::ConstantOp::create(gb, gl, padValue);
        Value zero = cst(0);
        Value one = scalarConstant(gb, gl, elt, 1.0);
        Value none = scalarConstant(gb, gl, elt, 0.0);
        SmallVector<std::pair<Value, Value>> cols;
        for (int64_t j = 0; j < k[1]; ++j)
          cols.push_back(at(out[cd.w], j, s[1], dl[1], p[1], w));
        Value acc, count;
        for (int64_t i = 0; i < k[0]; ++i) {
          auto [y, yIn] = at(out[cd.h], i, s[0], dl[0], p[0], h);
          Value yPads = include ? inPads(y, p[0], h, p[2]) : Value();
          for (auto [x, xIn] : cols) {
            Value inside = arith::AndIOp::create(gb, gl, yIn, xIn);
            if (!isMax) {
              Value counted =
                  include ? arith::AndIOp::create(gb, gl, yPads, inPads(x, p[1], w, p[3]))
                          : inside;
              Value c = arith::SelectOp::create(gb, gl, counted, one, none);
              count = count ? arith::AddFOp::create(gb, gl, count, c).getResult() : c;
            }
            // Indices kept inside the input where the element is padding.
            SmallVector<Value> idx(out);
            idx[cd.h] = arith::SelectOp::create(gb, gl, inside, y, zero);
            idx[cd.w] = arith::SelectOp::create(gb, gl, inside, x, zero);
            Value v = tensor::ExtractOp::create(gb, gl, input, idx);
            v = arith::SelectOp::create(gb, gl, inside, v, pv);
            if (!acc)
              acc = v;
            else if (!isMax)
              acc = arith::AddFOp::create(gb, gl, acc, v);
            else if (isa<FloatType>(elt))
              acc = arith::MaximumFOp::create(gb, gl, acc, v);
            else
              acc = arith::MaxSIOp::create(gb, gl, acc, v);
          }
        }
        if (!isMax)
          acc = arith::DivFOp::create(gb, gl, acc, arith::MaximumFOp::create(gb, gl, count, one));
        linalg::YieldOp::create(gb, gl, acc);
      });
  return generic.getResult(0);
}

} // namespace

FailureOr<Value> cpu::lowerPool(OpBuilder &b, PoolOp op) {
  Location l = op.getLoc();
  auto in = op.getInput().getType();
  auto type = op.getType();
  Type elt = type.getElementType();
  bool isMax = op.getKind() == PoolKind::max;
  if (!isMax && !isa<FloatType>(elt))
    return op.emitError("average pooling needs a floating-point input");
  // The named max-pooling op compares signed.
  if (hasUnsignedOperands(op))
    return op.emitError("max pooling of unsigned integers is not supported");
  ArrayRef<int64_t> k = op.getKernel(), s = op.getStrides(), dl = op.getDilations(),
                    p = op.getPads();
  bool cl = op.getChannelsLast();
  ConvDims cd = convDims(cl);
  int64_t h = in.getShape()[cd.h], w = in.getShape()[cd.w];
  int64_t oh = type.getShape()[cd.h], ow = type.getShape()[cd.w];
  // Padding so every window (ceil mode included) stays inside the input.
  int64_t needH = (oh - 1) * s[0] + (k[0] - 1) * dl[0] + 1;
  int64_t needW = (ow - 1) * s[1] + (k[1] - 1) * dl[1] + 1;
  int64_t highH = std::max<int64_t>(0, needH - h - p[0]);
  int64_t highW = std::max<int64_t>(0, needW - w - p[1]);
  Value x = op.getInput();
  bool padded = p[0] || p[1] || highH || highW;
  if (padded && op->hasAttr(kGatherPaddingAttr))
    if (Value pooled = gatheredPool(b, op, isMax ? extremeValue(elt, false, false)
                                                 : cast<TypedAttr>(b.getZeroAttr(elt))))
      return pooled;
  if (padded) {
    Value pv = isMax ? (Value)arith::ConstantOp::create(b, l, extremeValue(elt, false, false))
                     : scalarConstant(b, l, elt, 0.0);
    SmallVector<OpFoldResult> lo(4, b.getIndexAttr(0)), hi(4, b.getIndexAttr(0));
    lo[cd.h] = b.getIndexAttr(p[0]);
    lo[cd.w] = b.getIndexAttr(p[1]);
    hi[cd.h] = b.getIndexAttr(highH);
    hi[cd.w] = b.getIndexAttr(highW);
    SmallVector<int64_t> padShape = llvm::to_vector(in.getShape());
    padShape[cd.h] = h + p[0] + highH;
    padShape[cd.w] = w + p[1] + highW;
    auto padType = RankedTensorType::get(padShape, elt);
    x = tensor::PadOp::create(b, l, padType, x, lo, hi, pv);
  }
  Value window = tensor::EmptyOp::create(b, l, k, elt);
  auto strides = b.getI64TensorAttr(s);
  auto dilations = b.getI64TensorAttr(dl);
  if (isMax) {
    Value init = filledWith(b, l, type, extremeValue(elt, false, false));
    if (cl)
      return linalg::PoolingNhwcMaxOp::create(b, l, TypeRange{type}, ValueRange{x, window},
                                              ValueRange{init}, strides, dilations)
          .getResult(0);
    return linalg::PoolingNchwMaxOp::create(b, l, TypeRange{type}, ValueRange{x, window},
                                            ValueRange{init}, strides, dilations)
        .getResult(0);
  }
  Value zero = filled(b, l, type, 0.0);
  Value sum = cl ? linalg::PoolingNhwcSumOp::create(b, l, TypeRange{type},
                                                    ValueRange{x, window}, ValueRange{zero},
                                                    strides, dilations)
                       .getResult(0)
                 : linalg::PoolingNchwSumOp::create(b, l, TypeRange{type},
                                                    ValueRange{x, window}, ValueRange{zero},
                                                    strides, dilations)
                       .getResult(0);
  // Divisors per output position, known at compile time.
  bool include = op.getCountIncludePad();
  SmallVector<float> counts(oh * ow);
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) {
      int64_t c = 0;
      for (int64_t a = 0; a < k[0]; ++a)
        for (int64_t bb = 0; bb < k[1]; ++bb) {
          int64_t y = i * s[0] + a * dl[0] - p[0], xx = j * s[1] + bb * dl[1] - p[1];
          bool inReal = y >= 0 && y < h && xx >= 0 && xx < w;
          bool inPadded = y >= -p[0] && y < h + p[2] && xx >= -p[1] && xx < w + p[3];
          c += include ? inPadded : inReal;
        }
      counts[i * ow + j] = (float)std::max<int64_t>(c, 1);
    }
  // [OH, OW] broadcasts against NCHW from the right; NHWC needs [OH, OW, 1].
  auto countType = cl ? RankedTensorType::get({oh, ow, 1}, elt)
                      : RankedTensorType::get({oh, ow}, elt);
  Attribute countAttr;
  if (elt.isF32())
    countAttr = DenseElementsAttr::get(countType, ArrayRef<float>(counts));
  else {
    SmallVector<APFloat> vals;
    for (float c : counts) {
      APFloat f(c);
      bool lost;
      f.convert(cast<FloatType>(elt).getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      vals.push_back(f);
    }
    countAttr = DenseElementsAttr::get(countType, vals);
  }
  Value divisor = arith::ConstantOp::create(b, l, cast<TypedAttr>(countAttr));
  return buildBroadcastGeneric(b, l, type, ValueRange{sum, divisor},
                               [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                 return arith::DivFOp::create(nb, nl, a[0], a[1]);
                               });
}

