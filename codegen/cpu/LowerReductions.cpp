//===- LowerReductions.cpp - reductions, softmax, norms, arg -> linalg ----===//
//
// Ops that reduce along some dimensions, as linalg.generics with reduction
// iterators: weft.reduce (every ONNX Reduce* kind), softmax and
// log-softmax, layer normalization, and ArgMax/ArgMin.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/LowerStructured.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace weft;
using namespace weft::cpu;
using namespace weft::cpu::detail;

FailureOr<Value> cpu::detail::lowerReduce(OpBuilder &b, ReduceOp op) {
  Location l = op.getLoc();
  auto in = op.getInput().getType();
  Type elt = in.getElementType();
  ReduceKind kind = op.getKind();
  bool f = isFloat(elt);
  if (!f && kind != ReduceKind::sum && kind != ReduceKind::max &&
      kind != ReduceKind::min && kind != ReduceKind::prod &&
      kind != ReduceKind::sum_square && kind != ReduceKind::l1)
    return op.emitError("reduction '") << stringifyReduceKind(kind)
                                       << "' needs a floating-point input";
  int64_t rank = in.getRank();
  ArrayRef<int64_t> axes = op.getAxes();
  auto reduced = [&](int64_t i) { return axes.empty() || llvm::is_contained(axes, i); };
  // Accumulate into the shape without kept unit dims, then restore them.
  SmallVector<int64_t> accShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<IT> iters;
  int64_t count = 1;
  for (int64_t i = 0; i < rank; ++i) {
    if (reduced(i)) {
      iters.push_back(IT::reduction);
      count *= in.getShape()[i];
    } else {
      iters.push_back(IT::parallel);
      accShape.push_back(in.getShape()[i]);
      outExprs.push_back(getAffineDimExpr(i, b.getContext()));
    }
  }
  auto accType = RankedTensorType::get(accShape, elt);
  bool u = hasUnsignedOperands(op);
  Value init;
  if (kind == ReduceKind::max || kind == ReduceKind::min)
    init = filledWith(b, l, accType, extremeValue(elt, kind == ReduceKind::min, u));
  else
    init = filled(b, l, accType, kind == ReduceKind::prod ? 1.0 : 0.0);
  AffineMap inMap = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  AffineMap accMap = AffineMap::get(rank, 0, outExprs, b.getContext());
  SmallVector<AffineMap> maps = {inMap, accMap};
  SmallVector<Value> inputs = {op.getInput()};
  // log(sum(exp(x))) = m + log(sum(exp(x - m))) with m the finite max (0
  // when the max is +-inf or NaN), so large inputs do not overflow.
  Value shift;
  if (kind == ReduceKind::log_sum_exp) {
    Value max = linalg::GenericOp::create(
                    b, l, TypeRange{accType}, ValueRange{op.getInput()},
                    ValueRange{filledWith(b, l, accType, extremeValue(elt, false, false))},
                    maps, iters,
                    [&](OpBuilder &nb, Location nl, ValueRange a) {
                      linalg::YieldOp::create(
                          nb, nl, arith::MaximumFOp::create(nb, nl, a[1], a[0]).getResult());
                    })
                    .getResult(0);
    shift = buildBroadcastGeneric(
        b, l, accType, max, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value inf = arith::ConstantOp::create(nb, nl, extremeValue(elt, true, false));
          Value finite = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT,
                                               math::AbsFOp::create(nb, nl, a[0]), inf);
          return arith::SelectOp::create(nb, nl, finite, a[0],
                                         scalarConstant(nb, nl, elt, 0.0));
        });
    inputs.push_back(shift);
    maps.insert(maps.begin() + 1, accMap);
  }
  Value acc = linalg::GenericOp::create(
                  b, l, TypeRange{accType}, inputs,
                  ValueRange{init}, maps, iters,
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value x = a[0], r = a.back(), out;
                    switch (kind) {
                    case ReduceKind::max:
                      out = f   ? (Value)arith::MaximumFOp::create(nb, nl, r, x)
                            : u ? (Value)arith::MaxUIOp::create(nb, nl, r, x)
                                : arith::MaxSIOp::create(nb, nl, r, x);
                      break;
                    case ReduceKind::min:
                      out = f   ? (Value)arith::MinimumFOp::create(nb, nl, r, x)
                            : u ? (Value)arith::MinUIOp::create(nb, nl, r, x)
                                : arith::MinSIOp::create(nb, nl, r, x);
                      break;
                    case ReduceKind::prod:
                      out = mul(nb, nl, r, x);
                      break;
                    case ReduceKind::l1:
                      out = add(nb, nl, r,
                                f   ? (Value)math::AbsFOp::create(nb, nl, x)
                                : u ? x
                                    : intAbs(nb, nl, x));
                      break;
                    case ReduceKind::l2:
                    case ReduceKind::sum_square:
                      out = add(nb, nl, r, mul(nb, nl, x, x));
                      break;
                    case ReduceKind::log_sum_exp:
                      out = add(nb, nl, r,
                                math::ExpOp::create(nb, nl,
                                                    arith::SubFOp::create(nb, nl, x, a[1])));
                      break;
                    default:
                      out = add(nb, nl, r, x);
                    }
                    linalg::YieldOp::create(nb, nl, out);
                  })
                  .getResult(0);
  if (kind == ReduceKind::mean || kind == ReduceKind::l2 ||
      kind == ReduceKind::log_sum || kind == ReduceKind::log_sum_exp)
    acc = buildBroadcastGeneric(
        b, l, accType, acc, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          if (kind == ReduceKind::mean)
            return arith::DivFOp::create(nb, nl, a[0],
                                         scalarConstant(nb, nl, elt, (double)count));
          if (kind == ReduceKind::l2)
            return math::SqrtOp::create(nb, nl, a[0]);
          return math::LogOp::create(nb, nl, a[0]);
        });
  if (shift)
    acc = buildBroadcastGeneric(b, l, accType, ValueRange{acc, shift},
                                [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                                  return arith::AddFOp::create(nb, nl, a[0], a[1]);
                                });
  if (accType == op.getType())
    return acc;
  // keepdims: the kept unit dims join their neighbours.
  SmallVector<ReassociationIndices> groups;
  auto outShape = op.getType().getShape();
  if (accShape.empty())
    return tensor::ExpandShapeOp::create(b, l, op.getType(), acc,
                                         ArrayRef<ReassociationIndices>{})
        .getResult();
  ReassociationIndices current;
  int64_t accDim = 0;
  for (int64_t i = 0; i < (int64_t)outShape.size(); ++i) {
    current.push_back(i);
    if (!reduced(i)) {
      ++accDim;
      bool lastKept = accDim == (int64_t)accShape.size();
      if (!lastKept) {
        groups.push_back(current);
        current.clear();
      }
    }
  }
  groups.push_back(current);
  return tensor::ExpandShapeOp::create(b, l, op.getType(), acc, groups).getResult();
}

namespace {

/// The loops of a reduction over the dimensions `reduced` of `type`: the
/// iterator types, the identity map, the map onto the kept dimensions and
/// the type of the reduced result (kept dimensions only).
struct ReductionLoops {
  SmallVector<IT> iters;
  AffineMap id, kept;
  RankedTensorType keptType;
};
ReductionLoops reductionLoops(RankedTensorType type, function_ref<bool(int64_t)> reduced,
                              MLIRContext *ctx) {
  ReductionLoops r;
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i) {
    r.iters.push_back(reduced(i) ? IT::reduction : IT::parallel);
    if (!reduced(i)) {
      shape.push_back(type.getShape()[i]);
      exprs.push_back(getAffineDimExpr(i, ctx));
    }
  }
  r.id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  r.kept = AffineMap::get(rank, 0, exprs, ctx);
  r.keptType = RankedTensorType::get(shape, type.getElementType());
  return r;
}

} // namespace

/// softmax(x) = exp(x - max) * (1 / sum(exp(x - max))); log-softmax
/// subtracts log(sum) instead.
FailureOr<Value> cpu::detail::lowerSoftmax(OpBuilder &b, SoftmaxOp op) {
  Location l = op.getLoc();
  auto type = op.getType();
  Type elt = type.getElementType();
  int64_t rank = type.getRank(), axis = op.getAxis();
  ReductionLoops loops =
      reductionLoops(type, [axis](int64_t i) { return i == axis; }, b.getContext());
  auto redType = loops.keptType;
  AffineMap id = loops.id, red = loops.kept;
  SmallVector<IT> &iters = loops.iters;
  Value x = op.getInput();
  Value max = linalg::GenericOp::create(
                  b, l, TypeRange{redType}, ValueRange{x},
                  ValueRange{filledWith(b, l, redType, extremeValue(elt, false, false))},
                  ArrayRef<AffineMap>{id, red}, iters,
                  [](OpBuilder &nb, Location nl, ValueRange a) {
                    linalg::YieldOp::create(nb, nl,
                                            arith::MaximumFOp::create(nb, nl, a[1], a[0]).getResult());
                  })
                  .getResult(0);
  Value sum = linalg::GenericOp::create(
                  b, l, TypeRange{redType}, ValueRange{x, max},
                  ValueRange{filled(b, l, redType, 0.0)},
                  ArrayRef<AffineMap>{id, red, red}, iters,
                  [](OpBuilder &nb, Location nl, ValueRange a) {
                    Value e = math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                    linalg::YieldOp::create(nb, nl, arith::AddFOp::create(nb, nl, a[2], e).getResult());
                  })
                  .getResult(0);
  SmallVector<IT> par(rank, IT::parallel);
  bool log = op.getLog();
  // Softmax multiplies by 1 / sum, computed once per row, instead of a
  // division per element (bert_base's 12 x 128 x 128 softmax: 0.355 ->
  // 0.334 ms on an AVX-512 Xeon). Log-softmax subtracts log(sum).
  Value rowFactor = sum;
  if (!log) {
    int64_t keptRank = redType.getRank();
    AffineMap keptId = AffineMap::getMultiDimIdentityMap(keptRank, b.getContext());
    rowFactor = linalg::GenericOp::create(
                    b, l, TypeRange{redType}, ValueRange{sum},
                    ValueRange{emptyLike(b, l, redType)}, ArrayRef<AffineMap>{keptId, keptId},
                    SmallVector<IT>(keptRank, IT::parallel),
                    [](OpBuilder &nb, Location nl, ValueRange a) {
                      Value one = scalarConstant(nb, nl, a[0].getType(), 1.0);
                      linalg::YieldOp::create(
                          nb, nl, arith::DivFOp::create(nb, nl, one, a[0]).getResult());
                    })
                    .getResult(0);
  }
  return linalg::GenericOp::create(
             b, l, TypeRange{type}, ValueRange{x, max, rowFactor},
             ValueRange{emptyLike(b, l, type)}, ArrayRef<AffineMap>{id, red, red, id}, par,
             [log](OpBuilder &nb, Location nl, ValueRange a) {
               Value shifted = arith::SubFOp::create(nb, nl, a[0], a[1]);
               Value r = log ? (Value)arith::SubFOp::create(nb, nl, shifted,
                                                            math::LogOp::create(nb, nl, a[2]))
                             : mul(nb, nl, math::ExpOp::create(nb, nl, shifted), a[2]);
               linalg::YieldOp::create(nb, nl, r);
             })
      .getResult(0);
}

/// Layer normalization as four generics over the same rows: the sum of each
/// row, the sum of squared deviations from its mean, the row's mean and
/// 1 / sqrt(variance + epsilon), then the normalized, scaled and shifted
/// elements. The two reductions run along the row (innermost when axis is
/// the last dimension), which the kernel config vectorizes.
FailureOr<Value> cpu::detail::lowerLayerNorm(OpBuilder &b, LayerNormOp op) {
  Location l = op.getLoc();
  auto type = op.getType();
  Type elt = type.getElementType();
  int64_t rank = type.getRank(), axis = op.getAxis();
  MLIRContext *ctx = b.getContext();
  int64_t count = 1;
  for (int64_t d : type.getShape().drop_front(axis))
    count *= d;
  ReductionLoops loops = reductionLoops(type, [axis](int64_t i) { return i >= axis; }, ctx);
  auto rowType = loops.keptType;
  AffineMap id = loops.id, row = loops.kept;
  SmallVector<IT> &iters = loops.iters;
  Value x = op.getInput();
  Value sum = linalg::GenericOp::create(
                  b, l, TypeRange{rowType}, ValueRange{x}, ValueRange{filled(b, l, rowType, 0.0)},
                  ArrayRef<AffineMap>{id, row}, iters,
                  [](OpBuilder &nb, Location nl, ValueRange a) {
                    linalg::YieldOp::create(nb, nl, add(nb, nl, a[1], a[0]));
                  })
                  .getResult(0);
  auto constant = [&](OpBuilder &nb, Location nl, double v) -> Value {
    return arith::ConstantOp::create(nb, nl, nb.getFloatAttr(elt, v));
  };
  double inverseCount = 1.0 / (double)count;
  Value squares = linalg::GenericOp::create(
                      b, l, TypeRange{rowType}, ValueRange{x, sum},
                      ValueRange{filled(b, l, rowType, 0.0)}, ArrayRef<AffineMap>{id, row, row},
                      iters,
                      [&](OpBuilder &nb, Location nl, ValueRange a) {
                        Value mean = mul(nb, nl, a[1], constant(nb, nl, inverseCount));
                        Value d = arith::SubFOp::create(nb, nl, a[0], mean);
                        linalg::YieldOp::create(nb, nl, add(nb, nl, a[2], mul(nb, nl, d, d)));
                      })
                      .getResult(0);
  // Per row: mean and 1 / sqrt(variance + epsilon).
  AffineMap rowId = AffineMap::getMultiDimIdentityMap(axis, ctx);
  double epsilon = op.getEpsilon().convertToDouble();
  auto stats = linalg::GenericOp::create(
      b, l, TypeRange{rowType, rowType}, ValueRange{sum, squares},
      ValueRange{emptyLike(b, l, rowType), emptyLike(b, l, rowType)},
      SmallVector<AffineMap>(4, rowId), SmallVector<IT>(axis, IT::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value mean = mul(nb, nl, a[0], constant(nb, nl, inverseCount));
        Value var = add(nb, nl, mul(nb, nl, a[1], constant(nb, nl, inverseCount)),
                        constant(nb, nl, epsilon));
        Value inv = arith::DivFOp::create(nb, nl, constant(nb, nl, 1.0),
                                          math::SqrtOp::create(nb, nl, var));
        linalg::YieldOp::create(nb, nl, ValueRange{mean, inv});
      });
  // Scale and bias align with the trailing dimensions; a size-1 one
  // broadcasts.
  auto trailingMap = [&](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t d = rank - t.getRank() + i;
      exprs.push_back(t.getShape()[i] == 1 && type.getShape()[d] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(d, ctx));
    }
    return AffineMap::get(rank, 0, exprs, ctx);
  };
  SmallVector<Value> ins = {x, stats.getResult(0), stats.getResult(1), op.getScale()};
  SmallVector<AffineMap> maps = {id, row, row, trailingMap(op.getScale())};
  if (Value bias = op.getBias()) {
    ins.push_back(bias);
    maps.push_back(trailingMap(bias));
  }
  maps.push_back(id);
  bool hasBias = (bool)op.getBias();
  return linalg::GenericOp::create(
             b, l, TypeRange{type}, ins, ValueRange{emptyLike(b, l, type)}, maps,
             SmallVector<IT>(rank, IT::parallel),
             [hasBias](OpBuilder &nb, Location nl, ValueRange a) {
               Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
               Value y = mul(nb, nl, mul(nb, nl, d, a[2]), a[3]);
               if (hasBias)
                 y = add(nb, nl, y, a[4]);
               linalg::YieldOp::create(nb, nl, y);
             })
      .getResult(0);
}

/// ArgMax/ArgMin: one generic reducing the axis into a running extreme and
/// its i64 index. A strict comparison keeps the first index of a tie,
/// a non-strict one (select_last_index) the last. The first element seeds
/// the extreme, so a NaN there wins and a NaN elsewhere never does, as in
/// onnxruntime.
Value cpu::detail::lowerArg(OpBuilder &b, Operation *op, Value input, int64_t axis,
                              bool selectLast, bool isMax) {
  Location l = op->getLoc();
  auto in = cast<RankedTensorType>(input.getType());
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  Type elt = in.getElementType();
  bool f = isFloat(elt), u = hasUnsignedOperands(op) || elt.isInteger(1);
  int64_t rank = in.getRank();
  SmallVector<AffineExpr> outExprs;
  SmallVector<IT> iters;
  for (int64_t i = 0; i < rank; ++i) {
    iters.push_back(i == axis ? IT::reduction : IT::parallel);
    if (i != axis)
      outExprs.push_back(b.getAffineDimExpr(i));
  }
  auto valueType = RankedTensorType::get(outType.getShape(), elt);
  Value initValue = filledWith(b, l, valueType, extremeValue(elt, !isMax, u));
  Value initIndex = filled(b, l, outType, 0.0);
  AffineMap inMap = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, b.getContext());
  auto generic = linalg::GenericOp::create(
      b, l, TypeRange{valueType, outType}, ValueRange{input}, ValueRange{initValue, initIndex},
      ArrayRef<AffineMap>{inMap, outMap, outMap}, iters,
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value x = a[0], best = a[1], index = a[2];
        Value better;
        if (f) {
          arith::CmpFPredicate p = isMax ? (selectLast ? arith::CmpFPredicate::OGE
                                                       : arith::CmpFPredicate::OGT)
                                         : (selectLast ? arith::CmpFPredicate::OLE
                                                       : arith::CmpFPredicate::OLT);
          better = arith::CmpFOp::create(nb, nl, p, x, best);
        } else {
          arith::CmpIPredicate p;
          if (isMax)
            p = selectLast ? (u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge)
                           : (u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt);
          else
            p = selectLast ? (u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle)
                           : (u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt);
          better = arith::CmpIOp::create(nb, nl, p, x, best);
        }
        Value i = arith::IndexCastOp::create(nb, nl, nb.getI64Type(),
                                             linalg::IndexOp::create(nb, nl, axis));
        // The first element seeds the running extreme whatever it is.
        Value first = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, i,
                                            arith::ConstantIntOp::create(nb, nl, 0, 64));
        better = arith::OrIOp::create(nb, nl, better, first);
        linalg::YieldOp::create(nb, nl,
                                ValueRange{arith::SelectOp::create(nb, nl, better, x, best),
                                           arith::SelectOp::create(nb, nl, better, i, index)});
      });
  return generic.getResult(1);
}
