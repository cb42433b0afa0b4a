//===- FormDispatches.cpp - weft-form-dispatches -------------------------===//
//
// Groups compute ops into weft.dispatch regions, the unit that becomes one
// kernel. A chain of elementwise ops over one shape, where each link's only
// user is the next, shares a region (the intermediates never reach memory);
// every other op gets a region of its own. A region yields only the values
// used outside it.
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

/// Ops that compute each output element from the elements at the same
/// (broadcast) position, and so fuse into their consumer's loops.
bool isElementwiseLike(Operation *op) {
  return op->hasTrait<OpTrait::Elementwise>() ||
         isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, PReluOp, AndOp, OrOp,
             XorOp, CompareOp, WhereOp>(op);
}

/// Longest elementwise chain in one region: bounds the size of one kernel so
/// compile time stays linear in the number of ops.
constexpr size_t kMaxChain = 64;

struct FormDispatchesPass : weft::impl::FormDispatchesBase<FormDispatchesPass> {
  using FormDispatchesBase::FormDispatchesBase;

  bool isClonable(Value v) const {
    auto cst = v.getDefiningOp<ConstantOp>();
    if (!cst)
      return false;
    auto elements = cst.getValue();
    return elements.isSplat() || elements.getNumElements() <= cloneConstantLimit;
  }

  /// Wraps `ops` (in program order; every operand defined before the first
  /// op, by a member, or a clonable constant) into one dispatch placed
  /// before the first op. It yields the last op's results first (codegen
  /// tiles the first result's producer), then any other result used outside.
  DispatchOp wrap(OpBuilder &builder, ArrayRef<Operation *> ops) {
    llvm::SetVector<Value> inputs;
    llvm::SetVector<Operation *> opSet(ops.begin(), ops.end());
    for (Operation *op : ops)
      for (Value operand : op->getOperands())
        if (!opSet.contains(operand.getDefiningOp()) && !isClonable(operand))
          inputs.insert(operand);
    SmallVector<Value> results;
    SmallVector<Type> resultTypes;
    auto escapes = [&](Value r) {
      return llvm::any_of(r.getUsers(),
                          [&](Operation *user) { return !opSet.contains(user); });
    };
    for (Value r : ops.back()->getResults()) {
      results.push_back(r);
      resultTypes.push_back(r.getType());
    }
    for (Operation *op : ops.drop_back())
      for (Value r : op->getResults())
        if (escapes(r)) {
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
    // Chains: an elementwise op joins the group of its operand's producer
    // when it is that producer's only user, has the group's shape, and reads
    // nothing defined after the group starts.
    SmallVector<SmallVector<Operation *>> groups;
    DenseMap<Operation *, size_t> groupOf;
    for (Operation *op : work) {
      std::optional<size_t> join;
      if (isElementwiseLike(op) && op->getNumResults() == 1) {
        for (Value operand : op->getOperands()) {
          Operation *producer = operand.getDefiningOp();
          auto it = producer ? groupOf.find(producer) : groupOf.end();
          if (it == groupOf.end())
            continue;
          SmallVector<Operation *> &g = groups[it->second];
          if (g.back() != producer || g.size() >= kMaxChain ||
              !isElementwiseLike(producer) ||
              producer->getResult(0).getType() != op->getResult(0).getType() ||
              llvm::any_of(producer->getResult(0).getUsers(),
                           [&](Operation *u) { return u != op; }))
            continue;
          bool operandsReady = llvm::all_of(op->getOperands(), [&](Value v) {
            Operation *def = v.getDefiningOp();
            return !def || def == producer || isClonable(v) ||
                   def->isBeforeInBlock(g.front());
          });
          if (operandsReady) {
            join = it->second;
            break;
          }
        }
      }
      if (join) {
        groups[*join].push_back(op);
        groupOf[op] = *join;
      } else {
        groupOf[op] = groups.size();
        groups.push_back({op});
      }
    }
    for (SmallVector<Operation *> &g : groups)
      wrap(builder, g);

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
