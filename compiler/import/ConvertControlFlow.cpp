//===- ConvertControlFlow.cpp - ONNX If -> weft ----------------------------===//
//
// If's branches are subgraphs imported inline, where the outer scope's
// values stay visible. A condition known at compile time (a constant, or
// computed from one, or from an input pinned with --input-value) imports
// only the branch it takes. A condition known only at run time imports
// both branches and selects each output with weft.where: both are computed,
// so the branches must give outputs of one type.
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

  auto thenOuts = ctx.importSubgraph(*thenGraph, "then_branch");
  if (failed(thenOuts))
    return failure();
  auto elseOuts = ctx.importSubgraph(*elseGraph, "else_branch");
  if (failed(elseOuts))
    return failure();
  auto scalar = ctx.reshape(*cond, {});
  if (failed(scalar))
    return failure();
  for (int i = 0; i < node.output_size(); ++i) {
    Value t = (*thenOuts)[i], e = (*elseOuts)[i];
    if (t.getType() != e.getType()) {
      std::string hint;
      if (auto input = ImportContext::modelInputFeeding(*cond))
        hint = "; or compile for one value of it with --input-value " + *input +
               "=FILE.pb (a serialized TensorProto)";
      return ctx.fail("output #" + Twine(i) + " is '" + typeText(t.getType()) +
                      "' in then_branch and '" + typeText(e.getType()) +
                      "' in else_branch: with a condition known only at run time, Weft "
                      "computes both branches and selects, which needs outputs of one type" +
                      hint);
    }
    auto picked = ctx.createInferred<WhereOp>(*scalar, t, e);
    if (failed(picked))
      return failure();
    ctx.setOutput(node, i, *picked);
  }
  return success();
}

} // namespace

void weft::registerControlFlowConverters(ConverterTable &t) { t["If"] = convertIf; }
