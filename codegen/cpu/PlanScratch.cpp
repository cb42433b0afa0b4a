//===- PlanScratch.cpp - weft-cpu-plan-scratch ---------------------------===//
//
// Gives every workgroup temporary (a static memref.alloca left by
// bufferization) a fixed place in a scratch buffer passed to the dispatch,
// one block per workgroup, so kernels never depend on the size of the
// calling thread's stack.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

namespace weft::cpu {
#define GEN_PASS_DEF_PLANSCRATCH
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

/// Bound on one dispatch's scratch (all workgroups): planned memory, but a
/// tensor this large in a temporary means a kernel strategy gone wrong.
constexpr int64_t kMaxScratchBytes = int64_t(1) << 40;

int64_t alignTo(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

struct PlanScratchPass : weft::cpu::impl::PlanScratchBase<PlanScratchPass> {
  using PlanScratchBase::PlanScratchBase;
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kDispatchFnAttr))
      return;
    if (maxWorkgroups > 0)
      if (auto c = fn->getAttrOfType<IntegerAttr>(kWorkgroupCountAttr); c && c.getInt() > maxWorkgroups)
        return;
    SmallVector<memref::AllocaOp> allocas;
    fn.walk([&](memref::AllocaOp a) { allocas.push_back(a); });
    if (allocas.empty())
      return;

    // Offsets inside one workgroup's block; no reuse between temporaries
    // (they are few and tile-sized; the block is bounded either way).
    SmallVector<int64_t> offsets;
    int64_t block = 0;
    for (memref::AllocaOp a : allocas) {
      MemRefType type = a.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !type.getElementType().isIntOrFloat()) {
        a.emitError("workgroup temporary ")
            << type << " has no static size to plan";
        return signalPassFailure();
      }
      unsigned bits = type.getElementType().getIntOrFloatBitWidth();
      int64_t bytes = type.getNumElements() * (int64_t)std::max(1u, bits / 8);
      offsets.push_back(block);
      block = alignTo(block + std::max<int64_t>(bytes, 1), std::max<int64_t>(alignment, 1));
    }
    int64_t count = 1;
    if (auto c = fn->getAttrOfType<IntegerAttr>(kWorkgroupCountAttr))
      count = std::max<int64_t>(c.getInt(), 1);
    if (block > kMaxScratchBytes / count) {
      fn.emitError("workgroup temporaries need more than 2^40 bytes");
      return signalPassFailure();
    }
    int64_t total = block * count;

    // The scratch buffer goes before the trailing workgroup id.
    Block &entry = fn.getBody().front();
    unsigned idPos = entry.getNumArguments() - 1;
    BlockArgument wg = entry.getArgument(idPos);
    if (!isa<IndexType>(wg.getType())) {
      fn.emitError("dispatch function has no workgroup id argument "
                   "(run weft-cpu-distribute-workgroups first)");
      return signalPassFailure();
    }
    OpBuilder b(&getContext());
    auto scratchType = MemRefType::get({total}, b.getI8Type());
    BlockArgument scratch = entry.insertArgument(idPos, scratchType, fn.getLoc());
    SmallVector<Type> args(fn.getArgumentTypes());
    args.insert(args.begin() + idPos, scratchType);
    fn.setType(FunctionType::get(&getContext(), args, {}));
    fn->setAttr(kScratchSizeAttr, b.getI64IntegerAttr(total));

    b.setInsertionPointToStart(&entry);
    Location loc = fn.getLoc();
    Value base = arith::MulIOp::create(b, loc, wg,
                                       arith::ConstantIndexOp::create(b, loc, block));
    for (auto [a, off] : llvm::zip(allocas, offsets)) {
      OpBuilder ab(a);
      Value at = arith::AddIOp::create(ab, a.getLoc(), base,
                                       arith::ConstantIndexOp::create(ab, a.getLoc(), off));
      Value view = memref::ViewOp::create(ab, a.getLoc(), a.getType(), scratch, at,
                                          ValueRange{});
      a.replaceAllUsesWith(view);
      a.erase();
    }
  }
};

} // namespace
