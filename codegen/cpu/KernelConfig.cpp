//===- KernelConfig.cpp - per-root kernel strategy for the CPU ----------===//
#include "codegen/cpu/KernelConfig.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"

using namespace mlir;
using namespace weft::cpu;

namespace {

/// Whether `map`'s last result is loop `d` (the dimension that is contiguous
/// in memory for an identity-layout tensor).
bool innermostIs(AffineMap map, int64_t d) {
  if (map.getNumResults() == 0)
    return false;
  auto e = dyn_cast<AffineDimExpr>(map.getResults().back());
  return e && (int64_t)e.getPosition() == d;
}

} // namespace

int64_t weft::cpu::firstDivisor(int64_t n, ArrayRef<int64_t> choices) {
  for (int64_t c : choices)
    if (c <= n && n % c == 0)
      return c;
  return 1;
}

std::optional<ContractionTiles>
weft::cpu::chooseContractionTiles(linalg::LinalgOp op, const TargetInfo &target) {
  if (!linalg::isaContractionOpInterface(op) || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 || dims->k.size() != 1)
    return std::nullopt;
  ContractionTiles t;
  t.bounds = op.getStaticLoopRanges();
  if (ShapedType::isDynamicShape(t.bounds))
    return std::nullopt;
  for (OpOperand &o : op->getOpOperands())
    if (!getElementTypeOrSelf(o.get().getType()).isF32())
      return std::nullopt;
  t.m = dims->m[0];
  t.n = dims->n[0];
  t.k = dims->k[0];
  t.batch.assign(dims->batch.begin(), dims->batch.end());
  // Vectors run along n: it must be contiguous in B and in the output.
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!innermostIs(maps[1], t.n) || !innermostIs(maps[2], t.n))
    return std::nullopt;
  int64_t vw = target.vectorWidth;
  int64_t n = t.bounds[t.n], m = t.bounds[t.m], k = t.bounds[t.k];
  if (n % vw != 0)
    return std::nullopt;
  t.nr = n % (2 * vw) == 0 ? 2 * vw : vw;
  // Accumulators take mr * nr / vw registers; leave room for the B vectors
  // and the broadcast A element.
  if (t.nr == 2 * vw)
    t.mr = firstDivisor(m, {8, 6, 4, 2, 1});
  else
    t.mr = firstDivisor(m, {16, 12, 8, 6, 4, 2, 1});
  // A reduction block keeps its B panel (kBlock x nr) in half of L1.
  int64_t maxBlock = std::max<int64_t>(1, target.l1Bytes / 2 / (t.nr * 4));
  t.kBlock = k;
  for (int64_t c = maxBlock; c >= 64; c /= 2)
    if (k % c == 0 && c < k) {
      t.kBlock = c;
      break;
    }
  return t;
}

std::optional<ConvTiles> weft::cpu::chooseConvTiles(linalg::LinalgOp op,
                                                    const TargetInfo &target) {
  ConvTiles t;
  if (isa<linalg::DepthwiseConv2DNhwcHwcOp>(op))
    t.depthwise = true;
  else if (op->hasAttr(kBlockedConvAttr))
    t.blocked = true;
  else if (!isa<linalg::Conv2DNhwcHwcfOp>(op))
    return std::nullopt;
  for (OpOperand &o : op->getOpOperands())
    if (!getElementTypeOrSelf(o.get().getType()).isF32())
      return std::nullopt;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (ShapedType::isDynamicShape(bounds))
    return std::nullopt;
  // Loops: (n, oh, ow, f, kh, kw, c), blocked (n, oh, ow, fb, fi, kh, kw, c)
  // or depthwise (n, oh, ow, c, kh, kw).
  int64_t ow = bounds[2], vw = target.vectorWidth;
  int64_t channels = t.blocked ? bounds[4] : bounds[3];
  if (t.blocked) {
    // A block is the register tile's width: two vectors, one, or half of
    // one (AVX2-wide on an AVX-512 machine).
    if (channels > 2 * vw || (channels % vw != 0 && channels != vw / 2))
      return std::nullopt;
    t.nr = channels;
  } else {
    if (channels % vw != 0)
      return std::nullopt;
    t.nr = channels % (2 * vw) == 0 ? 2 * vw : vw;
  }
  // mr * nr / vw accumulators plus the operands of one step stay within the
  // vector registers.
  t.mr = t.nr == 2 * vw ? firstDivisor(ow, {8, 7, 6, 5, 4, 3, 2})
                        : firstDivisor(ow, {14, 12, 8, 7, 6, 5, 4, 3, 2});
  if (t.blocked) {
    t.strideW = op->getAttrOfType<DenseI64ArrayAttr>(kBlockedConvAttr).asArrayRef()[1];
  } else {
    auto strides = op->getAttrOfType<DenseIntElementsAttr>("strides");
    t.strideW = strides ? strides.getValues<int64_t>()[1] : 1;
  }
  return t;
}

WorkgroupSplit weft::cpu::chooseWorkgroupSplit(Operation *op, ArrayRef<int64_t> bounds,
                                               const TargetInfo &target) {
  WorkgroupSplit split;
  split.granule.assign(bounds.size(), 1);
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  int64_t vw = target.vectorWidth;
  auto vectorGranule = [&](int64_t extent) -> int64_t {
    if (extent % (2 * vw) == 0)
      return 2 * vw;
    return extent % vw == 0 ? vw : 1;
  };
  if (std::optional<ConvTiles> conv =
          linalgOp ? chooseConvTiles(linalgOp, target) : std::nullopt) {
    // (n, oh, ow, f|c|fb, ...): columns stay whole (they are the register
    // tile's rows); channels split in whole vector pairs, filter blocks
    // (whole register tiles already) one by one.
    split.granule[3] = conv->blocked ? 1 : vectorGranule(bounds[3]);
    auto bytes = [](Value v) {
      auto t = cast<ShapedType>(v.getType());
      return t.getNumElements() * 4;
    };
    int64_t filterBytes = bytes(linalgOp.getDpsInputOperand(1)->get());
    int64_t inputBytes = bytes(linalgOp.getDpsInputOperand(0)->get());
    split.order = filterBytes > inputBytes ? SmallVector<int64_t>{3, 0, 1}
                                           : SmallVector<int64_t>{0, 1, 3};
    return split;
  }
  if (linalgOp) {
    if (std::optional<ContractionTiles> t = chooseContractionTiles(linalgOp, target)) {
      split.order.append(t->batch.begin(), t->batch.end());
      split.order.push_back(t->m);
      split.order.push_back(t->n);
      split.granule[t->m] = t->mr;
      split.granule[t->n] = t->nr;
      return split;
    }
  }
  for (int64_t d = 0; d < (int64_t)bounds.size(); ++d)
    split.order.push_back(d);
  return split;
}
