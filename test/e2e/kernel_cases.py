#!/usr/bin/env python3
"""Numerical end-to-end cases for the CPU kernels at awkward sizes.

Each case is a small single-op (or two- or three-op) f32 graph at opset 17:
MatMul and Gemm, NCHW Conv (direct, depthwise, grouped), the pools, and the
ResNet tail. The sizes straddle every condition the CPU code generator keys
its vectorized kernels on, so that both the vector path and the scalar
fallback of each run:

  * MatMul / Gemm: N a multiple of 16 (vector) or not (scalar); M and K odd,
    prime, 1, or larger than a tile.
  * direct Conv (channels-last): F a multiple of 16 or not; output widths
    below, at and above the 8-column register tile, with a remainder.
  * depthwise Conv: C = F = group a multiple of 16 or not.
  * pools and GlobalAveragePool after a conv (they run channels-last there)
    and on a graph input (NCHW).
  * convolutions large enough for the CUDA backend's blocks (`gpuconv_*`,
    run by kernels-cuda.test with --target=cuda-on-cpu): reductions split
    into groups, paddings fused, a reduction padded to whole steps,
    positions that are not a multiple of 4, strides, dilation, asymmetric
    pads, batch 2 with a residual, a grouped convolution, and output
    channels that are not a multiple of 4.

Inputs are standard normal and weights have std 1/sqrt(fan_in), all from a
generator seeded by the case name, so every run builds identical files.
onnxruntime computes the reference; the graph is compiled with
`weftc --emit=lib` and run with `weft-run --compare` at every requested
thread count, and the outputs are compared here too (the FAIL line gives the
largest error).

Prints `PASS <case> threads=<t>` or `FAIL <case> threads=<t>: <reason>` per
run (and `SKIP <case>: ...` for each case in KNOWN_FAILURES), then a summary
line, and exits non-zero on any failure.
"""

import argparse
import concurrent.futures
import os
import subprocess
import sys
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

F32 = TensorProto.FLOAT
OPSET = 17
IR_VERSION = 8  # what goes with opset 17; the libonnx weftc links knows it
RTOL = 1e-4
ATOL = 1e-4
COMPILE_TIMEOUT_S = 300
RUN_TIMEOUT_S = 120


# Cases that fail today, kept so that they can be re-enabled: by default they
# are skipped (one SKIP line each); --known-failures=only runs just them, and
# kernels.test expects that run to fail, so it tells when they are fixed. To
# re-enable a case, delete it here and add its PASS lines to kernels.test.
KNOWN_FAILURES = {
    # "case name": "why it fails" -- cases the compiler gets wrong today;
    # they print SKIP unless --known-failures=run|only. None at present.
}


# --------------------------------------------------------------------------
# Building cases
# --------------------------------------------------------------------------

class Case:
    """One graph under construction: inputs and initializers drawn from a
    generator seeded by the case name."""

    def __init__(self, name):
        self.name = name
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.nodes, self.inputs, self.inits, self.feeds = [], [], [], {}
        self.count = 0

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def input(self, shape, name=None):
        name = name or self.fresh("x")
        self.feeds[name] = self.rng.standard_normal(shape).astype(np.float32)
        self.inputs.append(helper.make_tensor_value_info(name, F32, list(shape)))
        return name

    def weight(self, shape, fan_in, name=None):
        name = name or self.fresh("w")
        value = (self.rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op, ins, **attrs):
        out = self.fresh("t")
        self.nodes.append(helper.make_node(op, list(ins), [out], **attrs))
        return out

    def finish(self, outs):
        outs = [outs] if isinstance(outs, str) else outs
        graph = helper.make_graph(self.nodes, self.name, self.inputs,
                                  [helper.make_tensor_value_info(o, F32, None) for o in outs],
                                  self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="weft-kernel-cases")
        model.ir_version = IR_VERSION
        # libonnx's checker wants every graph output's shape spelled out.
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        onnx.checker.check_model(model, full_check=True)
        return self.name, model, self.feeds


def conv(c, x, cin, f, k, stride=1, pads=0, dilation=1, group=1, bias=True):
    """Appends Conv(x) with F=f output channels and a k x k kernel; pads is an
    int (all sides) or ONNX's [top, left, bottom, right]."""
    pads = [pads] * 4 if isinstance(pads, int) else list(pads)
    fan_in = (cin // group) * k * k
    ins = [x, c.weight((f, cin // group, k, k), fan_in)]
    if bias:
        ins.append(c.weight((f,), fan_in))
    return c.node("Conv", ins, kernel_shape=[k, k], strides=[stride, stride], pads=pads,
                  dilations=[dilation, dilation], group=group)


def conv_case(name, n, cin, h, w, f, k, **kw):
    c = Case(name)
    return c.finish(conv(c, c.input((n, cin, h, w)), cin, f, k, **kw))


def matmul_case(name, m, k, n):
    c = Case(name)
    return c.finish(c.node("MatMul", [c.input((m, k)), c.weight((k, n), k)]))


def pool(c, x, op, k, stride, pads=0, **attrs):
    pads = [pads] * 4 if isinstance(pads, int) else list(pads)
    return c.node(op, [x], kernel_shape=[k, k], strides=[stride, stride], pads=pads, **attrs)


def conv_pool_case(name, cin, h, w, f, op, k, stride, pads=0, **attrs):
    """Conv 3x3 pad 1 then a pool: the pool consumes a channels-last tensor."""
    c = Case(name)
    y = conv(c, c.input((1, cin, h, w)), cin, f, 3, pads=1)
    return c.finish(pool(c, y, op, k, stride, pads, **attrs))


def pool_case(name, shape, op, k, stride, pads=0, **attrs):
    c = Case(name)
    return c.finish(pool(c, c.input(shape), op, k, stride, pads, **attrs))


def matmul_cases():
    # (M, K, N): N = 16, 32, 48, 80, 160 take the vector path, 17 and 33
    # compute 32 and 48 zero-padded columns and slice, 1 and 15 are one
    # tile as wide as N; M and K are 1, prime, or odd multiples past a tile.
    for m, k, n in [(1, 1, 1), (1, 7, 16), (7, 13, 32), (13, 64, 48), (31, 97, 80),
                    (64, 130, 33), (17, 256, 160), (3, 5, 17), (5, 3, 15), (2, 33, 64)]:
        yield matmul_case(f"matmul_{m}x{k}x{n}", m, k, n)

    c = Case("matmul_batched_2x9x40_w40x32")
    yield c.finish(c.node("MatMul", [c.input((2, 9, 40)), c.weight((40, 32), 40)]))
    c = Case("matmul_batched_2x9x40_w40x100")
    yield c.finish(c.node("MatMul", [c.input((2, 9, 40)), c.weight((40, 100), 40)]))
    c = Case("matmul_batched_2x9x40_w2x40x32")
    yield c.finish(c.node("MatMul", [c.input((2, 9, 40)), c.weight((2, 40, 32), 40)]))
    # Both operands are graph inputs (no constant weight to pre-pack).
    c = Case("matmul_batched_inputs_3x11x24_3x24x16")
    yield c.finish(c.node("MatMul", [c.input((3, 11, 24)), c.input((3, 24, 16))]))
    # Columns past the last whole vector and rows past the last whole tile
    # are tiles of their own: a ViT-B/16 attention's Q K^T (197 = 192 + 5
    # columns; 197 rows, prime, as 24 tiles of 8 and one of 5), 29 = 16 +
    # 13 columns over 13 = 12 + 1 rows, 10 columns (one narrow tile) over 5
    # = 4 + 1 rows, and a Gemm by a run-time transposed B of 19 columns.
    c = Case("matmul_inputs_vit_qk_12x197x64_12x64x197")
    yield c.finish(c.node("MatMul", [c.input((12, 197, 64)), c.input((12, 64, 197))]))
    c = Case("matmul_inputs_3x13x7_3x7x29")
    yield c.finish(c.node("MatMul", [c.input((3, 13, 7)), c.input((3, 7, 29))]))
    c = Case("matmul_inputs_softmax_2x5x9_2x9x10")
    y = c.node("MatMul", [c.input((2, 5, 9)), c.input((2, 9, 10))])
    yield c.finish(c.node("Softmax", [y], axis=-1))
    c = Case("gemm_inputs_transB_9x21x19")
    yield c.finish(c.node("Gemm", [c.input((9, 21)), c.input((19, 21))], transB=1))

    # nn.Linear as PyTorch exports it: [M,K] @ [N,K]^T + [N].
    c = Case("gemm_transB_bias_5x37x48")
    yield c.finish(c.node("Gemm", [c.input((5, 37)), c.weight((48, 37), 37),
                                   c.weight((48,), 37)], transB=1))
    c = Case("gemm_transB_bias_5x37x17")
    yield c.finish(c.node("Gemm", [c.input((5, 37)), c.weight((17, 37), 37),
                                   c.weight((17,), 37)], transB=1))
    # A^T @ B with alpha and beta, C broadcast from [N].
    c = Case("gemm_transA_alpha_beta_6x37x32")
    yield c.finish(c.node("Gemm", [c.input((37, 6)), c.weight((37, 32), 37),
                                   c.weight((32,), 37)], transA=1, alpha=0.75, beta=-1.5))
    # Both transposed, full [M,N] C, N not a multiple of 16.
    c = Case("gemm_transA_transB_alpha_beta_9x21x19")
    yield c.finish(c.node("Gemm", [c.input((21, 9)), c.weight((19, 21), 21),
                                   c.input((9, 19))], transA=1, transB=1, alpha=1.25, beta=0.5))
    # No C at all, alpha only.
    c = Case("gemm_alpha_noC_4x24x64")
    yield c.finish(c.node("Gemm", [c.input((4, 24)), c.weight((24, 64), 24)], alpha=2.0))
    # A classifier: N = 1000 computes 1024 padded columns (a 1x1 blocked
    # conv with the bias) and keeps 1000; a [1, N] C and no C take the same
    # route, a non-constant C keeps a padded gemm.
    c = Case("gemm_classifier_1x64x1000")
    yield c.finish(c.node("Gemm", [c.input((1, 64)), c.weight((1000, 64), 64),
                                   c.weight((1000,), 64)], transB=1))
    c = Case("gemm_bias_row_3x40x100")
    yield c.finish(c.node("Gemm", [c.input((3, 40)), c.weight((40, 100), 40),
                                   c.weight((1, 100), 40)]))
    c = Case("gemm_noC_2x33x50")
    yield c.finish(c.node("Gemm", [c.input((2, 33)), c.weight((33, 50), 33)]))
    c = Case("gemm_input_C_3x16x40")
    yield c.finish(c.node("Gemm", [c.input((3, 16)), c.weight((16, 40), 16),
                                   c.input((3, 40))]))


def conv_cases():
    # Direct convolutions. F in {16, 32, 48} vectorize; {17, 24, 8} do not.
    # Output widths: 11, 13, 17, 23 (past the 8-column tile, with a
    # remainder), 8 and 16 (exact tiles), 1, 4, 5, 9.
    yield conv_case("conv_f16_c3_k3_p1_13x11", 1, 3, 13, 11, 16, 3, pads=1)
    yield conv_case("conv_f32_c16_k1_p0_7x7_nobias", 1, 16, 7, 7, 32, 1, bias=False)
    yield conv_case("conv_f48_c19_k3_s2_p1_23x17", 1, 19, 23, 17, 48, 3, stride=2, pads=1)
    yield conv_case("conv_f17_c3_k3_p1_13x11", 1, 3, 13, 11, 17, 3, pads=1)
    yield conv_case("conv_f24_c16_k5_p2_13x11", 1, 16, 13, 11, 24, 5, pads=2)
    yield conv_case("conv_f8_c1_k3_p0_7x7", 1, 1, 7, 7, 8, 3)
    # KNOWN FAILURE (see KNOWN_FAILURES): one input channel, F % 16 == 0,
    # stride 2 crashes weftc. The second case is the smallest such conv.
    yield conv_case("conv_f16_c1_k7_s2_p3_23x17", 1, 1, 23, 17, 16, 7, stride=2, pads=3)
    yield conv_case("conv_f16_c1_k1_s2_7x7_nobias", 1, 1, 7, 7, 16, 1, stride=2, bias=False)
    yield conv_case("conv_f32_c3_k7_s2_p3_b2_23x17", 2, 3, 23, 17, 32, 7, stride=2, pads=3)
    yield conv_case("conv_f16_c19_k3_d2_p2_13x11", 1, 19, 13, 11, 16, 3, pads=2, dilation=2)
    yield conv_case("conv_f17_c16_k3_d2_p0_13x11", 1, 16, 13, 11, 17, 3, dilation=2, bias=False)
    yield conv_case("conv_f16_c3_k3_asym_13x11", 1, 3, 13, 11, 16, 3, pads=[1, 0, 2, 3])
    yield conv_case("conv_f32_c16_k3_s2_asym_14x14", 1, 16, 14, 14, 32, 3, stride=2,
                    pads=[0, 0, 1, 1])
    yield conv_case("conv_f24_c19_k5_s2_asym_23x17", 1, 19, 23, 17, 24, 5, stride=2,
                    pads=[2, 1, 0, 3])
    yield conv_case("conv_f16_c16_k1_1x1", 1, 16, 1, 1, 16, 1)
    yield conv_case("conv_f48_c16_k3_p1_2x9", 1, 16, 2, 9, 48, 3, pads=1)
    yield conv_case("conv_f17_c19_k5_s2_p3_23x17", 1, 19, 23, 17, 17, 5, stride=2, pads=3)
    yield conv_case("conv_f24_c3_k1_s2_13x11", 1, 3, 13, 11, 24, 1, stride=2)
    yield conv_case("conv_f16_c16_k3_p1_b2_7x7_nobias", 2, 16, 7, 7, 16, 3, pads=1,
                    bias=False)
    yield conv_case("conv_f32_c3_k3_p1_5x8", 1, 3, 5, 8, 32, 3, pads=1)
    yield conv_case("conv_f16_c19_k3_p1_3x16", 1, 19, 3, 16, 16, 3, pads=1)
    yield conv_case("conv_f32_c1_k5_p0_5x5_1x1out", 1, 1, 5, 5, 32, 5)

    c = Case("conv_relu_f32_c16_k3_p1_13x11")
    y = conv(c, c.input((1, 16, 13, 11)), 16, 32, 3, pads=1)
    yield c.finish(c.node("Relu", [y]))
    c = Case("conv_relu_f17_c3_k3_s2_p1_13x11")
    y = conv(c, c.input((1, 3, 13, 11)), 3, 17, 3, stride=2, pads=1)
    yield c.finish(c.node("Relu", [y]))
    # Residual: Add of a second graph input of the conv's output shape.
    c = Case("conv_add_f16_c16_k3_p1_13x11")
    x = c.input((1, 16, 13, 11))
    skip = c.input((1, 16, 13, 11))
    yield c.finish(c.node("Add", [conv(c, x, 16, 16, 3, pads=1), skip]))
    c = Case("conv_add_relu_f24_c24_k3_p1_b2_7x9")
    x = c.input((2, 24, 7, 9))
    y = c.node("Add", [conv(c, x, 24, 24, 3, pads=1), x])
    yield c.finish(c.node("Relu", [y]))
    # Pointwise convs run their rows and columns as one row of OH * OW
    # columns (bias, residual add and relu on the flattened tiles).
    c = Case("conv_k1_add_relu_f32_c24_b2_7x7")
    x = c.input((2, 24, 7, 7))
    skip = c.input((2, 32, 7, 7))
    y = c.node("Add", [conv(c, x, 24, 32, 1), skip])
    yield c.finish(c.node("Relu", [y]))
    yield conv_case("conv_f48_c40_k1_13x11", 1, 40, 13, 11, 48, 1)
    # Chains: the second conv consumes the first one's (channels-last) output.
    c = Case("conv_chain_f16_relu_f32_s2_13x11")
    y = c.node("Relu", [conv(c, c.input((1, 3, 13, 11)), 3, 16, 3, pads=1)])
    yield c.finish(conv(c, y, 16, 32, 3, stride=2, pads=1))
    c = Case("conv_chain_f17_relu_f16_k1_23x17")
    y = c.node("Relu", [conv(c, c.input((1, 3, 23, 17)), 3, 17, 3, pads=1)])
    yield c.finish(conv(c, y, 17, 16, 1))
    c = Case("conv_chain_f48_relu_f24_b2_7x7")
    y = c.node("Relu", [conv(c, c.input((2, 19, 7, 7)), 19, 48, 3, pads=1)])
    yield c.finish(conv(c, y, 48, 24, 3, pads=[0, 1, 1, 0]))


def gpu_conv_cases():
    """Convolutions of at least 65536 outputs (the CUDA backend's blocks) at
    the shapes that choose its paths: ResNet-50's stages at batch 1."""
    # Stage 4: 8 parts of 32 input channels, the padding fused.
    yield conv_case("gpuconv_c256_f256_k3_p1_14x14", 1, 256, 14, 14, 256, 3, pads=1)
    # Stage 5: 49 positions, blocks overlapping at the end of them.
    yield conv_case("gpuconv_c256_f512_k3_p1_7x7", 1, 256, 7, 7, 512, 3, pads=1)
    yield conv_case("gpuconv_c1024_f256_k1_7x7", 1, 1024, 7, 7, 256, 1)
    # The stem: 147 products padded to 160.
    yield conv_case("gpuconv_c3_f64_k7_s2_p3_64x64", 1, 3, 64, 64, 64, 7, stride=2, pads=3)
    yield conv_case("gpuconv_c128_f128_k3_s2_p1_28x28", 1, 128, 28, 28, 128, 3, stride=2,
                    pads=1)
    yield conv_case("gpuconv_c64_f128_k3_d2_p2_32x32", 1, 64, 32, 32, 128, 3, pads=2,
                    dilation=2)
    # 29 x 31 = 899 positions.
    yield conv_case("gpuconv_c64_f128_k3_asym_30x30", 1, 64, 30, 30, 128, 3, pads=[1, 2, 0, 1])
    c = Case("gpuconv_add_relu_c256_k3_p1_b2_14x14")
    x = c.input((2, 256, 14, 14))
    y = c.node("Add", [conv(c, x, 256, 256, 3, pads=1), x])
    yield c.finish(c.node("Relu", [y]))
    yield conv_case("gpuconv_c128_f256_g2_k3_p1_28x28", 1, 128, 28, 28, 256, 3, pads=1,
                    group=2)
    yield conv_case("gpuconv_c64_f30_k3_p1_56x56", 1, 64, 56, 56, 30, 3, pads=1)
    # MobileNetV2's stem: 27 products padded to one step of 32.
    yield conv_case("gpuconv_c3_f32_k3_s2_p1_128x128", 1, 3, 128, 128, 32, 3, stride=2, pads=1)
    # MobileNetV2's 1x1 convolutions of few outputs from many channels: in
    # 4 and 8 parts of one output per thread.
    yield conv_case("gpuconv_c576_f96_k1_14x14", 1, 576, 14, 14, 96, 1)
    yield conv_case("gpuconv_c960_f160_k1_7x7", 1, 960, 7, 7, 160, 1)


def depthwise_cases():
    # group = C = F: C in {16, 32, 48} vectorize; {24, 8} do not.
    def dw(name, n, ch, h, w, k, **kw):
        return conv_case(name, n, ch, h, w, ch, k, group=ch, **kw)

    yield dw("dw_c16_k3_s1_p1_7x7", 1, 16, 7, 7, 3, pads=1)
    yield dw("dw_c32_k3_s2_p1_14x14", 1, 32, 14, 14, 3, stride=2, pads=1)
    yield dw("dw_c48_k5_s1_p2_13x13", 1, 48, 13, 13, 5, pads=2)
    yield dw("dw_c24_k3_s1_p1_28x28", 1, 24, 28, 28, 3, pads=1)
    yield dw("dw_c8_k5_s2_p2_13x13", 1, 8, 13, 13, 5, stride=2, pads=2)
    yield dw("dw_c16_k5_s2_p2_28x28_nobias", 1, 16, 28, 28, 5, stride=2, pads=2, bias=False)
    yield dw("dw_c32_k3_s1_p1_b2_13x13", 2, 32, 13, 13, 3, pads=1)
    yield dw("dw_c16_k3_s2_asym_14x14", 1, 16, 14, 14, 3, stride=2, pads=[0, 0, 1, 1])
    yield dw("dw_c24_k5_s2_p2_b2_14x14", 2, 24, 14, 14, 5, stride=2, pads=2)
    # 16 x 16 outputs at stride 2: 4 per GPU thread, a 3 x 9 window each.
    yield dw("dw_c32_k3_s2_p1_32x32", 1, 32, 32, 32, 3, stride=2, pads=1)
    # MobileNet block: the depthwise conv consumes a conv's output.
    c = Case("conv_f32_relu_dw_c32_k3_p1_13x11")
    y = c.node("Relu", [conv(c, c.input((1, 3, 13, 11)), 3, 32, 3, pads=1)])
    yield c.finish(c.node("Relu", [conv(c, y, 32, 32, 3, pads=1, group=32)]))
    # Grouped, not depthwise.
    yield conv_case("grouped_g2_c16_f32_k3_p1_13x11", 1, 16, 13, 11, 32, 3, pads=1, group=2)
    yield conv_case("grouped_g2_c6_f34_k3_s2_p1_b2_7x9", 2, 6, 7, 9, 34, 3, stride=2, pads=1,
                    group=2)
    # Grouped on the blocked kernels: each filter block reads its group's
    # input channels. One block per group (F/G = 16 or 32), two (F/G = 64,
    # pointwise: rows flattened, workgroups split in whole groups), groups
    # merged into block-diagonal ones where F/G is below a block (ResNeXt's
    # 4 channels per group; 2 with dilation), and F/G = 4 in 3 groups,
    # which no merge fits (the generic kernel).
    yield conv_case("grouped_g4_c64_f128_k3_p1_b2_9x9", 2, 64, 9, 9, 128, 3, pads=1, group=4)
    yield conv_case("grouped_g2_c32_f128_k1_14x14", 1, 32, 14, 14, 128, 1, group=2)
    yield conv_case("grouped_g32_c128_f128_k3_s2_p1_14x14", 1, 128, 14, 14, 128, 3, stride=2,
                    pads=1, group=32)
    yield conv_case("grouped_g8_c16_f16_k3_d2_p2_13x11_nobias", 1, 16, 13, 11, 16, 3, pads=2,
                    dilation=2, group=8, bias=False)
    yield conv_case("grouped_g3_c12_f12_k3_p1_7x7", 1, 12, 7, 7, 12, 3, pads=1, group=3)
    # ResNeXt block: 1x1 -> relu -> grouped 3x3 -> relu -> 1x1 + residual.
    c = Case("grouped_resnext_block_c64_g8_14x14")
    x = c.input((1, 64, 14, 14))
    y = c.node("Relu", [conv(c, x, 64, 64, 1)])
    y = c.node("Relu", [conv(c, y, 64, 64, 3, pads=1, group=8)])
    yield c.finish(c.node("Relu", [c.node("Add", [conv(c, y, 64, 64, 1), x])]))
    # Channels that are not a multiple of the vector width (plain convs
    # whose F no filter block divides, depthwise convs): the channels past
    # the last whole vector are one narrower register tile (116 = 112 + 4,
    # 58 = 48 + 10), with the epilogue split the same way; fewer channels
    # than a vector are one tile of their width.
    c = Case("tail_conv_f116_c58_k1_relu_14x14")
    yield c.finish(c.node("Relu", [conv(c, c.input((1, 58, 14, 14)), 58, 116, 1)]))
    c = Case("tail_dw_c58_k3_s2_p1_relu_b2_15x15")
    yield c.finish(c.node("Relu", [conv(c, c.input((2, 58, 15, 15)), 58, 58, 3, stride=2,
                                        pads=1, group=58)]))
    yield conv_case("tail_conv_f3_c16_k3_p1_13x11", 1, 16, 13, 11, 3, 3, pads=1)
    yield conv_case("tail_dw_c5_k3_p1_9x9_nobias", 1, 5, 9, 9, 5, 3, pads=1, group=5,
                    bias=False)
    # A ShuffleNetV2 unit: split, 1x1 -> relu -> depthwise 3x3 -> 1x1 ->
    # relu on one half, concat with the other, channel shuffle.
    c = Case("tail_shufflenet_unit_c116_14x14")
    x = c.input((1, 116, 14, 14))
    half = const(c, [58, 58])
    a, b = c.fresh("t"), c.fresh("t")
    c.nodes.append(helper.make_node("Split", [x, half], [a, b], axis=1))
    y = c.node("Relu", [conv(c, b, 58, 58, 1)])
    y = conv(c, y, 58, 58, 3, pads=1, group=58)
    y = c.node("Relu", [conv(c, y, 58, 58, 1)])
    y = c.node("Concat", [a, y], axis=1)
    y = c.node("Reshape", [y, const(c, [1, 2, 58, 14, 14])])
    y = c.node("Transpose", [y], perm=[0, 2, 1, 3, 4])
    yield c.finish(c.node("Reshape", [y, const(c, [1, 116, 14, 14])]))


def pool_cases():
    yield conv_pool_case("conv_f16_maxpool_k3s2p1_13x11", 3, 13, 11, 16, "MaxPool", 3, 2, 1)
    yield conv_pool_case("conv_f17_maxpool_k2s2_13x11", 3, 13, 11, 17, "MaxPool", 2, 2)
    yield conv_pool_case("conv_f32_maxpool_k2s2_ceil_13x11", 3, 13, 11, 32, "MaxPool", 2, 2,
                         ceil_mode=1)
    yield conv_pool_case("conv_f16_avgpool_k2s2_13x11", 19, 13, 11, 16, "AveragePool", 2, 2)
    yield conv_pool_case("conv_f24_avgpool_k3s2p1_13x11", 3, 13, 11, 24, "AveragePool", 3, 2, 1)
    yield conv_pool_case("conv_f48_avgpool_k3s2p1_cip_13x11", 3, 13, 11, 48, "AveragePool",
                         3, 2, 1, count_include_pad=1)
    yield conv_pool_case("conv_f16_avgpool_k3s2_ceil_13x11", 3, 13, 11, 16, "AveragePool", 3, 2,
                         ceil_mode=1)
    yield pool_case("maxpool_k3s2p1_16x13x11", (1, 16, 13, 11), "MaxPool", 3, 2, 1)
    yield pool_case("maxpool_k2s2_ceil_b2_3x7x9", (2, 3, 7, 9), "MaxPool", 2, 2, ceil_mode=1)
    yield pool_case("avgpool_k2s2_ceil_3x7x9", (1, 3, 7, 9), "AveragePool", 2, 2, ceil_mode=1)
    yield pool_case("avgpool_k3s2p1_cip_b2_19x13x11", (2, 19, 13, 11), "AveragePool", 3, 2, 1,
                    count_include_pad=1)
    yield pool_case("avgpool_k3s2p1_17x13x11", (1, 17, 13, 11), "AveragePool", 3, 2, 1)

    c = Case("conv_f48_gap_7x7")
    yield c.finish(c.node("GlobalAveragePool", [conv(c, c.input((1, 16, 7, 7)), 16, 48, 3,
                                                         pads=1)]))
    c = Case("conv_f17_gap_b2_13x11")
    yield c.finish(c.node("GlobalAveragePool", [conv(c, c.input((2, 3, 13, 11)), 3, 17, 3,
                                                         stride=2, pads=1)]))
    c = Case("gap_19x13x11")
    yield c.finish(c.node("GlobalAveragePool", [c.input((1, 19, 13, 11))]))
    # The ResNet tail: conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm.
    c = Case("resnet_tail_f32_gap_flatten_gemm10")
    y = c.node("Relu", [conv(c, c.input((1, 16, 7, 7)), 16, 32, 3, pads=1)])
    y = c.node("Flatten", [c.node("GlobalAveragePool", [y])], axis=1)
    yield c.finish(c.node("Gemm", [y, c.weight((10, 32), 32), c.weight((10,), 32)], transB=1))
    c = Case("resnet_tail_f48_b2_gap_flatten_gemm16")
    y = c.node("Relu", [conv(c, c.input((2, 16, 7, 7)), 16, 48, 3, stride=2, pads=1)])
    y = c.node("Flatten", [c.node("GlobalAveragePool", [y])], axis=1)
    yield c.finish(c.node("Gemm", [y, c.weight((16, 48), 48), c.weight((16,), 48)], transB=1))
    # Flatten straight after a conv: the NCHW element order must come back.
    c = Case("conv_f16_flatten_gemm16_5x3")
    y = c.node("Flatten", [conv(c, c.input((1, 3, 5, 3)), 3, 16, 3, pads=1)], axis=1)
    yield c.finish(c.node("Gemm", [y, c.weight((16, 240), 240), c.weight((16,), 240)],
                          transB=1))
    c = Case("conv_f17_maxpool_flatten_gemm10_b2_7x9")
    y = conv(c, c.input((2, 3, 7, 9)), 3, 17, 3, pads=1)
    y = c.node("Flatten", [pool(c, y, "MaxPool", 2, 2)], axis=1)
    yield c.finish(c.node("Gemm", [y, c.weight((10, 17 * 3 * 4), 17 * 3 * 4),
                                   c.weight((10,), 17 * 3 * 4)], transB=1))


def normalization_cases():
    # LayerNormalization is one op and one dispatch (row reductions with
    # vector partial sums); rows of 40 and 80 elements are whole vectors,
    # 13 is not (scalar tail), and the 3-D case normalizes two axes with a
    # bias that broadcasts along the last one.
    for rows, n in [(6, 40), (3, 80), (5, 13)]:
        c = Case(f"layernorm_axis_last_{rows}x{n}")
        yield c.finish(c.node("LayerNormalization",
                              [c.input((rows, n)), c.weight((n,), 1), c.weight((n,), 1)],
                              axis=-1, epsilon=1e-5))
    c = Case("layernorm_axis2_nobias_2x3x4x16")
    yield c.finish(c.node("LayerNormalization", [c.input((2, 3, 4, 16)), c.weight((16,), 1)],
                          axis=2))
    c = Case("layernorm_axis1_bias_bcast_2x5x16")
    yield c.finish(c.node("LayerNormalization", [c.input((2, 5, 16)), c.weight((5, 16), 1),
                                                 c.weight((5, 1), 1)], axis=1))
    c = Case("softmax_axis_last_4x7x48")
    yield c.finish(c.node("Softmax", [c.input((4, 7, 48))], axis=-1))
    # Rows that end past the last whole vector: the whole vectors reduce
    # with partial accumulators, the last elements after them (ViT-B/16's
    # attention rows of 197; 45 = 32 + 13; 100 = 96 + 4).
    c = Case("softmax_axis_last_3x5x197")
    yield c.finish(c.node("Softmax", [c.input((3, 5, 197))], axis=-1))
    c = Case("reducemax_rows_4x45")
    yield c.finish(c.node("ReduceMax", [c.input((4, 45))], axes=[1], keepdims=0))
    c = Case("reducesum_rows_2x3x100")
    yield c.finish(c.node("ReduceSum", [c.input((2, 3, 100)), const(c, [-1])], keepdims=1))


def const(c, value, dtype=np.int64):
    """An initializer holding `value` (a Reshape's shape, Slice's bounds)."""
    name = c.fresh("k")
    c.inits.append(numpy_helper.from_array(np.array(value, dtype), name))
    return name


def qkv_heads(c, s, e, h, scale):
    """Multi-head attention's Q, K and V: a [S, 1, 3E] projection sliced
    along its last dimension, each part viewed as [S, H, E / H] and
    transposed to heads first; Q scaled (`scale`: an op and its constant),
    K transposed for Q K^T."""
    p = c.node("MatMul", [c.input((s, 1, e)), c.weight((e, 3 * e), e)])
    heads = []
    for i in range(3):
        part = c.node("Slice", [p, const(c, [i * e]), const(c, [(i + 1) * e]), const(c, [2])])
        hd = c.node("Reshape", [part, const(c, [s, h, e // h])])
        t = c.node("Transpose", [hd], perm=[1, 2, 0] if i == 1 else [1, 0, 2])
        if i == 0:
            t = c.node(scale[0], [t, const(c, scale[1], np.float32)])
        heads.append(t)
    return heads


def chain_cases():
    """Data movement chained with elementwise ops (the CUDA targets fuse a
    slice, a transpose and the ops after it into one kernel)."""
    s, e, h = 16, 32, 4
    c = Case("gpuchain_qkv_heads")
    yield c.finish(qkv_heads(c, s, e, h, ("Div", 2.0)))
    # The whole attention: Q (scaled by a Mul of 1 / sqrt(E / H), not a
    # power of two) and V go into their batched matmuls as views of the
    # projection, the scale becomes Q K^T's epilogue; K's slice and
    # transpose are one kernel; the context's heads back to [S, H, E / H].
    c = Case("gpuchain_attention")
    q, k, v = qkv_heads(c, s, e, h, ("Mul", 1 / np.sqrt(e // h)))
    scores = c.node("Softmax", [c.node("MatMul", [q, k])], axis=-1)
    yield c.finish(c.node("Transpose", [c.node("MatMul", [scores, v])], perm=[1, 0, 2]))
    # Heads back to [S, H, E / H], then a residual add: a transpose in the
    # chain of the add; a relu before a transpose.
    # A matrix-vector product with B [K, N], a bias and a Relu: 16 parts of
    # one output per thread, then their sum with the bias and the Relu.
    c = Case("gpuchain_matvec_bias_relu_1x3072x768")
    y = c.node("MatMul", [c.input((1, 3072)), c.weight((3072, 768), 3072)])
    yield c.finish(c.node("Relu", [c.node("Add", [y, c.weight((768,), 1)])]))
    c = Case("gpuchain_transpose_residual")
    x = c.input((h, s, e // h))
    t = c.node("Transpose", [c.node("Relu", [x])], perm=[1, 0, 2])
    yield c.finish(c.node("Add", [t, c.input((s, h, e // h))]))


def cases():
    yield from matmul_cases()
    yield from conv_cases()
    yield from gpu_conv_cases()
    yield from chain_cases()
    yield from depthwise_cases()
    yield from pool_cases()
    yield from normalization_cases()


# --------------------------------------------------------------------------
# Running cases
# --------------------------------------------------------------------------

def run(cmd, timeout):
    """(exit code, combined output); never raises, so one broken case does not
    hide the others."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"(timed out after {timeout} s)"
    except OSError as e:
        return 127, f"cannot run {cmd[0]}: {e}"
    out = proc.stdout
    if proc.returncode < 0:
        out += f"\n(killed by signal {-proc.returncode})"
    return proc.returncode, out


def indent(text):
    return "".join("    " + line + "\n" for line in text.splitlines() if line.strip())


def compare(got, ref):
    """None if got matches ref within ATOL + RTOL * |ref|, else a reason."""
    if got.shape != ref.shape or got.dtype != ref.dtype:
        return f"got {got.dtype}{list(got.shape)}, expected {ref.dtype}{list(ref.shape)}"
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    bad = ~(err <= ATOL + RTOL * np.abs(ref.astype(np.float64)))  # NaN counts as bad
    if not bad.any():
        return None
    worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))), err.shape)
    return (f"{int(bad.sum())} of {err.size} elements off, max abs error "
            f"{float(np.nanmax(np.where(np.isnan(err), np.inf, err))):.3g} at {[int(i) for i in worst]} "
            f"(got {got[worst]!r}, expected {ref[worst]!r})")


def check(case, workdir, weftc, weft_run, threads, weftc_args=()):
    """Builds, compiles and runs one case; returns [(threads, reason or None,
    detail)] in thread order."""
    name, model, feeds = case
    d = os.path.join(workdir, name)
    data = os.path.join(d, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    path = os.path.join(d, "model.onnx")
    onnx.save(model, path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    expected = sess.run(None, feeds)
    for i, inp in enumerate(model.graph.input):
        with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(feeds[inp.name], inp.name).SerializeToString())
    for i, ref in enumerate(expected):
        with open(os.path.join(data, f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(ref, f"output_{i}").SerializeToString())

    lib = os.path.join(d, "model.so")
    # A stale library from an earlier run must not pass for this one.
    if os.path.exists(lib):
        os.remove(lib)
    rc, text = run([weftc, path, "--emit=lib", *weftc_args, "-o", lib], COMPILE_TIMEOUT_S)
    if rc == 0 and not os.path.exists(lib):
        rc, text = 1, text + f"\nweftc exited 0 but did not write {lib}"
    if rc != 0:
        return [(t, f"weftc exit {rc}", text) for t in threads]

    results = []
    for t in threads:
        out = os.path.join(d, f"out_t{t}")
        os.makedirs(out, exist_ok=True)
        for old in os.listdir(out):
            os.remove(os.path.join(out, old))
        rc, text = run([weft_run, lib, "--input-dir", data, "--output-dir", out, "--compare",
                        "--rtol", str(RTOL), "--atol", str(ATOL), "--threads", str(t)],
                       RUN_TIMEOUT_S)
        problems = []
        for i, ref in enumerate(expected):
            p = os.path.join(out, f"output_{i}.pb")
            if not os.path.exists(p):
                problems.append(f"output {i} not written")
                continue
            why = compare(numpy_helper.to_array(onnx.load_tensor(p)), ref)
            if why:
                problems.append(f"output {i}: {why}")
        if rc != 0:
            problems.insert(0, f"weft-run exit {rc}")
        results.append((t, "; ".join(problems) or None, text))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--weft-run", required=True)
    parser.add_argument("--workdir", required=True,
                        help="directory for models, data sets and libraries (kept for debugging)")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated CPU thread counts (default: %(default)s)")
    parser.add_argument("-j", "--jobs", type=int, default=2,
                        help="cases compiled and run at once (default: %(default)s)")
    parser.add_argument("--filter", default="",
                        help="only cases whose name contains this string")
    parser.add_argument("--weftc-arg", action="append", default=[], dest="weftc_args",
                        help="an argument for weftc (repeatable), e.g. --target=cuda-on-cpu")
    parser.add_argument("--known-failures", choices=("skip", "run", "only"), default="skip",
                        help="the cases in KNOWN_FAILURES: skip them, run them too, or "
                             "run only them (default: %(default)s)")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",") if t]
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)

    built = list(cases())
    all_names = [c[0] for c in built]
    assert len(set(all_names)) == len(all_names), "duplicate case names"
    assert set(KNOWN_FAILURES) <= set(all_names), "KNOWN_FAILURES names a missing case"
    all_cases = []
    for c in built:
        if args.filter not in c[0]:
            continue
        known = c[0] in KNOWN_FAILURES
        if known and args.known_failures == "skip":
            print(f"SKIP {c[0]}: known to be broken: {KNOWN_FAILURES[c[0]]}")
        elif known or args.known_failures != "only":
            all_cases.append(c)
    names = [c[0] for c in all_cases]
    failures = total = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(check, c, workdir, args.weftc, args.weft_run, threads,
                               args.weftc_args)
                   for c in all_cases]
        # Printed in case order whatever order they finish in.
        for name, fut in zip(names, futures):
            try:
                results = fut.result()
            except Exception as e:  # a broken case must not hide the others
                results = [(t, f"{type(e).__name__}: {e}", "") for t in threads]
            for t, reason, detail in results:
                total += 1
                if reason is None:
                    print(f"PASS {name} threads={t}")
                else:
                    failures += 1
                    print(f"FAIL {name} threads={t}: {reason}")
                    print(indent(detail), end="")
            sys.stdout.flush()
    skipped = sum(1 for n in all_names if n in KNOWN_FAILURES and args.filter in n
                  and args.known_failures == "skip")
    print(f"kernel_cases: {total - failures} of {total} passed"
          + (f", {skipped} known failures skipped" if skipped else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
