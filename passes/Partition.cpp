//===- Partition.cpp - the entry function split across devices -----------===//
//
// weft-partition turns the model into the program that each of N devices
// runs on its own part of the tensors (SPMD). A value's split is the axis
// cut into N equal parts, device r holding part r, or none (the value is
// whole on every device). The plan fixes the inputs' splits; each op's rule
// then gives its results' splits from its operands', in program order, and
// every split dimension is divided by N in the types.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/CostModel.h"
#include "passes/PipelineStages.h"

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

namespace weft {
#define GEN_PASS_DEF_PARTITION
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;

namespace {

constexpr int64_t kWhole = -1;

/// The ONNX node an op came from, for messages: "'name' (Type)".
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

/// Why an op cannot keep its operands' splits; empty when it can.
using Why = std::string;

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

int64_t bytesOf(Type type) {
  auto t = cast<RankedTensorType>(type);
  return t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
}

/// Splits the entry function: the rules, and the ops a plan inserts
/// (weight parts, gathers, all-reduces). New ops are built with whole
/// (global) types and a split like every other value; the last step
/// divides every split dimension.
class Partitioner {
public:
  Partitioner(func::FuncOp fn, int64_t devices, bool tensor, DictionaryAttr annotatedNodes)
      : fn(fn), devices(devices), tensor(tensor), annotatedNodes(annotatedNodes),
        b(fn.getContext()) {}

  func::FuncOp fn;
  int64_t devices;
  bool tensor;
  /// The axis of the grid of devices whose devices share the parts (a
  /// hybrid's tensor plan runs along axis 1 of its 2-D grid).
  int16_t gridAxis = 0;
  /// The annotated plan: each ONNX node's annotations (null otherwise);
  /// weights are split only where a node asks.
  DictionaryAttr annotatedNodes;
  OpBuilder b;
  DenseMap<Value, int64_t> split;
  SmallVector<std::string> notes; ///< decisions, for --explain-parallel
  struct Collective {
    std::string what;
    int64_t bytes;
  };
  SmallVector<Collective> collectives;
  int64_t partedWeightBytes = 0; ///< stacked weights: each device reads 1/devices
  /// Under MPI: bytes rank 0 sends of the inputs and receives of the outputs.
  int64_t scatteredBytes = 0, gatheredBytes = 0;

  int64_t splitOf(Value v) const {
    auto it = split.find(v);
    return it == split.end() ? kWhole : it->second;
  }

  /// Applies `op`'s rule; in the tensor plan an op that cannot take its
  /// split operands gets them whole.
  /// The annotation of the ONNX node `op` came from, when annotated.
  DictionaryAttr annotationOf(Operation *op) const {
    auto name = dyn_cast<NameLoc>(op->getLoc());
    if (!annotatedNodes || !name)
      return {};
    return annotatedNodes.getAs<DictionaryAttr>(name.getName());
  }

  /// The annotated weight split of a MatMul, Gemm or Conv: "column",
  /// "row", or empty.
  StringRef weightSplitOf(Operation *op) const {
    // Other ops carry the node's location too (its weight's constant, say).
    if (!isa<MatMulOp, GemmOp, ConvOp>(op))
      return {};
    if (DictionaryAttr a = annotationOf(op))
      if (auto s = a.getAs<StringAttr>("weight_split"))
        return s.getValue();
    return {};
  }

  LogicalResult visit(Operation *op) {
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

  /// Divides every split dimension by the number of devices.
  void shrink() {
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

  /// Set for the pipeline plan, whose batch is cut into micro-batches.
  const char *label = nullptr;
  const char *planName() const {
    return label ? label : tensor ? "tensor parallel" : "data parallel";
  }

private:
  DenseMap<std::pair<Operation *, int64_t>, Value> parts;
  bool mustFail = false; ///< the last rule's failure is not to be gathered away
  DenseMap<Value, Value> gathered;

  Why rule(Operation *op, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
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

  // The decisions --explain-parallel prints.
  void noteColumns(Operation *op, int64_t n) {
    notes.push_back(nodeOf(op) + ": column-parallel, each device computes " +
                    std::to_string(n / devices) + " of " + std::to_string(n) + " columns");
  }
  void noteRows(Operation *op, int64_t k, StringRef bias) {
    notes.push_back(nodeOf(op) + ": row-parallel, each device multiplies its " +
                    std::to_string(k / devices) + " of " + std::to_string(k) + " rows" +
                    bias.str() + ", then an all-reduce sums the parts");
  }
  void noteWhole(Operation *op, const std::string &what) {
    notes.push_back(nodeOf(op) + ": kept whole on every device: its " + what +
                    " do not split into " + std::to_string(devices) + " equal parts");
  }

  /// The tensor plan's weight splits: a matmul, Gemm or group-1
  /// convolution with a constant weight is column-parallel when its input
  /// is whole, row-parallel (then all-reduced) when its input is split on
  /// the contracted axis. Nothing when neither applies.
  std::optional<Why> weightSplits(Operation *op, ArrayRef<int64_t> in,
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

  /// weightSplits; an annotated split that cannot be made is an error,
  /// never a weight silently kept whole.
  std::optional<Why> weightParallel(Operation *op, ArrayRef<int64_t> in,
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

  Why broadcast(Operation *op, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
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

  Why matmul(MatMulOp mm, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
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

  /// A reshape keeps a split when the dimensions before the split one keep
  /// their product: each device's part of every block is then one
  /// contiguous run, which is a part of the result dimension that starts
  /// there, when the devices divide that dimension.
  Why reshape(ReshapeOp r, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
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

  /// Makes operand `i` of `op` read this device's part of constant `c`
  /// along `axis` (-1: device 0 reads `c`, the others zeros). False when
  /// the constant's elements are not bytes.
  bool setPart(Operation *op, unsigned i, ConstantOp c, int64_t axis) {
    auto key = std::make_pair(c.getOperation(), axis);
    if (Value part = parts.lookup(key)) {
      op->setOperand(i, part);
      return true;
    }
    auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
    auto type = cast<RankedTensorType>(c.getType());
    unsigned bits = type.getElementTypeBitWidth();
    if (!dense || bits % 8 != 0 || (axis >= 0 && type.getShape()[axis] % devices != 0))
      return false;
    size_t elem = bits / 8;
    SmallVector<int64_t> local(type.getShape());
    if (axis >= 0)
      local[axis] /= devices;
    SmallVector<int64_t> stackedShape = {devices};
    stackedShape.append(local);
    auto stackedType = RankedTensorType::get(stackedShape, type.getElementType());
    DenseElementsAttr stacked;
    if (dense.isSplat() && axis >= 0) {
      stacked = dense.resizeSplat(stackedType);
    } else {
      // Part r of every block of the whole constant, parts one after the other.
      ArrayRef<char> raw = dense.getRawData();
      size_t count = (size_t)type.getNumElements();
      std::vector<char> whole(count * elem);
      for (size_t e = 0; e < count; ++e)
        std::memcpy(&whole[e * elem], &raw[dense.isSplat() ? 0 : e * elem], elem);
      std::vector<char> bytes((size_t)devices * count * elem / (axis >= 0 ? devices : 1), 0);
      if (axis < 0) {
        std::memcpy(bytes.data(), whole.data(), whole.size());
      } else {
        size_t outer = 1, inner = elem;
        for (int64_t d = 0; d < axis; ++d)
          outer *= type.getShape()[d];
        for (int64_t d = axis + 1; d < type.getRank(); ++d)
          inner *= type.getShape()[d];
        size_t block = inner * local[axis], stride = inner * type.getShape()[axis];
        for (int64_t r = 0; r < devices; ++r)
          for (size_t o = 0; o < outer; ++o)
            std::memcpy(&bytes[(r * outer + o) * block], &whole[o * stride + r * block], block);
      }
      stacked = DenseElementsAttr::getFromRawBuffer(stackedType, ArrayRef<char>(bytes));
    }
    b.setInsertionPoint(op);
    Location loc = c.getLoc();
    auto s = ConstantOp::create(b, loc, stackedType, stacked);
    auto slice = shard::AllSliceOp::create(b, loc, stackedType, "devices", ArrayRef<int16_t>{gridAxis},
                                           s, APInt(64, 0));
    auto part = ReshapeOp::create(b, loc, type, slice);
    split[slice] = 0;
    split[part] = axis;
    partedWeightBytes += bytesOf(stackedType);
    parts[key] = part;
    op->setOperand(i, part);
    return true;
  }

public:
  /// `v` whole on every device, gathered from the devices' parts.
  Value gatherWhole(Value v, Operation *before) {
    if (Value g = gathered.lookup(v))
      return g;
    int64_t a = splitOf(v);
    auto type = cast<RankedTensorType>(v.getType());
    ArrayRef<int64_t> shape = type.getShape();
    b.setInsertionPoint(before);
    Location loc = before->getLoc();
    Value whole;
    if (llvm::all_of(shape.take_front(a), [](int64_t d) { return d == 1; })) {
      // The parts are contiguous: gather straight into place.
      whole = shard::AllGatherOp::create(b, loc, type, "devices", ArrayRef<int16_t>{gridAxis}, v,
                                         APInt(64, a));
    } else {
      // Gather the parts one after the other, then move them into place.
      SmallVector<int64_t> local(shape);
      local[a] /= devices;
      SmallVector<int64_t> stackedShape = {devices};
      stackedShape.append(local);
      auto stackedType = type.clone(stackedShape);
      auto lifted = ReshapeOp::create(b, loc, stackedType, v);
      split[lifted] = 0;
      auto all = shard::AllGatherOp::create(b, loc, stackedType, "devices",
                                            ArrayRef<int16_t>{gridAxis}, lifted, APInt(64, 0));
      SmallVector<int64_t> perm;
      for (int64_t d = 1; d <= a; ++d)
        perm.push_back(d);
      perm.push_back(0);
      for (int64_t d = a + 1; d <= (int64_t)shape.size(); ++d)
        perm.push_back(d);
      SmallVector<int64_t> moved;
      for (int64_t p : perm)
        moved.push_back(stackedShape[p]);
      auto t = TransposeOp::create(b, loc, type.clone(moved), all, b.getDenseI64ArrayAttr(perm));
      whole = ReshapeOp::create(b, loc, type, t);
    }
    collectives.push_back({"all-gather of " + nodeOf(before) + "'s operand " +
                               llvm::formatv("{0}", type).str(),
                           bytesOf(type)});
    gathered[v] = whole;
    return whole;
  }

  /// Every device holds a part of the sum in `partial`: an all-reduce
  /// after `op` gives its users the sum.
  void reduceAfter(Operation *op, Value partial) {
    b.setInsertionPointAfter(op);
    auto sum = shard::AllReduceOp::create(b, op->getLoc(), partial.getType(), "devices",
                                          ArrayRef<int16_t>{gridAxis}, partial,
                                          shard::ReductionKind::Sum);
    partial.replaceAllUsesExcept(sum, sum.getOperation());
    collectives.push_back({"all-reduce (sum) after " + nodeOf(op) + " " +
                               llvm::formatv("{0}", partial.getType()).str(),
                           bytesOf(partial.getType())});
  }
};

struct PartitionPass : weft::impl::PartitionBase<PartitionPass> {
  using PartitionBase::PartitionBase;
  friend struct weft::CostModel; // reads the rate options (CostModel::fromOptions)

  /// What a plan costs, by the cost model.
  struct Outcome {
    int64_t work = 0, local = 0;   ///< operations in all, and per device
    double computeUs = 0;          ///< one device's share
    double inProcessUs = 0, mpiUs = 0; ///< its collectives and starting a run
  };

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
      explanation = describePlan(p, batch, planName);
    p.shrink();
    setSignature(fn, type, pipeline ? "pipeline" : planName, inputSplits, outputSplits);
    if (pipeline)
      return stageWith(fn, annotatedNodes, batch, micro, print, p.gatheredBytes, outcome);
    return predict(fn, p, work, print, explanation, outcome);
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
      explanation = describePlan(tensor, batch, "data*tensor");
    tensor.shrink();
    setSignature(fn, type, "data*tensor", inputSplits, outputSplits);
    return predict(fn, tensor, work, print, explanation, outcome);
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

  /// A split program's predicted run (`work`: the whole model's operations)
  /// and, when `print`, the explanation with it.
  LogicalResult predict(func::FuncOp fn, Partitioner &p, int64_t work, bool print,
                        StringRef explanation, Outcome &outcome) {
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


  /// The pipeline plan's stages on `fn`, already at micro-batch size:
  /// records them for the host program and predicts a run (M micro-batches
  /// through N stages: the first fills the pipeline, then one leaves every
  /// slowest-stage step).
  LogicalResult stageWith(func::FuncOp fn, DictionaryAttr annotatedNodes, int64_t batch,
                          int64_t micro, bool print, int64_t gatheredBytes, Outcome &outcome) {
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



  /// --explain-parallel: each tensor's split, the decisions and the
  /// collectives with their estimated times.
  std::string describePlan(Partitioner &p, int64_t batch, StringRef plan) {
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

};

} // namespace
