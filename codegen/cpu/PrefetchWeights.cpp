//===- PrefetchWeights.cpp - weft-cpu-prefetch-weights -------------------===//
//
// A workgroup of a blocked matmul or convolution reads one slab of its
// filter (the block of output channels it computes) again and again, once
// per register tile of rows. The first pass over the slab comes from DRAM
// when the model's weights do not fit in the caches (BERT-base's 340 MB),
// at a pace the memory cannot serve, while the later passes find it in L2.
// This pass spreads the reading of the next workgroup's slab over the whole
// of the current workgroup's loops: at every step of the loop nest that
// reads the slab, one cache line of the next slab is prefetched into L2, the
// lines advancing evenly with the steps (the innermost loop unrolled 4
// times where the lines allow, so one prefetch serves four steps). The
// next workgroup (the next one of the thread's own contiguous range, see
// runtime/src/cpu_device.c) then finds its slab in L2.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace weft::cpu {
#define GEN_PASS_DEF_PREFETCHWEIGHTS
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

constexpr int64_t kLineBytes = 64;
/// At most this many lines are prefetched per step; a slab that needs more
/// per step is read by too little work to hide its latency anyway.
constexpr int64_t kMaxLinesPerStep = 4;
/// Reduction steps per iteration of an unrolled innermost loop.
constexpr int64_t kUnroll = 4;

/// The computation of a slab index `v`: pure ops without regions (in
/// def-before-use order) whose leaves are the workgroup id `wg`, constants
/// and induction variables of loops around `at`. Fails on anything else.
/// `usesWorkgroup` says whether `wg` is among the leaves; `ivs` collects
/// the induction variables.
LogicalResult sliceOf(Value v, BlockArgument wg, Operation *at,
                      SmallVectorImpl<Operation *> &chain, bool &usesWorkgroup,
                      llvm::SmallPtrSetImpl<Value> &ivs) {
  if (v == wg) {
    usesWorkgroup = true;
    return success();
  }
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp());
    if (!loop || arg != loop.getInductionVar() || !loop->isAncestor(at))
      return failure();
    ivs.insert(arg);
    return success();
  }
  Operation *def = v.getDefiningOp();
  if (!isPure(def) || def->getNumRegions())
    return failure();
  for (Value operand : def->getOperands())
    if (failed(sliceOf(operand, wg, at, chain, usesWorkgroup, ivs)))
      return failure();
  if (!llvm::is_contained(chain, def))
    chain.push_back(def);
  return success();
}

/// True when no operand of `v`'s computation is `wg`.
bool independentOfWorkgroup(Value v, BlockArgument wg) {
  if (v == wg)
    return false;
  Operation *def = v.getDefiningOp();
  if (!def)
    return true;
  return llvm::all_of(def->getOperands(),
                      [&](Value operand) { return independentOfWorkgroup(operand, wg); });
}

struct PrefetchWeightsPass : weft::cpu::impl::PrefetchWeightsBase<PrefetchWeightsPass> {
  using PrefetchWeightsBase::PrefetchWeightsBase;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (!fn->hasAttr(kDispatchFnAttr) || fn.getBody().empty())
      return;
    auto count = fn->getAttrOfType<IntegerAttr>(kWorkgroupCountAttr);
    Block &entry = fn.getBody().front();
    if (!count || count.getInt() < 2 || entry.getNumArguments() == 0)
      return;
    BlockArgument wg = entry.getArguments().back();
    if (!wg.getType().isIndex())
      return;

    // One prefetch per (slab-walking nest, argument).
    llvm::SmallDenseSet<std::pair<Operation *, Value>> done;
    SmallVector<vector::TransferReadOp> reads;
    fn.walk([&](vector::TransferReadOp read) { reads.push_back(read); });
    for (vector::TransferReadOp read : reads) {
      auto arg = dyn_cast<BlockArgument>(read.getBase());
      auto type = dyn_cast<MemRefType>(read.getBase().getType());
      if (!arg || arg.getOwner() != &entry || arg == wg || !type || !type.hasStaticShape() ||
          !type.getLayout().isIdentity() || type.getRank() < 2 ||
          !type.getElementType().isIntOrFloat())
        continue;
      // The slab: index f(wg, outer ivs) of the first dimension; the other
      // indices must not depend on the workgroup.
      SmallVector<Operation *> chain;
      bool usesWorkgroup = false;
      llvm::SmallPtrSet<Value, 4> slabIvs;
      if (failed(sliceOf(read.getIndices()[0], wg, read, chain, usesWorkgroup, slabIvs)) ||
          !usesWorkgroup ||
          !llvm::all_of(read.getIndices().drop_front(),
                        [&](Value i) { return independentOfWorkgroup(i, wg); }))
        continue;
      int64_t elementBytes = type.getElementTypeBitWidth() / 8;
      if (elementBytes == 0 || kLineBytes % elementBytes)
        continue;
      int64_t slabBytes = type.getNumElements() / type.getDimSize(0) * elementBytes;
      if (slabBytes < minSlabBytes)
        continue;
      // The loops around the read that walk one slab, outermost first: up
      // to the first op that is not an scf.for or whose induction variable
      // picks the slab.
      SmallVector<scf::ForOp> nest;
      for (auto f = dyn_cast<scf::ForOp>(read->getParentOp());
           f && !slabIvs.contains(f.getInductionVar());
           f = dyn_cast<scf::ForOp>(f->getParentOp()))
        nest.insert(nest.begin(), f);
      if (nest.empty() || !done.insert({nest.front().getOperation(), arg}).second)
        continue;
      SmallVector<int64_t> trips;
      bool staticNest = true;
      for (scf::ForOp f : nest) {
        std::optional<int64_t> lb = getConstantIntValue(f.getLowerBound());
        std::optional<int64_t> ub = getConstantIntValue(f.getUpperBound());
        std::optional<int64_t> step = getConstantIntValue(f.getStep());
        if (!lb || !ub || !step || *step <= 0 || *ub <= *lb) {
          staticNest = false;
          break;
        }
        trips.push_back((*ub - *lb + *step - 1) / *step);
      }
      if (!staticNest)
        continue;
      int64_t steps = 1;
      for (int64_t t : trips)
        steps *= t;
      int64_t lines = (slabBytes + kLineBytes - 1) / kLineBytes;
      // The innermost loop is unrolled kUnroll times where that leaves at
      // least one step per line: one prefetch then serves kUnroll
      // reduction steps, and the loop control is paid once for them too.
      if (trips.back() % kUnroll == 0 && trips.back() >= 2 * kUnroll &&
          steps / kUnroll >= lines) {
        FailureOr<UnrolledLoopInfo> unrolled = loopUnrollByFactor(nest.back(), kUnroll);
        if (succeeded(unrolled) && unrolled->mainLoopOp && !unrolled->epilogueLoopOp) {
          nest.back() = *unrolled->mainLoopOp;
          trips.back() /= kUnroll;
          steps /= kUnroll;
        }
      }
      int64_t perStep = (lines + steps - 1) / steps;
      if (perStep > kMaxLinesPerStep)
        continue;
      prefetchNextSlab(read, arg, wg, chain, nest, trips, steps, lines, perStep,
                       kLineBytes / elementBytes);
    }
  }

  /// Inserts, before `read`, the prefetch of `perStep` lines, spread
  /// evenly over the nest's steps, of the slab at index f(wg + 1, ivs) of
  /// `arg`'s first dimension (f: `chain`, the slab index's computation from
  /// wg, clamped to the last slab), through a 2-D view [slabs, elements per
  /// slab] of `arg`.
  void prefetchNextSlab(vector::TransferReadOp read, BlockArgument arg, BlockArgument wg,
                        ArrayRef<Operation *> chain, ArrayRef<scf::ForOp> nest,
                        ArrayRef<int64_t> trips, int64_t steps, int64_t lines,
                        int64_t perStep, int64_t lineElements) {
    auto type = cast<MemRefType>(arg.getType());
    MLIRContext *ctx = read.getContext();
    Location loc = read.getLoc();
    OpBuilder b(ctx);
    // (See below for g, G and c.)
    int64_t stepProduct = 1;
    for (scf::ForOp f : nest)
      stepProduct *= *getConstantIntValue(f.getStep());
    int64_t span = steps * stepProduct * perStep; // G * n
    // g * c < lines * 2^32 must fit in 64 bits.
    if (span <= 0 || span > (int64_t(1) << 40) || lines >= (int64_t(1) << 28))
      return;
    int64_t scale = static_cast<int64_t>((static_cast<unsigned __int128>(lines) << 32) / span);

    // Before the nest: the next workgroup's slab, f(wg + 1, outer ivs),
    // clamped to the last slab. In the entry block: the 2-D view.
    b.setInsertionPoint(nest.front());
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    IRMapping next;
    next.map(wg, arith::AddIOp::create(b, loc, wg, one).getResult());
    for (Operation *op : chain)
      b.clone(*op, next);
    Value nextSlab = next.lookupOrDefault(read.getIndices()[0]);
    Value last = arith::ConstantIndexOp::create(b, loc, type.getDimSize(0) - 1);
    nextSlab = arith::MinSIOp::create(b, loc, nextSlab, last);
    SmallVector<ReassociationIndices> groups = {{0}, {}};
    for (int64_t d = 1; d < type.getRank(); ++d)
      groups[1].push_back(d);
    b.setInsertionPointToStart(arg.getOwner());
    Value flat = memref::CollapseShapeOp::create(b, loc, arg, groups);

    // At the read: g = sum_i a_i * (iv_i - lb_i), a_i = inner_i * P /
    // step_i (inner_i: the steps of the loops inside loop i, P: the product
    // of the steps), numbers the nest's steps 0, P, 2P, ... < G = steps * P
    // in order, without a division. Line j of the step is
    // ((g * n + j * P) * c) >> 32 with n lines per step and
    // c = floor(lines * 2^32 / (G * n)): a multiply and a shift, never
    // past the last line.
    SmallVector<Value> ivs;
    AffineExpr linear = getAffineConstantExpr(0, ctx);
    int64_t inner = steps;
    for (auto [i, constF] : llvm::enumerate(nest)) {
      scf::ForOp f = constF;
      inner /= trips[i];
      int64_t lb = *getConstantIntValue(f.getLowerBound());
      int64_t step = *getConstantIntValue(f.getStep());
      linear = linear + (getAffineDimExpr(i, ctx) - lb) * (inner * (stepProduct / step));
      ivs.push_back(f.getInductionVar());
    }
    b.setInsertionPoint(nest.front());
    Value scaleValue = arith::ConstantIndexOp::create(b, loc, scale);
    Value shift = arith::ConstantIndexOp::create(b, loc, 32);
    Value lineShift = arith::ConstantIndexOp::create(b, loc, llvm::Log2_64(lineElements));
    b.setInsertionPoint(read);
    Value g = affine::AffineApplyOp::create(
        b, loc, AffineMap::get(nest.size(), 0, linear * perStep, ctx), ivs);
    for (int64_t j = 0; j < perStep; ++j) {
      Value point = g;
      if (j)
        point = arith::AddIOp::create(b, loc, g,
                                      arith::ConstantIndexOp::create(b, loc, j * stepProduct));
      Value line = arith::ShRUIOp::create(
          b, loc, arith::MulIOp::create(b, loc, point, scaleValue), shift);
      Value offset = arith::ShLIOp::create(b, loc, line, lineShift);
      memref::PrefetchOp::create(b, loc, flat, ValueRange{nextSlab, offset},
                                 /*isWrite=*/false, /*localityHint=*/2,
                                 /*isDataCache=*/true);
    }
  }
};

} // namespace
