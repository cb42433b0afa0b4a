//===- SpatialWindows.cpp - window helpers of conv and pooling ------------===//
//
// See SpatialWindows.h.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/SpatialWindows.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace weft;

using Node = onnx::NodeProto;

namespace weft::windows {

void addInts(Node &node, StringRef name, ArrayRef<int64_t> values) {
  auto *a = node.add_attribute();
  a->set_name(name.str());
  a->set_type(onnx::AttributeProto_AttributeType_INTS);
  for (int64_t v : values)
    a->add_ints(v);
}

FailureOr<Window> readWindow(ImportContext &ctx, const Node &node,
                             ArrayRef<int64_t> in, ArrayRef<int64_t> kernel) {
  Window w;
  size_t n = in.size();
  w.strides = ctx.getInts(node, "strides", SmallVector<int64_t>(n, 1));
  w.dilations = ctx.getInts(node, "dilations", SmallVector<int64_t>(n, 1));
  if (w.strides.size() != n || w.dilations.size() != n)
    return ctx.fail("expects " + Twine(n) + " strides and " + Twine(n) +
                    " dilations for a " + Twine(n) + "-D window");
  if (llvm::any_of(w.strides, [](int64_t s) { return s <= 0; }) ||
      llvm::any_of(w.dilations, [](int64_t d) { return d <= 0; }))
    return ctx.fail("strides and dilations must be positive");
  std::string autoPad = ctx.getString(node, "auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && ImportContext::hasAttr(node, "pads"))
    return ctx.fail("auto_pad '" + autoPad +
                    "' and explicit pads cannot be used together");
  w.pads.assign(2 * n, 0);
  if (autoPad == "NOTSET") {
    w.pads = ctx.getInts(node, "pads", SmallVector<int64_t>(2 * n, 0));
    if (w.pads.size() != 2 * n)
      return ctx.fail("expects " + Twine(2 * n) + " pads (every begin, then every end)");
    if (llvm::any_of(w.pads, [](int64_t p) { return p < 0; }))
      return ctx.fail("pads must be non-negative");
    // A pad wider than the padded extent's plausible size only makes a
    // tensor of zeros; bound it so shape arithmetic cannot overflow.
    if (llvm::any_of(w.pads, [](int64_t p) { return p > (int64_t(1) << 31); }))
      return ctx.fail("pads larger than 2^31 are not supported");
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    // The output keeps ceil(in / stride) positions; the extra padding goes
    // at the end (SAME_UPPER) or the beginning (SAME_LOWER) when odd.
    for (size_t i = 0; i < n; ++i) {
      int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
      int64_t span = (kernel[i] - 1) * w.dilations[i] + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + span - in[i]);
      int64_t small = total / 2, large = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : large;
      w.pads[i + n] = autoPad == "SAME_UPPER" ? large : small;
    }
  } else if (autoPad != "VALID") {
    return ctx.fail("unknown auto_pad '" + autoPad + "'");
  }
  for (size_t i = 0; i < n; ++i) {
    int64_t span = (kernel[i] - 1) * w.dilations[i] + 1;
    if (in[i] + w.pads[i] + w.pads[i + n] < span)
      return ctx.fail("the window (" + Twine(span) +
                      " elements with dilation) is larger than the padded "
                      "input (" +
                      Twine(in[i] + w.pads[i] + w.pads[i + n]) +
                      ") in spatial dimension " + Twine(i));
  }
  return w;
}

LogicalResult windowAs2D(ImportContext &ctx, const Node &node, int64_t opset,
                         LogicalResult (*convert2D)(ImportContext &, const Node &, int64_t)) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  Node copy = node;
  std::string in = node.input(0) + "\x01as2d", out = node.output(0) + "\x01as2d";
  copy.set_input(0, in);
  copy.set_output(0, out);
  // MaxPool's Indices index [N, C, 1, W] row-major, which is [N, C, W]'s
  // flat index too: they are only reshaped back.
  std::string indicesOut = node.output(0) + "\x01as2d_indices";
  bool withIndices = ImportContext::hasOutput(node, 1);
  for (int i = 1; i < copy.output_size(); ++i)
    copy.set_output(i, i == 1 && withIndices ? indicesOut : "");
  for (auto &attr : *copy.mutable_attribute()) {
    const std::string &name = attr.name();
    if (name != "kernel_shape" && name != "strides" && name != "dilations" && name != "pads")
      continue;
    std::vector<int64_t> values(attr.ints().begin(), attr.ints().end());
    attr.clear_ints();
    if (name == "pads") {
      if (values.size() != 2)
        return ctx.fail("a 1-D window needs 2 pads, got " + Twine(values.size()));
      for (int64_t v : {int64_t(0), values[0], int64_t(0), values[1]})
        attr.add_ints(v);
    } else {
      if (values.size() != 1)
        return ctx.fail("a 1-D window needs one value in '" + name + "', got " +
                        Twine(values.size()));
      attr.add_ints(1);
      attr.add_ints(values[0]);
    }
  }
  auto reshaped = ctx.reshape(*x, {xt.getShape()[0], xt.getShape()[1], 1, xt.getShape()[2]});
  if (failed(reshaped))
    return failure();
  ctx.define(in, *reshaped);
  // A convolution's rank-3 filter [M, C/g, k] becomes [M, C/g, 1, k].
  if (node.input_size() > 1 && !node.input(1).empty()) {
    auto w = ctx.input(node, 1);
    if (failed(w))
      return failure();
    auto wt = ImportContext::typeOf(*w);
    if (wt.getRank() == 3) {
      auto w4 = ctx.reshape(*w, {wt.getShape()[0], wt.getShape()[1], 1, wt.getShape()[2]});
      if (failed(w4))
        return failure();
      std::string wName = node.input(1) + "\x01as2d";
      ctx.define(wName, *w4);
      copy.set_input(1, wName);
    }
  }
  if (failed(convert2D(ctx, copy, opset)))
    return failure();
  auto result = ctx.lookup(out);
  if (failed(result))
    return failure();
  auto rt = ImportContext::typeOf(*result);
  auto back = ctx.reshape(*result, {rt.getShape()[0], rt.getShape()[1], rt.getShape()[3]});
  if (failed(back))
    return failure();
  ctx.setOutput(node, 0, *back);
  if (withIndices) {
    auto indices = ctx.lookup(indicesOut);
    if (failed(indices))
      return failure();
    auto flat = ctx.reshape(*indices, {rt.getShape()[0], rt.getShape()[1], rt.getShape()[3]});
    if (failed(flat))
      return failure();
    ctx.setOutput(node, 1, *flat);
  }
  return success();
}

} // namespace weft::windows
