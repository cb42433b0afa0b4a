//===- DeviceAnnotations.cpp - ONNX multi-device configuration -----------===//
//
// ONNX IR 11 lets a model describe how it runs on several devices:
// ModelProto.configuration (field 26, DeviceConfigurationProto: name,
// num_devices, device names) and, per node, NodeProto.device_configurations
// (field 10, NodeDeviceConfigurationProto: configuration_id, sharding_spec
// (ShardingSpecProto: tensor_name, device, index_to_device_group_map,
// sharded_dim (ShardedDimProto: axis, simple_sharding (dim_value or
// dim_param, num_shards))), pipeline_stage). libonnx 1.12's classes predate
// these fields; protobuf keeps them as unknown fields, which are read here
// by field number.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/DeviceAnnotations.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"

#include <google/protobuf/unknown_field_set.h>

using namespace mlir;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

namespace {

/// The unknown fields of a message, or of a length-delimited payload.
const UnknownFieldSet &unknownOf(const google::protobuf::Message &m) {
  return m.GetReflection()->GetUnknownFields(m);
}

bool parsePayload(const UnknownField &f, UnknownFieldSet &out) {
  return f.type() == UnknownField::TYPE_LENGTH_DELIMITED &&
         out.ParseFromString(f.length_delimited());
}

/// Every varint of field `number`, packed or not.
std::vector<int64_t> varints(const UnknownFieldSet &set, int number) {
  std::vector<int64_t> out;
  for (int i = 0; i < set.field_count(); ++i) {
    const UnknownField &f = set.field(i);
    if (f.number() != number)
      continue;
    if (f.type() == UnknownField::TYPE_VARINT) {
      out.push_back((int64_t)f.varint());
    } else if (f.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
      const std::string &bytes = f.length_delimited();
      uint64_t v = 0;
      int shift = 0;
      for (unsigned char c : bytes) {
        v |= (uint64_t)(c & 0x7f) << shift;
        shift += 7;
        if (!(c & 0x80)) {
          out.push_back((int64_t)v);
          v = 0;
          shift = 0;
        }
      }
    }
  }
  return out;
}

std::vector<std::string> strings(const UnknownFieldSet &set, int number) {
  std::vector<std::string> out;
  for (int i = 0; i < set.field_count(); ++i)
    if (set.field(i).number() == number &&
        set.field(i).type() == UnknownField::TYPE_LENGTH_DELIMITED)
      out.push_back(set.field(i).length_delimited());
  return out;
}

} // namespace

FailureOr<DictionaryAttr> weft::readDeviceAnnotations(const onnx::ModelProto &model,
                                                    MLIRContext *ctx, Location loc) {
  Builder b(ctx);
  SmallVector<NamedAttribute> result;
  // The configurations: the first one is the plan (several are listed in
  // the explanation only).
  SmallVector<Attribute> configs;
  const UnknownFieldSet &top = unknownOf(model);
  for (int i = 0; i < top.field_count(); ++i) {
    if (top.field(i).number() != 26)
      continue;
    UnknownFieldSet c;
    if (!parsePayload(top.field(i), c))
      return emitError(loc, "the model's multi-device configuration (field 26) is not a "
                            "DeviceConfigurationProto"),
             failure();
    std::vector<std::string> name = strings(c, 1);
    std::vector<int64_t> count = varints(c, 2);
    if (count.empty() || count[0] < 1 || count[0] > 1024)
      return emitError(loc, "the model's multi-device configuration '")
                 << (name.empty() ? "" : name[0]) << "' has no device count from 1 to 1024",
             failure();
    configs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("name", b.getStringAttr(name.empty() ? "" : name[0])),
         b.getNamedAttr("num_devices", b.getI64IntegerAttr(count[0]))}));
  }
  // Per node: each sharded tensor's axis (-1: whole) and shard count, and
  // the pipeline stage.
  SmallVector<NamedAttribute> nodes;
  llvm::StringSet<> seen;
  for (const onnx::NodeProto &node : model.graph().node()) {
    const UnknownFieldSet &set = unknownOf(node);
    SmallVector<Attribute> specs;
    int64_t stage = -1;
    for (int i = 0; i < set.field_count(); ++i) {
      if (set.field(i).number() != 10)
        continue;
      UnknownFieldSet cfg;
      if (!parsePayload(set.field(i), cfg))
        return emitError(loc, "node '") << node.name()
                                        << "': its device configuration (field 10) is not a "
                                           "NodeDeviceConfigurationProto",
               failure();
      if (std::vector<int64_t> s = varints(cfg, 3); !s.empty())
        stage = s[0];
      for (int j = 0; j < cfg.field_count(); ++j) {
        if (cfg.field(j).number() != 2)
          continue;
        UnknownFieldSet spec;
        if (!parsePayload(cfg.field(j), spec))
          return emitError(loc, "node '") << node.name() << "': a sharding spec is malformed",
                 failure();
        std::vector<std::string> tensor = strings(spec, 1);
        int64_t axis = -1, shards = 1;
        for (int k = 0; k < spec.field_count(); ++k) {
          if (spec.field(k).number() != 4)
            continue;
          UnknownFieldSet dim;
          if (!parsePayload(spec.field(k), dim))
            return emitError(loc, "node '") << node.name() << "': a sharded dim is malformed",
                   failure();
          std::vector<int64_t> a = varints(dim, 1);
          int64_t n = 1;
          for (int m = 0; m < dim.field_count(); ++m) {
            UnknownFieldSet simple;
            if (dim.field(m).number() == 2 && parsePayload(dim.field(m), simple))
              for (int64_t s : varints(simple, 3))
                n *= s;
          }
          if (axis >= 0 && n > 1)
            return emitError(loc, "node '")
                       << node.name() << "': tensor '" << (tensor.empty() ? "" : tensor[0])
                       << "' is sharded on two axes; one axis per tensor is supported",
                   failure();
          if (n > 1) {
            axis = a.empty() ? 0 : a[0];
            shards = n;
          }
        }
        if (tensor.empty())
          return emitError(loc, "node '") << node.name() << "': a sharding spec names no tensor",
                 failure();
        specs.push_back(b.getDictionaryAttr(
            {b.getNamedAttr("tensor", b.getStringAttr(tensor[0])),
             b.getNamedAttr("axis", b.getI64IntegerAttr(axis)),
             b.getNamedAttr("shards", b.getI64IntegerAttr(shards))}));
      }
    }
    if (specs.empty() && stage < 0)
      continue;
    SmallVector<NamedAttribute> entry = {b.getNamedAttr("specs", b.getArrayAttr(specs))};
    // A split weight of a MatMul, Gemm or Conv says which half of a
    // Megatron pair the node is: its output columns or channels
    // ("column") or the rows it contracts ("row").
    if (node.input_size() > 1)
      for (Attribute a : specs) {
        auto spec = cast<DictionaryAttr>(a);
        int64_t axis = spec.getAs<IntegerAttr>("axis").getInt();
        if (spec.getAs<StringAttr>("tensor").getValue() != node.input(1) || axis < 0)
          continue;
        bool transB = false;
        for (const auto &attr : node.attribute())
          if (attr.name() == "transB")
            transB = attr.i() != 0;
        std::string split;
        if (node.op_type() == "MatMul")
          split = axis == 1 ? "column" : axis == 0 ? "row" : "";
        else if (node.op_type() == "Gemm")
          split = axis == (transB ? 0 : 1) ? "column" : "row";
        else if (node.op_type() == "Conv")
          split = axis == 0 ? "column" : axis == 1 ? "row" : "";
        if (split.empty())
          return emitError(loc, "node '") << node.name() << "' (" << node.op_type()
                                          << "): its weight is sharded on axis " << axis
                                          << ", which is neither its output nor its "
                                             "contracted axis",
                 failure();
        entry.push_back(b.getNamedAttr("weight_split", b.getStringAttr(split)));
      }
    if (stage >= 0)
      entry.push_back(b.getNamedAttr("pipeline_stage", b.getI64IntegerAttr(stage)));
    if (node.name().empty() || !seen.insert(node.name()).second)
      return emitError(loc, "a node with multi-device annotations needs a unique name (")
                 << node.op_type() << " node '" << node.name() << "')",
             failure();
    nodes.push_back(b.getNamedAttr(node.name(), b.getDictionaryAttr(entry)));
  }
  if (configs.empty() && nodes.empty())
    return DictionaryAttr();
  if (configs.empty())
    return emitError(loc, "nodes carry multi-device annotations but the model has no device "
                          "configuration (ModelProto.configuration)"),
           failure();
  result.push_back(b.getNamedAttr("configurations", b.getArrayAttr(configs)));
  result.push_back(b.getNamedAttr("nodes", b.getDictionaryAttr(nodes)));
  return b.getDictionaryAttr(result);
}
