//===- LowerIndexing.cpp - indexing, run-time sizes -> linalg, scf -------===//
//
// Ops that move elements by run-time indices. Gathers are parallel
// linalg.generics that read their data with tensor.extract at clamped
// indices (a row gather marked for the vectorizer); scatters and TopK's
// indices are serial scf loop nests over a copy of the data, so
// duplicates and ties resolve as a sequential reference would. NonZero and
// NonMaxSuppression, whose results are sized at run time, are serial loops
// too, writing a result padded to its bound and the count beside it;
// weft.compact packs such a padded result in the run-time shape's order.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/LowerStructured.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace weft;
using namespace weft::cpu;
using namespace weft::cpu::detail;

namespace {

/// A run-time index (i32 or i64) into a dimension of size `dim`, as an
/// index: negative values count from the end, and anything still outside
/// [0, dim) is clamped to it, so no index reads outside the tensor.
Value clampedIndex(OpBuilder &b, Location l, Value raw, int64_t dim) {
  Value i = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value size = arith::ConstantIndexOp::create(b, l, dim);
  Value negative = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(b, l, negative, arith::AddIOp::create(b, l, i, size), i);
  Value top = arith::ConstantIndexOp::create(b, l, std::max<int64_t>(dim - 1, 0));
  return arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, i, zero), top);
}

/// A generic over `type` whose only input is `indices` (read through
/// `indexMap`, or not at all when null) and whose body reads `data` at the
/// coordinates `coords` computes from the loop indices and that input.
/// `rowContiguous` marks it a row gather (kRowGatherAttr): the innermost loop
/// walks the innermost data dimension.
Value indexedRead(OpBuilder &b, Location l, RankedTensorType type, Value data, Value indices,
                  AffineMap indexMap, bool rowContiguous,
                  function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange, Value)> coords) {
  int64_t rank = type.getRank();
  SmallVector<AffineMap> maps;
  SmallVector<Value> ins;
  if (indexMap) {
    ins.push_back(indices);
    maps.push_back(indexMap);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
  auto generic = linalg::GenericOp::create(
      b, l, TypeRange{type}, ins, ValueRange{emptyLike(b, l, type)}, maps,
      SmallVector<IT>(rank, IT::parallel), [&](OpBuilder &nb, Location nl, ValueRange args) {
        SmallVector<Value> ivs;
        for (int64_t i = 0; i < rank; ++i)
          ivs.push_back(linalg::IndexOp::create(nb, nl, i));
        Value index = indexMap ? args[0] : Value();
        Value v = tensor::ExtractOp::create(nb, nl, data, coords(nb, nl, ivs, index));
        linalg::YieldOp::create(nb, nl, v);
      });
  if (rowContiguous && rank > 0)
    generic->setAttr(kRowGatherAttr, b.getUnitAttr());
  return generic.getResult(0);
}

} // namespace

Value cpu::detail::lowerGather(OpBuilder &b, GatherOp op) {
  auto data = op.getData().getType();
  int64_t axis = op.getAxis(), q = op.getIndices().getType().getRank();
  auto type = op.getType();
  // Slices of rows (an embedding lookup) are copied a vector at a time. The
  // vectorizer sees a row's source as contiguous only when its index is
  // loop-invariant, which a generic input is not: rows read their index
  // with tensor.extract instead.
  bool rows = axis + 1 < data.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < q; ++i)
    exprs.push_back(b.getAffineDimExpr(axis + i));
  AffineMap map = rows ? AffineMap() : AffineMap::get(type.getRank(), 0, exprs, b.getContext());
  return indexedRead(b, op.getLoc(), type, op.getData(), op.getIndices(), map, rows,
                     [&](OpBuilder &nb, Location nl, ValueRange ivs, Value index) {
                       if (!index)
                         index = tensor::ExtractOp::create(nb, nl, op.getIndices(),
                                                           ivs.slice(axis, q));
                       SmallVector<Value> c(ivs.take_front(axis));
                       c.push_back(clampedIndex(nb, nl, index, data.getShape()[axis]));
                       llvm::append_range(c, ivs.drop_front(axis + q));
                       return c;
                     });
}

Value cpu::detail::lowerGatherElements(OpBuilder &b, GatherElementsOp op) {
  auto data = op.getData().getType();
  int64_t axis = op.getAxis();
  auto type = op.getType();
  AffineMap map = AffineMap::getMultiDimIdentityMap(type.getRank(), b.getContext());
  return indexedRead(b, op.getLoc(), type, op.getData(), op.getIndices(), map,
                     /*rowContiguous=*/false,
                     [&](OpBuilder &nb, Location nl, ValueRange ivs, Value index) {
                       SmallVector<Value> c(ivs);
                       c[axis] = clampedIndex(nb, nl, index, data.getShape()[axis]);
                       return c;
                     });
}

Value cpu::detail::lowerGatherND(OpBuilder &b, GatherNDOp op) {
  auto data = op.getData().getType();
  auto indices = op.getIndices().getType();
  int64_t batch = op.getBatchDims(), q = indices.getRank(), k = indices.getShape().back();
  bool rows = batch + k < data.getRank();
  return indexedRead(b, op.getLoc(), op.getType(), op.getData(), Value(), AffineMap(), rows,
                     [&](OpBuilder &nb, Location nl, ValueRange ivs, Value) {
                       // Loop dims [0, q-1) walk the index tuples, the rest
                       // the trailing data dims.
                       SmallVector<Value> c(ivs.take_front(batch));
                       SmallVector<Value> at(ivs.take_front(q - 1));
                       at.push_back(Value());
                       for (int64_t j = 0; j < k; ++j) {
                         at.back() = arith::ConstantIndexOp::create(nb, nl, j);
                         Value raw = tensor::ExtractOp::create(nb, nl, op.getIndices(), at);
                         c.push_back(clampedIndex(nb, nl, raw, data.getShape()[batch + j]));
                       }
                       llvm::append_range(c, ivs.drop_front(q - 1));
                       return c;
                     });
}

namespace {

/// An update combined with the element it lands on, for a scatter's
/// reduction. Max and min keep the old element only when it compares above
/// (below) the update, so a NaN update replaces it and a NaN element is
/// replaced, as in onnxruntime; bool adds as or and multiplies as and.
Value scatterCombine(OpBuilder &b, Location l, ScatterReduction r, Value old, Value upd,
                     bool isUnsigned) {
  Type t = old.getType();
  bool f = isFloat(t), i1 = t.isInteger(1);
  switch (r) {
  case ScatterReduction::none:
    return upd;
  case ScatterReduction::add:
    return i1 ? (Value)arith::OrIOp::create(b, l, old, upd) : add(b, l, old, upd);
  case ScatterReduction::mul:
    return i1 ? (Value)arith::AndIOp::create(b, l, old, upd) : mul(b, l, old, upd);
  case ScatterReduction::max:
  case ScatterReduction::min: {
    bool isMax = r == ScatterReduction::max;
    Value keep;
    if (f)
      keep = arith::CmpFOp::create(b, l, isMax ? arith::CmpFPredicate::OGT
                                               : arith::CmpFPredicate::OLT, old, upd);
    else if (isUnsigned || i1)
      keep = arith::CmpIOp::create(b, l, isMax ? arith::CmpIPredicate::ugt
                                               : arith::CmpIPredicate::ult, old, upd);
    else
      keep = arith::CmpIOp::create(b, l, isMax ? arith::CmpIPredicate::sgt
                                               : arith::CmpIPredicate::slt, old, upd);
    return arith::SelectOp::create(b, l, keep, old, upd);
  }
  }
  return upd;
}

SmallVector<Value> indexConstants(OpBuilder &b, Location l, ArrayRef<int64_t> values) {
  SmallVector<Value> out;
  for (int64_t v : values)
    out.push_back(arith::ConstantIndexOp::create(b, l, v));
  return out;
}

/// A scatter: a copy of `data`, then a serial loop nest over `loopShape`
/// that writes (or combines) one update per iteration at the coordinates
/// `target` computes from the loop indices. One workgroup runs it, in
/// order, so duplicates resolve as a sequential reference would.
Value serialScatter(OpBuilder &b, Operation *op, Value data, ArrayRef<int64_t> outerShape,
                    ArrayRef<int64_t> innerShape, ScatterReduction reduction,
                    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> outer,
                    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange,
                                                    ValueRange)> target,
                    function_ref<Value(OpBuilder &, Location, ValueRange, ValueRange)> update) {
  Location l = op->getLoc();
  auto type = cast<RankedTensorType>(data.getType());
  bool u = hasUnsignedOperands(op);
  Value copy = linalg::CopyOp::create(b, l, data, emptyLike(b, l, type)).getResult(0);
  SmallVector<int64_t> zerosO(outerShape.size(), 0), onesO(outerShape.size(), 1);
  SmallVector<int64_t> zerosI(innerShape.size(), 0), onesI(innerShape.size(), 1);
  scf::LoopNest nest = scf::buildLoopNest(
      b, l, indexConstants(b, l, zerosO), indexConstants(b, l, outerShape),
      indexConstants(b, l, onesO), ValueRange{copy},
      [&](OpBuilder &ob, Location ol, ValueRange ovs, ValueRange acc) -> scf::ValueVector {
        // Work shared by the inner loop (reading an index tuple).
        SmallVector<Value> shared = outer(ob, ol, ovs);
        scf::LoopNest inner = scf::buildLoopNest(
            ob, ol, indexConstants(ob, ol, zerosI), indexConstants(ob, ol, innerShape),
            indexConstants(ob, ol, onesI), acc,
            [&](OpBuilder &ib, Location il, ValueRange ivs, ValueRange cur) -> scf::ValueVector {
              SmallVector<Value> at = target(ib, il, shared, ivs);
              Value upd = update(ib, il, ovs, ivs);
              if (reduction != ScatterReduction::none) {
                Value old = tensor::ExtractOp::create(ib, il, cur[0], at);
                upd = scatterCombine(ib, il, reduction, old, upd, u);
              }
              return {tensor::InsertOp::create(ib, il, upd, cur[0], at).getResult()};
            });
        return {inner.results[0]};
      });
  return nest.results[0];
}

} // namespace

Value cpu::detail::lowerScatterND(OpBuilder &b, ScatterNDOp op) {
  auto data = op.getData().getType();
  auto indices = op.getIndices().getType();
  int64_t k = indices.getShape().back();
  SmallVector<int64_t> outer(indices.getShape().drop_back());
  SmallVector<int64_t> inner(data.getShape().drop_front(k));
  return serialScatter(
      b, op, op.getData(), outer, inner, op.getReduction(),
      [&](OpBuilder &nb, Location nl, ValueRange ovs) {
        SmallVector<Value> coords, at(ovs);
        at.push_back(Value());
        for (int64_t j = 0; j < k; ++j) {
          at.back() = arith::ConstantIndexOp::create(nb, nl, j);
          Value raw = tensor::ExtractOp::create(nb, nl, op.getIndices(), at);
          coords.push_back(clampedIndex(nb, nl, raw, data.getShape()[j]));
        }
        return coords;
      },
      [&](OpBuilder &, Location, ValueRange coords, ValueRange ivs) {
        SmallVector<Value> at(coords);
        llvm::append_range(at, ivs);
        return at;
      },
      [&](OpBuilder &nb, Location nl, ValueRange ovs, ValueRange ivs) -> Value {
        SmallVector<Value> at(ovs);
        llvm::append_range(at, ivs);
        return tensor::ExtractOp::create(nb, nl, op.getUpdates(), at);
      });
}

Value cpu::detail::lowerScatterElements(OpBuilder &b, ScatterElementsOp op) {
  auto data = op.getData().getType();
  int64_t axis = op.getAxis();
  SmallVector<int64_t> outer(op.getIndices().getType().getShape());
  return serialScatter(
      b, op, op.getData(), outer, {}, op.getReduction(),
      [&](OpBuilder &nb, Location nl, ValueRange ovs) {
        SmallVector<Value> at(ovs);
        Value raw = tensor::ExtractOp::create(nb, nl, op.getIndices(), ovs);
        at[axis] = clampedIndex(nb, nl, raw, data.getShape()[axis]);
        return at;
      },
      [&](OpBuilder &, Location, ValueRange coords, ValueRange) {
        return SmallVector<Value>(coords);
      },
      [&](OpBuilder &nb, Location nl, ValueRange ovs, ValueRange) -> Value {
        return tensor::ExtractOp::create(nb, nl, op.getUpdates(), ovs);
      });
}

/// TopK's indices: for each row along the axis, k selection passes, pass j
/// picking the first element in the order (value, then index) that comes
/// after pass j-1's pick. O(n k) compares per row, serial, no scratch.
Value cpu::detail::lowerTopK(OpBuilder &b, TopKOp op) {
  Location l = op.getLoc();
  auto in = op.getInput().getType();
  auto type = op.getType();
  Type elt = in.getElementType();
  int64_t axis = op.getAxis(), k = op.getK(), n = in.getShape()[axis];
  bool largest = op.getLargest(), f = isFloat(elt);
  bool u = hasUnsignedOperands(op) || elt.isInteger(1);
  // a strictly before b by value.
  auto better = [&](OpBuilder &nb, Location nl, Value a, Value c) -> Value {
    if (!f) {
      auto p = largest ? (u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt)
                       : (u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt);
      return arith::CmpIOp::create(nb, nl, p, a, c);
    }
    // NaN ranks above every number: first for largest, last for smallest.
    Value cmp = arith::CmpFOp::create(nb, nl, largest ? arith::CmpFPredicate::OGT
                                                      : arith::CmpFPredicate::OLT, a, c);
    Value hi = largest ? a : c, lo = largest ? c : a;
    Value hiNaN = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNO, hi, hi);
    Value loNum = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::ORD, lo, lo);
    return arith::OrIOp::create(nb, nl, cmp, arith::AndIOp::create(nb, nl, hiNaN, loNum));
  };
  auto same = [&](OpBuilder &nb, Location nl, Value a, Value c) -> Value {
    if (!f)
      return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, a, c);
    Value eq = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, a, c);
    Value aNaN = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNO, a, a);
    Value cNaN = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNO, c, c);
    return arith::OrIOp::create(nb, nl, eq, arith::AndIOp::create(nb, nl, aNaN, cNaN));
  };
  auto before = [&](OpBuilder &nb, Location nl, Value av, Value ai, Value cv, Value ci) {
    Value lower = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, ai, ci);
    return arith::OrIOp::create(
        nb, nl, better(nb, nl, av, cv),
        arith::AndIOp::create(nb, nl, same(nb, nl, av, cv), lower));
  };
  SmallVector<int64_t> rows(type.getShape());
  rows[axis] = 1;
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value one = arith::ConstantIndexOp::create(b, l, 1);
  Value none = arith::ConstantIndexOp::create(b, l, -1);
  Value seed = arith::ConstantOp::create(b, l, cast<TypedAttr>(b.getZeroAttr(elt)));
  scf::LoopNest nest = scf::buildLoopNest(
      b, l, indexConstants(b, l, SmallVector<int64_t>(rows.size(), 0)),
      indexConstants(b, l, rows), indexConstants(b, l, SmallVector<int64_t>(rows.size(), 1)),
      ValueRange{emptyLike(b, l, type)},
      [&](OpBuilder &rb, Location rl, ValueRange row, ValueRange acc) -> scf::ValueVector {
        auto passes = scf::ForOp::create(
            rb, rl, zero, arith::ConstantIndexOp::create(rb, rl, k), one,
            ValueRange{acc[0], none, seed},
            [&](OpBuilder &pb, Location pl, Value j, ValueRange st) {
              Value first = arith::CmpIOp::create(pb, pl, arith::CmpIPredicate::eq, j, zero);
              auto scan = scf::ForOp::create(
                  pb, pl, zero, arith::ConstantIndexOp::create(pb, pl, n), one,
                  ValueRange{none, seed},
                  [&](OpBuilder &sb, Location sl, Value i, ValueRange best) {
                    SmallVector<Value> at(row);
                    at[axis] = i;
                    Value x = tensor::ExtractOp::create(sb, sl, op.getInput(), at);
                    Value eligible = arith::OrIOp::create(
                        sb, sl, first, before(sb, sl, st[2], st[1], x, i));
                    Value empty =
                        arith::CmpIOp::create(sb, sl, arith::CmpIPredicate::slt, best[0], zero);
                    Value wins = arith::OrIOp::create(sb, sl, empty,
                                                      before(sb, sl, x, i, best[1], best[0]));
                    Value take = arith::AndIOp::create(sb, sl, eligible, wins);
                    scf::YieldOp::create(
                        sb, sl,
                        ValueRange{arith::SelectOp::create(sb, sl, take, i, best[0]),
                                   arith::SelectOp::create(sb, sl, take, x, best[1])});
                  });
              Value pick = scan.getResult(0);
              SmallVector<Value> at(row);
              at[axis] = j;
              Value asI64 = arith::IndexCastOp::create(pb, pl, pb.getI64Type(), pick);
              Value next = tensor::InsertOp::create(pb, pl, asI64, st[0], at);
              scf::YieldOp::create(pb, pl, ValueRange{next, pick, scan.getResult(1)});
            });
        return {passes.getResult(0)};
      });
  return nest.results[0];
}

namespace {

Value indexToI64(OpBuilder &b, Location l, Value i) {
  return arith::IndexCastOp::create(b, l, b.getI64Type(), i);
}

/// An i64 scalar from a 0-d tensor, as an index clamped to [0, hi].
Value clampedExtent(OpBuilder &b, Location l, Value scalar, int64_t hi) {
  Value v = arith::IndexCastOp::create(
      b, l, b.getIndexType(), tensor::ExtractOp::create(b, l, scalar, ValueRange{}));
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value top = arith::ConstantIndexOp::create(b, l, hi);
  return arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, v, zero), top);
}

Value zerosLike(OpBuilder &b, Location l, RankedTensorType type) {
  Value zero = arith::ConstantOp::create(b, l, cast<TypedAttr>(b.getZeroAttr(type.getElementType())));
  return linalg::FillOp::create(b, l, zero, emptyLike(b, l, type)).getResult(0);
}

} // namespace

/// One serial pass over the elements in row-major order: every element's
/// coordinates are written at column `count`, which advances past nonzero
/// ones only, so no branch is taken and no write lands past the element.
Value cpu::detail::lowerNonZero(OpBuilder &b, NonZeroOp op) {
  Location l = op.getLoc();
  auto in = op.getInput().getType();
  auto type = op.getType();
  int64_t rank = type.getShape()[0] - 1, n = in.getNumElements();
  Type elt = in.getElementType();
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value one = arith::ConstantIndexOp::create(b, l, 1);
  // Dims sized at run time: coordinates at or past the size are padding.
  SmallVector<std::pair<int64_t, Value>> sized;
  for (auto [k, d] : llvm::enumerate(op.getDims()))
    sized.push_back({d, clampedExtent(b, l, op.getExtents()[k], in.getShape()[d])});
  auto loop = scf::ForOp::create(
      b, l, zero, arith::ConstantIndexOp::create(b, l, n), one,
      ValueRange{zerosLike(b, l, type), zero},
      [&](OpBuilder &nb, Location nl, Value i, ValueRange acc) {
        SmallVector<Value> coords(in.getRank());
        Value rest = i;
        for (int64_t d = in.getRank() - 1; d >= 0; --d) {
          Value size = arith::ConstantIndexOp::create(nb, nl, in.getShape()[d]);
          coords[d] = arith::RemUIOp::create(nb, nl, rest, size);
          rest = arith::DivUIOp::create(nb, nl, rest, size);
        }
        Value x = tensor::ExtractOp::create(nb, nl, op.getInput(), coords);
        Value nz;
        if (isFloat(elt))
          nz = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNE, x,
                                     arith::ConstantOp::create(nb, nl, cast<TypedAttr>(nb.getZeroAttr(elt))));
        else
          nz = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne, x,
                                     arith::ConstantOp::create(nb, nl, cast<TypedAttr>(nb.getZeroAttr(elt))));
        for (auto [d, size] : sized)
          nz = arith::AndIOp::create(
              nb, nl, nz, arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, coords[d], size));
        Value out = acc[0];
        for (int64_t d = 0; d < rank; ++d) {
          Value c = in.getRank() ? coords[d] : zero;
          out = tensor::InsertOp::create(nb, nl, indexToI64(nb, nl, c), out,
                                         ValueRange{arith::ConstantIndexOp::create(nb, nl, d), acc[1]});
        }
        Value count = arith::AddIOp::create(
            nb, nl, acc[1], arith::SelectOp::create(nb, nl, nz, one, zero));
        scf::YieldOp::create(nb, nl, ValueRange{out, count});
      });
  return tensor::InsertOp::create(b, l, indexToI64(b, l, loop.getResult(1)), loop.getResult(0),
                                  ValueRange{arith::ConstantIndexOp::create(b, l, rank), zero});
}

/// Per batch and class: the candidates above the score threshold go into a
/// binary heap, then are taken best first, each kept unless it overlaps a
/// box kept before it for the class (the check stops at the first that
/// does), against a table of every box's corners and area made first.
/// O(candidates log candidates + steps x kept) per class, serial.
Value cpu::detail::lowerNonMaxSuppression(OpBuilder &b, NonMaxSuppressionOp op) {
  Location l = op.getLoc();
  auto boxesT = op.getBoxes().getType();
  auto scoresT = op.getScores().getType();
  auto type = op.getType();
  int64_t B = boxesT.getShape()[0], N = boxesT.getShape()[1], C = scoresT.getShape()[1];
  int64_t rows = type.getShape()[0];
  bool center = op.getCenterPointBox();
  auto cst = [&](OpBuilder &nb, Location nl, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(nb, nl, v);
  };
  Value zero = cst(b, l, 0), one = cst(b, l, 1);
  Value maxPer = clampedExtent(b, l, op.getMaxPerClass(), op.getBoundPerClass());
  Value numBoxes = clampedExtent(b, l, op.getNumBoxes(), N);
  Value iouT = tensor::ExtractOp::create(b, l, op.getIouThreshold(), ValueRange{});
  Value scoreT = tensor::ExtractOp::create(b, l, op.getScoreThreshold(), ValueRange{});
  Type i64 = b.getI64Type();
  auto candType = RankedTensorType::get({std::max<int64_t>(N, 1)}, i64);
  Value cands = emptyLike(b, l, candType);

  using P = arith::CmpFPredicate;
  auto fcmp = [](OpBuilder &nb, Location nl, P p, Value x, Value y) -> Value {
    return arith::CmpFOp::create(nb, nl, p, x, y);
  };
  // [xmin, ymin, xmax, ymax] of box `i` of batch `bi`.
  auto cornersOf = [&](OpBuilder &nb, Location nl, Value bi, Value i) {
    SmallVector<Value> v;
    for (int64_t k = 0; k < 4; ++k)
      v.push_back(tensor::ExtractOp::create(nb, nl, op.getBoxes(), ValueRange{bi, i, cst(nb, nl, k)}));
    if (center) {
      Value half = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.5f));
      Value hw = arith::MulFOp::create(nb, nl, v[2], half);
      Value hh = arith::MulFOp::create(nb, nl, v[3], half);
      return SmallVector<Value>{arith::SubFOp::create(nb, nl, v[0], hw),
                                arith::SubFOp::create(nb, nl, v[1], hh),
                                arith::AddFOp::create(nb, nl, v[0], hw),
                                arith::AddFOp::create(nb, nl, v[1], hh)};
    }
    return SmallVector<Value>{arith::MinimumFOp::create(nb, nl, v[1], v[3]),
                              arith::MinimumFOp::create(nb, nl, v[0], v[2]),
                              arith::MaximumFOp::create(nb, nl, v[1], v[3]),
                              arith::MaximumFOp::create(nb, nl, v[0], v[2])};
  };
  // Every box's corners and area, computed once: [B, N, 5].
  auto tableType = RankedTensorType::get({B, N, 5}, b.getF32Type());
  scf::LoopNest fill = scf::buildLoopNest(
      b, l, ValueRange{zero, zero}, ValueRange{cst(b, l, B), cst(b, l, N)}, ValueRange{one, one},
      ValueRange{emptyLike(b, l, tableType)},
      [&](OpBuilder &nb, Location nl, ValueRange bn, ValueRange acc) -> scf::ValueVector {
        SmallVector<Value> c = cornersOf(nb, nl, bn[0], bn[1]);
        c.push_back(arith::MulFOp::create(nb, nl, arith::SubFOp::create(nb, nl, c[2], c[0]),
                                          arith::SubFOp::create(nb, nl, c[3], c[1])));
        Value t = acc[0];
        for (auto [k, v] : llvm::enumerate(c))
          t = tensor::InsertOp::create(nb, nl, v, t, ValueRange{bn[0], bn[1], cst(nb, nl, k)});
        return {t};
      });
  Value table = fill.results[0];
  // [xmin, ymin, xmax, ymax, area] of box `i` of batch `bi`.
  auto corners = [&](OpBuilder &nb, Location nl, Value bi, Value i) {
    SmallVector<Value> v;
    for (int64_t k = 0; k < 5; ++k)
      v.push_back(tensor::ExtractOp::create(nb, nl, table, ValueRange{bi, i, cst(nb, nl, k)}));
    return v;
  };
  // Whether boxes p and q overlap by more than the threshold; boxes of no
  // area, or no intersection, never do.
  auto suppresses = [&](OpBuilder &nb, Location nl, ArrayRef<Value> p, ArrayRef<Value> q) {
    Value zf = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.0f));
    Value ix0 = arith::MaximumFOp::create(nb, nl, p[0], q[0]);
    Value iy0 = arith::MaximumFOp::create(nb, nl, p[1], q[1]);
    Value ix1 = arith::MinimumFOp::create(nb, nl, p[2], q[2]);
    Value iy1 = arith::MinimumFOp::create(nb, nl, p[3], q[3]);
    Value inter = arith::MulFOp::create(nb, nl, arith::SubFOp::create(nb, nl, ix1, ix0),
                                        arith::SubFOp::create(nb, nl, iy1, iy0));
    Value a1 = p[4], a2 = q[4];
    Value uni = arith::SubFOp::create(nb, nl, arith::AddFOp::create(nb, nl, a1, a2), inter);
    Value iou = arith::DivFOp::create(nb, nl, inter, uni);
    Value ok = fcmp(nb, nl, P::OGT, ix1, ix0);
    for (Value c : {fcmp(nb, nl, P::OGT, iy1, iy0), fcmp(nb, nl, P::OGT, inter, zf),
                    fcmp(nb, nl, P::OGT, a1, zf), fcmp(nb, nl, P::OGT, a2, zf),
                    fcmp(nb, nl, P::OGT, uni, zf), fcmp(nb, nl, P::OGT, iou, iouT)})
      ok = arith::AndIOp::create(nb, nl, ok, c);
    return ok;
  };

  // A NaN threshold (the input omitted) admits every box.
  Value noThreshold = fcmp(b, l, P::UNO, scoreT, scoreT);
  scf::LoopNest nest = scf::buildLoopNest(
      b, l, ValueRange{zero, zero}, ValueRange{cst(b, l, B), cst(b, l, C)}, ValueRange{one, one},
      ValueRange{zerosLike(b, l, type), zero, cands},
      [&](OpBuilder &ob, Location ol, ValueRange bc, ValueRange acc) -> scf::ValueVector {
        Value bi = bc[0], ci = bc[1];
        auto score = [&](OpBuilder &nb, Location nl, Value i) -> Value {
          return tensor::ExtractOp::create(nb, nl, op.getScores(), ValueRange{bi, ci, i});
        };
        auto candidate = [&](OpBuilder &nb, Location nl, Value heap, Value j) -> Value {
          Value raw = tensor::ExtractOp::create(nb, nl, heap, ValueRange{j});
          return arith::IndexCastOp::create(nb, nl, nb.getIndexType(), raw);
        };
        // Box p goes before box q: a higher score, or the same and a lower index.
        auto before = [&](OpBuilder &nb, Location nl, Value p, Value q) -> Value {
          Value sp = score(nb, nl, p), sq = score(nb, nl, q);
          return arith::OrIOp::create(
              nb, nl, fcmp(nb, nl, P::OGT, sp, sq),
              arith::AndIOp::create(
                  nb, nl, fcmp(nb, nl, P::OEQ, sp, sq),
                  arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, p, q)));
        };
        // Moves heap entry i down until both children (below n) come after it.
        auto siftDown = [&](OpBuilder &nb, Location nl, Value heap, Value start, Value n) -> Value {
          Type idx = nb.getIndexType();
          auto loop = scf::WhileOp::create(
              nb, nl, TypeRange{heap.getType(), idx, nb.getI1Type()},
              ValueRange{heap, start, arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true))},
              [&](OpBuilder &cb, Location cl, ValueRange st) {
                scf::ConditionOp::create(cb, cl, st[2], st);
              },
              [&](OpBuilder &wb, Location wl, ValueRange st) {
                Value i = st[1];
                Value best = i, bestBox = candidate(wb, wl, st[0], i);
                for (int64_t k = 1; k <= 2; ++k) {
                  Value child = arith::AddIOp::create(
                      wb, wl, arith::MulIOp::create(wb, wl, i, cst(wb, wl, 2)), cst(wb, wl, k));
                  Value inside = arith::CmpIOp::create(wb, wl, arith::CmpIPredicate::ult, child, n);
                  // Read a child past the end as the entry itself (never better).
                  Value at = arith::SelectOp::create(wb, wl, inside, child, i);
                  Value box = candidate(wb, wl, st[0], at);
                  Value wins = arith::AndIOp::create(wb, wl, inside, before(wb, wl, box, bestBox));
                  best = arith::SelectOp::create(wb, wl, wins, at, best);
                  bestBox = arith::SelectOp::create(wb, wl, wins, box, bestBox);
                }
                Value moves = arith::CmpIOp::create(wb, wl, arith::CmpIPredicate::ne, best, i);
                Value mine = tensor::ExtractOp::create(wb, wl, st[0], ValueRange{i});
                Value theirs = tensor::ExtractOp::create(wb, wl, st[0], ValueRange{best});
                Value h = tensor::InsertOp::create(wb, wl, theirs, st[0], ValueRange{i});
                h = tensor::InsertOp::create(wb, wl, mine, h, ValueRange{best});
                scf::YieldOp::create(wb, wl, ValueRange{h, best, moves});
              });
          return loop.getResult(0);
        };
        auto list = scf::ForOp::create(
            ob, ol, zero, numBoxes, one, ValueRange{acc[2], zero},
            [&](OpBuilder &nb, Location nl, Value i, ValueRange st) {
              Value above = arith::OrIOp::create(nb, nl, noThreshold,
                                                 fcmp(nb, nl, P::OGT, score(nb, nl, i), scoreT));
              Value next = tensor::InsertOp::create(nb, nl, indexToI64(nb, nl, i), st[0],
                                                    ValueRange{st[1]});
              Value k = arith::AddIOp::create(nb, nl, st[1],
                                              arith::SelectOp::create(nb, nl, above, one, zero));
              scf::YieldOp::create(nb, nl, ValueRange{next, k});
            });
        // A binary max-heap of the candidates (by score, then lower
        // index), as onnxruntime's priority queue: built bottom-up once.
        Value count = list.getResult(1);
        Value half = arith::DivUIOp::create(ob, ol, count, cst(ob, ol, 2));
        auto heap = scf::ForOp::create(
            ob, ol, zero, half, one, ValueRange{list.getResult(0)},
            [&](OpBuilder &hb, Location hl, Value j, ValueRange h) {
              Value i = arith::SubIOp::create(hb, hl, arith::SubIOp::create(hb, hl, half, one), j);
              scf::YieldOp::create(hb, hl, ValueRange{siftDown(hb, hl, h[0], i, count)});
            });
        // (result, total, candidates, candidate count, selected in class)
        SmallVector<Value> init{acc[0], acc[1], heap.getResult(0), count, zero};
        SmallVector<Type> types = llvm::to_vector(ValueRange(init).getTypes());
        auto loop = scf::WhileOp::create(
            ob, ol, types, init,
            [&](OpBuilder &nb, Location nl, ValueRange st) {
              Value more = arith::AndIOp::create(
                  nb, nl, arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ugt, st[3], zero),
                  arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, st[4], maxPer));
              scf::ConditionOp::create(nb, nl, more, st);
            },
            [&](OpBuilder &nb, Location nl, ValueRange st) {
              // The heap's top is the best candidate; its last entry takes
              // its place and sinks.
              Value pick = candidate(nb, nl, st[2], zero);
              Value last = arith::SubIOp::create(nb, nl, st[3], one);
              Value remaining = tensor::InsertOp::create(
                  nb, nl, tensor::ExtractOp::create(nb, nl, st[2], ValueRange{last}), st[2],
                  ValueRange{zero});
              remaining = siftDown(nb, nl, remaining, zero, last);
              SmallVector<Value> box = corners(nb, nl, bi, pick);
              Value firstOfClass = arith::SubIOp::create(nb, nl, st[1], st[4]);
              Value total = st[1];
              auto check = scf::WhileOp::create(
                  nb, nl, TypeRange{nb.getIndexType(), nb.getI1Type()},
                  ValueRange{firstOfClass, arith::ConstantOp::create(nb, nl, nb.getBoolAttr(false))},
                  [&](OpBuilder &cb, Location cl, ValueRange c) {
                    Value more = arith::AndIOp::create(
                        cb, cl, arith::CmpIOp::create(cb, cl, arith::CmpIPredicate::ult, c[0], total),
                        arith::XOrIOp::create(cb, cl, c[1],
                                              arith::ConstantOp::create(cb, cl, cb.getBoolAttr(true))));
                    scf::ConditionOp::create(cb, cl, more, c);
                  },
                  [&](OpBuilder &sb, Location sl, ValueRange c) {
                    Value other = arith::IndexCastOp::create(
                        sb, sl, sb.getIndexType(),
                        tensor::ExtractOp::create(sb, sl, st[0], ValueRange{c[0], cst(sb, sl, 2)}));
                    Value hit = suppresses(sb, sl, box, corners(sb, sl, bi, other));
                    scf::YieldOp::create(sb, sl, ValueRange{arith::AddIOp::create(sb, sl, c[0], one), hit});
                  });
              Value keep = arith::XOrIOp::create(
                  nb, nl, check.getResult(1), arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true)));
              Value zi = arith::ConstantOp::create(nb, nl, nb.getI64IntegerAttr(0));
              Value out = st[0];
              for (auto [k, v] : llvm::enumerate(SmallVector<Value>{bi, ci, pick}))
                out = tensor::InsertOp::create(
                    nb, nl, arith::SelectOp::create(nb, nl, keep, indexToI64(nb, nl, v), zi), out,
                    ValueRange{st[1], cst(nb, nl, k)});
              Value inc = arith::SelectOp::create(nb, nl, keep, one, zero);
              scf::YieldOp::create(nb, nl,
                                   ValueRange{out, arith::AddIOp::create(nb, nl, st[1], inc), remaining,
                                              last, arith::AddIOp::create(nb, nl, st[4], inc)});
            });
        return {loop.getResult(0), loop.getResult(1), loop.getResult(2)};
      });
  return tensor::InsertOp::create(b, l, indexToI64(b, l, nest.results[1]), nest.results[0],
                                  ValueRange{cst(b, l, rows - 1), zero});
}

/// A gather whose coordinates unravel the flat position in the run-time
/// shape; positions past its element count read nothing and give zero.
Value cpu::detail::lowerCompact(OpBuilder &b, CompactOp op) {
  Location l = op.getLoc();
  auto type = op.getType();
  int64_t rank = type.getRank();
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(arith::ConstantIndexOp::create(b, l, type.getShape()[d]));
  for (auto [k, d] : llvm::enumerate(op.getDims()))
    sizes[d] = clampedExtent(b, l, op.getExtents()[k], type.getShape()[d]);
  Value one = arith::ConstantIndexOp::create(b, l, 1);
  Value total = one;
  SmallVector<Value> divisors;
  for (Value s : sizes) {
    total = arith::MulIOp::create(b, l, total, s);
    divisors.push_back(arith::MaxUIOp::create(b, l, s, one));
  }
  Value zero = arith::ConstantOp::create(b, l, cast<TypedAttr>(b.getZeroAttr(type.getElementType())));
  auto generic = linalg::GenericOp::create(
      b, l, TypeRange{type}, ValueRange{}, ValueRange{emptyLike(b, l, type)},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
      SmallVector<IT>(rank, IT::parallel), [&](OpBuilder &nb, Location nl, ValueRange) {
        Value flat = arith::ConstantIndexOp::create(nb, nl, 0);
        for (int64_t d = 0; d < rank; ++d)
          flat = arith::AddIOp::create(
              nb, nl,
              arith::MulIOp::create(nb, nl, flat,
                                    arith::ConstantIndexOp::create(nb, nl, type.getShape()[d])),
              linalg::IndexOp::create(nb, nl, d));
        Value valid = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, flat, total);
        SmallVector<Value> coords(rank);
        Value rest = flat;
        for (int64_t d = rank - 1; d >= 0; --d) {
          coords[d] = arith::RemUIOp::create(nb, nl, rest, divisors[d]);
          rest = arith::DivUIOp::create(nb, nl, rest, divisors[d]);
        }
        // Past the count the coordinates may leave the tensor: read element 0.
        Value origin = arith::ConstantIndexOp::create(nb, nl, 0);
        for (Value &c : coords)
          c = arith::SelectOp::create(nb, nl, valid, c, origin);
        Value v = tensor::ExtractOp::create(nb, nl, op.getInput(), coords);
        linalg::YieldOp::create(nb, nl, ValueRange{arith::SelectOp::create(nb, nl, valid, v, zero)});
      });
  return generic.getResult(0);
}

/// Serial, O(n x distinct x slice): each slice is compared with the first
/// occurrence of every distinct slice so far; sorted order then comes from
/// each distinct slice's rank (how many compare below it).
Value cpu::detail::lowerUnique(OpBuilder &b, UniqueOp op) {
  Location l = op.getLoc();
  auto in = op.getInput().getType();
  auto type = op.getType();
  int64_t axis = op.getAxis(), n = in.getShape()[axis], m = type.getShape()[1];
  Type elt = in.getElementType();
  bool f = isFloat(elt), u = hasUnsignedOperands(op) || elt.isInteger(1);
  SmallVector<int64_t> others;
  int64_t sliceSize = 1;
  for (int64_t d = 0; d < in.getRank(); ++d)
    if (d != axis) {
      others.push_back(d);
      sliceSize *= in.getShape()[d];
    }
  auto cst = [](OpBuilder &nb, Location nl, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(nb, nl, v);
  };
  Value zero = cst(b, l, 0), one = cst(b, l, 1);
  Value falseV = arith::ConstantOp::create(b, l, b.getBoolAttr(false));
  Value trueV = arith::ConstantOp::create(b, l, b.getBoolAttr(true));
  // Element e (row-major over the other dims) of slice `s`.
  auto read = [&](OpBuilder &nb, Location nl, Value s, Value e) -> Value {
    SmallVector<Value> at(in.getRank());
    at[axis] = s;
    Value rest = e;
    for (int64_t k = others.size() - 1; k >= 0; --k) {
      Value size = cst(nb, nl, in.getShape()[others[k]]);
      at[others[k]] = arith::RemUIOp::create(nb, nl, rest, size);
      rest = arith::DivUIOp::create(nb, nl, rest, size);
    }
    return tensor::ExtractOp::create(nb, nl, op.getInput(), at);
  };
  // (slice p before slice q, p equal to q), lexicographically.
  auto compare = [&](OpBuilder &nb, Location nl, Value p, Value q) -> std::pair<Value, Value> {
    auto loop = scf::ForOp::create(
        nb, nl, zero, cst(nb, nl, sliceSize), one, ValueRange{falseV, falseV},
        [&](OpBuilder &eb, Location el, Value e, ValueRange st) {
          Value a = read(eb, el, p, e), c = read(eb, el, q, e);
          Value lt, ne;
          if (f) {
            lt = arith::CmpFOp::create(eb, el, arith::CmpFPredicate::OLT, a, c);
            ne = arith::CmpFOp::create(eb, el, arith::CmpFPredicate::UNE, a, c);
          } else {
            lt = arith::CmpIOp::create(eb, el, u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt,
                                       a, c);
            ne = arith::CmpIOp::create(eb, el, arith::CmpIPredicate::ne, a, c);
          }
          scf::YieldOp::create(eb, el,
                               ValueRange{arith::OrIOp::create(eb, el, st[0], ne),
                                          arith::SelectOp::create(eb, el, st[0], st[1], lt)});
        });
    Value equal = arith::XOrIOp::create(nb, nl, loop.getResult(0), trueV);
    return {loop.getResult(1), equal};
  };
  auto at = [&](OpBuilder &nb, Location nl, Value t, int64_t row, Value col) -> Value {
    Value v = tensor::ExtractOp::create(nb, nl, t, ValueRange{cst(nb, nl, row), col});
    return arith::IndexCastOp::create(nb, nl, nb.getIndexType(), v);
  };
  auto put = [&](OpBuilder &nb, Location nl, Value t, int64_t row, Value col, Value v) -> Value {
    return tensor::InsertOp::create(nb, nl, indexToI64(nb, nl, v), t,
                                    ValueRange{cst(nb, nl, row), col});
  };

  auto first = scf::ForOp::create(
      b, l, zero, cst(b, l, n), one, ValueRange{zerosLike(b, l, type), zero},
      [&](OpBuilder &nb, Location nl, Value i, ValueRange st) {
        auto find = scf::ForOp::create(
            nb, nl, zero, st[1], one, ValueRange{falseV, zero},
            [&](OpBuilder &fb, Location fl, Value k, ValueRange found) {
              Value eq = compare(fb, fl, at(fb, fl, st[0], 0, k), i).second;
              Value take = arith::AndIOp::create(
                  fb, fl, eq, arith::XOrIOp::create(fb, fl, found[0], trueV));
              scf::YieldOp::create(fb, fl,
                                   ValueRange{arith::OrIOp::create(fb, fl, found[0], eq),
                                              arith::SelectOp::create(fb, fl, take, k, found[1])});
            });
        Value seen = find.getResult(0);
        Value slot = arith::SelectOp::create(nb, nl, seen, find.getResult(1), st[1]);
        Value res = put(nb, nl, st[0], 0, slot,
                        arith::SelectOp::create(nb, nl, seen, at(nb, nl, st[0], 0, slot), i));
        res = put(nb, nl, res, 2, slot,
                  arith::AddIOp::create(nb, nl, at(nb, nl, res, 2, slot), one));
        res = put(nb, nl, res, 1, i, slot);
        Value count = arith::AddIOp::create(nb, nl, st[1],
                                            arith::SelectOp::create(nb, nl, seen, zero, one));
        scf::YieldOp::create(nb, nl, ValueRange{res, count});
      });
  Value res = first.getResult(0), count = first.getResult(1);
  if (op.getSorted()) {
    auto rankType = RankedTensorType::get({m}, b.getI64Type());
    auto ranks = scf::ForOp::create(
        b, l, zero, count, one, ValueRange{emptyLike(b, l, rankType)},
        [&](OpBuilder &nb, Location nl, Value k, ValueRange st) {
          Value mine = at(nb, nl, res, 0, k);
          auto below = scf::ForOp::create(
              nb, nl, zero, count, one, ValueRange{zero},
              [&](OpBuilder &cb, Location cl, Value t, ValueRange c) {
                Value less = compare(cb, cl, at(cb, cl, res, 0, t), mine).first;
                scf::YieldOp::create(
                    cb, cl, ValueRange{arith::AddIOp::create(
                                cb, cl, c[0], arith::SelectOp::create(cb, cl, less, one, zero))});
              });
          scf::YieldOp::create(nb, nl,
                               ValueRange{tensor::InsertOp::create(
                                   nb, nl, indexToI64(nb, nl, below.getResult(0)), st[0],
                                   ValueRange{k})});
        });
    Value rank = ranks.getResult(0);
    auto rankOf = [&](OpBuilder &nb, Location nl, Value k) -> Value {
      return arith::IndexCastOp::create(nb, nl, nb.getIndexType(),
                                        tensor::ExtractOp::create(nb, nl, rank, ValueRange{k}));
    };
    auto moved = scf::ForOp::create(
        b, l, zero, count, one, ValueRange{zerosLike(b, l, type)},
        [&](OpBuilder &nb, Location nl, Value k, ValueRange st) {
          Value r = rankOf(nb, nl, k);
          Value out = put(nb, nl, st[0], 0, r, at(nb, nl, res, 0, k));
          out = put(nb, nl, out, 2, r, at(nb, nl, res, 2, k));
          scf::YieldOp::create(nb, nl, ValueRange{out});
        });
    auto inverse = scf::ForOp::create(
        b, l, zero, cst(b, l, n), one, ValueRange{moved.getResult(0)},
        [&](OpBuilder &nb, Location nl, Value i, ValueRange st) {
          Value r = rankOf(nb, nl, at(nb, nl, res, 1, i));
          scf::YieldOp::create(nb, nl, ValueRange{put(nb, nl, st[0], 1, i, r)});
        });
    res = inverse.getResult(0);
  }
  return put(b, l, res, 3, zero, count);
}
