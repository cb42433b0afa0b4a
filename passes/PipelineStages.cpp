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

#include <cmath>
#include <optional>
#include <cstring>
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

/// Positions [begin, begin + width) of axis `axis` of a constant.
DenseElementsAttr sliceAxis(DenseElementsAttr dense, int64_t axis, int64_t begin,
                            int64_t width) {
  auto type = cast<RankedTensorType>(dense.getType());
  SmallVector<int64_t> shape(type.getShape());
  int64_t extent = shape[axis];
  shape[axis] = width;
  auto partType = RankedTensorType::get(shape, type.getElementType());
  if (dense.isSplat())
    return dense.resizeSplat(partType);
  size_t elem = type.getElementTypeBitWidth() / 8, outer = 1, inner = elem;
  for (int64_t d = 0; d < axis; ++d)
    outer *= (size_t)type.getDimSize(d);
  for (int64_t d = axis + 1; d < type.getRank(); ++d)
    inner *= (size_t)type.getDimSize(d);
  ArrayRef<char> raw = dense.getRawData();
  std::vector<char> bytes(outer * (size_t)width * inner);
  for (size_t o = 0; o < outer; ++o)
    std::memcpy(&bytes[o * (size_t)width * inner],
                &raw[(o * (size_t)extent + (size_t)begin) * inner], (size_t)width * inner);
  return DenseElementsAttr::getFromRawBuffer(partType, ArrayRef<char>(bytes));
}

/// How an op that multiplies by a constant weight may be cut into blocks
/// of output channels: the weight's axis and the result's, and the
/// channels per position of the weight's axis (a blocked filter's block).
struct ChannelSplit {
  Value weight;
  int64_t weightAxis, outAxis, perPosition;
};

std::optional<ChannelSplit> channelSplit(Operation *op) {
  if (auto mm = dyn_cast<MatMulOp>(op)) {
    auto w = cast<RankedTensorType>(mm.getRhs().getType());
    auto out = cast<RankedTensorType>(mm.getType());
    if (w.getRank() != 2 || out.getShape().back() != w.getDimSize(1))
      return std::nullopt;
    return ChannelSplit{mm.getRhs(), 1, out.getRank() - 1, 1};
  }
  if (auto c = dyn_cast<ConvOp>(op)) {
    if (c.getGroup() != 1)
      return std::nullopt;
    auto f = cast<RankedTensorType>(c.getFilter().getType());
    if (!c.getChannelsLast())
      return ChannelSplit{c.getFilter(), 0, 1, 1};
    if (f.getRank() == 5)
      return ChannelSplit{c.getFilter(), 0, 3, f.getDimSize(4)};
    return ChannelSplit{c.getFilter(), 3, 3, 1};
  }
  return std::nullopt;
}

/// A stage is a run of whole ops, so one op that takes more than half a
/// stage's share of the time may keep the stages apart: a matmul or
/// convolution by a constant weight that large may be cut into blocks of
/// output channels (each by its part of the weight, and of the bias),
/// joined by a concat, so that a cut may fall between the blocks. The
/// blocks `op` may be cut into: as many as divide it into whole
/// 16-channel vector tiles, up to 8 (the finer, the closer a cut can fall
/// to the balance point; an op no cut falls inside stays whole), or 0.
int64_t blocksFor(Operation *op, double us, double limit) {
  std::optional<ChannelSplit> split = channelSplit(op);
  if (!split || us <= limit || limit <= 0)
    return 0;
  auto weight = split->weight.getDefiningOp<ConstantOp>();
  auto dense = weight ? dyn_cast<DenseElementsAttr>(weight.getValue()) : nullptr;
  auto wType = cast<RankedTensorType>(split->weight.getType());
  Value bias = isa<ConvOp>(op) ? cast<ConvOp>(op).getBias() : Value();
  auto biasConst = bias ? bias.getDefiningOp<ConstantOp>() : nullptr;
  auto biasType = bias ? cast<RankedTensorType>(bias.getType()) : nullptr;
  if (!dense || wType.getElementTypeBitWidth() % 8 != 0 ||
      (bias && (!biasConst || !isa<DenseElementsAttr>(biasConst.getValue()) ||
                biasType.getRank() != 1 || biasType.getElementTypeBitWidth() % 8 != 0)))
    return 0;
  int64_t extent = wType.getDimSize(split->weightAxis);
  for (int64_t c = 8; c >= 2; --c)
    if (extent % c == 0 && (extent / c * split->perPosition) % 16 == 0)
      return c;
  return 0;
}

/// Cuts `op` into `blocks` (blocksFor's count): the blocks' ops, then the
/// concat that replaces it.
SmallVector<Operation *> splitOp(Operation *op, int64_t blocks) {
  ChannelSplit split = *channelSplit(op);
  auto weight = split.weight.getDefiningOp<ConstantOp>();
  auto dense = cast<DenseElementsAttr>(weight.getValue());
  auto wType = cast<RankedTensorType>(split.weight.getType());
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  Value bias = isa<ConvOp>(op) ? cast<ConvOp>(op).getBias() : Value();
  auto biasConst = bias ? bias.getDefiningOp<ConstantOp>() : nullptr;
  OpBuilder b(op);
  int64_t width = wType.getDimSize(split.weightAxis) / blocks;
  SmallVector<int64_t> partShape(outType.getShape());
  partShape[split.outAxis] = outType.getDimSize(split.outAxis) / blocks;
  auto partType = outType.clone(partShape);
  SmallVector<Value> parts;
  SmallVector<Operation *> made;
  for (int64_t j = 0; j < blocks; ++j) {
    Value w = ConstantOp::create(b, weight.getLoc(),
                                 sliceAxis(dense, split.weightAxis, j * width, width));
    Operation *part;
    if (auto mm = dyn_cast<MatMulOp>(op)) {
      part = MatMulOp::create(b, op->getLoc(), partType, mm.getLhs(), w);
    } else {
      auto conv = cast<ConvOp>(op);
      Value partBias;
      if (biasConst) {
        int64_t channels = width * split.perPosition;
        partBias = ConstantOp::create(
            b, biasConst.getLoc(),
            sliceAxis(cast<DenseElementsAttr>(biasConst.getValue()), 0, j * channels, channels));
      }
      part = ConvOp::create(b, op->getLoc(), partType, conv.getInput(), w, partBias,
                            conv.getStridesAttr(), conv.getDilationsAttr(), conv.getPadsAttr(),
                            conv.getGroupAttr(), conv.getChannelsLastAttr());
    }
    parts.push_back(part->getResult(0));
    made.push_back(part);
  }
  auto joined =
      ConcatOp::create(b, op->getLoc(), outType, parts, b.getI64IntegerAttr(split.outAxis));
  made.push_back(joined);
  op->getResult(0).replaceAllUsesWith(joined.getResult());
  op->erase();
  for (ConstantOp c : {weight, biasConst})
    if (c && c->use_empty())
      c.erase();
  return made;
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
    llvm::sort(order, [&](int64_t a, int64_t b) {
      return stage[a] != stage[b] ? stage[a] < stage[b] : a < b;
    });
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
    // Items: an op, or one block of an op that may be cut into blocks
    // (blocksFor), each with its share of the time. A cut before block j
    // of op i crosses what crosses before op i and the first j blocks'
    // results.
    double total = 0;
    SmallVector<double> us;
    for (Operation *op : ops) {
      us.push_back(opUs(op));
      total += us.back();
    }
    struct Item {
      int64_t op, block, blocks;
    };
    SmallVector<Item> items;
    for (int64_t i = 0; i < n; ++i) {
      int64_t blocks = blocksFor(ops[i], us[i], total / (double)devices / 2);
      for (int64_t j = 0; j < std::max<int64_t>(blocks, 1); ++j)
        items.push_back({i, j, std::max<int64_t>(blocks, 1)});
    }
    int64_t m = items.size();
    SmallVector<double> prefix(m + 1, 0);
    SmallVector<int64_t> cutBytes(m + 1, 0);
    for (int64_t t = 0; t < m; ++t) {
      const Item &it = items[t];
      prefix[t + 1] = prefix[t] + us[it.op] / (double)it.blocks;
      cutBytes[t] = crossing[it.op] +
                    byteSize(ops[it.op]->getResult(0).getType()) * it.block / it.blocks;
    }
    auto stageUs = [&](int64_t a, int64_t b) {
      return prefix[b] - prefix[a] + (a > 0 ? transferUs(cutBytes[a]) : 0) +
             (b < m ? transferUs(cutBytes[b]) : 0);
    };
    // best[k][b]: the slowest of stages 0..k when they hold items [0, b).
    constexpr double kInf = std::numeric_limits<double>::infinity();
    SmallVector<SmallVector<double>> best(devices, SmallVector<double>(m + 1, kInf));
    SmallVector<SmallVector<int64_t>> from(devices, SmallVector<int64_t>(m + 1, -1));
    for (int64_t b = 1; b <= m; ++b)
      best[0][b] = stageUs(0, b);
    for (int64_t k = 1; k < devices; ++k)
      for (int64_t b = k + 1; b <= m; ++b)
        for (int64_t a = k; a < b; ++a) {
          double t = std::max(best[k - 1][a], stageUs(a, b));
          if (t < best[k][b]) {
            best[k][b] = t;
            from[k][b] = a;
          }
        }
    SmallVector<int64_t> itemStage(m, 0);
    for (int64_t k = devices - 1, b = m; k > 0; --k) {
      int64_t a = from[k][b];
      for (int64_t t = a; t < b; ++t)
        itemStage[t] = k;
      b = a;
    }
    // An op whose blocks landed in one stage stays whole; one that a cut
    // falls inside is cut into its blocks, its concat in the last block's
    // stage.
    SmallVector<Operation *> staged;
    for (int64_t t = 0; t < m;) {
      const Item &it = items[t];
      int64_t first = itemStage[t], last = itemStage[t + it.blocks - 1];
      if (first == last) {
        staged.push_back(ops[it.op]);
        stage.push_back(first);
      } else {
        SmallVector<Operation *> made = splitOp(ops[it.op], it.blocks);
        for (int64_t j = 0; j < it.blocks; ++j) {
          staged.push_back(made[j]);
          stage.push_back(itemStage[t + j]);
        }
        staged.push_back(made.back());
        stage.push_back(last);
      }
      t += it.blocks;
    }
    ops = staged;
    n = ops.size();
  }

  // Cutting ops made new values: list them again.
  values.assign(body.getArguments().begin(), body.getArguments().end());
  for (Operation *op : ops)
    values.append(op->getResults().begin(), op->getResults().end());

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
