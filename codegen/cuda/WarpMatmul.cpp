//===- WarpMatmul.cpp - a block's warp matmuls and its loop of steps -----===//
//
// weft-cuda-distribute-lanes' work on a block dispatch once its thread and
// warp loops run per thread: a warp's matmul marked `weft.mma` becomes
// tensor-core operations (WMMA for f16; ldmatrix and mma.sync for bf16 and
// TF32, whose 3xTF32 form splits each f32 operand in two) whose sums stay in registers through the block's loop of reduction
// steps, and the FMA threads' accumulator tiles do too (StepPipeline.cpp
// then pipelines the loop).
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

#include <functional>

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

Value cuda::viewedBuffer(Value v) {
  for (int depth = 0; depth < 64; ++depth) {
    auto view = v.getDefiningOp<ViewLikeOpInterface>();
    if (!view)
      break;
    v = view.getViewSource();
  }
  return v;
}

namespace {

/// An operand of a warp's matmul as a 2-D buffer: `view` (unit dimensions
/// dropped), whose outer dimension is loop `outer` of the matmul and inner
/// (contiguous) dimension loop `inner`, rows `lead` elements apart.
struct MatrixView {
  Value view;
  unsigned outer = 0, inner = 0;
  int64_t lead = 0;
};

/// `operand` of `op` as a MatrixView, when its buffer has static strides,
/// a contiguous innermost dimension and exactly two dimensions longer than
/// one, indexed by two loops of `op`.
FailureOr<MatrixView> matrixView(OpBuilder &b, linalg::LinalgOp op, OpOperand *operand) {
  auto type = dyn_cast<MemRefType>(operand->get().getType());
  AffineMap map = op.getMatchingIndexingMap(operand);
  if (!type || !type.hasStaticShape())
    return failure();
  SmallVector<int64_t> strides, shape;
  SmallVector<unsigned> loops;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return failure();
  int64_t lead = 0, innerStride = 0;
  for (auto [d, size] : llvm::enumerate(type.getShape())) {
    if (size == 1)
      continue;
    auto dim = dyn_cast<AffineDimExpr>(map.getResult(d));
    if (!dim)
      return failure();
    loops.push_back(dim.getPosition());
    shape.push_back(size);
    lead = innerStride;
    innerStride = strides[d];
  }
  if (loops.size() != 2 || innerStride != 1 || ShapedType::isDynamic(lead) || lead < 1)
    return failure();
  MatrixView v;
  v.view = memref::createCanonicalRankReducingSubViewOp(b, op.getLoc(), operand->get(), shape);
  v.outer = loops[0];
  v.inner = loops[1];
  v.lead = lead;
  return v;
}

/// A warp's matmul on tensor cores in three parts, each emitted at a
/// builder's insertion point: `load` reads its f32 sums (the output's
/// fragments, each lane its part), `add` adds the products of A and B
/// along the whole reduction to them, `store` writes them back.
struct WarpMatmul {
  std::function<SmallVector<Value>(OpBuilder &)> load;
  std::function<SmallVector<Value>(OpBuilder &, ValueRange)> add;
  std::function<void(OpBuilder &, ValueRange)> store;
};

/// `e` (of the lane `lane`) + `plus`.
Value laneExpr(OpBuilder &b, Location loc, Value lane, AffineExpr e, int64_t plus) {
  return affine::AffineApplyOp::create(b, loc, AffineMap::get(1, 0, e + plus), ValueRange{lane});
}

Value laneId(OpBuilder &b, Location loc) {
  return gpu::LaneIdOp::create(b, loc, b.getIndexAttr(kWarpLanes));
}

/// Loads and stores of a warp's f32 sums in the mma.sync m16n8 layout
/// (bf16 m16n8k16, TF32 m16n8k8) of C (`c`: rows x cols, in 16 x 8 tiles,
/// row-major tiles), 4 f32 per tile and lane: with g = lane / 4 and
/// t = lane % 4, (g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1), each
/// lane loading and storing its own pairs.
void mmaSyncSums(WarpMatmul &parts, Location loc, const MatrixView &c, int64_t rows,
                 int64_t cols) {
  AffineExpr l = getAffineDimExpr(0, loc.getContext());
  auto cPair = [=](OpBuilder &b, Value lane, int64_t row, int64_t col, int64_t half) {
    return SmallVector<Value>{laneExpr(b, loc, lane, l.floorDiv(4), row + 8 * half),
                              laneExpr(b, loc, lane, l % 4 * 2, col)};
  };
  parts.load = [=](OpBuilder &b) {
    Value lane = laneId(b, loc);
    auto pairType = VectorType::get({2}, b.getF32Type());
    SmallVector<Value> sums;
    for (int64_t i = 0; i < rows; i += 16)
      for (int64_t j = 0; j < cols; j += 8)
        for (int64_t half = 0; half < 2; ++half) {
          Value pair = vector::LoadOp::create(b, loc, pairType, c.view, cPair(b, lane, i, j, half));
          for (int64_t e = 0; e < 2; ++e)
            sums.push_back(vector::ExtractOp::create(b, loc, pair, e));
        }
    return sums;
  };
  parts.store = [=](OpBuilder &b, ValueRange sums) {
    Value lane = laneId(b, loc);
    auto pairType = VectorType::get({2}, b.getF32Type());
    int64_t next = 0;
    for (int64_t i = 0; i < rows; i += 16)
      for (int64_t j = 0; j < cols; j += 8)
        for (int64_t half = 0; half < 2; ++half, next += 2) {
          Value pair = vector::FromElementsOp::create(b, loc, pairType,
                                                      ValueRange{sums[next], sums[next + 1]});
          vector::StoreOp::create(b, loc, pair, c.view, cPair(b, lane, i, j, half));
        }
  };
}

/// Adds the mma.sync products of shape `shape` (m16n8kK, `types` of A and
/// B) to the 4 sums per lane of every 16 x 8 tile of a warp's tile (`sums`,
/// row-major tiles, `colTiles` per row): A's registers per 16-row tile in
/// `as`, B's per pair of 8-column tiles in `bs` (the first tile's half of
/// the registers, then the second's).
void addMmaSyncProducts(OpBuilder &b, Location loc, ArrayRef<SmallVector<Value, 4>> as,
                        ArrayRef<SmallVector<Value, 4>> bs, int64_t colTiles,
                        MutableArrayRef<Value> sums, std::array<int64_t, 3> shape,
                        NVVM::MMATypes type) {
  Type f32 = b.getF32Type();
  auto sumsType = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  std::array<NVVM::MMATypes, 2> types = {type, type};
  std::array<NVVM::MMALayout, 2> layouts = {NVVM::MMALayout::row, NVVM::MMALayout::col};
  for (auto [ti, af] : llvm::enumerate(as))
    for (int64_t tj = 0; tj < colTiles; ++tj) {
      ArrayRef<Value> pair(bs[tj / 2]);
      ArrayRef<Value> bf = pair.slice(tj % 2 * pair.size() / 2, pair.size() / 2);
      MutableArrayRef<Value> tile = sums.slice((ti * colTiles + tj) * 4, 4);
      Value d = NVVM::MmaOp::create(b, loc, sumsType, af, bf, tile,
                                    {(int)shape[0], (int)shape[1], (int)shape[2]}, std::nullopt,
                                    std::nullopt, types, layouts);
      for (int64_t e = 0; e < 4; ++e)
        tile[e] = LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{e});
    }
}

/// The 32-bit registers of an `ldmatrix.x4` of `v` (workgroup memory) at
/// the rows and columns that `row` and `col` give each lane (lane i names
/// row i % 8 of 8 x 8 piece i / 8 of 16-bit elements: 8 of bf16, 4 of
/// f32), transposed or not: register j holds piece j's element
/// (lane / 4, lane % 4) in 32-bit words (a pair of bf16, or one f32).
SmallVector<Value, 4> ldmatrixRegisters(OpBuilder &b, Location loc, const MatrixView &v,
                                        Value row, Value col, bool transpose) {
  Type element = cast<MemRefType>(v.view.getType()).getElementType();
  int64_t perWord = 32 / element.getIntOrFloatBitWidth();
  Type i32 = b.getI32Type();
  Value loaded = nvgpu::LdMatrixOp::create(b, loc, VectorType::get({4, perWord}, element), v.view,
                                           ValueRange{row, col}, transpose, 4);
  SmallVector<Value, 4> regs;
  for (int64_t r = 0; r < 4; ++r) {
    Value word = vector::ExtractOp::create(b, loc, loaded, r);
    Value bits = vector::BitCastOp::create(b, loc, VectorType::get({1}, i32), word);
    regs.push_back(vector::ExtractOp::create(b, loc, bits, 0));
  }
  return regs;
}

/// A warp's m16n8k16 bf16 products with f32 sums (`nvvm.mma.sync`) of A
/// (`a`: rows x depth) and B (`bm`: depth x cols) into C (`c`: rows x cols,
/// its rows `c.outer`, reduction loop `k`), A and B in workgroup memory
/// with rows of whole 16-byte groups. The PTX ISA's fragments, with
/// g = lane / 4 and t = lane % 4: A's four 32-bit registers hold the bf16
/// pairs (g, 2t), (g + 8, 2t), (g, 2t + 8), (g + 8, 2t + 8) of its
/// 16 x 16 tile; B's two (k = 2t, n = g) and (k = 2t + 8, n = g) of its
/// 16 x 8 tile (each pair along k); C's as mmaSyncSums. `ldmatrix.x4`
/// loads four such 8 x 8 pieces (each lane naming one row of one piece),
/// `.trans` where the pairs run across the stored rows.
WarpMatmul bf16WarpMatmul(Location loc, const MatrixView &a, const MatrixView &bm,
                          const MatrixView &c, unsigned k, int64_t rows, int64_t cols,
                          int64_t depth) {
  AffineExpr l = getAffineDimExpr(0, loc.getContext());
  WarpMatmul parts;
  mmaSyncSums(parts, loc, c, rows, cols);
  parts.add = [=](OpBuilder &b, ValueRange initial) {
    Value lane = laneId(b, loc);
    // The four registers of the 16 x 16 elements of `v` from (outer,
    // inner) on, as four 8 x 8 pieces taken down `v`'s rows first (pieces
    // (0, 0), (8, 0), (0, 8), (8, 8)) or along them first ((0, 0), (0, 8),
    // (8, 0), (8, 8)), transposed or not.
    auto pieces = [&](const MatrixView &v, int64_t outer, int64_t inner, bool downFirst,
                      bool transpose) {
      Value row = downFirst ? laneExpr(b, loc, lane, l % 16, outer)
                            : laneExpr(b, loc, lane, l.floorDiv(16) * 8 + l % 8, outer);
      Value col = downFirst ? laneExpr(b, loc, lane, l.floorDiv(16) * 8, inner)
                            : laneExpr(b, loc, lane, l.floorDiv(8) % 2 * 8, inner);
      return ldmatrixRegisters(b, loc, v, row, col, transpose);
    };
    bool aTransposed = a.inner != k, bTransposed = bm.inner == k;
    SmallVector<Value> sums(initial);
    for (int64_t kk = 0; kk < depth; kk += 16) {
      SmallVector<SmallVector<Value, 4>> as, bs;
      for (int64_t i = 0; i < rows; i += 16)
        as.push_back(aTransposed ? pieces(a, kk, i, /*downFirst=*/false, /*transpose=*/true)
                                 : pieces(a, i, kk, /*downFirst=*/true, /*transpose=*/false));
      // Two 16 x 8 tiles of B per load: registers 0, 1 the first's.
      for (int64_t j = 0; j < cols; j += 16)
        bs.push_back(bTransposed ? pieces(bm, j, kk, /*downFirst=*/false, /*transpose=*/false)
                                 : pieces(bm, kk, j, /*downFirst=*/true, /*transpose=*/true));
      addMmaSyncProducts(b, loc, as, bs, cols / 8, sums, {16, 8, 16}, NVVM::MMATypes::bf16);
    }
    return sums;
  };
  return parts;
}

/// A warp's m16n8k8 TF32 products with f32 sums (`nvvm.mma.sync`) of f32
/// A (`a`: rows x depth) and B (`bm`: depth x cols) into C (`c`), A and B
/// in workgroup memory. The PTX ISA's fragments, with g = lane / 4 and
/// t = lane % 4: A's four registers hold (g, t), (g + 8, t), (g, t + 4),
/// (g + 8, t + 4) of its 16 x 8 tile; B's two (k = t, n = g) and
/// (k = t + 4, n = g) of its 8 x 8 tile; C's as mmaSyncSums. An operand
/// stored with the reduction contiguous (rows a multiple of 4 elements
/// apart) is loaded by `ldmatrix.x4`, whose 8 x 8 pieces of 16-bit
/// elements are 8 x 4 f32 laid out as these fragments want (A: a 16 x 8
/// tile; B: two 8 x 8 tiles), else each lane loads its elements (the
/// buffer's padding keeps them on distinct banks).
///
/// With `split` (3xTF32), the operands are plain f32: each register x is
/// split into big = tf32(x) and small = tf32(x - big) (`cvt.rna`), and
/// each tile adds small(A) big(B), big(A) small(B) and big(A) big(B), in
/// that order: the product of x and y to about f32's precision (what is
/// lost is small(x) small(y) and the roundings of the small parts), on
/// tensor cores at three times the products. Without it, A and B were
/// rounded to TF32 when staged and their registers are used as they are.
WarpMatmul tf32WarpMatmul(Location loc, const MatrixView &a, const MatrixView &bm,
                          const MatrixView &c, unsigned k, int64_t rows, int64_t cols,
                          int64_t depth, bool split) {
  AffineExpr l = getAffineDimExpr(0, loc.getContext());
  WarpMatmul parts;
  mmaSyncSums(parts, loc, c, rows, cols);
  parts.add = [=](OpBuilder &b, ValueRange initial) {
    Value lane = laneId(b, loc);
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    // Element (row + rowPlus, col + colPlus) of `v` as a 32-bit register,
    // row and col of the lane; `v` stored with its rows and columns the
    // other way round where `transposed`.
    auto element = [&](const MatrixView &v, bool transposed, AffineExpr row, int64_t rowPlus,
                       AffineExpr col, int64_t colPlus) -> Value {
      Value r = laneExpr(b, loc, lane, row, rowPlus), cl = laneExpr(b, loc, lane, col, colPlus);
      Value x = memref::LoadOp::create(b, loc, v.view,
                                       transposed ? ValueRange{cl, r} : ValueRange{r, cl});
      return arith::BitcastOp::create(b, loc, i32, x);
    };
    AffineExpr g = l.floorDiv(4), t = l % 4;
    // A's 16 x 8 tile from row i, step kk: (g, t), (g + 8, t), (g, t + 4),
    // (g + 8, t + 4).
    auto aFragment = [&](int64_t i, int64_t kk) -> SmallVector<Value, 4> {
      if (a.inner == k && a.lead % 4 == 0)
        return ldmatrixRegisters(b, loc, a, laneExpr(b, loc, lane, l % 16, i),
                                 laneExpr(b, loc, lane, l.floorDiv(16) * 4, kk),
                                 /*transpose=*/false);
      SmallVector<Value, 4> regs;
      for (int64_t r = 0; r < 4; ++r)
        regs.push_back(element(a, a.inner != k, g, i + 8 * (r % 2), t, kk + 4 * (r / 2)));
      return regs;
    };
    // B's two 8 x 8 tiles from column j, step kk: (k = t, n = g) and
    // (k = t + 4, n = g) of each.
    auto bFragments = [&](int64_t j, int64_t kk) -> SmallVector<Value, 4> {
      if (bm.inner == k && bm.lead % 4 == 0)
        return ldmatrixRegisters(b, loc, bm, laneExpr(b, loc, lane, l.floorDiv(16) * 8 + l % 8, j),
                                 laneExpr(b, loc, lane, l.floorDiv(8) % 2 * 4, kk),
                                 /*transpose=*/false);
      SmallVector<Value, 4> regs;
      for (int64_t tile = 0; tile < 2; ++tile)
        for (int64_t r = 0; r < 2; ++r)
          regs.push_back(element(bm, bm.inner == k, t, kk + 4 * r, g, j + 8 * tile));
      return regs;
    };
    // big(x) and small(x) of every register.
    auto splitAll = [&](ArrayRef<SmallVector<Value, 4>> fragments,
                        SmallVector<SmallVector<Value, 4>> &big,
                        SmallVector<SmallVector<Value, 4>> &small) {
      for (const SmallVector<Value, 4> &regs : fragments) {
        big.emplace_back();
        small.emplace_back();
        for (Value reg : regs) {
          Value x = arith::BitcastOp::create(b, loc, f32, reg);
          Value hi = NVVM::ConvertFloatToTF32Op::create(b, loc, i32, x, NVVM::FPRoundingMode::RNA,
                                                        NVVM::SaturationMode::NONE, false);
          Value rest =
              arith::SubFOp::create(b, loc, x, arith::BitcastOp::create(b, loc, f32, hi));
          big.back().push_back(hi);
          small.back().push_back(NVVM::ConvertFloatToTF32Op::create(
              b, loc, i32, rest, NVVM::FPRoundingMode::RNA, NVVM::SaturationMode::NONE, false));
        }
      }
    };
    SmallVector<Value> sums(initial);
    for (int64_t kk = 0; kk < depth; kk += 8) {
      SmallVector<SmallVector<Value, 4>> as, bs;
      for (int64_t i = 0; i < rows; i += 16)
        as.push_back(aFragment(i, kk));
      for (int64_t j = 0; j < cols; j += 16)
        bs.push_back(bFragments(j, kk));
      if (!split) {
        addMmaSyncProducts(b, loc, as, bs, cols / 8, sums, {16, 8, 8}, NVVM::MMATypes::tf32);
        continue;
      }
      SmallVector<SmallVector<Value, 4>> aBig, aSmall, bBig, bSmall;
      splitAll(as, aBig, aSmall);
      splitAll(bs, bBig, bSmall);
      addMmaSyncProducts(b, loc, aSmall, bBig, cols / 8, sums, {16, 8, 8}, NVVM::MMATypes::tf32);
      addMmaSyncProducts(b, loc, aBig, bSmall, cols / 8, sums, {16, 8, 8}, NVVM::MMATypes::tf32);
      addMmaSyncProducts(b, loc, aBig, bBig, cols / 8, sums, {16, 8, 8}, NVVM::MMATypes::tf32);
    }
    return sums;
  };
  return parts;
}

/// A warp's f16 WMMA products (`gpu.subgroup_mma_*`, m16n16k16
/// fragments, f32 sums) of A (`a`) and B (`bm`) into C (`c`); A or B
/// stored with its other dimension contiguous loads transposed
/// (column-major fragments). The sums are one C fragment per 16 x 16 tile,
/// row-major tiles.
WarpMatmul wmmaWarpMatmul(Location loc, const MatrixView &a, const MatrixView &bm,
                          const MatrixView &c, unsigned k, int64_t rows, int64_t cols,
                          int64_t depth) {
  MLIRContext *ctx = loc.getContext();
  bool aCols = a.inner != k, bCols = bm.inner == k;
  int64_t step = kMmaHalfReduction;
  Type f32 = Float32Type::get(ctx);
  Type in = Float16Type::get(ctx);
  auto fragment = [=](int64_t r, int64_t cl, StringRef kind) {
    return gpu::MMAMatrixType::get({r, cl}, kind == "COp" ? f32 : in, kind);
  };
  // The indices of element (row, col) of a matrix stored transposed or not.
  auto at = [loc](OpBuilder &b, bool transposed, int64_t row, int64_t col) {
    Value r = arith::ConstantIndexOp::create(b, loc, row);
    Value cl = arith::ConstantIndexOp::create(b, loc, col);
    return transposed ? SmallVector<Value>{cl, r} : SmallVector<Value>{r, cl};
  };
  auto lead = [](OpBuilder &b, const MatrixView &v) { return b.getIndexAttr(v.lead); };
  UnitAttr aTranspose = aCols ? UnitAttr::get(ctx) : UnitAttr();
  UnitAttr bTranspose = bCols ? UnitAttr::get(ctx) : UnitAttr();
  WarpMatmul parts;
  parts.load = [=](OpBuilder &b) {
    SmallVector<Value> sums;
    for (int64_t i = 0; i < rows; i += kMmaRows)
      for (int64_t j = 0; j < cols; j += kMmaCols)
        sums.push_back(gpu::SubgroupMmaLoadMatrixOp::create(
            b, loc, fragment(kMmaRows, kMmaCols, "COp"), c.view, at(b, false, i, j), lead(b, c),
            UnitAttr()));
    return sums;
  };
  parts.store = [=](OpBuilder &b, ValueRange sums) {
    for (int64_t i = 0, f = 0; i < rows; i += kMmaRows)
      for (int64_t j = 0; j < cols; j += kMmaCols, ++f)
        gpu::SubgroupMmaStoreMatrixOp::create(b, loc, sums[f], c.view, at(b, false, i, j),
                                              lead(b, c), UnitAttr());
  };
  parts.add = [=](OpBuilder &b, ValueRange initial) {
    SmallVector<Value> sums(initial);
    int64_t colFragments = cols / kMmaCols;
    for (int64_t kk = 0; kk < depth; kk += step) {
      SmallVector<Value> as, bs;
      for (int64_t i = 0; i < rows; i += kMmaRows)
        as.push_back(gpu::SubgroupMmaLoadMatrixOp::create(
            b, loc, fragment(kMmaRows, step, "AOp"), a.view, at(b, aCols, i, kk), lead(b, a),
            aTranspose));
      for (int64_t j = 0; j < cols; j += kMmaCols)
        bs.push_back(gpu::SubgroupMmaLoadMatrixOp::create(
            b, loc, fragment(step, kMmaCols, "BOp"), bm.view, at(b, bCols, kk, j), lead(b, bm),
            bTranspose));
      for (auto [i, af] : llvm::enumerate(as))
        for (auto [j, bf] : llvm::enumerate(bs)) {
          Value &sum = sums[i * colFragments + j];
          sum = gpu::SubgroupMmaComputeOp::create(b, loc, sum.getType(), af, bf, sum, aTranspose,
                                                  bTranspose);
        }
    }
    return sums;
  };
  return parts;
}

/// Whether an op in `body` (nested ones included) may access what
/// cuda::mayAccess says.
bool mayAccessIn(Block *body, function_ref<bool(Operation *)> skip,
               function_ref<bool(Value)> touches, bool writesOnly) {
  return llvm::any_of(*body, [&](Operation &op) {
    return cuda::mayAccess(&op, skip, touches, writesOnly);
  });
}

/// The loop of reduction steps whose body holds the warp's matmul `op`,
/// where its sums can stay in registers across the steps: `op` is directly
/// in the loop's body, its output (once the loop's invariant code is
/// hoisted) is defined outside the loop, and nothing else in the loop
/// touches the buffer it views. None otherwise.
scf::ForOp stepsCarryingSums(linalg::LinalgOp op) {
  auto steps = dyn_cast<scf::ForOp>(op->getParentOp());
  if (!steps)
    return nullptr;
  moveLoopInvariantCode(cast<LoopLikeOpInterface>(steps.getOperation()));
  Value out = op.getDpsInits()[0];
  if (steps->isAncestor(out.getParentRegion()->getParentOp()))
    return nullptr;
  Value buffer = viewedBuffer(out);
  bool touched = mayAccessIn(
      steps.getBody(), [&](Operation *inner) { return inner == op.getOperation(); },
      [&](Value v) { return !v || viewedBuffer(v) == buffer; }, /*writesOnly=*/false);
  return touched ? nullptr : steps;
}

} // namespace

LogicalResult cuda::lowerWarpMatmul(linalg::LinalgOp op) {
  auto mark = op->getAttrOfType<StringAttr>(cpu::kMmaAttr);
  auto fail = [&](const Twine &why) {
    return op.emitError("internal error: cannot run this warp's matmul on tensor cores: ") << why;
  };
  if (!mark || !llvm::is_contained({"tf32", "3xtf32", "f16", "bf16"}, mark.getValue()))
    return fail("only tf32, 3xtf32, f16 and bf16 are supported");
  bool bf16 = mark.getValue() == "bf16";
  bool split = mark.getValue() == "3xtf32";
  bool half = bf16 || mark.getValue() == "f16";
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op))
    return fail("not a bufferized multiply-accumulate of two inputs");
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<unsigned> reductions;
  op.getReductionDims(reductions);
  if (reductions.size() != 1 || ShapedType::isDynamicShape(ranges))
    return fail("not one static reduction");
  for (OpOperand &operand : op->getOpOperands()) {
    Type element = getElementTypeOrSelf(operand.get().getType());
    bool input = op.isDpsInput(&operand);
    if (!(!input || !half ? element.isF32() : bf16 ? element.isBF16() : element.isF16()))
      return fail(bf16 ? "not bf16 inputs and f32 sums"
                       : half ? "not f16 inputs and f32 sums" : "not f32");
  }
  scf::ForOp steps = stepsCarryingSums(op);
  OpBuilder b(op);
  OpBuilder before(op);
  if (steps)
    before.setInsertionPoint(steps);
  Location loc = op.getLoc();
  FailureOr<MatrixView> a = matrixView(b, op, op.getDpsInputOperand(0));
  FailureOr<MatrixView> bm = matrixView(b, op, op.getDpsInputOperand(1));
  FailureOr<MatrixView> c = matrixView(before, op, op.getDpsInitOperand(0));
  if (failed(a) || failed(bm) || failed(c))
    return fail("an operand is not a matrix with a contiguous dimension");
  unsigned k = reductions[0], m = c->outer, n = c->inner;
  // A holds the (m, k) loops and B the (k, n) ones, in either order.
  auto holds = [](const MatrixView &v, unsigned x, unsigned y) {
    return (v.outer == x && v.inner == y) || (v.outer == y && v.inner == x);
  };
  if (holds(*a, k, n) && holds(*bm, m, k))
    std::swap(a, bm);
  if (!holds(*a, m, k) || !holds(*bm, k, n))
    return fail("the inputs do not index the output's rows and columns");
  for (auto [d, range] : llvm::enumerate(ranges))
    if (d != m && d != n && d != k && range != 1)
      return fail("a batch loop of more than one iteration");
  int64_t rows = ranges[m], cols = ranges[n], depth = ranges[k];
  int64_t step = half ? kMmaHalfReduction : kMmaReduction;
  if (rows % kMmaRows != 0 || cols % kMmaCols != 0 || depth % step != 0)
    return fail(half ? "the shape is not made of 16 x 16 x 16 fragments"
                     : "the shape is not made of 16 x 16 x 8 fragments");
  // ldmatrix reads workgroup memory, each lane one 16-byte row of 8
  // elements: rows a multiple of 8 elements apart (the warps' tiles and the
  // fragments start at multiples of 16 rows and columns).
  if (bf16)
    for (const MatrixView *v : {&*a, &*bm})
      if (!isWorkgroupMemory(v->view.getType()) || v->lead % 8 != 0)
        return fail("bf16 operands must be in workgroup memory, rows a multiple of 8 apart");
  WarpMatmul parts = bf16    ? bf16WarpMatmul(loc, *a, *bm, *c, k, rows, cols, depth)
                     : half ? wmmaWarpMatmul(loc, *a, *bm, *c, k, rows, cols, depth)
                            : tf32WarpMatmul(loc, *a, *bm, *c, k, rows, cols, depth, split);
  if (!steps) {
    parts.store(b, parts.add(b, parts.load(b)));
    op->erase();
    return success();
  }
  gpu::BarrierOp::create(before, loc);
  SmallVector<Value> initial = parts.load(before);
  IRRewriter rewriter(op.getContext());
  FailureOr<LoopLikeOpInterface> carried = cast<LoopLikeOpInterface>(steps.getOperation())
      .replaceWithAdditionalYields(rewriter, initial, /*replaceInitOperandUsesInLoop=*/false,
                                   [&](OpBuilder &, Location, ArrayRef<BlockArgument> sums) {
                                     OpBuilder inner(op);
                                     return parts.add(inner, ValueRange(sums));
                                   });
  if (failed(carried))
    return fail("cannot carry the sums through the reduction steps");
  OpBuilder after(op.getContext());
  after.setInsertionPointAfter(*carried);
  parts.store(after, (*carried)->getResults().take_back(initial.size()));
  op->erase();
  return success();
}

LogicalResult cuda::emulateTf32x3(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op))
    return op.emitError("internal error: a 3xTF32 matmul must be a bufferized "
                        "multiply-accumulate of two inputs");
  OpBuilder b(op);
  auto generic = linalg::GenericOp::create(
      b, op.getLoc(), TypeRange{}, op.getDpsInputs(), op.getDpsInits()[0],
      op.getIndexingMapsArray(), op.getIteratorTypesArray(),
      [](OpBuilder &gb, Location gl, ValueRange args) {
        auto split = [&](Value x) {
          Value big = roundToTf32(gb, gl, x);
          return std::pair(big, roundToTf32(gb, gl, arith::SubFOp::create(gb, gl, x, big)));
        };
        auto [xBig, xSmall] = split(args[0]);
        auto [yBig, ySmall] = split(args[1]);
        Value sum = args[2];
        for (auto [x, y] : {std::pair(xSmall, yBig), std::pair(xBig, ySmall),
                            std::pair(xBig, yBig)})
          sum = arith::AddFOp::create(gb, gl, sum, arith::MulFOp::create(gb, gl, x, y));
        linalg::YieldOp::create(gb, gl, sum);
      });
  (void)generic;
  op->erase();
  return success();
}

bool cuda::mayAccess(Operation *scope, function_ref<bool(Operation *)> skip,
                     function_ref<bool(Value)> touches, bool writesOnly) {
  WalkResult found = scope->walk([&](Operation *op) {
    if (skip(op) || isa<gpu::BarrierOp, NVVM::MmaOp, NVVM::ConvertFloatToTF32Op>(op))
      return WalkResult::skip();
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects)
      return op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() || isMemoryEffectFree(op) ||
                     !touches(Value())
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (const MemoryEffects::EffectInstance &e : list)
      if ((isa<MemoryEffects::Write>(e.getEffect()) ||
           (!writesOnly && isa<MemoryEffects::Read>(e.getEffect()))) &&
          touches(e.getValue()))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return found.wasInterrupted();
}

void cuda::carryTilesInRegisters(scf::ForOp &steps) {
  moveLoopInvariantCode(cast<LoopLikeOpInterface>(steps.getOperation()));
  for (bool changed = true; changed;) {
    changed = false;
    Block *body = steps.getBody();
    for (auto read : body->getOps<vector::TransferReadOp>()) {
      Value view = read.getBase();
      if (!isWorkgroupMemory(view.getType()) ||
          !llvm::all_of(read->getOperands(),
                        [&](Value v) { return steps.isDefinedOutsideOfLoop(v); }))
        continue;
      Value buffer = viewedBuffer(view);
      vector::TransferWriteOp write;
      for (auto w : body->getOps<vector::TransferWriteOp>())
        if (w.getBase() == view && llvm::equal(w.getIndices(), read.getIndices()) &&
            w.getVectorType() == read.getVectorType() &&
            w.getPermutationMap() == read.getPermutationMap() &&
            w.getInBoundsValues() == read.getInBoundsValues() && !w.getMask()) {
          write = w;
          break;
        }
      bool other = mayAccessIn(
          body, [&](Operation *op) { return op == read.getOperation() || op == write; },
          [&](Value v) { return !v || viewedBuffer(v) == buffer; }, /*writesOnly=*/false);
      if (other || !write || read.getMask() || !read->isBeforeInBlock(write))
        continue;
      IRRewriter rewriter(steps.getContext());
      read->moveBefore(steps);
      Value written = write.getVector();
      FailureOr<LoopLikeOpInterface> carried =
          cast<LoopLikeOpInterface>(steps.getOperation())
              .replaceWithAdditionalYields(
                  rewriter, ValueRange{read.getResult()}, /*replaceInitOperandUsesInLoop=*/true,
                  [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
                    return SmallVector<Value>{written};
                  });
      if (failed(carried))
        return;
      steps = cast<scf::ForOp>(carried->getOperation());
      write->moveAfter(steps);
      write.getValueToStoreMutable().assign(steps.getResults().back());
      changed = true;
      break;
    }
  }
}

void cuda::unrollGather(linalg::GenericOp gather, int64_t maxElements) {
  auto out = dyn_cast<MemRefType>(gather.getDpsInits()[0].getType());
  if (gather.getNumDpsInputs() != 0 || gather.getNumDpsInits() != 1 ||
      !gather.hasPureBufferSemantics() || !out || !out.hasStaticShape() ||
      out.getNumElements() > maxElements || out.getRank() == 0 ||
      !gather.getIndexingMapsArray()[0].isIdentity() ||
      gather.payloadUsesValueFromOperand(gather.getDpsInitOperand(0)))
    return;
  Block *payload = gather.getBody();
  for (Operation &op : payload->without_terminator()) {
    if (op.getNumRegions() != 0)
      return;
    if (auto load = dyn_cast<memref::LoadOp>(op);
        load && viewedBuffer(load.getMemRef()) != viewedBuffer(gather.getDpsInits()[0]))
      continue;
    if (!isMemoryEffectFree(&op))
      return;
  }
  OpBuilder b(gather);
  Location loc = gather.getLoc();
  SmallVector<Value> elements;
  SmallVector<int64_t> strides = computeStrides(out.getShape());
  for (int64_t e = 0; e < out.getNumElements(); ++e) {
    SmallVector<int64_t> position = delinearize(e, strides);
    IRMapping map;
    for (Operation &op : payload->without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(op)) {
        map.map(index.getResult(), arith::ConstantIndexOp::create(b, loc, position[index.getDim()]));
        continue;
      }
      b.clone(op, map);
    }
    elements.push_back(map.lookupOrDefault(payload->getTerminator()->getOperand(0)));
  }
  auto vectorType = VectorType::get(out.getShape(), out.getElementType());
  Value vector = vector::FromElementsOp::create(b, loc, vectorType, elements);
  SmallVector<Value> zeros(out.getRank(), arith::ConstantIndexOp::create(b, loc, 0));
  SmallVector<bool> inBounds(out.getRank(), true);
  vector::TransferWriteOp::create(b, loc, vector, gather.getDpsInits()[0], zeros,
                                  ArrayRef<bool>(inBounds));
  gather->erase();
}
