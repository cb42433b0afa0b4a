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

/// A Concat lowers to a chain of tensor.insert_slice ops threading the
/// output buffer from its to_tensor to a materialize_in_destination. One-shot
/// analysis re-walks the whole chain for every conflict check, which made
/// compile time cubic in the number of pieces (a 200-way Concat took 46 s).
/// The chain says nothing more than "copy each piece into its window of the
/// output", so it is written that way directly: one subview and one
/// materialize_in_destination per piece, each analysed on its own.
void splitInsertSliceChains(func::FuncOp fn) {
  SmallVector<bufferization::MaterializeInDestinationOp> sinks;
  fn.walk([&](bufferization::MaterializeInDestinationOp m) {
    if (isa<BaseMemRefType>(m.getDest().getType()))
      sinks.push_back(m);
  });
  for (auto sink : sinks) {
    // Walk back from the sink to the chain's root.
    SmallVector<tensor::InsertSliceOp> chain;
    Value v = sink.getSource();
    while (auto insert = v.getDefiningOp<tensor::InsertSliceOp>()) {
      if (!insert.getResult().hasOneUse() ||
          insert.getSourceType().getRank() != insert.getDestType().getRank())
        break;
      chain.push_back(insert);
      v = insert.getDest();
    }
    auto root = v.getDefiningOp<bufferization::ToTensorOp>();
    if (chain.size() < 2 || !root || root.getBuffer() != sink.getDest() ||
        !root->hasOneUse())
      continue;
    OpBuilder b(sink);
    for (tensor::InsertSliceOp insert : llvm::reverse(chain)) {
      Value window = memref::SubViewOp::create(
          b, insert.getLoc(), sink.getDest(), insert.getMixedOffsets(),
          insert.getMixedSizes(), insert.getMixedStrides());
      auto copy = bufferization::MaterializeInDestinationOp::create(
          b, insert.getLoc(), TypeRange{}, insert.getSource(), window);
      copy.setWritable(true);
    }
    sink.erase();
    for (tensor::InsertSliceOp insert : chain)
      insert.erase();
    root.erase();
  }
}

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
      splitInsertSliceChains(fn);
      bufferization::BufferizationState state;
      if (failed(bufferization::runOneShotBufferize(fn, options, state)))
        return signalPassFailure();
    }
  }
};
} // namespace
