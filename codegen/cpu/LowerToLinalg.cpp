//===- LowerToLinalg.cpp - weft-lower-to-linalg --------------------------===//
//
// Drives the per-op lowerings of Lowering.h over every dispatch body. Types
// do not change (weft and linalg both work on builtin tensors), so each op is
// replaced in place, in program order.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Lowering.h"
#include "codegen/cpu/Passes.h"

namespace weft::cpu {
#define GEN_PASS_DEF_LOWERTOLINALG
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

struct LowerToLinalgPass : weft::cpu::impl::LowerToLinalgBase<LowerToLinalgPass> {
  void runOnOperation() override {
    SmallVector<DispatchOp> dispatches;
    getOperation().walk([&](DispatchOp d) { dispatches.push_back(d); });
    OpBuilder builder(&getContext());
    for (DispatchOp dispatch : dispatches) {
      SmallVector<Operation *> ops;
      for (Operation &op : dispatch.getBody().front().without_terminator())
        ops.push_back(&op);
      for (Operation *op : ops) {
        if (!isa<WeftDialect>(op->getDialect()))
          continue;
        builder.setInsertionPoint(op);
        FailureOr<Value> replacement = lowerOne(builder, op);
        if (failed(replacement))
          return signalPassFailure();
        op->getResult(0).replaceAllUsesWith(*replacement);
        op->erase();
      }
    }
  }

  FailureOr<Value> lowerOne(OpBuilder &b, Operation *op) {
    if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      auto type = reshape.getType();
      SmallVector<int64_t> dims(type.getShape());
      auto shapeType = RankedTensorType::get({(int64_t)dims.size()}, b.getI64Type());
      Value shape = arith::ConstantOp::create(
          b, op->getLoc(), DenseElementsAttr::get(shapeType, ArrayRef<int64_t>(dims)));
      return tensor::ReshapeOp::create(b, op->getLoc(), type, reshape.getInput(), shape)
          .getResult();
    }
    bool handled = false;
    FailureOr<Value> r = lowerElementwise(b, op, handled);
    if (handled)
      return r;
    r = lowerStructured(b, op, handled);
    if (handled)
      return r;
    return op->emitError("no CPU lowering for '") << op->getName() << "'";
  }
};

} // namespace
