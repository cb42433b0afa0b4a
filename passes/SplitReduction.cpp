//===- SplitReduction.cpp - weft-split-reduction --------------------------===//
//
// A GPU runs a matmul's output in blocks of 64 x 64 (StageBlocks.cpp), one
// block per multiprocessor at a time. A matmul of few such blocks and a
// long reduction (BERT-base at 128 tokens: its output projection and
// second FF layer, 128 x 768 outputs = 24 blocks, of 768 and 3072
// products each) leaves most of an H100's 132 multiprocessors idle while
// those 24 walk their reductions. This pass splits the reduction of such
// a matmul in S parts that run side by side and adds them up after:
//
//   C[m, n] = sum_k A[m, k] B[k, n]
//   ->  P[s, m, n] = sum_j A[m, s * K/S + j] B[s * K/S + j, n]   (S x the blocks)
//       C[m, n] = sum_s P[s, m, n]
//
// as weft ops: A [d.., K] viewed as [M, S, K/S] and transposed to
// [S, M, K/S], B viewed as [S, K/S, N] (a constant B folds), a batched
// matmul, and a sum over the leading axis of its result viewed as
// [S, d.., N] (the matmul's own result type). The transpose and the sum carry
// kSplitReductionAttr: weft-form-dispatches puts the transpose into the
// matmul's dispatch (the blocks gather A's parts straight into shared
// memory, the transposed A is never built) and lets the sum head the
// matmul's former epilogue (bias, activation, residual), so the split costs
// one more kernel and S x M x N floats of partial sums written and read
// once.
//
// An f32 NCHW convolution is split the same way over its input channels
// (SplitConvReduction below): ResNet-50 at batch 1 runs its stage-4 3x3
// convolutions (256 x 196 outputs: 16 blocks of 2304 products) in 8 parts.
// A matmul or convolution that would otherwise run a warp per output, its
// lanes reading B's column or the input channels a sector or more apart,
// splits too, into parts that run one output per thread (threadParts).
//
// Only f32 matmuls whose parts still take shared-memory blocks (4 x 4
// thread tiles: M and N multiples of 4, S x M x N >= 262144 outputs; parts
// of whole 32-step reduction blocks, at least 4 of them), and only where
// the matmul has fewer than `maxBlocks` blocks; S is the largest of 8, 4
// and 2 that keeps S x blocks within `targetBlocks`. These are estimates
// for an H100 (132 multiprocessors), not measured on a GPU.
//
//===----------------------------------------------------------------------===//
#include "passes/GpuBlocks.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace weft {
#define GEN_PASS_DEF_SPLITREDUCTION
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;

namespace {

/// The fewest reduction steps a part keeps.
constexpr int64_t kMinStepsPerPart = 4;
/// Floats in a 32-byte sector of global memory.
constexpr int64_t kSectorFloats = 8;
/// The fewest products a part computed one output per thread keeps.
constexpr int64_t kMinThreadPartProducts = 64;

/// The parts S for a reduction that would run one output per warp, its
/// lanes splitting it (fewer than kGpuMaxWarpOutputs `outputs` of at least
/// kGpuMinWarpReduction products each; weft-cuda-tile-threads), along a
/// loop of `length` elements that neighbouring lanes read `stride` floats
/// apart in one operand (`window` products per element of the loop): from
/// a sector's width apart, each lane's 4 bytes cost it a 32-byte sector
/// (MobileNetV2's 1x1 convolutions from 576 and 960 channels at 14 x 14
/// and 7 x 7, the lanes reading channels an image plane apart: 0.22 of the
/// fetched sectors used, weft-gpu-sim). Split in S parts, the parts run
/// one output per thread (each under kGpuMinWarpReduction products),
/// neighbouring threads reading neighbouring elements: S is the smallest
/// of 2, 4, 8 and 16 that brings the parts to kGpuMaxWarpOutputs outputs,
/// or the largest that keeps whole parts of at least
/// kMinThreadPartProducts products; 0 where none applies. Estimates, not
/// measured on a GPU.
int64_t threadParts(int64_t length, int64_t window, int64_t stride, int64_t outputs) {
  int64_t reduction = length * window;
  if (stride < kSectorFloats || outputs >= kGpuMaxWarpOutputs ||
      reduction < kGpuMinWarpReduction || length < kGpuMinLaneLength)
    return 0;
  int64_t parts = 0;
  for (int64_t s : {2, 4, 8, 16}) {
    if (length % s != 0 || reduction / s < kMinThreadPartProducts)
      break;
    parts = s;
    if (s * outputs >= kGpuMaxWarpOutputs)
      break;
  }
  return parts;
}

/// The product `lhs` [d.., K] x `rhs` [K, N] (f32, static) of result type
/// `type` as the sum of S partial products, or null where the split does
/// not apply (see the file comment).
Value splitProduct(PatternRewriter &rw, Location loc, Value lhs, Value rhs,
                   RankedTensorType type, int64_t maxBlocks, int64_t targetBlocks) {
  auto a = dyn_cast<RankedTensorType>(lhs.getType());
  auto b = dyn_cast<RankedTensorType>(rhs.getType());
  if (!a || !b || !a.hasStaticShape() || !b.hasStaticShape() || !type.hasStaticShape() ||
      a.getRank() < 2 || b.getRank() != 2 || !a.getElementType().isF32() ||
      !b.getElementType().isF32())
    return {};
  int64_t k = a.getShape().back(), n = b.getDimSize(1);
  int64_t m = a.getNumElements() / k;
  if (b.getDimSize(0) != k || type.getNumElements() != m * n)
    return {};
  int64_t blocks = llvm::divideCeil(m, kGpuBlockRows) * llvm::divideCeil(n, kGpuBlockCols);
  if (blocks >= maxBlocks)
    return {};
  int64_t parts = 0;
  for (int64_t s : {8, 4, 2})
    if (m % 4 == 0 && n % 4 == 0 && blocks * s <= targetBlocks &&
        k % (s * kGpuBlockStep) == 0 && k / s >= kMinStepsPerPart * kGpuBlockStep &&
        s * m * n >= kGpuMinBlockOutputs) {
      parts = s;
      break;
    }
  // Few outputs, whose warps' lanes would read B's column N floats apart
  // (a matrix-vector product with B [K, N]).
  if (!parts)
    parts = threadParts(k, 1, n, m * n);
  if (!parts)
    return {};
  Type f32 = a.getElementType();
  int64_t kPart = k / parts;
  // A [d.., K] viewed as [M, S, K/S] and its S axis moved to the front;
  // B [K, N] viewed as [S, K/S, N]; the parts' products [S, M, N] viewed
  // as [S, d.., N], so that their sum has the product's own type.
  Value a3 = ReshapeOp::create(rw, loc, RankedTensorType::get({m, parts, kPart}, f32), lhs);
  auto at = TransposeOp::create(rw, loc, a3, rw.getDenseI64ArrayAttr({1, 0, 2}));
  at->setAttr(kSplitReductionAttr, rw.getUnitAttr());
  Value b3 = ReshapeOp::create(rw, loc, RankedTensorType::get({parts, kPart, n}, f32), rhs);
  Value products = MatMulOp::create(rw, loc, RankedTensorType::get({parts, m, n}, f32), at, b3);
  SmallVector<int64_t> pShape = {parts};
  llvm::append_range(pShape, type.getShape());
  Value partial = ReshapeOp::create(rw, loc, RankedTensorType::get(pShape, f32), products);
  auto sum = ReduceOp::create(rw, loc, ReduceKindAttr::get(rw.getContext(), ReduceKind::sum),
                              partial, rw.getDenseI64ArrayAttr({0}), rw.getBoolAttr(false));
  sum->setAttr(kSplitReductionAttr, rw.getUnitAttr());
  return sum;
}

struct SplitMatMulReduction : OpRewritePattern<MatMulOp> {
  SplitMatMulReduction(MLIRContext *ctx, int64_t maxBlocks, int64_t targetBlocks)
      : OpRewritePattern(ctx), maxBlocks(maxBlocks), targetBlocks(targetBlocks) {}

  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rw) const override {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    Value sum = type ? splitProduct(rw, op.getLoc(), op.getLhs(), op.getRhs(), type, maxBlocks,
                                    targetBlocks)
                     : Value();
    if (!sum)
      return failure();
    rw.replaceOp(op, sum);
    return success();
  }

  int64_t maxBlocks, targetBlocks;
};

/// An NCHW convolution (group 1, f32, static; padding already moved into a
/// weft.pad) as the sum of S convolutions over C/S input channels each, run
/// side by side as one convolution of S groups:
///
///   y[n, f] = sum_c x[n, c] * w[f, c]
///   ->  P[n, s * F + f] = sum_j x[n, s * C/S + j] * w[f, s * C/S + j]
///       y[n, f] = sum_s P[n, s, f] + bias[f]
///
/// The grouped filter [S * F, C/S, KH, KW] holds w[f, s * C/S + j] at
/// [s * F + f, j] (w viewed as [F, S, C/S, KH, KW], its S axis moved to
/// the front; a constant filter folds). The CUDA backend runs a
/// convolution as the matmul of its filter and its image's columns
/// (weft-cuda-tile-threads): here per group, [F, C/S * KH * KW] x
/// [C/S * KH * KW, OH * OW]: its parts must take blocks (gpuConvTakesBlocks:
/// F a multiple of 4, S times the outputs at least kGpuMinConvBlockOutputs)
/// and be whole 32-step blocks, at least kMinStepsPerPart of them.
struct SplitConvReduction : OpRewritePattern<ConvOp> {
  SplitConvReduction(MLIRContext *ctx, int64_t maxBlocks, int64_t targetBlocks)
      : OpRewritePattern(ctx), maxBlocks(maxBlocks), targetBlocks(targetBlocks) {}

  LogicalResult matchAndRewrite(ConvOp op, PatternRewriter &rw) const override {
    auto x = dyn_cast<RankedTensorType>(op.getInput().getType());
    auto w = dyn_cast<RankedTensorType>(op.getFilter().getType());
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!x || !w || !type || op.getChannelsLast() || op.getGroup() != 1 ||
        !x.hasStaticShape() || !w.hasStaticShape() || !type.hasStaticShape() ||
        x.getRank() != 4 || w.getRank() != 4 || type.getRank() != 4 ||
        !x.getElementType().isF32() || !w.getElementType().isF32() ||
        !type.getElementType().isF32() ||
        llvm::any_of(op.getPads(), [](int64_t p) { return p != 0; }) ||
        op->hasAttr(kSplitReductionAttr))
      return failure();
    int64_t n = type.getDimSize(0), f = type.getDimSize(1), c = w.getDimSize(1),
            kh = w.getDimSize(2), kw = w.getDimSize(3);
    int64_t positions = type.getDimSize(2) * type.getDimSize(3);
    if (c != x.getDimSize(1))
      return failure();
    int64_t blocks = n * llvm::divideCeil(f, kGpuBlockRows) *
                     llvm::divideCeil(positions, kGpuBlockCols);
    if (blocks >= maxBlocks)
      return failure();
    int64_t parts = 0;
    for (int64_t s : {8, 4, 2}) {
      int64_t k = c / s * kh * kw;
      if (c % s == 0 && blocks * s <= targetBlocks && k % kGpuBlockStep == 0 &&
          k >= kMinStepsPerPart * kGpuBlockStep &&
          gpuConvTakesBlocks(f, positions, k, kh * kw, s * type.getNumElements())) {
        parts = s;
        break;
      }
    }
    // Few outputs, whose warps' lanes would read the input channels an
    // image plane apart.
    if (!parts && !gpuConvTakesBlocks(f, positions, c * kh * kw, kh * kw, type.getNumElements()))
      parts = threadParts(c, kh * kw, x.getDimSize(2) * x.getDimSize(3), type.getNumElements());
    if (!parts)
      return failure();
    Location loc = op.getLoc();
    Type f32 = type.getElementType();
    Value w5 = ReshapeOp::create(
        rw, loc, RankedTensorType::get({f, parts, c / parts, kh, kw}, f32), op.getFilter());
    Value wt = TransposeOp::create(rw, loc, w5, rw.getDenseI64ArrayAttr({1, 0, 2, 3, 4}));
    Value grouped = ReshapeOp::create(
        rw, loc, RankedTensorType::get({parts * f, c / parts, kh, kw}, f32), wt);
    auto conv = ConvOp::create(
        rw, loc,
        RankedTensorType::get({n, parts * f, type.getDimSize(2), type.getDimSize(3)}, f32),
        op.getInput(), grouped, Value(), op.getStridesAttr(), op.getDilationsAttr(),
        op.getPadsAttr(), rw.getI64IntegerAttr(parts), UnitAttr());
    conv->setAttr(kSplitReductionAttr, rw.getUnitAttr());
    Value partial = ReshapeOp::create(
        rw, loc,
        RankedTensorType::get({n, parts, f, type.getDimSize(2), type.getDimSize(3)}, f32),
        conv);
    auto sum = ReduceOp::create(rw, loc, ReduceKindAttr::get(rw.getContext(), ReduceKind::sum),
                                partial, rw.getDenseI64ArrayAttr({1}), rw.getBoolAttr(false));
    sum->setAttr(kSplitReductionAttr, rw.getUnitAttr());
    Value result = sum;
    if (Value bias = op.getBias()) {
      Value b3 = ReshapeOp::create(rw, loc, RankedTensorType::get({f, 1, 1}, f32), bias);
      result = AddOp::create(rw, loc, type, result, b3);
    }
    rw.replaceOp(op, result);
    return success();
  }

  int64_t maxBlocks, targetBlocks;
};

/// A Gemm A x B + C (alpha = beta = 1, no transposes; a Linear layer whose
/// weights were transposed at compile time): the split product, then C
/// added, which the sum's dispatch takes in.
struct SplitGemmReduction : OpRewritePattern<GemmOp> {
  SplitGemmReduction(MLIRContext *ctx, int64_t maxBlocks, int64_t targetBlocks)
      : OpRewritePattern(ctx), maxBlocks(maxBlocks), targetBlocks(targetBlocks) {}

  LogicalResult matchAndRewrite(GemmOp op, PatternRewriter &rw) const override {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!type || op.getTransA() || op.getTransB() || op.getAlpha().convertToDouble() != 1.0 ||
        (op.getC() && op.getBeta().convertToDouble() != 1.0))
      return failure();
    Value sum =
        splitProduct(rw, op.getLoc(), op.getA(), op.getB(), type, maxBlocks, targetBlocks);
    if (!sum)
      return failure();
    if (Value c = op.getC())
      sum = AddOp::create(rw, op.getLoc(), type, sum, c);
    rw.replaceOp(op, sum);
    return success();
  }

  int64_t maxBlocks, targetBlocks;
};

struct SplitReductionPass : weft::impl::SplitReductionBase<SplitReductionPass> {
  using SplitReductionBase::SplitReductionBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SplitMatMulReduction, SplitGemmReduction, SplitConvReduction>(&getContext(), maxBlocks,
                                                           targetBlocks);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
