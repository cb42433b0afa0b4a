//===- FormDispatches.cpp - weft-form-dispatches -------------------------===//
//
// Puts every compute op into its own weft.dispatch region: the unit that
// becomes one kernel. Fusion of several ops per region will grow here; the
// rest of the pipeline already handles regions of any size.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace weft {
#define GEN_PASS_DEF_FORMDISPATCHES
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;

namespace {

/// Ops that do no work of their own: they stay at the top level.
static bool isStructural(Operation *op) {
  return isa<ConstantOp, ReshapeOp, DispatchOp, DispatchCallOp>(op) ||
         !isa<WeftDialect>(op->getDialect());
}

struct FormDispatchesPass : weft::impl::FormDispatchesBase<FormDispatchesPass> {
  using FormDispatchesBase::FormDispatchesBase;

  bool isClonable(Value v) const {
    auto cst = v.getDefiningOp<ConstantOp>();
    if (!cst)
      return false;
    auto elements = cst.getValue();
    return elements.isSplat() || elements.getNumElements() <= cloneConstantLimit;
  }

  /// Wraps `ops` (all results escape) into one dispatch placed before the
  /// first op.
  DispatchOp wrap(OpBuilder &builder, ArrayRef<Operation *> ops) {
    llvm::SetVector<Value> inputs;
    llvm::SetVector<Operation *> opSet(ops.begin(), ops.end());
    for (Operation *op : ops)
      for (Value operand : op->getOperands())
        if (!opSet.contains(operand.getDefiningOp()) && !isClonable(operand))
          inputs.insert(operand);
    SmallVector<Value> results;
    SmallVector<Type> resultTypes;
    for (Operation *op : ops)
      for (Value r : op->getResults()) {
        results.push_back(r);
        resultTypes.push_back(r.getType());
      }
    builder.setInsertionPoint(ops.front());
    auto dispatch = DispatchOp::create(builder, ops.front()->getLoc(),
                                       resultTypes, inputs.getArrayRef());
    Block &body = dispatch.getBody().front();
    IRMapping mapping;
    for (auto [in, arg] : llvm::zip(inputs, body.getArguments()))
      mapping.map(in, arg);
    OpBuilder inner = OpBuilder::atBlockBegin(&body);
    for (Operation *op : ops) {
      for (Value operand : op->getOperands())
        if (!mapping.contains(operand) && isClonable(operand))
          inner.clone(*operand.getDefiningOp(), mapping);
      inner.clone(*op, mapping);
    }
    SmallVector<Value> yielded;
    for (Value r : results)
      yielded.push_back(mapping.lookup(r));
    YieldOp::create(inner, dispatch.getLoc(), yielded);
    for (auto [r, d] : llvm::zip(results, dispatch.getResults()))
      r.replaceAllUsesWith(d);
    for (Operation *op : llvm::reverse(ops))
      op->erase();
    return dispatch;
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    OpBuilder builder(&getContext());
    SmallVector<Operation *> work;
    for (Operation &op : func.getBody().front())
      if (!isStructural(&op) && !op.hasTrait<OpTrait::IsTerminator>())
        work.push_back(&op);
    for (Operation *op : work)
      wrap(builder, {op});

    // Each model output must be written by exactly one kernel.
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    llvm::SmallPtrSet<Value, 8> seen;
    for (OpOperand &operand : ret->getOpOperands()) {
      Value v = operand.get();
      bool ownedByDispatch = v.getDefiningOp<DispatchOp>() && !seen.contains(v);
      seen.insert(v);
      if (ownedByDispatch)
        continue;
      builder.setInsertionPoint(ret);
      auto copy = IdentityOp::create(builder, ret.getLoc(), v);
      operand.set(copy);
      wrap(builder, {copy});
    }
    // Constants that are now used only inside bodies are dead at the top.
    for (Operation &op : llvm::make_early_inc_range(func.getBody().front()))
      if (isa<ConstantOp>(op) && op.use_empty())
        op.erase();
  }
};

} // namespace
