//===- PlanMemory.cpp - weft-plan-memory ---------------------------------===//
//
// Static memory planning: every intermediate tensor gets a byte offset in a
// single arena, fixed at compile time, so the generated run function never
// allocates. Buffers whose live ranges do not overlap share memory.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include <limits>

namespace weft {
#define GEN_PASS_DEF_PLANMEMORY
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;

namespace {

struct Buffer {
  Value value;
  int64_t size;
  int64_t begin, end; // live range in op indices, inclusive
  int64_t offset = -1;
};

static int64_t byteSize(Type type) {
  auto t = cast<RankedTensorType>(type);
  int64_t bits = t.getElementType().getIntOrFloatBitWidth();
  return t.getNumElements() * ((bits + 7) / 8);
}

struct PlanMemoryPass : weft::impl::PlanMemoryBase<PlanMemoryPass> {
  using PlanMemoryBase::PlanMemoryBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    Block &block = func.getBody().front();
    llvm::DenseMap<Operation *, int64_t> index;
    for (auto [i, op] : llvm::enumerate(block))
      index[&op] = i;

    // Last use of a value, following reshape aliases (they share its bytes).
    std::function<int64_t(Value)> lastUse = [&](Value v) -> int64_t {
      int64_t last = -1;
      for (Operation *user : v.getUsers()) {
        last = std::max(last, index.lookup(user));
        if (auto reshape = dyn_cast<ReshapeOp>(user))
          last = std::max(last, lastUse(reshape.getResult()));
      }
      return last;
    };

    auto ret = cast<func::ReturnOp>(block.getTerminator());
    llvm::SmallPtrSet<Value, 8> returned(ret.getOperands().begin(),
                                         ret.getOperands().end());
    std::vector<Buffer> buffers;
    for (Operation &op : block) {
      auto dispatch = dyn_cast<DispatchOp>(op);
      if (!dispatch)
        continue;
      for (Value r : dispatch.getResults()) {
        if (returned.contains(r))
          continue;
        int64_t size = llvm::alignTo(std::max<int64_t>(byteSize(r.getType()), 1),
                                     alignment);
        // An unused result is still written: it lives at least during its
        // own dispatch.
        buffers.push_back({r, size, index[&op], std::max(index[&op], lastUse(r))});
      }
    }

    // Greedy packing: buffers in a given order, each at the lowest offset
    // (first fit) or in the tightest gap (best fit) that is free over its
    // live range. No single order is best for every graph (ResNet-50 packs
    // to 1.11x its lower bound largest-first), so a few orders are tried and
    // the smallest arena kept; large graphs try only largest-first first
    // fit, which keeps planning quadratic with a small constant.
    auto pack = [&](ArrayRef<Buffer *> order, bool bestFit,
                    std::vector<int64_t> &offsetsOut) -> int64_t {
      offsetsOut.assign(buffers.size(), -1);
      std::vector<Buffer *> placed;
      int64_t arena = 0;
      std::vector<std::pair<int64_t, int64_t>> busy;
      for (Buffer *b : order) {
        busy.clear();
        for (Buffer *p : placed)
          if (p->begin <= b->end && b->begin <= p->end)
            busy.push_back({offsetsOut[p - buffers.data()],
                            offsetsOut[p - buffers.data()] + p->size});
        llvm::sort(busy);
        int64_t offset = 0, best = -1, bestGap = std::numeric_limits<int64_t>::max();
        for (auto [lo, hi] : busy) {
          if (offset + b->size <= lo) {
            if (!bestFit) {
              best = offset;
              break;
            }
            if (lo - offset < bestGap) {
              bestGap = lo - offset;
              best = offset;
            }
          }
          offset = std::max(offset, hi);
        }
        if (best < 0)
          best = offset; // above every busy range
        offsetsOut[b - buffers.data()] = best;
        placed.push_back(b);
        arena = std::max(arena, best + b->size);
      }
      return arena;
    };
    std::vector<Buffer *> bySize;
    for (Buffer &b : buffers)
      bySize.push_back(&b);
    llvm::stable_sort(bySize, [](Buffer *a, Buffer *b) { return a->size > b->size; });
    SmallVector<std::vector<Buffer *>> orders = {bySize};
    constexpr size_t kMaxSearched = 4096;
    if (buffers.size() <= kMaxSearched) {
      // Longest-lived first (ties: larger first), and size x lifetime.
      std::vector<Buffer *> byLife = bySize, byArea = bySize;
      llvm::stable_sort(byLife, [](Buffer *a, Buffer *b) {
        return a->end - a->begin > b->end - b->begin;
      });
      llvm::stable_sort(byArea, [](Buffer *a, Buffer *b) {
        return a->size * (a->end - a->begin + 1) > b->size * (b->end - b->begin + 1);
      });
      orders.push_back(std::move(byLife));
      orders.push_back(std::move(byArea));
    }
    int64_t arenaSize = std::numeric_limits<int64_t>::max();
    std::vector<int64_t> trial, chosen;
    for (const std::vector<Buffer *> &order : orders)
      for (bool bestFit : {false, true}) {
        if (bestFit && buffers.size() > kMaxSearched)
          continue;
        int64_t size = pack(order, bestFit, trial);
        if (size < arenaSize) {
          arenaSize = size;
          chosen = trial;
        }
      }
    if (buffers.empty())
      arenaSize = 0;
    for (auto [b, offset] : llvm::zip(buffers, chosen))
      b.offset = offset;

    llvm::DenseMap<Value, int64_t> offsets;
    for (Buffer &b : buffers)
      offsets[b.value] = b.offset;
    OpBuilder builder(&getContext());
    for (Operation &op : block)
      if (auto dispatch = dyn_cast<DispatchOp>(op)) {
        SmallVector<int64_t> offs;
        for (Value r : dispatch.getResults())
          offs.push_back(offsets.lookup_or(r, -1));
        dispatch->setAttr(kResultOffsetsAttr, builder.getDenseI64ArrayAttr(offs));
      }
    func->setAttr(kArenaSizeAttr, builder.getI64IntegerAttr(arenaSize));
    // The lower bound: the largest sum of buffers live at one op.
    std::vector<int64_t> live(block.getOperations().size() + 1, 0);
    for (Buffer &b : buffers) {
      live[b.begin] += b.size;
      live[b.end + 1] -= b.size;
    }
    int64_t running = 0, bound = 0;
    for (int64_t delta : live) {
      running += delta;
      bound = std::max(bound, running);
    }
    func->setAttr(kArenaLowerBoundAttr, builder.getI64IntegerAttr(bound));
  }
};

} // namespace
