//===- LowerToLinalg.cpp - weft-lower-to-linalg --------------------------===//
//
// Drives the per-op lowerings of Lowering.h over every dispatch body. First
// signedness leaves the types (linalg and arith need signless integers): each
// weft op that computed on unsigned integers is tagged, and the entry
// function records its unsigned-aware signature for the ABI. Then each op is
// replaced in place, in program order.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Lowering.h"
#include "codegen/cpu/Passes.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace weft::cpu {
#define GEN_PASS_DEF_LOWERTOLINALG
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {

bool isUnsignedElement(Type t) {
  auto st = dyn_cast<ShapedType>(t);
  return st && st.getElementType().isUnsignedInteger();
}

/// `t` with its (element) integer type made signless.
Type signless(Type t) {
  if (auto it = dyn_cast<IntegerType>(t))
    return it.isSignless() ? t : IntegerType::get(t.getContext(), it.getWidth());
  if (auto rt = dyn_cast<RankedTensorType>(t))
    return rt.clone(signless(rt.getElementType()));
  if (auto ft = dyn_cast<FunctionType>(t)) {
    auto map = [](TypeRange r) {
      return llvm::to_vector(llvm::map_range(r, [](Type x) { return signless(x); }));
    };
    return FunctionType::get(t.getContext(), map(ft.getInputs()), map(ft.getResults()));
  }
  return t;
}

Attribute signlessAttr(Attribute a) {
  if (auto dense = dyn_cast<DenseElementsAttr>(a))
    if (dense.getElementType().isUnsignedInteger())
      return dense.bitcast(signless(dense.getElementType()));
  if (auto i = dyn_cast<IntegerAttr>(a))
    if (i.getType().isUnsignedInteger())
      return IntegerAttr::get(signless(i.getType()), i.getValue());
  return a;
}

/// Records on every weft op whether its integers were unsigned, then drops
/// signedness from every type and attribute in the module. The entry
/// functions keep their signed-aware signature for the ABI.
void dropSignedness(ModuleOp module) {
  Builder b(module.getContext());
  module.walk([&](func::FuncOp fn) {
    if (fn->hasAttr("weft.abi_input_types"))
      return;
    auto type = fn.getFunctionType();
    fn->setAttr("weft.abi_input_types", b.getTypeArrayAttr(type.getInputs()));
    fn->setAttr("weft.abi_output_types", b.getTypeArrayAttr(type.getResults()));
  });
  // Tag everything before changing any type: a walk that did both at once
  // would strip an operand (a constant, visited first) before its user is
  // tagged.
  module.walk([&](Operation *op) {
    if (isa<WeftDialect>(op->getDialect()) && !isa<DispatchOp, YieldOp>(op)) {
      if (llvm::any_of(op->getOperandTypes(), isUnsignedElement))
        op->setAttr(kUnsignedOperandsAttr, b.getUnitAttr());
      if (llvm::any_of(op->getResultTypes(), isUnsignedElement))
        op->setAttr(kUnsignedResultAttr, b.getUnitAttr());
    }
  });
  module.walk([&](Operation *op) {
    for (Value r : op->getResults())
      r.setType(signless(r.getType()));
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          arg.setType(signless(arg.getType()));
    if (auto fn = dyn_cast<func::FuncOp>(op))
      fn.setType(cast<FunctionType>(signless(fn.getFunctionType())));
    // Inherent attributes (constant values, clip bounds) included.
    for (NamedAttribute attr : op->getAttrDictionary())
      if (Attribute n = signlessAttr(attr.getValue()); n != attr.getValue())
        op->setAttr(attr.getName(), n);
  });
}

/// A contraction whose only user, an all-parallel generic, reads its result
/// through a permutation (a transpose after a batched matmul, which the
/// elementwise fusion folded into the ops after it) writes its result in
/// that user's order instead: its output map composed with the
/// permutation's inverse, its zero fill of that shape. The user then reads
/// it through the identity, as the contraction's epilogue, and nothing is
/// transposed in memory.
void writeContractionsInConsumerOrder(Region &body) {
  SmallVector<linalg::GenericOp> contractions;
  body.walk([&](linalg::GenericOp g) {
    if (g.getNumReductionLoops() > 0)
      contractions.push_back(g);
  });
  IRRewriter rw(body.getContext());
  for (linalg::GenericOp g : contractions) {
    if (g.getNumDpsInits() != 1 || g->getNumResults() != 1 || !g.hasPureTensorSemantics() ||
        !g->getResult(0).hasOneUse())
      continue;
    OpOperand &use = *g->getResult(0).getUses().begin();
    auto user = dyn_cast<linalg::GenericOp>(use.getOwner());
    auto fill = g.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
    if (!user || !fill || !user.isDpsInput(&use) || user.getNumReductionLoops() != 0 ||
        user.getNumDpsInits() != 1 || !user.hasPureTensorSemantics())
      continue;
    AffineMap perm = user.getMatchingIndexingMap(&use);
    SmallVector<int64_t> shape = user.getStaticLoopRanges();
    if (!perm.isPermutation() || perm.isIdentity() ||
        !user.getMatchingIndexingMap(user.getDpsInitOperand(0)).isIdentity() ||
        ShapedType::isDynamicShape(shape))
      continue;
    Location loc = g.getLoc();
    Type element = getElementTypeOrSelf(g->getResult(0).getType());
    rw.setInsertionPoint(g);
    Value empty = tensor::EmptyOp::create(rw, loc, shape, element);
    Value init =
        linalg::FillOp::create(rw, loc, ValueRange{fill.getInputs()[0]}, ValueRange{empty})
            .getResult(0);
    SmallVector<AffineMap> maps = g.getIndexingMapsArray();
    maps.back() = inversePermutation(perm).compose(maps.back());
    auto moved = linalg::GenericOp::create(rw, loc, TypeRange{init.getType()}, g.getDpsInputs(),
                                           ValueRange{init}, maps, g.getIteratorTypesArray());
    moved->setDiscardableAttrs(g->getDiscardableAttrDictionary());
    rw.inlineRegionBefore(g.getRegion(), moved.getRegion(), moved.getRegion().begin());
    SmallVector<AffineMap> userMaps = user.getIndexingMapsArray();
    userMaps[use.getOperandNumber()] = rw.getMultiDimIdentityMap(user.getNumLoops());
    rw.modifyOpInPlace(user, [&] {
      use.set(moved->getResult(0));
      user.setIndexingMapsAttr(rw.getAffineMapArrayAttr(userMaps));
    });
    rw.eraseOp(g);
    if (fill->use_empty())
      rw.eraseOp(fill);
  }
}

struct LowerToLinalgPass : weft::cpu::impl::LowerToLinalgBase<LowerToLinalgPass> {
  void runOnOperation() override {
    dropSignedness(getOperation());
    SmallVector<DispatchOp> dispatches;
    getOperation().walk([&](DispatchOp d) { dispatches.push_back(d); });
    OpBuilder builder(&getContext());
    for (DispatchOp dispatch : dispatches) {
      SmallVector<Operation *> ops;
      for (Operation &op : dispatch.getBody().front().without_terminator())
        ops.push_back(&op);
      int64_t numWeftOps = llvm::count_if(
          ops, [](Operation *op) { return isa<WeftDialect>(op->getDialect()); });
      for (Operation *op : ops) {
        if (!isa<WeftDialect>(op->getDialect()))
          continue;
        builder.setInsertionPoint(op);
        FailureOr<Value> replacement = lowerOne(builder, op);
        if (failed(replacement))
          return signalPassFailure();
        op->getResult(0).replaceAllUsesWith(*replacement);
        op->erase();
      }
      // A reduction over an empty axis (a sum of no terms) computes
      // nothing: its results are its inits (the identity it starts from).
      // Tiling its empty loop would make tiles of no elements. Ops whose
      // results are empty themselves stay: they write nothing anyway.
      SmallVector<linalg::LinalgOp> empty;
      dispatch.getBody().walk([&](linalg::LinalgOp op) {
        if (!op.hasPureTensorSemantics() || op->getNumResults() != op.getNumDpsInits())
          return;
        bool emptyReduction = false, emptyResult = false;
        for (auto [range, iter] :
             llvm::zip(op.getStaticLoopRanges(), op.getIteratorTypesArray())) {
          emptyReduction |= range == 0 && iter == utils::IteratorType::reduction;
          emptyResult |= range == 0 && iter == utils::IteratorType::parallel;
        }
        if (emptyReduction && !emptyResult)
          empty.push_back(op);
      });
      for (linalg::LinalgOp op : empty) {
        op->replaceAllUsesWith(op.getDpsInits());
        op->erase();
      }
      // f16 and bf16 sums accumulate in f32, rounded once.
      bool halfReductions = widenHalfAccumulators(dispatch.getBody());
      // A fused elementwise chain becomes one generic whose body computes
      // the whole chain per element: no temporaries between the links.
      if (numWeftOps > 1 || halfReductions) {
        // A transpose in a dispatch with other ops (a split reduction's A,
        // weft-split-reduction) folds into its consumer's indexing map.
        SmallVector<linalg::TransposeOp> transposes;
        dispatch.getBody().walk([&](linalg::TransposeOp t) { transposes.push_back(t); });
        IRRewriter rewriter(&getContext());
        for (linalg::TransposeOp t : transposes) {
          rewriter.setInsertionPoint(t);
          (void)linalg::generalizeNamedOp(rewriter, t);
        }
        // In a dispatch whose elementwise ops form a graph (GELU after a
        // matmul), a value that several of them read is computed in each.
        bool dag = dispatch->hasAttr(kElementwiseDagAttr);
        RewritePatternSet patterns(&getContext());
        linalg::populateElementwiseOpsFusionPatterns(patterns, [dag](OpOperand *operand) {
          if (operand->get().hasOneUse())
            return true;
          return dag && llvm::all_of(operand->get().getUsers(), [](Operation *u) {
                   auto g = dyn_cast<linalg::GenericOp>(u);
                   return g && g.getNumReductionLoops() == 0;
                 });
        });
        if (failed(applyPatternsGreedily(dispatch.getBody(), std::move(patterns))))
          return signalPassFailure();
        writeContractionsInConsumerOrder(dispatch.getBody());
      }
      // A matmul [B.., M, K] x [K, N] is a 2-D one whose result is
      // expanded back (lowerMatMul); its epilogue (a weft-form-dispatches
      // option) then collapses to 2-D too, so that it fuses into the
      // matmul's tiles instead of meeting the reshape.
      if (numWeftOps > 1) {
        RewritePatternSet patterns(&getContext());
        linalg::populateFoldReshapeOpsByCollapsingPatterns(patterns, [](OpOperand *operand) {
          auto expand = operand->get().getDefiningOp<tensor::ExpandShapeOp>();
          return expand && expand.getSrc().getDefiningOp<linalg::MatmulOp>();
        });
        if (failed(applyPatternsGreedily(dispatch.getBody(), std::move(patterns))))
          return signalPassFailure();
      }
    }
  }

  FailureOr<Value> lowerOne(OpBuilder &b, Operation *op) {
    if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      auto type = reshape.getType();
      SmallVector<int64_t> dims(type.getShape());
      auto shapeType = RankedTensorType::get({(int64_t)dims.size()}, b.getI64Type());
      Value shape = arith::ConstantOp::create(
          b, op->getLoc(), DenseElementsAttr::get(shapeType, ArrayRef<int64_t>(dims)));
      return tensor::ReshapeOp::create(b, op->getLoc(), type, reshape.getInput(), shape)
          .getResult();
    }
    bool handled = false;
    FailureOr<Value> r = lowerElementwise(b, op, handled);
    if (handled)
      return r;
    r = lowerStructured(b, op, handled);
    if (handled)
      return r;
    return op->emitError("no CPU lowering for '") << op->getName() << "'";
  }
};

} // namespace
