//===- ExpandBF16.cpp - weft-cpu-expand-bf16 -----------------------------===//
//
// bf16 conversions as integer arithmetic, so the object file needs no
// compiler-rt helper on CPUs without bf16 instructions. Arithmetic and
// math on bf16 values (scalars or vectors) first computes in f32 between
// an extf and a truncf, as onnxruntime computes bf16 ops (one rounding per
// op); LLVM would otherwise promote it itself and call the helper.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace weft::cpu {
#define GEN_PASS_DEF_EXPANDBF16
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;

namespace {

bool isBF16(Type t) { return getElementTypeOrSelf(t).isBF16(); }

Type widened(Type t, Type f32) {
  if (auto v = dyn_cast<VectorType>(t))
    return v.clone(f32);
  return f32;
}

/// An arith or math op, or a vector FMA, reduction, contraction or outer
/// product, with a bf16 operand or result: the same op on f32, its bf16
/// operands extended and its bf16 results truncated. Conversions,
/// constants, bitcasts and selects (no arithmetic) are left alone.
struct ComputeBF16InF32 : RewritePattern {
  ComputeBF16InF32(MLIRContext *ctx) : RewritePattern(MatchAnyOpTypeTag(), 1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rw) const override {
    StringRef dialect = op->getDialect() ? op->getDialect()->getNamespace() : "";
    bool candidate = dialect == "math" || dialect == "arith" ||
                     isa<vector::FMAOp, vector::ReductionOp, vector::MultiDimReductionOp,
                         vector::ContractionOp, vector::OuterProductOp>(op);
    if (!candidate || op->getNumRegions() != 0 ||
        isa<arith::ExtFOp, arith::TruncFOp, arith::ConstantOp, arith::BitcastOp,
            arith::SelectOp>(op))
      return failure();
    if (llvm::none_of(op->getOperandTypes(), isBF16) &&
        llvm::none_of(op->getResultTypes(), isBF16))
      return failure();
    Location loc = op->getLoc();
    Type f32 = rw.getF32Type();
    IRMapping mapping;
    for (Value v : op->getOperands())
      if (isBF16(v.getType()))
        mapping.map(v, arith::ExtFOp::create(rw, loc, widened(v.getType(), f32), v));
    // A clone keeps the op's properties (predicates, maps, kinds).
    Operation *wide = rw.clone(*op, mapping);
    for (OpResult r : wide->getResults())
      if (isBF16(r.getType()))
        r.setType(widened(r.getType(), f32));
    SmallVector<Value> results;
    for (auto [r, t] : llvm::zip(wide->getResults(), op->getResultTypes()))
      results.push_back(isBF16(t) ? (Value)arith::TruncFOp::create(rw, loc, t, r) : r);
    rw.replaceOp(op, results);
    return success();
  }
};

/// bf16 block arguments (values carried around a loop after the SCF to CF
/// conversion) become i16, bitcast back at the top of their block and from
/// bf16 at every branch into it: a bf16 value that lives in a register
/// across blocks is otherwise promoted to f32 by LLVM, which calls
/// __truncsfbf2 to narrow it again.
void carryBF16AsI16(func::FuncOp fn) {
  OpBuilder b(fn.getContext());
  Type i16 = b.getIntegerType(16);
  for (Block &block : fn.getBody()) {
    if (block.isEntryBlock())
      continue;
    for (BlockArgument arg : block.getArguments()) {
      Type type = arg.getType();
      if (!isBF16(type))
        continue;
      Type bits = isa<VectorType>(type) ? cast<VectorType>(type).clone(i16) : i16;
      arg.setType(bits);
      b.setInsertionPointToStart(&block);
      Value value = arith::BitcastOp::create(b, arg.getLoc(), type, arg);
      arg.replaceAllUsesExcept(value, value.getDefiningOp());
      for (Block *pred : block.getPredecessors()) {
        auto branch = cast<BranchOpInterface>(pred->getTerminator());
        for (unsigned i = 0, e = branch->getNumSuccessors(); i < e; ++i) {
          if (branch->getSuccessor(i) != &block)
            continue;
          SuccessorOperands forwarded = branch.getSuccessorOperands(i);
          OpOperand &use = forwarded.getMutableForwardedOperands()
                               [arg.getArgNumber() - forwarded.getProducedOperandCount()];
          b.setInsertionPoint(branch);
          use.set(arith::BitcastOp::create(b, branch->getLoc(), bits, use.get()));
        }
      }
    }
  }
}

struct ExpandBF16Pass : weft::cpu::impl::ExpandBF16Base<ExpandBF16Pass> {
  void runOnOperation() override {
    carryBF16AsI16(getOperation());
    {
      RewritePatternSet promote(&getContext());
      promote.add<ComputeBF16InF32>(&getContext());
      if (failed(applyPatternsGreedily(getOperation(), std::move(promote))))
        return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
