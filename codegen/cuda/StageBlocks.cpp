//===- StageBlocks.cpp - a matmul block staged through shared memory -----===//
//
// weft-cuda-tile-threads gives a large f32 matmul (alone or with an
// elementwise epilogue; convolutions are rewritten as matmuls of their
// filter and their image's columns) to blocks of kThreadsPerBlock threads,
// each block a
// tile of kBlockOutputs elements of the output (64 x 64, 32 x 128 or
// 128 x 32). This file rewrites the
// block's iteration (a tensor-level scf.forall body) into loops of the
// block's threads (`scf.forall` mapped to `#gpu.thread<linear_dim_0>`):
//
//   acc = the accumulator's init, each thread its 4 x 4 tile
//   for each kBlockReductionStep reduction steps:
//     the block's A rows and B columns for these steps, copied into
//     buffers the threads share (each thread 16 bytes of neighbouring
//     elements at a time, a warp's 32 threads next to each other);
//     an operand computed in the block from values outside it (a
//     convolution's columns, gathered from its image) is computed
//     straight into its buffer, each thread its part
//     each thread's 4 x 4 tile of acc += its rows of A x its columns of B
//   output = epilogue(acc), each thread its 4 x 4 tile
//
// (On a GPU an FMA thread's tile of acc ends up in registers from its init
// to the epilogue: carryTilesInRegisters and forwardThreadTiles, after
// distribution, drop acc's buffer.) The buffers are
// `bufferization.alloc_tensor` ops, in workgroup (shared) memory on a GPU,
// so every element of A and B is loaded from global memory once per block
// rather than once per thread that needs it (16 times).
// weft-cuda-distribute-lanes runs the thread loops on the block's threads
// with barriers between them, or as loops on a CPU.
//
// On tensor cores (TF32 for f32 operands, whose copies round them to TF32,
// or 3xTF32, whose copies do not: the warps split each operand in two;
// f16 or bf16 for such operands, with f32 sums) the products are added by
// the block's 8 warps (`scf.forall` mapped to `#gpu.warp<linear_dim_0>`),
// each a 16 x 32 tile of acc as one contraction marked `weft.mma`, which
// weft-cuda-distribute-lanes turns into tensor-core fragment loads,
// products and stores (f16: WMMA; bf16 and TF32: ldmatrix and mma.sync),
// or on a CPU leaves a loop nest, where the rounding alone models the
// GPU's TF32 arithmetic (3xTF32's split is computed per product).
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/RegionUtils.h"

#include <numeric>

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

/// A thread's tile of the block's accumulator: rows x columns.
constexpr int64_t kThreadTile = 4;
/// The rows of a shared buffer holding a step of A or B are this many
/// bytes longer than the data they hold. Shared memory serves a request
/// from 32 banks of 4 bytes, one address per bank; rows of 64 or 128 bytes
/// (a step's 32 bf16 or f32, a block's 64) all start on the same banks, so
/// accesses that walk down a column of rows meet conflicts: an ldmatrix
/// piece's 8 rows of 16 bytes 4- or 8-way, the FMA threads' 16-byte stores
/// of A two rows per 8 lanes 2-way. 16 bytes more per row move each next
/// row four banks on, and all of these fall on distinct banks. Rows stay multiples of 16 bytes (vector
/// accesses, ldmatrix rows, WMMA strides). Counted by bank arithmetic (and
/// for ldmatrix by cuda-mma-sync-lanes.test), not measured on a GPU.
constexpr int64_t kSharedRowPadBytes = 16;
/// A TF32 fragment of an operand whose rows run across the reduction (B
/// stored k x n, A stored k x m; each lane loads its own elements, as
/// ldmatrix cannot transpose 32-bit ones) reads 4 rows of 8 neighbouring
/// f32 per request: rows 32 bytes apart on the banks (this padding) keep
/// those distinct, where 16 bytes would leave them 2-way.
constexpr int64_t kTf32AcrossRowPadBytes = 32;
/// The rows of the accumulator buffer of warps on tensor cores are this
/// many bytes longer than its 64 f32. An mma.sync fragment of sums puts 4
/// rows of 32 bytes in each half-warp's 8-byte loads and stores (lane l:
/// row l / 4, columns 2 (l % 4) and one more); rows 256 bytes apart all
/// start on bank 0 (4-way conflicts: 8 wavefronts a request where 2 would
/// do, in weft-gpu-sim), rows 288 bytes apart on banks 0, 8, 16 and 24.
constexpr int64_t kAccRowPadBytes = 32;

/// Whether a copy into a step's buffer of rows padded by kSharedRowPadBytes
/// (`padded`) should put rows 4 apart in each 8 lanes' 16-byte stores.
/// Rows of four such pieces (a step of f16 or bf16 A: 32 elements, 64
/// bytes) put two rows in each 8 lanes' request, and neighbouring padded
/// rows, 80 bytes apart, overlap on the banks (banks 0-15 and 20-35: 2-way
/// conflicts, 8 wavefronts a request where 4 would do in weft-gpu-sim);
/// rows 4 apart, 320 bytes, cover banks 0-15 and 16-31. A warp still reads
/// whole rows of global memory. (Lanes taking one piece of 8 rows each
/// would avoid them too, at 12 more registers in ptxas' count.)
bool rowsFourApartPays(ArrayRef<int64_t> shape, ArrayRef<int64_t> tile, int64_t elementBytes,
                       bool padded) {
  return padded && !shape.empty() && tile.back() * elementBytes == 16 &&
         llvm::all_of(tile.drop_back(), [](int64_t t) { return t == 1; }) &&
         shape.back() == 4 * tile.back();
}
static_assert(kSharedRowPadBytes == 16, "rowsFourApartPays counts rows 80 bytes apart");

static_assert(kBlockOutputs == kThreadTile * kThreadTile * kThreadsPerBlock,
              "one 4 x 4 tile of a block's output per thread");

ArrayAttr threadMapping(MLIRContext *ctx) {
  return ArrayAttr::get(ctx, {gpu::GPUThreadMappingAttr::get(ctx, gpu::MappingId::LinearDim0)});
}

ArrayAttr warpMapping(MLIRContext *ctx) {
  return ArrayAttr::get(ctx, {gpu::GPUWarpMappingAttr::get(ctx, gpu::MappingId::LinearDim0)});
}

/// A copy of `src` into `dest` (same static shapes), each element rounded
/// to TF32.
Operation *tf32Copy(OpBuilder &b, Location loc, Value src, Value dest) {
  auto type = cast<RankedTensorType>(dest.getType());
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iters(type.getRank(), utils::IteratorType::parallel);
  return linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{src}, ValueRange{dest}, ArrayRef<AffineMap>{id, id},
      iters, [](OpBuilder &gb, Location gl, ValueRange args) {
        linalg::YieldOp::create(gb, gl, roundToTf32(gb, gl, args[0]));
      });
}

/// Whether `v` is defined outside `scope`.
bool definedOutside(Value v, Operation *scope) {
  return !scope->isAncestor(v.getParentRegion()->getParentOp());
}

/// Whether `v` is a value from outside `scope`, or a slice of one: what the
/// block's threads can read directly without another op of the block
/// computing it first.
bool readableFromOutside(Value v, Operation *scope) {
  for (int depth = 0; depth < 8; ++depth) {
    if (definedOutside(v, scope))
      return true;
    auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice)
      return false;
    v = slice.getSource();
  }
  return false;
}

/// The op of `scope` that computes `v` (or the tensor that `v` is a slice
/// of) from values outside `scope` alone, elementwise (no reduction, its
/// init unread): a convolution's columns (an im2col gather). The block's
/// threads compute the part of it that a reduction step reads straight
/// into the shared buffer, rather than copying it from a tensor built
/// whole.
linalg::GenericOp stagedProducer(Value v, Operation *scope) {
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>(); slice && slice.hasUnitStride())
    v = slice.getSource();
  auto producer = v.getDefiningOp<linalg::GenericOp>();
  if (!producer || definedOutside(v, scope) || producer.getNumReductionLoops() != 0 ||
      producer->getNumResults() != 1 || producer.getNumDpsInits() != 1 ||
      producer.payloadUsesValueFromOperand(producer.getDpsInitOperand(0)))
    return {};
  for (Value in : producer.getDpsInputs())
    if (!readableFromOutside(in, scope))
      return {};
  // Values its body reads from around it come from outside the block, or
  // are indices (the block's offsets, which every thread computes).
  WalkResult captured = producer.getRegion().walk([&](Operation *op) {
    for (Value operand : op->getOperands())
      if (!producer->isAncestor(operand.getParentRegion()->getParentOp()) &&
          !definedOutside(operand, scope) && !operand.getType().isIndex() &&
          !operand.getDefiningOp<arith::ConstantOp>())
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return captured.wasInterrupted() ? linalg::GenericOp() : producer;
}

/// The widest access of one thread (a 16-byte vector load or store).
constexpr int64_t kAccessBytes = 16;

/// The tile of `shape` each of `threads` threads takes per round (see
/// copyTile), its elements along the innermost dimensions first; with
/// `lanesAlongRows`, along the others only, the innermost left to the
/// threads (a multiple of a warp's lanes).
std::optional<SmallVector<int64_t>> shareOut(ArrayRef<int64_t> shape, int64_t threads,
                                             int64_t elementBytes, int64_t &rounds,
                                             bool lanesAlongRows) {
  int64_t elements = 1;
  for (int64_t s : shape)
    elements *= s;
  if (shape.empty() || elements % threads != 0 ||
      (lanesAlongRows && shape.back() % kWarpLanes != 0))
    return std::nullopt;
  int64_t rest = elements / threads;
  rounds = 1;
  int64_t piece = std::max<int64_t>(1, kAccessBytes / elementBytes);
  if (rest > piece && rest % piece == 0) {
    rounds = rest / piece;
    rest = piece;
  }
  SmallVector<int64_t> tile(shape.size(), 1);
  for (int64_t d = (int64_t)shape.size() - (lanesAlongRows ? 2 : 1); d >= 0; --d) {
    tile[d] = std::gcd(shape[d], rest);
    rest /= tile[d];
  }
  if (rest != 1)
    return std::nullopt;
  return tile;
}

/// A thread's share of a static tensor of `shape` (elements of
/// `elementBytes`) copied by `threads` threads: the same number of
/// elements each, neighbours along the innermost dimensions first
/// (contiguous loads and stores), at most kAccessBytes at a time. Where a
/// thread's share is more than that, it copies `rounds` such pieces, in
/// round r (a loop of the threads each) piece r * threads + t: each round's
/// pieces lie next to each other across the threads, so that a warp's
/// 16-byte accesses of one round cover whole 32-byte sectors of global
/// memory and every bank of shared memory once (a thread's 32 contiguous
/// bytes, two 16-byte accesses, read half of each sector per request and
/// met 2-way bank conflicts in rows of 64 elements).
std::optional<SmallVector<int64_t>> copyTile(ArrayRef<int64_t> shape, int64_t threads,
                                             int64_t elementBytes, int64_t &rounds) {
  return shareOut(shape, threads, elementBytes, rounds, /*lanesAlongRows=*/false);
}

/// A thread's share of a gathered operand of `shape` (each element a load
/// at indices of its own: a convolution's columns) for `threads` threads:
/// each thread's elements along the outer dimensions and the threads
/// along the innermost one, so that the lanes of a warp load neighbouring
/// positions (a row of the image) with each of their loads, where 4
/// neighbours per thread spread a warp's load over 4 rows 16 bytes apart
/// (ResNet-50's 3x3 convolutions: 0.42 of the sectors used in
/// weft-gpu-sim). In `rounds` as copyTile; none where the shape does not
/// fit (the caller then takes copyTile's).
std::optional<SmallVector<int64_t>> gatherTile(ArrayRef<int64_t> shape, int64_t threads,
                                               int64_t elementBytes, int64_t &rounds) {
  return shareOut(shape, threads, elementBytes, rounds, /*lanesAlongRows=*/true);
}

/// A loop of the block's threads (or, with `warps`, of its warps)
/// computing `op` (one result, destination style) into `dest` (a tensor of
/// the result's shape): thread t computes the t-th tile of `tile` elements
/// (row-major over the tiles); or, the tiles shared out in `rounds`
/// loops, this loop being round `round`, the tile round * threads + t.
/// `op` itself is left in place (its caller erases it). With
/// `rowsFourApart` (4 tiles across each row of `dest`), each 8 lanes of a
/// warp take the tiles of two rows 4 apart rather than of two neighbouring
/// rows (see rowsFourApartPays).
FailureOr<scf::ForallOp> threadLoop(OpBuilder &b, Location loc, Operation *op, Value dest,
                                    ArrayRef<int64_t> tile, bool warps = false,
                                    int64_t round = 0, int64_t rounds = 1,
                                    bool rowsFourApart = false) {
  auto type = cast<RankedTensorType>(dest.getType());
  auto dps = dyn_cast<DestinationStyleOpInterface>(op);
  if (!dps || dps.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      op->getResult(0).getType() != type || !isa<TilingInterface>(op))
    return failure();
  SmallVector<int64_t> counts;
  int64_t threads = 1;
  for (auto [size, t] : llvm::zip(type.getShape(), tile)) {
    if (t <= 0 || size % t != 0)
      return failure();
    counts.push_back(size / t);
    threads *= size / t;
  }
  int64_t tiles = threads;
  if (rounds < 1 || round >= rounds || threads % rounds != 0)
    return failure();
  threads /= rounds;
  if (threads > (warps ? kWarpsPerBlock : kThreadsPerBlock))
    return failure();
  auto loop = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(threads)}, ValueRange{dest},
      warps ? warpMapping(b.getContext()) : threadMapping(b.getContext()));
  OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
  Value t = loop.getInductionVar(0);
  AffineExpr s0 = lb.getAffineSymbolExpr(0);
  if (rowsFourApart) {
    if (warps || counts.back() != 4 || threads % kWarpLanes != 0)
      return failure();
    // Lane l of a warp's 8 rows: row l / 8 + 4 ((l / 4) % 2), tile l % 4.
    s0 = s0.floorDiv(kWarpLanes) * kWarpLanes + (s0 % kWarpLanes).floorDiv(8) * 4 +
         s0.floorDiv(4) % 2 * 16 + s0 % 4;
  }
  SmallVector<OpFoldResult> offsets, sizes, strides;
  int64_t stride = tiles;
  for (auto [d, count, size] : llvm::enumerate(counts, tile)) {
    stride /= count;
    // The tile round * threads + t < tiles: its outermost index needs no
    // remainder.
    AffineExpr index = (s0 + round * threads).floorDiv(stride);
    if (d > 0)
      index = index % count;
    offsets.push_back(affine::makeComposedFoldedAffineApply(lb, loc, index * size,
                                                            ArrayRef<OpFoldResult>{t}));
    sizes.push_back(lb.getIndexAttr(size));
    strides.push_back(lb.getIndexAttr(1));
  }
  IRMapping map;
  map.map(dps.getDpsInits()[0], loop.getRegionIterArgs()[0]);
  Operation *whole = lb.clone(*op, map);
  FailureOr<TilingResult> tiled =
      cast<TilingInterface>(whole).generateResultTileValue(lb, 0, offsets, sizes);
  whole->erase();
  if (failed(tiled) || tiled->tiledValues.size() != 1)
    return failure();
  OpBuilder tb = OpBuilder::atBlockEnd(loop.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(tb, loc, tiled->tiledValues[0],
                                        loop.getRegionIterArgs()[0], offsets, sizes, strides);
  return loop;
}

/// Whether everything of the block that computes runs in its thread
/// loops: outside them only slices, reshapes, buffers, index arithmetic
/// and the reduction loop remain (each thread runs those for itself).
bool onlyThreadsCompute(scf::ForallOp block) {
  bool ok = true;
  block.getBody()->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto forall = dyn_cast<scf::ForallOp>(op); forall && isBlockLoop(forall))
      return WalkResult::skip();
    if (isa<scf::ForOp, scf::YieldOp, scf::InParallelOp, tensor::ParallelInsertSliceOp,
            tensor::ExtractSliceOp, tensor::CollapseShapeOp, tensor::ExpandShapeOp,
            bufferization::AllocTensorOp, tensor::EmptyOp, affine::AffineApplyOp,
            affine::AffineMinOp, arith::ConstantOp>(op))
      return WalkResult::advance();
    ok = false;
    return WalkResult::interrupt();
  });
  return ok;
}

} // namespace

Value cuda::roundToTf32(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type();
  Value bits = arith::BitcastOp::create(b, loc, i32, x);
  Value half = arith::ConstantIntOp::create(b, loc, i32, 1 << 12);
  Value mask = arith::ConstantIntOp::create(b, loc, i32, ~int64_t((1 << 13) - 1));
  Value rounded = arith::AndIOp::create(b, loc, arith::AddIOp::create(b, loc, bits, half), mask);
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
  return arith::SelectOp::create(b, loc, isNan, x,
                                 arith::BitcastOp::create(b, loc, x.getType(), rounded));
}

LogicalResult cuda::stageBlockThroughWorkgroupMemory(scf::ForallOp block, bool workgroupMemory,
                                                     bool tf32, bool tf32x3, bool f16Mma,
                                                     bool bf16Mma) {
  MLIRContext *ctx = block.getContext();
  // The block's output tile: the root's result, or the contraction's.
  auto yielding = block.getTerminator().getYieldingOps();
  if (!llvm::hasSingleElement(yielding))
    return failure();
  auto insert = dyn_cast<tensor::ParallelInsertSliceOp>(&*yielding.begin());
  if (!insert)
    return failure();
  auto root = insert.getSource().getDefiningOp<linalg::LinalgOp>();
  if (!root || root->getBlock() != block.getBody())
    return failure();
  linalg::LinalgOp mm;
  for (auto op : block.getBody()->getOps<linalg::LinalgOp>())
    if (op.getNumReductionLoops() != 0) {
      if (mm)
        return failure();
      mm = op;
    }
  if (!mm || mm->getNumResults() != 1 || mm.getNumDpsInits() != 1)
    return failure();
  if (root != mm &&
      (root.getNumReductionLoops() != 0 || root->getNumResults() != 1 ||
       root.getNumDpsInits() != 1 || !mm->getResult(0).hasOneUse() ||
       *mm->getResult(0).getUsers().begin() != root.getOperation() ||
       cast<ShapedType>(root->getResult(0).getType()).getShape() !=
           cast<ShapedType>(mm->getResult(0).getType()).getShape()))
    return failure();
  // The matrix units the warps use, if any: TF32 for f32 operands with
  // `tf32` (3xTF32 with `tf32x3`), f16 for f16 ones with `f16Mma`, bf16 for
  // bf16 ones with `bf16Mma` (blocks have no other plan for 16-bit
  // operands).
  auto inputsAre = [&](auto isType) {
    return llvm::all_of(mm.getDpsInputs(),
                        [&](Value v) { return isType(getElementTypeOrSelf(v.getType())); });
  };
  bool f32In = inputsAre([](Type t) { return t.isF32(); });
  StringRef mma = f16Mma && inputsAre([](Type t) { return t.isF16(); })    ? "f16"
                  : bf16Mma && inputsAre([](Type t) { return t.isBF16(); }) ? "bf16"
                  : f32In && tf32x3                                         ? "3xtf32"
                  : f32In && tf32                                           ? "tf32"
                                                                            : "";
  if (!f32In && mma.empty())
    return failure();
  if (!mma.empty() && (!linalg::isaContractionOpInterface(mm) || mm.getNumDpsInputs() != 2))
    return failure();
  auto accType = cast<RankedTensorType>(mm->getResult(0).getType());
  if (!accType.hasStaticShape() || !accType.getElementType().isF32())
    return failure();
  // Each thread's tile: 4 x 4 of the two dimensions of the block's rows
  // and columns.
  SmallVector<int64_t> accTile;
  int64_t blockDims = 0;
  for (int64_t size : accType.getShape()) {
    if (size != 1 && size % kThreadTile != 0)
      return failure();
    blockDims += size != 1;
    accTile.push_back(size == 1 ? 1 : kThreadTile);
  }
  if (blockDims != 2 || accType.getNumElements() != kBlockOutputs)
    return failure();
  // On tensor cores, each warp's tile: kWarpTileRows x kWarpTileCols.
  SmallVector<int64_t> warpTile;
  bool rowsSeen = false;
  for (int64_t size : accType.getShape()) {
    int64_t t = 1;
    if (size != 1) {
      t = rowsSeen ? kWarpTileCols : kWarpTileRows;
      rowsSeen = true;
    }
    if (!mma.empty() && size % t != 0)
      return failure();
    warpTile.push_back(t);
  }
  SmallVector<unsigned> reductions;
  mm.getReductionDims(reductions);
  SmallVector<int64_t> ranges = mm.getStaticLoopRanges();
  if (reductions.size() != 1 || ShapedType::isDynamicShape(ranges))
    return failure();
  unsigned k = reductions[0];
  bool gathered = llvm::any_of(mm.getDpsInputs(),
                               [&](Value in) { return (bool)stagedProducer(in, block); });
  if (ranges[k] % kBlockReductionStep != 0 || ranges[k] < kBlockReductionStep ||
      (ranges[k] < 2 * kBlockReductionStep && !gathered))
    return failure();
  for (Value in : mm.getDpsInputs())
    if (!readableFromOutside(in, block) && !stagedProducer(in, block))
      return failure();

  Location loc = mm.getLoc();
  OpBuilder b(mm);
  Attribute space;
  if (workgroupMemory)
    space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto shared = [&](OpBuilder &ob, RankedTensorType type) -> Value {
    return bufferization::AllocTensorOp::create(ob, loc, type, ValueRange{}, Value(), Value(),
                                                space);
  };
  // A buffer for a step of A or B: rows `padBytes` longer (where its
  // innermost dimension is a row of a matrix), the data a slice of it. On
  // a CPU too, so that cuda-on-cpu runs the GPU's strides.
  auto sharedOperand = [&](OpBuilder &ob, RankedTensorType type, int64_t padBytes) -> Value {
    ArrayRef<int64_t> shape = type.getShape();
    int64_t bits = type.getElementTypeBitWidth();
    if (shape.empty() || shape.back() == 1 || llvm::count(shape, 1) + 2 > (int64_t)shape.size() ||
        bits % 8 != 0 || padBytes % (bits / 8) != 0)
      return shared(ob, type);
    SmallVector<int64_t> padded(shape);
    padded.back() += padBytes / (bits / 8);
    Value whole = shared(ob, RankedTensorType::get(padded, type.getElementType()));
    SmallVector<OpFoldResult> zeros(shape.size(), ob.getIndexAttr(0));
    SmallVector<OpFoldResult> ones(shape.size(), ob.getIndexAttr(1));
    SmallVector<OpFoldResult> sizes = getAsIndexOpFoldResult(ctx, shape);
    return tensor::ExtractSliceOp::create(ob, loc, type, whole, zeros, sizes, ones);
  };

  // The accumulator, initialized by the threads: the op that computes the
  // init (a fill, a broadcast bias) tiled per thread, or a copy of it.
  Value init = mm.getDpsInits()[0];
  auto initOp = init.getDefiningOp<linalg::LinalgOp>();
  bool tileInit = initOp && initOp->getBlock() == block.getBody() && init.hasOneUse() &&
                  initOp->getNumResults() == 1 && initOp.getNumDpsInits() == 1 &&
                  initOp.getNumReductionLoops() == 0 &&
                  !initOp.payloadUsesValueFromOperand(initOp.getDpsInitOperand(0));
  // Where the block's output goes when the contraction is the root.
  Value outSlice = tileInit ? initOp.getDpsInits()[0] : init;
  Value acc = mma.empty() ? shared(b, accType) : sharedOperand(b, accType, kAccRowPadBytes);
  Operation *initializer = initOp;
  if (!tileInit) {
    if (!readableFromOutside(init, block))
      return failure();
    initializer = linalg::CopyOp::create(b, loc, init, acc);
  }
  FailureOr<scf::ForallOp> initLoop = threadLoop(b, loc, initializer, acc, accTile);
  if (!tileInit)
    initializer->erase();
  if (failed(initLoop))
    return failure();

  // The reduction, kBlockReductionStep steps at a time.
  Value lower = arith::ConstantIndexOp::create(b, loc, 0);
  Value upper = arith::ConstantIndexOp::create(b, loc, ranges[k]);
  Value step = arith::ConstantIndexOp::create(b, loc, kBlockReductionStep);
  auto steps = scf::ForOp::create(b, loc, lower, upper, step, ValueRange{initLoop->getResult(0)},
                                  [](OpBuilder &fb, Location fl, Value, ValueRange iter) {
                                    scf::YieldOp::create(fb, fl, iter);
                                  });
  Operation *yield = steps.getBody()->getTerminator();
  OpBuilder fb(yield);
  IRMapping map;
  map.map(init, steps.getRegionIterArgs()[0]);
  Operation *whole = fb.clone(*mm, map);
  SmallVector<OpFoldResult> offsets, sizes;
  for (auto [d, range] : llvm::enumerate(ranges)) {
    offsets.push_back(d == k ? OpFoldResult(steps.getInductionVar()) : fb.getIndexAttr(0));
    sizes.push_back(fb.getIndexAttr(d == k ? kBlockReductionStep : range));
  }
  FailureOr<TilingResult> tiledStep =
      cast<TilingInterface>(whole).getTiledImplementation(fb, offsets, sizes);
  whole->erase();
  if (failed(tiledStep) || tiledStep->tiledOps.size() != 1)
    return failure();
  auto tiled = cast<linalg::LinalgOp>(tiledStep->tiledOps[0]);
  // A's rows and B's columns of these steps, copied into shared buffers
  // (allocated once, before the loop: on a CPU a temporary allocated in a
  // loop would take more stack at every step).
  OpBuilder ab(steps);
  fb.setInsertionPoint(tiled);
  for (OpOperand *in : tiled.getDpsInputOperands()) {
    auto type = cast<RankedTensorType>(in->get().getType());
    int64_t rounds = 1;
    int64_t elementBytes = std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
    linalg::GenericOp producer = stagedProducer(in->get(), block);
    std::optional<SmallVector<int64_t>> tile;
    if (producer)
      tile = gatherTile(type.getShape(), kThreadsPerBlock, elementBytes, rounds);
    if (!tile)
      tile = copyTile(type.getShape(), kThreadsPerBlock, elementBytes, rounds);
    if (!tile)
      return failure();
    AffineMap map = tiled.getMatchingIndexingMap(in);
    bool across = map.getNumResults() == 0 || !map.getResults().back().isFunctionOfDim(k);
    int64_t padBytes =
        mma.ends_with("tf32") && across ? kTf32AcrossRowPadBytes : kSharedRowPadBytes;
    Value buffer = sharedOperand(ab, type, padBytes);
    Operation *copy;
    if (producer) {
      // The step's part of the producer, computed into the buffer.
      auto slice = in->get().getDefiningOp<tensor::ExtractSliceOp>();
      if (!slice)
        return failure();
      FailureOr<TilingResult> part = cast<TilingInterface>(producer.getOperation())
                                         .generateResultTileValue(fb, 0, slice.getMixedOffsets(),
                                                                  slice.getMixedSizes());
      if (failed(part) || part->tiledOps.size() != 1 ||
          part->tiledValues[0].getType() != buffer.getType())
        return failure();
      auto partOp = cast<linalg::GenericOp>(part->tiledOps[0]);
      partOp.getDpsInitsMutable()[0].set(buffer);
      if (mma == "tf32") {
        Operation *yield = partOp.getBody()->getTerminator();
        OpBuilder yb(yield);
        yield->setOperand(0, roundToTf32(yb, loc, yield->getOperand(0)));
      }
      copy = partOp;
    } else {
      copy = mma == "tf32" ? tf32Copy(fb, loc, in->get(), buffer)
                           : linalg::CopyOp::create(fb, loc, in->get(), buffer).getOperation();
    }
    // One loop of the threads per round, each writing its part of the
    // buffer (disjoint: no barrier between them).
    Value staged = buffer;
    bool rowsFourApart =
        !producer && rowsFourApartPays(type.getShape(), *tile, elementBytes,
                                       padBytes == kSharedRowPadBytes &&
                                           buffer.getDefiningOp<tensor::ExtractSliceOp>());
    for (int64_t r = 0; r < rounds; ++r) {
      FailureOr<scf::ForallOp> loop =
          threadLoop(fb, loc, copy, staged, *tile, /*warps=*/false, r, rounds, rowsFourApart);
      if (failed(loop)) {
        copy->erase();
        return failure();
      }
      staged = loop->getResult(0);
    }
    copy->erase();
    in->set(staged);
  }
  FailureOr<scf::ForallOp> compute = threadLoop(fb, loc, tiled, steps.getRegionIterArgs()[0],
                                                mma.empty() ? accTile : warpTile,
                                                /*warps=*/!mma.empty());
  tiled->erase();
  if (failed(compute))
    return failure();
  if (!mma.empty())
    compute->getBody()->walk([&](linalg::LinalgOp op) {
      if (op.getNumReductionLoops() != 0)
        op->setAttr(cpu::kMmaAttr, StringAttr::get(ctx, mma));
    });
  yield->setOperand(0, compute->getResult(0));

  // The output: the epilogue per thread, or the accumulator copied out.
  mm->getResult(0).replaceAllUsesWith(steps.getResult(0));
  FailureOr<scf::ForallOp> out;
  if (root != mm) {
    // After the epilogue's other operands (sliced after the contraction).
    b.setInsertionPoint(root);
    out = threadLoop(b, loc, root, root.getDpsInits()[0], accTile);
    if (failed(out))
      return failure();
    root->getResult(0).replaceAllUsesWith(out->getResult(0));
    root->erase();
  } else {
    b.setInsertionPointAfter(steps);
    auto copy = linalg::CopyOp::create(b, loc, steps.getResult(0), outSlice);
    out = threadLoop(b, loc, copy, outSlice, accTile);
    copy->erase();
    if (failed(out))
      return failure();
    insert.getSourceMutable().assign(out->getResult(0));
  }
  mm->erase();
  if (tileInit)
    initOp->erase();
  // Slices and producers nothing reads any more.
  IRRewriter rewriter(ctx);
  (void)runRegionDCE(rewriter, block->getRegions());
  return success(onlyThreadsCompute(block));
}
