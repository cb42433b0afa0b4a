//===- ConvertControlFlow.cpp - ONNX If -> weft ----------------------------===//
//
// If's branches are subgraphs imported inline, where the outer scope's
// values stay visible. A condition known at compile time (a constant, or
// computed from one, or from an input pinned with --input-value) imports
// only the branch it takes. A condition known only at run time imports
// each branch into a region of a weft.if; the host program reads the
// condition and runs one region. Shapes are static, so the branches must
// give outputs of one type.
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

} // namespace

void weft::registerControlFlowConverters(ConverterTable &t) { t["If"] = convertIf; }
