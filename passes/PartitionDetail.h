//===- PartitionDetail.h - weft-partition's parts, shared -------*- C++ -*-===//
//
// What the files of weft-partition share: the Partitioner, which applies
// each op's rule to the entry function and builds the ops a plan inserts
// (PartitionRules.cpp, PartitionCollectives.cpp), and the prediction and
// explanation of a split program (PartitionPredict.cpp) that the pass
// (Partition.cpp) asks for once a plan is applied. Internal to the pass.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_PASSES_PARTITIONDETAIL_H
#define WEFT_PASSES_PARTITIONDETAIL_H

#include "passes/CostModel.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace weft::detail {

/// A value's split when no axis is cut: whole on every device.
inline constexpr int64_t kWhole = -1;

/// The ONNX node an op came from, for messages: "'name' (Type)".
std::string nodeOf(mlir::Operation *op);

int64_t rankOf(mlir::Value v);
llvm::ArrayRef<int64_t> shapeOf(mlir::Value v);
int64_t bytesOf(mlir::Type type);

/// Why an op cannot keep its operands' splits; empty when it can.
using Why = std::string;

/// Splits the entry function: the rules, and the ops a plan inserts
/// (weight parts, gathers, all-reduces). New ops are built with whole
/// (global) types and a split like every other value; the last step
/// divides every split dimension.
class Partitioner {
public:
  Partitioner(mlir::func::FuncOp fn, int64_t devices, bool tensor,
              mlir::DictionaryAttr annotatedNodes)
      : fn(fn), devices(devices), tensor(tensor), annotatedNodes(annotatedNodes),
        b(fn.getContext()) {}

  mlir::func::FuncOp fn;
  int64_t devices;
  bool tensor;
  /// The axis of the grid of devices whose devices share the parts (a
  /// hybrid's tensor plan runs along axis 1 of its 2-D grid).
  int16_t gridAxis = 0;
  /// The annotated plan: each ONNX node's annotations (null otherwise);
  /// weights are split only where a node asks.
  mlir::DictionaryAttr annotatedNodes;
  mlir::OpBuilder b;
  llvm::DenseMap<mlir::Value, int64_t> split;
  llvm::SmallVector<std::string> notes; ///< decisions, for --explain-parallel
  struct Collective {
    std::string what;
    int64_t bytes;
  };
  llvm::SmallVector<Collective> collectives;
  int64_t partedWeightBytes = 0; ///< stacked weights: each device reads 1/devices
  /// Under MPI: bytes rank 0 sends of the inputs and receives of the outputs.
  int64_t scatteredBytes = 0, gatheredBytes = 0;

  int64_t splitOf(mlir::Value v) const {
    auto it = split.find(v);
    return it == split.end() ? kWhole : it->second;
  }

  /// The annotation of the ONNX node `op` came from, when annotated.
  mlir::DictionaryAttr annotationOf(mlir::Operation *op) const;

  /// The annotated weight split of a MatMul, Gemm or Conv: "column",
  /// "row", or empty.
  llvm::StringRef weightSplitOf(mlir::Operation *op) const;

  /// Applies `op`'s rule; in the tensor plan an op that cannot take its
  /// split operands gets them whole.
  mlir::LogicalResult visit(mlir::Operation *op);

  /// Divides every split dimension by the number of devices.
  void shrink();

  /// Set for the pipeline plan, whose batch is cut into micro-batches.
  const char *label = nullptr;
  const char *planName() const {
    return label ? label : tensor ? "tensor parallel" : "data parallel";
  }

  /// `v` whole on every device, gathered from the devices' parts.
  mlir::Value gatherWhole(mlir::Value v, mlir::Operation *before);

  /// Every device holds a part of the sum in `partial`: an all-reduce
  /// after `op` gives its users the sum.
  void reduceAfter(mlir::Operation *op, mlir::Value partial);

private:
  llvm::DenseMap<std::pair<mlir::Operation *, int64_t>, mlir::Value> parts;
  bool mustFail = false; ///< the last rule's failure is not to be gathered away
  llvm::DenseMap<mlir::Value, mlir::Value> gathered;

  // The rules (PartitionRules.cpp).
  Why rule(mlir::Operation *op, llvm::ArrayRef<int64_t> in,
           llvm::SmallVectorImpl<int64_t> &out);

  // The decisions --explain-parallel prints.
  void noteColumns(mlir::Operation *op, int64_t n);
  void noteRows(mlir::Operation *op, int64_t k, llvm::StringRef bias);
  void noteWhole(mlir::Operation *op, const std::string &what);

  /// The tensor plan's weight splits: a matmul, Gemm or group-1
  /// convolution with a constant weight is column-parallel when its input
  /// is whole, row-parallel (then all-reduced) when its input is split on
  /// the contracted axis. Nothing when neither applies.
  std::optional<Why> weightSplits(mlir::Operation *op, llvm::ArrayRef<int64_t> in,
                                  llvm::SmallVectorImpl<int64_t> &out);

  /// weightSplits; an annotated split that cannot be made is an error,
  /// never a weight silently kept whole.
  std::optional<Why> weightParallel(mlir::Operation *op, llvm::ArrayRef<int64_t> in,
                                    llvm::SmallVectorImpl<int64_t> &out);

  Why broadcast(mlir::Operation *op, llvm::ArrayRef<int64_t> in,
                llvm::SmallVectorImpl<int64_t> &out);
  Why matmul(MatMulOp mm, llvm::ArrayRef<int64_t> in, llvm::SmallVectorImpl<int64_t> &out);

  /// A reshape keeps a split when the dimensions before the split one keep
  /// their product: each device's part of every block is then one
  /// contiguous run, which is a part of the result dimension that starts
  /// there, when the devices divide that dimension.
  Why reshape(ReshapeOp r, llvm::ArrayRef<int64_t> in, llvm::SmallVectorImpl<int64_t> &out);

  /// Makes operand `i` of `op` read this device's part of constant `c`
  /// along `axis` (-1: device 0 reads `c`, the others zeros). False when
  /// the constant's elements are not bytes (PartitionCollectives.cpp).
  bool setPart(mlir::Operation *op, unsigned i, ConstantOp c, int64_t axis);
};

/// What a plan costs, by the cost model.
struct Outcome {
  int64_t work = 0, local = 0;   ///< operations in all, and per device
  double computeUs = 0;          ///< one device's share
  double inProcessUs = 0, mpiUs = 0; ///< its collectives and starting a run
};

/// A split program's predicted run (`work`: the whole model's operations)
/// and, when `print`, the explanation with it.
mlir::LogicalResult predict(const CostModel &costs, mlir::func::FuncOp fn, Partitioner &p,
                            int64_t work, bool print, llvm::StringRef explanation,
                            Outcome &outcome);

/// The pipeline plan's stages on `fn`, already at micro-batch size, for
/// `devices` devices: records them for the host program and predicts a run
/// (M micro-batches through N stages: the first fills the pipeline, then
/// one leaves every slowest-stage step).
mlir::LogicalResult stageWith(const CostModel &costs, int64_t devices, mlir::func::FuncOp fn,
                              mlir::DictionaryAttr annotatedNodes, int64_t batch,
                              int64_t micro, bool print, int64_t gatheredBytes,
                              Outcome &outcome);

/// --explain-parallel: each tensor's split, the decisions and the
/// collectives with their estimated times (`devices`: all the devices).
std::string describePlan(const CostModel &costs, int64_t devices, Partitioner &p,
                         int64_t batch, llvm::StringRef plan);

} // namespace weft::detail

#endif // WEFT_PASSES_PARTITIONDETAIL_H
