//===- ContribOps.cpp - onnxruntime's quantized contrib ops -> ONNX ----===//
//
// onnxruntime's quantization tool, in its QOperator format, writes a few
// operators of its own domain (com.microsoft) beside QLinearConv and
// QLinearMatMul: QLinearAdd, QLinearMul, QLinearGlobalAveragePool,
// QLinearAveragePool, QLinearConcat, QLinearSigmoid, QLinearLeakyRelu and
// QGemm. Each is a float operator between a dequantization of its inputs
// and a quantization of its result, and is rewritten here into exactly
// those default-domain nodes before the converters run, so a QGemm by
// int8 weights reaches the integer kernels like a QDQ Gemm does.
//
//===----------------------------------------------------------------------===//

#include "compiler/import/ContribOps.h"

#include <functional>
#include <map>
#include <set>

using namespace weft;

namespace {

constexpr const char *kMicrosoft = "com.microsoft";

/// Builds the replacement nodes of one contrib node, with fresh names.
class Expander {
public:
  Expander(const onnx::NodeProto &node, std::set<std::string> &names)
      : node(node), names(names) {}

  /// Input `i`, or "" when absent.
  std::string in(int i) const { return i < node.input_size() ? node.input(i) : ""; }

  /// A value name no node or graph value uses yet.
  std::string fresh(const std::string &what) {
    std::string base = (node.output_size() ? node.output(0) : node.name()) + "_weft_" + what;
    std::string name = base;
    for (int i = 1; names.count(name); ++i)
      name = base + std::to_string(i);
    names.insert(name);
    return name;
  }

  onnx::NodeProto &add(const std::string &op, std::vector<std::string> inputs,
                       const std::string &output) {
    onnx::NodeProto &n = out.emplace_back();
    n.set_op_type(op);
    n.set_name(node.name().empty() ? output : node.name() + "/" + op + std::to_string(out.size()));
    // Trailing absent inputs are dropped; inner ones stay "".
    while (!inputs.empty() && inputs.back().empty())
      inputs.pop_back();
    for (const std::string &i : inputs)
      n.add_input(i);
    n.add_output(output);
    return n;
  }

  /// DequantizeLinear(x, scale, zeroPoint) into a fresh value.
  std::string dequantize(int x, int scale, int zeroPoint, int64_t axis = 1) {
    std::string y = fresh("dq" + std::to_string(x));
    onnx::NodeProto &n = add("DequantizeLinear", {in(x), in(scale), in(zeroPoint)}, y);
    if (axis != 1) {
      onnx::AttributeProto *a = n.add_attribute();
      a->set_name("axis");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(axis);
    }
    return y;
  }

  const onnx::NodeProto &node;
  std::set<std::string> &names;
  std::vector<onnx::NodeProto> out;
};

int64_t intAttr(const onnx::NodeProto &node, const std::string &name, int64_t dflt) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return a.i();
  return dflt;
}

float floatAttr(const onnx::NodeProto &node, const std::string &name, float dflt) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return a.f();
  return dflt;
}

void setFloat(onnx::NodeProto &n, const std::string &name, float v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void setInt(onnx::NodeProto &n, const std::string &name, int64_t v) {
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

/// The replacement of `node`, or an error message.
std::variant<std::vector<onnx::NodeProto>, std::string>
expand(const onnx::NodeProto &node, std::set<std::string> &names) {
  Expander e(node, names);
  const std::string &op = node.op_type();
  auto needs = [&](int inputs) -> std::optional<std::string> {
    if (node.input_size() < inputs || node.output_size() < 1 || node.output(0).empty())
      return op + " takes at least " + std::to_string(inputs) + " inputs and one output";
    return std::nullopt;
  };
  if (op == "QLinearAdd" || op == "QLinearMul") {
    // (A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale,
    // C_zero_point) -> C
    if (auto why = needs(7))
      return *why;
    std::string a = e.dequantize(0, 1, 2), b = e.dequantize(3, 4, 5);
    std::string c = e.fresh("sum");
    e.add(op == "QLinearAdd" ? "Add" : "Mul", {a, b}, c);
    e.add("QuantizeLinear", {c, e.in(6), e.in(7)}, node.output(0));
    return std::move(e.out);
  }
  // One quantized input, one float op, one quantized result: (X,
  // X_scale, X_zero_point, Y_scale, Y_zero_point) -> Y. The float op takes
  // the node's attributes (LeakyRelu's alpha, AveragePool's window), which
  // mean the same there and default alike.
  static const std::map<std::string, std::string> unary = {
      {"QLinearSigmoid", "Sigmoid"},
      {"QLinearLeakyRelu", "LeakyRelu"},
      {"QLinearAveragePool", "AveragePool"},
      {"QLinearGlobalAveragePool", "GlobalAveragePool"}};
  if (auto it = unary.find(op); it != unary.end()) {
    if (auto why = needs(4))
      return *why;
    if (intAttr(node, "channels_last", 0) != 0)
      return op + " with channels_last = 1 is not supported";
    std::string x = e.dequantize(0, 1, 2);
    std::string y = e.fresh("float");
    onnx::NodeProto &floatOp = e.add(it->second, {x}, y);
    for (const auto &attr : node.attribute())
      if (attr.name() != "channels_last")
        *floatOp.add_attribute() = attr;
    e.add("QuantizeLinear", {y, e.in(3), e.in(4)}, node.output(0));
    return std::move(e.out);
  }
  if (op == "QLinearConcat") {
    // (Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) per input)
    // -> Y
    if (auto why = needs(5))
      return *why;
    if ((node.input_size() - 2) % 3 != 0)
      return std::string("QLinearConcat takes Y_scale, Y_zero_point and a (value, scale, "
                         "zero point) triple per input");
    std::vector<std::string> parts;
    for (int i = 2; i < node.input_size(); i += 3)
      parts.push_back(e.dequantize(i, i + 1, i + 2));
    std::string y = e.fresh("concat");
    setInt(e.add("Concat", parts, y), "axis", intAttr(node, "axis", 0));
    e.add("QuantizeLinear", {y, e.in(0), e.in(1)}, node.output(0));
    return std::move(e.out);
  }
  if (op == "QGemm") {
    // (A, a_scale, a_zero_point, B, b_scale, b_zero_point, C, y_scale,
    // y_zero_point) -> Y: alpha * (A' * B' + C) as onnxruntime computes it
    // (alpha scales the int32 sums, the bias among them), C an int32 bias
    // of scale a_scale * b_scale (one per column where b's scale is), Y
    // quantized when y_scale is given and f32 otherwise.
    if (auto why = needs(6))
      return *why;
    int64_t transA = intAttr(node, "transA", 0), transB = intAttr(node, "transB", 0);
    std::string a = e.dequantize(0, 1, 2);
    // b's scale is one value or one per column of B' (axis 0 of [N, K]).
    std::string b = e.dequantize(3, 4, 5, transB ? 0 : 1);
    std::string c;
    if (!e.in(6).empty()) {
      std::string scale = e.fresh("bias_scale");
      e.add("Mul", {e.in(1), e.in(4)}, scale);
      c = e.fresh("bias");
      onnx::NodeProto &dq = e.add("DequantizeLinear", {e.in(6), scale}, c);
      setInt(dq, "axis", 0);
    }
    bool quantized = !e.in(7).empty();
    std::string y = quantized ? e.fresh("gemm") : node.output(0);
    onnx::NodeProto &g = e.add("Gemm", {a, b, c}, y);
    float alpha = floatAttr(node, "alpha", 1.0f);
    setFloat(g, "alpha", alpha);
    setFloat(g, "beta", alpha);
    setInt(g, "transA", transA);
    setInt(g, "transB", transB);
    if (quantized)
      e.add("QuantizeLinear", {y, e.in(7), e.in(8)}, node.output(0));
    return std::move(e.out);
  }
  return std::vector<onnx::NodeProto>{node};
}

void collectNames(const onnx::GraphProto &g, std::set<std::string> &names) {
  for (const auto &v : g.input())
    names.insert(v.name());
  for (const auto &v : g.output())
    names.insert(v.name());
  for (const auto &t : g.initializer())
    names.insert(t.name());
  for (const auto &n : g.node()) {
    for (const auto &o : n.output())
      names.insert(o);
    for (const auto &a : n.attribute()) {
      if (a.has_g())
        collectNames(a.g(), names);
      for (const auto &sub : a.graphs())
        collectNames(sub, names);
    }
  }
}

std::optional<std::string> expandGraph(onnx::GraphProto &g, std::set<std::string> &names) {
  bool any = false;
  for (auto &n : *g.mutable_node()) {
    for (auto &a : *n.mutable_attribute()) {
      if (a.has_g())
        if (auto why = expandGraph(*a.mutable_g(), names))
          return why;
      for (auto &sub : *a.mutable_graphs())
        if (auto why = expandGraph(sub, names))
          return why;
    }
    any |= n.domain() == kMicrosoft;
  }
  if (!any)
    return std::nullopt;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &n = g.node(i);
    if (n.domain() != kMicrosoft) {
      *nodes.Add() = n;
      continue;
    }
    auto result = expand(n, names);
    if (auto *why = std::get_if<std::string>(&result))
      return "node '" + (n.name().empty() ? std::to_string(i) : n.name()) + "' (" + kMicrosoft +
             "." + n.op_type() + "): " + *why;
    for (onnx::NodeProto &r : std::get<std::vector<onnx::NodeProto>>(result))
      *nodes.Add() = std::move(r);
  }
  g.mutable_node()->Swap(&nodes);
  return std::nullopt;
}

} // namespace

std::optional<std::string> weft::expandQuantizedContribOps(onnx::ModelProto &model) {
  std::set<std::string> names;
  collectNames(model.graph(), names);
  return expandGraph(*model.mutable_graph(), names);
}
