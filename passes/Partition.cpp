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

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

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

/// The rules: given the operands' splits, set the results' splits or say
/// why the op cannot run on parts.
class Rules {
public:
  explicit Rules(int64_t devices) : devices(devices) {}

  Why apply(Operation *op, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
    out.assign(op->getNumResults(), kWhole);
    if (llvm::all_of(in, [](int64_t s) { return s == kWhole; }) && op->getNumRegions() == 0)
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
      if (in[0] != 0)
        return "only its batch axis can be split";
      out[0] = 0;
      return {};
    }
    if (auto pool = dyn_cast<PoolOp>(op)) {
      int64_t channel = pool.getChannelsLast() ? rankOf(pool.getInput()) - 1 : 1;
      if (in[0] != 0 && in[0] != channel)
        return "it pools over the split axis";
      out[0] = in[0];
      return {};
    }
    if (auto bn = dyn_cast<BatchNormOp>(op)) {
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
      if (s.getStarts()[a] != 0 || s.getSteps()[a] != 1 || s.getSizes()[a] != shapeOf(s.getInput())[a])
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

  /// The slice a data-parallel split implies for the attributes of an op
  /// whose attributes hold sizes of the split axis.
  void rewriteAttributes(Operation *op, ArrayRef<int64_t> in) {
    if (auto s = dyn_cast<SliceOp>(op)) {
      SmallVector<int64_t> sizes(s.getSizes());
      sizes[in[0]] /= devices;
      s.setSizes(sizes);
    }
  }

private:
  int64_t devices;

  Why broadcast(Operation *op, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
    int64_t rank = op->getNumResults() ? rankOf(op->getResult(0)) : 0;
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
    // A whole operand that is not broadcast along the axis would need its
    // part on every device.
    for (auto [v, s] : llvm::zip(op->getOperands(), in)) {
      int64_t aligned = axis - (rank - rankOf(v));
      if (s == kWhole && aligned >= 0 && shapeOf(v)[aligned] != 1)
        return "an operand that is whole on every device has the split axis too (a "
               "constant with a row per batch row, say)";
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
    if (in[1] != kWhole && in[1] == rr - 1 && rr >= 2)
      return "its right operand's columns would be split";
    int64_t lAxis = in[0] == kWhole ? kWhole : in[0] + rank - lr;
    int64_t rAxis = in[1] == kWhole ? kWhole : in[1] + rank - rr;
    if (lAxis != kWhole && rAxis != kWhole && lAxis != rAxis)
      return "its operands are split on different axes";
    int64_t axis = lAxis != kWhole ? lAxis : rAxis;
    // A batch axis split on one side must be broadcast (1) on the other.
    for (auto [v, s, r] : {std::tuple{mm.getLhs(), in[0], lr}, std::tuple{mm.getRhs(), in[1], rr}}) {
      int64_t a = axis - (rank - r);
      if (s == kWhole && a >= 0 && a < r - 2 && shapeOf(v)[a] != 1)
        return "an operand that is whole on every device has the split batch axis too";
    }
    out[0] = axis;
    return {};
  }

  /// A reshape keeps the split when the product of the dimensions before
  /// it and the split dimension itself are unchanged.
  Why reshape(ReshapeOp r, ArrayRef<int64_t> in, SmallVectorImpl<int64_t> &out) {
    ArrayRef<int64_t> from = shapeOf(r.getInput()), to = shapeOf(r.getResult());
    int64_t before = 1;
    for (int64_t d = 0; d < in[0]; ++d)
      before *= from[d];
    int64_t prefix = 1;
    for (int64_t d = 0; d < (int64_t)to.size(); ++d) {
      if (prefix == before && to[d] == from[in[0]]) {
        out[0] = d;
        return {};
      }
      prefix *= to[d];
      if (prefix > before && before != 0)
        break;
    }
    return "it merges or splits the split axis with others";
  }
};

struct PartitionPass : weft::impl::PartitionBase<PartitionPass> {
  using PartitionBase::PartitionBase;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (devices < 1) {
      mlir::emitError(fn.getLoc(), "--devices must be at least 1, not ") << devices;
      return signalPassFailure();
    }
    if (plan != "data") {
      mlir::emitError(fn.getLoc(), "unknown parallel plan '") << plan << "' (this compiler builds: data)";
      return signalPassFailure();
    }
    if (fn.getBody().getBlocks().size() != 1)
      return;
    Block &body = fn.getBody().front();
    OpBuilder b(fn.getContext());
    FunctionType type = fn.getFunctionType();

    // The batch: axis 0 of the first input that has one and is not pinned.
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
    unsigned batchInput = 0;
    for (BlockArgument arg : body.getArguments())
      if (rankOf(arg) >= 1 && !isPinned(arg.getArgNumber())) {
        batch = shapeOf(arg)[0];
        batchInput = arg.getArgNumber();
        break;
      }
    if (batch < 0) {
      mlir::emitError(fn.getLoc(), "data parallel: no input has a batch axis to split");
      return signalPassFailure();
    }
    if (batch < devices || batch % devices != 0) {
      mlir::emitError(fn.getLoc(), llvm::formatv(
          "data parallel: the batch of input '{0}' is {1}, which {2} devices cannot share "
          "equally ({3}); compile for a batch that is a multiple of {2} (weftc "
          "--input-shape) or for fewer devices",
          inputName(batchInput), batch, devices,
          batch < devices ? "more devices than batch rows" : "not a multiple"));
      return signalPassFailure();
    }

    DenseMap<Value, int64_t> split;
    SmallVector<int64_t> inputSplits;
    for (BlockArgument arg : body.getArguments()) {
      int64_t s = rankOf(arg) >= 1 && !isPinned(arg.getArgNumber()) && shapeOf(arg)[0] == batch
                      ? 0
                      : kWhole;
      split[arg] = s;
      inputSplits.push_back(s);
    }
    auto splitOf = [&](Value v) {
      auto it = split.find(v);
      return it == split.end() ? kWhole : it->second;
    };

    Rules rules(devices);
    for (Operation &op : body.without_terminator()) {
      SmallVector<int64_t> in, out;
      for (Value v : op.getOperands())
        in.push_back(splitOf(v));
      if (op.getNumRegions() > 0) {
        mlir::emitError(op.getLoc(), "data parallel: ") << nodeOf(&op) << " holds a region (If, Loop), which "
                                       << "cannot run on parts of tensors yet";
        return signalPassFailure();
      }
      Why why = rules.apply(&op, in, out);
      if (!why.empty()) {
        mlir::emitError(op.getLoc(), "data parallel: ") << nodeOf(&op) << " cannot run on parts of its "
                                        << "tensors: " << why;
        return signalPassFailure();
      }
      rules.rewriteAttributes(&op, in);
      for (auto [r, s] : llvm::zip(op.getResults(), out))
        split[r] = s;
    }
    SmallVector<int64_t> outputSplits;
    for (Value v : body.getTerminator()->getOperands())
      outputSplits.push_back(splitOf(v));

    if (explain)
      printPlan(fn, split, batch);

    // Every split dimension shrinks by the number of devices.
    auto local = [&](Value v) -> Type {
      auto t = cast<RankedTensorType>(v.getType());
      int64_t s = splitOf(v);
      if (s == kWhole)
        return t;
      SmallVector<int64_t> shape(t.getShape());
      shape[s] /= devices;
      return t.clone(shape);
    };
    for (BlockArgument arg : body.getArguments())
      arg.setType(local(arg));
    for (Operation &op : body.without_terminator())
      for (Value r : op.getResults())
        r.setType(local(r));
    SmallVector<Type> results;
    for (Value v : body.getTerminator()->getOperands())
      results.push_back(v.getType());
    fn->setAttr("weft.abi_input_types", b.getTypeArrayAttr(type.getInputs()));
    fn->setAttr("weft.abi_output_types", b.getTypeArrayAttr(type.getResults()));
    fn.setType(b.getFunctionType(body.getArgumentTypes(), results));
    fn->setAttr("weft.num_devices", b.getI64IntegerAttr(devices));
    fn->setAttr("weft.parallel_plan", b.getStringAttr(plan));
    fn->setAttr("weft.input_splits", b.getDenseI64ArrayAttr(inputSplits));
    fn->setAttr("weft.output_splits", b.getDenseI64ArrayAttr(outputSplits));
    if (failed(mlir::verify(fn)))
      return signalPassFailure();
  }

  /// --explain-parallel: each tensor's split, the work and weights of a
  /// device, and what moves between devices.
  void printPlan(func::FuncOp fn, DenseMap<Value, int64_t> &split, int64_t batch) {
    llvm::raw_ostream &os = llvm::errs();
    auto splitText = [&](Value v) -> std::string {
      auto it = split.find(v);
      if (it == split.end() || it->second == kWhole)
        return "whole on every device";
      return llvm::formatv("split on axis {0} into {1} parts of {2}", it->second, devices,
                           shapeOf(v)[it->second] / devices)
          .str();
    };
    Block &body = fn.getBody().front();
    os << llvm::formatv("parallel: plan data on {0} devices: the batch of {1} rows is cut "
                        "into {0} parts of {2}\n",
                        devices, batch, batch / devices);
    auto bytesOf = [](Value v) -> int64_t {
      auto t = cast<RankedTensorType>(v.getType());
      return t.getNumElements() * std::max<int64_t>(1, t.getElementTypeBitWidth() / 8);
    };
    auto names = [&](StringRef attr, unsigned i) -> std::string {
      if (auto arr = fn->getAttrOfType<ArrayAttr>(attr))
        if (i < arr.size())
          if (auto s = dyn_cast<StringAttr>(arr[i]))
            return s.str();
      return "#" + std::to_string(i);
    };
    int64_t weights = 0, work = 0, localWork = 0, scattered = 0, gathered = 0;
    for (BlockArgument arg : body.getArguments()) {
      os << "  input '" << names("weft.input_names", arg.getArgNumber()) << "' "
         << arg.getType() << ": " << splitText(arg) << "\n";
      scattered += bytesOf(arg) - (split[arg] == kWhole ? 0 : bytesOf(arg) / devices);
    }
    for (Operation &op : body.without_terminator()) {
      if (auto c = dyn_cast<ConstantOp>(op)) {
        weights += bytesOf(c);
        continue;
      }
      int64_t flops = estimateFlops(&op);
      bool parted = llvm::any_of(op.getResults(), [&](Value r) { return split[r] != kWhole; });
      work += flops;
      localWork += parted ? flops / devices : flops;
      for (Value r : op.getResults())
        os << "  " << nodeOf(&op) << " " << op.getName().stripDialect() << " -> "
           << r.getType() << ": " << splitText(r) << "\n";
    }
    for (auto [i, v] : llvm::enumerate(body.getTerminator()->getOperands())) {
      os << "  output '" << names("weft.output_names", i) << "' " << v.getType() << ": "
         << splitText(v) << "\n";
      if (split[v] != kWhole)
        gathered += bytesOf(v) - bytesOf(v) / devices;
    }
    os << llvm::formatv("  each device: {0} of {1} operations ({2:P}), {3} bytes of weights "
                        "(one copy shared in one process, one per process under MPI)\n",
                        localWork, work, work ? (double)localWork / (double)work : 1.0,
                        weights);
    os << llvm::formatv("  collectives inside the model: none; under MPI rank 0 sends {0} "
                        "bytes of inputs to the other ranks and receives {1} bytes of "
                        "outputs\n",
                        scattered, gathered);
  }

  /// Multiply-adds count two: the arithmetic an op does, roughly.
  static int64_t estimateFlops(Operation *op) {
    auto elems = [](Value v) { return cast<RankedTensorType>(v.getType()).getNumElements(); };
    if (op->getNumResults() == 0)
      return 0;
    int64_t out = elems(op->getResult(0));
    if (auto mm = dyn_cast<MatMulOp>(op))
      return 2 * out * shapeOf(mm.getLhs()).back();
    if (auto g = dyn_cast<GemmOp>(op))
      return 2 * out * shapeOf(g.getA())[g.getTransA() ? 0 : 1];
    if (auto c = dyn_cast<ConvOp>(op)) {
      ArrayRef<int64_t> f = shapeOf(c.getFilter());
      int64_t taps = 1;
      for (int64_t d : f.drop_front())
        taps *= d;
      return 2 * out * taps;
    }
    int64_t in = 0;
    for (Value v : op->getOperands())
      in = std::max(in, elems(v));
    return std::max(in, out);
  }
};

} // namespace
