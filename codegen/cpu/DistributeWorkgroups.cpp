//===- DistributeWorkgroups.cpp - weft-cpu-distribute-workgroups ---------===//
//
// After bufferization the workgroup forall writes only through buffers, so
// one iteration can run on its own: the function takes the workgroup id and
// runs exactly that iteration. The runtime provides the parallel loop.
//
// Code outside the loop runs in every workgroup. When such code writes a
// function argument's buffer (a whole-output copy out of a private buffer,
// left by a result that bufferization could not place in the output), the
// workgroups would overwrite each other's tiles; that dispatch then runs as
// one workgroup, its loop made sequential, rather than compute wrong values.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace weft::cpu {
#define GEN_PASS_DEF_DISTRIBUTEWORKGROUPS
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

/// The function argument `v`'s buffer is a view of, if any.
BlockArgument rootArgument(Value v) {
  while (true) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return arg;
    auto view = v.getDefiningOp<ViewLikeOpInterface>();
    if (!view)
      return {};
    v = view.getViewSource();
  }
}

/// True when an op of `fn` outside `forall` writes memory that views an
/// argument of `fn` (or writes without saying where).
bool writesArgumentOutside(func::FuncOp fn, scf::ForallOp forall) {
  Block &entry = fn.getBody().front();
  bool found = false;
  fn.walk([&](Operation *op) {
    if (found || forall->isAncestor(op))
      return;
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects) {
      // Ops with regions report through their bodies; others are unknown.
      if (!op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() && op->getNumRegions() == 0 &&
          !isPure(op) && !isa<func::ReturnOp>(op))
        found = true;
      return;
    }
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (auto &e : list) {
      if (!isa<MemoryEffects::Write>(e.getEffect()))
        continue;
      Value target = e.getValue();
      BlockArgument arg = target ? rootArgument(target) : BlockArgument();
      if (!target || (arg && arg.getOwner() == &entry))
        found = true;
    }
  });
  return found;
}

struct DistributeWorkgroupsPass
    : weft::cpu::impl::DistributeWorkgroupsBase<DistributeWorkgroupsPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kDispatchFnAttr))
      return;
    Block &entry = fn.getBody().front();
    BlockArgument wg = entry.addArgument(IndexType::get(&getContext()), fn.getLoc());
    SmallVector<Type> args(fn.getArgumentTypes());
    args.push_back(wg.getType());
    fn.setType(FunctionType::get(&getContext(), args, {}));

    SmallVector<scf::ForallOp> foralls(fn.getBody().getOps<scf::ForallOp>());
    if (foralls.empty())
      return;
    if (foralls.size() != 1 || !foralls[0].getResults().empty()) {
      fn.emitError("expected one bufferized workgroup scf.forall");
      return signalPassFailure();
    }
    scf::ForallOp forall = foralls[0];
    auto lbs = forall.getStaticLowerBound(), ubs = forall.getStaticUpperBound(),
         steps = forall.getStaticStep();
    if (ShapedType::isDynamicShape(lbs) || ShapedType::isDynamicShape(ubs) ||
        ShapedType::isDynamicShape(steps)) {
      forall.emitError("workgroup loop bounds must be static");
      return signalPassFailure();
    }
    IRRewriter rewriter(forall);
    Location loc = forall.getLoc();
    if (writesArgumentOutside(fn, forall)) {
      fn->setAttr(kWorkgroupCountAttr, rewriter.getI64IntegerAttr(1));
      if (failed(scf::forallToForLoop(rewriter, forall)))
        return signalPassFailure();
      return;
    }
    SmallVector<int64_t> trips;
    int64_t total = 1;
    for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
      trips.push_back((ub - lb + step - 1) / step);
      total *= trips.back();
    }
    if (auto expected = fn->getAttrOfType<IntegerAttr>(kWorkgroupCountAttr))
      if (expected.getInt() != total) {
        fn.emitError("workgroup count ") << expected.getInt()
                                         << " does not match the loop's " << total;
        return signalPassFailure();
      }
    SmallVector<Value> ivs;
    if (trips.size() == 1) {
      ivs.push_back(wg);
    } else {
      auto delin = affine::AffineDelinearizeIndexOp::create(rewriter, loc, wg, ArrayRef<int64_t>(trips),
                                                            /*hasOuterBound=*/true);
      ivs.append(delin.getResults().begin(), delin.getResults().end());
    }
    for (auto [i, lb, step] : llvm::enumerate(lbs, steps)) {
      Value scaled = arith::MulIOp::create(
          rewriter, loc, ivs[i], arith::ConstantIndexOp::create(rewriter, loc, step));
      ivs[i] = arith::AddIOp::create(rewriter, loc, scaled,
                                     arith::ConstantIndexOp::create(rewriter, loc, lb));
    }
    Block *body = forall.getBody();
    rewriter.eraseOp(body->getTerminator());
    rewriter.inlineBlockBefore(body, forall, ivs);
    rewriter.eraseOp(forall);
  }
};

} // namespace
