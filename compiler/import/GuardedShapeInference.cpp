//===- GuardedShapeInference.cpp - ONNX shape inference on untrusted models ===//
//
// libonnx 1.12's inference functions for convolutions and pooling trust the
// model: a weight of higher rank than the input makes them index past the
// end of their per-axis vectors, a zero stride divides by zero. They run
// while an old opset is upgraded, before Weft's own converters could refuse
// the node, so a malformed model would crash weftc. The registry below
// hands libonnx a copy of each such schema whose inference function first
// checks what the original relies on and otherwise fails inference for the
// node with an ONNX error, which libonnx reports as an exception.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/GuardedShapeInference.h"

#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>
#include <onnx/shape_inference/implementation.h>

#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

namespace weft {
namespace {

// Where the data input and the weight of a convolution-like node are;
// weight < 0: the node has none (pooling).
struct ConvLike {
  int data;
  int weight;
};

bool convLike(const std::string &op, ConvLike &out) {
  static const std::map<std::string, ConvLike> table = {
      {"Conv", {0, 1}},          {"ConvTranspose", {0, 1}}, {"ConvInteger", {0, 1}},
      {"QLinearConv", {0, 3}},   {"MaxPool", {0, -1}},      {"AveragePool", {0, -1}},
      {"LpPool", {0, -1}},       {"MaxUnpool", {0, -1}},    {"MaxRoiPool", {0, -1}},
      {"DeformConv", {0, 1}},
  };
  auto it = table.find(op);
  if (it == table.end())
    return false;
  out = it->second;
  return true;
}

// The rank of input `index` when its shape is known, else -1.
int knownRank(onnx::InferenceContext &ctx, int index) {
  if (index < 0 || static_cast<size_t>(index) >= ctx.getNumInputs())
    return -1;
  const onnx::TypeProto *type = ctx.getInputType(index);
  if (!type || type->value_case() != onnx::TypeProto::kTensorType ||
      !type->tensor_type().has_shape())
    return -1;
  return type->tensor_type().shape().dim_size();
}

// Fails inference for the node unless its per-axis attributes and operand
// ranks agree with each other, which libonnx's functions assume.
void checkConvLike(const std::string &op, const ConvLike &where,
                   onnx::InferenceContext &ctx) {
  int dataRank = knownRank(ctx, where.data);
  int weightRank = knownRank(ctx, where.weight);
  if (dataRank >= 0 && dataRank < 2)
    fail_shape_inference(op, ": the input has rank ", dataRank, ", fewer than 2");
  if (where.weight >= 0 && weightRank >= 0 && weightRank < 2)
    fail_shape_inference(op, ": the weight has rank ", weightRank, ", fewer than 2");
  if (dataRank >= 0 && weightRank >= 0 && dataRank != weightRank)
    fail_shape_inference(op, ": the input has rank ", dataRank, " and the weight rank ",
                         weightRank);
  // The spatial rank, from whichever operand says it.
  int spatial = dataRank >= 0 ? dataRank - 2 : weightRank >= 0 ? weightRank - 2 : -1;
  struct PerAxis {
    const char *name;
    int perAxis; // entries per spatial axis
    bool positive;
  };
  static const PerAxis perAxis[] = {
      {"kernel_shape", 1, true},   {"strides", 1, true},        {"dilations", 1, true},
      {"pads", 2, false},          {"output_padding", 1, false}, {"output_shape", 1, false},
  };
  for (const PerAxis &attr : perAxis) {
    const onnx::AttributeProto *a = ctx.getAttribute(attr.name);
    if (!a)
      continue;
    if (spatial >= 0 && a->ints_size() != attr.perAxis * spatial)
      fail_shape_inference(op, ": attribute ", attr.name, " has ", a->ints_size(),
                           " entries for ", spatial, " spatial axes");
    if (spatial < 0 && a->ints_size() % attr.perAxis != 0)
      fail_shape_inference(op, ": attribute ", attr.name, " has an odd number of entries");
    for (int64_t v : a->ints())
      if (attr.positive ? v < 1 : v < 0)
        fail_shape_inference(op, ": attribute ", attr.name, " has the value ", v);
  }
}

// Wraps the default registry: schemas of convolution-like operators are
// handed out as copies with a checking inference function. The copies live
// as long as the process, like the schemas they copy.
class GuardedRegistry final : public onnx::ISchemaRegistry {
public:
  const onnx::OpSchema *GetSchema(const std::string &key, const int maxInclusiveVersion,
                                  const std::string &domain) const override {
    const onnx::OpSchema *schema =
        onnx::OpSchemaRegistry::Instance()->GetSchema(key, maxInclusiveVersion, domain);
    ConvLike where;
    if (!schema || !(domain.empty() || domain == "ai.onnx") || !convLike(key, where) ||
        !schema->has_type_and_shape_inference_function())
      return schema;
    std::lock_guard<std::mutex> lock(mutex());
    auto &copies = guarded();
    auto found = copies.find(schema);
    if (found != copies.end())
      return found->second.get();
    auto copy = std::make_unique<onnx::OpSchema>(*schema);
    onnx::InferenceFunction original = schema->GetTypeAndShapeInferenceFunction();
    copy->TypeAndShapeInferenceFunction(
        [original, key, where](onnx::InferenceContext &ctx) {
          checkConvLike(key, where, ctx);
          original(ctx);
        });
    const onnx::OpSchema *result = copy.get();
    copies.emplace(schema, std::move(copy));
    return result;
  }

private:
  static std::mutex &mutex() {
    static std::mutex m;
    return m;
  }
  static std::map<const onnx::OpSchema *, std::unique_ptr<onnx::OpSchema>> &guarded() {
    static auto *copies = new std::map<const onnx::OpSchema *, std::unique_ptr<onnx::OpSchema>>();
    return *copies;
  }
};

} // namespace

void inferShapesGuarded(onnx::ModelProto &model) {
  static const GuardedRegistry registry;
  try {
    onnx::shape_inference::InferShapes(model, &registry);
  } catch (const std::exception &) {
  }
}

} // namespace weft
