#!/usr/bin/env python3
"""Checks QDQ-quantized models (QuantizeLinear/DequantizeLinear around f32
operators, as onnxruntime's quantization tool writes them) against
onnxruntime running the same graph literally (graph optimizations off, so
each QuantizeLinear rounds in f32 as ONNX specifies).

Models: a QDQ convolution block (per-channel int8 filters, an int32 bias,
uint8 activations, Relu, a 1x1 convolution, a residual Add), a QDQ MatMul
with per-column int8 weights and a bias, MatMuls whose int8, INT4 or
UINT4 weights are quantized in blocks of 16 rows (opset 21), convolutions
of 24, 12 and 10 output channels, Gemms by int8 weights (transposed or
not, alpha, beta, a bias), depthwise convolutions, int8 activations, and
onnxruntime's com.microsoft QLinearAdd/QLinearMul/QLinearGlobalAveragePool/
QGemm/QLinearSigmoid/QLinearLeakyRelu/QLinearConcat/QLinearAveragePool. A different order of f32
additions may move a value across a rounding boundary, which changes one
quantization step and is carried on from there, so outputs may differ by
up to 2 steps of their scale (onnxruntime's own optimized graph differs
from its literal one by as much); each line prints how many elements
differ at all. Prints one PASS/FAIL line per model and target; exits
non-zero on any failure.
"""

import argparse
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import check_models  # its run(): a command's status and output, never raising

F32 = TensorProto.FLOAT


class Builder:
    """Nodes and initializers of one QDQ graph."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, tag):
        self.n += 1
        return f"{tag}{self.n}"

    def const(self, value, tag):
        name = self.name(tag)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def qdq(self, x, scale, zp=128, dtype=np.uint8):
        """QuantizeLinear then DequantizeLinear of activation `x`."""
        s = self.const(np.array(scale, np.float32), "s")
        z = self.const(np.array(zp, dtype), "z")
        q, d = self.name("q"), self.name("dq")
        self.nodes += [helper.make_node("QuantizeLinear", [x, s, z], [q]),
                       helper.make_node("DequantizeLinear", [q, s, z], [d])]
        return d

    def weight(self, w, axis, block=0):
        """DequantizeLinear of `w` quantized to int8 along `axis` (per
        channel, or in blocks of `block` along it)."""
        if block:
            shape = list(w.shape)
            groups = w.reshape(shape[:axis] + [shape[axis] // block, block] + shape[axis + 1:])
            scale = np.abs(groups).max(axis=axis + 1) / 127 + 1e-6
            rep = np.repeat(scale, block, axis=axis)
        else:
            red = tuple(i for i in range(w.ndim) if i != axis)
            scale = np.abs(w).max(axis=red) / 127 + 1e-6
            rep = scale.reshape([-1 if i == axis else 1 for i in range(w.ndim)])
        q = np.clip(np.round(w / rep), -127, 127).astype(np.int8)
        qn = self.const(q, "wq")
        sn = self.const(scale.astype(np.float32), "ws")
        zn = self.const(np.zeros(scale.shape, np.int8), "wz")
        d = self.name("w")
        attrs = {"axis": axis}
        if block:
            attrs["block_size"] = block
        self.nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [d], **attrs))
        return d, scale

    def tensor_weight(self, wf):
        """DequantizeLinear of `wf` quantized to int8 with one scale (no
        zero point)."""
        scale = np.float32(np.abs(wf).max() / 127)
        wq = np.clip(np.round(wf / scale), -127, 127).astype(np.int8)
        d = self.name("w")
        self.nodes.append(helper.make_node("DequantizeLinear", [self.const(wq, "wq"),
                                                               self.const(np.array(scale), "ws")],
                                           [d]))
        return d

    def scalar(self, value, tag):
        """An initializer holding `value` (a numpy scalar or array)."""
        return self.const(np.asarray(value), tag)

    def contrib(self, op, ins, **attrs):
        """A node of onnxruntime's com.microsoft domain."""
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], domain="com.microsoft", **attrs))
        return out

    def bias(self, b, scale):
        q = np.round(b / scale).astype(np.int32)
        qn = self.const(q, "bq")
        sn = self.const(scale.astype(np.float32), "bs")
        d = self.name("b")
        self.nodes.append(helper.make_node("DequantizeLinear", [qn, sn], [d], axis=0))
        return d

    def op(self, op, ins, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    def model(self, x_shape, out, out_shape, opset):
        self.nodes[-1].output[0] = "y"
        g = helper.make_graph(self.nodes, "qdq", [helper.make_tensor_value_info("x", F32, x_shape)],
                              [helper.make_tensor_value_info("y", F32, out_shape)], self.inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def conv_block(rng):
    b = Builder(rng)
    sx, sa = 0.02, 0.05
    x = b.qdq("x", sx)
    w, ws = b.weight(rng.standard_normal((16, 8, 3, 3)).astype(np.float32) * 0.2, 0)
    c = b.op("Conv", [x, w, b.bias(rng.standard_normal(16) * 0.1, sx * ws)], pads=[1, 1, 1, 1])
    c = b.qdq(b.op("Relu", [b.qdq(c, sa)]), sa)
    w2, ws2 = b.weight(rng.standard_normal((8, 16, 1, 1)).astype(np.float32) * 0.3, 0)
    c2 = b.qdq(b.op("Conv", [c, w2, b.bias(rng.standard_normal(8) * 0.1, sa * ws2)]), 0.04)
    out = b.qdq(b.op("Add", [c2, x]), 0.04)
    return b.model([1, 8, 20, 20], out, [1, 8, 20, 20], 13), 0.04


def int8_convs(rng):
    """Convolutions that take the 8-bit integer kernels where the CPU has
    them: input channels in fours, output channels in blocks of 16, uint8
    activations with a zero point of 128 or 0, per-channel or per-tensor
    int8 filters; padded, strided, dilated, 1x1 and 3x3, a width (13) that
    leaves a partial register tile, one without a bias; 3 input channels
    (an image's: completed to 4 by zero weights)."""
    b = Builder(rng)
    x = b.qdq("x", 0.02)
    w, ws = b.weight(rng.standard_normal((32, 3, 3, 3)).astype(np.float32) * 0.3, 0)
    c = b.op("Conv", [x, w, b.bias(rng.standard_normal(32) * 0.1, 0.02 * ws)], pads=[1, 1, 1, 1])
    c = b.qdq(b.op("Relu", [c]), 0.05, zp=0)
    w, ws = b.weight(rng.standard_normal((48, 32, 3, 3)).astype(np.float32) * 0.05, 0)
    c = b.op("Conv", [c, w, b.bias(rng.standard_normal(48) * 0.1, 0.05 * ws)],
             pads=[1, 1, 1, 1], strides=[2, 2])
    c = b.qdq(c, 0.04)
    # A per-tensor filter scale, dilation 2, no padding, no bias.
    d = b.tensor_weight(rng.standard_normal((16, 48, 3, 3)).astype(np.float32) * 0.03)
    c = b.qdq(b.op("Conv", [c, d], dilations=[2, 2]), 0.05)
    w, ws = b.weight(rng.standard_normal((64, 16, 1, 1)).astype(np.float32) * 0.2, 0)
    c = b.op("Conv", [c, w, b.bias(rng.standard_normal(64) * 0.1, 0.05 * ws)])
    b.qdq(c, 0.05)
    return b.model([1, 3, 25, 26], None, [1, 64, 9, 9], 13), 0.05


def int8_narrow(rng):
    """Convolutions whose output channels are no multiple of 16: 24 (three
    blocks of 8, 256-bit dot products), 12 (three of 4, 128-bit) and 10
    (completed to 12 by zero filters, the extra sums sliced off)."""
    b = Builder(rng)
    x = b.qdq("x", 0.02)
    w, ws = b.weight(rng.standard_normal((24, 8, 3, 3)).astype(np.float32) * 0.2, 0)
    c = b.op("Conv", [x, w, b.bias(rng.standard_normal(24) * 0.1, 0.02 * ws)], pads=[1, 1, 1, 1])
    c = b.qdq(c, 0.05)
    w, ws = b.weight(rng.standard_normal((12, 24, 1, 1)).astype(np.float32) * 0.2, 0)
    c = b.qdq(b.op("Relu", [b.op("Conv", [c, w])]), 0.05, zp=0)
    w, ws = b.weight(rng.standard_normal((10, 12, 3, 3)).astype(np.float32) * 0.2, 0)
    c = b.op("Conv", [c, w, b.bias(rng.standard_normal(10) * 0.1, 0.05 * ws)],
             pads=[1, 1, 1, 1])
    b.qdq(c, 0.05)
    return b.model([1, 8, 14, 13], None, [1, 10, 14, 13], 13), 0.05


def depthwise(rng):
    """Depthwise convolutions on the integer depthwise kernels: 24 channels
    (16 + a tail of 8), 3x3 padded by the zero point 128; stride 2; a 5x5
    window with dilation 2 and a zero point of 0; a per-tensor filter
    scale; one without a bias."""
    b = Builder(rng)
    x = b.qdq("x", 0.02)
    w, ws = b.weight(rng.standard_normal((24, 1, 3, 3)).astype(np.float32) * 0.3, 0)
    c = b.op("Conv", [x, w, b.bias(rng.standard_normal(24) * 0.1, 0.02 * ws)],
             pads=[1, 1, 1, 1], group=24)
    c = b.qdq(b.op("Relu", [b.qdq(c, 0.04)]), 0.04, zp=0)
    w, ws = b.weight(rng.standard_normal((24, 1, 3, 3)).astype(np.float32) * 0.3, 0)
    c = b.op("Conv", [c, w, b.bias(rng.standard_normal(24) * 0.1, 0.04 * ws)],
             pads=[1, 1, 1, 1], strides=[2, 2], group=24)
    c = b.qdq(c, 0.05)
    d = b.tensor_weight(rng.standard_normal((24, 1, 5, 5)).astype(np.float32) * 0.1)
    c = b.op("Conv", [c, d], pads=[4, 4, 4, 4], dilations=[2, 2], group=24)
    b.qdq(c, 0.05)
    return b.model([1, 24, 17, 18], None, [1, 24, 9, 9], 13), 0.05


def s8(rng):
    """int8 activations (onnxruntime's default S8S8 form), on the integer
    kernels as uint8 shifted by 128: zero points 0, -10 and 3; a 3x3 and a
    1x1 convolution, a depthwise one, a Gemm and a MatMul."""
    b = Builder(rng)
    x = b.qdq("x", 0.02, zp=0, dtype=np.int8)
    w, ws = b.weight(rng.standard_normal((16, 8, 3, 3)).astype(np.float32) * 0.2, 0)
    c = b.op("Conv", [x, w, b.bias(rng.standard_normal(16) * 0.1, 0.02 * ws)], pads=[1, 1, 1, 1])
    c = b.qdq(b.op("Relu", [b.qdq(c, 0.05, zp=-10, dtype=np.int8)]), 0.05, zp=-10, dtype=np.int8)
    w, ws = b.weight(rng.standard_normal((16, 1, 3, 3)).astype(np.float32) * 0.3, 0)
    c = b.op("Conv", [c, w, b.bias(rng.standard_normal(16) * 0.1, 0.05 * ws)],
             pads=[1, 1, 1, 1], strides=[2, 2], group=16)
    c = b.qdq(c, 0.05, zp=3, dtype=np.int8)
    w, ws = b.weight(rng.standard_normal((24, 16, 1, 1)).astype(np.float32) * 0.2, 0)
    c = b.qdq(b.op("Conv", [c, w]), 0.05, zp=0, dtype=np.int8)
    f = b.qdq(b.op("Flatten", [c]), 0.05, zp=0, dtype=np.int8)
    w, _ = b.weight(rng.standard_normal((20, 24 * 25)).astype(np.float32) * 0.05, 0)
    g = b.qdq(b.op("Gemm", [f, w], transB=1), 0.05, zp=-3, dtype=np.int8)
    w, _ = b.weight(rng.standard_normal((20, 16)).astype(np.float32) * 0.2, 1)
    b.qdq(b.op("MatMul", [g, w]), 0.05, zp=0, dtype=np.int8)
    return b.model([1, 8, 10, 10], None, [1, 16], 13), 0.05


def qoperator(rng):
    """onnxruntime's com.microsoft operators of its QOperator format,
    which Weft rewrites into DequantizeLinear -> op -> QuantizeLinear:
    QLinearMul, QLinearAdd, QLinearGlobalAveragePool, a QGemm with transB,
    alpha, an int32 bias and a uint8 result, and one with per-column scales
    and an f32 result."""
    b = Builder(rng)

    c, ms = b.scalar, b.contrib

    u8 = np.uint8
    q0 = b.op("QuantizeLinear", ["x", c(np.float32(0.02), "s"), c(u8(128), "z")])
    qa = ms("QLinearMul", [q0, c(np.float32(0.02), "s"), c(u8(128), "z"), q0,
                           c(np.float32(0.02), "s"), c(u8(128), "z"),
                           c(np.float32(0.01), "s"), c(u8(100), "z")])
    qb = ms("QLinearAdd", [qa, c(np.float32(0.01), "s"), c(u8(100), "z"), q0,
                           c(np.float32(0.02), "s"), c(u8(128), "z"),
                           c(np.float32(0.03), "s"), c(u8(120), "z")])
    qg = ms("QLinearGlobalAveragePool", [qb, c(np.float32(0.03), "s"), c(u8(120), "z"),
                                         c(np.float32(0.02), "s"), c(u8(110), "z")])
    f = b.op("Flatten", [qg])
    w1 = rng.integers(-100, 100, (6, 8)).astype(np.int8)
    s1 = (rng.uniform(0.5, 1.5, 6) * 0.01).astype(np.float32)
    bias = rng.integers(-500, 500, 6).astype(np.int32)
    qy = ms("QGemm", [f, c(np.float32(0.02), "s"), c(u8(110), "z"), c(w1, "w"), c(s1, "s"),
                      c(np.zeros(6, np.int8), "z"), c(bias, "b"), c(np.float32(0.05), "s"),
                      c(u8(128), "z")], transB=1, alpha=0.5)
    w2 = rng.integers(-100, 100, (6, 4)).astype(np.int8)
    s2 = (rng.uniform(0.5, 1.5, 4) * 0.01).astype(np.float32)
    ms("QGemm", [qy, c(np.float32(0.05), "s"), c(u8(128), "z"), c(w2, "w"), c(s2, "s"),
                 c(np.zeros(4, np.int8), "z")])
    m = b.model([2, 8, 6, 6], None, [2, 4], 13)
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return m, 0.05


def qoperator_more(rng):
    """More com.microsoft operators: QLinearSigmoid, QLinearLeakyRelu,
    QLinearConcat of the two, a padded QLinearAveragePool."""
    b = Builder(rng)

    c, ms = b.scalar, b.contrib

    u8, f32 = np.uint8, np.float32
    q0 = b.op("QuantizeLinear", ["x", c(f32(0.02), "s"), c(u8(128), "z")])
    sg = ms("QLinearSigmoid", [q0, c(f32(0.02), "s"), c(u8(128), "z"), c(f32(0.004), "s"),
                               c(u8(0), "z")])
    lr = ms("QLinearLeakyRelu", [q0, c(f32(0.02), "s"), c(u8(128), "z"), c(f32(0.01), "s"),
                                 c(u8(40), "z")], alpha=0.2)
    cat = ms("QLinearConcat", [c(f32(0.01), "s"), c(u8(30), "z"), sg, c(f32(0.004), "s"),
                               c(u8(0), "z"), lr, c(f32(0.01), "s"), c(u8(40), "z")], axis=1)
    pool = ms("QLinearAveragePool", [cat, c(f32(0.01), "s"), c(u8(30), "z"),
                                     c(f32(0.008), "s"), c(u8(20), "z")],
              kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    b.op("DequantizeLinear", [pool, c(f32(0.008), "s"), c(u8(20), "z")])
    m = b.model([1, 4, 6, 6], None, [1, 8, 3, 3], 13)
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return m, 0.008


def gemm(rng):
    """Gemms by int8 weights, as a classifier's: B [N, K] with transB
    (per-row scales), alpha, beta and a bias of N; then B [K, N] with
    per-column scales and a bias of [1, N]."""
    b = Builder(rng)
    x = b.qdq("x", 0.03)
    w, _ = b.weight(rng.standard_normal((20, 64)).astype(np.float32) * 0.2, 0)
    bias = b.const((rng.standard_normal(20) * 0.1).astype(np.float32), "bias")
    g = b.qdq(b.op("Gemm", [x, w, bias], transB=1, alpha=0.5, beta=2.0), 0.05)
    w, _ = b.weight(rng.standard_normal((20, 24)).astype(np.float32) * 0.2, 1)
    bias = b.const((rng.standard_normal((1, 24)) * 0.1).astype(np.float32), "bias")
    b.qdq(b.op("Gemm", [g, w, bias]), 0.05)
    return b.model([6, 64], None, [6, 24], 13), 0.05


def matmul(rng):
    b = Builder(rng)
    x = b.qdq("x", 0.03)
    w, ws = b.weight(rng.standard_normal((64, 48)).astype(np.float32) * 0.2, 1)
    m = b.op("MatMul", [x, w])
    bias = b.const((rng.standard_normal(48) * 0.1).astype(np.float32), "bias")
    b.qdq(b.op("Add", [m, bias]), 0.06)
    return b.model([6, 64], None, [6, 48], 13), 0.06


def blocked(rng):
    b = Builder(rng)
    x = b.qdq("x", 0.03)
    w, _ = b.weight(rng.standard_normal((64, 32)).astype(np.float32) * 0.2, 0, block=16)
    b.qdq(b.op("MatMul", [x, w]), 0.05)
    return b.model([5, 64], None, [5, 32], 21), 0.05


def int4_blocked(rng, signed=True):
    """A MatMul by INT4 (or UINT4, zero point 8) weights in blocks of 16
    rows, as 4-bit weight-only quantization writes them (opset 21)."""
    b = Builder(rng)
    x = b.qdq("x", 0.03)
    w = rng.standard_normal((64, 24)).astype(np.float32) * 0.2
    scale = (np.abs(w.reshape(4, 16, 24)).max(axis=1) / 7 + 1e-6).astype(np.float32)
    zero = 0 if signed else 8
    q = np.clip(np.round(w / np.repeat(scale, 16, axis=0)) + zero, -8 if signed else 0,
                7 if signed else 15).astype(np.int64)
    t = TensorProto.INT4 if signed else TensorProto.UINT4
    b.inits += [helper.make_tensor("w4", t, [64, 24], q.flatten().tolist()),
                numpy_helper.from_array(scale, "w4s"),
                helper.make_tensor("w4z", t, [4, 24], [zero] * 96)]
    b.nodes.append(helper.make_node("DequantizeLinear", ["w4", "w4s", "w4z"], ["w4f"], axis=0,
                                    block_size=16))
    b.qdq(b.op("MatMul", [x, "w4f"]), 0.05)
    return b.model([5, 64], None, [5, 24], 21), 0.05


MODELS = {"qdq_conv_block": conv_block, "qdq_int8_convs": int8_convs, "qdq_matmul": matmul,
          "qdq_matmul_blocked": blocked,
          "qdq_matmul_int4": int4_blocked,
          "qdq_matmul_uint4": lambda rng: int4_blocked(rng, signed=False),
          "qdq_int8_narrow": int8_narrow, "qdq_gemm": gemm, "qdq_depthwise": depthwise,
          "qdq_s8": s8, "qop_contrib": qoperator, "qop_contrib_more": qoperator_more}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weftc", required=True)
    p.add_argument("--weft-run", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--target", action="append", default=None,
                   help="weftc --target (repeatable; default cpu)")
    p.add_argument("--weftc-arg", action="append", default=[],
                   help="an extra weftc argument for every compile (repeatable)")
    p.add_argument("--only", action="append", default=None,
                   help="check only this model (repeatable)")
    args = p.parse_args()
    targets = args.target or ["cpu"]
    rng = np.random.default_rng(5)
    failed = 0
    for name, make in MODELS.items():
        model, out_scale = make(rng)
        if args.only and name not in args.only:
            continue
        d = os.path.join(args.workdir, name)
        data = os.path.join(d, "data")
        os.makedirs(data, exist_ok=True)
        path = os.path.join(d, "model.onnx")
        onnx.save(model, path)
        shape = [dim.dim_value for dim in model.graph.input[0].type.tensor_type.shape.dim]
        x = rng.uniform(-2, 2, shape).astype(np.float32)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        want = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(
            None, {"x": x})[0]
        onnx.save_tensor(numpy_helper.from_array(x, "x"), os.path.join(data, "input_0.pb"))
        onnx.save_tensor(numpy_helper.from_array(want, "y"), os.path.join(data, "output_0.pb"))
        for target in targets:
            lib = os.path.join(d, f"model_{target}.so")
            ok, log = check_models.run([args.weftc, path, "--emit=lib", "-o", lib,
                                        f"--target={target}"] + args.weftc_arg, 300)
            detail = ""
            if ok:
                # Within 2 output steps (plus f32 noise on them).
                ok, log = check_models.run([args.weft_run, lib, "--input-dir", data, "--compare",
                                            "--rtol", "0", "--atol", str(2 * out_scale + 1e-5),
                                            "--output-dir", os.path.join(d, "out_" + target)], 120)
            if ok:
                got = numpy_helper.to_array(onnx.load_tensor(
                    os.path.join(d, "out_" + target, "output_0.pb")))
                steps = np.abs(got - want) / out_scale
                detail = (f"{int((steps > 0.01).sum())} of {got.size} elements one or more steps "
                          f"apart, at most {steps.max():.0f}")
            else:
                detail = log.strip().splitlines()[-1] if log.strip() else "failed"
            print(f"{'PASS' if ok else 'FAIL'} {name} target={target}: {detail}")
            failed += not ok
    print(f"qdq: {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
