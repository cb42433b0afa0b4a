//===- PipelineStages.cpp - a function cut into pipeline stages -----------===//
//
// The ops of the entry function keep their order; a stage is a run of
// consecutive ops (annotated stages are first sorted into that form). The
// automatic cut is a dynamic program over the cut points: the slowest
// stage's time per micro-batch, its compute plus what it sends and
// receives, is minimized.
//
//===----------------------------------------------------------------------===//
#include "passes/PipelineStages.h"

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <limits>

using namespace mlir;
using namespace weft;

namespace {

std::string nodeName(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return "'" + name.getName().str() + "'";
  return op->getName().getStringRef().str();
}

int64_t byteSize(Type type) {
  auto t = cast<RankedTensorType>(type);
  return t.getNumElements() * ((t.getElementType().getIntOrFloatBitWidth() + 7) / 8);
}

/// The annotated stages: each op's node's `pipeline_stage`, an op without
/// one following the op before it. Returns false after an error; leaves
/// `stage` empty when no node carries a stage.
bool annotatedStages(ArrayRef<Operation *> ops, int64_t devices, DictionaryAttr nodes,
                     SmallVectorImpl<int64_t> &stage) {
  bool any = false;
  int64_t current = 0;
  SmallVector<int64_t> out;
  for (Operation *op : ops) {
    auto name = dyn_cast<NameLoc>(op->getLoc());
    DictionaryAttr a = name && nodes ? nodes.getAs<DictionaryAttr>(name.getName()) : nullptr;
    if (auto s = a ? a.getAs<IntegerAttr>("pipeline_stage") : nullptr) {
      if (s.getInt() < 0 || s.getInt() >= devices) {
        mlir::emitError(op->getLoc(), "annotated plan: ")
            << nodeName(op) << " is assigned pipeline stage " << s.getInt()
            << ", but the configuration has stages 0 to " << devices - 1;
        return false;
      }
      current = s.getInt();
      any = true;
    }
    out.push_back(current);
  }
  if (any)
    stage.assign(out.begin(), out.end());
  return true;
}

} // namespace

LogicalResult weft::stagePipeline(func::FuncOp fn, int64_t devices, DictionaryAttr annotatedNodes,
                                  llvm::function_ref<double(Operation *)> opUs,
                                  llvm::function_ref<double(int64_t)> transferUs,
                                  PipelinePlan &plan) {
  Block &body = fn.getBody().front();
  Operation *ret = body.getTerminator();
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    if (!isa<ConstantOp>(op))
      ops.push_back(&op);
  int64_t n = ops.size();
  if (n < devices) {
    mlir::emitError(fn.getLoc(), llvm::formatv(
        "pipeline parallel: the model has {0} operations, too few for {1} stages (one stage "
        "per device); compile for at most {0} devices",
        n, devices));
    return failure();
  }

  SmallVector<int64_t> stage;
  if (!annotatedStages(ops, devices, annotatedNodes, stage))
    return failure();
  if (!stage.empty()) {
    // A value flows only to the same or a later stage; the ops are then
    // sorted by stage (a topological order still) so that each stage is a
    // run of consecutive ops.
    llvm::DenseMap<Operation *, int64_t> of;
    for (auto [op, s] : llvm::zip(ops, stage))
      of[op] = s;
    for (auto [op, s] : llvm::zip(ops, stage))
      for (Value v : op->getOperands())
        if (Operation *def = v.getDefiningOp(); def && of.count(def) && of[def] > s) {
          mlir::emitError(op->getLoc(), "annotated plan: ")
              << nodeName(op) << " in pipeline stage " << s << " uses the output of "
              << nodeName(def) << " in the later stage " << of[def]
              << "; a stage can only use what earlier stages computed";
          return failure();
        }
    for (int64_t k = 0; k < devices; ++k)
      if (llvm::find(stage, k) == stage.end()) {
        mlir::emitError(fn.getLoc(), "annotated plan: no node is assigned pipeline stage ")
            << k << " of the " << devices << " stages";
        return failure();
      }
    SmallVector<int64_t> order = llvm::to_vector(llvm::seq<int64_t>(0, n));
    llvm::stable_sort(order, [&](int64_t a, int64_t b) { return stage[a] < stage[b]; });
    SmallVector<Operation *> sorted;
    SmallVector<int64_t> sortedStage;
    for (int64_t i : order) {
      ops[i]->moveBefore(ret);
      sorted.push_back(ops[i]);
      sortedStage.push_back(stage[i]);
    }
    ops = sorted;
    stage = sortedStage;
  }

  llvm::DenseMap<Operation *, int64_t> index;
  for (auto [i, op] : llvm::enumerate(ops))
    index[op] = i;
  // The values that may cross a cut, in order: inputs, then results.
  SmallVector<Value> values(body.getArguments().begin(), body.getArguments().end());
  for (Operation *op : ops)
    values.append(op->getResults().begin(), op->getResults().end());
  auto defIndex = [&](Value v) -> int64_t {
    Operation *def = v.getDefiningOp();
    return def ? index.lookup(def) : -1;
  };

  if (stage.empty()) {
    // Bytes crossing the cut before op p (p in [1, n)): values made before
    // p and used at p or later; an output counts as used at the end.
    SmallVector<int64_t> crossing(n + 1, 0);
    for (Value v : values) {
      int64_t last = defIndex(v);
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        last = std::max(last, user == ret ? n : index.lookup(user));
      }
      int64_t lo = std::max<int64_t>(defIndex(v) + 1, 1), hi = std::min<int64_t>(last, n - 1);
      if (lo <= hi) {
        crossing[lo] += byteSize(v.getType());
        crossing[hi + 1] -= byteSize(v.getType());
      }
    }
    for (int64_t p = 1; p <= n; ++p)
      crossing[p] += crossing[p - 1];
    SmallVector<double> prefix(n + 1, 0);
    for (int64_t i = 0; i < n; ++i)
      prefix[i + 1] = prefix[i] + opUs(ops[i]);
    auto stageUs = [&](int64_t a, int64_t b) {
      return prefix[b] - prefix[a] + (a > 0 ? transferUs(crossing[a]) : 0) +
             (b < n ? transferUs(crossing[b]) : 0);
    };
    // best[k][b]: the slowest of stages 0..k when they hold ops [0, b).
    constexpr double kInf = std::numeric_limits<double>::infinity();
    SmallVector<SmallVector<double>> best(devices, SmallVector<double>(n + 1, kInf));
    SmallVector<SmallVector<int64_t>> from(devices, SmallVector<int64_t>(n + 1, -1));
    for (int64_t b = 1; b <= n; ++b)
      best[0][b] = stageUs(0, b);
    for (int64_t k = 1; k < devices; ++k)
      for (int64_t b = k + 1; b <= n; ++b)
        for (int64_t a = k; a < b; ++a) {
          double t = std::max(best[k - 1][a], stageUs(a, b));
          if (t < best[k][b]) {
            best[k][b] = t;
            from[k][b] = a;
          }
        }
    stage.assign(n, 0);
    for (int64_t k = devices - 1, b = n; k > 0; --k) {
      int64_t a = from[k][b];
      for (int64_t i = a; i < b; ++i)
        stage[i] = k;
      b = a;
    }
  }

  llvm::DenseMap<Operation *, int64_t> stageOf;
  SmallVector<Operation *> firstOf(devices, nullptr);
  for (auto [op, s] : llvm::zip(ops, stage)) {
    stageOf[op] = s;
    if (!firstOf[s])
      firstOf[s] = op;
  }
  auto sourceStage = [&](Value v) -> int64_t {
    Operation *def = v.getDefiningOp();
    if (!def)
      return 0;
    auto it = stageOf.find(def);
    return it == stageOf.end() ? -1 : it->second; // constants: every stage has them
  };
  // Each value's later stages that use it.
  llvm::DenseMap<Value, SmallVector<int64_t>> targets;
  auto need = [&](Value v, int64_t t) {
    int64_t s = sourceStage(v);
    if (s < 0 || s >= t)
      return;
    auto &list = targets[v];
    if (!llvm::is_contained(list, t))
      list.push_back(t);
  };
  for (auto [op, s] : llvm::zip(ops, stage))
    for (Value v : op->getOperands())
      need(v, s);
  for (Value v : ret->getOperands())
    need(v, devices - 1);
  for (auto &[v, list] : targets)
    llvm::sort(list);

  plan.stages.assign(devices, PipelineStage());
  for (auto [op, s] : llvm::zip(ops, stage)) {
    PipelineStage &st = plan.stages[s];
    double us = opUs(op);
    st.ops += us > 0;
    st.computeUs += us;
    if (st.first.empty())
      st.first = nodeName(op);
    st.last = nodeName(op);
  }
  for (int64_t k = 0; k < devices; ++k) {
    llvm::DenseSet<Operation *> weights;
    for (auto [op, s] : llvm::zip(ops, stage))
      if (s == k)
        for (Value v : op->getOperands())
          if (auto c = v.getDefiningOp<ConstantOp>(); c && weights.insert(c).second)
            plan.stages[k].weightBytes += byteSize(c.getType());
  }

  OpBuilder b(fn.getContext());
  llvm::DenseMap<std::pair<Value, int64_t>, Value> sent;
  for (int64_t k = 0; k + 1 < devices; ++k) {
    b.setInsertionPoint(firstOf[k + 1]);
    for (Value v : values) {
      if (sourceStage(v) != k || !targets.count(v))
        continue;
      for (int64_t t : targets[v]) {
        auto send = shard::SendOp::create(b, v.getLoc(), v.getType(), "devices",
                                          ArrayRef<int16_t>{0}, v,
                                          b.getDenseI64ArrayAttr({t}), ValueRange{});
        send->setAttr("weft.stage", b.getI64IntegerAttr(k));
        sent[{v, t}] = send.getResult();
        int64_t bytes = byteSize(v.getType());
        Operation *def = v.getDefiningOp();
        std::string what =
            def ? nodeName(def) : "input #" + std::to_string(cast<BlockArgument>(v).getArgNumber());
        plan.transfers.push_back({k, t, bytes, what});
        plan.stages[k].outBytes += bytes;
        plan.stages[t].inBytes += bytes;
        plan.stages[k].transferUs += transferUs(bytes);
        plan.stages[t].transferUs += transferUs(bytes);
      }
    }
    for (Value v : values) {
      if (!targets.count(v) || !llvm::is_contained(targets[v], k + 1))
        continue;
      int64_t s = sourceStage(v);
      auto recv = shard::RecvOp::create(b, v.getLoc(), v.getType(), "devices",
                                        ArrayRef<int16_t>{0}, sent[{v, k + 1}],
                                        b.getDenseI64ArrayAttr({s}), ValueRange{});
      recv->setAttr("weft.stage", b.getI64IntegerAttr(k + 1));
      v.replaceUsesWithIf(recv.getResult(), [&](OpOperand &use) {
        Operation *owner = use.getOwner();
        if (owner == ret)
          return k + 1 == devices - 1;
        auto it = stageOf.find(owner);
        return it != stageOf.end() && it->second == k + 1;
      });
    }
  }
  for (const PipelineStage &st : plan.stages)
    plan.stepUs = std::max(plan.stepUs, st.computeUs + st.transferUs);
  return success();
}
