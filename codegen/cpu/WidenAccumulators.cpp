//===- WidenAccumulators.cpp - f16/bf16 arithmetic computed in f32 -------===//
//
// A reduction whose result is f16 or bf16 (a MatMul's or a Conv's sums, a
// ReduceSum, an average pool, a softmax's denominator) would otherwise add
// every term into a 16-bit accumulator, rounding after each: 1024 products
// of f16 values in [-1, 1] end up about 0.5 off. onnxruntime accumulates
// them in f32 and rounds the result once; so does Weft: the reduction runs
// on an f32 copy of its init, its payload computed in f32 (16-bit inputs
// extended, constants widened), and its result is truncated once.
//
// The ops that follow compute in f32 too: onnxruntime computes each 16-bit
// op in f32 and rounds its output, so a ReduceMean whose sum passes 65504
// still divides to a finite mean, and a Gelu's 1 + erf(x) does not cancel
// an erf already rounded to f16. Here every generic of a dispatch with
// 16-bit float operands or results is rebuilt in f32, in program order,
// reading its producers' f32 results where they were widened, and its
// results are truncated once for the users that are not such generics
// (the dispatch's outputs, reshapes, named ops). An elementwise chain then
// rounds once at its end, not after every op.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace {

bool isHalf(Type t) { return isa<Float16Type, BFloat16Type>(t); }

/// An elementwise generic converting `source` (a tensor) to `type`.
Value convert(OpBuilder &b, Location loc, Value source, RankedTensorType type) {
  Type to = type.getElementType();
  Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), to);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iters(type.getRank(), utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{source}, ValueRange{empty},
             ArrayRef<AffineMap>{id, id}, iters,
             [&](OpBuilder &gb, Location gl, ValueRange args) {
               Value v = args[0];
               v = to.getIntOrFloatBitWidth() > v.getType().getIntOrFloatBitWidth()
                       ? (Value)arith::ExtFOp::create(gb, gl, to, v)
                       : (Value)arith::TruncFOp::create(gb, gl, to, v);
               linalg::YieldOp::create(gb, gl, v);
             })
      .getResult(0);
}

/// The f32 init of the widened reduction: a fill of the widened value, or
/// the 16-bit init extended.
Value wideInit(OpBuilder &b, Location loc, Value init, RankedTensorType wide) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
    Value scalar = fill.getInputs()[0];
    if (isHalf(scalar.getType())) {
      Value ext = arith::ExtFOp::create(b, loc, wide.getElementType(), scalar);
      Value empty = tensor::EmptyOp::create(b, loc, wide.getShape(), wide.getElementType());
      return linalg::FillOp::create(b, loc, ValueRange{ext}, ValueRange{empty}).getResult(0);
    }
  }
  return convert(b, loc, init, wide);
}

/// Copies `body` (of a generic whose 16-bit inits became f32) into `into`,
/// the body of its f32 twin: inputs still 16-bit in `into` extended on
/// entry, every 16-bit value the payload computes computed in f32 instead. Fails on an op it
/// cannot widen (leaving `into` half built: the caller erases it).
LogicalResult widenBody(Block &body, Block &into, unsigned numInputs, Type f32) {
  OpBuilder b = OpBuilder::atBlockBegin(&into);
  IRMapping map;
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    Value wide = into.getArgument(i);
    if (i < numInputs && isHalf(wide.getType()))
      wide = arith::ExtFOp::create(b, arg.getLoc(), f32, wide);
    map.map(arg, wide);
  }
  for (Operation &op : body) {
    Location loc = op.getLoc();
    if (auto yield = dyn_cast<linalg::YieldOp>(op)) {
      SmallVector<Value> values;
      for (auto [v, arg] : llvm::zip(yield.getValues(), into.getArguments().drop_front(numInputs))) {
        // Each yielded value as its (f32 or unchanged) init's type.
        Value mapped = map.lookupOrDefault(v);
        if (mapped.getType() != arg.getType())
          return failure();
        values.push_back(mapped);
      }
      linalg::YieldOp::create(b, loc, values);
      continue;
    }
    if (auto constant = dyn_cast<arith::ConstantOp>(op);
        constant && isHalf(constant.getType())) {
      APFloat v = cast<FloatAttr>(constant.getValue()).getValue();
      bool lost;
      v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      map.map(constant.getResult(), arith::ConstantOp::create(b, loc, FloatAttr::get(f32, v)));
      continue;
    }
    // A conversion to or from the 16-bit type now converts from or to f32,
    // or nothing.
    if (isa<arith::ExtFOp, arith::TruncFOp>(op)) {
      Value source = map.lookupOrDefault(op.getOperand(0));
      Type target = isHalf(op.getResult(0).getType()) ? f32 : op.getResult(0).getType();
      if (source.getType() == target) {
        map.map(op.getResult(0), source);
      } else if (target.getIntOrFloatBitWidth() > source.getType().getIntOrFloatBitWidth()) {
        map.map(op.getResult(0), arith::ExtFOp::create(b, loc, target, source));
      } else {
        map.map(op.getResult(0), arith::TruncFOp::create(b, loc, target, source));
      }
      continue;
    }
    bool computes = isa<arith::ArithDialect, math::MathDialect>(op.getDialect()) &&
                    op.getNumRegions() == 0;
    if (!computes) {
      // Anything else (tensor.extract, linalg.index) keeps its types; a
      // 16-bit result of it is extended.
      if (llvm::any_of(op.getOperands(), [&](Value v) {
            return map.lookupOrDefault(v).getType() != v.getType();
          }))
        return failure();
      Operation *copy = b.clone(op, map);
      for (auto [old, now] : llvm::zip(op.getResults(), copy->getResults()))
        map.map(old, isHalf(now.getType()) ? (Value)arith::ExtFOp::create(b, loc, f32, now) : now);
      continue;
    }
    Operation *copy = b.clone(op, map);
    for (OpResult r : copy->getResults())
      if (isHalf(r.getType()))
        r.setType(f32);
    // Operands must agree: a 16-bit operand left (none should be) fails.
    if (llvm::any_of(copy->getOperandTypes(), isHalf))
      return failure();
    for (auto [old, now] : llvm::zip(op.getResults(), copy->getResults()))
      map.map(old, now);
  }
  return success();
}

/// `op` (a linalg op on tensors with reductions and one 16-bit init) as an
/// f32 generic (an NCHW convolution: an f32 convolution) followed by a
/// truncation; failure leaves `op` as it was.
FailureOr<Value> widen(RewriterBase &rw, linalg::LinalgOp op) {
  Location loc = op.getLoc();
  Value init = op.getDpsInits()[0];
  auto type = cast<RankedTensorType>(init.getType());
  Type f32 = rw.getF32Type();
  auto wide = RankedTensorType::get(type.getShape(), f32);
  // An NCHW convolution stays one (its body extends 16-bit inputs to its
  // f32 init's type), the form the CUDA backend's blocks take; other named
  // ops become generics, their bodies widened below.
  auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op.getOperation());
  linalg::GenericOp generic;
  if (auto g = dyn_cast<linalg::GenericOp>(op.getOperation())) {
    generic = g;
  } else if (!conv) {
    // A named op's body is typed for its operands: its generic form is
    // rebuilt below.
    rw.setInsertionPoint(op);
    FailureOr<linalg::GenericOp> generalized =
        linalg::generalizeNamedOp(rw, cast<linalg::LinalgOp>(op.getOperation()));
    if (failed(generalized))
      return failure();
    generic = *generalized;
  }
  Operation *narrowed = conv ? conv.getOperation() : generic.getOperation();
  rw.setInsertionPoint(narrowed);
  Value wideStart = wideInit(rw, loc, init, wide);
  Operation *twin;
  if (conv) {
    twin = linalg::Conv2DNchwFchwOp::create(rw, loc, TypeRange{wide}, conv.getInputs(),
                                            ValueRange{wideStart}, conv.getStrides(),
                                            conv.getDilations());
  } else {
    auto twinGeneric = linalg::GenericOp::create(rw, loc, TypeRange{wide}, generic.getDpsInputs(),
                                                 ValueRange{wideStart},
                                                 generic.getIndexingMapsArray(),
                                                 generic.getIteratorTypesArray());
    twin = twinGeneric;
    Block &body = generic.getRegion().front();
    SmallVector<Type> argTypes;
    SmallVector<Location> argLocs;
    for (BlockArgument arg : body.getArguments()) {
      argTypes.push_back(arg.getArgNumber() < generic.getNumDpsInputs() ? arg.getType() : f32);
      argLocs.push_back(arg.getLoc());
    }
    Block *into = rw.createBlock(&twinGeneric.getRegion(), {}, argTypes, argLocs);
    if (failed(widenBody(body, *into, generic.getNumDpsInputs(), f32))) {
      rw.eraseOp(twin);
      return failure();
    }
  }
  rw.setInsertionPointAfter(twin);
  Value narrow = convert(rw, loc, twin->getResult(0), type);
  rw.replaceOp(narrowed, narrow);
  return narrow;
}

/// The f32 value that `v` is the truncation of, when one of
/// `truncations` (made here) computes `v`; null otherwise. Read from the
/// truncation itself, which replacing its input keeps current.
Value wideSource(Value v, const llvm::DenseSet<Operation *> &truncations) {
  auto t = v.getDefiningOp<linalg::GenericOp>();
  return t && truncations.contains(t.getOperation()) ? t.getDpsInputs()[0] : Value();
}

/// `generic` (on tensors) computed in f32: inputs that are `truncations`
/// read their f32 sources, other 16-bit inputs are extended in the body,
/// 16-bit inits become f32 (extended where the payload reads them, empty
/// otherwise), and each 16-bit result is truncated once (the truncation
/// added to `truncations`). False, leaving `generic` as it was, where its
/// payload cannot be widened or it has nothing 16-bit.
bool widenGeneric(RewriterBase &rw, linalg::GenericOp generic,
                  llvm::DenseSet<Operation *> &truncations) {
  auto wideOf = [&](Value v) { return wideSource(v, truncations); };
  auto halfValue = [](Value v) { return isHalf(getElementTypeOrSelf(v.getType())); };
  // 16-bit inputs alone are extended in the body already (their values
  // are exact in f32): only a widened producer or a 16-bit result counts.
  if (!generic.hasPureTensorSemantics() ||
      (llvm::none_of(generic.getDpsInputs(), [&](Value v) { return (bool)wideOf(v); }) &&
       llvm::none_of(generic.getDpsInits(), halfValue) &&
       llvm::none_of(generic->getResults(), halfValue)))
    return false;
  Location loc = generic.getLoc();
  Type f32 = rw.getF32Type();
  rw.setInsertionPoint(generic);
  SmallVector<Value> inputs, inits;
  for (Value in : generic.getDpsInputs())
    inputs.push_back(wideOf(in) ? wideOf(in) : in);
  for (OpOperand &init : generic.getDpsInitsMutable()) {
    auto type = dyn_cast<RankedTensorType>(init.get().getType());
    if (!type || !isHalf(type.getElementType())) {
      inits.push_back(init.get());
      continue;
    }
    auto wide = RankedTensorType::get(type.getShape(), f32);
    if (Value w = wideOf(init.get()))
      inits.push_back(w);
    else if (generic.payloadUsesValueFromOperand(&init))
      inits.push_back(wideInit(rw, loc, init.get(), wide));
    else
      inits.push_back(tensor::EmptyOp::create(rw, loc, type.getShape(), f32));
  }
  SmallVector<Type> resultTypes;
  for (Value init : inits)
    resultTypes.push_back(init.getType());
  auto twin = linalg::GenericOp::create(rw, loc, resultTypes, inputs, inits,
                                        generic.getIndexingMapsArray(),
                                        generic.getIteratorTypesArray());
  Block &body = generic.getRegion().front();
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  for (BlockArgument arg : body.getArguments()) {
    Value operand = twin->getOperand(arg.getArgNumber());
    argTypes.push_back(getElementTypeOrSelf(operand.getType()));
    argLocs.push_back(arg.getLoc());
  }
  Block *into = rw.createBlock(&twin.getRegion(), {}, argTypes, argLocs);
  if (failed(widenBody(body, *into, generic.getNumDpsInputs(), f32))) {
    rw.eraseOp(twin);
    return false;
  }
  rw.setInsertionPointAfter(twin);
  SmallVector<Value> replacements;
  for (auto [old, now] : llvm::zip(generic->getResults(), twin->getResults())) {
    if (old.getType() == now.getType()) {
      replacements.push_back(now);
      continue;
    }
    Value narrow = convert(rw, loc, now, cast<RankedTensorType>(old.getType()));
    truncations.insert(narrow.getDefiningOp());
    replacements.push_back(narrow);
  }
  rw.replaceOp(generic, replacements);
  return true;
}

} // namespace

bool weft::cpu::widenHalfAccumulators(Region &region) {
  SmallVector<linalg::LinalgOp> reductions;
  region.walk([&](linalg::LinalgOp op) {
    if (op.hasPureTensorSemantics() && op.getNumReductionLoops() > 0 &&
        op.getNumDpsInits() == 1 && op->getNumResults() == 1 &&
        isHalf(getElementTypeOrSelf(op.getDpsInits()[0].getType())))
      reductions.push_back(op);
  });
  IRRewriter rw(region.getContext());
  bool changed = false;
  // The truncations made here: generics of one input, the f32 value they
  // round.
  llvm::DenseSet<Operation *> truncations;
  for (linalg::LinalgOp op : reductions) {
    FailureOr<Value> narrow = widen(rw, op);
    if (failed(narrow))
      continue;
    changed = true;
    truncations.insert(narrow->getDefiningOp());
  }
  // Then every generic with 16-bit operands or results, producers first.
  SmallVector<linalg::GenericOp> generics;
  region.walk([&](linalg::GenericOp g) {
    if (!truncations.contains(g.getOperation()))
      generics.push_back(g);
  });
  for (linalg::GenericOp g : generics)
    changed |= widenGeneric(rw, g, truncations);
  // Truncations that nothing reads any more.
  for (Operation *t : truncations)
    if (t->use_empty())
      rw.eraseOp(t);
  return changed;
}
