#!/usr/bin/env python3
"""Adds ONNX multi-device annotations (IR 11) to a model.

ModelProto.configuration (field 26: DeviceConfigurationProto) and
NodeProto.device_configurations (field 10: NodeDeviceConfigurationProto
with ShardingSpecProto entries and a pipeline stage) are newer than the
onnx package here, so they are written as raw protobuf fields: the model
parses with them kept as unknown fields and saves them back.

    annotate(model, "two_cpus", 2, {"fc0": [("fc0.weight", 0)]})

gives node fc0 a sharding spec that cuts tensor fc0.weight on axis 0 into
2 parts; an axis of None leaves the tensor whole (replicated).
"""

import onnx


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, payload):
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def sharding_spec(tensor, axis, devices, size):
    """ShardingSpecProto: `tensor` cut on `axis` (of size `size`) into
    `devices` parts, one per device."""
    spec = _field(1, tensor) + b"".join(_field(2, d) for d in range(devices))
    if axis is not None:
        simple = _field(1, size) + _field(3, devices)  # dim_value, num_shards
        spec += _field(4, _field(1, axis) + _field(2, simple))
    return spec


def annotate(model, config, devices, nodes, stages=None):
    """Returns a copy of `model` with configuration `config` of `devices`
    devices, the sharding specs `nodes` ({node name: [(tensor, axis)]}) and
    pipeline stages `stages` ({node name: stage})."""
    stages = stages or {}
    sizes = {}
    for t in model.graph.initializer:
        sizes[t.name] = list(t.dims)
    for v in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        sizes[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    graph = onnx.GraphProto()
    graph.CopyFrom(model.graph)
    del graph.node[:]
    for node in model.graph.node:
        extra = b""
        if node.name in nodes or node.name in stages:
            cfg = _field(1, config)
            for tensor, axis in nodes.get(node.name, []):
                size = sizes[tensor][axis] if axis is not None else 0
                cfg += _field(2, sharding_spec(tensor, axis, devices, size))
            if node.name in stages:
                cfg += _field(3, stages[node.name])
            extra = _field(10, cfg)
        copy = onnx.NodeProto()
        copy.ParseFromString(node.SerializeToString() + extra)
        graph.node.append(copy)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    out.graph.CopyFrom(graph)
    configuration = _field(1, config) + _field(2, devices) + b"".join(
        _field(3, "cpu:%d" % d) for d in range(devices))
    annotated = onnx.ModelProto()
    annotated.ParseFromString(out.SerializeToString() + _field(26, configuration))
    annotated.ir_version = 11
    return annotated


# Plans for the models of make_models.py: Megatron pairs for the MLP and
# the encoder block, the batch for ResNet-18.
PLANS = {
    "mlp_batch": {"fc0": [("fc0.weight", 0)], "fc1": [("fc1.weight", 1)]},
    "encoder": {"q.matmul": [("q.weight", 1)], "k.matmul": [("k.weight", 1)],
                "v.matmul": [("v.weight", 1)], "out.matmul": [("out.weight", 0)],
                "ffn.up.matmul": [("ffn.up.weight", 1)],
                "ffn.down.matmul": [("ffn.down.weight", 0)]},
    "resnet18": {"stem.conv": [("x", 0)]},
}
