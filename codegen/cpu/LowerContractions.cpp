//===- LowerContractions.cpp - matmul, gemm, conv -> linalg ---------------===//
//
// Contractions and convolutions. Named linalg ops (matmul, conv, depthwise
// and grouped conv) where upstream tiling and vectorization know them; a
// batched or transposed contraction and a blocked channels-last
// convolution are one linalg.generic each. A bias becomes the accumulator's
// initial value, so it costs no extra pass over the output.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/KernelConfig.h"
#include "codegen/cpu/LowerStructured.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace weft;
using namespace weft::cpu;
using namespace weft::cpu::detail;

namespace {

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

} // namespace

FailureOr<Value> cpu::detail::lowerMatMul(OpBuilder &b, MatMulOp op) {
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

FailureOr<Value> cpu::detail::lowerGemm(OpBuilder &b, GemmOp op) {
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

namespace {

/// A channels-last convolution with a blocked filter [F/B, KH, KW, C/G, B]:
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
  // Grouped: block fb lies in group fb / (F/B/G), whose C/G input channels
  // start at that group's offset.
  AffineExpr channel = d(7);
  if (int64_t g = op.getGroup(); g > 1) {
    int64_t blocksPerGroup = fb / g, cg = w.getShape()[3];
    channel = (blocksPerGroup == 1 ? d(3) : d(3).floorDiv(blocksPerGroup)) * cg + d(7);
  }
  AffineMap xMap = AffineMap::get(8, 0, {d(0), d(1) * s[0] + d(5) * dl[0],
                                         d(2) * s[1] + d(6) * dl[1], channel}, ctx);
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

/// The body of an integer convolution's generic: the accumulator a[2]
/// plus zext(a[0]) x sext(a[1]) in `acc` (uint8 input, int8 filter).
void integerMultiplyAdd(OpBuilder &b, Location l, Type acc, ValueRange a) {
  Value x = arith::ExtUIOp::create(b, l, acc, a[0]);
  Value w = arith::ExtSIOp::create(b, l, acc, a[1]);
  Value p = arith::MulIOp::create(b, l, x, w);
  linalg::YieldOp::create(b, l, arith::AddIOp::create(b, l, a[2], p).getResult());
}

/// An integer convolution with a rank-6 filter [F/B, KH, KW, C/4, B, 4]:
/// one generic over (n, oh, ow, fb, fi, kh, kw, cg, c4) writing the blocked
/// i32 output [N, OH, OW, F/B, B] from zero, each step adding zext(input)
/// x sext(filter) (the input is uint8, the filter int8; both are i8 here).
/// It carries `weft.blocked_conv` like the float one.
Value blockedIntegerConv(OpBuilder &b, Location l, ConvOp op) {
  auto out5 = op.getType();
  MLIRContext *ctx = b.getContext();
  Value init = filled(b, l, out5, 0.0);
  ArrayRef<int64_t> s = op.getStrides(), dl = op.getDilations();
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  AffineMap xMap = AffineMap::get(9, 0, {d(0), d(1) * s[0] + d(5) * dl[0],
                                         d(2) * s[1] + d(6) * dl[1], d(7) * 4 + d(8)}, ctx);
  AffineMap wMap = AffineMap::get(9, 0, {d(3), d(5), d(6), d(7), d(4), d(8)}, ctx);
  AffineMap oMap = AffineMap::get(9, 0, {d(0), d(1), d(2), d(3), d(4)}, ctx);
  SmallVector<IT> iters(5, IT::parallel);
  iters.append(4, IT::reduction);
  Type acc = out5.getElementType();
  auto gen = linalg::GenericOp::create(
      b, l, TypeRange{out5}, ValueRange{op.getInput(), op.getFilter()}, ValueRange{init},
      ArrayRef<AffineMap>{xMap, wMap, oMap}, iters,
      [acc](OpBuilder &nb, Location nl, ValueRange a) { integerMultiplyAdd(nb, nl, acc, a); });
  gen->setAttr(kBlockedConvAttr, b.getDenseI64ArrayAttr(s));
  return gen.getResult(0);
}

/// An integer depthwise convolution (channels-last, filter [KH, KW, 1, C]):
/// one generic over (n, oh, ow, c, kh, kw) writing i32 sums from zero, each
/// step adding zext(input) x sext(filter), tagged kIntegerDepthwiseAttr.
/// (linalg's named depthwise op would sign-extend the uint8 input.)
Value integerDepthwiseConv(OpBuilder &b, Location l, ConvOp op) {
  auto type = op.getType();
  auto w = op.getFilter().getType();
  MLIRContext *ctx = b.getContext();
  auto hwc = RankedTensorType::get({w.getShape()[0], w.getShape()[1], w.getShape()[3]},
                                   w.getElementType());
  Value filter = tensor::CollapseShapeOp::create(
      b, l, hwc, op.getFilter(), ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  ArrayRef<int64_t> s = op.getStrides(), dl = op.getDilations();
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  AffineMap xMap = AffineMap::get(
      6, 0, {d(0), d(1) * s[0] + d(4) * dl[0], d(2) * s[1] + d(5) * dl[1], d(3)}, ctx);
  AffineMap wMap = AffineMap::get(6, 0, {d(4), d(5), d(3)}, ctx);
  AffineMap oMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
  SmallVector<IT> iters(4, IT::parallel);
  iters.append(2, IT::reduction);
  Type acc = type.getElementType();
  auto gen = linalg::GenericOp::create(
      b, l, TypeRange{type}, ValueRange{op.getInput(), filter},
      ValueRange{filled(b, l, type, 0.0)}, ArrayRef<AffineMap>{xMap, wMap, oMap}, iters,
      [acc](OpBuilder &nb, Location nl, ValueRange a) { integerMultiplyAdd(nb, nl, acc, a); });
  gen->setAttr(kIntegerDepthwiseAttr, b.getUnitAttr());
  gen->setAttr("strides", b.getI64TensorAttr(s));
  gen->setAttr("dilations", b.getI64TensorAttr(dl));
  return gen.getResult(0);
}

} // namespace

FailureOr<Value> cpu::detail::lowerConv(OpBuilder &b, ConvOp op) {
  Location l = op.getLoc();
  if (llvm::any_of(op.getPads(), [](int64_t p) { return p != 0; }))
    return op.emitError("conv padding must be decomposed before lowering");
  auto type = op.getType();
  bool cl = op.getChannelsLast();
  if (cl && op.getFilter().getType().getRank() == 5)
    return blockedConv(b, l, op);
  if (cl && op.getFilter().getType().getRank() == 6)
    return blockedIntegerConv(b, l, op);
  if (isa<IntegerType>(op.getFilter().getType().getElementType())) {
    if (cl && op.getGroup() != 1 && op.getFilter().getType().getRank() == 4)
      return integerDepthwiseConv(b, l, op);
    return op.emitError("an integer convolution needs its channels-last blocked filter "
                        "(weft-convert-layout)");
  }
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
