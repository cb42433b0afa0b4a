//===- TileThreads.cpp - weft-cuda-tile-threads --------------------------===//
//
// One GPU thread per element of the dispatch's result: its root op is tiled
// with size 1 on every parallel loop, and the rest of the dispatch is fused
// into that tile. A dispatch that does not fuse whole runs as one thread.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/KernelConfig.h"
#include "codegen/cuda/Passes.h"


namespace weft::cuda {
#define GEN_PASS_DEF_TILETHREADS
#include "codegen/cuda/Passes.h.inc"
} // namespace weft::cuda

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

/// Threads are counted in int64; a grid holds at most 2^31 - 1 blocks.
constexpr int64_t kMaxThreads = int64_t(1) << 40;

struct TileThreadsPass : weft::cuda::impl::TileThreadsBase<TileThreadsPass> {
  /// Tiles the root of `fn` into one forall iteration per element of its
  /// parallel loops; `count` is the number of iterations (1: not tiled).
  LogicalResult tile(func::FuncOp fn, int64_t &count) {
    count = 1;
    TilingInterface root = cpu::findDispatchRoot(fn);
    if (!root)
      return success();
    OpBuilder b(root);
    SmallVector<Range> domain = root.getIterationDomain(b);
    SmallVector<utils::IteratorType> iters = root.getLoopIteratorTypes();
    SmallVector<OpFoldResult> sizes;
    for (auto [range, iter] : llvm::zip(domain, iters)) {
      auto size = getConstantIntValue(range.size);
      // An empty loop: no element, nothing to split (upstream tiling does
      // not handle a zero extent).
      if (!size || *size == 0)
        return success();
      bool split = iter == utils::IteratorType::parallel && *size > 1;
      sizes.push_back(b.getIndexAttr(split ? 1 : 0));
      if (split) {
        if (count > kMaxThreads / *size)
          return success();
        count *= *size;
      }
    }
    if (count == 1)
      return success();
    return cpu::tileRootIntoForall(root, sizes);
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(cpu::kDispatchFnAttr))
      return;
    int64_t count = cpu::tileDispatchWhole(
        fn, [&](func::FuncOp trial, int64_t &n) { return tile(trial, n); });
    OpBuilder b(fn);
    fn->setAttr(cpu::kWorkgroupCountAttr, b.getI64IntegerAttr(count));
  }
};

} // namespace
