//===- ConvertLayout.cpp - weft-convert-layout ---------------------------===//
//
// Moves convolutions to channels-last layouts, where the output channels
// (or, for depthwise convolutions and pooling, the channels) are the
// innermost, contiguous dimension that kernels vectorize, and cancels the
// layout changes this introduces between neighbouring ops: each conversion
// is a weft.transpose, transposes sink through ops that do not care about
// layout (elementwise ops, pads, keepdims reductions, concats, pooling), and
// two that meet compose, usually into nothing. A chain of convolutions pays
// one conversion where it starts and one where it ends. Filters are
// constants, so their transposes fold at compile time.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace weft {
#define GEN_PASS_DEF_CONVERTLAYOUT
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;

namespace {

constexpr int64_t kToNHWC[] = {0, 2, 3, 1};
constexpr int64_t kToNCHW[] = {0, 3, 1, 2};
constexpr int64_t kFCHWToHWCF[] = {2, 3, 1, 0};

Value transpose(PatternRewriter &rw, Location loc, Value v, ArrayRef<int64_t> perm) {
  return TransposeOp::create(rw, loc, v, rw.getDenseI64ArrayAttr(perm));
}

/// `shape` as it is before transpose(., perm) produced it.
SmallVector<int64_t> untransposedShape(ArrayRef<int64_t> shape, ArrayRef<int64_t> perm) {
  SmallVector<int64_t> out(shape.size());
  for (auto [i, p] : llvm::enumerate(perm))
    out[p] = shape[i];
  return out;
}

SmallVector<int64_t> inversePerm(ArrayRef<int64_t> perm) {
  SmallVector<int64_t> inv(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inv[p] = i;
  return inv;
}

RankedTensorType withShape(Type t, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, cast<RankedTensorType>(t).getElementType());
}

/// conv (NCHW) -> transpose(conv_cl(transpose(x), filter'), to NCHW). Only
/// plain and depthwise convolutions with constant filters: the filter is
/// re-laid at compile time, never while the model runs.
struct ConvToChannelsLast : OpRewritePattern<ConvOp> {
  ConvToChannelsLast(MLIRContext *ctx, int64_t filterBlock)
      : OpRewritePattern(ctx), filterBlock(filterBlock) {}
  int64_t filterBlock;
  LogicalResult matchAndRewrite(ConvOp op, PatternRewriter &rw) const override {
    if (op.getChannelsLast() || !op.getFilter().getDefiningOp<ConstantOp>())
      return failure();
    // An integer depthwise convolution takes the float one's layout (HWCF
    // filter KH x KW x 1 x C); the others the dot-product blocks.
    if (isa<IntegerType>(op.getType().getElementType())) {
      if (op.getGroup() == 1)
        return integerConv(op, rw);
    } else if (!isa<FloatType>(op.getType().getElementType())) {
      return failure();
    }
    auto in = op.getInput().getType();
    auto w = op.getFilter().getType();
    int64_t g = op.getGroup(), c = in.getShape()[1], f = w.getShape()[0];
    bool depthwise = g == c && f == c && w.getShape()[1] == 1;
    if (g != 1 && !depthwise)
      return groupedConv(op, rw);
    Location loc = op.getLoc();
    Value x = transpose(rw, loc, op.getInput(), kToNHWC);
    Value filter;
    ArrayRef<int64_t> fs = w.getShape();
    // The widest block (filterBlock, or a half or a quarter of it) that
    // divides F: 24 channels are three blocks of 8, not a scalar kernel.
    int64_t block = g == 1 ? widestBlock(f) : 0;
    if (block) {
      // [F, C, KH, KW] -> [F/B, B, C, KH, KW] -> [F/B, KH, KW, C, B].
      Value split = ReshapeOp::create(
          rw, loc, withShape(w, {f / block, block, fs[1], fs[2], fs[3]}), op.getFilter());
      filter = transpose(rw, loc, split, {0, 3, 4, 2, 1});
    } else {
      filter = transpose(rw, loc, op.getFilter(), kFCHWToHWCF);
    }
    Value conv = ConvOp::create(rw, loc, x, filter, op.getBias(), op.getStridesAttr(),
                                op.getDilationsAttr(), op.getPadsAttr(),
                                op.getGroupAttr(), rw.getUnitAttr());
    if (block) {
      // The blocked output is NHWC in memory: the 4-D view is an alias.
      auto blocked = cast<RankedTensorType>(conv.getType());
      ArrayRef<int64_t> bs = blocked.getShape();
      conv = ReshapeOp::create(rw, loc, withShape(blocked, {bs[0], bs[1], bs[2], f}), conv);
    }
    rw.replaceOp(op, transpose(rw, loc, conv, kToNCHW));
    return success();
  }

  /// The widest block (filterBlock, or a half or a quarter of it) that
  /// divides `channels`, or 0.
  int64_t widestBlock(int64_t channels) const {
    for (int64_t b = filterBlock; b > 1 && 4 * b >= filterBlock; b /= 2)
      if (channels % b == 0)
        return b;
    return 0;
  }

  /// A grouped (not depthwise) f32 convolution with a blocked filter
  /// [F/B, KH, KW, C/G, B]: each block of B output channels lies in one
  /// group and reads that group's C/G input channels, so the kernels run
  /// it as a plain blocked convolution whose input channels are offset by
  /// the group. When no block divides a group's F/G output channels (4
  /// in ResNeXt's first stage), up to four neighbouring groups are merged
  /// into one whose filter is zero outside the groups' own input channels
  /// (block diagonal): at most four times the multiply-adds, on whole
  /// vectors instead of scalar code.
  LogicalResult groupedConv(ConvOp op, PatternRewriter &rw) const {
    auto w = op.getFilter().getType();
    if (!w.getElementType().isF32() || !w.hasStaticShape() ||
        !op.getInput().getType().hasStaticShape())
      return failure();
    ArrayRef<int64_t> fs = w.getShape();
    int64_t g = op.getGroup(), f = fs[0], cg = fs[1], fg = f / g;
    int64_t merge = 0, block = 0;
    for (int64_t m = 1; m <= 4 && !block; ++m)
      if (g % m == 0 && (block = widestBlock(m * fg)))
        merge = m;
    if (!block)
      return failure();
    Value weights = op.getFilter();
    if (merge > 1) {
      auto values = dyn_cast<DenseElementsAttr>(
          op.getFilter().getDefiningOp<ConstantOp>().getValue());
      if (!values)
        return failure();
      // [F, m * Cg, KH, KW]: output channel o of merged group j reads its
      // own group's Cg channels at (o / Fg) % m * Cg; the rest are zeros.
      int64_t taps = fs[2] * fs[3], wide = merge * cg;
      SmallVector<float> out(f * wide * taps, 0.0f);
      auto in = values.getValues<float>();
      for (int64_t o = 0; o < f; ++o)
        for (int64_t ci = 0; ci < cg; ++ci)
          for (int64_t t = 0; t < taps; ++t)
            out[(o * wide + (o / fg) % merge * cg + ci) * taps + t] =
                values.isSplat() ? values.getSplatValue<float>() : in[(o * cg + ci) * taps + t];
      weights = ConstantOp::create(
          rw, op.getFilter().getLoc(),
          DenseElementsAttr::get(withShape(w, {f, wide, fs[2], fs[3]}), ArrayRef<float>(out)));
      g /= merge;
      cg = wide;
    }
    Location loc = op.getLoc();
    Value x = transpose(rw, loc, op.getInput(), kToNHWC);
    Value split = ReshapeOp::create(
        rw, loc, withShape(w, {f / block, block, cg, fs[2], fs[3]}), weights);
    Value filter = transpose(rw, loc, split, {0, 3, 4, 2, 1});
    Value conv = ConvOp::create(rw, loc, x, filter, op.getBias(), op.getStridesAttr(),
                                op.getDilationsAttr(), op.getPadsAttr(),
                                rw.getI64IntegerAttr(g), rw.getUnitAttr());
    auto blocked = cast<RankedTensorType>(conv.getType());
    ArrayRef<int64_t> bs = blocked.getShape();
    conv = ReshapeOp::create(rw, loc, withShape(blocked, {bs[0], bs[1], bs[2], f}), conv);
    rw.replaceOp(op, transpose(rw, loc, conv, kToNCHW));
    return success();
  }

  /// An integer convolution (uint8 x int8 -> i32) always takes the rank-6
  /// blocked filter [F/B, KH, KW, C/4, B, 4] of the 8-bit dot-product
  /// kernels: B output channels x 4 input channels per (kh, kw) step, B
  /// the widest of filterBlock, a half, a quarter... of it down to 4 that
  /// divides F (the dot products come in 16, 8 and 4 lanes of i32: 24
  /// channels are three blocks of 8, 1,000 classes 125).
  LogicalResult integerConv(ConvOp op, PatternRewriter &rw) const {
    auto w = op.getFilter().getType();
    ArrayRef<int64_t> fs = w.getShape();
    int64_t f = fs[0], c = fs[1];
    int64_t block = filterBlock;
    while (block > 4 && f % block != 0)
      block /= 2;
    if (op.getGroup() != 1 || c % 4 != 0 || block < 4 || f % block != 0)
      return failure();
    Location loc = op.getLoc();
    Value x = transpose(rw, loc, op.getInput(), kToNHWC);
    // [F, C, KH, KW] -> [F/B, B, C/4, 4, KH, KW] -> [F/B, KH, KW, C/4, B, 4].
    Value split = ReshapeOp::create(
        rw, loc, withShape(w, {f / block, block, c / 4, 4, fs[2], fs[3]}), op.getFilter());
    Value filter = transpose(rw, loc, split, {0, 4, 5, 2, 1, 3});
    Value conv = ConvOp::create(rw, loc, x, filter, Value(), op.getStridesAttr(),
                                op.getDilationsAttr(), op.getPadsAttr(), op.getGroupAttr(),
                                rw.getUnitAttr());
    auto blocked = cast<RankedTensorType>(conv.getType());
    ArrayRef<int64_t> bs = blocked.getShape();
    conv = ReshapeOp::create(rw, loc, withShape(blocked, {bs[0], bs[1], bs[2], f}), conv);
    rw.replaceOp(op, transpose(rw, loc, conv, kToNCHW));
    return success();
  }
};

/// `values` ([rows, n], row-major) with `to - n` zero columns appended.
DenseElementsAttr padColumns(DenseElementsAttr values, int64_t rows, int64_t n, int64_t to) {
  SmallVector<float> out(rows * to, 0.0f);
  auto in = values.getValues<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n; ++c)
      out[r * to + c] = values.isSplat() ? values.getSplatValue<float>() : in[r * n + c];
  return DenseElementsAttr::get(
      RankedTensorType::get({rows, to}, values.getElementType()), ArrayRef<float>(out));
}

/// The column count a constant B of N columns is padded to: a multiple of
/// two vectors when that adds at most 1/16 of the work, else of one.
int64_t paddedColumns(int64_t n, int64_t vectorWidth) {
  int64_t wide = llvm::alignTo(n, 2 * vectorWidth);
  return (wide - n) * 16 <= n ? wide : llvm::alignTo(n, vectorWidth);
}

/// a [.., K] (M rows in all) times the constant b [K, P] as a 1x1
/// channels-last convolution over one image row of M columns, b re-laid as
/// [P/block, 1, 1, K, block] (the transpose folds at compile time), with an
/// optional bias [P]. The result is [1, 1, M, P/block, block].
Value matmulAsBlockedConv(PatternRewriter &rw, Location loc, Value a, Value b, int64_t m,
                          int64_t k, int64_t p, int64_t block, Value bias) {
  Type f32 = rw.getF32Type();
  Value x = ReshapeOp::create(rw, loc, RankedTensorType::get({1, 1, m, k}, f32), a);
  Value split = ReshapeOp::create(rw, loc, RankedTensorType::get({k, p / block, block}, f32), b);
  Value panels = transpose(rw, loc, split, {1, 0, 2});
  Value filter = ReshapeOp::create(
      rw, loc, RankedTensorType::get({p / block, 1, 1, k, block}, f32), panels);
  return ConvOp::create(rw, loc, x, filter, bias, rw.getDenseI64ArrayAttr({1, 1}),
                        rw.getDenseI64ArrayAttr({1, 1}), rw.getDenseI64ArrayAttr({0, 0, 0, 0}),
                        rw.getI64IntegerAttr(1), rw.getUnitAttr());
}

/// matmul(a [.., M, K], constant b [K, N]) -> a 1x1 channels-last
/// convolution with a blocked filter over one image row of M columns:
/// reshape(conv_cl(reshape(a) [1, 1, M, K], b' [N/B, 1, 1, K, B])) with b
/// re-laid at compile time. Each register tile then streams one contiguous
/// K x B filter panel; B's own rows are a whole row of N apart, and read
/// down a column block their cache lines compete for the same L1 sets. The
/// convolution kernels (register tiles, fused epilogues, workgroup splits
/// by filter blocks) serve it unchanged. When no block divides N, b gains
/// zero columns at compile time and a slice keeps the first N.
struct MatMulToBlockedConv : OpRewritePattern<MatMulOp> {
  MatMulToBlockedConv(MLIRContext *ctx, int64_t filterBlock)
      : OpRewritePattern(ctx), filterBlock(filterBlock) {}
  int64_t filterBlock;
  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rw) const override {
    auto a = cast<RankedTensorType>(op.getLhs().getType());
    auto b = cast<RankedTensorType>(op.getRhs().getType());
    if (!op.getRhs().getDefiningOp<ConstantOp>() || b.getRank() != 2 || a.getRank() < 2 ||
        !a.getElementType().isF32() || !b.getElementType().isF32() ||
        !a.hasStaticShape() || !b.hasStaticShape())
      return failure();
    int64_t k = b.getShape()[0], n = b.getShape()[1];
    if (k < 1 || n < 1) // an empty product: nothing to block
      return failure();
    int64_t m = a.getNumElements() / k;
    int64_t block = 0;
    for (int64_t bl = filterBlock; bl > 1 && 2 * bl >= filterBlock; bl /= 2)
      if (n % bl == 0) {
        block = bl;
        break;
      }
    if (m < 1)
      return failure();
    // No block divides N: B gains zero columns up to a multiple of the
    // vector width (two when that adds at most 1/16), and a slice keeps N.
    Value weights = op.getRhs();
    int64_t padded = n;
    if (!block) {
      int64_t vw = filterBlock / 2;
      auto values = dyn_cast<DenseElementsAttr>(op.getRhs().getDefiningOp<ConstantOp>().getValue());
      if (vw < 2 || n <= vw || !values)
        return failure();
      padded = paddedColumns(n, vw);
      block = padded % filterBlock == 0 ? filterBlock : vw;
      weights = ConstantOp::create(rw, op.getRhs().getLoc(), padColumns(values, k, n, padded));
    }
    Location loc = op.getLoc();
    Value conv =
        matmulAsBlockedConv(rw, loc, op.getLhs(), weights, m, k, padded, block, Value());
    auto type = cast<RankedTensorType>(op.getType());
    if (padded == n) {
      rw.replaceOpWithNewOp<ReshapeOp>(op, type, conv);
      return success();
    }
    SmallVector<int64_t> wideShape(type.getShape());
    wideShape.back() = padded;
    Value wide = ReshapeOp::create(rw, loc, withShape(type, wideShape), conv);
    SmallVector<int64_t> zeros(type.getRank(), 0), ones(type.getRank(), 1);
    rw.replaceOpWithNewOp<SliceOp>(op, type, wide, rw.getDenseI64ArrayAttr(zeros),
                                   rw.getDenseI64ArrayAttr(type.getShape()),
                                   rw.getDenseI64ArrayAttr(ones));
    return success();
  }
};

/// gemm(A, B[K, N], C) with a constant f32 B. When N is not a multiple of
/// the vector width, B (and a constant C with N columns) gain zero columns
/// at compile time, so the kernel vectorizes every column (a classifier's
/// 1000 classes compute 1024 and drop 24) instead of falling back to scalar
/// code; a slice keeps the N real columns. N' rounds up to two vectors when
/// that adds at most 1/16 of the work, else to one. When the gemm is a
/// plain A * B + bias (alpha = beta = 1, A not transposed, C absent or N
/// constants), whatever its N, it becomes a 1x1 blocked convolution with
/// the bias, whose filter panels [N'/b, 1, 1, K, b] are read contiguously
/// (a row-major B would be read with a K-row stride, one page per step, for
/// a single row) by the convolution kernels' register tiles: a PyTorch
/// Linear layer (Gemm, transB = 1, pretransposed at compile time) runs as
/// fast as a MatMul by the same weight.
struct PadGemmColumns : OpRewritePattern<GemmOp> {
  PadGemmColumns(MLIRContext *ctx, int64_t vectorWidth)
      : OpRewritePattern(ctx), vectorWidth(vectorWidth) {}
  int64_t vectorWidth;
  LogicalResult matchAndRewrite(GemmOp op, PatternRewriter &rw) const override {
    auto bConst = op.getB().getDefiningOp<ConstantOp>();
    auto type = cast<RankedTensorType>(op.getType());
    auto b = cast<RankedTensorType>(op.getB().getType());
    if (!bConst || op.getTransB() || !type.getElementType().isF32() ||
        !b.getElementType().isF32() || !type.hasStaticShape() || vectorWidth < 2)
      return failure();
    int64_t k = b.getShape()[0], n = b.getShape()[1], m = type.getShape()[0];
    bool aligned = n % vectorWidth == 0;
    bool plainOp = op.getAlpha().convertToFloat() == 1.0f && !op.getTransA() &&
                   (!op.getC() || op.getBeta().convertToFloat() == 1.0f);
    if (n <= vectorWidth || (aligned && !plainOp))
      return failure();
    int64_t padded = aligned ? n : paddedColumns(n, vectorWidth);
    auto weights = dyn_cast<DenseElementsAttr>(bConst.getValue());
    if (!weights)
      return failure();
    Value c = op.getC();
    if (c && padded != n) {
      auto cType = cast<RankedTensorType>(c.getType());
      if (cType.getRank() > 0 && cType.getShape().back() == n) {
        auto cConst = c.getDefiningOp<ConstantOp>();
        auto bias = cConst ? dyn_cast<DenseElementsAttr>(cConst.getValue()) : nullptr;
        if (!bias || !cType.getElementType().isF32())
          return failure();
        int64_t rows = cType.getNumElements() / n;
        DenseElementsAttr wideBias = padColumns(bias, rows, n, padded);
        SmallVector<int64_t> shape(cType.getShape());
        shape.back() = padded;
        c = ConstantOp::create(rw, cConst.getLoc(),
                               wideBias.reshape(RankedTensorType::get(shape, rw.getF32Type())));
      }
    }
    auto f32 = rw.getF32Type();
    bool plain = plainOp && (!c || (cast<RankedTensorType>(c.getType()).getNumElements() == padded &&
                                    c.getDefiningOp<ConstantOp>()));
    if (aligned && !plain)
      return failure();
    Value wideB = padded == n ? op.getB()
                              : ConstantOp::create(rw, bConst.getLoc(),
                                                   padColumns(weights, k, n, padded));
    if (plain) {
      int64_t block = padded % (2 * vectorWidth) == 0 ? 2 * vectorWidth : vectorWidth;
      Location loc = op.getLoc();
      Value bias = c ? ReshapeOp::create(rw, loc, RankedTensorType::get({padded}, f32), c) : Value();
      Value conv = matmulAsBlockedConv(rw, loc, op.getA(), wideB, m, k, padded, block, bias);
      if (padded == n) {
        rw.replaceOpWithNewOp<ReshapeOp>(op, type, conv);
        return success();
      }
      Value wide = ReshapeOp::create(rw, loc, RankedTensorType::get({m, padded}, f32), conv);
      rw.replaceOpWithNewOp<SliceOp>(op, type, wide, rw.getDenseI64ArrayAttr({0, 0}),
                                     rw.getDenseI64ArrayAttr({m, n}),
                                     rw.getDenseI64ArrayAttr({1, 1}));
      return success();
    }
    Value gemm = GemmOp::create(rw, op.getLoc(), RankedTensorType::get({m, padded}, f32),
                                op.getA(), wideB, c, op.getAlphaAttr(), op.getBetaAttr(),
                                op.getTransAAttr(), op.getTransBAttr());
    rw.replaceOpWithNewOp<SliceOp>(op, type, gemm, rw.getDenseI64ArrayAttr({0, 0}),
                                   rw.getDenseI64ArrayAttr({m, n}),
                                   rw.getDenseI64ArrayAttr({1, 1}));
    return success();
  }
};

/// pool(transpose(x, to NCHW)) -> transpose(pool_cl(x), to NCHW).
struct SinkThroughPool : OpRewritePattern<PoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PoolOp op, PatternRewriter &rw) const override {
    auto t = op.getInput().getDefiningOp<TransposeOp>();
    if (op.getChannelsLast() || !t || t.getPerm() != ArrayRef<int64_t>(kToNCHW))
      return failure();
    auto pool = PoolOp::create(rw, op.getLoc(), op.getKindAttr(), t.getInput(),
                               op.getKernelAttr(), op.getStridesAttr(),
                               op.getDilationsAttr(), op.getPadsAttr(),
                               op.getCeilModeAttr(), op.getCountIncludePadAttr(),
                               rw.getUnitAttr());
    rw.replaceOp(op, transpose(rw, op.getLoc(), pool, kToNCHW));
    return success();
  }
};

bool isLayoutFree(Operation *op) {
  // PRelu stays out of the layout rewrite (not exercised by its tests).
  return op->hasTrait<OpTrait::Elementwise>() ||
         (isBroadcastElementwise(op) && !isa<PReluOp>(op));
}

/// op(transpose(a, p), transpose(b, p), constant c) ->
/// transpose(op(a, b, c'), p) for elementwise ops, where c' is c reshaped to
/// the full rank and transposed back (folded at compile time).
struct SinkThroughElementwise : RewritePattern {
  SinkThroughElementwise(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rw) const override {
    if (!isLayoutFree(op) || op->getNumResults() != 1 || op->getNumOperands() == 0)
      return failure();
    auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!resultType)
      return failure();
    int64_t rank = resultType.getRank();
    // The permutation: every non-constant operand must be a transpose by
    // it, or a value whose transpose back only moves unit dimensions (a
    // reshape: squeeze-excitation's per-channel scale [1, C, 1, 1] against
    // an image that came from channels-last).
    std::optional<SmallVector<int64_t>> perm;
    SmallVector<Value> others;
    for (Value v : op->getOperands()) {
      if (v.getDefiningOp<ConstantOp>())
        continue;
      auto t = v.getDefiningOp<TransposeOp>();
      if (!t || t.getType().getRank() != rank) {
        others.push_back(v);
        continue;
      }
      if (!perm)
        perm = llvm::to_vector(t.getPerm());
      else if (ArrayRef<int64_t>(*perm) != t.getPerm())
        return failure();
    }
    if (!perm)
      return failure();
    SmallVector<int64_t> inv = inversePerm(*perm);
    // Whether transposing a value of `shape` by `p` keeps the order of its
    // dimensions that are not 1 (then it is a reshape).
    auto reshapeLike = [&](ArrayRef<int64_t> shape, ArrayRef<int64_t> p) {
      SmallVector<int64_t> kept, moved;
      for (int64_t d = 0; d < rank; ++d) {
        if (shape[d] != 1)
          kept.push_back(d);
        if (shape[p[d]] != 1)
          moved.push_back(p[d]);
      }
      return kept == moved;
    };
    // Only worth it where the result's transpose moves data: else the
    // canonical reshapes of both sides would turn it back and forth.
    if (!others.empty() && reshapeLike(resultType.getShape(), inv))
      return failure();
    for (Value v : others) {
      auto vt = dyn_cast<RankedTensorType>(v.getType());
      if (!vt || vt.getRank() > rank || !vt.hasStaticShape())
        return failure();
      SmallVector<int64_t> full(rank - vt.getRank(), 1);
      llvm::append_range(full, vt.getShape());
      if (!reshapeLike(full, inv))
        return failure();
    }
    SmallVector<Value> operands;
    for (Value v : op->getOperands()) {
      auto t = v.getDefiningOp<TransposeOp>();
      if (t && !llvm::is_contained(others, v)) {
        operands.push_back(t.getInput());
        continue;
      }
      // A constant (or a value whose transpose is a reshape) broadcasts
      // from the right: give it the full rank first.
      auto ct = cast<RankedTensorType>(v.getType());
      Value c = v;
      if (ct.getRank() < rank) {
        SmallVector<int64_t> shape(rank - ct.getRank(), 1);
        llvm::append_range(shape, ct.getShape());
        c = ReshapeOp::create(rw, op->getLoc(), withShape(ct, shape), c);
      } else if (ct.getRank() > rank) {
        return failure();
      }
      operands.push_back(transpose(rw, op->getLoc(), c, inv));
    }
    Operation *moved = rw.clone(*op);
    moved->setOperands(operands);
    moved->getResult(0).setType(
        withShape(resultType, untransposedShape(resultType.getShape(), *perm)));
    rw.replaceOp(op, transpose(rw, op->getLoc(), moved->getResult(0), *perm));
    return success();
  }
};

/// The blocked form [N, H, W, C/B, B] of a 4-D NHWC shape broadcast
/// against [N, H, W, C] (rank-padded; a last dim of 1 stays 1); failure
/// when the channel dim is neither C nor 1.
FailureOr<SmallVector<int64_t>> blockedShape(ArrayRef<int64_t> shape, int64_t c,
                                             int64_t block) {
  if (shape.size() > 4)
    return failure();
  SmallVector<int64_t> full(4 - shape.size(), 1);
  llvm::append_range(full, shape);
  if (full[3] != c && full[3] != 1)
    return failure();
  SmallVector<int64_t> out(full.begin(), full.begin() + 3);
  out.push_back(full[3] == c ? c / block : 1);
  out.push_back(full[3] == c ? block : 1);
  return out;
}

/// op(reshape(x: [N, H, W, C/B, B] -> [N, H, W, C]), y) ->
/// reshape(op(x, reshape(y)), [N, H, W, C]) for elementwise ops: the
/// blocked output of a convolution flows through its activation and
/// residual add, so they join its kernel as one loop nest. Reshapes move
/// no data; broadcast operands ([C], [1, 1, 1, C], ...) get blocked shapes.
struct SinkBlockedReshape : RewritePattern {
  SinkBlockedReshape(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rw) const override {
    if (!isLayoutFree(op) || op->getNumResults() != 1)
      return failure();
    auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!resultType || resultType.getRank() != 4)
      return failure();
    int64_t block = 0;
    for (Value v : op->getOperands())
      if (auto r = v.getDefiningOp<ReshapeOp>()) {
        auto in = r.getInput().getType();
        auto out = r.getType();
        if (in.getRank() == 5 && out.getShape() == resultType.getShape() &&
            in.getShape().take_front(3) == out.getShape().take_front(3) &&
            in.getShape()[3] * in.getShape()[4] == out.getShape()[3])
          block = in.getShape()[4];
      }
    if (!block)
      return failure();
    int64_t c = resultType.getShape()[3];
    SmallVector<Value> operands;
    for (Value v : op->getOperands()) {
      auto t = cast<RankedTensorType>(v.getType());
      FailureOr<SmallVector<int64_t>> shape = blockedShape(t.getShape(), c, block);
      if (failed(shape))
        return failure();
      operands.push_back(v);
    }
    for (Value &v : operands) {
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape = *blockedShape(t.getShape(), c, block);
      v = ReshapeOp::create(rw, op->getLoc(), withShape(t, shape), v);
    }
    Operation *moved = rw.clone(*op);
    moved->setOperands(operands);
    moved->getResult(0).setType(
        withShape(resultType, *blockedShape(resultType.getShape(), c, block)));
    rw.replaceOpWithNewOp<ReshapeOp>(op, resultType, moved->getResult(0));
    return success();
  }
};

/// op(reshape(x: [1, 1, M, N/B, B] -> [..., N]), y) ->
/// reshape(op(x, reshape(y)), [..., N]) for elementwise ops, where the
/// reshape undoes a matmul run as a blocked 1x1 convolution (its rows M the
/// product of the leading dims): the activation and residual add after a
/// MatMul or Gemm join the convolution's kernel as its epilogue. The other
/// operands have the result's shape or are broadcast along all but the
/// last axis; the reshapes move no data.
struct SinkMatMulReshape : RewritePattern {
  SinkMatMulReshape(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rw) const override {
    // Casts between float types stay where they are: sinking through the
    // casts around a 16-bit matmul run in f32 (weft-decompose{widen-half-
    // contractions}) never settled (the transformer encoder in f16 failed
    // to compile). Casts from or to integers (an integer matmul's sums to
    // f32, a quantization to uint8) move.
    if (!isLayoutFree(op) || op->getNumResults() != 1)
      return failure();
    if (auto c = dyn_cast<CastOp>(op)) {
      auto integer = [](Type t) {
        t = getElementTypeOrSelf(t);
        return isa<IntegerType>(t) && !t.isInteger(1);
      };
      if (!integer(c.getInput().getType()) && !integer(c.getType()))
        return failure();
    }
    auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!resultType || resultType.getRank() < 1 || !resultType.hasStaticShape())
      return failure();
    ArrayRef<int64_t> shape = resultType.getShape();
    int64_t n = shape.back(), m = resultType.getNumElements() / std::max<int64_t>(n, 1);
    SmallVector<int64_t> blocked;
    for (Value v : op->getOperands())
      if (auto r = v.getDefiningOp<ReshapeOp>()) {
        ArrayRef<int64_t> in = r.getInput().getType().getShape();
        if (in.size() == 5 && in[0] == 1 && in[1] == 1 && in[2] == m &&
            in[3] * in[4] == n && r.getType().getShape() == shape)
          blocked.assign(in.begin(), in.end());
      }
    if (blocked.empty())
      return failure();
    SmallVector<Value> operands;
    for (Value v : op->getOperands()) {
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> to;
      if (t.getShape() == shape)
        to = blocked;
      else if (t.getNumElements() == 1)
        to = {1, 1, 1, 1, 1};
      else if (t.getRank() >= 1 && t.getShape().back() == n && t.getNumElements() == n)
        to = {1, 1, 1, blocked[3], blocked[4]};
      else
        return failure();
      operands.push_back(ReshapeOp::create(rw, op->getLoc(), withShape(t, to), v));
    }
    Operation *moved = rw.clone(*op);
    moved->setOperands(operands);
    moved->getResult(0).setType(withShape(resultType, blocked));
    rw.replaceOpWithNewOp<ReshapeOp>(op, resultType, moved->getResult(0));
    return success();
  }
};

/// pad(transpose(x, p)) -> transpose(pad(x, permuted pads), p).
struct SinkThroughPad : OpRewritePattern<PadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PadOp op, PatternRewriter &rw) const override {
    auto t = op.getInput().getDefiningOp<TransposeOp>();
    if (!t)
      return failure();
    ArrayRef<int64_t> perm = t.getPerm();
    SmallVector<int64_t> low = untransposedShape(op.getLow(), perm);
    SmallVector<int64_t> high = untransposedShape(op.getHigh(), perm);
    auto pad = PadOp::create(rw, op.getLoc(), t.getInput(), rw.getDenseI64ArrayAttr(low),
                             rw.getDenseI64ArrayAttr(high), op.getValue());
    rw.replaceOp(op, transpose(rw, op.getLoc(), pad, perm));
    return success();
  }
};

/// reduce(transpose(x, p), axes, keepdims) -> transpose(reduce(x, p[axes]), p).
struct SinkThroughReduce : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp op, PatternRewriter &rw) const override {
    auto t = op.getInput().getDefiningOp<TransposeOp>();
    if (!t || !op.getKeepdims())
      return failure();
    ArrayRef<int64_t> perm = t.getPerm();
    SmallVector<int64_t> axes;
    if (op.getAxes().empty())
      axes = llvm::to_vector(llvm::seq<int64_t>(0, perm.size()));
    else
      for (int64_t a : op.getAxes())
        axes.push_back(perm[a]);
    llvm::sort(axes);
    auto reduce = ReduceOp::create(rw, op.getLoc(), op.getKindAttr(), t.getInput(),
                                   rw.getDenseI64ArrayAttr(axes), op.getKeepdimsAttr());
    rw.replaceOp(op, transpose(rw, op.getLoc(), reduce, perm));
    return success();
  }
};

/// concat(transpose(a, p), transpose(b, p), axis) ->
/// transpose(concat(a, b, p[axis]), p).
struct SinkThroughConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op, PatternRewriter &rw) const override {
    SmallVector<Value> inputs;
    std::optional<SmallVector<int64_t>> perm;
    for (Value v : op.getInputs()) {
      auto t = v.getDefiningOp<TransposeOp>();
      if (!t || (perm && ArrayRef<int64_t>(*perm) != t.getPerm()))
        return failure();
      perm = llvm::to_vector(t.getPerm());
      inputs.push_back(t.getInput());
    }
    if (!perm)
      return failure();
    int64_t axis = (*perm)[op.getAxis()];
    auto concat = ConcatOp::create(rw, op.getLoc(), inputs, rw.getI64IntegerAttr(axis));
    rw.replaceOp(op, transpose(rw, op.getLoc(), concat, *perm));
    return success();
  }
};

struct ConvertLayoutPass : weft::impl::ConvertLayoutBase<ConvertLayoutPass> {
  using ConvertLayoutBase::ConvertLayoutBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<ConvToChannelsLast, MatMulToBlockedConv>(ctx, filterBlock);
    patterns.add<PadGemmColumns>(ctx, filterBlock / 2);
    patterns.add<SinkThroughPool, SinkThroughElementwise, SinkBlockedReshape,
                 SinkMatMulReshape, SinkThroughPad, SinkThroughReduce, SinkThroughConcat>(ctx);
    // Transposes that meet compose; those left moving unit dimensions only
    // become reshapes.
    TransposeOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns)))) {
      getOperation().emitError("internal error: the layout rewrites did not settle");
      signalPassFailure();
    }
  }
};

} // namespace
