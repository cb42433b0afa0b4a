//===- UnrollPrivateLoops.cpp - private arrays indexed at constants -------===//
//
// A GPU thread's private arrays stay in registers only when every access
// is at a constant index. The loops that convert-linalg-to-loops makes of
// a lane's row share (a normalization's passes, a split sum's parts) index
// them with their induction variable, and LLVM unrolls such a loop only
// while its body is small; this pass unrolls them before lowering (see
// Passes.td).
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace weft::cuda {
#define GEN_PASS_DEF_UNROLLPRIVATELOOPS
#include "codegen/cuda/Passes.h.inc"
} // namespace weft::cuda

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

/// Whether `memref` is (a view of) a thread's private array: an alloca in
/// the default memory space (workgroup arrays carry theirs).
bool isPrivateArray(Value memref) {
  while (memref) {
    Operation *def = memref.getDefiningOp();
    if (!def)
      return false;
    if (auto alloca = dyn_cast<memref::AllocaOp>(def))
      return !alloca.getType().getMemorySpace();
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      return false;
    memref = view.getViewSource();
  }
  return false;
}

/// The memref that `op` reads, writes or views, if any, and the operands
/// that index it (a view's offsets, sizes and strides).
Value accessedMemref(Operation *op, SmallVectorImpl<Value> &indices) {
  auto with = [&](Value memref, ValueRange index) {
    indices.append(index.begin(), index.end());
    return memref;
  };
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return with(load.getMemRef(), load.getIndices());
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return with(store.getMemRef(), store.getIndices());
  if (auto read = dyn_cast<vector::TransferReadOp>(op))
    return with(read.getBase(), read.getIndices());
  if (auto write = dyn_cast<vector::TransferWriteOp>(op))
    return with(write.getBase(), write.getIndices());
  if (auto load = dyn_cast<vector::LoadOp>(op))
    return with(load.getBase(), load.getIndices());
  if (auto store = dyn_cast<vector::StoreOp>(op))
    return with(store.getBase(), store.getIndices());
  if (auto view = dyn_cast<ViewLikeOpInterface>(op)) {
    for (Value operand : op->getOperands())
      if (operand != view.getViewSource())
        indices.push_back(operand);
    return view.getViewSource();
  }
  return {};
}

/// Whether `loop`'s induction variable reaches an index of a private
/// array's access or view (not merely a value stored there: a loop that
/// accumulates into a private scalar stays a loop).
bool indexesPrivateArray(scf::ForOp loop) {
  Value iv = loop.getInductionVar();
  SetVector<Operation *> users;
  getForwardSlice(iv, &users);
  auto fromIv = [&](Value v) {
    Operation *def = v.getDefiningOp();
    return v == iv || (def && users.contains(def));
  };
  for (Operation *op : users) {
    SmallVector<Value> indices;
    Value memref = accessedMemref(op, indices);
    if (memref && isPrivateArray(memref) && llvm::any_of(indices, fromIv))
      return true;
  }
  return false;
}

int64_t countOps(Operation *op) {
  int64_t n = 0;
  op->walk([&](Operation *) { ++n; });
  return n;
}

struct UnrollPrivateLoopsPass
    : weft::cuda::impl::UnrollPrivateLoopsBase<UnrollPrivateLoopsPass> {
  using UnrollPrivateLoopsBase::UnrollPrivateLoopsBase;

  void runOnOperation() override {
    // Inner loops first (a post-order walk), so that an outer loop's body
    // is counted unrolled.
    SmallVector<scf::ForOp> loops;
    getOperation()->walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops) {
      std::optional<APInt> trips = loop.getStaticTripCount();
      if (!trips || trips->getZExtValue() > static_cast<uint64_t>(maxTrips) ||
          !indexesPrivateArray(loop))
        continue;
      int64_t body = countOps(loop) - 1;
      if (body * static_cast<int64_t>(trips->getZExtValue()) > maxOps)
        continue;
      (void)loopUnrollFull(loop);
    }
  }
};

} // namespace
