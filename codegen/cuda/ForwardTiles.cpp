//===- ForwardTiles.cpp - a block's thread tiles kept out of shared memory ===//
//
// A block dispatch's accumulator is a shared buffer at tensor level (the
// thread loops of StageBlocks.cpp each own a 4 x 4 tile of it), and
// carryTilesInRegisters keeps each thread's tile in registers through the
// loop of reduction steps. What is left after distribution is a thread
// writing its tile to the buffer (its init before the loop, its sums after
// it) and, past a barrier, reading back the same tile (the first step's
// operand, the epilogue's input): no other thread's data. forwardThreadTiles
// hands the written vector to such a read, drops the buffer once nothing
// reads it, and then the barriers that no longer order anything.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

/// Whether `a` and `b` are the same value: one value, or results of the
/// same pure op (name, attributes, result) of the same operands, this
/// recursively (the index arithmetic that each thread loop computed for
/// itself before distribution).
bool sameValue(Value a, Value b, int depth = 0) {
  if (a == b)
    return true;
  auto ra = dyn_cast<OpResult>(a), rb = dyn_cast<OpResult>(b);
  if (!ra || !rb || depth > 8 || ra.getResultNumber() != rb.getResultNumber())
    return false;
  Operation *x = ra.getOwner(), *y = rb.getOwner();
  if (x->getName() != y->getName() || x->getAttrDictionary() != y->getAttrDictionary() ||
      x->getResultTypes() != y->getResultTypes() || x->getNumOperands() != y->getNumOperands() ||
      x->getNumRegions() != 0 || !isPure(x))
    return false;
  for (auto [u, v] : llvm::zip(x->getOperands(), y->getOperands()))
    if (!sameValue(u, v, depth + 1))
      return false;
  return true;
}

/// The element of a workgroup buffer that a transfer at `indices` of a
/// view of it starts at: the buffer (a memref.alloca), and per dimension a
/// constant plus the values whose sum is the index.
struct Element {
  Value buffer;
  SmallVector<std::pair<int64_t, SmallVector<Value>>> dims;
  bool operator==(const Element &o) const {
    if (buffer != o.buffer || dims.size() != o.dims.size())
      return false;
    for (auto [d, e] : llvm::zip(dims, o.dims)) {
      if (d.first != e.first || d.second.size() != e.second.size())
        return false;
      // The same values in any order (a few at most).
      SmallVector<bool> used(e.second.size(), false);
      for (Value v : d.second) {
        auto match = llvm::find_if(llvm::enumerate(e.second), [&](auto w) {
          return !used[w.index()] && sameValue(v, w.value());
        });
        if (match == llvm::enumerate(e.second).end())
          return false;
        used[(*match).index()] = true;
      }
    }
    return true;
  }
};

/// The Element of a transfer at `indices` of `view`, through subviews of
/// unit strides that keep the rank (their dimensions are the buffer's);
/// none through any other view.
std::optional<Element> elementAt(Value view, ValueRange indices) {
  Element at;
  for (Value i : indices) {
    std::pair<int64_t, SmallVector<Value>> dim{0, {}};
    if (std::optional<int64_t> c = getConstantIntValue(i))
      dim.first = *c;
    else
      dim.second.push_back(i);
    at.dims.push_back(std::move(dim));
  }
  while (auto sub = view.getDefiningOp<memref::SubViewOp>()) {
    if (sub.getSourceType().getRank() != sub.getType().getRank())
      return std::nullopt;
    for (auto [d, offset, stride] :
         llvm::enumerate(sub.getMixedOffsets(), sub.getMixedStrides())) {
      if (getConstantIntValue(stride) != 1)
        return std::nullopt;
      if (std::optional<int64_t> c = getConstantIntValue(offset))
        at.dims[d].first += *c;
      else
        at.dims[d].second.push_back(cast<Value>(offset));
    }
    view = sub.getSource();
  }
  if (!view.getDefiningOp<memref::AllocaOp>() || !isWorkgroupMemory(view.getType()))
    return std::nullopt;
  at.buffer = view;
  return at;
}

/// Whether `op` or an op nested in it may access memory that `touches`
/// accepts (given the buffer accessed, through views; null where the op
/// cannot name it), writes only or reads too.
bool mayTouch(Operation *op, function_ref<bool(Value)> touches, bool writesOnly) {
  return mayAccess(
      op, [](Operation *) { return false; },
      [&](Value v) { return touches(v ? viewedBuffer(v) : Value()); }, writesOnly);
}

/// The extent along each dimension of the buffer of a transfer of
/// `vector` through `map` (a vector dimension per buffer dimension it
/// names, in the buffer's order; the other dimensions 1): where two
/// transfers from the same element have the same extents, they cover the
/// same elements in the same order. None for a transposing or
/// broadcasting map.
std::optional<SmallVector<int64_t>> coveredExtents(AffineMap map, VectorType vector) {
  SmallVector<int64_t> extents(map.getNumDims(), 1);
  int64_t last = -1;
  for (auto [result, size] : llvm::zip(map.getResults(), vector.getShape())) {
    auto dim = dyn_cast<AffineDimExpr>(result);
    if (!dim || (int64_t)dim.getPosition() <= last)
      return std::nullopt;
    last = dim.getPosition();
    extents[last] = size;
  }
  return extents;
}

/// The vector that the same thread last wrote where `read` reads, when
/// that write is earlier in `read`'s block, covers exactly what it reads
/// in the same order (coveredExtents; both in bounds; a shape cast is
/// added where the vectors' shapes differ), and only barriers and accesses
/// of other buffers come between.
Value forwardedVector(vector::TransferReadOp read) {
  std::optional<Element> at = elementAt(read.getBase(), read.getIndices());
  std::optional<SmallVector<int64_t>> extents =
      coveredExtents(read.getPermutationMap(), read.getVectorType());
  if (!at || !extents || read.getMask() ||
      llvm::any_of(read.getInBoundsValues(), [](bool b) { return !b; }))
    return {};
  for (Operation *op = read->getPrevNode(); op; op = op->getPrevNode()) {
    if (auto write = dyn_cast<vector::TransferWriteOp>(op);
        write && viewedBuffer(write.getBase()) == at->buffer) {
      std::optional<Element> written = elementAt(write.getBase(), write.getIndices());
      VectorType type = read.getVectorType();
      if (!written || !(*written == *at) || write.getMask() ||
          llvm::any_of(write.getInBoundsValues(), [](bool b) { return !b; }) ||
          coveredExtents(write.getPermutationMap(), write.getVectorType()) != extents)
        return {};
      // The same elements in the same order: the vectors differ at most
      // in unit dimensions.
      OpBuilder b(read);
      Value v = write.getVector();
      if (v.getType() != type)
        v = vector::ShapeCastOp::create(b, read.getLoc(), type, v);
      return v;
    }
    if (mayTouch(op, [&](Value v) { return !v || v == at->buffer; }, /*writesOnly=*/true))
      return {};
  }
  return {};
}

/// Erases `buffer` (a workgroup memref.alloca) with its views and writes
/// when nothing reads it.
void eraseIfUnread(memref::AllocaOp buffer) {
  SmallVector<Operation *> views, writes;
  SmallVector<Value> work{buffer.getResult()};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto view = dyn_cast<ViewLikeOpInterface>(user); view && view.getViewSource() == v) {
        views.push_back(user);
        for (Value r : user->getResults())
          work.push_back(r);
        continue;
      }
      auto write = dyn_cast<vector::TransferWriteOp>(user);
      if (!write || write.getBase() != v)
        return;
      writes.push_back(user);
    }
  }
  for (Operation *op : writes)
    op->erase();
  for (Operation *op : llvm::reverse(views))
    op->erase();
  buffer->erase();
}

/// Erases the barriers of `fn`'s body after which no op accesses
/// workgroup memory or reads what an op before the barrier wrote (the
/// kernel's last ones, once its tiles no longer pass through shared
/// memory), and a barrier right before another.
void eraseIdleBarriers(func::FuncOp fn) {
  Block &body = fn.getBody().front();
  SmallVector<gpu::BarrierOp> barriers(body.getOps<gpu::BarrierOp>());
  for (gpu::BarrierOp barrier : llvm::reverse(barriers)) {
    if (isa_and_nonnull<gpu::BarrierOp>(barrier->getNextNode())) {
      barrier->erase();
      continue;
    }
    // What the block's ops wrote before the barrier (null: unknown).
    llvm::SmallPtrSet<Value, 8> written;
    bool unknown = false;
    for (Operation *op = barrier->getPrevNode(); op && !unknown; op = op->getPrevNode())
      mayTouch(
          op,
          [&](Value v) {
            if (!v)
              unknown = true;
            else
              written.insert(v);
            return false;
          },
          /*writesOnly=*/true);
    if (unknown)
      continue;
    bool needed = false;
    for (Operation *op = barrier->getNextNode(); op && !needed; op = op->getNextNode()) {
      needed = mayTouch(
          op,
          [&](Value v) { return !v || isWorkgroupMemory(v.getType()) || written.contains(v); },
          /*writesOnly=*/false);
    }
    if (!needed)
      barrier->erase();
  }
}

} // namespace

void cuda::forwardThreadTiles(func::FuncOp fn) {
  SmallVector<vector::TransferReadOp> reads;
  fn.walk([&](vector::TransferReadOp read) {
    if (isWorkgroupMemory(read.getBase().getType()))
      reads.push_back(read);
  });
  bool forwarded = false;
  for (vector::TransferReadOp read : reads)
    if (Value v = forwardedVector(read)) {
      read.getResult().replaceAllUsesWith(v);
      read->erase();
      forwarded = true;
    }
  if (!forwarded)
    return;
  SmallVector<memref::AllocaOp> buffers;
  fn.walk([&](memref::AllocaOp alloca) {
    if (isWorkgroupMemory(alloca.getType()))
      buffers.push_back(alloca);
  });
  for (memref::AllocaOp buffer : buffers)
    eraseIfUnread(buffer);
  eraseIdleBarriers(fn);
}
