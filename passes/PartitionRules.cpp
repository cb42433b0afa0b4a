//===- PartitionRules.cpp - weft-partition's rule for each op ------------===//
//
// The Partitioner's rules: from the splits of an op's operands, the splits
// of its results, or why the op cannot run on parts of its tensors. The
// batch plans keep activations split where an op allows it (elementwise
// ops, a matmul's rows, a convolution's batch...); the tensor plan adds
// the weight splits, column- or row-parallel, and gives an op that has no
// rule for its split operands them whole. The ops these decisions insert
// are built in PartitionCollectives.cpp.
//
//===----------------------------------------------------------------------===//
#include "passes/PartitionDetail.h"

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace weft;

namespace weft::detail {

std::string nodeOf(Operation *op) {
  auto name = dyn_cast<NameLoc>(op->getLoc());
  if (!name)
    return op->getName().getStringRef().str();
  std::string text = "'" + name.getName().str() + "'";
  if (auto type = dyn_cast<NameLoc>(name.getChildLoc()))
    text += " (" + type.getName().str() + ")";
  return text;
}

int64_t rankOf(Value v) { return cast<RankedTensorType>(v.getType()).getRank(); }
ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

int64_t bytesOf(Type type) {
  auto t = cast<RankedTensorType>(type);
  return t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
}

namespace {

/// Whether a convolution computes each position of input axis `axis` (a
/// spatial one) from that position alone: kernel extent 1, stride 1, no
/// padding. A matmul run as a 1x1 convolution is one along its rows.
bool pointwiseAlong(ConvOp c, int64_t axis) {
  bool last = c.getChannelsLast();
  int64_t first = last ? 1 : 2; // the first spatial axis of the input
  int64_t i = axis - first;
  if (i < 0 || i > 1)
    return false;
  ArrayRef<int64_t> f = shapeOf(c.getFilter());
  int64_t kernelAxis = !last ? 2 + i : (f.size() == 5 ? 1 + i : i);
  return f[kernelAxis] == 1 && c.getStrides()[i] == 1 && c.getPads()[i] == 0 &&
         c.getPads()[i + 2] == 0;
}

} // namespace

DictionaryAttr Partitioner::annotationOf(Operation *op) const {
  auto name = dyn_cast<NameLoc>(op->getLoc());
  if (!annotatedNodes || !name)
    return {};
  return annotatedNodes.getAs<DictionaryAttr>(name.getName());
}

StringRef Partitioner::weightSplitOf(Operation *op) const {
  // Other ops carry the node's location too (its weight's constant, say).
  if (!isa<MatMulOp, GemmOp, ConvOp>(op))
    return {};
  if (DictionaryAttr a = annotationOf(op))
    if (auto s = a.getAs<StringAttr>("weight_split"))
      return s.getValue();
  return {};
}

LogicalResult Partitioner::visit(Operation *op) {
  // A node annotated column-parallel takes its input whole.
  if (weightSplitOf(op) == "column" && op->getNumOperands() > 0 &&
      splitOf(op->getOperand(0)) != kWhole)
    op->setOperand(0, gatherWhole(op->getOperand(0), op));
  SmallVector<int64_t> in, out;
  for (Value v : op->getOperands())
    in.push_back(splitOf(v));
  if (op->getNumRegions() > 0) {
    mlir::emitError(op->getLoc(), planName()) << ": " << nodeOf(op)
        << " holds a region (If, Loop), which cannot run on parts of tensors yet";
    return failure();
  }
  mustFail = false;
  Why why = rule(op, in, out);
  if (!why.empty() && tensor && !mustFail) {
    notes.push_back(nodeOf(op) + ": its split operands are gathered whole, as " + why);
    for (OpOperand &use : op->getOpOperands())
      if (splitOf(use.get()) != kWhole)
        use.set(gatherWhole(use.get(), op));
    out.assign(op->getNumResults(), kWhole);
    why.clear();
  }
  if (!why.empty()) {
    mlir::emitError(op->getLoc(), planName()) << ": " << nodeOf(op)
        << " cannot run on parts of its tensors: " << why;
    return failure();
  }
  if (auto s = dyn_cast<SliceOp>(op); s && splitOf(s.getInput()) != kWhole) {
    SmallVector<int64_t> sizes(s.getSizes());
    sizes[splitOf(s.getInput())] /= devices;
    s.setSizes(sizes);
  }
  for (auto [r, o] : llvm::zip(op->getResults(), out))
    split[r] = o;
  return success();
}

void Partitioner::shrink() {
  Block &body = fn.getBody().front();
  auto local = [&](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    int64_t s = splitOf(v);
    if (s == kWhole)
      return;
    SmallVector<int64_t> shape(t.getShape());
    shape[s] /= devices;
    v.setType(t.clone(shape));
  };
  for (BlockArgument arg : body.getArguments())
    local(arg);
  for (Operation &op : body.without_terminator())
    for (Value r : op.getResults())
      local(r);
}

Why Partitioner::rule(Operation *op, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
  out.assign(op->getNumResults(), kWhole);
  if (tensor)
    if (std::optional<Why> why = weightParallel(op, in, out))
      return *why;
  if (llvm::all_of(in, [](int64_t s) { return s == kWhole; }))
    return {}; // every device computes the same whole values
  if (isa<ConstantOp>(op))
    return {};
  if (op->hasTrait<OpTrait::Elementwise>() ||
      isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, PReluOp, AndOp, OrOp, XorOp, ModOp,
          FModOp, ShlOp, ShrOp, CompareOp, WhereOp>(op))
    return broadcast(op, in, out);
  if (auto mm = dyn_cast<MatMulOp>(op))
    return matmul(mm, in, out);
  if (auto g = dyn_cast<GemmOp>(op)) {
    if (in[1] != kWhole || (g.getC() && in[2] != kWhole))
      return "its right operand or bias would be split";
    if (in[0] != (g.getTransA() ? 1 : 0))
      return "only the rows of its left operand can be split";
    if (g.getC() && rankOf(g.getC()) == 2 && shapeOf(g.getC())[0] != 1)
      return "its bias has a row per batch row, whole on every device";
    out[0] = 0;
    return {};
  }
  if (auto conv = dyn_cast<ConvOp>(op)) {
    if (in[1] != kWhole || (conv.getBias() && in[2] != kWhole))
      return "its filter or bias would be split";
    if (in[0] == 0 || pointwiseAlong(conv, in[0])) {
      out[0] = in[0];
      return {};
    }
    return "only its batch axis, or a spatial axis its kernel does not span, can be split";
  }
  if (auto pool = dyn_cast<PoolOp>(op)) {
    int64_t channel = pool.getChannelsLast() ? rankOf(pool.getInput()) - 1 : 1;
    if (in[0] != 0 && in[0] != channel)
      return "it pools over the split axis";
    out[0] = in[0];
    return {};
  }
  if (isa<BatchNormOp>(op)) {
    if (in[0] != 0 || llvm::any_of(in.drop_front(), [](int64_t s) { return s != kWhole; }))
      return "only its batch axis can be split";
    out[0] = 0;
    return {};
  }
  if (auto sm = dyn_cast<SoftmaxOp>(op)) {
    int64_t axis = (int64_t)sm.getAxis();
    if (axis < 0)
      axis += rankOf(sm.getInput());
    if (in[0] == axis)
      return "it normalizes over the split axis";
    out[0] = in[0];
    return {};
  }
  if (auto ln = dyn_cast<LayerNormOp>(op)) {
    int64_t axis = (int64_t)ln.getAxis();
    if (axis < 0)
      axis += rankOf(ln.getInput());
    if (in[0] == kWhole || in[0] >= axis ||
        llvm::any_of(in.drop_front(), [](int64_t s) { return s != kWhole; }))
      return "it normalizes over the split axis";
    out[0] = in[0];
    return {};
  }
  if (auto red = dyn_cast<ReduceOp>(op)) {
    if (llvm::is_contained(red.getAxes(), in[0]))
      return "it reduces over the split axis";
    int64_t axis = in[0];
    if (!red.getKeepdims())
      for (int64_t a : red.getAxes())
        if (a < in[0])
          --axis;
    out[0] = axis;
    return {};
  }
  if (isa<ArgMaxOp, ArgMinOp>(op)) {
    int64_t axis = op->getAttrOfType<IntegerAttr>("axis").getInt();
    if (in[0] == axis)
      return "it searches along the split axis";
    out[0] = in[0] > axis ? in[0] - 1 : in[0];
    return {};
  }
  if (auto t = dyn_cast<TransposeOp>(op)) {
    out[0] = llvm::find(t.getPerm(), in[0]) - t.getPerm().begin();
    return {};
  }
  if (auto r = dyn_cast<ReshapeOp>(op))
    return reshape(r, in, out);
  if (auto c = dyn_cast<ConcatOp>(op)) {
    if (llvm::any_of(in, [&](int64_t s) { return s != in[0]; }))
      return "its operands are not split alike";
    if (in[0] == (int64_t)c.getAxis())
      return "it joins along the split axis";
    out[0] = in[0];
    return {};
  }
  if (auto s = dyn_cast<SliceOp>(op)) {
    int64_t a = in[0];
    if (s.getStarts()[a] != 0 || s.getSteps()[a] != 1 ||
        s.getSizes()[a] != shapeOf(s.getInput())[a])
      return "it slices the split axis";
    out[0] = a;
    return {};
  }
  if (auto p = dyn_cast<PadOp>(op)) {
    if (p.getLow()[in[0]] != 0 || p.getHigh()[in[0]] != 0)
      return "it pads the split axis";
    out[0] = in[0];
    return {};
  }
  if (auto g = dyn_cast<GatherOp>(op)) {
    int64_t axis = (int64_t)g.getAxis();
    if (axis < 0)
      axis += rankOf(g.getData());
    int64_t idxRank = rankOf(g.getIndices());
    if (in[0] != kWhole && in[1] != kWhole)
      return "both its data and its indices would be split";
    if (in[0] == axis)
      return "it gathers along the split axis";
    if (in[0] != kWhole)
      out[0] = in[0] < axis ? in[0] : in[0] + idxRank - 1;
    else
      out[0] = axis + in[1];
    return {};
  }
  return "it has no rule for running on parts of tensors yet";
}

void Partitioner::noteColumns(Operation *op, int64_t n) {
  notes.push_back(nodeOf(op) + ": column-parallel, each device computes " +
                  std::to_string(n / devices) + " of " + std::to_string(n) + " columns");
}

void Partitioner::noteRows(Operation *op, int64_t k, StringRef bias) {
  notes.push_back(nodeOf(op) + ": row-parallel, each device multiplies its " +
                  std::to_string(k / devices) + " of " + std::to_string(k) + " rows" +
                  bias.str() + ", then an all-reduce sums the parts");
}

void Partitioner::noteWhole(Operation *op, const std::string &what) {
  notes.push_back(nodeOf(op) + ": kept whole on every device: its " + what +
                  " do not split into " + std::to_string(devices) + " equal parts");
}

std::optional<Why> Partitioner::weightSplits(Operation *op, ArrayRef<int64_t> in,
                                             SmallVectorImpl<int64_t> &out) {
  auto divisible = [&](int64_t n) { return n >= devices && n % devices == 0; };
  // The annotated plan splits only the weights its nodes name, and says
  // when it cannot.
  StringRef asked = weightSplitOf(op);
  if (annotatedNodes && asked.empty())
    return std::nullopt;
  bool column = !annotatedNodes || asked == "column", row = !annotatedNodes || asked == "row";
  if (auto mm = dyn_cast<MatMulOp>(op)) {
    auto w = mm.getRhs().getDefiningOp<ConstantOp>();
    if (!w || rankOf(w) != 2)
      return std::nullopt;
    int64_t k = shapeOf(w)[0], n = shapeOf(w)[1], lr = rankOf(mm.getLhs());
    if (column && in[0] == kWhole && divisible(n) && setPart(op, 1, w, 1)) {
      out[0] = rankOf(mm.getResult()) - 1;
      noteColumns(op, n);
      return Why();
    }
    if (in[0] == kWhole && !divisible(n))
      noteWhole(op, std::to_string(n) + " columns");
    if (row && lr >= 2 && in[0] == lr - 1 && divisible(k) && setPart(op, 1, w, 0)) {
      reduceAfter(op, mm.getResult());
      noteRows(op, k, "");
      return Why();
    }
    return std::nullopt;
  }
  if (auto g = dyn_cast<GemmOp>(op)) {
    auto w = g.getB().getDefiningOp<ConstantOp>();
    Value c = g.getC();
    auto cc = c ? c.getDefiningOp<ConstantOp>() : ConstantOp();
    if (!w || (c && !cc))
      return std::nullopt;
    int64_t kAxis = g.getTransB() ? 1 : 0, nAxis = 1 - kAxis;
    int64_t k = shapeOf(w)[kAxis], n = shapeOf(w)[nAxis];
    if (column && in[0] == kWhole && divisible(n)) {
      // A bias with the output's columns takes its part too.
      bool cColumns = c && rankOf(c) >= 1 && shapeOf(c).back() == n;
      if (!setPart(op, 1, w, nAxis) || (cColumns && !setPart(op, 2, cc, rankOf(c) - 1)))
        return std::nullopt;
      out[0] = 1;
      noteColumns(op, n);
      return Why();
    }
    if (in[0] == kWhole && !divisible(n))
      noteWhole(op, std::to_string(n) + " columns");
    if (row && in[0] == (g.getTransA() ? 0 : 1) && divisible(k)) {
      if (!setPart(op, 1, w, kAxis) || (c && !setPart(op, 2, cc, -1)))
        return std::nullopt;
      reduceAfter(op, g.getResult());
      noteRows(op, k, " (the bias on device 0)");
      return Why();
    }
    return std::nullopt;
  }
  if (auto conv = dyn_cast<ConvOp>(op)) {
    auto w = conv.getFilter().getDefiningOp<ConstantOp>();
    Value bias = conv.getBias();
    auto bc = bias ? bias.getDefiningOp<ConstantOp>() : ConstantOp();
    if (!w || conv.getGroup() != 1 || (bias && !bc))
      return std::nullopt;
    ConvAxes ax = convAxes(conv);
    int64_t f = shapeOf(w)[ax.filterF], c = shapeOf(w)[ax.filterC];
    if (in[0] == kWhole && !divisible(f))
      noteWhole(op, "output channels");
    if (column && in[0] == kWhole && divisible(f)) {
      if (!setPart(op, 1, w, ax.filterF) || (bias && !setPart(op, 2, bc, 0)))
        return std::nullopt;
      out[0] = ax.outF;
      // Blocked filters count output channels in blocks of their last axis.
      int64_t channels = f * (rankOf(w) == 5 ? shapeOf(w)[4] : 1);
      notes.push_back(nodeOf(op) + ": split by output channels, each device computes " +
                      std::to_string(channels / devices) + " of " + std::to_string(channels));
      return Why();
    }
    if (row && in[0] == ax.inC && divisible(c)) {
      if (!setPart(op, 1, w, ax.filterC) || (bias && !setPart(op, 2, bc, -1)))
        return std::nullopt;
      reduceAfter(op, conv.getResult());
      notes.push_back(nodeOf(op) + ": split by input channels, each device convolves its " +
                      std::to_string(c / devices) + " of " + std::to_string(c) +
                      " channels, then an all-reduce sums the parts");
      return Why();
    }
  }
  return std::nullopt;
}

std::optional<Why> Partitioner::weightParallel(Operation *op, ArrayRef<int64_t> in,
                                               SmallVectorImpl<int64_t> &out) {
  std::optional<Why> why = weightSplits(op, in, out);
  StringRef asked = weightSplitOf(op);
  if (why || !annotatedNodes || asked.empty())
    return why;
  mustFail = true;
  return std::string("it is annotated ") + asked.str() +
         "-parallel, which its operands here do not allow (a row split needs its input "
         "split on the contracted axis, e.g. by a column-parallel producer; either needs a "
         "constant weight whose split axis the devices divide)";
}

Why Partitioner::broadcast(Operation *op, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
  int64_t rank = rankOf(op->getResult(0));
  ArrayRef<int64_t> shape = shapeOf(op->getResult(0));
  int64_t axis = kWhole;
  for (auto [v, s] : llvm::zip(op->getOperands(), in)) {
    if (s == kWhole)
      continue;
    int64_t aligned = s + rank - rankOf(v);
    if (shapeOf(v)[s] != shape[aligned])
      return "a split operand is broadcast along the split axis";
    if (axis != kWhole && axis != aligned)
      return "its operands are split on different axes";
    axis = aligned;
  }
  // A whole operand that is not broadcast along the axis needs its part:
  // a constant's part is cut at compile time.
  for (auto [i, v, s] : llvm::enumerate(op->getOperands(), in)) {
    int64_t aligned = axis - (rank - rankOf(v));
    if (s != kWhole || aligned < 0 || shapeOf(v)[aligned] == 1)
      continue;
    auto c = v.getDefiningOp<ConstantOp>();
    if (!c || !setPart(op, i, c, aligned))
      return "an operand that is whole on every device has the split axis too";
  }
  for (int64_t &o : out)
    o = axis;
  return {};
}

Why Partitioner::matmul(MatMulOp mm, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
  int64_t lr = rankOf(mm.getLhs()), rr = rankOf(mm.getRhs());
  int64_t rank = rankOf(mm.getResult());
  // The contracted axes: the lhs's last and the rhs's second to last.
  if (in[0] != kWhole && lr >= 2 && in[0] == lr - 1)
    return "it contracts the split axis of its left operand";
  if (in[1] != kWhole && in[1] == (rr >= 2 ? rr - 2 : 0))
    return "it contracts the split axis of its right operand";
  if (in[1] != kWhole && in[1] == rr - 1 && rr >= 2 && in[0] != kWhole)
    return "its right operand's columns would be split with its left operand";
  int64_t lAxis = in[0] == kWhole ? kWhole : in[0] + rank - lr;
  int64_t rAxis = in[1] == kWhole ? kWhole : in[1] + rank - rr;
  if (lAxis != kWhole && rAxis != kWhole && lAxis != rAxis)
    return "its operands are split on different axes";
  int64_t axis = lAxis != kWhole ? lAxis : rAxis;
  // A batch axis split on one side must be broadcast (1) on the other.
  for (auto [v, s, r] :
       {std::tuple{mm.getLhs(), in[0], lr}, std::tuple{mm.getRhs(), in[1], rr}}) {
    int64_t a = axis - (rank - r);
    if (s == kWhole && a >= 0 && a < r - 2 && shapeOf(v)[a] != 1)
      return "an operand that is whole on every device has the split batch axis too";
  }
  out[0] = axis;
  return {};
}

Why Partitioner::reshape(ReshapeOp r, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
  ArrayRef<int64_t> from = shapeOf(r.getInput()), to = shapeOf(r.getResult());
  int64_t a = in[0];
  int64_t before = 1;
  for (int64_t d = 0; d < a; ++d)
    before *= from[d];
  int64_t prefix = 1;
  for (int64_t d = 0; d < (int64_t)to.size() && prefix <= before; prefix *= to[d], ++d) {
    if (prefix != before || (to[d] == 1 && from[a] != 1))
      continue; // unit dimensions in front share the prefix
    if (to[d] % devices == 0) {
      out[0] = d;
      return {};
    }
    break;
  }
  return "it merges or splits the split axis in a way that does not keep each device's "
         "part contiguous";
}

} // namespace weft::detail
