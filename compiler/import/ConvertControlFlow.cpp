//===- ConvertControlFlow.cpp - ONNX If, Loop, Scan -> weft ----------------===//
//
// If's branches are subgraphs imported inline, where the outer scope's
// values stay visible. A condition known at compile time (a constant, or
// computed from one, or from an input pinned with --input-value) imports
// only the branch it takes. A condition known only at run time imports
// each branch into a region of a weft.if; the host program reads the
// condition and runs one region. Shapes are static, so the branches must
// give outputs of one type.
//
// Loop unrolls at compile time when its trip count and condition fold to
// constants and the body's condition output folds too (a copy of the body
// per iteration, within a budget of 256 copied nodes unless everything
// folds); otherwise it becomes a weft.loop, which
// the host program runs at run time over state buffers in the arena, with
// carried values of fixed types. Scan unrolls over the scan axis's static
// size within the same budget; a longer Scan becomes a weft.loop whose body
// gathers each step's slices by the iteration number. Opset 8's batched
// Scan runs one such Scan per batch element.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

const onnx::GraphProto *graphAttr(const Node &node, StringRef name) {
  const auto *a = ImportContext::findAttr(node, name);
  return a && a->has_g() ? &a->g() : nullptr;
}

std::string typeText(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

LogicalResult convertIf(ImportContext &ctx, const Node &node, int64_t) {
  auto cond = ctx.input(node, 0);
  if (failed(cond))
    return failure();
  const onnx::GraphProto *thenGraph = graphAttr(node, "then_branch");
  const onnx::GraphProto *elseGraph = graphAttr(node, "else_branch");
  if (!thenGraph || !elseGraph)
    return ctx.fail("needs graph attributes 'then_branch' and 'else_branch'");
  auto ct = ImportContext::typeOf(*cond);
  if (!ct.getElementType().isInteger(1) || ct.getNumElements() != 1)
    return ctx.fail("the condition must hold one bool, got '" + typeText(ct) + "'");
  for (const auto *g : {thenGraph, elseGraph})
    if (g->output_size() != node.output_size())
      return ctx.fail("a branch has " + Twine(g->output_size()) + " outputs, the node " +
                      Twine(node.output_size()));

  if (auto attr = ImportContext::getConstantValue(*cond)) {
    bool taken = *attr.getValues<bool>().begin();
    auto outs = ctx.importSubgraph(taken ? *thenGraph : *elseGraph,
                                   taken ? "then_branch" : "else_branch");
    if (failed(outs))
      return failure();
    for (auto [i, v] : llvm::enumerate(*outs))
      ctx.setOutput(node, i, v);
    return success();
  }

  // A run-time condition: each branch is imported into a region of a
  // weft.if, and the host program runs one of them.
  OpBuilder &b = ctx.getBuilder();
  auto branches = IfOp::create(b, ctx.getLoc(), TypeRange{}, *cond);
  SmallVector<SmallVector<Value>> outs;
  // A branch that cannot be compiled for the static shapes (a model's 8 kHz
  // path fed the 16 kHz window) is kept as a run-time error, as onnxruntime
  // fails it only when taken; the error text is the compiler's.
  SmallVector<std::string> why(2);
  for (auto [i, graph, region, what] :
       {std::tuple{0, thenGraph, &branches.getThenRegion(), "then_branch"},
        std::tuple{1, elseGraph, &branches.getElseRegion(), "else_branch"}}) {
    OpBuilder::InsertionGuard guard(b);
    Block *block = &region->emplaceBlock();
    b.setInsertionPointToStart(block);
    FailureOr<SmallVector<Value>> values = failure();
    {
      ScopedDiagnosticHandler capture(ctx.getContext(), [&, i = i](Diagnostic &d) {
        if (d.getSeverity() != DiagnosticSeverity::Error)
          return failure();
        if (why[i].empty())
          why[i] = d.str();
        return success();
      });
      values = ctx.importSubgraph(*graph, what);
    }
    if (failed(values)) {
      if (why[i].empty())
        why[i] = "it cannot be compiled";
      ctx.clearAttributeError();
      while (!block->empty()) {
        block->back().dropAllUses();
        block->back().erase();
      }
      outs.emplace_back();
      continue;
    }
    outs.push_back(*values);
  }
  if (!why[0].empty() && !why[1].empty()) {
    branches.erase();
    return ctx.fail("neither branch can be compiled for these shapes: then_branch: " + why[0] +
                    "; else_branch: " + why[1]);
  }
  for (int i : {0, 1}) {
    if (why[i].empty())
      continue;
    Region &region = i == 0 ? branches.getThenRegion() : branches.getElseRegion();
    std::string message = "the " + std::string(i == 0 ? "then_branch" : "else_branch") +
                          " of If node '" + ctx.getNodeName().str() +
                          "' cannot run with the shapes this model was compiled for: " + why[i];
    mlir::emitWarning(ctx.getLoc(), message + " (taking it at run time returns this error)");
    SmallVector<Type> types;
    for (Value v : outs[1 - i])
      types.push_back(v.getType());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&region.front());
    auto trap = TrapOp::create(b, ctx.getLoc(), types, b.getStringAttr(message));
    outs[i].assign(trap.getResults().begin(), trap.getResults().end());
  }
  SmallVector<Type> types;
  for (int i = 0; i < node.output_size(); ++i) {
    Type t = outs[0][i].getType(), e = outs[1][i].getType();
    if (t != e) {
      std::string hint;
      if (auto input = ImportContext::modelInputFeeding(*cond))
        hint = "; compile for one value of the condition's input with --input-value " +
               *input + "=FILE.pb (a serialized TensorProto)";
      branches.erase();
      return ctx.fail("output #" + Twine(i) + " is '" + typeText(t) + "' in then_branch and '" +
                      typeText(e) + "' in else_branch: Weft compiles static shapes, so both "
                      "branches of an If decided at run time must give outputs of one type" +
                      hint);
    }
    types.push_back(t);
  }
  auto ifOp = IfOp::create(b, ctx.getLoc(), types, *cond);
  for (auto [from, to, values] :
       {std::tuple{&branches.getThenRegion(), &ifOp.getThenRegion(), &outs[0]},
        std::tuple{&branches.getElseRegion(), &ifOp.getElseRegion(), &outs[1]}}) {
    to->takeBody(*from);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(&to->front());
    YieldOp::create(b, ctx.getLoc(), *values);
  }
  branches.erase();
  for (auto [i, r] : llvm::enumerate(ifOp.getResults()))
    ctx.setOutput(node, i, r);
  return success();
}

// Scan, and Loop when its trip count and condition are known, unroll at
// compile time: one copy of the body per iteration. This bounds the copies.
constexpr int64_t kMaxUnrolled = 1024;

/// `parts` (each of one shape) stacked along a new `axis` (reversed when
/// `reverse`); null when `parts` is empty.
FailureOr<Value> stack(ImportContext &ctx, ArrayRef<Value> parts, int64_t axis, bool reverse) {
  if (parts.empty())
    return ctx.fail("a scan output of zero iterations has no element shape");
  SmallVector<Value> shaped;
  for (Value v : parts) {
    auto shape = llvm::to_vector(ImportContext::typeOf(v).getShape());
    if (parts.front().getType() != v.getType())
      return ctx.fail("a scan output changes type between iterations ('" +
                      typeText(parts.front().getType()) + "', then '" + typeText(v.getType()) +
                      "')");
    if (axis < 0 || axis > (int64_t)shape.size())
      return ctx.fail("scan output axis " + Twine(axis) + " is out of range for rank " +
                      Twine(shape.size() + 1));
    shape.insert(shape.begin() + axis, 1);
    auto r = ctx.reshape(v, shape);
    if (failed(r))
      return failure();
    shaped.push_back(*r);
  }
  if (reverse)
    std::reverse(shaped.begin(), shaped.end());
  if (shaped.size() == 1)
    return shaped[0];
  return ctx.createInferred<ConcatOp>(ValueRange(shaped), axis);
}

Value scalarI64(ImportContext &ctx, int64_t v) {
  auto type = RankedTensorType::get({}, ctx.getBuilder().getI64Type());
  return ctx.constant(DenseElementsAttr::get(type, ctx.getBuilder().getI64IntegerAttr(v)));
}

Value scalarBool(ImportContext &ctx, bool v) {
  auto type = RankedTensorType::get({}, ctx.getBuilder().getI1Type());
  return ctx.constant(DenseElementsAttr::get(type, v));
}

/// Body nodes an unrolling may copy in all (trip count times the body's
/// nodes) unless every iteration folds to constants: beyond it, the loop
/// runs at run time, which compiles in constant time and runs as fast.
constexpr int64_t kMaxUnrolledNodes = 256;

/// Unrolls a Loop whose trip count and condition are constants, as long as
/// the body's condition output folds. Returns false (erasing the copies
/// already made) when it does not, or when the loop would need more than
/// the unrolling budget. A loop whose
/// every output folds (a shape computation, Range's expansion) unrolls up
/// to kMaxUnrolled iterations: its copies cost nothing at run time.
FailureOr<bool> unrollLoop(ImportContext &ctx, const Node &node, const onnx::GraphProto &body,
                           std::optional<int64_t> trips, bool keepGoing,
                           SmallVector<Value> carried, int numScan) {
  int numCarried = carried.size();
  int64_t bodyNodes = std::max(body.node_size(), 1);
  // Abandoned copies are erased, not left for dead-code elimination: an If
  // holding a weft.trap has effects and would stay (and could trap). The
  // constants (an outer initializer first read here is built at the
  // function's top and stays defined) are kept.
  Block *block = ctx.getBuilder().getInsertionBlock();
  llvm::SmallPtrSet<Operation *, 32> before;
  for (Operation &op : *block)
    before.insert(&op);
  auto abandon = [&] {
    SmallVector<Operation *> made;
    for (Operation &op : *block)
      if (!before.contains(&op) && !isa<ConstantOp>(op))
        made.push_back(&op);
    for (Operation *op : llvm::reverse(made)) {
      op->dropAllUses();
      op->erase();
    }
    return false;
  };
  SmallVector<SmallVector<Value>> scans(numScan);
  int64_t iteration = 0;
  bool folds = true;
  for (; keepGoing && (!trips || iteration < *trips); ++iteration) {
    // Once an iteration does not fold, the whole trip count (or, without
    // one, the iterations so far) must fit the budget.
    int64_t needed = trips ? *trips : iteration + 1;
    if (iteration >= kMaxUnrolled || (!folds && needed > kMaxUnrolledNodes / bodyNodes))
      return abandon();
    SmallVector<Value> inputs = {scalarI64(ctx, iteration), scalarBool(ctx, true)};
    inputs.append(carried);
    auto outs = ctx.importSubgraph(body, "body", inputs);
    if (failed(outs))
      return failure();
    auto cond = ImportContext::getConstantValue((*outs)[0]);
    if (!cond || cond.getNumElements() != 1 || !cond.getElementType().isInteger(1))
      return abandon();
    keepGoing = *cond.getValues<bool>().begin();
    folds &= llvm::all_of(*outs, [](Value v) { return ImportContext::getConstantValue(v); });
    for (int i = 0; i < numCarried; ++i)
      carried[i] = (*outs)[1 + i];
    for (int k = 0; k < numScan; ++k)
      scans[k].push_back((*outs)[1 + numCarried + k]);
  }
  for (int i = 0; i < numCarried && i < node.output_size(); ++i)
    ctx.setOutput(node, i, carried[i]);
  for (int k = 0; k < numScan && numCarried + k < node.output_size(); ++k) {
    if (!ImportContext::hasOutput(node, numCarried + k))
      continue;
    auto stacked = stack(ctx, scans[k], 0, false);
    if (failed(stacked))
      return failure();
    ctx.setOutput(node, numCarried + k, *stacked);
  }
  return true;
}

/// Whether `v` holds one element of an integer type of `width` bits.
bool holdsOne(Value v, unsigned width) {
  auto t = ImportContext::typeOf(v);
  return t.hasStaticShape() && t.getNumElements() == 1 && t.getElementType().isInteger(width);
}

LogicalResult convertLoop(ImportContext &ctx, const Node &node, int64_t) {
  const onnx::GraphProto *body = graphAttr(node, "body");
  if (!body)
    return ctx.fail("needs a graph attribute 'body'");
  int numCarried = node.input_size() - 2;
  if (numCarried < 0)
    return ctx.fail("needs the inputs M and cond (either may be empty)");
  if (body->input_size() != numCarried + 2)
    return ctx.fail("the body takes " + Twine(body->input_size()) + " inputs, but the node " +
                    "carries " + Twine(numCarried) + " values (body inputs are the iteration, " +
                    "the condition and the carried values)");
  int numScan = body->output_size() - 1 - numCarried;
  if (numScan < 0 || node.output_size() > numCarried + numScan)
    return ctx.fail("the body has " + Twine(body->output_size()) + " outputs for " +
                    Twine(numCarried) + " carried values");
  Value m, c;
  if (!node.input(0).empty()) {
    auto v = ctx.input(node, 0);
    if (failed(v))
      return failure();
    if (!holdsOne(*v, 64))
      return ctx.fail("M must hold one int64, got '" + typeText(v->getType()) + "'");
    m = *v;
  }
  if (!node.input(1).empty()) {
    auto v = ctx.input(node, 1);
    if (failed(v))
      return failure();
    if (!holdsOne(*v, 1))
      return ctx.fail("cond must hold one bool, got '" + typeText(v->getType()) + "'");
    c = *v;
  }
  SmallVector<Value> carried;
  for (int i = 0; i < numCarried; ++i) {
    auto v = ctx.input(node, 2 + i);
    if (failed(v))
      return failure();
    carried.push_back(*v);
  }
  // A trip count and a condition known here unroll the loop (so that what
  // it computes folds, as Range's expansion needs), within a budget.
  std::optional<int64_t> trips;
  if (m)
    if (auto attr = ImportContext::getConstantValue(m))
      trips = ImportContext::toInts(attr)[0];
  DenseElementsAttr condAttr = c ? ImportContext::getConstantValue(c) : DenseElementsAttr();
  bool condKnown = !c || condAttr;
  bool keepGoing = !condAttr || *condAttr.getValues<bool>().begin();
  if (condKnown && (!m || trips)) {
    auto unrolled = unrollLoop(ctx, node, *body, trips, keepGoing, carried, numScan);
    if (failed(unrolled) || *unrolled)
      return unrolled;
  }

  // The loop runs at run time: a weft.loop whose body takes the iteration,
  // the condition and the carried values as block arguments.
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.getLoc();
  if (!m)
    m = ctx.constant(DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                            b.getI64IntegerAttr(INT64_MAX)));
  if (!c)
    c = scalarBool(ctx, true);
  SmallVector<Type> carriedTypes;
  for (Value v : carried)
    carriedTypes.push_back(v.getType());
  auto shell = LoopOp::create(b, loc, carriedTypes, m, c, carried);
  Block *block = addLoopBody(shell);
  FailureOr<SmallVector<Value>> outs = failure();
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(block);
    outs = ctx.importSubgraph(*body, "body", block->getArguments());
  }
  auto discard = [&] {
    block->dropAllDefinedValueUses();
    shell.erase();
  };
  if (failed(outs)) {
    discard();
    return failure();
  }
  Value condOut = (*outs)[0];
  if (!holdsOne(condOut, 1)) {
    discard();
    return ctx.fail("the body's condition output must hold one bool, got '" +
                    typeText(condOut.getType()) + "'");
  }
  std::string unrollHint =
      trips ? "" : "; a trip count known at compile time (--input-value for one that comes "
                   "from a model input) unrolls the loop instead";
  for (int i = 0; i < numCarried; ++i) {
    Type in = carriedTypes[i], out = (*outs)[1 + i].getType();
    if (in != out) {
      discard();
      return ctx.fail("carried value #" + Twine(i) + " ('" + body->input(2 + i).name() +
                      "') enters the body as '" + typeText(in) + "' and leaves it as '" +
                      typeText(out) + "': Weft compiles static shapes, so a loop run at run "
                      "time must keep each carried value's type" + unrollHint);
    }
  }
  // Scan outputs stack one slice per iteration, so their length must be
  // known: the trip count. The host checks that the loop ran that many
  // times; a loop that provably does (its condition starts true and is
  // passed through unchanged) needs no warning.
  SmallVector<int> scanOutputs;
  for (int k = 0; k < numScan && numCarried + k < node.output_size(); ++k)
    if (ImportContext::hasOutput(node, numCarried + k))
      scanOutputs.push_back(k);
  SmallVector<Type> resultTypes(carriedTypes);
  if (!scanOutputs.empty()) {
    if (!trips) {
      std::string hint;
      if (auto input = ImportContext::modelInputFeeding(m))
        hint = "; compile for one value of it with --input-value " + *input +
               "=FILE.pb (a serialized TensorProto)";
      discard();
      return ctx.fail("its scan outputs stack one slice per iteration, but the trip count M is "
                      "known only at run time: Weft compiles static shapes" + hint);
    }
    bool exact = keepGoing && condKnown && (condOut == block->getArgument(1) ||
                                           (ImportContext::getConstantValue(condOut) &&
                                            *ImportContext::getConstantValue(condOut)
                                                 .getValues<bool>()
                                                 .begin()));
    if (!exact)
      mlir::emitWarning(loc) << "Loop node '" << ctx.getNodeName()
                             << "': its scan outputs are compiled for " << *trips
                             << " iterations (the trip count M); a run whose condition stops "
                                "the loop earlier returns an error";
    for (int k : scanOutputs) {
      auto slice = ImportContext::typeOf((*outs)[1 + numCarried + k]);
      SmallVector<int64_t> shape = {std::max<int64_t>(*trips, 0)};
      shape.append(slice.getShape().begin(), slice.getShape().end());
      resultTypes.push_back(RankedTensorType::get(shape, slice.getElementType()));
    }
  }
  auto loop = LoopOp::create(b, loc, resultTypes, m, c, carried);
  loop.getBody().takeBody(shell.getBody());
  shell.erase();
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(&loop.getBody().front());
    SmallVector<Value> yielded((*outs).begin(), (*outs).begin() + 1 + numCarried);
    for (int k : scanOutputs)
      yielded.push_back((*outs)[1 + numCarried + k]);
    YieldOp::create(b, loc, yielded);
  }
  for (int i = 0; i < numCarried && i < node.output_size(); ++i)
    ctx.setOutput(node, i, loop.getResult(i));
  for (auto [j, k] : llvm::enumerate(scanOutputs))
    ctx.setOutput(node, numCarried + k, loop.getResult(numCarried + j));
  return success();
}

/// Element `index` of `x` along `axis`, that axis dropped.
FailureOr<Value> takeSlice(ImportContext &ctx, Value x, int64_t axis, int64_t index) {
  auto shape = ImportContext::typeOf(x).getShape();
  SmallVector<int64_t> starts(shape.size(), 0), sizes(shape), steps(shape.size(), 1);
  starts[axis] = index;
  sizes[axis] = 1;
  auto s = ctx.createInferred<SliceOp>(x, starts, sizes, steps);
  if (failed(s))
    return failure();
  SmallVector<int64_t> dropped(shape);
  dropped.erase(dropped.begin() + axis);
  return ctx.reshape(*s, dropped);
}

/// A Scan too long to unroll: a weft.loop over its steps whose body
/// gathers each scan input's slice by the iteration number (counted from
/// the end for a reverse direction); the scan outputs stack in step order,
/// then flip and move to their axes.
LogicalResult scanAtRunTime(ImportContext &ctx, const Node &node, const onnx::GraphProto &body,
                            ArrayRef<Value> states, ArrayRef<Value> scanIns,
                            ArrayRef<int64_t> axes, ArrayRef<int64_t> inDirs,
                            ArrayRef<int64_t> outAxes, ArrayRef<int64_t> outDirs, int64_t length,
                            SmallVectorImpl<Value> &results) {
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.getLoc();
  int numStates = states.size(), numScanOutputs = outAxes.size();
  SmallVector<Type> stateTypes;
  for (Value v : states)
    stateTypes.push_back(v.getType());
  auto shell = LoopOp::create(b, loc, stateTypes, scalarI64(ctx, length), scalarBool(ctx, true),
                              states);
  Block *block = addLoopBody(shell);
  auto discard = [&] {
    block->dropAllDefinedValueUses();
    shell.erase();
    return failure();
  };
  FailureOr<SmallVector<Value>> outs = failure();
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(block);
    SmallVector<Value> inputs(block->getArguments().drop_front(2));
    Value iter = block->getArgument(0), fromEnd;
    for (auto [x, axis, dir] : llvm::zip(scanIns, axes, inDirs)) {
      Value index = iter;
      if (dir) {
        if (!fromEnd) {
          auto r = ctx.createInferred<SubOp>(scalarI64(ctx, length - 1), iter);
          if (failed(r))
            return discard();
          fromEnd = *r;
        }
        index = fromEnd;
      }
      auto slice = ctx.createInferred<GatherOp>(x, index, axis);
      if (failed(slice))
        return discard();
      inputs.push_back(*slice);
    }
    outs = ctx.importSubgraph(body, "body", inputs);
  }
  if (failed(outs))
    return discard();
  for (int i = 0; i < numStates; ++i) {
    Type in = stateTypes[i], out = (*outs)[i].getType();
    if (in != out) {
      (void)discard();
      return ctx.fail("state #" + Twine(i) + " ('" + body.input(i).name() + "') enters the body as '" +
                      typeText(in) + "' and leaves it as '" + typeText(out) + "': Weft compiles "
                      "static shapes, so a Scan of " + Twine(length) + " steps, which runs at run "
                      "time, must keep each state's type");
    }
  }
  SmallVector<int> used;
  SmallVector<Type> types(stateTypes);
  for (int k = 0; k < numScanOutputs && numStates + k < node.output_size(); ++k) {
    if (!ImportContext::hasOutput(node, numStates + k))
      continue;
    auto slice = ImportContext::typeOf((*outs)[numStates + k]);
    SmallVector<int64_t> shape = {length};
    shape.append(slice.getShape().begin(), slice.getShape().end());
    types.push_back(RankedTensorType::get(shape, slice.getElementType()));
    used.push_back(k);
  }
  auto loop = LoopOp::create(b, loc, types, scalarI64(ctx, length), scalarBool(ctx, true), states);
  loop.getBody().takeBody(shell.getBody());
  shell.erase();
  {
    OpBuilder::InsertionGuard guard(b);
    Block &lb = loop.getBody().front();
    b.setInsertionPointToEnd(&lb);
    SmallVector<Value> yielded = {lb.getArgument(1)};
    yielded.append(outs->begin(), outs->begin() + numStates);
    for (int k : used)
      yielded.push_back((*outs)[numStates + k]);
    YieldOp::create(b, loc, yielded);
  }
  for (int i = 0; i < numStates && i < node.output_size(); ++i)
    results[i] = loop.getResult(i);
  for (auto [j, k] : llvm::enumerate(used)) {
    Value stacked = loop.getResult(numStates + j);
    auto shape = ImportContext::typeOf(stacked).getShape();
    int64_t rank = shape.size();
    if (outDirs[k]) {
      SmallVector<int64_t> starts(rank, 0), sizes(shape), steps(rank, 1);
      starts[0] = length - 1;
      steps[0] = -1;
      auto flipped = ctx.createInferred<SliceOp>(stacked, starts, sizes, steps);
      if (failed(flipped))
        return failure();
      stacked = *flipped;
    }
    auto axis = ctx.normalizeAxis(outAxes[k], rank, "scan_output_axes");
    if (failed(axis))
      return failure();
    if (*axis != 0) {
      SmallVector<int64_t> perm;
      for (int64_t d = 0; d < rank; ++d)
        perm.push_back(d < *axis ? d + 1 : d == *axis ? 0 : d);
      auto moved = ctx.createInferred<TransposeOp>(stacked, ArrayRef<int64_t>(perm));
      if (failed(moved))
        return failure();
      stacked = *moved;
    }
    results[numStates + k] = stacked;
  }
  return success();
}

/// One Scan with opset 9's semantics: `states` carried through `body`,
/// `scanIns` sliced along `inAxes` (from the end where `inDirs` says so),
/// the scan outputs stacked along `outAxes`. Fills `results` (one entry
/// per output of `node`; null where the node leaves an output out).
LogicalResult scanOnce(ImportContext &ctx, const Node &node, const onnx::GraphProto &body,
                       SmallVector<Value> states, ArrayRef<Value> scanIns,
                       ArrayRef<int64_t> inAxes, ArrayRef<int64_t> inDirs,
                       ArrayRef<int64_t> outAxes, ArrayRef<int64_t> outDirs,
                       SmallVectorImpl<Value> &results) {
  int numStates = states.size(), numScanInputs = scanIns.size(),
      numScanOutputs = outAxes.size();
  results.assign(node.output_size(), Value());
  int64_t length = -1;
  SmallVector<int64_t> axes;
  for (int j = 0; j < numScanInputs; ++j) {
    int64_t rank = ImportContext::typeOf(scanIns[j]).getRank();
    auto axis = ctx.normalizeAxis(inAxes[j], rank, "scan_input_axes");
    if (failed(axis))
      return failure();
    int64_t len = ImportContext::typeOf(scanIns[j]).getShape()[*axis];
    if (length >= 0 && len != length)
      return ctx.fail("scan inputs have different lengths (" + Twine(length) + " and " +
                      Twine(len) + ")");
    length = len;
    axes.push_back(*axis);
  }
  if (length > kMaxUnrolled || length * std::max(body.node_size(), 1) > kMaxUnrolledNodes)
    return scanAtRunTime(ctx, node, body, states, scanIns, axes, inDirs, outAxes, outDirs,
                         length, results);
  SmallVector<SmallVector<Value>> scans(numScanOutputs);
  for (int64_t t = 0; t < length; ++t) {
    SmallVector<Value> inputs(states);
    for (int j = 0; j < numScanInputs; ++j) {
      auto x = takeSlice(ctx, scanIns[j], axes[j], inDirs[j] ? length - 1 - t : t);
      if (failed(x))
        return failure();
      inputs.push_back(*x);
    }
    auto outs = ctx.importSubgraph(body, "body", inputs);
    if (failed(outs))
      return failure();
    for (int i = 0; i < numStates; ++i)
      states[i] = (*outs)[i];
    for (int k = 0; k < numScanOutputs; ++k)
      scans[k].push_back((*outs)[numStates + k]);
  }
  for (int i = 0; i < numStates && i < node.output_size(); ++i)
    results[i] = states[i];
  for (int k = 0; k < numScanOutputs && numStates + k < node.output_size(); ++k) {
    if (!ImportContext::hasOutput(node, numStates + k))
      continue;
    if (scans[k].empty())
      return ctx.fail("a scan of zero steps has no output element shape");
    int64_t rank = ImportContext::typeOf(scans[k][0]).getRank() + 1;
    auto axis = ctx.normalizeAxis(outAxes[k], rank, "scan_output_axes");
    if (failed(axis))
      return failure();
    auto stacked = stack(ctx, scans[k], *axis, outDirs[k] != 0);
    if (failed(stacked))
      return failure();
    results[numStates + k] = *stacked;
  }
  return success();
}

/// Opset 8's Scan: a batch axis first on every state and scan input (the
/// scan axis is the second), `sequence_lens` first among the inputs and
/// `directions` for the scan inputs. Each batch element runs a Scan of its
/// own and the results stack along the batch axis. Lengths must be known
/// at compile time; a shorter sequence's scan outputs are zero past its
/// length, as onnxruntime leaves them.
LogicalResult convertBatchedScan(ImportContext &ctx, const Node &node,
                                 const onnx::GraphProto &body, int64_t numScanInputs) {
  int numInputs = node.input_size() - 1;
  if (numInputs < 1 || numScanInputs < 1 || numScanInputs > numInputs)
    return ctx.fail("num_scan_inputs must be in [1, " + Twine(std::max(numInputs, 1)) +
                    "] (opset 8: the first input is sequence_lens)");
  int numStates = numInputs - numScanInputs;
  int numScanOutputs = body.output_size() - numStates;
  if (numScanOutputs < 0 || body.input_size() != numInputs)
    return ctx.fail("the body's inputs and outputs do not match the node's states and scans");
  SmallVector<int64_t> dirs = ctx.getInts(node, "directions",
                                          SmallVector<int64_t>(numScanInputs, 0));
  if ((int64_t)dirs.size() != numScanInputs)
    return ctx.fail("directions needs one entry per scan input");
  SmallVector<Value> ins;
  int64_t batch = -1, length = -1;
  for (int i = 0; i < numInputs; ++i) {
    auto v = ctx.input(node, i + 1);
    if (failed(v))
      return failure();
    auto shape = ImportContext::typeOf(*v).getShape();
    bool scan = i >= numStates;
    if ((int64_t)shape.size() < (scan ? 2 : 1))
      return ctx.fail("input '" + node.input(i + 1) + "' needs a batch axis" +
                      (scan ? " and a scan axis" : "") + " (opset 8)");
    if (batch >= 0 && shape[0] != batch)
      return ctx.fail("inputs have different batch sizes (" + Twine(batch) + " and " +
                      Twine(shape[0]) + ")");
    batch = shape[0];
    if (scan) {
      if (length >= 0 && shape[1] != length)
        return ctx.fail("scan inputs have different lengths (" + Twine(length) + " and " +
                        Twine(shape[1]) + ")");
      length = shape[1];
    }
    ins.push_back(*v);
  }
  SmallVector<int64_t> lengths(batch, length);
  if (ImportContext::hasInput(node, 0)) {
    auto given = ctx.constantInts(node, 0, "sequence_lens");
    if (failed(given))
      return failure();
    if ((int64_t)given->size() != batch)
      return ctx.fail("sequence_lens has " + Twine(given->size()) + " entries for a batch of " +
                      Twine(batch));
    for (auto [b, len] : llvm::enumerate(*given)) {
      if (len < 0 || len > length)
        return ctx.fail("sequence_lens[" + Twine(b) + "] = " + Twine(len) +
                        " is outside [0, " + Twine(length) + "]");
      if (len == 0 && numScanOutputs > 0)
        return ctx.fail("sequence_lens[" + Twine(b) + "] is 0: a scan of zero steps has no "
                        "output element shape");
      lengths[b] = len;
    }
  }
  SmallVector<int64_t> zeros(numScanInputs, 0), outAxes(numScanOutputs, 0),
      outDirs(numScanOutputs, 0);
  SmallVector<SmallVector<Value>> perBatch(node.output_size());
  for (int64_t b = 0; b < batch; ++b) {
    SmallVector<Value> states, scans;
    for (int i = 0; i < numInputs; ++i) {
      auto x = takeSlice(ctx, ins[i], 0, b);
      if (failed(x))
        return failure();
      if (i >= numStates && lengths[b] != length) {
        auto shape = ImportContext::typeOf(*x).getShape();
        SmallVector<int64_t> starts(shape.size(), 0), sizes(shape), steps(shape.size(), 1);
        sizes[0] = lengths[b];
        x = ctx.createInferred<SliceOp>(*x, starts, sizes, steps);
        if (failed(x))
          return failure();
      }
      (i < numStates ? states : scans).push_back(*x);
    }
    SmallVector<Value> results;
    if (lengths[b] == 0) {
      results.assign(node.output_size(), Value());
      for (int i = 0; i < numStates && i < node.output_size(); ++i)
        results[i] = states[i];
    } else if (failed(scanOnce(ctx, node, body, states, scans, zeros, dirs, outAxes, outDirs,
                               results))) {
      return failure();
    }
    for (int k = numStates; k < (int)results.size(); ++k) {
      if (!results[k] || lengths[b] == length)
        continue;
      auto type = ImportContext::typeOf(results[k]);
      SmallVector<int64_t> padShape(type.getShape());
      padShape[0] = length - lengths[b];
      Value pad = ctx.splat(RankedTensorType::get(padShape, type.getElementType()), 0.0);
      auto padded = ctx.createInferred<ConcatOp>(ValueRange{results[k], pad}, int64_t(0));
      if (failed(padded))
        return failure();
      results[k] = *padded;
    }
    for (auto [k, v] : llvm::enumerate(results))
      perBatch[k].push_back(v);
  }
  for (int k = 0; k < node.output_size(); ++k) {
    if (!ImportContext::hasOutput(node, k) || perBatch[k].empty() || !perBatch[k][0])
      continue;
    auto stacked = stack(ctx, perBatch[k], 0, false);
    if (failed(stacked))
      return failure();
    ctx.setOutput(node, k, *stacked);
  }
  return success();
}

LogicalResult convertScan(ImportContext &ctx, const Node &node, int64_t) {
  const onnx::GraphProto *body = graphAttr(node, "body");
  if (!body)
    return ctx.fail("needs a graph attribute 'body'");
  int64_t numScanInputs = ctx.getInt(node, "num_scan_inputs", -1);
  // Models below opset 11 are upgraded first; the importer puts opset 8's
  // Scans back as they were after libonnx's 8 -> 9 adapter (which drops
  // the first axis of every input and output and ignores sequence_lens).
  if (ctx.getOriginalOpset() < 9)
    return convertBatchedScan(ctx, node, *body, numScanInputs);
  int numInputs = node.input_size();
  if (numScanInputs < 1 || numScanInputs > numInputs)
    return ctx.fail("num_scan_inputs must be in [1, " + Twine(numInputs) + "]");
  int numStates = numInputs - numScanInputs;
  int numScanOutputs = body->output_size() - numStates;
  if (numScanOutputs < 0 || body->input_size() != numInputs)
    return ctx.fail("the body's inputs and outputs do not match the node's states and scans");
  SmallVector<int64_t> inAxes = ctx.getInts(node, "scan_input_axes",
                                            SmallVector<int64_t>(numScanInputs, 0));
  SmallVector<int64_t> inDirs = ctx.getInts(node, "scan_input_directions",
                                            SmallVector<int64_t>(numScanInputs, 0));
  SmallVector<int64_t> outAxes = ctx.getInts(node, "scan_output_axes",
                                             SmallVector<int64_t>(numScanOutputs, 0));
  SmallVector<int64_t> outDirs = ctx.getInts(node, "scan_output_directions",
                                             SmallVector<int64_t>(numScanOutputs, 0));
  if ((int64_t)inAxes.size() != numScanInputs || (int64_t)inDirs.size() != numScanInputs ||
      (int64_t)outAxes.size() != numScanOutputs || (int64_t)outDirs.size() != numScanOutputs)
    return ctx.fail("scan axes and directions need one entry per scan input and output");
  SmallVector<Value> ins;
  for (int i = 0; i < numInputs; ++i) {
    auto v = ctx.input(node, i);
    if (failed(v))
      return failure();
    ins.push_back(*v);
  }
  SmallVector<Value> states(ins.begin(), ins.begin() + numStates), results;
  if (failed(scanOnce(ctx, node, *body, states, ArrayRef<Value>(ins).drop_front(numStates),
                      inAxes, inDirs, outAxes, outDirs, results)))
    return failure();
  for (auto [i, v] : llvm::enumerate(results))
    if (v)
      ctx.setOutput(node, i, v);
  return success();
}

} // namespace

Block *weft::addLoopBody(LoopOp loop) {
  Builder b(loop.getContext());
  Block *block = &loop.getBody().emplaceBlock();
  block->addArgument(RankedTensorType::get({}, b.getI64Type()), loop.getLoc());
  block->addArgument(RankedTensorType::get({}, b.getI1Type()), loop.getLoc());
  for (Value v : loop.getInits())
    block->addArgument(v.getType(), loop.getLoc());
  return block;
}

void weft::registerControlFlowConverters(ConverterTable &t) {
  t["If"] = convertIf;
  t["Loop"] = convertLoop;
  t["Scan"] = convertScan;
}
