//===- DistributeLanes.cpp - weft-cuda-distribute-lanes ------------------===//
//
// A row shared by the lanes of a warp (weft-cuda-tile-threads,
// SplitLanes.cpp) arrives here bufferized: lane loops and merges of the
// lanes' partial reductions. On a GPU every lane runs each lane loop's body
// for itself and the merges become warp shuffles; on a CPU the lane loops
// become loops. A block dispatch's thread and warp loops likewise; its
// warps' matmuls and its loop of reduction steps are then lowered by
// WarpMatmul.cpp.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"


namespace weft::cuda {
#define GEN_PASS_DEF_DISTRIBUTELANES
#include "codegen/cuda/Passes.h.inc"
} // namespace weft::cuda

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

bool isLaneLoop(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && mapping->size() == 1 && isa<gpu::GPULaneMappingAttr>((*mapping)[0]);
}

/// Whether an op in `region` reads workgroup memory.
bool readsWorkgroupMemory(Region &region) {
  bool reads = false;
  region.walk([&](MemoryEffectOpInterface op) {
    SmallVector<MemoryEffects::EffectInstance> list;
    op.getEffects(list);
    for (const MemoryEffects::EffectInstance &e : list)
      if (isa<MemoryEffects::Read>(e.getEffect()) && e.getValue() &&
          isWorkgroupMemory(e.getValue().getType()))
        reads = true;
  });
  return reads;
}

/// Whether an op of `fn` outside its lane (or block thread) loops may write
/// one of `fn`'s buffers (its arguments), workgroup memory, or memory it
/// cannot name: every lane would.
bool writesBuffersOutsideLanes(func::FuncOp fn) {
  bool found = false;
  fn.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto forall = dyn_cast<scf::ForallOp>(op);
        forall && (isLaneLoop(forall) || isBlockLoop(forall)))
      return WalkResult::skip();
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects && op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    if (!effects) {
      found = op->getNumRegions() == 0 && !isa<func::ReturnOp>(op) && !isMemoryEffectFree(op);
      return found ? WalkResult::interrupt() : WalkResult::advance();
    }
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (const MemoryEffects::EffectInstance &e : list) {
      if (!isa<MemoryEffects::Write>(e.getEffect()))
        continue;
      Value target = e.getValue();
      if (!target || isa<BlockArgument>(viewedBuffer(target)) ||
          isWorkgroupMemory(target.getType())) {
        found = true;
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return found;
}

/// The merge `merge` of 32 partials (one per lane, `partials[lane, 0...]`)
/// into `init` (one element) as shuffles: every lane ends with the total.
LogicalResult shuffleMerge(linalg::GenericOp merge, Value lane) {
  if (merge.getNumDpsInputs() != 1 || merge.getNumDpsInits() != 1)
    return merge.emitError("a lane merge takes one buffer of partials and one init");
  Value partials = merge.getDpsInputs()[0], init = merge.getDpsInits()[0];
  auto pt = dyn_cast<MemRefType>(partials.getType());
  auto it = dyn_cast<MemRefType>(init.getType());
  Block &body = merge.getRegion().front();
  if (!pt || !it || !pt.hasStaticShape() || !it.hasStaticShape() || pt.getRank() < 1 ||
      pt.getDimSize(0) != kWarpLanes || pt.getNumElements() != kWarpLanes ||
      it.getNumElements() != 1 || body.getOperations().size() != 2)
    return merge.emitError("a lane merge combines one element from each of ")
           << kWarpLanes << " lanes";
  Operation &combiner = body.front();
  OpBuilder b(merge);
  Location loc = merge.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> at(pt.getRank(), zero);
  at[0] = lane;
  // combine(in, out), as the merge's body computes it.
  auto combine = [&](Value in, Value out) {
    IRMapping map;
    map.map(body.getArgument(0), in);
    map.map(body.getArgument(1), out);
    return b.clone(combiner, map)->getResult(0);
  };
  Value v = memref::LoadOp::create(b, loc, partials, at);
  for (int32_t offset = kWarpLanes / 2; offset >= 1; offset /= 2) {
    Value other = gpu::ShuffleOp::create(b, loc, v, offset, kWarpLanes, gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    v = combine(other, v);
  }
  SmallVector<Value> origin(it.getRank(), zero);
  Value start = memref::LoadOp::create(b, loc, init, origin);
  memref::StoreOp::create(b, loc, combine(v, start), init, origin);
  merge.erase();
  return success();
}

/// Checks that `loops` are bufferized loops of 1 to `width` iterations
/// (lanes of a warp, threads of a block), naming the first that is not.
LogicalResult checkLoops(ArrayRef<scf::ForallOp> loops, int64_t width, StringRef what) {
  for (scf::ForallOp forall : loops)
    if (!forall.getResults().empty() || forall.getRank() != 1 ||
        forall.getStaticUpperBound()[0] < 1 || forall.getStaticUpperBound()[0] > width ||
        forall.getStaticLowerBound()[0] != 0 || forall.getStaticStep()[0] != 1)
      return forall.emitError("a ") << what << " loop must be bufferized and run 1 to " << width
                                    << " " << what << "s";
  return success();
}

/// Runs the bodies of `loops` (checked by checkLoops, in program order)
/// once per thread of index `thread`: a loop of fewer iterations than
/// `width` runs on the first threads only.
void inlinePerThread(RewriterBase &rewriter, ArrayRef<scf::ForallOp> loops, Value thread,
                     int64_t width) {
  for (scf::ForallOp forall : loops) {
    Block *body = forall.getBody();
    rewriter.eraseOp(body->getTerminator());
    int64_t used = forall.getStaticUpperBound()[0];
    if (used == width) {
      rewriter.inlineBlockBefore(body, forall, ValueRange{thread});
    } else {
      rewriter.setInsertionPoint(forall);
      Value active = arith::CmpIOp::create(
          rewriter, forall.getLoc(), arith::CmpIPredicate::ult, thread,
          arith::ConstantIndexOp::create(rewriter, forall.getLoc(), used));
      auto guard = scf::IfOp::create(rewriter, forall.getLoc(), active, /*withElse=*/false);
      rewriter.inlineBlockBefore(body, guard.thenBlock()->getTerminator(), ValueRange{thread});
    }
    rewriter.eraseOp(forall);
  }
}

/// The most elements of a thread's private window that unrollGather
/// unrolls (5 x 8 for 4 outputs of a 5x5 window).
constexpr int64_t kMaxWindowElements = 40;
/// The longest loop over a window's taps that keepWindowsInRegisters
/// unrolls (a 5x5 filter's rows and columns).
constexpr int64_t kMaxUnrolledTaps = 5;

/// Whether `v` is (a view of) a thread's private array.
bool isPrivate(Value v) {
  Value buffer = viewedBuffer(v);
  return buffer && isa_and_nonnull<memref::AllocaOp>(buffer.getDefiningOp());
}

/// Whether `write` writes all of buffer `type` at once: its whole shape,
/// from index 0, unmasked.
bool writesWhole(vector::TransferWriteOp write, MemRefType type) {
  return write && !write.getMask() && write.getVectorType().getShape() == type.getShape() &&
         llvm::all_of(write.getIndices(), [](Value i) { return isZeroInteger(i); });
}

/// The reads of private array `alloca`, written whole once by a vector of
/// elements (unrollGather's) and read at constant indices through views of
/// static layouts, take those elements instead: nothing of the window goes
/// through memory, whatever later lowering makes of strided reads (at
/// stride 2 a loop of element loads, which ptxas left in local memory).
void forwardWindow(memref::AllocaOp alloca) {
  MemRefType type = alloca.getType();
  if (!type.hasStaticShape() || !type.getLayout().isIdentity())
    return;
  vector::TransferWriteOp write;
  SmallVector<vector::TransferReadOp> reads;
  SmallVector<Value> views = {alloca.getResult()};
  for (size_t i = 0; i < views.size(); ++i)
    for (Operation *user : views[i].getUsers()) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(user); view && view.getViewSource() == views[i]) {
        views.push_back(user->getResult(0));
      } else if (auto r = dyn_cast<vector::TransferReadOp>(user)) {
        reads.push_back(r);
      } else if (auto w = dyn_cast<vector::TransferWriteOp>(user); w && i == 0 && !write) {
        write = w;
      } else {
        return;
      }
    }
  auto elements = write ? write.getVector().getDefiningOp<vector::FromElementsOp>()
                        : vector::FromElementsOp();
  if (!elements || !writesWhole(write, type))
    return;
  int64_t size = type.getNumElements();
  for (vector::TransferReadOp read : reads) {
    auto viewType = dyn_cast<MemRefType>(read.getBase().getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (!viewType || failed(viewType.getStridesAndOffset(strides, offset)) ||
        ShapedType::isDynamic(offset) || ShapedType::isDynamicShape(strides) ||
        read.getMask() || !read.getPermutationMap().isMinorIdentity() ||
        read->getBlock() != write->getBlock() || !write->isBeforeInBlock(read))
      return;
    SmallVector<int64_t> at;
    for (Value i : read.getIndices()) {
      std::optional<int64_t> c = getConstantIntValue(i);
      if (!c)
        return;
      at.push_back(*c);
    }
    VectorType vt = read.getVectorType();
    int64_t lead = viewType.getRank() - vt.getRank();
    SmallVector<Value> values;
    SmallVector<int64_t> vstrides = computeStrides(vt.getShape());
    for (int64_t e = 0; e < vt.getNumElements(); ++e) {
      SmallVector<int64_t> pos = delinearize(e, vstrides);
      int64_t linear = offset;
      for (int64_t d = 0; d < viewType.getRank(); ++d)
        linear += (at[d] + (d >= lead ? pos[d - lead] : 0)) * strides[d];
      if (linear < 0 || linear >= size)
        return;
      values.push_back(elements.getElements()[linear]);
    }
    OpBuilder b(read);
    read.replaceAllUsesWith(
        vector::FromElementsOp::create(b, read.getLoc(), vt, values).getResult());
    read->erase();
  }
  write->erase();
}

/// What keeps a thread's unrolled window (unrollGather) in registers: a
/// copy of the whole window into another private array becomes a write of
/// its vector there, and the loops over the window's taps (a 3x3 filter's,
/// whose reads of the window have offsets of their indices, and at stride
/// 2 element loops of their own) are unrolled, so that every read is at a
/// constant offset. Left as loops, a stride-2 depthwise convolution's
/// kernel got 176 bytes of stack (sm_90).
void keepWindowsInRegisters(func::FuncOp fn) {
  SmallVector<linalg::CopyOp> copies;
  fn.walk([&](linalg::CopyOp copy) { copies.push_back(copy); });
  for (linalg::CopyOp copy : copies) {
    Value from = copy.getInputs()[0];
    auto alloca = from.getDefiningOp<memref::AllocaOp>();
    if (!alloca || !isPrivate(copy.getOutputs()[0]) || !alloca.getResult().hasNUses(2))
      continue;
    vector::TransferWriteOp write;
    for (Operation *user : alloca->getUsers())
      if (auto w = dyn_cast<vector::TransferWriteOp>(user))
        write = w;
    if (!writesWhole(write, alloca.getType()) || write->getBlock() != copy->getBlock() ||
        !write->isBeforeInBlock(copy))
      continue;
    OpBuilder b(copy);
    Value out = copy.getOutputs()[0];
    SmallVector<Value> zeros(alloca.getType().getRank(),
                             arith::ConstantIndexOp::create(b, copy.getLoc(), 0));
    vector::TransferWriteOp::create(b, copy.getLoc(), write.getVector(), out, zeros,
                                    SmallVector<bool>(zeros.size(), true));
    copy->erase();
    write->erase();
    alloca->erase();
  }
  SmallVector<scf::ForOp> taps;
  fn.walk([&](scf::ForOp loop) {
    std::optional<APInt> trips = loop.getStaticTripCount();
    if (!trips || trips->ugt(kMaxUnrolledTaps))
      return;
    bool readsWindow = loop.getBody()
                           ->walk([](vector::TransferReadOp read) {
                             return isPrivate(read.getBase()) ? WalkResult::interrupt()
                                                              : WalkResult::advance();
                           })
                           .wasInterrupted();
    if (readsWindow)
      taps.push_back(loop);
  });
  // Inner loops first (a post-order walk).
  for (scf::ForOp loop : taps)
    (void)loopUnrollFull(loop);
  if (taps.empty())
    return;
  // The unrolled reads' views at constant offsets (folded), then each read
  // of a window forwarded from the gathered elements.
  MLIRContext *ctx = fn.getContext();
  RewritePatternSet patterns(ctx);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  (void)applyPatternsGreedily(fn, std::move(patterns));
  SmallVector<memref::AllocaOp> allocas;
  fn.walk([&](memref::AllocaOp a) { allocas.push_back(a); });
  for (memref::AllocaOp a : allocas)
    forwardWindow(a);
}

struct DistributeLanesPass : weft::cuda::impl::DistributeLanesBase<DistributeLanesPass> {
  using DistributeLanesBase::DistributeLanesBase;

  /// A dispatch whose ids are blocks (StageBlocks.cpp): its thread loops
  /// run on the block's threads and its warp loops on its warps (their
  /// matmuls on tensor cores), a barrier before each loop that reads
  /// workgroup memory (what other threads wrote) and at the end of each
  /// loop body holding one (before the next step overwrites it).
  void distributeBlock(func::FuncOp fn, ArrayRef<scf::ForallOp> loops) {
    IRRewriter rewriter(fn.getContext());
    SmallVector<scf::ForallOp> threadLoops, warpLoops;
    for (scf::ForallOp forall : loops)
      (isWarpLoop(forall) ? warpLoops : threadLoops).push_back(forall);
    if (failed(checkLoops(threadLoops, kThreadsPerBlock, "thread")) ||
        failed(checkLoops(warpLoops, kWarpsPerBlock, "warp")))
      return signalPassFailure();
    // The gathers computed per reduction step (on a CPU too, so that
    // cuda-on-cpu runs the same code).
    for (scf::ForallOp forall : threadLoops)
      if (isa<scf::ForOp>(forall->getParentOp()))
        for (auto gather :
             llvm::make_early_inc_range(forall.getBody()->getOps<linalg::GenericOp>()))
          unrollGather(gather);
    SmallVector<linalg::LinalgOp> matmuls;
    fn.walk([&](linalg::LinalgOp op) {
      if (op->hasAttr(cpu::kMmaAttr))
        matmuls.push_back(op);
    });
    if (onHost) {
      for (scf::ForallOp forall : loops) {
        rewriter.setInsertionPoint(forall);
        if (failed(scf::forallToForLoop(rewriter, forall))) {
          forall.emitError("cannot turn a thread loop into a loop");
          return signalPassFailure();
        }
      }
      // TF32 inputs were rounded when staged: the products are the GPU's.
      // 3xTF32 splits each input per product as the GPU's warps do.
      for (linalg::LinalgOp op : matmuls) {
        auto mark = op->getAttrOfType<StringAttr>(cpu::kMmaAttr);
        if (mark && mark.getValue() == "3xtf32") {
          if (failed(emulateTf32x3(op)))
            return signalPassFailure();
          continue;
        }
        op->removeAttr(cpu::kMmaAttr);
      }
      return;
    }
    if (writesBuffersOutsideLanes(fn)) {
      fn.emitError("internal error: a block dispatch writes memory outside its thread loops");
      return signalPassFailure();
    }
    for (scf::ForallOp forall : loops) {
      if (!readsWorkgroupMemory(forall.getRegion()))
        continue;
      OpBuilder b(forall);
      gpu::BarrierOp::create(b, forall.getLoc());
      if (auto step = dyn_cast<scf::ForOp>(forall->getParentOp());
          step && !isa<gpu::BarrierOp>(step.getBody()->getTerminator()->getPrevNode())) {
        b.setInsertionPoint(step.getBody()->getTerminator());
        gpu::BarrierOp::create(b, forall.getLoc());
      }
    }
    OpBuilder b = OpBuilder::atBlockBegin(&fn.getBody().front());
    Value thread = gpu::ThreadIdOp::create(b, fn.getLoc(), gpu::Dimension::x);
    Value warp = arith::DivUIOp::create(b, fn.getLoc(), thread,
                                        arith::ConstantIndexOp::create(b, fn.getLoc(), kWarpLanes));
    inlinePerThread(rewriter, threadLoops, thread, kThreadsPerBlock);
    inlinePerThread(rewriter, warpLoops, warp, kWarpsPerBlock);
    for (linalg::LinalgOp op : matmuls)
      if (failed(lowerWarpMatmul(op)))
        return signalPassFailure();
    // A block's loop of reduction steps holds its barriers.
    SmallVector<scf::ForOp> stepLoops;
    fn.walk([&](scf::ForOp loop) {
      if (llvm::any_of(loop.getBody()->getOperations(),
                       [](Operation &op) { return isa<gpu::BarrierOp>(op); }))
        stepLoops.push_back(loop);
    });
    for (scf::ForOp &loop : stepLoops)
      carryTilesInRegisters(loop);
    // Before pipelining: the shared buffers that go free room for the
    // step buffers' second copies.
    forwardThreadTiles(fn);
    for (scf::ForOp loop : stepLoops)
      if (failed(pipelineSteps(fn, loop, asyncCopies)))
        return signalPassFailure();
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    SmallVector<scf::ForallOp> threadLoops;
    fn.walk([&](scf::ForallOp forall) {
      if (isBlockLoop(forall))
        threadLoops.push_back(forall);
    });
    if (!threadLoops.empty()) {
      auto lanes = fn->getAttrOfType<IntegerAttr>(kLanesAttr);
      if (!lanes || lanes.getInt() != kThreadsPerBlock) {
        fn.emitError("thread loops need a dispatch of ") << kThreadsPerBlock << " threads per id";
        return signalPassFailure();
      }
      return distributeBlock(fn, threadLoops);
    }
    // A thread's private window gathered with bounds checks (a depthwise
    // convolution's window of its unpadded image: 3 x 6 elements for 4
    // outputs of a 3x3 window, 3 x 9 at stride 2) unrolled, so that its
    // elements stay in registers: as a loop into a private array, ptxas
    // gave MobileNetV2's depthwise kernels 112 to 176 bytes of stack.
    SmallVector<linalg::GenericOp> windows;
    fn.walk([&](linalg::GenericOp g) {
      if (g.getNumDpsInits() == 1 && isPrivate(g.getDpsInits()[0]))
        windows.push_back(g);
    });
    for (linalg::GenericOp g : windows)
      unrollGather(g, kMaxWindowElements);
    keepWindowsInRegisters(fn);
    SmallVector<scf::ForallOp> laneLoops;
    fn.walk([&](scf::ForallOp forall) {
      if (isLaneLoop(forall))
        laneLoops.push_back(forall);
    });
    SmallVector<linalg::GenericOp> merges;
    fn.walk([&](linalg::GenericOp g) {
      if (g->hasAttr(kLaneMergeAttr))
        merges.push_back(g);
    });
    if (laneLoops.empty() && merges.empty())
      return;
    IRRewriter rewriter(fn.getContext());
    if (failed(checkLoops(laneLoops, kWarpLanes, "lane")))
      return signalPassFailure();

    auto lanes = fn->getAttrOfType<IntegerAttr>(kLanesAttr);
    bool onWarp = !onHost && lanes && lanes.getInt() == kWarpLanes;
    if (onWarp && writesBuffersOutsideLanes(fn)) {
      // One thread per row instead: still correct, lanes would race.
      fn->removeAttr(kLanesAttr);
      onWarp = false;
    }
    if (!onWarp) {
      for (scf::ForallOp forall : laneLoops) {
        rewriter.setInsertionPoint(forall);
        if (failed(scf::forallToForLoop(rewriter, forall))) {
          forall.emitError("cannot turn a lane loop into a loop");
          return signalPassFailure();
        }
      }
      for (linalg::GenericOp merge : merges)
        merge->removeAttr(kLaneMergeAttr);
      return;
    }

    OpBuilder b = OpBuilder::atBlockBegin(&fn.getBody().front());
    Value lane = gpu::LaneIdOp::create(b, fn.getLoc(), b.getIndexAttr(kWarpLanes));
    inlinePerThread(rewriter, laneLoops, lane, kWarpLanes);
    for (linalg::GenericOp merge : merges)
      if (failed(shuffleMerge(merge, lane)))
        return signalPassFailure();
  }
};

} // namespace
