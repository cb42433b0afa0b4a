//===- PipelineStages.h - a function cut into pipeline stages ---*- C++ -*-===//
//
// The pipeline plan of weft-partition: the ops of the entry function (at
// micro-batch size) cut into one stage per device, and the values that
// cross from a stage to a later one sent and received at the cuts.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_PASSES_PIPELINESTAGES_H
#define WEFT_PASSES_PIPELINESTAGES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace weft {

/// What one stage does for one micro-batch, by the cost model.
struct PipelineStage {
  int64_t ops = 0;         ///< operations that do work
  double computeUs = 0;    ///< their estimated time
  double transferUs = 0;   ///< its sends and receives
  int64_t weightBytes = 0; ///< bytes of the weights its ops read
  int64_t inBytes = 0, outBytes = 0; ///< received and sent per micro-batch
  std::string first, last; ///< the ONNX nodes that open and close it
};

/// One value sent from a stage to a later one.
struct PipelineTransfer {
  int64_t from, to, bytes;
  std::string what; ///< the node that made it, or the input
};

struct PipelinePlan {
  llvm::SmallVector<PipelineStage> stages;
  llvm::SmallVector<PipelineTransfer> transfers;
  /// The slowest stage's time per micro-batch (compute and transfers).
  double stepUs = 0;
};

/// Cuts `fn` (one block, no regions at the top level) into `devices`
/// stages. With `annotatedNodes`, a node's `pipeline_stage` annotation
/// fixes its stage (an op without one follows the op before it); else the
/// cut points minimize the slowest stage's time per micro-batch by
/// `opUs` (an op's time) and `transferUs` (the time to move so many bytes
/// from a stage to the next). Each value a later stage uses is sent once
/// (`shard.send` at the end of its stage, `weft.stage` = the sender) and
/// received once (`shard.recv` at the start of the stage that needs it,
/// `weft.stage` = the receiver); model outputs reach the last stage.
/// Reports a located error when the plan cannot be built.
mlir::LogicalResult stagePipeline(mlir::func::FuncOp fn, int64_t devices,
                                  mlir::DictionaryAttr annotatedNodes,
                                  llvm::function_ref<double(mlir::Operation *)> opUs,
                                  llvm::function_ref<double(int64_t)> transferUs,
                                  PipelinePlan &plan);

} // namespace weft

#endif // WEFT_PASSES_PIPELINESTAGES_H
