//===- StepPipeline.cpp - a block's loop of reduction steps, pipelined ----===//
//
// A block dispatch (StageBlocks.cpp) runs its reduction in steps; after
// distribution each thread's step is
//
//   its share of the step's A and B: read from global memory, written to
//   the shared buffers (a convolution's columns: loads at gathered
//   indices, one vector write)
//   barrier
//   its products, from the shared buffers
//   barrier                      (the next step overwrites the buffers)
//
// pipelineSteps software-pipelines that loop over its reads of global
// memory: the next step's reads are in flight while this step's products
// are added. Where shared memory has room, the step's buffers are doubled
// first (a step writes one copy while the products of the step before
// read the other), which drops the second barrier:
//
//   prologue: step 0's share -> copy 0
//   step i:   the values read one step earlier -> copy i % 2
//             wait for this thread's asynchronous copies
//             barrier
//             step i + 1's share: asynchronous copies into copy (i + 1) % 2,
//             the other reads into registers
//             the products of step i, from copy i % 2
//
// The barrier orders both hazards: the products of step i - 1 (which read
// copy (i + 1) % 2) are done before step i + 1's copies overwrite it, and
// every thread's writes of step i are done before any thread's products
// read them. Where two copies of every buffer do not fit, one buffer's
// second copy may live in a shared buffer of its element type that the
// loop does not touch (a tensor-core block's accumulator, whose sums are
// in registers during the loop), with one barrier after the loop before
// that buffer is written again. Where every chip has them (sm_80 on), the
// plain copies (a vector read of global memory written as it is to shared
// memory) are `cp.async` (nvgpu.device_async_copy): global memory
// straight to shared, without the thread's registers, as wide as both
// addresses are known to be aligned (16, 8 or 4 bytes).
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <functional>

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

/// The most static shared memory a kernel may have (without opting in to
/// more, which needs dynamic shared memory).
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;

/// Divisors are tracked as powers of two up to this (0 counts as it).
constexpr int64_t kMaxDivisor = int64_t(1) << 20;

/// The largest power of two dividing `c` (kMaxDivisor for 0).
int64_t powerOfTwoDividing(int64_t c) {
  if (c == 0)
    return kMaxDivisor;
  uint64_t u = c < 0 ? -(uint64_t)c : (uint64_t)c;
  return std::min<int64_t>(kMaxDivisor, int64_t(u & (~u + 1)));
}

int64_t knownDivisor(Value v, int depth = 0);

/// The power of two known to divide affine `e` of `operands` (dims, then
/// symbols).
int64_t exprDivisor(AffineExpr e, unsigned numDims, ValueRange operands, int depth) {
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return powerOfTwoDividing(c.getValue());
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return knownDivisor(operands[d.getPosition()], depth + 1);
  if (auto s = dyn_cast<AffineSymbolExpr>(e))
    return knownDivisor(operands[numDims + s.getPosition()], depth + 1);
  auto bin = cast<AffineBinaryOpExpr>(e);
  int64_t l = exprDivisor(bin.getLHS(), numDims, operands, depth);
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return std::min(l, exprDivisor(bin.getRHS(), numDims, operands, depth));
  case AffineExprKind::Mul:
    return std::min(kMaxDivisor, l * exprDivisor(bin.getRHS(), numDims, operands, depth));
  case AffineExprKind::Mod:
    // x mod c = x - c * (x floordiv c).
    if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
      return std::min(l, powerOfTwoDividing(c.getValue()));
    return 1;
  default:
    return 1;
  }
}

/// The largest power of two (up to kMaxDivisor) known to divide index or
/// integer `v`: from constants, sums, products, affine maps (and minima,
/// maxima and selects of such values) and loops' induction variables; 1
/// where nothing is known (thread indices).
int64_t knownDivisor(Value v, int depth) {
  if (depth > 16)
    return 1;
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return powerOfTwoDividing(*c);
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp());
    if (loop && loop.getInductionVar() == v)
      return std::min(knownDivisor(loop.getLowerBound(), depth + 1),
                      knownDivisor(loop.getStep(), depth + 1));
    return 1;
  }
  Operation *op = v.getDefiningOp();
  if (isa<arith::AddIOp, arith::SubIOp>(op))
    return std::min(knownDivisor(op->getOperand(0), depth + 1),
                    knownDivisor(op->getOperand(1), depth + 1));
  if (isa<arith::MulIOp>(op))
    return std::min(kMaxDivisor, knownDivisor(op->getOperand(0), depth + 1) *
                                     knownDivisor(op->getOperand(1), depth + 1));
  if (auto apply = dyn_cast<affine::AffineApplyOp>(op))
    return exprDivisor(apply.getAffineMap().getResult(0), apply.getAffineMap().getNumDims(),
                       apply.getMapOperands(), depth);
  // One of several values: what divides them all.
  auto ofAll = [&](AffineMap map, ValueRange operands) {
    int64_t d = kMaxDivisor;
    for (AffineExpr e : map.getResults())
      d = std::min(d, exprDivisor(e, map.getNumDims(), operands, depth));
    return d;
  };
  if (auto min = dyn_cast<affine::AffineMinOp>(op))
    return ofAll(min.getAffineMap(), min.getMapOperands());
  if (auto max = dyn_cast<affine::AffineMaxOp>(op))
    return ofAll(max.getAffineMap(), max.getMapOperands());
  if (isa<arith::MinSIOp, arith::MaxSIOp, arith::MinUIOp, arith::MaxUIOp>(op))
    return std::min(knownDivisor(op->getOperand(0), depth + 1),
                    knownDivisor(op->getOperand(1), depth + 1));
  if (auto select = dyn_cast<arith::SelectOp>(op))
    return std::min(knownDivisor(select.getTrueValue(), depth + 1),
                    knownDivisor(select.getFalseValue(), depth + 1));
  return 1;
}

/// The power of two known to divide the element offset of `view` from the
/// start of its buffer (a kernel argument or a shared buffer), or 1.
int64_t offsetDivisor(Value view, int depth = 0) {
  auto type = dyn_cast<MemRefType>(view.getType());
  if (!type || depth > 16)
    return 1;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return 1;
  if (!ShapedType::isDynamic(offset))
    return powerOfTwoDividing(offset);
  if (auto sub = view.getDefiningOp<memref::SubViewOp>()) {
    SmallVector<int64_t> sourceStrides;
    int64_t sourceOffset;
    if (failed(sub.getSourceType().getStridesAndOffset(sourceStrides, sourceOffset)))
      return 1;
    int64_t d = offsetDivisor(sub.getSource(), depth + 1);
    for (auto [o, s] : llvm::zip(sub.getMixedOffsets(), sourceStrides)) {
      if (ShapedType::isDynamic(s))
        return 1;
      int64_t od = isa<Attribute>(o) ? powerOfTwoDividing(*getConstantIntValue(o))
                                     : knownDivisor(cast<Value>(o));
      d = std::min(d, std::min(kMaxDivisor, od * powerOfTwoDividing(s)));
    }
    return d;
  }
  if (isa_and_nonnull<memref::CollapseShapeOp, memref::ExpandShapeOp, memref::CastOp>(
          view.getDefiningOp()))
    return offsetDivisor(view.getDefiningOp()->getOperand(0), depth + 1);
  // One of two buffers (a doubled buffer's copies).
  if (auto select = view.getDefiningOp<arith::SelectOp>())
    return std::min(offsetDivisor(select.getTrueValue(), depth + 1),
                    offsetDivisor(select.getFalseValue(), depth + 1));
  return 1;
}

/// Whether `view` views kernel arguments or shared buffers only (through
/// views and selects of them), whose starts are aligned.
bool alignedBase(Value view, int depth = 0) {
  if (depth > 16)
    return false;
  Value buffer = viewedBuffer(view);
  if (auto select = buffer.getDefiningOp<arith::SelectOp>())
    return alignedBase(select.getTrueValue(), depth + 1) &&
           alignedBase(select.getFalseValue(), depth + 1);
  return isa<BlockArgument>(buffer) || buffer.getDefiningOp<memref::AllocaOp>();
}

/// The bytes to which the address of element `indices` of `view` is known
/// to be aligned: a kernel argument starts kBufferAlignment bytes aligned,
/// a shared buffer kSharedAlignment; at least the element's size.
int64_t knownAlignment(Value view, ValueRange indices) {
  auto type = cast<MemRefType>(view.getType());
  int64_t elementBytes = std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
  int64_t start = isWorkgroupMemory(type) ? kSharedAlignment : kBufferAlignment;
  if (!alignedBase(view))
    return elementBytes;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return elementBytes;
  int64_t d = offsetDivisor(view);
  for (auto [i, s] : llvm::zip(indices, strides)) {
    if (ShapedType::isDynamic(s))
      return elementBytes;
    d = std::min(d, std::min(kMaxDivisor, knownDivisor(i) * powerOfTwoDividing(s)));
  }
  return std::max(elementBytes, std::min(start, std::min(kMaxDivisor, d * elementBytes)));
}

/// Whether a vector transfer reads or writes its vector as one contiguous
/// run of elements along its buffer's innermost dimension (unit stride).
bool contiguousTransfer(VectorTransferOpInterface t) {
  auto type = dyn_cast<MemRefType>(t.getBase().getType());
  VectorType vector = t.getVectorType();
  if (!type || vector.getRank() != 1 || t.getMask() || !t.getPermutationMap().isMinorIdentity() ||
      !llvm::all_of(t.getInBoundsValues(), [](bool b) { return b; }))
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) && !strides.empty() &&
         strides.back() == 1;
}

/// The buffers (memref.alloca in workgroup memory) that the ops in `body`
/// access, each only there (views of them may be made outside): else none.
std::optional<SmallVector<memref::AllocaOp>> loopOwnedBuffers(scf::ForOp steps) {
  Block *body = steps.getBody();
  SetVector<Operation *> allocas;
  bool ok = true;
  body->walk([&](Operation *op) {
    for (Value v : op->getOperands()) {
      if (!isa<MemRefType>(v.getType()) || !isWorkgroupMemory(v.getType()))
        continue;
      // A view made in the loop would need remaking per copy.
      if (isa<ViewLikeOpInterface>(op) || steps->isAncestor(v.getParentRegion()->getParentOp())) {
        ok = false;
        return;
      }
      auto alloca = viewedBuffer(v).getDefiningOp<memref::AllocaOp>();
      if (!alloca || !alloca.getType().hasStaticShape()) {
        ok = false;
        return;
      }
      allocas.insert(alloca);
    }
  });
  if (!ok || allocas.empty())
    return std::nullopt;
  // Nothing outside the loop but views may use them.
  for (Operation *alloca : allocas) {
    SmallVector<Value> work{alloca->getResult(0)};
    while (!work.empty()) {
      Value v = work.pop_back_val();
      for (Operation *user : v.getUsers()) {
        if (steps->isAncestor(user))
          continue;
        if (!isa<memref::SubViewOp, memref::CollapseShapeOp, memref::ExpandShapeOp>(user))
          return std::nullopt;
        work.push_back(user->getResult(0));
      }
    }
  }
  SmallVector<memref::AllocaOp> result;
  for (Operation *op : allocas)
    result.push_back(cast<memref::AllocaOp>(op));
  return result;
}

/// The bytes a static alloca takes, rounded up to its alignment.
int64_t allocaBytes(memref::AllocaOp a) {
  return (int64_t)llvm::alignTo(
      a.getType().getNumElements() * a.getType().getElementTypeBitWidth() / 8,
      std::max<int64_t>(1, a.getAlignment().value_or(1)));
}

/// The bytes of workgroup memory that `fn`'s allocas take.
int64_t sharedBytes(func::FuncOp fn) {
  int64_t total = 0;
  fn.walk([&](memref::AllocaOp a) {
    if (isWorkgroupMemory(a.getType()) && a.getType().hasStaticShape())
      total += allocaBytes(a);
  });
  return total;
}

/// `view` (a chain of views of `from`) remade at `b` on `to` instead.
FailureOr<Value> remakeView(OpBuilder &b, Location loc, Value view, Value from, Value to) {
  if (view == from)
    return to;
  Operation *op = view.getDefiningOp();
  if (auto sub = dyn_cast_or_null<memref::SubViewOp>(op)) {
    FailureOr<Value> source = remakeView(b, loc, sub.getSource(), from, to);
    if (failed(source))
      return failure();
    auto sourceType = cast<MemRefType>(source->getType());
    MemRefType type = memref::SubViewOp::inferRankReducedResultType(
        sub.getType().getShape(), sourceType, sub.getMixedOffsets(), sub.getMixedSizes(),
        sub.getMixedStrides());
    return memref::SubViewOp::create(b, loc, type, *source, sub.getMixedOffsets(),
                                     sub.getMixedSizes(), sub.getMixedStrides())
        .getResult();
  }
  if (auto collapse = dyn_cast_or_null<memref::CollapseShapeOp>(op)) {
    FailureOr<Value> source = remakeView(b, loc, collapse.getSrc(), from, to);
    if (failed(source) ||
        !memref::CollapseShapeOp::isGuaranteedCollapsible(
            cast<MemRefType>(source->getType()), collapse.getReassociationIndices()))
      return failure();
    return memref::CollapseShapeOp::create(b, loc, *source, collapse.getReassociationIndices())
        .getResult();
  }
  return failure();
}

/// Whether `view` is `from` or a chain of subviews and collapses of it
/// (what remakeView can remake).
bool remakeable(Value view, Value from) {
  for (int depth = 0; depth < 64 && view != from; ++depth) {
    Operation *op = view.getDefiningOp();
    if (!isa_and_nonnull<memref::SubViewOp, memref::CollapseShapeOp>(op))
      return false;
    view = op->getOperand(0);
  }
  return view == from;
}

/// Doubles the shared buffers that only the loop `steps` accesses (a
/// leading dimension of 2; step i uses copy i % 2, its views remade per
/// use from that copy) and drops the barrier at the end of its body. False,
/// changing nothing, where the loop does not have that form or shared
/// memory would not hold the copies.
FailureOr<bool> doubleBuffers(func::FuncOp fn, scf::ForOp steps) {
  Block *body = steps.getBody();
  SmallVector<gpu::BarrierOp> barriers(body->getOps<gpu::BarrierOp>());
  if (barriers.size() != 2 || barriers[1]->getNextNode() != body->getTerminator())
    return false;
  // The loop's only barriers (none nested).
  if (steps->walk([&](gpu::BarrierOp b) {
                return b->getBlock() == body ? WalkResult::advance() : WalkResult::interrupt();
              }).wasInterrupted())
    return false;
  std::optional<SmallVector<memref::AllocaOp>> buffers = loopOwnedBuffers(steps);
  if (!buffers)
    return false;
  int64_t extra = 0;
  for (memref::AllocaOp a : *buffers)
    extra += allocaBytes(a);
  // Where the copies do not fit, one buffer's second copy may live in a
  // shared buffer of the same element type that the loop does not touch
  // (a tensor-core block's accumulator: read into registers before the
  // loop, written after it).
  memref::AllocaOp aliased, host;
  if (sharedBytes(fn) + extra > kMaxStaticSharedBytes) {
    fn.walk([&](memref::AllocaOp x) {
      if (host || !isWorkgroupMemory(x.getType()) || !x.getType().hasStaticShape() ||
          llvm::is_contained(*buffers, x) ||
          body->walk([&](Operation *op) {
                return llvm::any_of(op->getOperands(), [&](Value v) {
                         return isa<MemRefType>(v.getType()) && viewedBuffer(v) == x.getResult();
                       })
                           ? WalkResult::interrupt()
                           : WalkResult::advance();
              }).wasInterrupted())
        return;
      for (memref::AllocaOp a : *buffers)
        if (a.getType().getElementType() == x.getType().getElementType() &&
            a.getType().getNumElements() <= x.getType().getNumElements() &&
            sharedBytes(fn) + extra - allocaBytes(a) <= kMaxStaticSharedBytes) {
          aliased = a;
          host = x;
          return;
        }
    });
    if (!host)
      return false;
  }
  std::optional<int64_t> lower = getConstantIntValue(steps.getLowerBound());
  std::optional<int64_t> step = getConstantIntValue(steps.getStep());
  if (!lower || !step || *step <= 0)
    return false;
  for (memref::AllocaOp a : *buffers) {
    WalkResult odd = body->walk([&](Operation *op) {
      for (Value v : op->getOperands())
        if (isa<MemRefType>(v.getType()) && viewedBuffer(v) == a.getResult() &&
            !remakeable(v, a.getResult()))
          return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (odd.wasInterrupted())
      return false;
  }

  // Every use in the loop of a view of a buffer, remade from the step's
  // copy right before the op of the body that holds it (each use its own
  // view and copy index: the pipeliner gives each to its user's stage).
  Location loc = steps.getLoc();
  for (memref::AllocaOp a : *buffers) {
    MemRefType type = a.getType();
    // The view of copy `copy` (0 or 1) of `a`, made at `b`.
    std::function<Value(OpBuilder &, Value)> copyView;
    if (a == aliased) {
      // Copy 0 is the buffer, copy 1 the start of `host`, seen as it.
      OpBuilder hb(steps);
      SmallVector<int64_t> strides;
      int64_t offset;
      if (failed(type.getStridesAndOffset(strides, offset)))
        return emitError(loc, "internal error: a shared buffer without strides");
      SmallVector<OpFoldResult> sizes, strideFolds;
      for (auto [size, stride] : llvm::zip(type.getShape(), strides)) {
        sizes.push_back(hb.getIndexAttr(size));
        strideFolds.push_back(hb.getIndexAttr(stride));
      }
      Value second = memref::ReinterpretCastOp::create(hb, loc, type, host.getResult(),
                                                       hb.getIndexAttr(0), sizes, strideFolds);
      Value first = a.getResult();
      copyView = [&, second, first](OpBuilder &b, Value copy) -> Value {
        Value isSecond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, copy,
                                               arith::ConstantIndexOp::create(b, loc, 1));
        return arith::SelectOp::create(b, loc, isSecond, second, first);
      };
      // After the loop (and the last step the pipeliner moves after it),
      // `host` is written again: once every thread's products are done.
      OpBuilder after(steps->getBlock(), std::next(steps->getIterator()));
      gpu::BarrierOp::create(after, loc);
    } else {
      // A leading dimension of 2.
      SmallVector<int64_t> shape{2};
      llvm::append_range(shape, type.getShape());
      OpBuilder ab(a);
      auto doubled = memref::AllocaOp::create(
          ab, a.getLoc(),
          MemRefType::get(shape, type.getElementType(), nullptr, type.getMemorySpace()),
          ValueRange{}, a.getAlignmentAttr());
      Value both = doubled.getResult();
      copyView = [&, both, type](OpBuilder &b, Value copy) -> Value {
        SmallVector<OpFoldResult> offsets{copy}, sizes{b.getIndexAttr(1)},
            strides{b.getIndexAttr(1)};
        for (int64_t size : type.getShape()) {
          offsets.push_back(b.getIndexAttr(0));
          sizes.push_back(b.getIndexAttr(size));
          strides.push_back(b.getIndexAttr(1));
        }
        MemRefType half = memref::SubViewOp::inferRankReducedResultType(
            type.getShape(), cast<MemRefType>(both.getType()), offsets, sizes, strides);
        return memref::SubViewOp::create(b, loc, half, both, offsets, sizes, strides).getResult();
      };
    }
    SmallVector<OpOperand *> uses;
    body->walk([&](Operation *op) {
      for (OpOperand &use : op->getOpOperands())
        if (isa<MemRefType>(use.get().getType()) && viewedBuffer(use.get()) == a.getResult())
          uses.push_back(&use);
    });
    for (OpOperand *use : uses) {
      OpBuilder b(body->findAncestorOpInBlock(*use->getOwner()));
      AffineExpr i = b.getAffineDimExpr(0);
      Value copy = affine::AffineApplyOp::create(
          b, loc, AffineMap::get(1, 0, ((i - *lower).floorDiv(*step)) % 2),
          steps.getInductionVar());
      FailureOr<Value> view = remakeView(b, loc, use->get(), a.getResult(), copyView(b, copy));
      if (failed(view))
        return emitError(loc, "internal error: a view of a doubled shared buffer cannot be remade");
      use->set(*view);
    }
  }
  barriers[1]->erase();
  return true;
}

/// The vector read of global memory that `write` (to shared memory)
/// stores as it is, where both are one contiguous run of elements: the
/// pair a cp.async can do. Null otherwise.
vector::TransferReadOp plainCopy(vector::TransferWriteOp write) {
  auto read = write.getVector().getDefiningOp<vector::TransferReadOp>();
  if (!read || !read->hasOneUse() || read->getBlock() != write->getBlock() ||
      !isWorkgroupMemory(write.getBase().getType()) ||
      isWorkgroupMemory(read.getBase().getType()) || !contiguousTransfer(read) ||
      !contiguousTransfer(write) || read.getVectorType() != write.getVectorType())
    return {};
  return read;
}

/// The plain copies of `body` (top level) as nvgpu.device_async_copy ops,
/// each as wide as both addresses allow (16, 8 or 4 bytes: several copies
/// where that is less than the vector), then one group of them; the group's
/// token, or null where there were none.
Value asyncCopies(Block *body) {
  SmallVector<Value> tokens;
  for (auto write : llvm::make_early_inc_range(body->getOps<vector::TransferWriteOp>())) {
    vector::TransferReadOp read = plainCopy(write);
    if (!read)
      continue;
    VectorType vector = read.getVectorType();
    int64_t elementBytes = vector.getElementTypeBitWidth() / 8;
    int64_t bytes = vector.getNumElements() * elementBytes;
    int64_t width = std::min({bytes, knownAlignment(read.getBase(), read.getIndices()),
                              knownAlignment(write.getBase(), write.getIndices())});
    while (width > 16 || (width > 0 && bytes % width != 0))
      width /= 2;
    if (width < 4 || elementBytes == 0 || width % elementBytes != 0)
      continue;
    OpBuilder b(write);
    Location loc = write.getLoc();
    int64_t elements = width / elementBytes;
    for (int64_t j = 0; j < bytes / width; ++j) {
      SmallVector<Value> src(read.getIndices()), dst(write.getIndices());
      if (j > 0) {
        Value offset = arith::ConstantIndexOp::create(b, loc, j * elements);
        src.back() = arith::AddIOp::create(b, loc, src.back(), offset);
        dst.back() = arith::AddIOp::create(b, loc, dst.back(), offset);
      }
      auto copy = nvgpu::DeviceAsyncCopyOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), write.getBase(), dst,
          read.getBase(), src, b.getIndexAttr(elements), /*srcElements=*/Value(),
          width == 16 ? b.getUnitAttr() : UnitAttr());
      tokens.push_back(copy.getAsyncToken());
    }
    write->erase();
    read->erase();
  }
  if (tokens.empty())
    return {};
  OpBuilder b(body->getTerminator());
  return nvgpu::DeviceAsyncCreateGroupOp::create(
             b, body->getParentOp()->getLoc(),
             nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens)
      .getAsyncToken();
}

} // namespace

LogicalResult cuda::pipelineSteps(func::FuncOp fn, scf::ForOp steps, bool asyncCopiesOk) {
  Block *body = steps.getBody();
  auto global = [](Value v) {
    auto type = dyn_cast<MemRefType>(v.getType());
    return type && !isWorkgroupMemory(type);
  };
  // Nothing in the loop may write what the reads read (any memory but
  // workgroup memory).
  if (llvm::any_of(*body, [](Operation &op) {
        return mayAccess(
            &op, [](Operation *) { return false; },
            [](Value v) { return !v || !isWorkgroupMemory(v.getType()); }, /*writesOnly=*/true);
      }))
    return success();
  auto isFirst = [&](Operation &op) {
    if (auto read = dyn_cast<vector::TransferReadOp>(&op))
      return global(read.getBase());
    if (auto load = dyn_cast<memref::LoadOp>(&op))
      return global(load.getMemRef());
    return isa<nvgpu::DeviceAsyncCopyOp, nvgpu::DeviceAsyncCreateGroupOp>(op);
  };
  if (llvm::none_of(*body, isFirst))
    return success();
  FailureOr<bool> doubled = doubleBuffers(fn, steps);
  if (failed(doubled))
    return failure();
  Value group = *doubled && asyncCopiesOk ? asyncCopies(body) : Value();
  auto barrier = llvm::find_if(*body, [](Operation &op) { return isa<gpu::BarrierOp>(op); });
  if (barrier == body->end())
    return success();
  if (group) {
    OpBuilder b(&*barrier);
    nvgpu::DeviceAsyncWaitOp::create(b, steps.getLoc(), group, b.getI32IntegerAttr(0));
  }
  // The reads and asynchronous copies, and the pure ops of the body that
  // they use: the first stage. A pure op that the second stage uses too
  // is computed twice, once per stage.
  llvm::SmallPtrSet<Operation *, 16> first;
  SmallVector<Operation *> work;
  for (Operation &op : *body)
    if (isFirst(op)) {
      first.insert(&op);
      work.push_back(&op);
    }
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    for (OpOperand &use : op->getOpOperands()) {
      Operation *def = use.get().getDefiningOp();
      if (!def || def->getBlock() != body || first.contains(def))
        continue;
      // (Unpipelined, a double-buffered loop is still right: the barrier
      // orders its hazards as well.)
      if (!isPure(def) || def->getNumRegions() != 0)
        return success();
      if (llvm::any_of(def->getUsers(), [&](Operation *user) {
            return !first.contains(user) && user != op;
          })) {
        // Shared with the second stage: a copy of its own.
        OpBuilder b(def);
        Operation *copy = b.clone(*def);
        use.set(copy->getResult(cast<OpResult>(use.get()).getResultNumber()));
        def = copy;
      }
      first.insert(def);
      work.push_back(def);
    }
  }
  scf::PipeliningOption options;
  // Single buffers: the next step's reads go right before the barrier.
  // Double buffers: right after it (the copies then overwrite what the
  // step before read, which the barrier saw done).
  bool afterBarrier = *doubled;
  options.getScheduleFn = [&, barrier, afterBarrier](
                              scf::ForOp loop,
                              std::vector<std::pair<Operation *, unsigned>> &order) {
    auto second = [&](auto from, auto to) {
      for (Operation &op : llvm::make_range(from, to))
        if (!first.contains(&op) && !isa<scf::YieldOp>(op))
          order.push_back({&op, 1});
    };
    auto split = afterBarrier ? std::next(barrier) : barrier;
    second(body->begin(), split);
    for (Operation &op : *body)
      if (first.contains(&op))
        order.push_back({&op, 0});
    second(split, body->end());
  };
  IRRewriter rewriter(steps.getContext());
  rewriter.setInsertionPoint(steps);
  bool modified = false;
  Location loc = steps.getLoc();
  if (failed(scf::pipelineForLoop(rewriter, steps, options, &modified)) && modified)
    return emitError(loc, "internal error: the loop of reduction steps was left half pipelined");
  return success();
}
