//===- FormDispatches.cpp - weft-form-dispatches -------------------------===//
//
// Groups compute ops into weft.dispatch regions, the unit that becomes one
// kernel. A chain of elementwise ops over one shape, where each link's only
// user is the next, shares a region (the intermediates never reach memory).
// A convolution or a 2-D matmul/gemm heads such a chain when its result's
// only user is the chain's first link (bias, activation, residual add): the
// backend computes the epilogue on the root's tiles. Every other op gets a
// region of its own. A region yields only the values
// used outside it. A Concat also takes in the elementwise chains that only
// feed it, so its pieces are computed in place.
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

/// Ops whose elementwise consumers join their region (the epilogue is
/// computed on the root's result tiles). A matmul whose result is not 2-D is
/// computed through a reshape, which the tiling cannot fuse across.
bool isFusionRoot(Operation *op) {
  if (isa<ConvOp>(op))
    return true;
  if (isa<MatMulOp, GemmOp>(op))
    return cast<ShapedType>(op->getResult(0).getType()).getRank() == 2;
  return false;
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

  /// Wraps `ops` (each after the members it uses; only the last one's results
  /// used outside) into one dispatch placed at the last op, where every
  /// outside operand is already defined. It yields the last op's results
  /// first (codegen tiles the first result's producer), then any other
  /// result used outside.
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
    builder.setInsertionPoint(ops.back());
    auto dispatch = DispatchOp::create(builder, ops.back()->getLoc(),
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

  /// A Concat takes in the elementwise groups whose only user it is, so the
  /// pieces are computed straight into their windows of the output (one
  /// kernel instead of one per branch plus a copy).
  void absorbConcatProducers(ConcatOp concat, SmallVector<SmallVector<Operation *>> &groups,
                             DenseMap<Operation *, size_t> &groupOf) {
    size_t concatGroup = groupOf[concat];
    SmallVector<size_t> producers;
    for (Value in : concat.getInputs()) {
      Operation *def = in.getDefiningOp();
      auto it = def ? groupOf.find(def) : groupOf.end();
      if (it == groupOf.end() || llvm::is_contained(producers, it->second))
        continue;
      SmallVector<Operation *> &g = groups[it->second];
      bool absorbable = g.back() == def && llvm::all_of(g, isElementwiseLike) &&
                        llvm::all_of(def->getUsers(), [&](Operation *u) { return u == concat; });
      if (absorbable)
        producers.push_back(it->second);
    }
    if (producers.empty())
      return;
    llvm::sort(producers, [&](size_t a, size_t b) {
      return groups[a].front()->isBeforeInBlock(groups[b].front());
    });
    SmallVector<Operation *> merged;
    for (size_t g : producers)
      merged.append(groups[g].begin(), groups[g].end());
    merged.push_back(concat);
    for (size_t g : producers)
      groups[g].clear();
    for (Operation *op : merged)
      groupOf[op] = concatGroup;
    groups[concatGroup] = std::move(merged);
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    OpBuilder builder(&getContext());
    SmallVector<Operation *> work;
    for (Operation &op : func.getBody().front())
      if (!isStructural(&op) && !op.hasTrait<OpTrait::IsTerminator>())
        work.push_back(&op);
    // Chains: an elementwise op joins the group of its operand's producer
    // when it is that producer's only user and has the group's shape.
    SmallVector<SmallVector<Operation *>> groups;
    DenseMap<Operation *, size_t> groupOf;
    for (Operation *op : work) {
      std::optional<size_t> join;
      if (isElementwiseLike(op) && op->getNumResults() == 1) {
        // A root's group is preferred: its epilogue saves a pass over the
        // root's (usually larger) result.
        for (bool roots : {true, false}) {
          for (Value operand : op->getOperands()) {
            Operation *producer = operand.getDefiningOp();
            auto it = producer ? groupOf.find(producer) : groupOf.end();
            if (it == groupOf.end())
              continue;
            SmallVector<Operation *> &g = groups[it->second];
            bool linkable = roots ? g.size() == 1 && isFusionRoot(producer)
                                  : isElementwiseLike(producer);
            if (!linkable || g.back() != producer || g.size() >= kMaxChain ||
                producer->getNumResults() != 1 ||
                producer->getResult(0).getType() != op->getResult(0).getType() ||
                llvm::any_of(producer->getResult(0).getUsers(),
                             [&](Operation *u) { return u != op; }))
              continue;
            join = it->second;
            break;
          }
          if (join)
            break;
        }
      }
      if (join) {
        groups[*join].push_back(op);
        groupOf[op] = *join;
      } else {
        groupOf[op] = groups.size();
        groups.push_back({op});
        if (auto concat = dyn_cast<ConcatOp>(op))
          absorbConcatProducers(concat, groups, groupOf);
      }
    }
    for (SmallVector<Operation *> &g : groups)
      if (!g.empty())
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
