//===- Bufferize.cpp - weft-cpu-bufferize --------------------------------===//
//
// Bufferizes dispatch functions one at a time. Workgroup-local temporaries
// go on the stack: they are small (one tile) and the run must not allocate.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Transforms.h"

namespace weft::cpu {
#define GEN_PASS_DEF_BUFFERIZE
#include "codegen/cpu/Passes.h.inc"
} // namespace weft::cpu

using namespace mlir;
using namespace weft;
using namespace weft::cpu;

namespace {
struct BufferizePass : weft::cpu::impl::BufferizeBase<BufferizePass> {
  void runOnOperation() override {
    bufferization::OneShotBufferizationOptions options;
    options.bufferizeFunctionBoundaries = false;
    options.setFunctionBoundaryTypeConversion(
        bufferization::LayoutMapOption::IdentityLayoutMap);
    options.allocationFn = [](OpBuilder &b, Location loc, MemRefType type,
                              ValueRange dynShape, unsigned alignment) -> FailureOr<Value> {
      return memref::AllocaOp::create(b, loc, type, dynShape,
                                      b.getI64IntegerAttr(std::max(alignment, 64u)))
          .getResult();
    };
    options.memCpyFn = [](OpBuilder &b, Location loc, Value from, Value to) {
      linalg::CopyOp::create(b, loc, from, to);
      return success();
    };
    for (auto fn : llvm::to_vector(getOperation().getOps<func::FuncOp>())) {
      if (!fn->hasAttr(kDispatchFnAttr))
        continue;
      bufferization::BufferizationState state;
      if (failed(bufferization::runOneShotBufferize(fn, options, state)))
        return signalPassFailure();
    }
  }
};
} // namespace
