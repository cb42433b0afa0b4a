//===- SplitLanes.cpp - a row's work shared by the lanes of a warp --------===//
//
// weft-cuda-tile-threads gives a softmax's or a normalization's row to one
// warp rather than one thread: the row loop's iteration (a tensor-level
// scf.forall body computing the row's reductions and then its elements) is
// rewritten so that each of 32 lanes takes the row's elements lane,
// lane + 32, ... of its whole multiples of 32, and the first n % 32 lanes
// one each of the rest. Every reduction becomes a lane loop of partial
// reductions (each from the combiner's identity), a lane loop of n % 32
// iterations adding the rest, and a merge of the 32 partials into the
// reduction's own init; the row's output is written by lane loops the same
// way. Lane loops carry `#gpu.lane<linear_dim_0>`
// and merges `weft.lane_merge`; weft-cuda-distribute-lanes makes them a
// warp's lanes and shuffles on a GPU, or plain loops on a CPU.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

/// The result of `map` that is loop `loop` alone, or -1.
int64_t resultOf(AffineMap map, unsigned loop) {
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    if (auto d = dyn_cast<AffineDimExpr>(map.getResult(r)); d && d.getPosition() == loop)
      return r;
  return -1;
}

/// Whether every element of `type` is 32 bits wide (what one shuffle moves).
bool shuffles(Type type) {
  Type element = getElementTypeOrSelf(type);
  return isa<FloatType, IntegerType>(element) && element.getIntOrFloatBitWidth() == 32;
}

/// Which of a row's elements a lane takes: its share of the row's whole
/// multiples of 32 (elements lane, lane + 32, ...), or, where the row's
/// length n is not a multiple of 32, one of the n % 32 elements after them
/// (element 32 * (n / 32) + lane, for the first n % 32 lanes).
enum class Share { Strided, Remainder };

/// A slice of a static tensor: all of it, except along `dim` (when given)
/// lane `lane`'s `share`.
struct Slice {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};
Slice sliceOf(OpBuilder &b, RankedTensorType type, std::optional<int64_t> dim = std::nullopt,
              Value lane = {}, Share share = Share::Strided) {
  Slice s;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    s.offsets.push_back(b.getIndexAttr(0));
    s.sizes.push_back(b.getIndexAttr(type.getDimSize(d)));
    s.strides.push_back(b.getIndexAttr(1));
  }
  if (dim && share == Share::Strided) {
    s.offsets[*dim] = lane;
    s.sizes[*dim] = b.getIndexAttr(type.getDimSize(*dim) / kWarpLanes);
    s.strides[*dim] = b.getIndexAttr(kWarpLanes);
  } else if (dim) {
    int64_t whole = type.getDimSize(*dim) / kWarpLanes * kWarpLanes;
    s.offsets[*dim] = affine::makeComposedFoldedAffineApply(
        b, lane.getLoc(), b.getAffineSymbolExpr(0) + whole, ArrayRef<OpFoldResult>{lane});
    s.sizes[*dim] = b.getIndexAttr(1);
  }
  return s;
}

/// The elements of a row of `n` left after its whole multiples of 32.
int64_t remainderOf(int64_t n) { return n % kWarpLanes; }

/// Row `lane` of a lanes x `shape` tensor of partials, as a slice of one
/// element of `shape` (rank reduced by the caller's type).
Slice laneRow(OpBuilder &b, RankedTensorType shape, Value lane) {
  int64_t rank = shape.getRank() + 1;
  Slice s{SmallVector<OpFoldResult>(rank, b.getIndexAttr(0)),
          SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)),
          SmallVector<OpFoldResult>(rank, b.getIndexAttr(1))};
  s.offsets[0] = lane;
  return s;
}

/// This lane's share of `v` along `dim`.
Value laneSlice(OpBuilder &b, Location loc, Value v, int64_t dim, Value lane,
                Share share = Share::Strided) {
  Slice s = sliceOf(b, cast<RankedTensorType>(v.getType()), dim, lane, share);
  return tensor::ExtractSliceOp::create(b, loc, v, s.offsets, s.sizes, s.strides);
}

/// Clones ops of a row's iteration (`scope`) into a lane loop with one of
/// their loops cut to the lane's share. A row-long operand produced in the
/// row by another linalg op along a parallel loop is cloned the same way
/// (each lane computes its share of it); any other row-long operand is
/// sliced.
class LaneCloner {
public:
  LaneCloner(OpBuilder &b, Value lane, Operation *scope, Share kind = Share::Strided)
      : b(b), lane(lane), scope(scope), kind(kind) {}

  /// `op` with its loop `loop` cut to this lane's share.
  FailureOr<linalg::LinalgOp> clone(linalg::LinalgOp op, unsigned loop, int depth = 0) {
    if (auto done = cloned.find({op, loop}); done != cloned.end())
      return done->second;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (depth > 16 || !op.hasPureTensorSemantics() || op.hasIndexSemantics() ||
        loop >= ranges.size() || ShapedType::isDynamic(ranges[loop]) ||
        ranges[loop] < kWarpLanes)
      return failure();
    SmallVector<std::pair<unsigned, Value>> operands;
    for (OpOperand &operand : op->getOpOperands()) {
      AffineMap map = op.getMatchingIndexingMap(&operand);
      if (!map.isFunctionOfDim(loop))
        continue;
      // The loop must index one dimension alone (a convolution's input
      // channel may; its window position, oh + kh, may not).
      int64_t dim = resultOf(map, loop);
      if (dim < 0 || llvm::count_if(map.getResults(), [&](AffineExpr e) {
                       return e.isFunctionOfDim(loop);
                     }) != 1)
        return failure();
      FailureOr<Value> s = share(operand.get(), dim, depth);
      if (failed(s))
        return failure();
      operands.push_back({operand.getOperandNumber(), *s});
    }
    Operation *copy = b.clone(*op);
    for (auto [index, value] : operands)
      copy->setOperand(index, value);
    auto result = cast<linalg::LinalgOp>(copy);
    for (auto [r, init] : llvm::zip(copy->getResults(), result.getDpsInits()))
      r.setType(init.getType());
    cloned[{op, loop}] = result;
    return result;
  }

  /// This lane's share of `v` along its dimension `dim`.
  FailureOr<Value> share(Value v, int64_t dim, int depth = 0) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() || type.getDimSize(dim) < kWarpLanes)
      return failure();
    if (auto producer = v.getDefiningOp<linalg::LinalgOp>();
        producer && scope->isProperAncestor(producer) && producer.hasPureTensorSemantics()) {
      auto result = cast<OpResult>(v);
      AffineMap out = producer.getIndexingMapMatchingResult(result);
      if (auto d = dyn_cast<AffineDimExpr>(out.getResult(dim))) {
        unsigned loop = d.getPosition();
        if (producer.getIteratorTypesArray()[loop] == utils::IteratorType::parallel) {
          FailureOr<linalg::LinalgOp> copy = clone(producer, loop, depth + 1);
          if (succeeded(copy))
            return (*copy)->getResult(result.getResultNumber());
        }
      }
    }
    return laneSlice(b, v.getLoc(), v, dim, lane, kind);
  }

private:
  OpBuilder &b;
  Value lane;
  Operation *scope;
  Share kind;
  DenseMap<std::pair<Operation *, unsigned>, linalg::LinalgOp> cloned;
};

ArrayAttr laneMapping(MLIRContext *ctx) {
  return ArrayAttr::get(ctx, {gpu::GPULaneMappingAttr::get(ctx, gpu::MappingId::LinearDim0)});
}

/// A reduction whose partials lanes can merge: its loop to split, and per
/// result the combiner (one binary op of the init and one other value).
struct Splittable {
  unsigned loop;
  SmallVector<Operation *> combiners;
};

std::optional<Splittable> splittable(linalg::LinalgOp op) {
  if (op.getNumReductionLoops() == 0 || !op.hasPureTensorSemantics() || op.hasIndexSemantics())
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  std::optional<unsigned> loop;
  SmallVector<unsigned> reductions;
  op.getReductionDims(reductions);
  for (unsigned d : reductions)
    if (!ShapedType::isDynamic(ranges[d]) && isLaneable(ranges[d]))
      loop = d; // the innermost such loop: lanes read neighbouring elements
  if (!loop)
    return std::nullopt;
  Splittable s{*loop, {}};
  for (auto [index, result] : llvm::enumerate(op->getResults())) {
    auto type = dyn_cast<RankedTensorType>(result.getType());
    // One element per row (the row loop took everything else), one
    // shuffle wide.
    if (!type || !type.hasStaticShape() || type.getNumElements() != 1 || !shuffles(type))
      return std::nullopt;
    SmallVector<Operation *> combiners;
    if (!matchReduction(op.getRegionOutputArgs(), index, combiners) || combiners.size() != 1)
      return std::nullopt;
    Operation *c = combiners[0];
    if (c->getNumOperands() != 2 || c->getNumResults() != 1 || c->getNumRegions() != 0 ||
        !arith::getNeutralElement(c))
      return std::nullopt;
    s.combiners.push_back(c);
  }
  return s;
}

/// Rewrites reduction `op` of a row as partials of 32 lanes and their
/// merges.
LogicalResult splitReduction(linalg::LinalgOp op, const Splittable &s, Operation *scope) {
  MLIRContext *ctx = op->getContext();
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<Value> empties;
  for (Value r : op->getResults()) {
    auto type = cast<RankedTensorType>(r.getType());
    SmallVector<int64_t> shape = {kWarpLanes};
    llvm::append_range(shape, type.getShape());
    empties.push_back(tensor::EmptyOp::create(b, loc, shape, type.getElementType()));
  }
  auto lanes = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(kWarpLanes)},
                                     empties, laneMapping(ctx));
  OpBuilder lb = OpBuilder::atBlockBegin(lanes.getBody());
  Value lane = lanes.getInductionVar(0);
  LaneCloner cloner(lb, lane, scope);
  FailureOr<linalg::LinalgOp> partial = cloner.clone(op, s.loop);
  if (failed(partial))
    return failure();
  // Each lane reduces from the combiner's identity; the merge starts from
  // the reduction's own init.
  lb.setInsertionPoint(*partial);
  for (auto [index, init] : llvm::enumerate(partial->getDpsInits())) {
    auto type = cast<RankedTensorType>(init.getType());
    Value empty = tensor::EmptyOp::create(lb, loc, type.getShape(), type.getElementType());
    auto identity = arith::getNeutralElement(s.combiners[index]);
    Value value = arith::ConstantOp::create(lb, loc, *identity);
    Value fill = linalg::FillOp::create(lb, loc, value, empty).getResult(0);
    partial->getDpsInitsMutable()[index].set(fill);
  }
  OpBuilder tb = OpBuilder::atBlockEnd(lanes.getTerminator().getBody());
  for (auto [index, r] : llvm::enumerate((*partial)->getResults())) {
    Slice at = laneRow(tb, cast<RankedTensorType>(r.getType()), lane);
    tensor::ParallelInsertSliceOp::create(tb, loc, r, lanes.getRegionIterArgs()[index], at.offsets,
                                          at.sizes, at.strides);
  }

  // The elements after the row's whole multiples of 32: each of the first
  // n % 32 lanes adds one to its partial.
  scf::ForallOp last = lanes;
  if (int64_t rest = remainderOf(op.getStaticLoopRanges()[s.loop])) {
    b.setInsertionPointAfter(lanes);
    auto extra = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(rest)},
                                       lanes.getResults(), laneMapping(ctx));
    OpBuilder eb = OpBuilder::atBlockBegin(extra.getBody());
    Value tailLane = extra.getInductionVar(0);
    LaneCloner tail(eb, tailLane, scope, Share::Remainder);
    FailureOr<linalg::LinalgOp> more = tail.clone(op, s.loop);
    if (failed(more))
      return failure();
    eb.setInsertionPoint(*more);
    auto partials = extra.getRegionIterArgs();
    for (auto [index, init] : llvm::enumerate(more->getDpsInits())) {
      auto type = cast<RankedTensorType>(init.getType());
      Slice at = laneRow(eb, type, tailLane);
      Value mine = tensor::ExtractSliceOp::create(eb, loc, type, partials[index], at.offsets,
                                                  at.sizes, at.strides);
      more->getDpsInitsMutable()[index].set(mine);
    }
    OpBuilder xb = OpBuilder::atBlockEnd(extra.getTerminator().getBody());
    for (auto [index, r] : llvm::enumerate((*more)->getResults())) {
      Slice at = laneRow(xb, cast<RankedTensorType>(r.getType()), tailLane);
      tensor::ParallelInsertSliceOp::create(xb, loc, r, partials[index], at.offsets, at.sizes,
                                            at.strides);
    }
    last = extra;
  }

  // merge[i] = combine over lanes of partial[lane][i], into the init.
  b.setInsertionPointAfter(last);
  for (auto [index, result] : llvm::enumerate(op->getResults())) {
    Operation *combiner = s.combiners[index];
    BlockArgument acc = op.getRegionOutputArgs()[index];
    Value other = combiner->getOperand(0) == acc ? combiner->getOperand(1) : combiner->getOperand(0);
    if (other == acc || (combiner->getOperand(0) != acc && combiner->getOperand(1) != acc))
      return failure();
    auto type = cast<RankedTensorType>(result.getType());
    int64_t rank = type.getRank();
    SmallVector<AffineExpr> outer;
    for (int64_t d = 1; d <= rank; ++d)
      outer.push_back(b.getAffineDimExpr(d));
    SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank + 1),
                                   AffineMap::get(rank + 1, 0, outer, ctx)};
    SmallVector<utils::IteratorType> iters(rank + 1, utils::IteratorType::parallel);
    iters[0] = utils::IteratorType::reduction;
    auto merge = linalg::GenericOp::create(
        b, loc, TypeRange{type}, ValueRange{last.getResult(index)},
        ValueRange{op.getDpsInits()[index]}, maps, iters,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          IRMapping map;
          map.map(acc, args[1]);
          map.map(other, args[0]);
          Operation *c = nb.clone(*combiner, map);
          linalg::YieldOp::create(nb, nl, c->getResult(0));
        });
    merge->setAttr(kLaneMergeAttr, b.getUnitAttr());
    result.replaceAllUsesWith(merge.getResult(0));
  }
  return success();
}

} // namespace

LogicalResult weft::cuda::splitRowAcrossLanes(scf::ForallOp rows,
                                              std::optional<unsigned> rootLoop) {
  Block *body = rows.getBody();
  SmallVector<Operation *> yielding =
      llvm::map_to_vector(rows.getTerminator().getYieldingOps(), [](Operation &op) { return &op; });
  if (yielding.size() != 1)
    return failure();
  auto insert = dyn_cast<tensor::ParallelInsertSliceOp>(yielding[0]);
  auto root = insert ? insert.getSource().getDefiningOp<linalg::LinalgOp>() : linalg::LinalgOp();
  if (!root || root->getBlock() != body || root->getNumResults() != 1 ||
      root.getNumDpsInits() != 1)
    return failure();
  Location loc = root.getLoc();
  Value out = root.getDpsInits()[0];
  bool rootReduces = root.getNumReductionLoops() != 0;
  if (rootReduces) {
    // A reducing root (a matrix-vector product whose init is its bias)
    // reduces into a temporary instead of the output, which lanes must not
    // all write: its init's producer is cloned onto an empty tensor.
    auto producer = out.getDefiningOp<linalg::LinalgOp>();
    if (rootLoop || !producer || producer->getBlock() != body ||
        producer->getNumResults() != 1 || producer.getNumDpsInits() != 1 ||
        producer.getNumReductionLoops() != 0 || !producer.hasPureTensorSemantics())
      return failure();
    auto type = cast<RankedTensorType>(out.getType());
    OpBuilder pb(producer);
    Value empty = tensor::EmptyOp::create(pb, loc, type.getShape(), type.getElementType());
    IRMapping map;
    map.map(producer.getDpsInits()[0], empty);
    Operation *temporary = pb.clone(*producer, map);
    root.getDpsInitsMutable()[0].set(temporary->getResult(0));
    out = producer.getDpsInits()[0];
  }

  // Every reduction of the row that lanes can share.
  SmallVector<std::pair<linalg::LinalgOp, Splittable>> reductions;
  for (Operation &op : *body)
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(&op))
      if (std::optional<Splittable> s = splittable(linalgOp))
        reductions.push_back({linalgOp, std::move(*s)});
  if (!rootLoop && reductions.empty())
    return failure();
  if (rootReduces && !llvm::is_contained(llvm::make_first_range(reductions), root))
    return failure();
  for (auto &[op, s] : reductions)
    if (failed(splitReduction(op, s, rows)))
      return failure();

  OpBuilder b(insert->getParentOp());
  if (!rootLoop) {
    // The thread's output: lane 0 computes (or copies) and writes it.
    auto first = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(1)},
                                       ValueRange{out}, laneMapping(b.getContext()));
    OpBuilder fb = OpBuilder::atBlockBegin(first.getBody());
    Value mine = insert.getSource(); // the merged total, for a reducing root
    if (!rootReduces) {
      IRMapping map;
      map.map(out, first.getRegionIterArgs()[0]);
      mine = fb.clone(*root, map)->getResult(0);
    }
    Slice all = sliceOf(b, cast<RankedTensorType>(out.getType()));
    OpBuilder tb = OpBuilder::atBlockEnd(first.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(tb, loc, mine, first.getRegionIterArgs()[0],
                                          all.offsets, all.sizes, all.strides);
    insert.getSourceMutable().assign(first.getResult(0));
    return success();
  }

  // The row's elements: each lane computes and writes its share, then the
  // first n % 32 lanes one each of the last n % 32.
  int64_t dim = resultOf(root.getIndexingMapMatchingResult(root->getResult(0)), *rootLoop);
  if (dim < 0)
    return failure();
  // A lane loop of `count` iterations writing each lane's `share` of the
  // row into `dest`; its result, or null.
  auto writeShares = [&](int64_t count, Value dest, Share share) -> Value {
    auto lanes = scf::ForallOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(count)},
                                       ValueRange{dest}, laneMapping(b.getContext()));
    OpBuilder lb = OpBuilder::atBlockBegin(lanes.getBody());
    Value lane = lanes.getInductionVar(0);
    LaneCloner cloner(lb, lane, rows, share);
    FailureOr<linalg::LinalgOp> mine = cloner.clone(root, *rootLoop);
    if (failed(mine))
      return Value();
    lb.setInsertionPoint(*mine);
    Value rowOut = lanes.getRegionIterArgs()[0];
    mine->getDpsInitsMutable()[0].set(laneSlice(lb, loc, rowOut, dim, lane, share));
    Slice at = sliceOf(lb, cast<RankedTensorType>(out.getType()), dim, lane, share);
    OpBuilder tb = OpBuilder::atBlockEnd(lanes.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(tb, loc, (*mine)->getResult(0), rowOut, at.offsets,
                                          at.sizes, at.strides);
    b.setInsertionPointAfter(lanes);
    return lanes.getResult(0);
  };
  Value written = writeShares(kWarpLanes, out, Share::Strided);
  if (int64_t rest = remainderOf(root.getStaticLoopRanges()[*rootLoop]); written && rest)
    written = writeShares(rest, written, Share::Remainder);
  if (!written)
    return failure();
  root->getResult(0).replaceAllUsesWith(written);
  return success();
}
