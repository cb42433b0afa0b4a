#!/usr/bin/env python3
"""Writes the small ONNX models Weft's end-to-end checks and benchmarks use.

Each model is built with onnx.helper at opset 17, checked with onnx.checker,
and accompanied by one ONNX backend-test style data set computed by
onnxruntime on the CPU:

    OUTDIR/<model>.onnx
    OUTDIR/<model>_data/test_data_set_0/input_0.pb
    OUTDIR/<model>_data/test_data_set_0/output_0.pb

Models:
    mlp         x: f32[1,784] -> Gemm 512 + Relu -> Gemm 256 + Relu -> Gemm 10
                -> Softmax(axis=-1)
    cnn         x: f32[1,1,28,28] -> Conv 8 3x3 + Relu + MaxPool 2x2
                -> Conv 16 3x3 + Relu + MaxPool 2x2 -> Flatten -> Gemm 10
    gemm_large  x: f32[512,1024] MatMul a constant f32[1024,1024]
    gemm_f16    the same in f16 (sums in f32: onnxruntime's and Weft's)
    dwconv      x: f32[2,32,112,112] -> depthwise Conv 3x3 + Relu
                -> ReduceMean(axes=[2,3], keepdims=1): kernels whose
                temporaries are as large as their outputs
    rnn_if      x: f32[16,1,20], h0, c0: f32[1,1,32], flag: bool -> LSTM 32
                (bias, initial states) -> GRU 32 (linear_before_reset) ->
                Gemm 2 -> If(flag) Sigmoid else Softmax; outputs the If's
                result and the LSTM's final states (a voice-activity shape)
    det_head    x: f32[1,3,64,64] -> 2x (Conv 3x3 stride 2 + Relu) ->
                ConvTranspose 2x2 stride 2 and Resize x2 (linear), concatenated
                -> Conv 1x1 + Relu -> Conv 1x1 -> Sigmoid (a detector's head)

    bottleneck  x: f32[2,128,28,28] -> Conv 512 1x1 + Relu -> Conv 128 1x1 + Relu
                -> Conv 256 3x3 (pads 1) + Relu -> Conv 512 1x1, + the first
                Relu's output, Relu (ResNet bottleneck shapes; 28 x 28
                positions, which no 64-wide block divides)

    mlp_batch   x: f32[8,784] -> Gemm 1024 + Relu -> Gemm 1024 + Relu -> Gemm 10
                -> Softmax: a batch of 8 for data-parallel runs
    encoder     x: f32[4,32,512] -> a transformer encoder block (pre-norm):
                LayerNorm -> 8-head self-attention (Q, K, V and output
                projections 512x512) + residual -> LayerNorm -> MLP 2048
                with erf GELU + residual
    resnet18    x: f32[2,3,224,224] -> ResNet-18 (7x7 stem, max pool, four
                stages of two basic blocks with batch norm, global average
                pool, Gemm 1000), random weights with He scaling
    gelu_mlp    x: f32[16,128] -> MatMul 512 + bias -> GELU as PyTorch exports
                it (x / sqrt(2) -> Erf -> + 1 -> * x -> * 0.5: the biased
                sum has two users) -> MatMul 128 + bias
    silu_conv   x: f32[1,16,32,32] -> Conv 32 3x3 (pads 1) + SiLU (x *
                Sigmoid(x): two users) -> Conv 32 1x1 + SiLU
    padded_in_place
                x: f32[2,16,20,28] -> inverted residual blocks whose padded
                convolutions read buffers their producers wrote inside the
                padding: Conv 96 1x1 + Clip(0, 6) -> depthwise 3x3 (pads 1)
                + Clip -> Conv 16 1x1, + x -> Relu -> Conv 24 3x3 (pads 1
                on rows, 2 on columns) -> MaxPool 3x3 stride 2 (pads 1: a
                -inf border around negative values) -> depthwise 3x3
                stride 2 (pads 1) + Relu -> Conv 20 3x3 (pads 1; 20
                channels: no blocked filter)

Everything is a pure function of --seed, so two runs give identical files.
Only onnx, onnxruntime and numpy are needed.
"""

import argparse
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# libonnx 1.12 (what weftc links) refuses models whose IR version is newer than
# it knows; IR 8 is the version that goes with opset 17.
IR_VERSION = 8

MODEL_NAMES = ("mlp", "cnn", "gemm_large", "dwconv", "rnn_if", "det_head", "lstm_long",
               "mlp_batch", "encoder", "resnet18", "long_rows", "odd_rows", "gemm_f16",
               "bottleneck", "gelu_mlp", "silu_conv", "padded_in_place")


def _weight(rng, shape, fan_in):
    """Std 1/sqrt(fan_in) keeps activations O(1) through the layers: logits
    spread enough that softmax is far from uniform, yet not saturated, so an
    error in either the GEMMs or the softmax shows in the output."""
    return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)


def _finish(graph, doc):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="weft-make-models",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


class _Nodes:
    """Initializers and nodes of a graph being built, with the helpers
    the transformer-style test models share."""

    def __init__(self, rng):
        self.rng, self.inits, self.nodes = rng, [], []

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(self, x, name, fan_in, fan_out):
        """MatMul by a [fan_in, fan_out] weight, then Add of a bias."""
        w = self.const(f"{name}.weight", _weight(self.rng, (fan_in, fan_out), fan_in))
        b = self.const(f"{name}.bias", _weight(self.rng, (fan_out,), fan_in))
        return self.node("Add", [self.node("MatMul", [x, w], f"{name}.matmul"), b], name)


def make_mlp(rng, sizes=(784, 512, 256, 10), batch=1, name="mlp",
             doc="784-512-256-10 MLP classifier with softmax"):
    inits, nodes = [], []
    cur = "x"
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w, b = f"fc{i}.weight", f"fc{i}.bias"
        # [out, in] with transB=1 is how PyTorch exports nn.Linear, so the
        # importer sees the layout it will meet most often.
        inits.append(numpy_helper.from_array(_weight(rng, (fan_out, fan_in), fan_in), w))
        inits.append(numpy_helper.from_array(_weight(rng, (fan_out,), fan_in), b))
        out = f"fc{i}"
        nodes.append(helper.make_node("Gemm", [cur, w, b], [out], name=f"fc{i}",
                                      alpha=1.0, beta=1.0, transA=0, transB=1))
        cur = out
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [cur], [f"relu{i}"], name=f"relu{i}"))
            cur = f"relu{i}"
    nodes.append(helper.make_node("Softmax", [cur], ["y"], name="softmax", axis=-1))
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, sizes[-1]])],
        initializer=inits)
    return _finish(graph, doc)


def make_cnn(rng):
    inits, nodes = [], []
    cur = "x"
    for i, (cin, cout) in enumerate([(1, 8), (8, 16)]):
        w, b = f"conv{i}.weight", f"conv{i}.bias"
        fan_in = cin * 3 * 3
        inits.append(numpy_helper.from_array(_weight(rng, (cout, cin, 3, 3), fan_in), w))
        inits.append(numpy_helper.from_array(_weight(rng, (cout,), fan_in), b))
        nodes.append(helper.make_node(
            "Conv", [cur, w, b], [f"conv{i}"], name=f"conv{i}",
            kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1],
            group=1))
        nodes.append(helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}"))
        nodes.append(helper.make_node(
            "MaxPool", [f"relu{i}"], [f"pool{i}"], name=f"pool{i}",
            kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]))
        cur = f"pool{i}"
    nodes.append(helper.make_node("Flatten", [cur], ["flat"], name="flatten", axis=1))
    fan_in = 16 * 7 * 7
    inits.append(numpy_helper.from_array(_weight(rng, (10, fan_in), fan_in), "fc.weight"))
    inits.append(numpy_helper.from_array(_weight(rng, (10,), fan_in), "fc.bias"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["y"],
                                  name="fc", alpha=1.0, beta=1.0, transA=0, transB=1))
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        initializer=inits)
    return _finish(graph, "LeNet-style CNN for 28x28 grayscale images")


def make_gemm_large(rng, name="gemm_large", half=False):
    m, k, n = 512, 1024, 1024
    w = _weight(rng, (k, n), k).astype(np.float16 if half else np.float32)
    elt, label = (TensorProto.FLOAT16, "f16") if half else (TensorProto.FLOAT, "f32")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
        name,
        [helper.make_tensor_value_info("x", elt, [m, k])],
        [helper.make_tensor_value_info("y", elt, [m, n])],
        initializer=[numpy_helper.from_array(w, "w")])
    return _finish(graph, f"{label}[512,1024] x {label}[1024,1024] MatMul (thread scaling)")


def make_gemm_f16(rng):
    return make_gemm_large(rng, name="gemm_f16", half=True)


def make_bottleneck(rng):
    inits, nodes = [], []
    cur = "x"
    for i, (cin, cout, k) in enumerate([(128, 512, 1), (512, 128, 1), (128, 256, 3),
                                        (256, 512, 1)]):
        w, b = f"conv{i}.weight", f"conv{i}.bias"
        inits.append(numpy_helper.from_array(_weight(rng, (cout, cin, k, k), cin * k * k), w))
        inits.append(numpy_helper.from_array(_weight(rng, (cout,), cin * k * k), b))
        nodes.append(helper.make_node("Conv", [cur, w, b], [f"conv{i}"], name=f"conv{i}",
                                      kernel_shape=[k, k], pads=[k // 2] * 4))
        if i == 3:
            nodes.append(helper.make_node("Add", ["conv3", "relu0"], ["sum"], name="residual"))
            nodes.append(helper.make_node("Relu", ["sum"], ["y"], name="relu3"))
        else:
            nodes.append(helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}"))
            cur = f"relu{i}"
    graph = helper.make_graph(
        nodes, "bottleneck",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 128, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 512, 28, 28])],
        initializer=inits)
    return _finish(graph, "convolutions of ResNet bottleneck shapes at 28x28")


def make_dwconv(rng):
    c = 32
    inits = [numpy_helper.from_array(_weight(rng, (c, 1, 3, 3), 9), "dw.weight"),
             numpy_helper.from_array(_weight(rng, (c,), 9), "dw.bias")]
    nodes = [
        helper.make_node("Conv", ["x", "dw.weight", "dw.bias"], ["dw"], name="dw",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=c),
        helper.make_node("Relu", ["dw"], ["act"], name="relu"),
        helper.make_node("ReduceMean", ["act"], ["y"], name="mean", axes=[2, 3],
                         keepdims=1),
    ]
    graph = helper.make_graph(
        nodes, "dwconv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, c, 112, 112])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, c, 1, 1])],
        initializer=inits)
    return _finish(graph, "depthwise conv + keepdims mean, batch 2")


def make_rnn_if(rng):
    steps, inputs, hidden = 16, 20, 32
    w = lambda *shape: numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32))
    inits = []
    for name, shape in [("W", (1, 4 * hidden, inputs)), ("R", (1, 4 * hidden, hidden)),
                        ("B", (1, 8 * hidden)), ("GW", (1, 3 * hidden, hidden)),
                        ("GR", (1, 3 * hidden, hidden)), ("Wo", (2, hidden))]:
        t = w(*shape)
        t.name = name
        inits.append(t)
    inits += [numpy_helper.from_array(np.array([1], np.int64), "axis1"),
              numpy_helper.from_array(np.array([0], np.int64), "axis0")]
    f32 = TensorProto.FLOAT

    def branch(name, node):
        return helper.make_graph([node], name, [], [helper.make_tensor_value_info(node.output[0], f32, [1, 2])])

    nodes = [
        helper.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "c0"], ["y", "yh", "yc"],
                         hidden_size=hidden, name="lstm"),
        helper.make_node("Squeeze", ["y", "axis1"], ["y3"], name="squeeze_dirs"),
        helper.make_node("GRU", ["y3", "GW", "GR"], ["gy", "gh"], hidden_size=hidden,
                         linear_before_reset=1, name="gru"),
        helper.make_node("Squeeze", ["gh", "axis0"], ["g2"], name="squeeze_state"),
        helper.make_node("Gemm", ["g2", "Wo"], ["logit"], transB=1, name="classifier"),
        helper.make_node("If", ["flag"], ["out"], name="head",
                         then_branch=branch("then", helper.make_node("Sigmoid", ["logit"], ["p"])),
                         else_branch=branch("else", helper.make_node("Softmax", ["logit"], ["q"], axis=-1))),
    ]
    graph = helper.make_graph(
        nodes, "rnn_if",
        [helper.make_tensor_value_info("x", f32, [steps, 1, inputs]),
         helper.make_tensor_value_info("h0", f32, [1, 1, hidden]),
         helper.make_tensor_value_info("c0", f32, [1, 1, hidden]),
         helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("out", f32, [1, 2]),
         helper.make_tensor_value_info("yh", f32, [1, 1, hidden]),
         helper.make_tensor_value_info("yc", f32, [1, 1, hidden])], inits)
    return _finish(graph, "LSTM -> GRU -> Gemm -> If(flag): a recurrent model with a run-time branch")


def make_lstm_long(rng):
    steps, inputs, hidden = 400, 64, 128
    w = lambda name, *shape: numpy_helper.from_array(
        (rng.standard_normal(shape) * 0.1).astype(np.float32), name)
    inits = [w("W", 2, 4 * hidden, inputs), w("R", 2, 4 * hidden, hidden), w("B", 2, 8 * hidden),
             w("Wo", 10, 2 * hidden), numpy_helper.from_array(np.array([steps, 2 * hidden], np.int64), "rows")]
    f32 = TensorProto.FLOAT
    nodes = [
        helper.make_node("LSTM", ["x", "W", "R", "B"], ["y", "yh"], hidden_size=hidden,
                         direction="bidirectional", name="lstm"),
        helper.make_node("Transpose", ["y"], ["yt"], perm=[0, 2, 1, 3], name="frames"),
        helper.make_node("Reshape", ["yt", "rows"], ["feat"], name="flatten"),
        helper.make_node("Gemm", ["feat", "Wo"], ["logits"], transB=1, name="classifier"),
    ]
    graph = helper.make_graph(
        nodes, "lstm_long", [helper.make_tensor_value_info("x", f32, [steps, 1, inputs])],
        [helper.make_tensor_value_info("logits", f32, [steps, 10]),
         helper.make_tensor_value_info("yh", f32, [2, 1, hidden])], inits)
    return _finish(graph, "bidirectional LSTM over 400 frames (a run-time time loop) -> "
                          "per-frame Gemm classifier")


def make_det_head(rng):
    f32 = TensorProto.FLOAT
    inits = []
    for name, shape, fan_in in [("c1", (16, 3, 3, 3), 27), ("c2", (16, 16, 3, 3), 144),
                                ("ct", (16, 8, 2, 2), 64), ("c3", (8, 24, 1, 1), 24),
                                ("hd", (2, 8, 1, 1), 8)]:
        inits.append(numpy_helper.from_array(_weight(rng, shape, fan_in), name))
    inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
    nodes = [
        helper.make_node("Conv", ["x", "c1"], ["a"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv1"),
        helper.make_node("Relu", ["a"], ["a1"], name="relu1"),
        helper.make_node("Conv", ["a1", "c2"], ["b"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv2"),
        helper.make_node("Relu", ["b"], ["b1"], name="relu2"),
        helper.make_node("ConvTranspose", ["b1", "ct"], ["up"], strides=[2, 2], name="deconv"),
        helper.make_node("Resize", ["b1", "", "scales"], ["rs"], mode="linear", name="resize"),
        helper.make_node("Concat", ["rs", "up"], ["cat"], axis=1, name="concat"),
        helper.make_node("Conv", ["cat", "c3"], ["d"], name="conv3"),
        helper.make_node("Relu", ["d"], ["d1"], name="relu3"),
        helper.make_node("Conv", ["d1", "hd"], ["e"], name="head"),
        helper.make_node("Sigmoid", ["e"], ["prob"], name="prob"),
    ]
    graph = helper.make_graph(nodes, "det_head", [helper.make_tensor_value_info("x", f32, [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("prob", f32, [1, 2, 32, 32])], inits)
    return _finish(graph, "a detector head: ConvTranspose and Resize upsampling, concatenated")


def make_mlp_batch(rng):
    return make_mlp(rng, sizes=(784, 1024, 1024, 10), batch=8, name="mlp_batch",
                    doc="784-1024-1024-10 MLP over a batch of 8")


def make_encoder(rng, batch=4, seq=32, hidden=512, heads=8, ffn=2048):
    f32 = TensorProto.FLOAT
    head = hidden // heads
    g = _Nodes(rng)
    inits, nodes, const, node, linear = g.inits, g.nodes, g.const, g.node, g.linear

    def layer_norm(x, name):
        g = const(f"{name}.weight", (1.0 + 0.1 * rng.standard_normal(hidden)).astype(np.float32))
        b = const(f"{name}.bias", (0.1 * rng.standard_normal(hidden)).astype(np.float32))
        return node("LayerNormalization", [x, g, b], name, axis=-1, epsilon=1e-5)

    split_shape = const("split_shape", np.array([batch, seq, heads, head], np.int64))
    merge_shape = const("merge_shape", np.array([batch, seq, hidden], np.int64))
    h = layer_norm("x", "ln1")
    q, k, v = (linear(h, n, hidden, hidden) for n in ("q", "k", "v"))
    qh = node("Transpose", [node("Reshape", [q, split_shape], "q.split")], "q.heads", perm=[0, 2, 1, 3])
    kh = node("Transpose", [node("Reshape", [k, split_shape], "k.split")], "k.heads", perm=[0, 2, 3, 1])
    vh = node("Transpose", [node("Reshape", [v, split_shape], "v.split")], "v.heads", perm=[0, 2, 1, 3])
    scale = const("scale", np.array(1.0 / np.sqrt(head), np.float32))
    scores = node("Mul", [node("MatMul", [qh, kh], "scores.matmul"), scale], "scores")
    probs = node("Softmax", [scores], "probs", axis=-1)
    ctx = node("Transpose", [node("MatMul", [probs, vh], "context.heads")], "context.t", perm=[0, 2, 1, 3])
    ctx = node("Reshape", [ctx, merge_shape], "context")
    attn = node("Add", ["x", linear(ctx, "out", hidden, hidden)], "residual1")
    h2 = layer_norm(attn, "ln2")
    up = linear(h2, "ffn.up", hidden, ffn)
    # GELU with erf: 0.5 * x * (1 + erf(x / sqrt(2))).
    inv_sqrt2 = const("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
    one = const("one", np.array(1.0, np.float32))
    half = const("half", np.array(0.5, np.float32))
    erf = node("Erf", [node("Mul", [up, inv_sqrt2], "gelu.scaled")], "gelu.erf")
    gelu = node("Mul", [node("Mul", [up, half], "gelu.half"), node("Add", [erf, one], "gelu.one")],
                "gelu")
    down = linear(gelu, "ffn.down", ffn, hidden)
    nodes.append(helper.make_node("Add", [attn, down], ["y"], name="residual2"))
    graph = helper.make_graph(nodes, "encoder", [helper.make_tensor_value_info("x", f32, [batch, seq, hidden])],
                              [helper.make_tensor_value_info("y", f32, [batch, seq, hidden])], inits)
    return _finish(graph, "a pre-norm transformer encoder block, hidden 512, 8 heads")


def make_resnet18(rng, batch=2, classes=1000):
    f32 = TensorProto.FLOAT
    inits, nodes = [], []

    def conv_bn(x, name, cin, cout, k, stride, relu):
        w = f"{name}.weight"
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32), w))
        nodes.append(helper.make_node("Conv", [x, w], [f"{name}.conv"], name=f"{name}.conv",
                                      kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[k // 2] * 4))
        bn = [f"{name}.bn.{p}" for p in ("scale", "bias", "mean", "var")]
        inits.append(numpy_helper.from_array((1.0 + 0.1 * rng.standard_normal(cout)).astype(np.float32), bn[0]))
        inits.append(numpy_helper.from_array((0.1 * rng.standard_normal(cout)).astype(np.float32), bn[1]))
        inits.append(numpy_helper.from_array((0.1 * rng.standard_normal(cout)).astype(np.float32), bn[2]))
        inits.append(numpy_helper.from_array(rng.uniform(0.5, 1.5, cout).astype(np.float32), bn[3]))
        nodes.append(helper.make_node("BatchNormalization", [f"{name}.conv"] + bn, [f"{name}.bn"],
                                      name=f"{name}.bn", epsilon=1e-5))
        if not relu:
            return f"{name}.bn"
        nodes.append(helper.make_node("Relu", [f"{name}.bn"], [f"{name}.relu"], name=f"{name}.relu"))
        return f"{name}.relu"

    cur = conv_bn("x", "stem", 3, 64, 7, 2, True)
    nodes.append(helper.make_node("MaxPool", [cur], ["pool"], name="pool", kernel_shape=[3, 3],
                                  strides=[2, 2], pads=[1, 1, 1, 1]))
    cur, cin = "pool", 64
    for stage, cout in enumerate((64, 128, 256, 512)):
        for block in range(2):
            name = f"layer{stage + 1}.{block}"
            stride = 2 if stage > 0 and block == 0 else 1
            h = conv_bn(cur, f"{name}.conv1", cin, cout, 3, stride, True)
            h = conv_bn(h, f"{name}.conv2", cout, cout, 3, 1, False)
            skip = cur
            if stride != 1 or cin != cout:
                skip = conv_bn(cur, f"{name}.down", cin, cout, 1, stride, False)
            nodes.append(helper.make_node("Add", [h, skip], [f"{name}.add"], name=f"{name}.add"))
            nodes.append(helper.make_node("Relu", [f"{name}.add"], [f"{name}.out"], name=f"{name}.out"))
            cur, cin = f"{name}.out", cout
    nodes.append(helper.make_node("GlobalAveragePool", [cur], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1))
    inits.append(numpy_helper.from_array(_weight(rng, (classes, 512), 512), "fc.weight"))
    inits.append(numpy_helper.from_array(_weight(rng, (classes,), 512), "fc.bias"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                                  transB=1))
    graph = helper.make_graph(nodes, "resnet18", [helper.make_tensor_value_info("x", f32, [batch, 3, 224, 224])],
                              [helper.make_tensor_value_info("logits", f32, [batch, classes])], inits)
    return _finish(graph, "ResNet-18 with random weights")


def make_long_rows(rng, rows=4, width=2048, name="long_rows"):
    """LayerNormalization then Softmax over rows of `width` (2048): row
    reductions a GPU warp shares."""
    f32 = TensorProto.FLOAT
    inits = [numpy_helper.from_array(rng.uniform(0.5, 1.5, width).astype(np.float32), "scale"),
             numpy_helper.from_array(rng.standard_normal(width).astype(np.float32) * 0.1, "bias")]
    nodes = [helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["n"], name="norm",
                              axis=-1, epsilon=1e-5),
             helper.make_node("Softmax", ["n"], ["y"], name="softmax", axis=-1)]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", f32, [rows, width])],
                              [helper.make_tensor_value_info("y", f32, [rows, width])], inits)
    return _finish(graph, f"LayerNormalization and Softmax over rows of {width}")


def make_odd_rows(rng):
    """Rows of 1000 (31 x 32 + 8): a warp's lanes share 992 elements and
    the first 8 lanes take one more each."""
    return make_long_rows(rng, rows=4, width=1000, name="odd_rows")


def make_gelu_mlp(rng, batch=16, sizes=(128, 512, 128)):
    f32 = TensorProto.FLOAT
    g = _Nodes(rng)
    inits, nodes, const, node, linear = g.inits, g.nodes, g.const, g.node, g.linear
    up = linear("x", "up", sizes[0], sizes[1])
    sqrt2 = const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    one = const("one", np.array(1.0, np.float32))
    half = const("half", np.array(0.5, np.float32))
    erf = node("Erf", [node("Div", [up, sqrt2], "gelu.div")], "gelu.erf")
    gelu = node("Mul", [node("Mul", [up, node("Add", [erf, one], "gelu.add")], "gelu.mul"),
                        half], "gelu")
    y = linear(gelu, "y", sizes[1], sizes[2])
    graph = helper.make_graph(
        nodes, "gelu_mlp", [helper.make_tensor_value_info("x", f32, [batch, sizes[0]])],
        [helper.make_tensor_value_info(y, f32, [batch, sizes[2]])], inits)
    return _finish(graph, "Linear -> GELU (erf, as PyTorch exports it) -> Linear")


def make_silu_conv(rng, channels=(16, 32, 32), size=32):
    f32 = TensorProto.FLOAT
    inits, nodes = [], []

    def conv_silu(x, name, c_in, c_out, k):
        w, b = f"{name}.weight", f"{name}.bias"
        inits.append(numpy_helper.from_array(_weight(rng, (c_out, c_in, k, k), c_in * k * k), w))
        inits.append(numpy_helper.from_array(_weight(rng, (c_out,), c_in * k * k), b))
        pad = k // 2
        nodes.append(helper.make_node("Conv", [x, w, b], [name], name=name,
                                      pads=[pad, pad, pad, pad]))
        nodes.append(helper.make_node("Sigmoid", [name], [f"{name}.gate"], name=f"{name}.gate"))
        nodes.append(helper.make_node("Mul", [name, f"{name}.gate"], [f"{name}.silu"],
                                      name=f"{name}.silu"))
        return f"{name}.silu"

    h = conv_silu("x", "conv0", channels[0], channels[1], 3)
    y = conv_silu(h, "conv1", channels[1], channels[2], 1)
    graph = helper.make_graph(
        nodes, "silu_conv",
        [helper.make_tensor_value_info("x", f32, [1, channels[0], size, size])],
        [helper.make_tensor_value_info(y, f32, [1, channels[2], size, size])], inits)
    return _finish(graph, "3x3 and 1x1 convolutions, each with a SiLU")


def make_padded_in_place(rng):
    f32 = TensorProto.FLOAT
    inits, nodes = [], []

    def conv(x, name, c_in, c_out, k, pads=(0, 0, 0, 0), stride=1, group=1):
        w, b = f"{name}.weight", f"{name}.bias"
        fan_in = c_in // group * k * k
        inits.append(numpy_helper.from_array(
            _weight(rng, (c_out, c_in // group, k, k), fan_in), w))
        inits.append(numpy_helper.from_array(_weight(rng, (c_out,), fan_in), b))
        nodes.append(helper.make_node("Conv", [x, w, b], [name], name=name, kernel_shape=[k, k],
                                      pads=list(pads), strides=[stride, stride], group=group))
        return name

    def clip(x, name):
        lo, hi = f"{name}.lo", f"{name}.hi"
        inits.append(numpy_helper.from_array(np.array(0.0, np.float32), lo))
        inits.append(numpy_helper.from_array(np.array(6.0, np.float32), hi))
        nodes.append(helper.make_node("Clip", [x, lo, hi], [f"{name}.out"], name=name))
        return f"{name}.out"

    h = clip(conv("x", "expand", 16, 96, 1), "expand.clip")
    h = clip(conv(h, "dw", 96, 96, 3, pads=(1, 1, 1, 1), group=96), "dw.clip")
    h = conv(h, "project", 96, 16, 1)
    nodes.append(helper.make_node("Add", [h, "x"], ["residual"], name="residual"))
    nodes.append(helper.make_node("Relu", ["residual"], ["residual.relu"], name="residual.relu"))
    h = conv("residual.relu", "wide", 16, 24, 3, pads=(1, 2, 1, 2))
    nodes.append(helper.make_node("MaxPool", [h], ["pool"], name="pool", kernel_shape=[3, 3],
                                  pads=[1, 1, 1, 1], strides=[2, 2]))
    h = conv("pool", "dw2", 24, 24, 3, pads=(1, 1, 1, 1), stride=2, group=24)
    nodes.append(helper.make_node("Relu", [h], ["dw2.relu"], name="dw2.relu"))
    y = conv("dw2.relu", "head", 24, 20, 3, pads=(1, 1, 1, 1))
    graph = helper.make_graph(
        nodes, "padded_in_place",
        [helper.make_tensor_value_info("x", f32, [2, 16, 20, 28])],
        [helper.make_tensor_value_info(y, f32, [2, 20, 5, 8])], inits)
    return _finish(graph, "padded convolutions and pooling after the ops that compute their inputs")


def make_input(name, rng):
    """The input each model is tested and benchmarked with."""
    if name == "mlp":
        return {"x": rng.standard_normal((1, 784)).astype(np.float32)}
    if name == "cnn":
        # Image-like: non-negative, so the first Relu is not trivially half-zero.
        return {"x": rng.uniform(0.0, 1.0, (1, 1, 28, 28)).astype(np.float32)}
    if name == "gemm_large":
        return {"x": rng.standard_normal((512, 1024)).astype(np.float32)}
    if name == "gemm_f16":
        return {"x": rng.standard_normal((512, 1024)).astype(np.float16)}
    if name == "dwconv":
        return {"x": rng.standard_normal((2, 32, 112, 112)).astype(np.float32)}
    if name == "rnn_if":
        # flag selects the Sigmoid branch at run time; the else branch is
        # compiled too.
        return {"x": rng.standard_normal((16, 1, 20)).astype(np.float32),
                "h0": rng.standard_normal((1, 1, 32)).astype(np.float32) * 0.5,
                "c0": rng.standard_normal((1, 1, 32)).astype(np.float32) * 0.5,
                "flag": np.array(True)}
    if name == "lstm_long":
        return {"x": rng.standard_normal((400, 1, 64)).astype(np.float32)}
    if name == "det_head":
        return {"x": rng.uniform(0.0, 1.0, (1, 3, 64, 64)).astype(np.float32)}
    if name == "mlp_batch":
        return {"x": rng.standard_normal((8, 784)).astype(np.float32)}
    if name == "encoder":
        return {"x": rng.standard_normal((4, 32, 512)).astype(np.float32)}
    if name == "resnet18":
        return {"x": rng.uniform(0.0, 1.0, (2, 3, 224, 224)).astype(np.float32)}
    if name == "long_rows":
        return {"x": rng.standard_normal((4, 2048)).astype(np.float32) * 3.0}
    if name == "odd_rows":
        return {"x": rng.standard_normal((4, 1000)).astype(np.float32) * 3.0}
    if name == "bottleneck":
        return {"x": rng.uniform(0.0, 1.0, (2, 128, 28, 28)).astype(np.float32)}
    if name == "gelu_mlp":
        return {"x": rng.standard_normal((16, 128)).astype(np.float32)}
    if name == "silu_conv":
        return {"x": rng.standard_normal((1, 16, 32, 32)).astype(np.float32)}
    if name == "padded_in_place":
        return {"x": rng.standard_normal((2, 16, 20, 28)).astype(np.float32)}
    raise ValueError(f"unknown model {name!r}")


BUILDERS = {"mlp": make_mlp, "cnn": make_cnn, "gemm_large": make_gemm_large,
            "gemm_f16": make_gemm_f16,
            "dwconv": make_dwconv, "rnn_if": make_rnn_if, "det_head": make_det_head,
            "lstm_long": make_lstm_long, "mlp_batch": make_mlp_batch, "encoder": make_encoder,
            "resnet18": make_resnet18, "long_rows": make_long_rows, "odd_rows": make_odd_rows,
            "bottleneck": make_bottleneck, "gelu_mlp": make_gelu_mlp,
            "silu_conv": make_silu_conv, "padded_in_place": make_padded_in_place}


def reference_outputs(model_path, feeds):
    """Runs onnxruntime on the CPU provider; the reference Weft is held to."""
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return names, sess.run(names, feeds)


def write_test_data(model, model_path, feeds, data_dir):
    os.makedirs(data_dir, exist_ok=True)
    # Inputs are numbered in graph order, as the ONNX backend tests do.
    for i, inp in enumerate(model.graph.input):
        tensor = numpy_helper.from_array(feeds[inp.name], inp.name)
        with open(os.path.join(data_dir, f"input_{i}.pb"), "wb") as f:
            f.write(tensor.SerializeToString())
    names, outs = reference_outputs(model_path, feeds)
    for i, (name, value) in enumerate(zip(names, outs)):
        tensor = numpy_helper.from_array(np.asarray(value), name)
        with open(os.path.join(data_dir, f"output_{i}.pb"), "wb") as f:
            f.write(tensor.SerializeToString())


def write_model(outdir, name, seed=0):
    """Writes OUTDIR/<name>.onnx and its data set; returns (model, data) paths."""
    # Seeds derive from the model's fixed position in MODEL_NAMES (not from the
    # subset asked for) so `--models cnn` writes the same cnn as a full run and
    # adding a model later leaves the others' bytes unchanged.
    idx = MODEL_NAMES.index(name)
    weight_rng = np.random.default_rng([seed, idx, 0])
    input_rng = np.random.default_rng([seed, idx, 1])
    model = BUILDERS[name](weight_rng)
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, f"{name}.onnx")
    onnx.save(model, path)
    data_dir = os.path.join(outdir, f"{name}_data", "test_data_set_0")
    write_test_data(model, path, make_input(name, input_rng), data_dir)
    return path, data_dir


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write Weft's test models (opset 17) and onnxruntime "
                    "reference data sets into OUTDIR.")
    parser.add_argument("outdir", help="directory to write <model>.onnx and "
                        "<model>_data/test_data_set_0/ into (created if missing)")
    parser.add_argument("--seed", type=int, default=0,
                        help="base seed for weights and inputs (default: 0)")
    parser.add_argument("--models", default=",".join(MODEL_NAMES),
                        help="comma-separated subset of: %s (default: all)"
                        % ", ".join(MODEL_NAMES))
    args = parser.parse_args(argv)

    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        parser.error("unknown model(s): %s" % ", ".join(unknown))
    for name in names:
        path, data_dir = write_model(args.outdir, name, args.seed)
        print(f"wrote {path} and {data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
