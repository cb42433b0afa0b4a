//===- LowerStructured.cpp - contractions, windows, reductions -> linalg --===//
//
// Non-elementwise weft ops. Named linalg ops are used where upstream tiling
// and vectorization know them (matmul, conv, pooling, transpose); everything
// else is a linalg.generic, so every dispatch root implements TilingInterface.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/KernelConfig.h"
#include "codegen/cpu/Lowering.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

using IT = utils::IteratorType;

bool isFloat(Type t) { return isa<FloatType>(t); }

Value add(OpBuilder &b, Location l, Value x, Value y) {
  return isFloat(x.getType()) ? (Value)arith::AddFOp::create(b, l, x, y)
                              : arith::AddIOp::create(b, l, x, y);
}
Value mul(OpBuilder &b, Location l, Value x, Value y) {
  return isFloat(x.getType()) ? (Value)arith::MulFOp::create(b, l, x, y)
                              : arith::MulIOp::create(b, l, x, y);
}


/// Broadcast `bias` (shape broadcastable to `type`, or empty) into a new
/// tensor, scaled by `beta`; zeros without a bias. Serves as a matmul/conv
/// accumulator so the bias costs no extra pass over the output.
Value accumulatorInit(OpBuilder &b, Location l, RankedTensorType type,
                      Value bias, double beta, ArrayRef<int64_t> biasDims = {}) {
  if (!bias)
    return filled(b, l, type, 0.0);
  auto bt = cast<RankedTensorType>(bias.getType());
  if (biasDims.empty())
    return buildBroadcastGeneric(b, l, type, bias,
                                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                                   if (beta == 1.0)
                                     return a[0];
                                   return mul(nb, nl, a[0],
                                              scalarConstant(nb, nl, bt.getElementType(), beta));
                                 });
  // Bias laid along specific output dims (conv: [F] along dim 1).
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> exprs;
  for (int64_t d : biasDims)
    exprs.push_back(getAffineDimExpr(d, ctx));
  AffineMap in = AffineMap::get(type.getRank(), 0, exprs, ctx);
  AffineMap out = AffineMap::getMultiDimIdentityMap(type.getRank(), ctx);
  SmallVector<IT> iters(type.getRank(), IT::parallel);
  return linalg::GenericOp::create(
             b, l, TypeRange{type}, ValueRange{bias},
             ValueRange{emptyLike(b, l, type)}, ArrayRef<AffineMap>{in, out}, iters,
             [](OpBuilder &nb, Location nl, ValueRange a) {
               linalg::YieldOp::create(nb, nl, a[0]);
             })
      .getResult(0);
}

/// A contraction out[b..., m, n] += alpha * A[.., m, k] * B[.., k, n] with
/// batch broadcasting and optional transposes, as one generic.
Value contraction(OpBuilder &b, Location l, Value lhs, Value rhs, Value init,
                  bool transA, bool transB, double alpha) {
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  auto ot = cast<RankedTensorType>(init.getType());
  int64_t batch = ot.getRank() - 2;
  int64_t nLoops = ot.getRank() + 1; // batch..., m, n, k
  MLIRContext *ctx = b.getContext();
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  AffineExpr m = d(batch), n = d(batch + 1), k = d(batch + 2);
  auto operandMap = [&](RankedTensorType t, AffineExpr r, AffineExpr c) {
    SmallVector<AffineExpr> exprs;
    int64_t tb = t.getRank() - 2, shift = batch - tb;
    for (int64_t i = 0; i < tb; ++i)
      exprs.push_back(t.getShape()[i] == 1 && ot.getShape()[i + shift] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : d(i + shift));
    exprs.push_back(r);
    exprs.push_back(c);
    return AffineMap::get(nLoops, 0, exprs, ctx);
  };
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < batch; ++i)
    outExprs.push_back(d(i));
  outExprs.push_back(m);
  outExprs.push_back(n);
  SmallVector<AffineMap> maps = {
      transA ? operandMap(lt, k, m) : operandMap(lt, m, k),
      transB ? operandMap(rt, n, k) : operandMap(rt, k, n),
      AffineMap::get(nLoops, 0, outExprs, ctx)};
  SmallVector<IT> iters(nLoops, IT::parallel);
  iters.back() = IT::reduction;
  return linalg::GenericOp::create(
             b, l, TypeRange{ot}, ValueRange{lhs, rhs}, ValueRange{init}, maps,
             iters,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value p = mul(nb, nl, a[0], a[1]);
               if (alpha != 1.0)
                 p = mul(nb, nl, p, scalarConstant(nb, nl, p.getType(), alpha));
               linalg::YieldOp::create(nb, nl, add(nb, nl, a[2], p));
             })
      .getResult(0);
}

FailureOr<Value> lowerMatMul(OpBuilder &b, MatMulOp op) {
  Location l = op.getLoc();
  auto type = op.getType();
  auto lt = op.getLhs().getType();
  // [B.., M, K] x [K, N]: the batch dims are more rows of one matmul (a
  // transformer's projections), which the contraction kernels tile as such.
  if (type.getRank() > 2 && op.getRhs().getType().getRank() == 2 &&
      lt.getRank() == type.getRank()) {
    int64_t rows = 1;
    for (int64_t d : lt.getShape().drop_back())
      rows *= d;
    ReassociationIndices lead;
    for (int64_t i = 0; i + 1 < lt.getRank(); ++i)
      lead.push_back(i);
    SmallVector<ReassociationIndices> groups = {lead, {lt.getRank() - 1}};
    auto lhs2 = RankedTensorType::get({rows, lt.getShape().back()}, lt.getElementType());
    auto out2 = RankedTensorType::get({rows, type.getShape().back()}, type.getElementType());
    Value lhs = tensor::CollapseShapeOp::create(b, l, lhs2, op.getLhs(), groups);
    Value mm = linalg::MatmulOp::create(b, l, TypeRange{out2}, ValueRange{lhs, op.getRhs()},
                                        ValueRange{filled(b, l, out2, 0.0)})
                   .getResult(0);
    return tensor::ExpandShapeOp::create(b, l, type, mm, groups).getResult();
  }
  Value init = filled(b, l, type, 0.0);
  if (type.getRank() == 2)
    return linalg::MatmulOp::create(b, l, TypeRange{type},
                                    ValueRange{op.getLhs(), op.getRhs()},
                                    ValueRange{init})
        .getResult(0);
  return contraction(b, l, op.getLhs(), op.getRhs(), init, false, false, 1.0);
}

FailureOr<Value> lowerGemm(OpBuilder &b, GemmOp op) {
  Location l = op.getLoc();
  auto type = op.getType();
  // beta = 0 means C is not read at all (a NaN in C stays out), as in BLAS.
  double beta = op.getBeta().convertToDouble();
  Value init = accumulatorInit(b, l, type, beta == 0.0 ? Value() : op.getC(), beta);
  double alpha = op.getAlpha().convertToDouble();
  if (!op.getTransA() && !op.getTransB() && alpha == 1.0)
    return linalg::MatmulOp::create(b, l, TypeRange{type},
                                    ValueRange{op.getA(), op.getB()},
                                    ValueRange{init})
        .getResult(0);
  return contraction(b, l, op.getA(), op.getB(), init, op.getTransA(),
                     op.getTransB(), alpha);
}

/// A channels-last convolution with a blocked filter [F/B, KH, KW, C, B]:
/// one generic over (n, oh, ow, fb, fi, kh, kw, c) writing the blocked
/// output [N, OH, OW, F/B, B]. It carries `weft.blocked_conv` = the
/// strides, which tells the CPU kernel config what it is.
Value blockedConv(OpBuilder &b, Location l, ConvOp op) {
  auto out5 = op.getType();
  auto w = op.getFilter().getType();
  Type elt = out5.getElementType();
  MLIRContext *ctx = b.getContext();
  int64_t fb = w.getShape()[0], blk = w.getShape()[4];
  Value init;
  if (Value bias = op.getBias()) {
    auto bt = RankedTensorType::get({fb, blk}, elt);
    Value blocked = tensor::ExpandShapeOp::create(b, l, bt, bias,
                                                  ArrayRef<ReassociationIndices>{{0, 1}});
    AffineMap in = AffineMap::get(5, 0, {getAffineDimExpr(3, ctx), getAffineDimExpr(4, ctx)}, ctx);
    init = linalg::GenericOp::create(
               b, l, TypeRange{out5}, ValueRange{blocked}, ValueRange{emptyLike(b, l, out5)},
               ArrayRef<AffineMap>{in, AffineMap::getMultiDimIdentityMap(5, ctx)},
               SmallVector<IT>(5, IT::parallel),
               [](OpBuilder &nb, Location nl, ValueRange a) {
                 linalg::YieldOp::create(nb, nl, a[0]);
               })
               .getResult(0);
  } else {
    init = filled(b, l, out5, 0.0);
  }
  ArrayRef<int64_t> s = op.getStrides(), dl = op.getDilations();
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  AffineMap xMap = AffineMap::get(8, 0, {d(0), d(1) * s[0] + d(5) * dl[0],
                                         d(2) * s[1] + d(6) * dl[1], d(7)}, ctx);
  AffineMap wMap = AffineMap::get(8, 0, {d(3), d(5), d(6), d(7), d(4)}, ctx);
  AffineMap oMap = AffineMap::get(8, 0, {d(0), d(1), d(2), d(3), d(4)}, ctx);
  SmallVector<IT> iters(5, IT::parallel);
  iters.append(3, IT::reduction);
  auto gen = linalg::GenericOp::create(
      b, l, TypeRange{out5}, ValueRange{op.getInput(), op.getFilter()}, ValueRange{init},
      ArrayRef<AffineMap>{xMap, wMap, oMap}, iters,
      [](OpBuilder &nb, Location nl, ValueRange a) {
        linalg::YieldOp::create(nb, nl, add(nb, nl, a[2], mul(nb, nl, a[0], a[1])));
      });
  gen->setAttr(kBlockedConvAttr, b.getDenseI64ArrayAttr(s));
  return gen.getResult(0);
}

FailureOr<Value> lowerConv(OpBuilder &b, ConvOp op) {
  Location l = op.getLoc();
  if (llvm::any_of(op.getPads(), [](int64_t p) { return p != 0; }))
    return op.emitError("conv padding must be decomposed before lowering");
  auto type = op.getType();
  bool cl = op.getChannelsLast();
  if (cl && op.getFilter().getType().getRank() == 5)
    return blockedConv(b, l, op);
  // The bias broadcast over the output (a grouped convolution builds its own).
  auto init = [&] { return accumulatorInit(b, l, type, op.getBias(), 1.0, {cl ? 3 : 1}); };
  auto strides = b.getI64TensorAttr(op.getStrides());
  auto dilations = b.getI64TensorAttr(op.getDilations());
  int64_t g = op.getGroup();
  auto in = op.getInput().getType(), w = op.getFilter().getType();
  if (cl) {
    if (g == 1)
      return linalg::Conv2DNhwcHwcfOp::create(b, l, TypeRange{type},
                                              ValueRange{op.getInput(), op.getFilter()},
                                              ValueRange{init()}, strides, dilations)
          .getResult(0);
    // Depthwise: the HWCF filter is KH x KW x 1 x C.
    if (w.getShape()[2] != 1 || w.getShape()[3] != in.getShape()[3] || g != w.getShape()[3])
      return op.emitError("channels-last convolutions must be plain or depthwise");
    auto hwc = RankedTensorType::get({w.getShape()[0], w.getShape()[1], w.getShape()[3]},
                                     w.getElementType());
    Value filter = tensor::CollapseShapeOp::create(
        b, l, hwc, op.getFilter(), ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
    return linalg::DepthwiseConv2DNhwcHwcOp::create(b, l, TypeRange{type},
                                                    ValueRange{op.getInput(), filter},
                                                    ValueRange{init()}, strides, dilations)
        .getResult(0);
  }
  if (g == 1)
    return linalg::Conv2DNchwFchwOp::create(b, l, TypeRange{type},
                                            ValueRange{op.getInput(), op.getFilter()},
                                            ValueRange{init()}, strides, dilations)
        .getResult(0);
  // Grouped: split channels into [G, C/G] and run the grouped named op.
  int64_t n = in.getShape()[0], c = in.getShape()[1], f = w.getShape()[0];
  auto elt = in.getElementType();
  auto inG = RankedTensorType::get({n, g, c / g, in.getShape()[2], in.getShape()[3]}, elt);
  auto wG = RankedTensorType::get({g, f / g, w.getShape()[1], w.getShape()[2], w.getShape()[3]}, elt);
  auto outG = RankedTensorType::get({n, g, f / g, type.getShape()[2], type.getShape()[3]}, elt);
  SmallVector<ReassociationIndices> nchw = {{0}, {1, 2}, {3}, {4}};
  SmallVector<ReassociationIndices> fchw = {{0, 1}, {2}, {3}, {4}};
  Value x = tensor::ExpandShapeOp::create(b, l, inG, op.getInput(), nchw);
  Value k = tensor::ExpandShapeOp::create(b, l, wG, op.getFilter(), fchw);
  // The bias broadcast straight into [N, G, F/G, OH, OW] (its [F] viewed as
  // [G, F/G]), not a view of the [N, F, OH, OW] one: a reshape between the
  // broadcast and the convolution would keep the broadcast from fusing into
  // the convolution's tiles.
  Value bias = op.getBias();
  if (bias)
    bias = tensor::ExpandShapeOp::create(
        b, l, RankedTensorType::get({g, f / g}, cast<RankedTensorType>(bias.getType()).getElementType()),
        bias, ArrayRef<ReassociationIndices>{{0, 1}});
  Value acc = accumulatorInit(b, l, outG, bias, 1.0, {1, 2});
  Value r = linalg::Conv2DNgchwGfchwOp::create(b, l, TypeRange{outG}, ValueRange{x, k},
                                               ValueRange{acc}, strides, dilations)
                .getResult(0);
  return tensor::CollapseShapeOp::create(b, l, type, r, nchw).getResult();
}

FailureOr<Value> lowerReduce(OpBuilder &b, ReduceOp op) {
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

/// softmax(x) = exp(x - max) / sum(exp(x - max)); log-softmax subtracts
/// log(sum) instead of dividing.
FailureOr<Value> lowerSoftmax(OpBuilder &b, SoftmaxOp op) {
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
  return linalg::GenericOp::create(
             b, l, TypeRange{type}, ValueRange{x, max, sum},
             ValueRange{emptyLike(b, l, type)}, ArrayRef<AffineMap>{id, red, red, id}, par,
             [log](OpBuilder &nb, Location nl, ValueRange a) {
               Value shifted = arith::SubFOp::create(nb, nl, a[0], a[1]);
               Value r = log ? (Value)arith::SubFOp::create(nb, nl, shifted,
                                                            math::LogOp::create(nb, nl, a[2]))
                             : arith::DivFOp::create(nb, nl, math::ExpOp::create(nb, nl, shifted),
                                                     a[2]);
               linalg::YieldOp::create(nb, nl, r);
             })
      .getResult(0);
}

/// Layer normalization as four generics over the same rows: the sum of each
/// row, the sum of squared deviations from its mean, the row's mean and
/// 1 / sqrt(variance + epsilon), then the normalized, scaled and shifted
/// elements. The two reductions run along the row (innermost when axis is
/// the last dimension), which the kernel config vectorizes.
FailureOr<Value> lowerLayerNorm(OpBuilder &b, LayerNormOp op) {
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

/// ArgMax/ArgMin: one generic reducing the axis into a running extreme and
/// its i64 index. A strict comparison keeps the first index of a tie,
/// a non-strict one (select_last_index) the last. The first element seeds
/// the extreme, so a NaN there wins and a NaN elsewhere never does, as in
/// onnxruntime.
Value lowerArg(OpBuilder &b, Operation *op, Value input, int64_t axis, bool selectLast,
               bool isMax) {
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

Value lowerGather(OpBuilder &b, GatherOp op) {
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

Value lowerGatherElements(OpBuilder &b, GatherElementsOp op) {
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

Value lowerGatherND(OpBuilder &b, GatherNDOp op) {
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

Value lowerScatterND(OpBuilder &b, ScatterNDOp op) {
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

Value lowerScatterElements(OpBuilder &b, ScatterElementsOp op) {
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
Value lowerTopK(OpBuilder &b, TopKOp op) {
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
      .Case([&](BatchNormOp bn) -> FailureOr<Value> {
        return bn.emitError("batch_norm must be decomposed before lowering");
      })
      .Default([&](Operation *) -> FailureOr<Value> {
        handled = false;
        return failure();
      });
}
