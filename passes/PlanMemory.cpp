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

    // Largest first, each at the lowest offset free over its live range.
    std::vector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::stable_sort(order, [](Buffer *a, Buffer *b) { return a->size > b->size; });
    std::vector<Buffer *> placed;
    int64_t arenaSize = 0;
    for (Buffer *b : order) {
      std::vector<std::pair<int64_t, int64_t>> busy;
      for (Buffer *p : placed)
        if (p->begin <= b->end && b->begin <= p->end)
          busy.push_back({p->offset, p->offset + p->size});
      llvm::sort(busy);
      int64_t offset = 0;
      for (auto [lo, hi] : busy) {
        if (offset + b->size <= lo)
          break;
        offset = std::max(offset, hi);
      }
      b->offset = offset;
      placed.push_back(b);
      arenaSize = std::max(arenaSize, offset + b->size);
    }

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
