//===- ExpandBF16.cpp - weft-cpu-expand-bf16 -----------------------------===//
//
// bf16 conversions as integer arithmetic, so the object file needs no
// compiler-rt helper on CPUs without bf16 instructions.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace weft::cpu {
#define GEN_PASS_DEF_EXPANDBF16
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;

namespace {

struct ExpandBF16Pass : weft::cpu::impl::ExpandBF16Base<ExpandBF16Pass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
