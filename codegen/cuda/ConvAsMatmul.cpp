//===- ConvAsMatmul.cpp - convolutions and ragged outputs for blocks ------===//
//
// What weft-cuda-tile-threads needs to give convolutions and outputs that
// no block divides to the shared-memory blocks (StageBlocks.cpp): an NCHW
// convolution rewritten as the matmul of its filter and its image's
// columns, its result computed in the output through the reshape back,
// and a tiling whose last block along a loop it does not divide moves back
// to overlap the one before.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/KernelConfig.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace weft;

namespace {

/// The gather that computes `image` in the dispatch (a padding lowered to a
/// linalg.generic of no inputs that reads its source with tensor.extract
/// at clamped indices and selects the pad value outside it), seen through
/// a grouped convolution's expand_shape; its result is read at the
/// gather's indices as `read` composes them.
struct ImageGather {
  linalg::GenericOp gather;
  /// expand_shape's groups (one per gather dimension), or none.
  SmallVector<ReassociationIndices> groups;
  SmallVector<int64_t> expandedShape;

  /// The gather's value at `coords` (indices of the convolution's image),
  /// its body cloned at `b` with its loop indices replaced.
  Value read(OpBuilder &b, Location loc, ValueRange coords) const {
    SmallVector<Value> at;
    if (groups.empty()) {
      at.assign(coords.begin(), coords.end());
    } else {
      // Linearize each group of expanded indices: ((i0 * s1) + i1) * s2 ...
      for (const ReassociationIndices &g : groups) {
        Value acc = coords[g[0]];
        for (int64_t d : llvm::drop_begin(g)) {
          AffineExpr x, y;
          bindDims(b.getContext(), x, y);
          acc = affine::AffineApplyOp::create(
              b, loc, AffineMap::get(2, 0, x * expandedShape[d] + y), ValueRange{acc, coords[d]});
        }
        at.push_back(acc);
      }
    }
    linalg::GenericOp op = gather;
    Block &body = op.getRegion().front();
    IRMapping map;
    for (Operation &inner : body.without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
        map.map(index.getResult(), at[index.getDim()]);
        continue;
      }
      b.clone(inner, map);
    }
    return map.lookupOrDefault(body.getTerminator()->getOperand(0));
  }
};

/// `image` as an ImageGather, when a gather computes it; none when it is a
/// dispatch input (bufferization.to_tensor, possibly reshaped) or made by
/// anything else.
std::optional<ImageGather> imageGather(Value image) {
  ImageGather g;
  Value v = image;
  if (auto expand = v.getDefiningOp<tensor::ExpandShapeOp>()) {
    g.groups = expand.getReassociationIndices();
    g.expandedShape = llvm::to_vector(expand.getResultType().getShape());
    v = expand.getSrc();
  }
  g.gather = v.getDefiningOp<linalg::GenericOp>();
  if (!g.gather || g.gather.getNumDpsInputs() != 0 || g.gather.getNumDpsInits() != 1 ||
      g.gather->getNumResults() != 1 || g.gather.getNumReductionLoops() != 0 ||
      !g.gather.getIndexingMapsArray()[0].isIdentity() ||
      !g.gather.getRegion().front().getArgument(0).use_empty())
    return std::nullopt;
  // Only values from outside the body, its indices and pure ops.
  for (Operation &op : g.gather.getRegion().front().without_terminator())
    if (!isa<linalg::IndexOp, tensor::ExtractOp>(op) && !isPure(&op))
      return std::nullopt;
  return g;
}

/// A tensor of `type` computed element by element from its indices (a
/// linalg.generic of no inputs): `element` builds the value at `idx`.
Value gatherTensor(OpBuilder &b, Location loc, RankedTensorType type,
                   function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)> element) {
  int64_t rank = type.getRank();
  Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{}, ValueRange{empty},
             ArrayRef<AffineMap>{b.getMultiDimIdentityMap(rank)},
             SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
             [&](OpBuilder &gb, Location gl, ValueRange) {
               SmallVector<Value> idx;
               for (int64_t d = 0; d < rank; ++d)
                 idx.push_back(linalg::IndexOp::create(gb, gl, d));
               linalg::YieldOp::create(gb, gl, element(gb, gl, idx));
             })
      .getResult(0);
}

} // namespace

LogicalResult cuda::convAsMatmul(linalg::LinalgOp conv) {
  // Grouped (NGCHW image, GFCHW filter, NGFHW output): one more leading
  // loop, g, shared by all three; the matmul is then batched over (n, g).
  bool grouped = isa<linalg::Conv2DNgchwGfchwOp>(conv.getOperation());
  if (!grouped && !isa<linalg::Conv2DNchwFchwOp>(conv.getOperation()))
    return failure();
  Value image = conv.getDpsInputs()[0];
  auto imageType = cast<RankedTensorType>(image.getType());
  auto filter = cast<RankedTensorType>(conv.getDpsInputs()[1].getType());
  auto out = cast<RankedTensorType>(conv.getDpsInits()[0].getType());
  if (!imageType.hasStaticShape() || !filter.hasStaticShape() || !out.hasStaticShape())
    return failure();
  // An image computed in the dispatch (its padding) is read through the
  // gather that computes it; anything else computed there is not taken.
  std::optional<ImageGather> gather = imageGather(image);
  Value source = image;
  while (auto expand = source.getDefiningOp<tensor::ExpandShapeOp>())
    source = expand.getSrc();
  if (!gather && !source.getDefiningOp<bufferization::ToTensorOp>())
    return failure();
  auto pair = [&](StringRef name) {
    SmallVector<int64_t> v = {1, 1};
    auto attr = conv->getAttrOfType<DenseIntElementsAttr>(name);
    if (attr && attr.getNumElements() == 2)
      v.assign(attr.getValues<int64_t>().begin(), attr.getValues<int64_t>().end());
    return v;
  };
  SmallVector<int64_t> strides = pair("strides"), dilations = pair("dilations");
  // Dimensions before the channels (n, or n and g) and before the filter's
  // output channels (none, or g).
  int64_t lead = grouped ? 2 : 1;
  int64_t channels = filter.getDimSize(lead),
          kh = filter.getDimSize(lead + 1), kw = filter.getDimSize(lead + 2),
          oh = out.getDimSize(lead + 1), ow = out.getDimSize(lead + 2);
  // A reduction that is not a multiple of a block's step (ResNet-50's 7x7
  // stem: 3 x 7 x 7 = 147) is padded to one (160) with products of zeros:
  // the filter's and the columns' padding are gathers that select 0 there.
  int64_t reduction = channels * kh * kw;
  int64_t padded = llvm::alignTo(reduction, kBlockReductionStep);
  bool padK = padded != reduction;
  // A 1x1 convolution of strides 1 reads the image itself as its columns,
  // copied 16 bytes at a time, which rows of OH * OW floats keep aligned
  // only where OH * OW is a multiple of 4 (else the columns are gathered,
  // element by element: ResNet-50's 7 x 7).
  bool pointwise = kh == 1 && kw == 1 &&
                   llvm::all_equal({strides[0], strides[1], dilations[0], dilations[1],
                                    int64_t(1)}) &&
                   imageType.getShape().take_back(2) == out.getShape().take_back(2) &&
                   !gather && !padK && (oh * ow) % 4 == 0;
  OpBuilder b(conv);
  Location loc = conv.getLoc();
  MLIRContext *ctx = b.getContext();
  // [n, (g,) c, h, w] -> [n, (g,) c, h * w]; the filter's [(g,) f, c, kh, kw]
  // -> [(g,) f, c * kh * kw].
  SmallVector<ReassociationIndices> positions, rows;
  for (int64_t d = 0; d <= lead; ++d)
    positions.push_back({d});
  positions.push_back({lead + 1, lead + 2});
  for (int64_t d = 0; d < lead - 1; ++d)
    rows.push_back({d});
  rows.push_back({lead - 1});
  rows.push_back({lead, lead + 1, lead + 2});
  Type elem = imageType.getElementType();
  // For a padded reduction: reduction index `k` clamped into the real ones,
  // and `value` (read there) where `k` is real, else 0.
  auto realK = [&](OpBuilder &gb, Location gl, Value k) -> Value {
    if (!padK)
      return k;
    return arith::MinSIOp::create(gb, gl, k,
                                  arith::ConstantIndexOp::create(gb, gl, reduction - 1));
  };
  auto zeroPastK = [&](OpBuilder &gb, Location gl, Value k, Value value) -> Value {
    if (!padK)
      return value;
    Value real = arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::slt, k,
                                       arith::ConstantIndexOp::create(gb, gl, reduction));
    Value zero = arith::ConstantOp::create(gb, gl, gb.getZeroAttr(elem));
    return arith::SelectOp::create(gb, gl, real, value, zero);
  };
  Value columns;
  if (pointwise) {
    columns = tensor::CollapseShapeOp::create(b, loc, image, positions);
  } else {
    SmallVector<int64_t> shape(imageType.getShape().take_front(lead));
    shape.append({padded, oh * ow});
    auto type = RankedTensorType::get(shape, imageType.getElementType());
    AffineExpr k, p;
    bindDims(ctx, k, p);
    SmallVector<AffineExpr> at = {
        k.floorDiv(kh * kw), p.floorDiv(ow) * strides[0] + (k.floorDiv(kw) % kh) * dilations[0],
        (p % ow) * strides[1] + (k % kw) * dilations[1]};
    columns = gatherTensor(b, loc, type, [&](OpBuilder &gb, Location gl, ArrayRef<Value> idx) {
      SmallVector<Value> coords(idx.begin(), idx.begin() + lead);
      Value row = realK(gb, gl, idx[lead]);
      for (AffineExpr e : at)
        coords.push_back(affine::AffineApplyOp::create(gb, gl, AffineMap::get(2, 0, e),
                                                       ValueRange{row, idx[lead + 1]}));
      Value value = gather ? gather->read(gb, gl, coords)
                           : tensor::ExtractOp::create(gb, gl, image, coords).getResult();
      return zeroPastK(gb, gl, idx[lead], value);
    });
  }
  Value w = tensor::CollapseShapeOp::create(b, loc, conv.getDpsInputs()[1], rows);
  if (padK) {
    // [(g,) f, padded]: the filter's rows, 0 past the real reduction.
    auto wType = cast<RankedTensorType>(w.getType());
    SmallVector<int64_t> shape(wType.getShape());
    shape.back() = padded;
    Value filterRows = w;
    w = gatherTensor(b, loc, RankedTensorType::get(shape, elem),
                     [&](OpBuilder &gb, Location gl, ArrayRef<Value> idx) {
                       SmallVector<Value> at(idx);
                       at.back() = realK(gb, gl, idx.back());
                       Value value = tensor::ExtractOp::create(gb, gl, filterRows, at);
                       return zeroPastK(gb, gl, idx.back(), value);
                     });
  }
  Value init = tensor::CollapseShapeOp::create(b, loc, conv.getDpsInits()[0], positions);
  // Loops (n, (g,) f, p, k): filter ((g,) f, k), columns (n, (g,) k, p),
  // output (n, (g,) f, p).
  int64_t loops = lead + 3;
  auto dim = [&](int64_t d) { return getAffineDimExpr(d, ctx); };
  AffineExpr df = dim(lead), dp = dim(lead + 1), dk = dim(lead + 2);
  SmallVector<AffineExpr> wExprs, cExprs, oExprs;
  for (int64_t d = 0; d < lead; ++d) {
    if (d > 0)
      wExprs.push_back(dim(d));
    cExprs.push_back(dim(d));
    oExprs.push_back(dim(d));
  }
  wExprs.append({df, dk});
  cExprs.append({dk, dp});
  oExprs.append({df, dp});
  SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, wExprs, ctx),
                                 AffineMap::get(loops, 0, cExprs, ctx),
                                 AffineMap::get(loops, 0, oExprs, ctx)};
  SmallVector<utils::IteratorType> iters(loops - 1, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  // The convolution's own body (multiply-add, with its casts), its
  // (image, filter, acc) arguments taken from (filter, columns, acc).
  Block &body = conv->getRegion(0).front();
  auto product = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{w, columns}, ValueRange{init}, maps, iters,
      [&](OpBuilder &gb, Location, ValueRange args) {
        IRMapping map;
        map.map(body.getArgument(0), args[1]);
        map.map(body.getArgument(1), args[0]);
        map.map(body.getArgument(2), args[2]);
        for (Operation &op : body)
          gb.clone(op, map);
      });
  Value expanded =
      tensor::ExpandShapeOp::create(b, loc, out, product.getResult(0), positions);
  conv->replaceAllUsesWith(ValueRange{expanded});
  conv->erase();
  return success();
}

LogicalResult cuda::writeThroughReshape(func::FuncOp fn) {
  SmallVector<bufferization::MaterializeInDestinationOp> sinks;
  fn.walk([&](bufferization::MaterializeInDestinationOp m) { sinks.push_back(m); });
  if (sinks.size() != 1)
    return failure();
  auto expand = sinks[0].getSource().getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand)
    return success();
  auto op = expand.getSrc().getDefiningOp<linalg::LinalgOp>();
  for (int depth = 0; op && depth < 8; ++depth) {
    if (op.getNumDpsInits() != 1)
      return success();
    // A tensor.empty of the result's shape, or of the output's collapsed
    // as the expand_shape undoes (a convolution's init, reshaped).
    Value init = op.getDpsInits()[0];
    auto collapse = init.getDefiningOp<tensor::CollapseShapeOp>();
    auto empty = collapse ? collapse.getSrc().getDefiningOp<tensor::EmptyOp>()
                          : init.getDefiningOp<tensor::EmptyOp>();
    if (empty) {
      if (!empty->hasOneUse() || !isa<MemRefType>(sinks[0].getDest().getType()) ||
          (collapse && collapse.getReassociationIndices() != expand.getReassociationIndices()))
        return success();
      OpBuilder b(init.getDefiningOp());
      Value out = bufferization::ToTensorOp::create(b, empty.getLoc(), expand.getResultType(),
                                                    sinks[0].getDest(), /*restrict=*/true,
                                                    /*writable=*/true);
      init.replaceAllUsesWith(tensor::CollapseShapeOp::create(
          b, empty.getLoc(), init.getType(), out, expand.getReassociationIndices()));
      if (collapse)
        collapse.erase();
      empty.erase();
      return success();
    }
    op = init.getDefiningOp<linalg::LinalgOp>();
  }
  return success();
}

LogicalResult cuda::tileRootIntoOverlappingForall(TilingInterface root, ArrayRef<int64_t> sizes) {
  MLIRContext *ctx = root->getContext();
  auto header = [&](RewriterBase &rw, Location loc, ArrayRef<Range> ranges,
                    ArrayRef<OpFoldResult> tileSizes, ValueRange destinations)
      -> FailureOr<scf::SCFTilingOptions::CustomLoopHeaderInfo> {
    SmallVector<OpFoldResult> counts;
    SmallVector<int64_t> extents;
    for (auto [range, tile] : llvm::zip(ranges, tileSizes)) {
      std::optional<int64_t> size = getConstantIntValue(range.size);
      std::optional<int64_t> t = getConstantIntValue(tile);
      std::optional<int64_t> offset = getConstantIntValue(range.offset);
      if (!size || !t || offset != 0 || *t < 0 || *t > *size)
        return failure();
      extents.push_back(*size);
      if (*t != 0)
        counts.push_back(rw.getIndexAttr(llvm::divideCeil(*size, *t)));
    }
    auto forall = scf::ForallOp::create(rw, loc, counts, destinations, std::nullopt);
    rw.setInsertionPoint(forall.getTerminator());
    scf::SCFTilingOptions::CustomLoopHeaderInfo info;
    info.loops.push_back(cast<LoopLikeOpInterface>(forall.getOperation()));
    AffineExpr iv = rw.getAffineDimExpr(0);
    unsigned next = 0;
    for (auto [size, tile] : llvm::zip(extents, tileSizes)) {
      int64_t t = *getConstantIntValue(tile);
      if (t == 0) {
        info.tileOffset.push_back(rw.getIndexAttr(0));
        info.tileSizes.push_back(rw.getIndexAttr(size));
        continue;
      }
      Value index = forall.getInductionVar(next++);
      SmallVector<AffineExpr> starts = {iv * t};
      if (size % t != 0)
        starts.push_back(rw.getAffineConstantExpr(size - t));
      AffineMap map = AffineMap::get(1, 0, starts, ctx);
      info.tileOffset.push_back(
          starts.size() == 1
              ? affine::makeComposedFoldedAffineApply(rw, loc, map, ArrayRef<OpFoldResult>{index})
              : affine::makeComposedFoldedAffineMin(rw, loc, map, ArrayRef<OpFoldResult>{index}));
      info.tileSizes.push_back(rw.getIndexAttr(t));
    }
    llvm::append_range(info.destinationTensors, forall.getRegionIterArgs());
    return info;
  };
  auto terminator = [&](RewriterBase &rw, Location loc, ArrayRef<LoopLikeOpInterface> loops,
                        ValueRange results, ArrayRef<SmallVector<OpFoldResult>> offsets,
                        ArrayRef<SmallVector<OpFoldResult>> resultSizes,
                        ValueRange destinations) -> LogicalResult {
    auto forall = cast<scf::ForallOp>(LoopLikeOpInterface(loops.front()).getOperation());
    rw.setInsertionPointToStart(forall.getTerminator().getBody());
    for (auto [result, offset, size, dest] :
         llvm::zip(results, offsets, resultSizes, destinations)) {
      SmallVector<OpFoldResult> strides(offset.size(), rw.getIndexAttr(1));
      tensor::ParallelInsertSliceOp::create(rw, loc, result, dest, offset, size, strides);
    }
    return success();
  };
  scf::SCFTilingOptions tiling;
  tiling.setLoopType(scf::SCFTilingOptions::LoopType::CustomOp);
  tiling.setTileSizes(getAsIndexOpFoldResult(ctx, sizes));
  tiling.setCustomLoopGenerationFns(header, terminator);
  return cpu::tileRootAndFuse(root, tiling);
}
