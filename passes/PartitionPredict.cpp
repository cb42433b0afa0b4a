//===- PartitionPredict.cpp - a split program's predicted run ------------===//
//
// Once weft-partition has applied a plan, the cost model predicts the
// program's run, in one process and under MPI: each device's compute, the
// collectives, starting a run; for the pipeline plan its stages, cut here,
// with their transfers, the pipeline filling and the waits. With
// --explain-parallel it prints the plan: each tensor's split, the
// decisions, the collectives or transfers and their estimated times.
//
//===----------------------------------------------------------------------===//
#include "passes/PartitionDetail.h"
#include "passes/PipelineStages.h"

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace weft;

namespace weft::detail {

LogicalResult predict(const CostModel &costs, func::FuncOp fn, Partitioner &p, int64_t work,
                      bool print, StringRef explanation, Outcome &outcome) {
  Block &body = fn.getBody().front();
  if (failed(mlir::verify(fn)))
    return failure();
  int64_t local = 0, weights = 0;
  for (Operation &op : body.without_terminator()) {
    local += CostModel::flops(&op);
    outcome.computeUs += costs.opTime(&op);
    if (auto c = dyn_cast<ConstantOp>(op))
      weights += bytesOf(c.getType());
  }
  outcome.work = work;
  outcome.local = local;
  outcome.inProcessUs = CostModel::kRunUs;
  outcome.mpiUs = CostModel::kRunUs + costs.collective(p.scatteredBytes, true) +
                  costs.collective(p.gatheredBytes, true);
  for (const auto &c : p.collectives) {
    outcome.inProcessUs += costs.collective(c.bytes, false);
    outcome.mpiUs += costs.collective(c.bytes, true);
  }
  if (print) {
    int64_t perDevice = weights - p.partedWeightBytes + p.partedWeightBytes / p.devices;
    llvm::errs() << explanation
                 << llvm::formatv("  each device: {0} of {1} operations ({2:P}); reads {3} "
                                  "of the {4} bytes of weights in the object ({5} bytes "
                                  "split into {6} parts, one per device{7})\n",
                                  local, work, work ? (double)local / (double)work : 1.0,
                                  perDevice, weights, p.partedWeightBytes, p.devices,
                                  p.gridAxis ? " of a part's row of the grid" : "")
                 << llvm::formatv("  predicted: {0:F1} us per run in one process, {1:F1} us "
                                  "under MPI ({2:F1} us of compute per device at one thread, "
                                  "{3} us to start a run; {4})\n",
                                  outcome.computeUs + outcome.inProcessUs,
                                  outcome.computeUs + outcome.mpiUs, outcome.computeUs, CostModel::kRunUs,
                                  costs.describe());
  }
  return success();
}

LogicalResult stageWith(const CostModel &costs, int64_t devices, func::FuncOp fn,
                        DictionaryAttr annotatedNodes, int64_t batch, int64_t micro,
                        bool print, int64_t gatheredBytes, Outcome &outcome) {
  PipelinePlan plan;
  if (failed(stagePipeline(
          fn, devices, annotatedNodes, [&](Operation *op) { return costs.opTime(op); },
          [&](int64_t bytes) { return costs.transfer(bytes, false); }, plan)))
    return failure();
  OpBuilder b(fn.getContext());
  fn->setAttr("weft.micro_batches", b.getI64IntegerAttr(micro));
  if (failed(mlir::verify(fn)))
    return failure();
  // Per backend: each stage's step is its compute and its transfers.
  auto runUs = [&](bool mpi, double &compute) {
    SmallVector<double> step;
    for (const PipelineStage &st : plan.stages)
      step.push_back(st.computeUs);
    for (const PipelineTransfer &t : plan.transfers) {
      step[t.from] += costs.transfer(t.bytes, mpi);
      step[t.to] += costs.transfer(t.bytes, mpi);
    }
    double sum = 0, slowest = 0;
    for (double s : step) {
      sum += s;
      slowest = std::max(slowest, s);
    }
    // Compute alone: every stage once, then the slowest for the rest.
    double computeSum = 0, computeMax = 0;
    for (const PipelineStage &st : plan.stages) {
      computeSum += st.computeUs;
      computeMax = std::max(computeMax, st.computeUs);
    }
    compute = computeSum + (double)(micro - 1) * computeMax;
    // In one process a rank that waits longer than it polls sleeps, and
    // waking it adds to the wait: a stage waiting to fill, a stage idle
    // behind a slower one each micro-batch, and the caller (rank 0)
    // waiting for the later stages at the end.
    double wakes = 0;
    if (!mpi) {
      double fill = 0;
      for (size_t k = 1; k < step.size(); ++k) {
        fill += step[k - 1];
        wakes += fill > CostModel::kPollUs ? costs.wakeUs : 0;
        double upstream = *std::max_element(step.begin(), step.begin() + k);
        if (upstream - step[k] > CostModel::kPollUs)
          wakes += costs.wakeUs * (double)(micro - 1);
      }
      if (sum - step[0] > CostModel::kPollUs)
        wakes += costs.wakeUs;
    }
    return sum + (double)(micro - 1) * slowest + wakes;
  };
  double compute = 0;
  double inProcess = runUs(false, compute), mpi = runUs(true, compute);
  outcome.computeUs = compute;
  outcome.inProcessUs = inProcess - compute + CostModel::kRunUs;
  outcome.mpiUs = mpi - compute + CostModel::kRunUs + costs.collective(gatheredBytes, true);
  int64_t work = 0;
  for (const PipelineStage &st : plan.stages)
    work += st.ops;
  outcome.work = work;
  outcome.local = 0;
  for (const PipelineStage &st : plan.stages)
    outcome.local = std::max(outcome.local, st.ops);
  if (!print)
    return success();
  auto &os = llvm::errs();
  os << llvm::formatv("parallel: plan pipeline on {0} devices: the batch of {1} rows is cut "
                      "into {2} micro-batch{4} of {3}; device k runs stage k, so stage k "
                      "works on micro-batch i+1 while stage k+1 works on micro-batch i\n",
                      devices, batch, micro, batch / micro, micro == 1 ? "" : "es");
  os << (annotatedNodes ? "  stages: from the model's pipeline_stage annotations\n"
                        : "  stages: cut where the slowest stage (compute and transfers per "
                          "micro-batch) is fastest\n");
  for (auto [k, st] : llvm::enumerate(plan.stages))
    os << llvm::formatv("  stage {0} on device {0}: {1} operations from {2} to {3}; "
                        "estimated {4:F1} us of compute and {5:F1} us of transfers per "
                        "micro-batch; reads {6} bytes of weights; receives {7} and sends {8} "
                        "bytes per micro-batch\n",
                        k, st.ops, st.first, st.last, st.computeUs, st.transferUs,
                        st.weightBytes, st.inBytes, st.outBytes);
  for (const PipelineTransfer &t : plan.transfers)
    os << llvm::formatv("  send/recv: {0} from stage {1} to stage {2}: {3} bytes per "
                        "micro-batch, estimated {4:F1} us in one process, {5:F1} us under "
                        "MPI\n",
                        t.what, t.from, t.to, t.bytes, costs.transfer(t.bytes, false),
                        costs.transfer(t.bytes, true));
  os << llvm::formatv("  under MPI rank 0 holds the inputs and receives {0} bytes of outputs "
                      "from the last stage\n",
                      gatheredBytes);
  double total = outcome.computeUs + outcome.inProcessUs;
  os << llvm::formatv("  predicted: {0:F1} us per run in one process ({1:F0} rows/s), {2:F1} "
                      "us under MPI; the slowest stage takes {3:F1} us per micro-batch ({4})\n",
                      total, total > 0 ? (double)batch / total * 1e6 : 0.0,
                      outcome.computeUs + outcome.mpiUs, plan.stepUs, costs.describe());
  return success();
}

std::string describePlan(const CostModel &costs, int64_t devices, Partitioner &p,
                         int64_t batch, StringRef plan) {
  std::string text;
  llvm::raw_string_ostream os(text);
  func::FuncOp fn = p.fn;
  auto splitText = [&](Value v) -> std::string {
    int64_t s = p.splitOf(v);
    if (s == kWhole)
      return "whole on every device";
    return llvm::formatv("split on axis {0} into {1} parts of {2}", s, p.devices,
                         shapeOf(v)[s] / p.devices)
        .str();
  };
  Block &body = fn.getBody().front();
  if (plan == "data*tensor")
    os << llvm::formatv("parallel: plan data*tensor on {0} devices as a {1} x {2} grid: the "
                        "batch of {3} rows is cut into {1} parts of {4} along grid axis 0 "
                        "(device r holds part r / {2}); the {2} devices of each part, along "
                        "axis 1, split its work as the tensor plan does (weights by columns "
                        "and rows), and the splits and collectives below are theirs\n",
                        devices, devices / p.devices, p.devices, batch,
                        batch / (devices / p.devices));
  else if (plan == "data")
    os << llvm::formatv("parallel: plan data on {0} devices: the batch of {1} rows is cut "
                        "into {0} parts of {2}\n",
                        devices, batch, batch / devices);
  else if (plan == "tensor")
    os << llvm::formatv("parallel: plan tensor on {0} devices: weights split by columns "
                        "and rows, activations whole or split by the rules\n",
                        devices);
  else
    os << llvm::formatv("parallel: plan annotated on {0} devices: the model's ONNX "
                        "multi-device annotations, the splits carried to the other ops by "
                        "the rules\n",
                        devices);
  auto names = [&](StringRef attr, unsigned i) -> std::string {
    if (auto arr = fn->getAttrOfType<ArrayAttr>(attr))
      if (i < arr.size())
        if (auto s = dyn_cast<StringAttr>(arr[i]))
          return s.str();
    return "#" + std::to_string(i);
  };
  for (BlockArgument arg : body.getArguments())
    os << "  input '" << names("weft.input_names", arg.getArgNumber()) << "' "
       << arg.getType() << ": " << splitText(arg) << "\n";
  for (Operation &op : body.without_terminator()) {
    if (isa<ConstantOp, shard::AllSliceOp>(op))
      continue;
    for (Value r : op.getResults())
      os << "  " << nodeOf(&op) << " " << op.getName().stripDialect() << " -> "
         << r.getType() << ": " << splitText(r) << "\n";
  }
  for (auto [i, v] : llvm::enumerate(body.getTerminator()->getOperands()))
    os << "  output '" << names("weft.output_names", i) << "' " << v.getType() << ": "
       << splitText(v) << "\n";
  for (const std::string &note : p.notes)
    os << "  decision: " << note << "\n";
  if (p.collectives.empty())
    os << "  collectives inside the model: none\n";
  double inProcess = 0, mpi = 0;
  for (const auto &c : p.collectives) {
    double a = costs.collective(c.bytes, false), m = costs.collective(c.bytes, true);
    inProcess += a;
    mpi += m;
    os << llvm::formatv("  collective: {0}: {1} bytes, estimated {2:F1} us in one process, "
                        "{3:F1} us under MPI\n",
                        c.what, c.bytes, a, m);
  }
  if (!p.collectives.empty())
    os << llvm::formatv("  collectives in all: {0} per run, estimated {1:F1} us in one "
                        "process ({3:F1} us + {4:F1} GB/s each), {2:F1} us under MPI ({5:F1} "
                        "us + {6:F1} GB/s each)\n",
                        p.collectives.size(), inProcess, mpi, costs.collectiveUs,
                        costs.collectiveGBps, costs.mpiCollectiveUs, costs.mpiCollectiveGBps);
  os << llvm::formatv("  under MPI rank 0 sends {0} bytes of inputs to the other ranks and "
                      "receives {1} bytes of outputs\n",
                      p.scatteredBytes, p.gatheredBytes);
  return text;
}

} // namespace weft::detail
