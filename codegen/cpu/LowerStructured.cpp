//===- LowerStructured.cpp - non-elementwise weft ops -> linalg -----------===//
//
// Non-elementwise weft ops. Named linalg ops are used where upstream tiling
// and vectorization know them (matmul, conv, pooling, transpose); everything
// else is a linalg.generic, so every dispatch root implements TilingInterface.
// This file dispatches on the op and lowers the data movement itself
// (constant, transpose, concat, pad, slice); each other family lowers in
// its own file: LowerContractions.cpp, LowerReductions.cpp,
// LowerIndexing.cpp and LowerPooling.cpp.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/LowerStructured.h"
#include "codegen/cpu/Passes.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace weft;
using namespace weft::cpu;
using namespace weft::cpu::detail;

namespace {

/// out[i] = in[start + i * step] (slice) or in-bounds(in[i - low]) ? .. : v
/// (pad), as a generic that reads its input with tensor.extract.
Value gatherGeneric(OpBuilder &b, Location l, RankedTensorType type, Value input,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> index,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> inBounds,
                    Value padValue, bool rowContiguous = false) {
  int64_t rank = type.getRank();
  SmallVector<IT> par(rank, IT::parallel);
  auto generic = linalg::GenericOp::create(
             b, l, TypeRange{type}, ValueRange{}, ValueRange{emptyLike(b, l, type)},
             ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
             par,
             [&](OpBuilder &nb, Location nl, ValueRange) {
               SmallVector<Value> ivs;
               for (int64_t i = 0; i < rank; ++i)
                 ivs.push_back(linalg::IndexOp::create(nb, nl, i));
               SmallVector<Value> src;
               for (int64_t i = 0; i < rank; ++i)
                 src.push_back(index(nb, nl, {ivs[i], arith::ConstantIndexOp::create(nb, nl, i)}));
               Value v = tensor::ExtractOp::create(nb, nl, input, src);
               if (inBounds)
                 v = arith::SelectOp::create(nb, nl, inBounds(nb, nl, ivs), v, padValue);
               linalg::YieldOp::create(nb, nl, v);
             });
  if (rowContiguous && rank > 0)
    generic->setAttr(kRowGatherAttr, b.getUnitAttr());
  return generic.getResult(0);
}

/// The border of a pad whose interior its input's producer already wrote
/// there (weft-pad-in-place): fills of the padding's slabs only, each
/// element once (dimension d's slabs span the interior of the dimensions
/// before it and all of the ones after it). The chain starts from an
/// empty tensor marked kPadInPlaceAttr, which outlining replaces with the
/// output buffer, the slabs' windows included, so the interior is left as
/// it is.
Value lowerPadBorder(OpBuilder &b, PadOp p, Value padValue) {
  Location l = p.getLoc();
  auto type = p.getType();
  ArrayRef<int64_t> shape = type.getShape(), low = p.getLow(), high = p.getHigh();
  Value acc = emptyLike(b, l, type);
  acc.getDefiningOp()->setAttr(kPadInPlaceAttr, b.getUnitAttr());
  int64_t rank = type.getRank();
  for (int64_t d = 0; d < rank; ++d) {
    for (auto [start, size] : {std::pair<int64_t, int64_t>{0, low[d]},
                               std::pair<int64_t, int64_t>{shape[d] - high[d], high[d]}}) {
      if (size == 0)
        continue;
      SmallVector<int64_t> offsets(rank, 0), sizes(shape), strides(rank, 1);
      for (int64_t e = 0; e < d; ++e) {
        offsets[e] = low[e];
        sizes[e] = shape[e] - low[e] - high[e];
      }
      offsets[d] = start;
      sizes[d] = size;
      if (llvm::is_contained(sizes, 0))
        continue;
      auto attrs = [&](ArrayRef<int64_t> v) { return getAsIndexOpFoldResult(b.getContext(), v); };
      Value slab = tensor::ExtractSliceOp::create(b, l, acc, attrs(offsets), attrs(sizes),
                                                  attrs(strides));
      Value filled = linalg::FillOp::create(b, l, padValue, slab).getResult(0);
      acc = tensor::InsertSliceOp::create(b, l, filled, acc, attrs(offsets), attrs(sizes),
                                          attrs(strides));
    }
  }
  return acc;
}

} // namespace

FailureOr<Value> cpu::lowerStructured(OpBuilder &b, Operation *op, bool &handled) {
  handled = true;
  Location l = op->getLoc();
  return TypeSwitch<Operation *, FailureOr<Value>>(op)
      .Case([&](ConstantOp c) -> FailureOr<Value> {
        return arith::ConstantOp::create(b, l, cast<TypedAttr>(c.getValue())).getResult();
      })
      .Case([&](MatMulOp m) { return lowerMatMul(b, m); })
      .Case([&](GemmOp g) { return lowerGemm(b, g); })
      .Case([&](ConvOp c) { return lowerConv(b, c); })
      .Case([&](PoolOp p) { return cpu::lowerPool(b, p); })
      .Case([&](ReduceOp r) { return lowerReduce(b, r); })
      .Case([&](SoftmaxOp s) { return lowerSoftmax(b, s); })
      .Case([&](LayerNormOp n) { return lowerLayerNorm(b, n); })
      .Case([&](TransposeOp t) -> FailureOr<Value> {
        return linalg::TransposeOp::create(b, l, t.getInput(),
                                           emptyLike(b, l, t.getType()), t.getPerm())
            .getResult()[0];
      })
      .Case([&](ConcatOp c) -> FailureOr<Value> {
        auto type = c.getType();
        Value acc = emptyLike(b, l, type);
        int64_t offset = 0, axis = c.getAxis();
        for (Value in : c.getInputs()) {
          auto t = cast<RankedTensorType>(in.getType());
          SmallVector<OpFoldResult> offs(type.getRank(), b.getIndexAttr(0));
          SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
          for (int64_t d : t.getShape())
            sizes.push_back(b.getIndexAttr(d));
          offs[axis] = b.getIndexAttr(offset);
          offset += t.getShape()[axis];
          acc = tensor::InsertSliceOp::create(b, l, in, acc, offs, sizes, strides);
        }
        return acc;
      })
      .Case([&](PadOp p) -> FailureOr<Value> {
        auto type = p.getType();
        auto in = p.getInput().getType();
        ArrayRef<int64_t> low = p.getLow();
        Value pv = arith::ConstantOp::create(b, l, p.getValue());
        if (p->hasAttr(kPadInPlaceAttr))
          return lowerPadBorder(b, p, pv);
        // Index pairs are (iv, dim) so one callback serves every dimension.
        // A dimension without padding reads the source at the output index
        // itself (no clamp, no bounds test), which keeps an unpadded
        // innermost dimension contiguous for the vectorizer.
        auto padded = [&](int64_t d) { return type.getShape()[d] != in.getShape()[d] || low[d] != 0; };
        auto index = [&](OpBuilder &nb, Location nl, ValueRange v) -> Value {
          int64_t d = cast<arith::ConstantIndexOp>(v[1].getDefiningOp()).value();
          if (!padded(d))
            return v[0];
          Value lo = arith::ConstantIndexOp::create(nb, nl, low[d]);
          Value s = arith::SubIOp::create(nb, nl, v[0], lo);
          Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
          Value top = arith::ConstantIndexOp::create(nb, nl, in.getShape()[d] - 1);
          return arith::MinSIOp::create(nb, nl, arith::MaxSIOp::create(nb, nl, s, zero), top);
        };
        auto inBounds = [&](OpBuilder &nb, Location nl, ValueRange ivs) -> Value {
          Value ok = arith::ConstantIntOp::create(nb, nl, 1, 1);
          for (int64_t d = 0; d < in.getRank(); ++d) {
            if (!padded(d))
              continue;
            Value lo = arith::ConstantIndexOp::create(nb, nl, low[d]);
            Value hi = arith::ConstantIndexOp::create(nb, nl, low[d] + in.getShape()[d]);
            Value ge = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, ivs[d], lo);
            Value lt = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, ivs[d], hi);
            ok = arith::AndIOp::create(nb, nl, ok, arith::AndIOp::create(nb, nl, ge, lt));
          }
          return ok;
        };
        int64_t last = type.getRank() - 1;
        return gatherGeneric(b, l, type, p.getInput(), index, inBounds, pv,
                             /*rowContiguous=*/last >= 0 && !padded(last));
      })
      .Case([&](SliceOp s) -> FailureOr<Value> {
        ArrayRef<int64_t> starts = s.getStarts(), steps = s.getSteps();
        // A slice that other ops of its dispatch read (the CUDA targets'
        // chains and matmul operands, weft-form-dispatches) is a view of
        // its input that they read in place: their indexing maps, not a
        // gather's computed indices, then address it.
        if (!s->use_empty() &&
            llvm::none_of(s->getUsers(), [](Operation *u) { return isa<YieldOp>(u); }) &&
            llvm::all_of(steps, [](int64_t step) { return step >= 1; }))
          return tensor::ExtractSliceOp::create(
                     b, l, s.getType(), s.getInput(), ValueRange{}, ValueRange{}, ValueRange{},
                     b.getDenseI64ArrayAttr(starts), b.getDenseI64ArrayAttr(s.getType().getShape()),
                     b.getDenseI64ArrayAttr(steps))
              .getResult();
        auto index = [&](OpBuilder &nb, Location nl, ValueRange v) -> Value {
          int64_t d = cast<arith::ConstantIndexOp>(v[1].getDefiningOp()).value();
          Value st = arith::ConstantIndexOp::create(nb, nl, starts[d]);
          Value sp = arith::ConstantIndexOp::create(nb, nl, steps[d]);
          return arith::AddIOp::create(nb, nl, st, arith::MulIOp::create(nb, nl, v[0], sp));
        };
        int64_t last = s.getType().getRank() - 1;
        return gatherGeneric(b, l, s.getType(), s.getInput(), index, nullptr, Value(),
                             /*rowContiguous=*/last >= 0 && steps[last] == 1);
      })
      .Case([&](ArgMaxOp a) -> FailureOr<Value> {
        return lowerArg(b, a, a.getInput(), a.getAxis(), a.getSelectLastIndex(), true);
      })
      .Case([&](ArgMinOp a) -> FailureOr<Value> {
        return lowerArg(b, a, a.getInput(), a.getAxis(), a.getSelectLastIndex(), false);
      })
      .Case([&](GatherOp g) -> FailureOr<Value> { return lowerGather(b, g); })
      .Case([&](GatherElementsOp g) -> FailureOr<Value> { return lowerGatherElements(b, g); })
      .Case([&](GatherNDOp g) -> FailureOr<Value> { return lowerGatherND(b, g); })
      .Case([&](ScatterNDOp s) -> FailureOr<Value> { return lowerScatterND(b, s); })
      .Case([&](ScatterElementsOp s) -> FailureOr<Value> { return lowerScatterElements(b, s); })
      .Case([&](TopKOp t) -> FailureOr<Value> { return lowerTopK(b, t); })
      .Case([&](NonZeroOp n) -> FailureOr<Value> { return lowerNonZero(b, n); })
      .Case([&](NonMaxSuppressionOp n) -> FailureOr<Value> { return lowerNonMaxSuppression(b, n); })
      .Case([&](CompactOp c) -> FailureOr<Value> { return lowerCompact(b, c); })
      .Case([&](UniqueOp un) -> FailureOr<Value> { return lowerUnique(b, un); })
      .Case([&](BatchNormOp bn) -> FailureOr<Value> {
        return bn.emitError("batch_norm must be decomposed before lowering");
      })
      .Default([&](Operation *) -> FailureOr<Value> {
        handled = false;
        return failure();
      });
}
