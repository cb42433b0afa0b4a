//===- Partition.cpp - the entry function split across devices -----------===//
//
// weft-partition turns the model into the program that each of N devices
// runs on its own part of the tensors (SPMD). A value's split is the axis
// cut into N equal parts, device r holding part r, or none (the value is
// whole on every device). The plan fixes the inputs' splits; each op's rule
// then gives its results' splits from its operands', in program order, and
// every split dimension is divided by N in the types.
//
// This file holds the pass: its options checked, the plan chosen (auto's
// candidates, the pipeline's micro-batches, the hybrid's grid, each tried
// on a copy) and applied: the inputs' splits set, the rules run over the
// function by the Partitioner (PartitionRules.cpp, PartitionCollectives.cpp)
// and the signature recorded for the runtime. The prediction and
// explanation of the result are in PartitionPredict.cpp.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/CostModel.h"
#include "passes/PartitionDetail.h"

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace weft {
#define GEN_PASS_DEF_PARTITION
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;
using namespace weft::detail;

namespace {

struct PartitionPass : weft::impl::PartitionBase<PartitionPass> {
  using PartitionBase::PartitionBase;
  friend struct weft::CostModel; // reads the rate options (CostModel::fromOptions)

  /// Splits the module's entry function by `planName`; `print` writes the
  /// explanation.
  LogicalResult partitionWith(ModuleOp module, func::FuncOp fn, StringRef planName, bool print,
                              Outcome &outcome, int64_t micro = 1, int64_t dataParts = 0) {
    if (planName == "data*tensor")
      return partitionHybrid(module, fn, dataParts, print, outcome);
    Block &body = fn.getBody().front();
    OpBuilder b(fn.getContext());
    FunctionType type = fn.getFunctionType();
    DictionaryAttr annotatedNodes;
    if (planName == "annotated") {
      auto annotations = module->getAttrOfType<DictionaryAttr>("weft.device_annotations");
      if (!annotations) {
        mlir::emitError(fn.getLoc(), "annotated plan: the model has no multi-device annotations");
        return failure();
      }
      annotatedNodes = annotations.getAs<DictionaryAttr>("nodes");
    }
    // The pipeline cuts the batch into micro-batches as the data plan cuts
    // it into devices' parts; its stages come after.
    bool pipeline = planName == "pipeline" || (annotatedNodes && annotatesStages(module));
    bool batchSplit = planName == "data" || pipeline;
    int64_t parts = pipeline ? micro : devices;
    Partitioner p(fn, parts, !batchSplit, annotatedNodes);
    if (pipeline)
      p.label = "pipeline parallel";
    b.setInsertionPointToStart(module.getBody());
    shard::GridOp::create(b, fn.getLoc(), "devices", ArrayRef<int64_t>{devices});

    auto names = fn->getAttrOfType<ArrayAttr>("weft.input_names");
    auto pinned = fn->getAttrOfType<ArrayAttr>("weft.input_values");
    auto inputName = [&](unsigned i) -> std::string {
      if (names && i < names.size())
        if (auto s = dyn_cast<StringAttr>(names[i]))
          return s.str();
      return "#" + std::to_string(i);
    };
    auto isPinned = [&](unsigned i) {
      return pinned && i < pinned.size() && isa<DenseElementsAttr>(pinned[i]);
    };
    int64_t batch = -1;
    SmallVector<int64_t> inputSplits;
    if (batchSplit) {
      // The batch: axis 0 of the first input that has one and is not pinned.
      unsigned batchInput = 0;
      for (BlockArgument arg : body.getArguments())
        if (rankOf(arg) >= 1 && !isPinned(arg.getArgNumber())) {
          batch = shapeOf(arg)[0];
          batchInput = arg.getArgNumber();
          break;
        }
      if (batch < 0) {
        mlir::emitError(fn.getLoc(), p.planName()) << ": no input has a batch axis to split";
        return failure();
      }
      if (pipeline && (batch < parts || batch % parts != 0)) {
        mlir::emitError(fn.getLoc(), llvm::formatv(
            "pipeline parallel: the batch of input '{0}' is {1}, which cannot be cut into {2} "
            "equal micro-batches; give --micro-batches a divisor of {1}, or compile for "
            "another batch (weftc --input-shape)",
            inputName(batchInput), batch, parts));
        return failure();
      }
      if (!pipeline && (batch < devices || batch % devices != 0)) {
        mlir::emitError(fn.getLoc(), llvm::formatv(
            "data parallel: the batch of input '{0}' is {1}, which {2} devices cannot share "
            "equally ({3}); compile for a batch that is a multiple of {2} (weftc "
            "--input-shape) or for fewer devices",
            inputName(batchInput), batch, devices,
            batch < devices ? "more devices than batch rows" : "not a multiple"));
        return failure();
      }
    }
    // The annotated plan: an input is split where a node's sharding spec
    // names it.
    llvm::StringMap<int64_t> annotatedInputs;
    if (annotatedNodes)
      for (NamedAttribute node : annotatedNodes)
        for (Attribute a : cast<DictionaryAttr>(node.getValue()).getAs<ArrayAttr>("specs")) {
          auto spec = cast<DictionaryAttr>(a);
          int64_t axis = spec.getAs<IntegerAttr>("axis").getInt();
          int64_t shards = spec.getAs<IntegerAttr>("shards").getInt();
          StringRef tensor = spec.getAs<StringAttr>("tensor").getValue();
          if (axis >= 0 && pipeline) {
            mlir::emitError(fn.getLoc(), "annotated plan: node '")
                << node.getName().getValue() << "' shards '" << tensor
                << "', and nodes are assigned pipeline stages: sharding within pipeline "
                   "stages (a hybrid plan) is not built yet";
            return failure();
          }
          if (axis >= 0 && shards != devices) {
            mlir::emitError(fn.getLoc(), "annotated plan: node '")
                << node.getName().getValue() << "' shards '" << tensor << "' into " << shards
                << " parts, but the configuration has " << devices << " devices";
            return failure();
          }
          annotatedInputs[tensor] = axis;
        }
    for (BlockArgument arg : body.getArguments()) {
      auto named = annotatedInputs.find(inputName(arg.getArgNumber()));
      if (named != annotatedInputs.end() && named->second >= 0) {
        int64_t axis = named->second;
        if (axis >= rankOf(arg) || shapeOf(arg)[axis] % devices != 0) {
          mlir::emitError(fn.getLoc(), "annotated plan: input '")
              << inputName(arg.getArgNumber()) << "' " << arg.getType()
              << " is sharded on axis " << axis << ", which " << devices
              << " devices cannot share equally";
          return failure();
        }
        p.split[arg] = axis;
        inputSplits.push_back(axis);
        continue;
      }
      int64_t s = batchSplit ? batchSplitOf(fn, arg, batch) : kWhole;
      p.split[arg] = s;
      inputSplits.push_back(s);
    }
    int64_t work = 0;
    if (failed(visitAll(fn, p, work)))
      return failure();
    SmallVector<int64_t> outputSplits;
    for (Value v : body.getTerminator()->getOperands())
      outputSplits.push_back(p.splitOf(v));
    for (BlockArgument arg : body.getArguments())
      p.scatteredBytes += p.splitOf(arg) == kWhole
                              ? bytesOf(arg.getType()) * (devices - 1)
                              : bytesOf(arg.getType()) - bytesOf(arg.getType()) / devices;
    for (Value v : body.getTerminator()->getOperands())
      if (p.splitOf(v) != kWhole)
        p.gatheredBytes += bytesOf(v.getType()) - bytesOf(v.getType()) / devices;
    if (pipeline) {
      // Rank 0 holds the inputs and receives the outputs from the last
      // stage, which computes them.
      p.scatteredBytes = 0;
      p.gatheredBytes = 0;
      for (Value v : body.getTerminator()->getOperands())
        p.gatheredBytes += bytesOf(v.getType());
    }
    // Weights whose parts replaced them.
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (isa<ConstantOp>(op) && op.use_empty())
        op.erase();

    std::string explanation;
    if (print && !pipeline)
      explanation = describePlan(costs, devices, p, batch, planName);
    p.shrink();
    setSignature(fn, type, pipeline ? "pipeline" : planName, inputSplits, outputSplits);
    if (pipeline)
      return stageWith(costs, devices, fn, annotatedNodes, batch, micro, print,
                       p.gatheredBytes, outcome);
    return predict(costs, fn, p, work, print, explanation, outcome);
  }

  /// How the batch plans split input `arg`: on axis 0 when it has the
  /// batch there and is not pinned to one value (--input-value), else whole.
  static int64_t batchSplitOf(func::FuncOp fn, BlockArgument arg, int64_t batch) {
    auto pinned = fn->getAttrOfType<ArrayAttr>("weft.input_values");
    unsigned i = arg.getArgNumber();
    bool isPinned = pinned && i < pinned.size() && isa<DenseElementsAttr>(pinned[i]);
    return rankOf(arg) >= 1 && !isPinned && shapeOf(arg)[0] == batch ? 0 : kWhole;
  }

  /// Applies `p`'s rules to every op of `fn` in order (the ops they insert
  /// are not visited); `work` gets the operations of the ops visited.
  static LogicalResult visitAll(func::FuncOp fn, Partitioner &p, int64_t &work) {
    SmallVector<Operation *> ops;
    for (Operation &op : fn.getBody().front().without_terminator()) {
      ops.push_back(&op);
      work += CostModel::flops(&op);
    }
    for (Operation *op : ops)
      if (failed(p.visit(op)))
        return failure();
    return success();
  }

  /// The hybrid data*tensor plan on a D x T grid (D = dataParts): the data
  /// plan cuts the batch into D parts along grid axis 0, then the tensor
  /// plan splits each part's program across the T devices along axis 1,
  /// whose collectives run among those T. Outputs are gathered whole within
  /// a part, so its first device writes them.
  LogicalResult partitionHybrid(ModuleOp module, func::FuncOp fn, int64_t dataParts, bool print,
                                Outcome &outcome) {
    Block &body = fn.getBody().front();
    FunctionType type = fn.getFunctionType();
    if (dataParts < 2 || devices % dataParts != 0 || devices / dataParts < 2) {
      mlir::emitError(fn.getLoc(), llvm::formatv(
          "data*tensor: {0} devices do not form a grid of D x T devices with D and T at least "
          "2 (data parts times tensor parts); compile for 4, 6, 8... devices",
          devices));
      return failure();
    }
    int64_t tensorParts = devices / dataParts;
    OpBuilder b(fn.getContext());
    b.setInsertionPointToStart(module.getBody());
    shard::GridOp::create(b, fn.getLoc(), "devices", ArrayRef<int64_t>{dataParts, tensorParts});
    int64_t batch = batchOf(fn);
    if (batch < 0) {
      mlir::emitError(fn.getLoc(), "data*tensor: no input has a batch axis to split");
      return failure();
    }
    if (batch < dataParts || batch % dataParts != 0) {
      mlir::emitError(fn.getLoc(), llvm::formatv(
          "data*tensor: the batch is {0}, which the {1} data parts of a {1} x {2} grid cannot "
          "share equally; compile for a batch that is a multiple of {1} (weftc --input-shape)",
          batch, dataParts, tensorParts));
      return failure();
    }
    // The data plan along axis 0.
    Partitioner data(fn, dataParts, /*tensor=*/false, nullptr);
    data.label = "data*tensor";
    SmallVector<int64_t> inputSplits, outputSplits;
    for (BlockArgument arg : body.getArguments()) {
      data.split[arg] = batchSplitOf(fn, arg, batch);
      inputSplits.push_back(data.split[arg]);
    }
    int64_t work = 0;
    if (failed(visitAll(fn, data, work)))
      return failure();
    for (Value v : body.getTerminator()->getOperands())
      outputSplits.push_back(data.splitOf(v));
    data.shrink();
    // The tensor plan along axis 1, on each part; its outputs gathered.
    Partitioner tensor(fn, tensorParts, /*tensor=*/true, nullptr);
    tensor.gridAxis = 1;
    tensor.label = "data*tensor";
    for (BlockArgument arg : body.getArguments())
      tensor.split[arg] = kWhole;
    int64_t partWork = 0;
    if (failed(visitAll(fn, tensor, partWork)))
      return failure();
    Operation *ret = body.getTerminator();
    for (OpOperand &use : ret->getOpOperands())
      if (tensor.splitOf(use.get()) != kWhole)
        use.set(tensor.gatherWhole(use.get(), ret));
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (isa<ConstantOp>(op) && op.use_empty())
        op.erase();
    // Under MPI rank 0 sends every other rank its part (or the whole
    // tensor) and receives each part's outputs from its first device.
    for (auto [i, t] : llvm::enumerate(type.getInputs()))
      tensor.scatteredBytes += inputSplits[i] == kWhole
                                   ? bytesOf(t) * (devices - 1)
                                   : bytesOf(t) / dataParts * (devices - 1);
    for (auto [i, t] : llvm::enumerate(type.getResults()))
      if (outputSplits[i] != kWhole)
        tensor.gatheredBytes += bytesOf(t) - bytesOf(t) / dataParts;
    std::string explanation;
    if (print)
      explanation = describePlan(costs, devices, tensor, batch, "data*tensor");
    tensor.shrink();
    setSignature(fn, type, "data*tensor", inputSplits, outputSplits);
    return predict(costs, fn, tensor, work, print, explanation, outcome);
  }

  /// The entry's local types and what the runtime needs to know of the
  /// split: the whole tensors' types, the devices, the plan, each input's
  /// and output's split axis.
  void setSignature(func::FuncOp fn, FunctionType whole, StringRef plan,
                    ArrayRef<int64_t> inputSplits, ArrayRef<int64_t> outputSplits) {
    OpBuilder b(fn.getContext());
    Block &body = fn.getBody().front();
    SmallVector<Type> results;
    for (Value v : body.getTerminator()->getOperands())
      results.push_back(v.getType());
    if (!fn->hasAttr("weft.abi_input_types"))
      fn->setAttr("weft.abi_input_types", b.getTypeArrayAttr(whole.getInputs()));
    if (!fn->hasAttr("weft.abi_output_types"))
      fn->setAttr("weft.abi_output_types", b.getTypeArrayAttr(whole.getResults()));
    fn.setType(b.getFunctionType(body.getArgumentTypes(), results));
    fn->setAttr("weft.num_devices", b.getI64IntegerAttr(devices));
    fn->setAttr("weft.parallel_plan", b.getStringAttr(plan));
    fn->setAttr("weft.input_splits", b.getDenseI64ArrayAttr(inputSplits));
    fn->setAttr("weft.output_splits", b.getDenseI64ArrayAttr(outputSplits));
  }

  /// The batch the pipeline would cut: axis 0 of the first input that has
  /// one and is not pinned; -1 when none has.
  static int64_t batchOf(func::FuncOp fn) {
    auto pinned = fn->getAttrOfType<ArrayAttr>("weft.input_values");
    for (BlockArgument arg : fn.getBody().front().getArguments()) {
      unsigned i = arg.getArgNumber();
      if (rankOf(arg) >= 1 && !(pinned && i < pinned.size() && isa<DenseElementsAttr>(pinned[i])))
        return shapeOf(arg)[0];
    }
    return -1;
  }

  /// Splits `module` by `plan` on a copy, quietly: the outcome, or why not.
  bool tryPlan(ModuleOp module, StringRef plan, int64_t micro, Outcome &outcome,
               std::string &why, int64_t dataParts = 0) {
    OwningOpRef<ModuleOp> copy(cast<ModuleOp>(module->clone()));
    ScopedDiagnosticHandler quiet(&getContext(), [&](Diagnostic &d) {
      if (d.getSeverity() == DiagnosticSeverity::Error && why.empty())
        why = d.str();
      return success();
    });
    func::FuncOp fn = entryOf(*copy);
    return succeeded(partitionWith(*copy, fn, plan, false, outcome, micro, dataParts));
  }

  /// The pipeline's micro-batches: --micro-batches, else the divisor of
  /// the batch (up to 64) whose predicted run is fastest.
  int64_t chooseMicroBatches(ModuleOp module, func::FuncOp fn) {
    if (microBatches > 0)
      return microBatches;
    int64_t batch = batchOf(fn), chosen = 1;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t m = 1; batch > 0 && m <= std::min<int64_t>(batch, 64); ++m) {
      if (batch % m != 0)
        continue;
      Outcome o;
      std::string why;
      if (!tryPlan(module, "pipeline", m, o, why))
        continue;
      double t = o.computeUs + o.inProcessUs;
      if (t < best) {
        best = t;
        chosen = m;
      }
    }
    return chosen;
  }

  static func::FuncOp entryOf(ModuleOp m) {
    func::FuncOp fn;
    for (auto f : m.getOps<func::FuncOp>())
      if (!f.isExternal())
        fn = f;
    return fn;
  }

  /// Whether the annotations assign some node a pipeline stage.
  static bool annotatesStages(ModuleOp module) {
    auto annotations = module->getAttrOfType<DictionaryAttr>("weft.device_annotations");
    auto nodes = annotations ? annotations.getAs<DictionaryAttr>("nodes") : nullptr;
    if (!nodes)
      return false;
    return llvm::any_of(nodes, [](NamedAttribute n) {
      return cast<DictionaryAttr>(n.getValue()).contains("pipeline_stage");
    });
  }

  /// The cost model's rates, from the options.
  CostModel costs;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    costs = CostModel::fromOptions(*this);
    func::FuncOp fn = entryOf(module);
    if (!fn || fn.getBody().getBlocks().size() != 1)
      return;
    if (devices < 1) {
      mlir::emitError(fn.getLoc(), "--devices must be at least 1, not ") << devices;
      return signalPassFailure();
    }
    if (plan != "data" && plan != "tensor" && plan != "pipeline" && plan != "auto" &&
        plan != "annotated" && plan != "data*tensor") {
      mlir::emitError(fn.getLoc(), "unknown parallel plan '")
          << plan
          << "' (this compiler builds: data, tensor, pipeline, data*tensor, auto, annotated)";
      return signalPassFailure();
    }
    if (microBatches < 0) {
      mlir::emitError(fn.getLoc(), "--micro-batches must be 0 (chosen) or more, not ")
          << microBatches;
      return signalPassFailure();
    }
    std::string chosen = plan;
    int64_t micro = 1, dataParts = 0;
    if (plan == "data*tensor") {
      std::string why;
      dataParts = chooseGrid(module, why);
      if (!dataParts) {
        mlir::emitError(fn.getLoc(), why);
        return signalPassFailure();
      }
    }
    if (plan == "pipeline" || (plan == "annotated" && annotatesStages(module))) {
      if (plan == "annotated" && devices < 2) {
        mlir::emitError(fn.getLoc(), "annotated plan: the model assigns pipeline stages, but "
                                     "its configuration has one device");
        return signalPassFailure();
      }
      micro = chooseMicroBatches(module, fn);
    }
    if (plan == "auto") {
      // Each plan on a copy; the cheapest by the cost model wins.
      struct Candidate {
        std::string plan, why;
        Outcome outcome;
        bool ok;
        int64_t dataParts = 0;
      };
      SmallVector<Candidate> candidates;
      int64_t pipelineMicro = chooseMicroBatches(module, fn);
      for (StringRef candidate : {"data", "tensor", "pipeline"}) {
        Candidate c{candidate.str(), "", {}, false};
        c.ok = tryPlan(module, candidate, candidate == "pipeline" ? pipelineMicro : 1, c.outcome,
                       c.why);
        candidates.push_back(std::move(c));
      }
      // The hybrids, on every grid the devices form.
      for (int64_t d = 2; devices >= 4 && d <= devices / 2; ++d) {
        if (devices % d != 0)
          continue;
        Candidate c{llvm::formatv("data*tensor ({0} x {1})", d, devices / d).str(), "", {},
                    false};
        c.ok = tryPlan(module, "data*tensor", 1, c.outcome, c.why, d);
        c.dataParts = d;
        candidates.push_back(std::move(c));
      }
      const Candidate *best = nullptr;
      auto total = [](const Candidate &c) { return c.outcome.computeUs + c.outcome.inProcessUs; };
      for (const Candidate &c : candidates)
        if (c.ok && (!best || total(c) < total(*best)))
          best = &c;
      if (!best) {
        InFlightDiagnostic d = mlir::emitError(fn.getLoc(), "auto parallel: no plan splits this model");
        for (const Candidate &c : candidates)
          d << "; " << c.plan << ": " << c.why;
        return signalPassFailure();
      }
      chosen = best->dataParts ? "data*tensor" : best->plan;
      dataParts = best->dataParts;
      if (chosen == "pipeline")
        micro = pipelineMicro;
      if (explain) {
        llvm::errs() << llvm::formatv("parallel: auto ({0} objective) chose {1}\n", objective,
                                      best->plan);
        for (const Candidate &c : candidates) {
          if (!c.ok) {
            llvm::errs() << "  " << c.plan << ": not possible: " << c.why << "\n";
            continue;
          }
          llvm::errs() << llvm::formatv(
              "  {0}: predicted {1:F1} us per run in one process ({2:F1} us of compute, "
              "{3:F1} us to start it and for collectives or transfers){4}\n",
              c.plan == "pipeline"
                  ? llvm::formatv("pipeline ({0} micro-batch{1})", pipelineMicro,
                                  pipelineMicro == 1 ? "" : "es")
                        .str()
                  : c.plan,
              total(c), c.outcome.computeUs, c.outcome.inProcessUs,
              &c == best ? ": chosen"
                         : llvm::formatv(": {0:F1} us slower than {1}", total(c) - total(*best),
                                         best->plan)
                               .str());
        }
        llvm::errs() << "  (every plan's throughput is its batch over its run time: runs do "
                        "not overlap one another, so the objective does not change the "
                        "choice)\n";
      }
    }
    Outcome outcome;
    if (failed(partitionWith(module, fn, chosen, explain, outcome, micro, dataParts)))
      return signalPassFailure();
  }

  /// The hybrid's grid: the data parts D of the D x T grid (D, T >= 2)
  /// whose predicted run is fastest; 0 and `why` when no grid works.
  int64_t chooseGrid(ModuleOp module, std::string &why) {
    int64_t chosen = 0;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t d = 2; d <= devices / 2; ++d) {
      if (devices % d != 0)
        continue;
      Outcome o;
      std::string whyNot;
      if (!tryPlan(module, "data*tensor", 1, o, whyNot, d)) {
        if (why.empty())
          why = whyNot;
        continue;
      }
      double t = o.computeUs + o.inProcessUs;
      if (t < best) {
        best = t;
        chosen = d;
      }
    }
    if (!chosen && why.empty())
      why = llvm::formatv("data*tensor: {0} device{1} do not form a grid of D x T devices with "
                          "D and T at least 2 (data parts times tensor parts); compile for 4, "
                          "6, 8... devices",
                          devices, devices == 1 ? "" : "s")
                .str();
    return chosen;
  }
};

} // namespace
