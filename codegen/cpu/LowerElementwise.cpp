//===- LowerElementwise.cpp - elementwise weft ops -> linalg.generic ------===//
//
// Every elementwise op becomes one linalg.generic over the result shape with
// broadcasting expressed in the indexing maps, so tiling and vectorization
// treat all of them alike. The scalar math is chosen per element type.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

Value cpu::scalarConstant(OpBuilder &b, Location loc, Type type, double v) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, v));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, (int64_t)v));
}

TypedAttr cpu::extremeValue(Type type, bool max, bool isUnsigned) {
  if (auto ft = dyn_cast<FloatType>(type))
    return FloatAttr::get(ft, APFloat::getInf(ft.getFloatSemantics(), /*Negative=*/!max));
  unsigned width = type.getIntOrFloatBitWidth();
  if (isUnsigned || width == 1)
    return IntegerAttr::get(type, max ? APInt::getMaxValue(width) : APInt::getMinValue(width));
  return IntegerAttr::get(type, max ? APInt::getSignedMaxValue(width)
                                    : APInt::getSignedMinValue(width));
}

Value cpu::intAbs(OpBuilder &b, Location loc, Value x) {
  Value zero = scalarConstant(b, loc, x.getType(), 0);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, zero);
  return arith::SelectOp::create(b, loc, neg, arith::SubIOp::create(b, loc, zero, x), x);
}

Value cpu::filledWith(OpBuilder &b, Location loc, RankedTensorType type, TypedAttr v) {
  Value c = arith::ConstantOp::create(b, loc, v);
  return linalg::FillOp::create(b, loc, c, emptyLike(b, loc, type)).getResult(0);
}

Value cpu::emptyLike(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
}

Value cpu::filled(OpBuilder &b, Location loc, RankedTensorType type, double v) {
  Value c = scalarConstant(b, loc, type.getElementType(), v);
  return linalg::FillOp::create(b, loc, c, emptyLike(b, loc, type)).getResult(0);
}

Value cpu::buildBroadcastGeneric(
    OpBuilder &b, Location loc, RankedTensorType outType, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  int64_t rank = outType.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs) {
    auto t = cast<RankedTensorType>(in.getType());
    SmallVector<AffineExpr> exprs;
    int64_t shift = rank - t.getRank();
    for (int64_t i = 0; i < t.getRank(); ++i)
      exprs.push_back(t.getShape()[i] == 1 && outType.getShape()[i + shift] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(i + shift, ctx));
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, inputs, ValueRange{emptyLike(b, loc, outType)},
      maps, iters, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = body(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, r);
      });
  return generic.getResult(0);
}

namespace {

bool isFloat(Type t) { return isa<FloatType>(t); }

Value cst(OpBuilder &b, Location loc, Type t, double v) {
  return scalarConstant(b, loc, t, v);
}

Value exp(OpBuilder &b, Location l, Value x) { return math::ExpOp::create(b, l, x); }

/// asinh, acosh and atanh, written with log1p, which vectorizes (libm's
/// asinhf and friends would be one call per lane). Narrow floats are
/// computed in f32: their range would overflow x^2.
Value inverseHyperbolic(Operation *op, OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  Type f32 = b.getF32Type();
  bool narrow = t.getIntOrFloatBitWidth() < 32;
  Value v = narrow ? (Value)arith::ExtFOp::create(b, l, f32, x) : x;
  Type ct = v.getType();
  auto c = [&](double d) { return cst(b, l, ct, d); };
  auto add = [&](Value p, Value q) { return arith::AddFOp::create(b, l, p, q); };
  auto mul = [&](Value p, Value q) { return arith::MulFOp::create(b, l, p, q); };
  // Past 2^28, x^2 + 1 rounds to x^2 and the functions are log(2|x|),
  // computed as log|x| + log 2 so that it cannot overflow.
  auto logTwice = [&](Value a) { return add(math::LogOp::create(b, l, a), c(M_LN2)); };
  auto huge = [&](Value a) {
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, a, c(268435456.0));
  };
  Value r;
  if (isa<AsinhOp>(op)) {
    // asinh(|x|) = log1p(|x| + x^2 / (1 + sqrt(1 + x^2))), sign restored.
    Value a = math::AbsFOp::create(b, l, v);
    Value sq = mul(a, a);
    Value root = math::SqrtOp::create(b, l, add(sq, c(1)));
    Value small = math::Log1pOp::create(
        b, l, add(a, arith::DivFOp::create(b, l, sq, add(root, c(1)))));
    r = arith::SelectOp::create(b, l, huge(a), logTwice(a), small);
    r = math::CopySignOp::create(b, l, r, v);
  } else if (isa<AcoshOp>(op)) {
    // acosh(x) = log1p(u + sqrt(2u + u^2)) with u = x - 1; NaN below 1.
    Value u = arith::SubFOp::create(b, l, v, c(1));
    Value small = math::Log1pOp::create(
        b, l, add(u, math::SqrtOp::create(b, l, add(add(u, u), mul(u, u)))));
    r = arith::SelectOp::create(b, l, huge(v), logTwice(v), small);
    Value valid = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGE, v, c(1));
    r = arith::SelectOp::create(b, l, valid, r, c(std::nan("")));
  } else {
    // atanh(x) = 0.5 * log1p(2x / (1 - x)).
    Value q = arith::DivFOp::create(b, l, add(v, v), arith::SubFOp::create(b, l, c(1), v));
    r = mul(c(0.5), math::Log1pOp::create(b, l, q));
  }
  return narrow ? (Value)arith::TruncFOp::create(b, l, t, r) : r;
}

/// Scalar body of a float unary op; nullptr when the op is not one.
Value floatUnary(Operation *op, OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  auto one = [&] { return cst(b, l, t, 1.0); };
  auto zero = [&] { return cst(b, l, t, 0.0); };
  return TypeSwitch<Operation *, Value>(op)
      .Case([&](ReluOp) { return arith::MaximumFOp::create(b, l, x, zero()); })
      .Case([&](SigmoidOp) {
        Value e = exp(b, l, arith::NegFOp::create(b, l, x));
        return arith::DivFOp::create(b, l, one(), arith::AddFOp::create(b, l, one(), e));
      })
      .Case([&](TanhOp) { return math::TanhOp::create(b, l, x); })
      .Case([&](ExpOp) { return exp(b, l, x); })
      .Case([&](LogOp) { return math::LogOp::create(b, l, x); })
      .Case([&](SqrtOp) { return math::SqrtOp::create(b, l, x); })
      .Case([&](NegOp) { return arith::NegFOp::create(b, l, x); })
      .Case([&](AbsOp) { return math::AbsFOp::create(b, l, x); })
      .Case([&](ReciprocalOp) { return arith::DivFOp::create(b, l, one(), x); })
      .Case([&](FloorOp) { return math::FloorOp::create(b, l, x); })
      .Case([&](CeilOp) { return math::CeilOp::create(b, l, x); })
      .Case([&](RoundOp) { return math::RoundEvenOp::create(b, l, x); })
      .Case([&](SinOp) { return math::SinOp::create(b, l, x); })
      .Case([&](CosOp) { return math::CosOp::create(b, l, x); })
      .Case([&](TanOp) { return math::TanOp::create(b, l, x); })
      .Case([&](AtanOp) { return math::AtanOp::create(b, l, x); })
      .Case([&](AsinOp) { return math::AsinOp::create(b, l, x); })
      .Case([&](AcosOp) { return math::AcosOp::create(b, l, x); })
      .Case<AsinhOp, AcoshOp, AtanhOp>(
          [&](Operation *) { return inverseHyperbolic(op, b, l, x); })
      .Case([&](SinhOp) { return math::SinhOp::create(b, l, x); })
      .Case([&](CoshOp) { return math::CoshOp::create(b, l, x); })
      .Case([&](ErfOp) { return math::ErfOp::create(b, l, x); })
      .Case([&](SignOp) -> Value {
        Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, zero());
        Value neg = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, zero());
        Value r = arith::SelectOp::create(b, l, neg, cst(b, l, t, -1.0), zero());
        r = arith::SelectOp::create(b, l, pos, one(), r);
        // Sign(NaN) is NaN.
        Value nan = arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, x, x);
        return arith::SelectOp::create(b, l, nan, x, r);
      })
      .Case([&](SoftplusOp) -> Value {
        // max(x, 0) + log1p(exp(-|x|)): log1p(exp(x)) overflows for x > ~88.
        Value pos = arith::MaximumFOp::create(b, l, x, zero());
        Value tail = math::Log1pOp::create(
            b, l, exp(b, l, arith::NegFOp::create(b, l, math::AbsFOp::create(b, l, x))));
        return arith::AddFOp::create(b, l, pos, tail);
      })
      .Case([&](SoftsignOp) {
        Value d = arith::AddFOp::create(b, l, one(), math::AbsFOp::create(b, l, x));
        return arith::DivFOp::create(b, l, x, d);
      })
      .Case([&](IdentityOp) { return x; })
      .Default([](Operation *) { return Value(); });
}

Value intUnary(Operation *op, OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  if (hasUnsignedOperands(op) && !t.isInteger(1)) {
    // No unsigned value is negative: Relu and Abs are the identity, Sign is
    // 0 or 1, and ONNX defines Neg for signed types only.
    return TypeSwitch<Operation *, Value>(op)
        .Case<ReluOp, AbsOp, IdentityOp>([&](Operation *) { return x; })
        .Case([&](SignOp) {
          Value nz = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, x, cst(b, l, t, 0));
          return arith::ExtUIOp::create(b, l, t, nz);
        })
        .Default([](Operation *) { return Value(); });
  }
  return TypeSwitch<Operation *, Value>(op)
      .Case([&](ReluOp) { return arith::MaxSIOp::create(b, l, x, cst(b, l, t, 0)); })
      .Case([&](NegOp) { return arith::SubIOp::create(b, l, cst(b, l, t, 0), x); })
      .Case([&](AbsOp) { return intAbs(b, l, x); })
      .Case([&](SignOp) {
        Value zero = cst(b, l, t, 0);
        Value pos = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, x, zero);
        Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, x, zero);
        Value r = arith::SelectOp::create(b, l, neg, cst(b, l, t, -1), zero);
        return arith::SelectOp::create(b, l, pos, cst(b, l, t, 1), r);
      })
      .Case([&](NotOp) { return arith::XOrIOp::create(b, l, x, cst(b, l, t, 1)); })
      .Case([&](IdentityOp) { return x; })
      .Default([](Operation *) { return Value(); });
}

Value activation(ActivationOp op, OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  double alpha = op.getAlpha().convertToDouble(), beta = op.getBeta().convertToDouble();
  auto c = [&](double v) { return cst(b, l, t, v); };
  auto lt = [&](Value a, Value v) {
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, a, v);
  };
  auto mul = [&](Value a, Value v) { return arith::MulFOp::create(b, l, a, v); };
  auto clamp01 = [&](Value v) {
    return arith::MinimumFOp::create(b, l, arith::MaximumFOp::create(b, l, v, c(0)), c(1));
  };
  switch (op.getKind()) {
  case ActivationKind::leaky_relu:
    return arith::SelectOp::create(b, l, lt(x, c(0)), mul(x, c(alpha)), x);
  case ActivationKind::elu: {
    Value e = arith::SubFOp::create(b, l, exp(b, l, x), c(1));
    return arith::SelectOp::create(b, l, lt(x, c(0)), mul(e, c(alpha)), x);
  }
  case ActivationKind::selu: {
    Value e = arith::SubFOp::create(b, l, mul(exp(b, l, x), c(alpha)), c(alpha));
    Value le = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLE, x, c(0));
    return mul(arith::SelectOp::create(b, l, le, e, x), c(beta));
  }
  case ActivationKind::hard_sigmoid:
    return clamp01(arith::AddFOp::create(b, l, mul(x, c(alpha)), c(beta)));
  case ActivationKind::celu: {
    Value e = arith::SubFOp::create(
        b, l, exp(b, l, arith::DivFOp::create(b, l, x, c(alpha))), c(1));
    Value neg = arith::MinimumFOp::create(b, l, mul(e, c(alpha)), c(0));
    return arith::AddFOp::create(b, l, arith::MaximumFOp::create(b, l, x, c(0)), neg);
  }
  case ActivationKind::thresholded_relu: {
    Value gt = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, c(alpha));
    return arith::SelectOp::create(b, l, gt, x, c(0));
  }
  case ActivationKind::hard_swish:
    return mul(x, clamp01(arith::AddFOp::create(b, l, mul(x, c(alpha)), c(beta))));
  case ActivationKind::shrink: {
    // alpha = bias, beta = lambd.
    Value below = lt(x, c(-beta));
    Value above = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, c(beta));
    Value r = arith::SelectOp::create(b, l, above,
                                      arith::SubFOp::create(b, l, x, c(alpha)), c(0));
    return arith::SelectOp::create(b, l, below,
                                   arith::AddFOp::create(b, l, x, c(alpha)), r);
  }
  }
  return Value();
}

/// Integer division that cannot trap: x / 0 is 0 and INT_MIN / -1 wraps to
/// INT_MIN (ONNX leaves both undefined; a hardware trap would kill the
/// application).
Value safeIntDiv(OpBuilder &b, Location l, Value x, Value y, bool isUnsigned) {
  Type t = x.getType();
  unsigned width = t.getIntOrFloatBitWidth();
  Value zero = cst(b, l, t, 0), one = cst(b, l, t, 1);
  Value byZero = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, y, zero);
  Value divisor = arith::SelectOp::create(b, l, byZero, one, y);
  if (isUnsigned) {
    Value q = arith::DivUIOp::create(b, l, x, divisor);
    return arith::SelectOp::create(b, l, byZero, zero, q);
  }
  Value minusOne = arith::ConstantOp::create(b, l, IntegerAttr::get(t, APInt::getAllOnes(width)));
  Value minInt = arith::ConstantOp::create(
      b, l, IntegerAttr::get(t, APInt::getSignedMinValue(width)));
  Value overflow = arith::AndIOp::create(
      b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, x, minInt),
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, divisor, minusOne));
  divisor = arith::SelectOp::create(b, l, overflow, one, divisor);
  Value q = arith::DivSIOp::create(b, l, x, divisor);
  return arith::SelectOp::create(b, l, byZero, zero, q);
}

/// Remainder with the dividend's sign (C's `%`) that cannot trap: x % 0 is
/// 0 and INT_MIN % -1 is 0.
Value safeIntRem(OpBuilder &b, Location l, Value x, Value y, bool isUnsigned) {
  Type t = x.getType();
  Value zero = cst(b, l, t, 0), one = cst(b, l, t, 1);
  Value byZero = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, y, zero);
  // Dividing by 1 instead of 0 or -1 gives remainder 0, the answer for both.
  Value unsafe = byZero;
  if (!isUnsigned) {
    Value minusOne = arith::ConstantOp::create(
        b, l, IntegerAttr::get(t, APInt::getAllOnes(t.getIntOrFloatBitWidth())));
    unsafe = arith::OrIOp::create(
        b, l, byZero, arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, y, minusOne));
  }
  Value divisor = arith::SelectOp::create(b, l, unsafe, one, y);
  if (isUnsigned)
    return arith::RemUIOp::create(b, l, x, divisor);
  return arith::RemSIOp::create(b, l, x, divisor);
}

/// Remainder with the divisor's sign (Python's `%`, ONNX Mod with fmod=0)
/// on signed integers; x mod 0 is 0.
Value floorIntRem(OpBuilder &b, Location l, Value x, Value y) {
  Type t = x.getType();
  Value zero = cst(b, l, t, 0);
  Value r = safeIntRem(b, l, x, y, /*isUnsigned=*/false);
  Value nonZero = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, r, zero);
  Value rNeg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, r, zero);
  Value yNeg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, y, zero);
  Value signsDiffer = arith::XOrIOp::create(b, l, rNeg, yNeg);
  Value adjust = arith::AndIOp::create(b, l, nonZero, signsDiffer);
  return arith::SelectOp::create(b, l, adjust, arith::AddIOp::create(b, l, r, y), r);
}

/// Logical shift of an unsigned integer; amounts of the bit width or more
/// (which arith leaves undefined) give 0.
Value shiftOrZero(OpBuilder &b, Location l, Value x, Value y, bool left) {
  Type t = x.getType();
  Value width = cst(b, l, t, (double)t.getIntOrFloatBitWidth());
  Value tooFar = arith::CmpIOp::create(b, l, arith::CmpIPredicate::uge, y, width);
  Value amount = arith::SelectOp::create(b, l, tooFar, cst(b, l, t, 0), y);
  Value shifted = left ? (Value)arith::ShLIOp::create(b, l, x, amount)
                       : arith::ShRUIOp::create(b, l, x, amount);
  return arith::SelectOp::create(b, l, tooFar, cst(b, l, t, 0), shifted);
}

Value binary(Operation *op, OpBuilder &b, Location l, Value x, Value y) {
  Type t = x.getType();
  bool f = isFloat(t);
  bool u = hasUnsignedOperands(op);
  return TypeSwitch<Operation *, Value>(op)
      .Case([&](AddOp) -> Value {
        return f ? (Value)arith::AddFOp::create(b, l, x, y) : arith::AddIOp::create(b, l, x, y);
      })
      .Case([&](SubOp) -> Value {
        return f ? (Value)arith::SubFOp::create(b, l, x, y) : arith::SubIOp::create(b, l, x, y);
      })
      .Case([&](MulOp) -> Value {
        return f ? (Value)arith::MulFOp::create(b, l, x, y) : arith::MulIOp::create(b, l, x, y);
      })
      .Case([&](DivOp) -> Value {
        return f ? (Value)arith::DivFOp::create(b, l, x, y) : safeIntDiv(b, l, x, y, u);
      })
      .Case([&](MaxOp) -> Value {
        if (f)
          return arith::MaximumFOp::create(b, l, x, y);
        return u ? (Value)arith::MaxUIOp::create(b, l, x, y) : arith::MaxSIOp::create(b, l, x, y);
      })
      .Case([&](MinOp) -> Value {
        if (f)
          return arith::MinimumFOp::create(b, l, x, y);
        return u ? (Value)arith::MinUIOp::create(b, l, x, y) : arith::MinSIOp::create(b, l, x, y);
      })
      .Case([&](PowOp) -> Value {
        if (!f)
          return Value();
        Value e = y;
        if (!isFloat(y.getType()))
          e = u ? (Value)arith::UIToFPOp::create(b, l, t, y) : arith::SIToFPOp::create(b, l, t, y);
        else if (y.getType() != t)
          e = y.getType().getIntOrFloatBitWidth() > t.getIntOrFloatBitWidth()
                  ? (Value)arith::TruncFOp::create(b, l, t, y)
                  : arith::ExtFOp::create(b, l, t, y);
        return math::PowFOp::create(b, l, x, e);
      })
      .Case([&](PReluOp) -> Value {
        if (!f)
          return Value();
        Value neg = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x,
                                          cst(b, l, t, 0));
        return arith::SelectOp::create(b, l, neg, arith::MulFOp::create(b, l, x, y), x);
      })
      .Case([&](AndOp) { return arith::AndIOp::create(b, l, x, y); })
      .Case([&](OrOp) { return arith::OrIOp::create(b, l, x, y); })
      .Case([&](XorOp) { return arith::XOrIOp::create(b, l, x, y); })
      .Case([&](ModOp) -> Value {
        if (f)
          return Value();
        return u ? safeIntRem(b, l, x, y, true) : floorIntRem(b, l, x, y);
      })
      .Case([&](FModOp) -> Value {
        return f ? (Value)arith::RemFOp::create(b, l, x, y) : safeIntRem(b, l, x, y, u);
      })
      .Case([&](ShlOp) -> Value {
        return f ? Value() : shiftOrZero(b, l, x, y, /*left=*/true);
      })
      .Case([&](ShrOp) -> Value {
        return f ? Value() : shiftOrZero(b, l, x, y, /*left=*/false);
      })
      .Default([](Operation *) { return Value(); });
}

Value compare(CompareOp op, OpBuilder &b, Location l, Value x, Value y) {
  if (isFloat(x.getType())) {
    arith::CmpFPredicate p = arith::CmpFPredicate::OEQ;
    switch (op.getKind()) {
    case CompareKind::eq: p = arith::CmpFPredicate::OEQ; break;
    case CompareKind::lt: p = arith::CmpFPredicate::OLT; break;
    case CompareKind::le: p = arith::CmpFPredicate::OLE; break;
    case CompareKind::gt: p = arith::CmpFPredicate::OGT; break;
    case CompareKind::ge: p = arith::CmpFPredicate::OGE; break;
    }
    return arith::CmpFOp::create(b, l, p, x, y);
  }
  // Bools compare as unsigned 0/1 (true > false).
  bool u = hasUnsignedOperands(op) || x.getType().isInteger(1);
  arith::CmpIPredicate p = arith::CmpIPredicate::eq;
  switch (op.getKind()) {
  case CompareKind::eq: p = arith::CmpIPredicate::eq; break;
  case CompareKind::lt: p = u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt; break;
  case CompareKind::le: p = u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle; break;
  case CompareKind::gt: p = u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt; break;
  case CompareKind::ge: p = u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge; break;
  }
  return arith::CmpIOp::create(b, l, p, x, y);
}

//===----------------------------------------------------------------------===//
// 8-bit floats: conversions as integer arithmetic on the bits (LLVM has no
// such types; they are stored as i8), with ONNX's saturation rules.
//===----------------------------------------------------------------------===//

/// The layout of an 8-bit float type: exponent bias, mantissa bits, and
/// which encodings ONNX gives it.
struct Float8Format {
  int bias, mantissa;
  bool fnuz;     // no infinities, no -0; 0x80 is the one NaN
  bool ieee;     // E5M2: infinities and NaNs as IEEE lays them out
  int maxBits;   // the largest finite magnitude's bits
};

std::optional<Float8Format> float8Format(Type t) {
  if (isa<Float8E4M3FNType>(t))
    return Float8Format{7, 3, false, false, 0x7e};
  if (isa<Float8E4M3FNUZType>(t))
    return Float8Format{8, 3, true, false, 0x7f};
  if (isa<Float8E5M2Type>(t))
    return Float8Format{15, 2, false, true, 0x7b};
  if (isa<Float8E5M2FNUZType>(t))
    return Float8Format{16, 2, true, false, 0x7f};
  return std::nullopt;
}

Value i32c(OpBuilder &b, Location l, int64_t v) {
  return arith::ConstantOp::create(b, l, b.getI32IntegerAttr((int32_t)v));
}

/// An 8-bit float widened to f32 (exactly).
Value float8ToF32(OpBuilder &b, Location l, Value x, const Float8Format &f) {
  Type i32 = b.getI32Type();
  auto eq = [&](Value a, Value c) {
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, a, c);
  };
  Value byte = arith::BitcastOp::create(b, l, b.getI8Type(), x);
  Value bits = arith::ExtUIOp::create(b, l, i32, byte);
  Value sign = arith::ShLIOp::create(b, l, arith::AndIOp::create(b, l, bits, i32c(b, l, 0x80)),
                                     i32c(b, l, 24));
  Value mag = arith::AndIOp::create(b, l, bits, i32c(b, l, 0x7f));
  Value exp = arith::ShRUIOp::create(b, l, mag, i32c(b, l, f.mantissa));
  Value man = arith::AndIOp::create(b, l, mag, i32c(b, l, (1 << f.mantissa) - 1));
  // Normal: rebias the exponent, move the mantissa to the top.
  Value normal = arith::OrIOp::create(
      b, l,
      arith::ShLIOp::create(b, l, arith::AddIOp::create(b, l, exp, i32c(b, l, 127 - f.bias)),
                            i32c(b, l, 23)),
      arith::ShLIOp::create(b, l, man, i32c(b, l, 23 - f.mantissa)));
  // Subnormal (and zero): mantissa * 2^(1 - bias - mantissa bits), exact.
  Value sub = arith::MulFOp::create(
      b, l, arith::UIToFPOp::create(b, l, b.getF32Type(), man),
      cst(b, l, b.getF32Type(), std::ldexp(1.0, 1 - f.bias - f.mantissa)));
  Value subBits = arith::BitcastOp::create(b, l, i32, sub);
  Value magBits = arith::SelectOp::create(b, l, eq(exp, i32c(b, l, 0)), subBits, normal);
  Value nan = i32c(b, l, 0x7fc00000);
  Value result;
  if (f.fnuz) {
    result = arith::SelectOp::create(b, l, eq(bits, i32c(b, l, 0x80)), nan,
                                     arith::OrIOp::create(b, l, sign, magBits));
  } else if (f.ieee) {
    Value top = eq(exp, i32c(b, l, (1 << (7 - f.mantissa)) - 1));
    Value special = arith::SelectOp::create(b, l, eq(man, i32c(b, l, 0)),
                                            i32c(b, l, 0x7f800000), nan);
    result = arith::OrIOp::create(b, l, sign,
                                  arith::SelectOp::create(b, l, top, special, magBits));
  } else {
    result = arith::OrIOp::create(
        b, l, sign, arith::SelectOp::create(b, l, eq(mag, i32c(b, l, 0x7f)), nan, magBits));
  }
  return arith::BitcastOp::create(b, l, b.getF32Type(), result);
}

/// An f32 rounded to nearest even into an 8-bit float. Saturating, values
/// past the largest finite one (infinities too) become it; otherwise NaN
/// (E5M2: infinity). NaN stays NaN; FNUZ formats have no -0.
Value f32ToFloat8(OpBuilder &b, Location l, Value x, Type to, const Float8Format &f,
                  bool saturate) {
  Type i32 = b.getI32Type();
  auto cmp = [&](arith::CmpIPredicate p, Value a, Value c) {
    return arith::CmpIOp::create(b, l, p, a, c);
  };
  auto sel = [&](Value c, Value t, Value e) { return arith::SelectOp::create(b, l, c, t, e); };
  using P = arith::CmpIPredicate;
  Value u = arith::BitcastOp::create(b, l, i32, x);
  Value sign = arith::AndIOp::create(b, l, arith::ShRUIOp::create(b, l, u, i32c(b, l, 24)),
                                     i32c(b, l, 0x80));
  Value a = arith::AndIOp::create(b, l, u, i32c(b, l, 0x7fffffff));
  int drop = 23 - f.mantissa;
  // Normal results: round the mantissa to nearest even, then rebias.
  Value odd = arith::AndIOp::create(b, l, arith::ShRUIOp::create(b, l, a, i32c(b, l, drop)),
                                    i32c(b, l, 1));
  Value rounded = arith::ShRUIOp::create(
      b, l,
      arith::AddIOp::create(b, l, arith::AddIOp::create(b, l, a, i32c(b, l, (1 << (drop - 1)) - 1)),
                            odd),
      i32c(b, l, drop));
  Value normal = arith::SubIOp::create(b, l, rounded, i32c(b, l, (127 - f.bias) << f.mantissa));
  // Subnormal results: the significand (implicit bit included) shifted
  // right, rounding to nearest even; 2^mantissa is the smallest normal.
  Value exp = arith::ShRUIOp::create(b, l, a, i32c(b, l, 23));
  Value sig = arith::OrIOp::create(b, l, arith::AndIOp::create(b, l, a, i32c(b, l, 0x7fffff)),
                                   i32c(b, l, 0x800000));
  // (Clamped to [1, 31], where the lane is not subnormal too.)
  Value shift = arith::MaxSIOp::create(
      b, l,
      arith::MinSIOp::create(
          b, l, arith::SubIOp::create(b, l, i32c(b, l, 127 + 1 - f.bias + drop), exp),
          i32c(b, l, 31)),
      i32c(b, l, 1));
  Value half = arith::ShLIOp::create(b, l, i32c(b, l, 1),
                                     arith::SubIOp::create(b, l, shift, i32c(b, l, 1)));
  Value subOdd = arith::AndIOp::create(b, l, arith::ShRUIOp::create(b, l, sig, shift),
                                       i32c(b, l, 1));
  Value subRounded = arith::ShRUIOp::create(
      b, l,
      arith::AddIOp::create(
          b, l, arith::AddIOp::create(b, l, sig, arith::SubIOp::create(b, l, half, i32c(b, l, 1))),
          subOdd),
      shift);
  // f32 zeros and subnormals are far below every 8-bit float's range.
  Value sub = sel(cmp(P::eq, exp, i32c(b, l, 0)), i32c(b, l, 0), subRounded);
  Value isNormal = cmp(P::uge, a, i32c(b, l, (127 + 1 - f.bias) << 23));
  Value mag = sel(isNormal, normal, sub);
  Value isNan = cmp(P::ugt, a, i32c(b, l, 0x7f800000));
  Value tooBig = cmp(P::sgt, mag, i32c(b, l, f.maxBits)); // infinities too
  int nanBits = f.fnuz ? 0x80 : 0x7f;
  Value result;
  if (f.fnuz) {
    // 0x80 is NaN: no sign on NaN, on zero or on an unsaturated overflow.
    Value signed_ = sel(cmp(P::eq, mag, i32c(b, l, 0)), i32c(b, l, 0),
                        arith::OrIOp::create(b, l, sign, mag));
    Value over = saturate ? (Value)arith::OrIOp::create(b, l, sign, i32c(b, l, f.maxBits))
                          : i32c(b, l, nanBits);
    result = sel(isNan, i32c(b, l, nanBits), sel(tooBig, over, signed_));
  } else {
    int overBits = saturate ? f.maxBits : f.ieee ? 0x7c : nanBits;
    Value m = sel(isNan, i32c(b, l, nanBits), sel(tooBig, i32c(b, l, overBits), mag));
    result = arith::OrIOp::create(b, l, sign, m);
  }
  Value byte = arith::TruncIOp::create(b, l, b.getI8Type(), result);
  return arith::BitcastOp::create(b, l, to, byte);
}

/// Converts one element between types that are not 8-bit floats.
Value castScalarImpl(OpBuilder &b, Location l, Value x, Type to, bool fromUnsigned,
                     bool toUnsigned) {
  Type from = x.getType();
  if (from == to)
    return x;
  fromUnsigned |= from.isInteger(1);
  bool ff = isFloat(from), tf = isFloat(to);
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (to.isInteger(1)) {
    if (ff)
      return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, x, cst(b, l, from, 0));
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, x, cst(b, l, from, 0));
  }
  if (ff && tf)
    return tw > fw ? (Value)arith::ExtFOp::create(b, l, to, x)
                   : arith::TruncFOp::create(b, l, to, x);
  if (ff)
    return toUnsigned ? (Value)arith::FPToUIOp::create(b, l, to, x)
                      : arith::FPToSIOp::create(b, l, to, x);
  if (tf)
    return fromUnsigned ? (Value)arith::UIToFPOp::create(b, l, to, x)
                        : arith::SIToFPOp::create(b, l, to, x);
  if (tw == fw)
    return x;
  if (tw > fw)
    return fromUnsigned ? (Value)arith::ExtUIOp::create(b, l, to, x)
                        : arith::ExtSIOp::create(b, l, to, x);
  return arith::TruncIOp::create(b, l, to, x);
}

/// Converts one element; `fromUnsigned`/`toUnsigned` give the signedness
/// the (signless) integer types had in the weft dialect. Conversions from
/// and to 8-bit floats go through f32 (`saturate` applies to the latter).
Value castScalar(OpBuilder &b, Location l, Value x, Type to, bool fromUnsigned,
                 bool toUnsigned, bool saturate = true) {
  Type f32 = b.getF32Type();
  if (x.getType() == to)
    return x;
  if (auto f = float8Format(x.getType())) {
    x = float8ToF32(b, l, x, *f);
    fromUnsigned = false;
  }
  if (auto f = float8Format(to)) {
    // f64 narrows to f32 first, as ONNX's reference does.
    Value wide = castScalarImpl(b, l, x, f32, fromUnsigned, false);
    return f32ToFloat8(b, l, wide, to, *f, saturate);
  }
  return castScalarImpl(b, l, x, to, fromUnsigned, toUnsigned);
}

} // namespace

FailureOr<Value> cpu::lowerElementwise(OpBuilder &b, Operation *op, bool &handled) {
  // Broadcasting ops are elementwise too, but the upstream Elementwise trait
  // would demand equal shapes.
  handled = op->hasTrait<OpTrait::Elementwise>() || isBroadcastElementwise(op);
  if (!handled)
    return failure();
  Location loc = op->getLoc();
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  bool failedBody = false;
  Value result = buildBroadcastGeneric(
      b, loc, outType, op->getOperands(),
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value r;
        if (auto act = dyn_cast<ActivationOp>(op)) {
          if (isFloat(args[0].getType()))
            r = activation(act, nb, l, args[0]);
        } else if (auto clip = dyn_cast<ClipOp>(op)) {
          Type t = args[0].getType();
          Value lo = arith::ConstantOp::create(nb, l, clip.getMin());
          Value hi = arith::ConstantOp::create(nb, l, clip.getMax());
          if (isFloat(t))
            r = arith::MinimumFOp::create(nb, l, arith::MaximumFOp::create(nb, l, args[0], lo), hi);
          else if (hasUnsignedOperands(op))
            r = arith::MinUIOp::create(nb, l, arith::MaxUIOp::create(nb, l, args[0], lo), hi);
          else
            r = arith::MinSIOp::create(nb, l, arith::MaxSIOp::create(nb, l, args[0], lo), hi);
        } else if (isa<CastOp>(op)) {
          r = castScalar(nb, l, args[0], outType.getElementType(), hasUnsignedOperands(op),
                         hasUnsignedResult(op), !cast<CastOp>(op).getNoSaturate());
        } else if (auto cmp = dyn_cast<CompareOp>(op)) {
          r = compare(cmp, nb, l, args[0], args[1]);
        } else if (isa<WhereOp>(op)) {
          r = arith::SelectOp::create(nb, l, args[0], args[1], args[2]);
        } else if (args.size() == 2) {
          r = binary(op, nb, l, args[0], args[1]);
        } else if (isFloat(args[0].getType())) {
          r = floatUnary(op, nb, l, args[0]);
        } else {
          r = intUnary(op, nb, l, args[0]);
        }
        if (!r) {
          failedBody = true;
          r = ub::PoisonOp::create(nb, l, outType.getElementType());
        }
        return r;
      });
  if (failedBody) {
    result.getDefiningOp()->erase();
    return op->emitError("'") << op->getName() << "' is not supported for element type "
                              << cast<RankedTensorType>(op->getOperand(0).getType())
                                     .getElementType();
  }
  return result;
}
