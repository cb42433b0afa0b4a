//===- DistributeWorkgroups.cpp - weft-cpu-distribute-workgroups ---------===//
//
// After bufferization the workgroup forall writes only through buffers, so
// one iteration can run on its own: the function takes the workgroup id and
// runs exactly that iteration. The runtime provides the parallel loop.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace weft::cpu {
#define GEN_PASS_DEF_DISTRIBUTEWORKGROUPS
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

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
