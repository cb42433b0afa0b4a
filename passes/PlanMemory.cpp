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
#include "llvm/ADT/MapVector.h"
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
  int64_t begin, end; // hull of the live ranges, in op indices, inclusive
  // Live ranges: a value yielded by one region of a weft.if is dead while
  // the other region runs. A range after the weft.if carries the result it
  // stands for (`as`): the two regions' values for one result are never
  // both alive there, so they may share bytes.
  struct Range {
    int64_t lo, hi;
    Value as;
  };
  SmallVector<Range, 2> ranges;
  int64_t offset = -1;

  bool overlaps(const Buffer &o) const {
    if (begin > o.end || o.begin > end)
      return false;
    for (const Range &r : ranges)
      for (const Range &q : o.ranges)
        if (r.lo <= q.hi && q.lo <= r.hi && !(r.as && r.as == q.as))
          return true;
    return false;
  }
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
    // Host-level ops numbered in execution order, the regions of a weft.if
    // in line (then, else): an op's span runs from its index to its last
    // nested op's. The two regions' spans are disjoint, so their tensors
    // may share bytes: only one region runs.
    llvm::DenseMap<Operation *, int64_t> index, spanEnd;
    // A weft.loop's body is numbered once, inside the loop's span: a value
    // used in the body stays live over the whole span, so every iteration
    // finds it.
    SmallVector<DispatchOp> dispatches;
    SmallVector<LoopOp> loops;
    // Collectives between devices write results of their own.
    SmallVector<Operation *> collectives;
    int64_t count = 0;
    std::function<void(Block &)> number = [&](Block &b) {
      for (Operation &op : b) {
        index[&op] = count++;
        if (auto d = dyn_cast<DispatchOp>(op))
          dispatches.push_back(d);
        if (auto loop = dyn_cast<LoopOp>(op))
          loops.push_back(loop);
        // (A pipeline stage's receive too: the runtime writes it.)
        if (isa<shard::AllReduceOp, shard::AllGatherOp, shard::RecvOp>(op))
          collectives.push_back(&op);
        if (isa<IfOp, LoopOp>(op))
          for (Region &region : op.getRegions())
            number(region.front());
        spanEnd[&op] = count - 1;
      }
    };
    number(block);

    // Live ranges of a value from `begin`, following reshape aliases (they
    // share its bytes) and weft.if results (the taken region's yielded
    // value is the result): the result's uses add a range that starts after
    // the weft.if, so the other region's tensors may use the same bytes. A
    // use inside a region counts as a use by the whole op holding it.
    std::function<void(Value, int64_t, Value, SmallVectorImpl<Buffer::Range> &)> collectRanges =
        [&](Value v, int64_t begin, Value as, SmallVectorImpl<Buffer::Range> &out) {
          int64_t last = begin;
          Block *home = v.getParentBlock();
          for (Operation *user : v.getUsers()) {
            Operation *ancestor = home->findAncestorOpInBlock(*user);
            last = std::max(last, spanEnd.lookup(ancestor ? ancestor : user));
            if (auto reshape = dyn_cast<ReshapeOp>(user))
              collectRanges(reshape.getResult(), begin, as, out);
            // A device's part of a tensor whose parts are contiguous is
            // read in place.
            if (auto slice = dyn_cast<shard::AllSliceOp>(user))
              collectRanges(slice.getResult(), begin, as, out);
            if (auto yield = dyn_cast<YieldOp>(user))
              if (auto ifOp = dyn_cast<IfOp>(yield->getParentOp()))
                for (OpOperand &use : yield->getOpOperands())
                  if (use.get() == v) {
                    Value result = ifOp.getResult(use.getOperandNumber());
                    collectRanges(result, spanEnd.lookup(ifOp) + 1, result, out);
                  }
          }
          out.push_back({begin, last, as});
        };
    auto liveRanges = [&](Value v, int64_t begin) {
      SmallVector<Buffer::Range, 2> ranges;
      collectRanges(v, begin, Value(), ranges);
      llvm::sort(ranges, [](const Buffer::Range &a, const Buffer::Range &b) {
        return a.lo < b.lo;
      });
      return ranges;
    };

    auto ret = cast<func::ReturnOp>(block.getTerminator());
    llvm::SmallPtrSet<Value, 8> returned(ret.getOperands().begin(),
                                         ret.getOperands().end());
    // A result written in place inside a padded buffer (weft-pad-in-place)
    // has no bytes of its own: it lies at the interior's offset in the
    // padded buffer, which is live from the producer on.
    llvm::DenseMap<Value, std::pair<Value, int64_t>> insidePadding;
    llvm::DenseMap<Value, Operation *> paddingWrittenBy;
    for (DispatchOp d : dispatches) {
      int64_t interiorBytes = 0;
      if (OpResult r = padInPlaceSource(d, interiorBytes)) {
        if (returned.contains(d->getResult(0)) || returned.contains(r)) {
          d.emitError("a buffer padded in place is a function result");
          return signalPassFailure();
        }
        insidePadding[r] = {d->getResult(0), interiorBytes};
        paddingWrittenBy[d->getResult(0)] = r.getOwner();
      } else if (d->hasAttr(kPadInPlaceAttr)) {
        d.emitError("weft.pad_in_place without a producer that writes the interior");
        return signalPassFailure();
      }
    }
    std::vector<Buffer> buffers;
    SmallVector<Operation *> writers(dispatches.begin(), dispatches.end());
    writers.append(collectives.begin(), collectives.end());
    for (Operation *op : writers) {
      for (Value r : op->getResults()) {
        if (returned.contains(r) || insidePadding.count(r))
          continue;
        int64_t size = llvm::alignTo(std::max<int64_t>(byteSize(r.getType()), 1),
                                     alignment);
        // An unused result is still written: it lives at least during its
        // own dispatch.
        int64_t start = index[op];
        if (Operation *producer = paddingWrittenBy.lookup(r))
          start = std::min(start, index[producer]);
        auto ranges = liveRanges(r, start);
        int64_t hull = index[op];
        for (const Buffer::Range &range : ranges)
          hull = std::max(hull, range.hi);
        buffers.push_back({r, size, start, hull, ranges});
      }
    }

    // A loop's state: the iteration (when read) and the condition, live
    // over the loop's span; each carried value, from the loop (the initial copy) to the
    // last use of its result, which is the state buffer; each scan result
    // likewise.
    llvm::DenseMap<Operation *, SmallVector<int64_t>> loopStates;
    for (LoopOp loop : loops) {
      Operation *op = loop.getOperation();
      int64_t lo = index[op], hi = spanEnd[op];
      Block &body = loop.getBody().front();
      SmallVector<Value> states = {body.getArgument(0), body.getArgument(1)};
      states.append(loop.getResults().begin(), loop.getResults().end());
      for (Value v : states) {
        // An iteration number nothing reads needs no bytes (offset -1).
        if (v == body.getArgument(0) && v.use_empty()) {
          loopStates[op].push_back(-1);
          continue;
        }
        int64_t size = llvm::alignTo(std::max<int64_t>(byteSize(v.getType()), 1), alignment);
        SmallVector<Buffer::Range, 2> ranges = {{lo, hi, Value()}};
        if (isa<OpResult>(v))
          for (const Buffer::Range &r : liveRanges(v, lo))
            ranges.push_back(r);
        int64_t end = hi;
        for (const Buffer::Range &r : ranges)
          end = std::max(end, r.hi);
        loopStates[op].push_back(buffers.size());
        buffers.push_back({v, size, lo, end, ranges});
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
          if (p->overlaps(*b))
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
    // Total orders (ties: larger first, then program order), so plain
    // sorts give one answer everywhere.
    auto bySizeFirst = [](Buffer *a, Buffer *b) {
      return a->size != b->size ? a->size > b->size : a < b;
    };
    llvm::sort(bySize, bySizeFirst);
    SmallVector<std::vector<Buffer *>> orders = {bySize};
    constexpr size_t kMaxSearched = 4096;
    if (buffers.size() <= kMaxSearched) {
      // Longest-lived first, and size x lifetime.
      std::vector<Buffer *> byLife = bySize, byArea = bySize;
      llvm::sort(byLife, [&](Buffer *a, Buffer *b) {
        int64_t la = a->end - a->begin, lb = b->end - b->begin;
        return la != lb ? la > lb : bySizeFirst(a, b);
      });
      llvm::sort(byArea, [&](Buffer *a, Buffer *b) {
        int64_t aa = a->size * (a->end - a->begin + 1), ab = b->size * (b->end - b->begin + 1);
        return aa != ab ? aa > ab : bySizeFirst(a, b);
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
    for (auto &[inner, padded] : insidePadding)
      offsets[inner] = offsets.lookup(padded.first) + padded.second;
    OpBuilder builder(&getContext());
    for (Operation *op : writers) {
      SmallVector<int64_t> offs;
      for (Value r : op->getResults())
        offs.push_back(offsets.lookup_or(r, -1));
      op->setAttr(kResultOffsetsAttr, builder.getDenseI64ArrayAttr(offs));
    }
    for (LoopOp loop : loops) {
      SmallVector<int64_t> offs;
      for (int64_t i : loopStates[loop.getOperation()])
        offs.push_back(i < 0 ? -1 : buffers[i].offset);
      loop->setAttr(kStateOffsetsAttr, builder.getDenseI64ArrayAttr(offs));
    }
    func->setAttr(kArenaSizeAttr, builder.getI64IntegerAttr(arenaSize));
    // The lower bound: the largest sum of buffers live at one op.
    std::vector<int64_t> live(count + 1, 0);
    llvm::MapVector<Value, std::tuple<int64_t, int64_t, int64_t>> alternatives;
    for (Buffer &b : buffers) {
      // Each op's live bytes, counting a buffer once however many of its
      // ranges cover the op.
      SmallVector<std::pair<int64_t, int64_t>, 2> merged;
      for (const Buffer::Range &r : b.ranges) {
        if (r.as) {
          // The regions' values for one result: counted once, at the size
          // of the largest.
          auto &[lo, hi, size] = alternatives[r.as];
          lo = r.lo;
          hi = std::max(hi, r.hi);
          size = std::max(size, b.size);
          continue;
        }
        if (!merged.empty() && r.lo <= merged.back().second + 1)
          merged.back().second = std::max(merged.back().second, r.hi);
        else
          merged.push_back({r.lo, r.hi});
      }
      for (auto [lo, hi] : merged) {
        live[lo] += b.size;
        live[hi + 1] -= b.size;
      }
    }
    for (auto &[as, alt] : alternatives) {
      auto [lo, hi, size] = alt;
      live[lo] += size;
      live[hi + 1] -= size;
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
