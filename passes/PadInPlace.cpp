//===- PadInPlace.cpp - weft-pad-in-place --------------------------------===//
//
// A convolution's (or max pooling's) padding is a dispatch of its own that
// copies its input into a larger buffer with a border of the padding value.
// When that input is computed by another dispatch and read by nothing else,
// the producer can write it straight into the interior of the padded
// buffer instead: its result becomes a strided view of that buffer
// (`weft.result_layouts`), and the pad dispatch writes only the border
// (`weft.pad_in_place`). The copy, a full read and write of the tensor,
// is gone; weft-plan-memory places the producer's result inside the
// padded buffer.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace weft {
#define GEN_PASS_DEF_PADINPLACE
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;

namespace {

/// The strides of a tensor of shape `to` that views, without copying, the
/// elements of a tensor of shape `from` laid out with `fromStrides` (the
/// same elements in row-major order): splitting a dimension always works,
/// merging dimensions only where they are contiguous with each other.
/// Unit dimensions take the stride they would have if contiguous.
std::optional<SmallVector<int64_t>> reshapeStrides(ArrayRef<int64_t> from,
                                                   ArrayRef<int64_t> fromStrides,
                                                   ArrayRef<int64_t> to) {
  // Drop unit dimensions of `from`: they take no part in the layout.
  SmallVector<int64_t> fs, fst;
  for (auto [size, stride] : llvm::zip(from, fromStrides))
    if (size != 1) {
      fs.push_back(size);
      fst.push_back(stride);
    }
  SmallVector<int64_t> result(to.size(), 1);
  int64_t i = (int64_t)to.size() - 1, j = (int64_t)fs.size() - 1;
  // The stride just outside what has been laid out so far, for unit dims.
  int64_t outer = 1;
  while (i >= 0) {
    if (to[i] == 1) {
      result[i--] = outer;
      continue;
    }
    if (j < 0)
      return std::nullopt;
    // Gather `from` dims (merging, contiguous ones only) and `to` dims
    // (splitting) until both sides cover the same number of elements.
    int64_t fromCount = fs[j], toCount = to[i];
    int64_t innerStride = fst[j];
    SmallVector<int64_t> toDims = {i};
    int64_t fj = j;
    while (fromCount != toCount) {
      if (fromCount < toCount) {
        if (fj == 0 || fst[fj - 1] != fst[fj] * fs[fj])
          return std::nullopt;
        --fj;
        fromCount *= fs[fj];
      } else {
        int64_t next = toDims.back() - 1;
        while (next >= 0 && to[next] == 1)
          --next;
        if (next < 0)
          return std::nullopt;
        toDims.push_back(next);
        toCount *= to[next];
      }
    }
    int64_t stride = innerStride;
    for (int64_t d = toDims.front(); d >= toDims.back(); --d) {
      if (to[d] == 1) {
        result[d] = stride;
        continue;
      }
      result[d] = stride;
      stride *= to[d];
    }
    outer = stride;
    i = toDims.back() - 1;
    j = fj - 1;
  }
  if (j >= 0)
    return std::nullopt;
  return result;
}

/// The one weft.pad a dispatch consists of, or null.
PadOp loneConstantPad(DispatchOp d) {
  Block &body = d.getBody().front();
  auto yield = cast<YieldOp>(body.getTerminator());
  if (d->getNumResults() != 1 || d.getInputs().size() != 1 || yield.getValues().size() != 1)
    return {};
  auto pad = yield.getValues()[0].getDefiningOp<PadOp>();
  if (!pad || pad.getInput() != body.getArgument(0) || &body.front() != pad.getOperation() ||
      pad->getNextNode() != yield.getOperation())
    return {};
  // Negative padding crops; none at all is a copy with no border to write.
  auto negative = [](int64_t v) { return v < 0; };
  auto positive = [](int64_t v) { return v > 0; };
  if (llvm::any_of(pad.getLow(), negative) || llvm::any_of(pad.getHigh(), negative) ||
      (llvm::none_of(pad.getLow(), positive) && llvm::none_of(pad.getHigh(), positive)))
    return {};
  auto in = dyn_cast<RankedTensorType>(pad.getInput().getType());
  auto out = dyn_cast<RankedTensorType>(pad.getType());
  if (!in || !out || !in.hasStaticShape() || !out.hasStaticShape() || in.getNumElements() == 0)
    return {};
  return pad;
}

/// Whether the producer's lowering writes `yielded` straight into its
/// output buffer through any strided view of it: the result of an
/// elementwise chain, or of a channels-last convolution and its epilogue,
/// in a dispatch of nothing else. (A matmul's epilogue, for one, is
/// computed on 2-D rows and expanded: a view of the padded interior
/// cannot be collapsed to those rows.)
bool writesThroughStridedView(DispatchOp producer, Value yielded) {
  Operation *def = yielded.getDefiningOp();
  if (!def || def->getBlock() != &producer.getBody().front())
    return false;
  auto isConv = [](Operation *op) {
    auto conv = dyn_cast<ConvOp>(op);
    return conv && conv->hasAttr("channels_last");
  };
  auto isElementwise = [](Operation *op) {
    return op->hasTrait<OpTrait::Elementwise>() || isBroadcastElementwise(op);
  };
  if (!isConv(def) && !isElementwise(def))
    return false;
  for (Operation &op : producer.getBody().front().without_terminator())
    if (!isa<ConstantOp>(op) && !isConv(&op) && !isElementwise(&op))
      return false;
  return true;
}

struct PadInPlacePass : weft::impl::PadInPlaceBase<PadInPlacePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    llvm::SmallPtrSet<Value, 8> returned(ret.getOperands().begin(), ret.getOperands().end());
    Builder b(&getContext());
    SmallVector<DispatchOp> pads;
    func.walk([&](DispatchOp d) {
      if (loneConstantPad(d))
        pads.push_back(d);
    });
    for (DispatchOp padDispatch : pads) {
      PadOp pad = loneConstantPad(padDispatch);
      if (returned.contains(padDispatch->getResult(0)))
        continue;
      // The input, through single-use reshapes, must be one result of a
      // dispatch in the same block that nothing else reads.
      Value v = padDispatch.getInputs()[0];
      SmallVector<ReshapeOp> reshapes;
      while (auto reshape = v.getDefiningOp<ReshapeOp>()) {
        reshapes.push_back(reshape);
        v = reshape.getInput();
      }
      auto producer = v.getDefiningOp<DispatchOp>();
      if (!producer || producer->getBlock() != padDispatch->getBlock() || returned.contains(v))
        continue;
      Value chainEnd = v;
      bool singleUse = true;
      for (ReshapeOp r : llvm::reverse(reshapes)) {
        singleUse = singleUse && chainEnd.hasOneUse() && r->getBlock() == padDispatch->getBlock();
        chainEnd = r.getResult();
      }
      if (!singleUse || !chainEnd.hasOneUse())
        continue;
      unsigned resultIndex = cast<OpResult>(v).getResultNumber();
      auto layouts = producer->getAttrOfType<ArrayAttr>(kResultLayoutsAttr);
      if (layouts && !isa<UnitAttr>(layouts[resultIndex]))
        continue;
      auto producerYield = cast<YieldOp>(producer.getBody().front().getTerminator());
      if (!writesThroughStridedView(producer, producerYield.getValues()[resultIndex]))
        continue;
      // The interior's strides are the padded tensor's; the producer's
      // result views them through the reshapes.
      auto in = cast<RankedTensorType>(pad.getInput().getType());
      auto out = cast<RankedTensorType>(pad.getType());
      auto resultType = cast<RankedTensorType>(v.getType());
      std::optional<SmallVector<int64_t>> strides =
          reshapeStrides(in.getShape(), computeSuffixProduct(out.getShape()), resultType.getShape());
      if (!strides)
        continue;
      SmallVector<Attribute> entries =
          layouts ? SmallVector<Attribute>(layouts.begin(), layouts.end())
                  : SmallVector<Attribute>(producer->getNumResults(), b.getUnitAttr());
      entries[resultIndex] = StridedLayoutAttr::get(&getContext(), /*offset=*/0, *strides);
      producer->setAttr(kResultLayoutsAttr, b.getArrayAttr(entries));
      padDispatch->setAttr(kPadInPlaceAttr, b.getUnitAttr());
      pad->setAttr(kPadInPlaceAttr, b.getUnitAttr());
    }
  }
};

} // namespace

OpResult weft::padInPlaceSource(DispatchOp padDispatch, int64_t &interiorBytes) {
  if (!padDispatch->hasAttr(kPadInPlaceAttr))
    return {};
  // The border-only lowering follows the pad's own mark: both must agree.
  PadOp pad = loneConstantPad(padDispatch);
  if (!pad || !pad->hasAttr(kPadInPlaceAttr))
    return {};
  Value v = padDispatch.getInputs()[0];
  while (auto reshape = v.getDefiningOp<ReshapeOp>())
    v = reshape.getInput();
  auto producer = v.getDefiningOp<DispatchOp>();
  if (!producer)
    return {};
  auto layouts = producer->getAttrOfType<ArrayAttr>(kResultLayoutsAttr);
  unsigned i = cast<OpResult>(v).getResultNumber();
  if (!layouts || layouts.size() != producer->getNumResults() ||
      !isa<StridedLayoutAttr>(layouts[i]))
    return {};
  auto out = cast<RankedTensorType>(pad.getType());
  SmallVector<int64_t> strides = computeSuffixProduct(out.getShape());
  int64_t elements = 0;
  for (auto [low, stride] : llvm::zip(pad.getLow(), strides))
    elements += low * stride;
  interiorBytes = elements * ((out.getElementTypeBitWidth() + 7) / 8);
  return cast<OpResult>(v);
}
