//===- FormDispatches.cpp - weft-form-dispatches -------------------------===//
//
// Groups compute ops into weft.dispatch regions, the unit that becomes one
// kernel. A chain of elementwise ops over one shape, where each link's only
// user is the next, shares a region (the intermediates never reach memory).
// A convolution or a 2-D matmul/gemm heads such a chain when its result's
// only user is the chain's first link (bias, activation, residual add): the
// backend computes the epilogue on the root's tiles. Every other op gets a
// region of its own. A region yields only the values
// used outside it. A Concat also takes in the elementwise chains that only
// feed it, so its pieces are computed in place.
//
//===----------------------------------------------------------------------===//
#include "passes/GpuBlocks.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

namespace weft {
#define GEN_PASS_DEF_FORMDISPATCHES
#include "passes/Passes.h.inc"
} // namespace weft

using namespace mlir;
using namespace weft;

namespace {

/// Ops that do no work of their own: they stay at the top level.
static bool isStructural(Operation *op) {
  return isa<ConstantOp, ReshapeOp, DispatchOp, DispatchCallOp, IfOp, LoopOp, TrapOp>(op) ||
         !isa<WeftDialect>(op->getDialect());
}

/// Ops that compute each output element from the elements at the same
/// (broadcast) position, and so fuse into their consumer's loops.
bool isElementwiseLike(Operation *op) {
  return op->hasTrait<OpTrait::Elementwise>() || isBroadcastElementwise(op);
}

/// The types of a MatMul's operands and result (lhs, rhs, output), or none
/// for another op.
std::optional<std::array<ShapedType, 3>> matmulTypes(Operation *op) {
  auto mm = dyn_cast<MatMulOp>(op);
  if (!mm)
    return std::nullopt;
  return std::array<ShapedType, 3>{cast<ShapedType>(mm.getLhs().getType()),
                                   cast<ShapedType>(mm.getRhs().getType()),
                                   cast<ShapedType>(mm.getType())};
}

/// A MatMul [B.., M, K] x [K, N]: its batch dims are more rows of one 2-D
/// matmul (a transformer's projections), computed through a reshape.
bool isBatchRowsMatMul(Operation *op) {
  auto t = matmulTypes(op);
  return t && (*t)[2].getRank() > 2 && (*t)[1].getRank() == 2 &&
         (*t)[0].getRank() == (*t)[2].getRank();
}

/// A MatMul [B.., M, K] x [B.., K, N] of the same batch dims: its lowering
/// is one contraction over the batch, rows, columns and reduction loops
/// that writes [B.., M, N] itself (no reshape).
bool isBatchedMatMul(Operation *op) {
  auto t = matmulTypes(op);
  if (!t)
    return false;
  auto [lhs, rhs, out] = *t;
  int64_t rank = out.getRank();
  if (rank < 3 || lhs.getRank() != rank || rhs.getRank() != rank || !lhs.hasStaticShape() ||
      !rhs.hasStaticShape() || !out.hasStaticShape())
    return false;
  return lhs.getShape().drop_back(2) == out.getShape().drop_back(2) &&
         rhs.getShape().drop_back(2) == out.getShape().drop_back(2);
}

/// Ops whose elementwise consumers join their region (the epilogue is
/// computed on the root's result tiles). A matmul whose result is not 2-D is
/// computed through a reshape, which the tiling cannot fuse across, unless
/// `batchRows` says its lowering collapses the epilogue to 2-D (a
/// batch-rows matmul) or, with `batched`, it is a batched matmul (whose
/// contraction writes its result's shape). The sum of a split reduction
/// heads the chain that followed its matmul.
bool isFusionRoot(Operation *op, bool batchRows, bool batched = false) {
  if (isa<ConvOp>(op))
    return true;
  if (isa<MatMulOp, GemmOp>(op))
    return cast<ShapedType>(op->getResult(0).getType()).getRank() == 2 ||
           (batchRows && isBatchRowsMatMul(op)) || (batched && isBatchedMatMul(op));
  return isa<ReduceOp>(op) && op->hasAttr(kSplitReductionAttr);
}

/// A view that a batched matmul takes into its dispatch (matmuls-take-views):
/// a slice of positive steps, or a transpose that keeps the innermost
/// dimension in place (A's rows and B's columns stay contiguous, which the
/// register tiles and blocks read 4 or more neighbours of at a time).
bool isInnerView(Operation *op) {
  if (auto s = dyn_cast<SliceOp>(op))
    return llvm::all_of(s.getSteps(), [](int64_t step) { return step >= 1; });
  auto t = dyn_cast<TransposeOp>(op);
  return t && !t.getPerm().empty() && t.getPerm().back() == (int64_t)t.getPerm().size() - 1;
}

/// The transpose weft-split-reduction put before matmul `op`, when `op`
/// is its only user: it joins the matmul's region.
TransposeOp splitTranspose(Operation *op) {
  auto mm = dyn_cast<MatMulOp>(op);
  auto t = mm ? mm.getLhs().getDefiningOp<TransposeOp>() : TransposeOp();
  if (!t || !t->hasAttr(kSplitReductionAttr) || !t->hasOneUse())
    return {};
  return t;
}

/// The padding of the image of convolution `op`, when `op` is its only user
/// and runs in the CUDA backend's blocks (gpuConvTakesBlocks) or is
/// depthwise: it joins the convolution's region, whose blocks then read the
/// unpadded image, or whose threads read their windows of it with bounds
/// checks (a depthwise convolution does 9 products per output of a 3x3
/// window: memory bound, the padded copy a whole extra pass over its
/// image). Only f32 NCHW convolutions padded along their height and width.
PadOp convPadding(Operation *op) {
  auto conv = dyn_cast<ConvOp>(op);
  auto pad = conv ? conv.getInput().getDefiningOp<PadOp>() : PadOp();
  if (!pad || !pad->hasOneUse() || conv.getChannelsLast())
    return {};
  auto x = dyn_cast<RankedTensorType>(conv.getInput().getType());
  auto w = dyn_cast<RankedTensorType>(conv.getFilter().getType());
  auto y = dyn_cast<RankedTensorType>(conv.getType());
  if (!x || !w || !y || !x.hasStaticShape() || !w.hasStaticShape() || !y.hasStaticShape() ||
      x.getRank() != 4 || w.getRank() != 4 || !x.getElementType().isF32() ||
      !w.getElementType().isF32() || !y.getElementType().isF32() || conv.getGroup() < 1)
    return {};
  for (int64_t d : {0, 1})
    if (pad.getLow()[d] != 0 || pad.getHigh()[d] != 0)
      return {};
  int64_t groups = conv.getGroup();
  int64_t positions = y.getDimSize(2) * y.getDimSize(3);
  bool depthwise = groups > 1 && groups == x.getDimSize(1) && w.getDimSize(1) == 1;
  if (y.getDimSize(1) % groups != 0 ||
      (!depthwise && !gpuConvTakesBlocks(y.getDimSize(1) / groups, positions,
                                         w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3),
                                         w.getDimSize(2) * w.getDimSize(3),
                                         y.getNumElements())))
    return {};
  return pad;
}

/// The op that heads group `g`: its first, or the op that the first ones
/// joined as its operands (a convolution's padding, a split matmul's
/// transpose, the slices and transposes that a batched matmul takes in).
Operation *groupHead(ArrayRef<Operation *> g) {
  if (g.size() >= 2 && ((isa<PadOp>(g[0]) && isa<ConvOp>(g[1])) ||
                        (isa<TransposeOp>(g[0]) && splitTranspose(g[1]) == g[0])))
    return g[1];
  for (auto [i, op] : llvm::enumerate(g)) {
    if (isa<MatMulOp>(op))
      return i > 0 ? op : g.front();
    if (!isInnerView(op))
      break;
  }
  return g.front();
}

/// Longest elementwise chain in one region: bounds the size of one kernel so
/// compile time stays linear in the number of ops.
constexpr size_t kMaxChain = 64;

/// The ONNX nodes a location names: the importer gives every op
/// NameLoc(node name, NameLoc(op type)); rewrites keep or fuse those.
static void collectNodes(Location loc, SmallVectorImpl<std::string> &out) {
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location l : fused.getLocations())
      collectNodes(l, out);
    return;
  }
  auto name = dyn_cast<NameLoc>(loc);
  if (!name)
    return;
  std::string label = "'" + name.getName().str() + "'";
  if (auto type = dyn_cast<NameLoc>(name.getChildLoc()))
    label += " (" + type.getName().str() + ")";
  out.push_back(std::move(label));
}

/// "Conv" for weft.conv: the op's name without its dialect.
static StringRef shortName(Operation *op) {
  return op->getName().stripDialect();
}

/// How an op is named in the explanation: its weft op and, when it has one,
/// the ONNX node it came from.
static std::string describe(Operation *op) {
  SmallVector<std::string> nodes;
  collectNodes(op->getLoc(), nodes);
  std::string text = shortName(op).str();
  if (!nodes.empty())
    text += " of " + nodes.front();
  return text;
}

struct FormDispatchesPass : weft::impl::FormDispatchesBase<FormDispatchesPass> {
  using FormDispatchesBase::FormDispatchesBase;

  /// One edge between two dispatches, for --explain-fusion: the producing
  /// and consuming groups and why the consumer did not join.
  struct Apart {
    size_t producerGroup, consumerGroup;
    std::string producer, consumer, why;
  };

  /// isFusionRoot with this pass's options.
  bool isRoot(Operation *op) const {
    return isFusionRoot(op, batchRowEpilogues, matmulsTakeViews);
  }

  bool isClonable(Value v) const {
    auto cst = v.getDefiningOp<ConstantOp>();
    if (!cst)
      return false;
    auto elements = cst.getValue();
    return elements.isSplat() || elements.getNumElements() <= cloneConstantLimit;
  }

  /// Wraps `ops` (each after the members it uses; only the last one's results
  /// used outside) into one dispatch placed at the last op, where every
  /// outside operand is already defined. It yields the last op's results
  /// first (codegen tiles the first result's producer), then any other
  /// result used outside.
  DispatchOp wrap(OpBuilder &builder, ArrayRef<Operation *> ops) {
    llvm::SetVector<Value> inputs;
    llvm::SetVector<Operation *> opSet(ops.begin(), ops.end());
    for (Operation *op : ops)
      for (Value operand : op->getOperands())
        if (!opSet.contains(operand.getDefiningOp()) && !isClonable(operand))
          inputs.insert(operand);
    SmallVector<Value> results;
    SmallVector<Type> resultTypes;
    auto escapes = [&](Value r) {
      return llvm::any_of(r.getUsers(),
                          [&](Operation *user) { return !opSet.contains(user); });
    };
    for (Value r : ops.back()->getResults()) {
      results.push_back(r);
      resultTypes.push_back(r.getType());
    }
    for (Operation *op : ops.drop_back())
      for (Value r : op->getResults())
        if (escapes(r)) {
          results.push_back(r);
          resultTypes.push_back(r.getType());
        }
    builder.setInsertionPoint(ops.back());
    auto dispatch = DispatchOp::create(builder, ops.back()->getLoc(),
                                       resultTypes, inputs.getArrayRef());
    Block &body = dispatch.getBody().front();
    IRMapping mapping;
    for (auto [in, arg] : llvm::zip(inputs, body.getArguments()))
      mapping.map(in, arg);
    OpBuilder inner = OpBuilder::atBlockBegin(&body);
    for (Operation *op : ops) {
      for (Value operand : op->getOperands())
        if (!mapping.contains(operand) && isClonable(operand))
          inner.clone(*operand.getDefiningOp(), mapping);
      inner.clone(*op, mapping);
    }
    SmallVector<Value> yielded;
    for (Value r : results)
      yielded.push_back(mapping.lookup(r));
    YieldOp::create(inner, dispatch.getLoc(), yielded);
    for (auto [r, d] : llvm::zip(results, dispatch.getResults()))
      r.replaceAllUsesWith(d);
    for (Operation *op : llvm::reverse(ops))
      op->erase();
    return dispatch;
  }

  /// A Concat takes in the elementwise groups whose only user it is, so the
  /// pieces are computed straight into their windows of the output (one
  /// kernel instead of one per branch plus a copy).
  void absorbConcatProducers(ConcatOp concat, SmallVector<SmallVector<Operation *>> &groups,
                             DenseMap<Operation *, size_t> &groupOf) {
    SmallVector<size_t> producers;
    for (Value in : concat.getInputs())
      if (std::optional<size_t> g =
              producerGroupOf(concat, in, isElementwiseLike, groups, groupOf);
          g && !llvm::is_contained(producers, *g))
        producers.push_back(*g);
    mergeProducers(groupOf[concat], producers, groups, groupOf);
  }

  /// The group that computes `operand` of `consumer` and ends there, when
  /// each of its ops satisfies `member` and `consumer` alone uses the value.
  static std::optional<size_t> producerGroupOf(Operation *consumer, Value operand,
                                               function_ref<bool(Operation *)> member,
                                               ArrayRef<SmallVector<Operation *>> groups,
                                               const DenseMap<Operation *, size_t> &groupOf) {
    Operation *def = operand.getDefiningOp();
    auto it = def ? groupOf.find(def) : groupOf.end();
    if (it == groupOf.end())
      return std::nullopt;
    ArrayRef<Operation *> g = groups[it->second];
    if (g.empty() || g.back() != def || !llvm::all_of(g, member) ||
        !llvm::all_of(def->getUsers(), [&](Operation *u) { return u == consumer; }))
      return std::nullopt;
    return it->second;
  }

  /// Moves the ops of groups `producers` (in program order) in front of
  /// those of group `target`, leaving the producers' groups empty.
  static void mergeProducers(size_t target, SmallVector<size_t> producers,
                             SmallVector<SmallVector<Operation *>> &groups,
                             DenseMap<Operation *, size_t> &groupOf) {
    if (producers.empty())
      return;
    llvm::sort(producers, [&](size_t a, size_t b) {
      return groups[a].front()->isBeforeInBlock(groups[b].front());
    });
    SmallVector<Operation *> merged;
    for (size_t g : producers) {
      merged.append(groups[g].begin(), groups[g].end());
      groups[g].clear();
    }
    merged.append(groups[target].begin(), groups[target].end());
    for (Operation *op : merged)
      groupOf[op] = target;
    groups[target] = std::move(merged);
  }

  /// With matmuls-take-views: whether transpose `op` (one that keeps the
  /// innermost dimension) of batched matmul `root`'s result joins it (the
  /// lowering writes the product in the transposed order: an attention's
  /// context, heads back after the sequence).
  bool transposesResult(Operation *root, Operation *op) const {
    return matmulsTakeViews && isBatchedMatMul(root) && isa<TransposeOp>(op) && isInnerView(op);
  }

  /// With matmuls-take-views: batched matmul `mm` (isBatchedMatMul) takes
  /// in the groups that compute its operands from values outside them
  /// through inner views alone (isInnerView: an attention's Q or V sliced
  /// from a joint projection and its heads moved to the front), when it
  /// alone uses them: its lowering folds the transposes into its operands'
  /// indexing maps and reads the slices in place, so the views cost no
  /// kernel and no copy.
  void absorbMatmulViews(MatMulOp mm, SmallVector<SmallVector<Operation *>> &groups,
                         DenseMap<Operation *, size_t> &groupOf) {
    if (!isBatchedMatMul(mm))
      return;
    SmallVector<size_t> producers;
    for (Value in : {mm.getLhs(), mm.getRhs()})
      if (std::optional<size_t> g = producerGroupOf(mm, in, isInnerView, groups, groupOf);
          g && !llvm::is_contained(producers, *g))
        producers.push_back(*g);
    mergeProducers(groupOf[mm], producers, groups, groupOf);
  }

  /// Whether `op` joins elementwise chains: an elementwise op, or with
  /// transposes-in-chains a transpose that keeps the innermost dimension
  /// in place (not a split matmul's, which joins its matmul). One that
  /// moves it keeps a kernel of its own, whose lanes run along its input's
  /// innermost dimension (in a chain, weft-gpu-sim counted 0.12 of the
  /// sectors of BERT-base's K transpose's loads used).
  bool isChainLink(Operation *op) const {
    if (isElementwiseLike(op))
      return true;
    auto t = dyn_cast<TransposeOp>(op);
    return transposesInChains && t && !t->hasAttr(kSplitReductionAttr) &&
           !t.getPerm().empty() && t.getPerm().back() == (int64_t)t.getPerm().size() - 1;
  }

  /// Whether a chain link may follow `op` in its group: a chain link, or
  /// with slices-in-chains a slice (which heads its chain: it reads its
  /// input at computed indices, so a producer fused into it would be
  /// computed whole by every thread).
  bool isChainHead(Operation *op) const {
    return isChainLink(op) || (slicesInChains && isa<SliceOp>(op));
  }

  /// With matmuls-take-views: the group of the slice that transpose `op`
  /// (one that moves the innermost dimension, so no chain link) alone
  /// reads, when that slice is alone in its group: one kernel transposes
  /// the slice in place (an attention's K, sliced from a joint projection
  /// and transposed for Q K^T), its reads along the lanes as for any
  /// transpose.
  std::optional<size_t> sliceOfTranspose(Operation *op,
                                         ArrayRef<SmallVector<Operation *>> groups,
                                         const DenseMap<Operation *, size_t> &groupOf) const {
    auto t = dyn_cast<TransposeOp>(op);
    if (!matmulsTakeViews || !t || isChainLink(t))
      return std::nullopt;
    auto slice = t.getInput().getDefiningOp<SliceOp>();
    auto it = slice ? groupOf.find(slice) : groupOf.end();
    if (it == groupOf.end() || groups[it->second].size() != 1 || !slice->hasOneUse() ||
        !isInnerView(slice))
      return std::nullopt;
    return it->second;
  }

  /// Whether the results of `producer` and `consumer`, neighbours in a
  /// chain, fit one iteration space: the same type, a cast between integers
  /// and floats of the same shape (an integer convolution's sums to f32, a
  /// quantization's rounded values to uint8) or between integers of 8 bits
  /// and more (an int8 activation shifted to the integer kernels' uint8),
  /// or where one is a
  /// transpose, the same element type and number of elements (the other's
  /// dimensions permuted). (Casts between float types stay apart: 16-bit
  /// floats are widened per dispatch, see WidenAccumulators.)
  bool chainTypesMatch(Operation *producer, Operation *consumer) const {
    auto from = cast<ShapedType>(producer->getResult(0).getType());
    auto to = cast<ShapedType>(consumer->getResult(0).getType());
    if (from == to)
      return true;
    if (isa<CastOp>(consumer) && from.hasStaticShape() && from.getShape() == to.getShape() &&
        !from.getElementType().isInteger(1) && !to.getElementType().isInteger(1)) {
      bool fromInt = isa<IntegerType>(from.getElementType());
      bool toInt = isa<IntegerType>(to.getElementType());
      if (fromInt != toInt || (fromInt && toInt))
        return true;
    }
    if (!(transposesInChains && (isa<TransposeOp>(producer) || isa<TransposeOp>(consumer))))
      return false;
    return from.hasStaticShape() && to.hasStaticShape() &&
           from.getElementType() == to.getElementType() &&
           from.getNumElements() == to.getNumElements();
  }

  /// Why `consumer`, which uses a result of `producer` (through reshapes
  /// when `viaReshape`), is not in the producer's dispatch. Mirrors the
  /// grouping rules below.
  std::string whyApart(Operation *producer, Operation *consumer, bool viaReshape,
                       ArrayRef<SmallVector<Operation *>> groups,
                       const DenseMap<Operation *, size_t> &groupOf) const {
    if (viaReshape)
      return "a reshape lies between them (reshapes are aliases and stay "
             "between dispatches)";
    ArrayRef<Operation *> producerGroup = groups[groupOf.lookup(producer)];
    // Distinct ops: an op that reads the value twice is one user.
    llvm::SmallPtrSet<Operation *, 4> userOps;
    for (Value r : producer->getResults())
      userOps.insert(r.getUsers().begin(), r.getUsers().end());
    size_t users = userOps.size();
    if (isa<ConcatOp>(consumer)) {
      if (!llvm::all_of(producerGroup, isElementwiseLike))
        return "a concat takes in only elementwise producers, and " +
               describe(producerGroup.front()) + " is not elementwise";
      if (users > 1)
        return llvm::formatv("the value has {0} users; a concat takes in only "
                             "producers it alone uses", users).str();
      return "the producer's dispatch does not end at the value the concat uses";
    }
    if (padsIntoConvs && isa<PadOp>(producer) && isa<ConvOp>(consumer))
      return "a conv takes its padding into its dispatch only where it runs in "
             "the GPU's blocks or is depthwise (f32, NCHW, padded along height and "
             "width; in blocks: enough outputs)";
    if (normsTakeProducers && isa<LayerNormOp>(consumer)) {
      if (users > 1)
        return llvm::formatv("the value has {0} users; a layer_norm takes in only "
                             "a producer it alone uses", users).str();
      if (producerGroup.size() > kMaxNormProducerOps)
        return llvm::formatv("a layer_norm takes in a chain of at most {0} ops, and "
                             "this one has {1}", kMaxNormProducerOps, producerGroup.size())
            .str();
      return "a layer_norm takes in only an elementwise chain (or a split sum's) "
             "that ends at its input, and " + describe(producerGroup.front()) +
             " heads another kind of group";
    }
    if (matmulsTakeViews && isa<MatMulOp>(consumer)) {
      if (!isBatchedMatMul(consumer))
        return "a matmul takes in the views that compute its operands only when it is "
               "batched ([B.., M, K] x [B.., K, N])";
      if (auto other = llvm::find_if(producerGroup, [](Operation *op) { return !isInnerView(op); });
          other != producerGroup.end())
        return isa<TransposeOp>(*other)
                   ? "a matmul takes in only transposes that keep the innermost dimension, "
                     "and " + describe(*other) + " moves it"
                   : "a matmul takes in only slices and transposes, and " + describe(*other) +
                         " is neither";
      if (users > 1)
        return llvm::formatv("the value has {0} users; a matmul takes in only views it "
                             "alone uses", users).str();
      return "the producer's dispatch ends at another op";
    }
    if (!isChainLink(consumer))
      return shortName(consumer).str() +
             (transposesInChains ? " takes no producer into its dispatch (only elementwise "
                                   "ops, transposes and concat do)"
                                 : " takes no producer into its dispatch (only elementwise "
                                   "ops and concat do)");
    if (isa<TransposeOp>(consumer) && !isChainHead(producer) &&
        !transposesResult(producer, consumer))
      return shortName(producer).str() +
             " takes no transpose into its dispatch (only elementwise ops and "
             "transposes do)";
    if (isa<MatMulOp, GemmOp>(producer) && !isRoot(producer))
      return shortName(producer).str() +
             " with a result of rank other than 2 takes no epilogue (its "
             "tiles are computed through a reshape)";
    if (!isChainHead(producer) && !isRoot(producer))
      return shortName(producer).str() +
             (transposesInChains ? " takes no consumer into its dispatch (only conv, 2-D "
                                   "matmul/gemm, elementwise ops and transposes do)"
                                 : " takes no consumer into its dispatch (only conv, 2-D "
                                   "matmul/gemm and elementwise ops do)");
    if (users > 1)
      return llvm::formatv("the value has {0} users; only a value's single "
                           "user joins its dispatch", users).str();
    Type from = producer->getResult(0).getType();
    Type to = consumer->getResult(0).getType();
    if (!chainTypesMatch(producer, consumer)) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "the consumer's result type " << to << " differs from " << from
         << " (a broadcast or a type change does not join a chain)";
      return text;
    }
    if (producerGroup.size() >= kMaxChain)
      return llvm::formatv("the chain reached its limit of {0} ops", kMaxChain).str();
    auto joined = groupOf.find(consumer);
    if (joined != groupOf.end() && !groups[joined->second].empty() &&
        groups[joined->second].front() != consumer)
      return "the consumer joined the dispatch of its other operand's producer, " +
             describe(groups[joined->second].front());
    return "the producer's dispatch ends at another op";
  }

  /// For --explain-fusion: the dispatches' ONNX nodes and the reasons their
  /// neighbours stay apart, as `weft.fusion_nodes` and `weft.fusion_apart`
  /// string arrays on each dispatch.
  void explain(func::FuncOp func, ArrayRef<SmallVector<std::string>> groupNodes,
               const DenseMap<size_t, DispatchOp> &dispatchOf,
               ArrayRef<Apart> edges) {
    DenseMap<Operation *, int64_t> index;
    func.walk([&](DispatchOp d) { index[d] = index.size(); });
    auto nameOf = [&](size_t group) {
      return llvm::formatv("{0}_dispatch_{1}", func.getName(),
                           index.lookup(dispatchOf.lookup(group))).str();
    };
    Builder b(&getContext());
    DenseMap<Operation *, SmallVector<Attribute>> apart;
    for (const Apart &e : edges) {
      if (!dispatchOf.count(e.producerGroup) || !dispatchOf.count(e.consumerGroup))
        continue;
      Operation *p = dispatchOf.lookup(e.producerGroup);
      Operation *c = dispatchOf.lookup(e.consumerGroup);
      apart[c].push_back(b.getStringAttr(llvm::formatv(
          "input from {0} ({1} -> {2}): {3}", nameOf(e.producerGroup), e.producer,
          e.consumer, e.why)));
      apart[p].push_back(b.getStringAttr(llvm::formatv(
          "output to {0} ({1} -> {2}): {3}", nameOf(e.consumerGroup), e.producer,
          e.consumer, e.why)));
    }
    for (auto [group, dispatch] : dispatchOf) {
      SmallVector<Attribute> nodes;
      for (const std::string &text : groupNodes[group])
        nodes.push_back(b.getStringAttr(text));
      dispatch->setAttr("weft.fusion_nodes", b.getArrayAttr(nodes));
      dispatch->setAttr("weft.fusion_apart", b.getArrayAttr(apart.lookup(dispatch)));
    }
  }

  /// With norms-take-producers: the group that layer normalization `norm`
  /// joins, that of its input's producer when that producer is the last op
  /// of an elementwise chain of at most kMaxNormProducerOps ops (possibly
  /// headed by a split reduction's sum: BERT's residual add after a
  /// projection) and `norm` its only user. Each lane keeps its share of
  /// the row in private arrays that must stay in registers, and the chain
  /// is recomputed in each of the norm's three passes: BERT's split sum,
  /// bias add and residual add (3 ops) fit (no stack on sm_90 once
  /// weft-cuda-unroll-private-loops indexes the arrays at constants).
  static constexpr size_t kMaxNormProducerOps = 3;
  std::optional<size_t> normProducerGroup(LayerNormOp norm,
                                          ArrayRef<SmallVector<Operation *>> groups,
                                          const DenseMap<Operation *, size_t> &groupOf) const {
    Operation *producer = norm.getInput().getDefiningOp();
    auto it = producer ? groupOf.find(producer) : groupOf.end();
    if (it == groupOf.end() || !producer->hasOneUse() || producer->getNumResults() != 1 ||
        producer->getResult(0).getType() != norm.getType())
      return std::nullopt;
    ArrayRef<Operation *> g = groups[it->second];
    if (g.back() != producer || g.size() > kMaxNormProducerOps)
      return std::nullopt;
    for (auto [i, op] : llvm::enumerate(g)) {
      bool splitSum = i == 0 && isa<ReduceOp>(op) && op->hasAttr(kSplitReductionAttr);
      if (!splitSum && !isElementwiseLike(op))
        return std::nullopt;
    }
    return it->second;
  }

  /// With elementwise-dags: the elementwise groups that together read the
  /// last value of one earlier group (a fusion root's or an elementwise
  /// chain) and nothing else of other groups but each other's last values
  /// and constants, holding every user of that value and of each other's
  /// last values but one group's, join that group: the epilogue is then a
  /// small graph on the root's tiles rather than a chain. GELU after a
  /// matmul's bias add, whose sum has two users: as PyTorch's exporter
  /// writes it (x / sqrt(2), erf, + 1, the products with x and 0.5: one
  /// group) and as Hugging Face's BERT writes it ((x * 0.5) * (1 + erf(x /
  /// sqrt(2))): two groups, one reading the other). The groups' other
  /// operands must be constants or the function's arguments (they dominate
  /// the joined region), their ops of the tail's type; the joined ops keep
  /// their order in the block, so the one group whose value leaves the
  /// graph ends it.
  llvm::SmallDenseSet<size_t> mergeDagTails(SmallVector<SmallVector<Operation *>> &groups,
                                            DenseMap<Operation *, size_t> &groupOf) {
    llvm::SmallDenseSet<size_t> joined;
    auto isElementwiseGroup = [&](size_t g) {
      return !groups[g].empty() && llvm::all_of(groups[g], [](Operation *op) {
        return isElementwiseLike(op) && op->getNumResults() == 1;
      });
    };
    for (size_t f = 0; f < groups.size(); ++f) {
      SmallVector<Operation *> &from = groups[f];
      if (from.empty() || from.back()->getNumResults() != 1 ||
          !(isRoot(groupHead(from)) || llvm::all_of(from, isElementwiseLike)))
        continue;
      Operation *tailOp = from.back();
      Value tail = tailOp->getResult(0);
      Type type = tail.getType();
      // The graph: the groups of the tail's users, each an elementwise
      // group.
      llvm::SetVector<size_t> graph;
      bool ok = true;
      for (Operation *u : tail.getUsers()) {
        auto it = groupOf.find(u);
        ok = ok && it != groupOf.end() && it->second != f && isElementwiseGroup(it->second);
        if (ok)
          graph.insert(it->second);
      }
      // Each graph op reads constants, arguments, the tail, its own group or
      // another graph group's last value, all of the tail's type; one group
      // only (the graph's end) is read outside the graph, and each group's
      // value is read (an unread one would end the joined ops without being
      // the dispatch's result; weftc removes such ops before this pass).
      size_t ends = 0, size = from.size();
      auto inGraph = [&](Operation *op) {
        auto it = groupOf.find(op);
        return it != groupOf.end() && graph.contains(it->second);
      };
      for (size_t h : graph) {
        if (!ok)
          break;
        for (Operation *op : groups[h]) {
          ok = ok && op->getResult(0).getType() == type;
          for (Value v : op->getOperands()) {
            Operation *def = v.getDefiningOp();
            if (!def || isa<ConstantOp>(def) || def == tailOp)
              continue;
            ok = ok && inGraph(def) &&
                 (groupOf.lookup(def) == h || groups[groupOf.lookup(def)].back() == def);
          }
        }
        Value last = groups[h].back()->getResult(0);
        ok = ok && !last.use_empty();
        if (llvm::any_of(last.getUsers(), [&](Operation *u) { return !inGraph(u); }))
          ++ends;
        size += groups[h].size();
      }
      if (!ok || graph.empty() || ends != 1 || size > kMaxChain)
        continue;
      size_t own = from.size();
      for (size_t h : graph) {
        for (Operation *op : groups[h]) {
          from.push_back(op);
          groupOf[op] = f;
        }
        groups[h].clear();
      }
      llvm::sort(from.begin() + own, from.end(),
                 [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
      joined.insert(f);
    }
    return joined;
  }

  /// Groups the ops of `block` (the entry function's body or a region of a
  /// weft.if) into dispatches. Groups never span blocks: a value used in a
  /// nested region escapes its group.
  void formBlock(Block &block, OpBuilder &builder,
                 SmallVector<SmallVector<std::string>> &allNodes,
                 DenseMap<size_t, DispatchOp> &allDispatches, SmallVector<Apart> &allEdges) {
    SmallVector<Operation *> work;
    for (Operation &op : block)
      if (!isStructural(&op) && !op.hasTrait<OpTrait::IsTerminator>())
        work.push_back(&op);
    // Chains: an elementwise op joins the group of its operand's producer
    // when it is that producer's only user and has the group's shape.
    SmallVector<SmallVector<Operation *>> groups;
    DenseMap<Operation *, size_t> groupOf;
    for (Operation *op : work) {
      std::optional<size_t> join;
      if (isChainLink(op) && op->getNumResults() == 1) {
        // A root's group is preferred: its epilogue saves a pass over the
        // root's (usually larger) result.
        for (bool roots : {true, false}) {
          for (Value operand : op->getOperands()) {
            Operation *producer = operand.getDefiningOp();
            auto it = producer ? groupOf.find(producer) : groupOf.end();
            if (it == groupOf.end())
              continue;
            SmallVector<Operation *> &g = groups[it->second];
            // A root computes its epilogue on its own tiles: no transpose.
            bool linkable = roots ? groupHead(g) == producer && isRoot(producer) &&
                                        (isElementwiseLike(op) || transposesResult(producer, op))
                                  : isChainHead(producer);
            if (!linkable || g.back() != producer || g.size() >= kMaxChain ||
                producer->getNumResults() != 1 || !chainTypesMatch(producer, op) ||
                llvm::any_of(producer->getResult(0).getUsers(),
                             [&](Operation *u) { return u != op; }))
              continue;
            join = it->second;
            break;
          }
          if (join)
            break;
        }
      }
      if (LayerNormOp norm = dyn_cast<LayerNormOp>(op); !join && norm && normsTakeProducers)
        join = normProducerGroup(norm, groups, groupOf);
      if (PadOp p = padsIntoConvs ? convPadding(op) : PadOp();
          !join && p && groupOf.count(p) && groups[groupOf[p]].size() == 1)
        join = groupOf[p];
      if (TransposeOp t = splitTranspose(op); !join && t && groupOf.count(t) &&
                                                groups[groupOf[t]].size() == 1)
        join = groupOf[t];
      if (std::optional<size_t> s = sliceOfTranspose(op, groups, groupOf); !join && s)
        join = s;
      if (join) {
        groups[*join].push_back(op);
        groupOf[op] = *join;
      } else {
        groupOf[op] = groups.size();
        groups.push_back({op});
        if (auto concat = dyn_cast<ConcatOp>(op))
          absorbConcatProducers(concat, groups, groupOf);
        if (auto mm = dyn_cast<MatMulOp>(op); mm && matmulsTakeViews)
          absorbMatmulViews(mm, groups, groupOf);
      }
    }
    llvm::SmallDenseSet<size_t> dags;
    if (elementwiseDags)
      dags = mergeDagTails(groups, groupOf);
    // Edges between groups, recorded before the ops move into bodies.
    SmallVector<Apart> edges;
    SmallVector<SmallVector<std::string>> groupNodes(groups.size());
    if (explainFusion) {
      for (auto [g, ops] : llvm::enumerate(groups)) {
        llvm::StringSet<> seen;
        for (Operation *op : ops) {
          SmallVector<std::string> names;
          collectNodes(op->getLoc(), names);
          std::string text = shortName(op).str();
          if (!names.empty())
            text += " of " + llvm::join(names, ", ");
          if (seen.insert(text).second)
            groupNodes[g].push_back(std::move(text));
        }
      }
      llvm::DenseSet<std::pair<size_t, size_t>> seenEdges;
      for (Operation *op : work) {
        for (Value operand : op->getOperands()) {
          bool viaReshape = false;
          Operation *def = operand.getDefiningOp();
          while (auto reshape = dyn_cast_or_null<ReshapeOp>(def)) {
            viaReshape = true;
            def = reshape->getOperand(0).getDefiningOp();
          }
          auto from = def ? groupOf.find(def) : groupOf.end();
          if (from == groupOf.end() || from->second == groupOf[op] ||
              !seenEdges.insert({from->second, groupOf[op]}).second)
            continue;
          edges.push_back({from->second, groupOf[op], describe(def), describe(op),
                           whyApart(def, op, viaReshape, groups, groupOf)});
        }
      }
    }
    size_t base = allNodes.size();
    for (auto [i, g] : llvm::enumerate(groups))
      if (!g.empty()) {
        DispatchOp d = wrap(builder, g);
        if (dags.contains(i))
          d->setAttr(kElementwiseDagAttr, builder.getUnitAttr());
        allDispatches[base + i] = d;
      }
    for (Apart &e : edges) {
      e.producerGroup += base;
      e.consumerGroup += base;
      allEdges.push_back(std::move(e));
    }
    allNodes.append(groupNodes.begin(), groupNodes.end());
    if (groupNodes.size() < groups.size())
      allNodes.resize(base + groups.size());
  }

  /// Makes `operand` read a copy of its value, computed by a dispatch of
  /// its own just before the operand's owner; `why` is what
  /// --explain-fusion says of that dispatch.
  void copyOperand(OpBuilder &builder, OpOperand &operand, const Twine &why) {
    Operation *owner = operand.getOwner();
    builder.setInsertionPoint(owner);
    auto copy = IdentityOp::create(builder, owner->getLoc(), operand.get());
    operand.set(copy);
    DispatchOp d = wrap(builder, {copy});
    if (explainFusion) {
      d->setAttr("weft.fusion_nodes", builder.getArrayAttr({builder.getStringAttr(why)}));
      d->setAttr("weft.fusion_apart", builder.getArrayAttr({}));
    }
  }

  /// reshape(slice(x)) -> slice(reshape(x)) where the slice cuts only
  /// x's last dimension and the reshape keeps the product of the others
  /// and splits the sliced one into [.., n / b, b] with b dividing the
  /// slice's start and size: the reshape (an alias) then no longer stands
  /// between the slice and the reshape's users. A projection's [S, 1, 3E]
  /// sliced into Q, K and V of [S, 1, E], each viewed as [S, H, E / H].
  static void moveReshapesAboveSlices(func::FuncOp func) {
    SmallVector<ReshapeOp> reshapes;
    func.walk([&](ReshapeOp r) { reshapes.push_back(r); });
    for (ReshapeOp reshape : reshapes) {
      auto slice = reshape.getInput().getDefiningOp<SliceOp>();
      if (!slice || !slice->hasOneUse())
        continue;
      auto in = cast<RankedTensorType>(slice.getInput().getType());
      auto sliced = cast<RankedTensorType>(slice.getType());
      auto out = cast<RankedTensorType>(reshape.getType());
      int64_t rank = in.getRank();
      if (!in.hasStaticShape() || !out.hasStaticShape() || rank < 1 || out.getRank() < 2)
        continue;
      ArrayRef<int64_t> starts = slice.getStarts(), steps = slice.getSteps();
      bool lastOnly = llvm::all_of(steps, [](int64_t s) { return s == 1; });
      for (int64_t d = 0; d + 1 < rank; ++d)
        lastOnly &= starts[d] == 0 && sliced.getDimSize(d) == in.getDimSize(d);
      int64_t b = out.getShape().back();
      int64_t size = sliced.getShape().back(), start = starts.back();
      int64_t lead = 1, outLead = 1;
      for (int64_t d = 0; d + 1 < rank; ++d)
        lead *= in.getDimSize(d);
      for (int64_t d = 0; d + 2 < out.getRank(); ++d)
        outLead *= out.getDimSize(d);
      if (!lastOnly || b <= 0 || size % b != 0 || start % b != 0 ||
          in.getShape().back() % b != 0 || lead != outLead ||
          out.getDimSize(out.getRank() - 2) != size / b)
        continue;
      OpBuilder builder(reshape);
      SmallVector<int64_t> shape(out.getShape());
      shape[shape.size() - 2] = in.getShape().back() / b;
      Value whole = ReshapeOp::create(builder, reshape.getLoc(),
                                      RankedTensorType::get(shape, in.getElementType()),
                                      slice.getInput());
      SmallVector<int64_t> newStarts(shape.size(), 0), newSteps(shape.size(), 1);
      newStarts[shape.size() - 2] = start / b;
      auto part = SliceOp::create(builder, slice.getLoc(), out, whole,
                                  builder.getDenseI64ArrayAttr(newStarts),
                                  builder.getDenseI64ArrayAttr(out.getShape()),
                                  builder.getDenseI64ArrayAttr(newSteps));
      reshape.getResult().replaceAllUsesWith(part.getResult());
      reshape->erase();
      slice->erase();
    }
  }

  /// reshape(sum over axis 0 of x) -> sum over axis 0 of reshape(x) for a
  /// split reduction's sum (weft-split-reduction) whose only user is the
  /// reshape: the reshape (an alias) then no longer stands between the sum
  /// and the elementwise ops after it, which join its dispatch as its
  /// epilogue. BERT's attention output projection, [128, 768] viewed as
  /// [1, 128, 768] before its residual add.
  static void moveReshapesAboveSplitSums(func::FuncOp func) {
    SmallVector<ReshapeOp> reshapes;
    func.walk([&](ReshapeOp r) { reshapes.push_back(r); });
    for (ReshapeOp reshape : reshapes) {
      auto sum = reshape.getInput().getDefiningOp<ReduceOp>();
      if (!sum || !sum->hasAttr(kSplitReductionAttr) || !sum->hasOneUse() ||
          sum.getKeepdims() || sum.getAxes() != ArrayRef<int64_t>{0})
        continue;
      auto in = cast<RankedTensorType>(sum.getInput().getType());
      auto out = cast<RankedTensorType>(reshape.getType());
      if (!in.hasStaticShape() || !out.hasStaticShape())
        continue;
      SmallVector<int64_t> shape = {in.getDimSize(0)};
      llvm::append_range(shape, out.getShape());
      OpBuilder builder(reshape);
      Value parts = ReshapeOp::create(builder, reshape.getLoc(),
                                      RankedTensorType::get(shape, in.getElementType()),
                                      sum.getInput());
      auto moved = ReduceOp::create(builder, sum.getLoc(), sum.getKindAttr(), parts,
                                    sum.getAxesAttr(), sum.getKeepdimsAttr());
      moved->setAttrs(sum->getAttrs());
      reshape.getResult().replaceAllUsesWith(moved.getResult());
      reshape->erase();
      sum->erase();
    }
  }

  /// matmul(x * c, y) -> matmul(x, y) * c, and likewise x / c, c * x and
  /// the right operand, for a constant c of one element and a batched
  /// matmul (or one that heads its elementwise chain) that alone uses the
  /// product: the scale becomes the matmul's epilogue, and x, an
  /// attention's Q scaled by 1 / sqrt(d), a view that the matmul takes in
  /// (matmuls-take-views). Exact where c is a power of two (BERT's 8);
  /// otherwise the products round differently, within an ulp or so of
  /// each sum's terms.
  void moveScalesPastMatmuls(func::FuncOp func) {
    SmallVector<MatMulOp> matmuls;
    func.walk([&](MatMulOp mm) { matmuls.push_back(mm); });
    auto scalar = [](Value v) {
      auto c = v.getDefiningOp<ConstantOp>();
      auto type = dyn_cast<RankedTensorType>(v.getType());
      return c && type && type.hasStaticShape() && type.getNumElements() == 1 &&
             isa<FloatType>(type.getElementType());
    };
    for (MatMulOp mm : matmuls) {
      if (!isRoot(mm) || !isa<FloatType>(mm.getType().getElementType()))
        continue;
      for (OpOperand &use : mm->getOpOperands()) {
        Operation *scale = use.get().getDefiningOp();
        if (!isa_and_nonnull<MulOp, DivOp>(scale) || !scale->hasOneUse())
          continue;
        Value lhs = scale->getOperand(0), rhs = scale->getOperand(1);
        Value x, c;
        if (scalar(rhs))
          x = lhs, c = rhs;
        else if (isa<MulOp>(scale) && scalar(lhs))
          x = rhs, c = lhs;
        if (!x || x.getType() != scale->getResult(0).getType() ||
            cast<ShapedType>(c.getType()).getRank() > mm.getType().getRank())
          continue;
        use.set(x);
        OpBuilder builder(mm->getContext());
        builder.setInsertionPointAfter(mm);
        Operation *moved = builder.clone(*scale);
        moved->setOperands({mm.getResult(), c});
        if (isa<MulOp>(scale) && c == lhs)
          moved->setOperands({c, mm.getResult()});
        moved->getResult(0).setType(mm.getType());
        mm.getResult().replaceAllUsesExcept(moved->getResult(0), moved);
        scale->erase();
        break;
      }
    }
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    OpBuilder builder(&getContext());
    if (matmulsTakeViews)
      moveScalesPastMatmuls(func);
    if (slicesInChains)
      moveReshapesAboveSlices(func);
    moveReshapesAboveSplitSums(func);
    // A split reduction's transpose that several matmuls share (CSE merged
    // theirs: Q, K and V of one input) is cloned for each, so that each
    // joins its matmul's dispatch instead of being built whole.
    SmallVector<TransposeOp> shared;
    func.walk([&](TransposeOp t) {
      if (t->hasAttr(kSplitReductionAttr) && !t->hasOneUse())
        shared.push_back(t);
    });
    for (TransposeOp t : shared)
      for (OpOperand &use : llvm::make_early_inc_range(llvm::drop_begin(t->getUses()))) {
        builder.setInsertionPoint(use.getOwner());
        use.set(builder.clone(*t)->getResult(0));
      }
    SmallVector<Block *> blocks = {&func.getBody().front()};
    func.walk([&](Operation *op) {
      if (isa<IfOp, LoopOp>(op))
        for (Region &region : op->getRegions())
          blocks.push_back(&region.front());
    });
    SmallVector<SmallVector<std::string>> groupNodes;
    DenseMap<size_t, DispatchOp> dispatchOf;
    SmallVector<Apart> edges;
    for (Block *block : blocks)
      formBlock(*block, builder, groupNodes, dispatchOf, edges);

    // Each model output must be written by exactly one kernel.
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    llvm::SmallPtrSet<Value, 8> seen;
    for (OpOperand &operand : ret->getOpOperands()) {
      Value v = operand.get();
      bool ownedByDispatch = v.getDefiningOp<DispatchOp>() && !seen.contains(v);
      seen.insert(v);
      if (ownedByDispatch)
        continue;
      copyOperand(builder, operand,
                  llvm::formatv("identity: a copy into output {0}, which is a model input, a "
                                "constant, an alias or another output's value",
                                operand.getOperandNumber()));
    }
    // A loop's host code copies each yielded carried value into its state
    // buffer after the body. A value that may share bytes with another
    // carried value's state (that block argument, through reshapes, or an
    // if result that may be one) is copied first, so that the copies never
    // read a state already overwritten.
    func.walk([&](LoopOp loop) {
      Block &body = loop.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      for (unsigned i = 0; i < loop.getInits().size(); ++i) {
        OpOperand &operand = yield->getOpOperand(1 + i);
        Value root = operand.get();
        while (auto reshape = root.getDefiningOp<ReshapeOp>())
          root = reshape.getInput();
        bool mayAlias = false;
        if (auto arg = dyn_cast<BlockArgument>(root))
          mayAlias = arg.getOwner() == &body && arg.getArgNumber() != 2 + i;
        else if (root.getDefiningOp<IfOp>())
          mayAlias = loop->isProperAncestor(root.getDefiningOp());
        if (!mayAlias)
          continue;
        copyOperand(builder, operand,
                    llvm::formatv("identity: a copy of carried value {0} of a loop, which "
                                  "may share bytes with another carried value",
                                  i));
      }
    });
    if (explainFusion)
      explain(func, groupNodes, dispatchOf, edges);
    // Constants that are now used only inside bodies are dead at the top.
    for (Block *block : blocks)
      for (Operation &op : llvm::make_early_inc_range(*block))
        if (isa<ConstantOp>(op) && op.use_empty())
          op.erase();
  }
};

} // namespace
