#!/usr/bin/env python3
"""Runs Weft's CUDA kernels, as the GPU would, in weft-gpu-sim, and checks
their outputs against NumPy.

For each model below this writes an ONNX file, compiles it with
`weftc --target=cuda` (and the model's flags) keeping the IR of every pass
(--dump-ir-dir), takes the GPU module just before the NVVM lowering, and
runs its last kernel (the model's root: a matmul or convolution in
shared-memory blocks, a softmax's warps) in weft-gpu-sim on the first, a
middle and the last block of its grid (every block with --all-blocks):
every thread of a block on its own, barriers waiting for all of them,
warp-wide operations (ldmatrix, mma.sync, WMMA fragments, shuffles) for
all 32 lanes. The simulator fails on a data race in shared memory or
between the blocks run, a read of shared memory no thread wrote, an
access outside a buffer, a misaligned ldmatrix or WMMA address, or a
barrier or warp-wide operation that not all threads reach; this script then compares every output element the
blocks wrote with a float64 reference (of the inputs as the kernel's
arithmetic rounds them). The kernel's arguments are bound to the model's
tensors by shape (tensors of one shape in the model's order).

    matmul_fma     x[512, 128] x w[128, 512]: FMA blocks (64 x 64), the
                   step loop pipelined over its global reads
    matmul_tf32    the same with --cuda-tf32: mma.sync m16n8k8, ldmatrix
    matmul_3xtf32  the same with --cuda-3xtf32: split TF32 products
    matmul_f16     f16 x[256, 128] x w[128, 256]: WMMA m16n16k16
    matmul_bf16    bf16, the same shapes: ldmatrix and mma.sync m16n8k16
    bias_relu      Relu(x[264, 128] x w[128, 256] + c) with --cuda-3xtf32:
                   blocks that overlap at the end of the rows
    conv3x3        Conv(x[2, 32, 28, 28], w[64, 32, 3, 3], pads 1) with
                   --cuda-3xtf32: the image's columns gathered per step
                   into shared memory from the unpadded image (the
                   padding fused into the kernel)
    conv_split     Conv(x[1, 256, 14, 14], w[256, 256, 3, 3], pads 1): 16
                   blocks, so its reduction runs in 8 parts of 32 input
                   channels side by side (one convolution of 8 groups,
                   weft-split-reduction); the grouped one, whose blocks
                   gather the padded image's columns from the unpadded
                   image (the padding fused), is run and checked against
                   the parts' sums
    conv_7x7       Conv(x[1, 512, 7, 7], w[512, 512, 3, 3], pads 1)
                   (ResNet-50's stage 5): 8 parts of 64 input channels;
                   the grouped kernel's blocks of 128 x 32 overlap at the
                   end of the 49 positions (the second starts at 17) and
                   write them one by one (rows of 49 floats are not
                   16-byte aligned)
    conv_stem      Conv(x[1, 3, 128, 128], w[64, 3, 7, 7], strides 2, pads 3)
                   (ResNet-50's stem at 128 x 128): its 147 products
                   padded to 160 with zeros (5 steps of 32) and its
                   padding fused, so the blocks gather from the unpadded
                   image
    softmax        Softmax(x[64, 256]): a warp per row, shuffles
    gemv_warps     x[4, 784] x w[784, 4]: a warp per output
    register_tiles x[256, 96] x w[96, 256]: 4 x 4 outputs per thread
    layer_norm     LayerNormalization of rows of 1000: a warp per row, the
                   rows not a multiple of 32
    norm_chain     LayerNormalization(x[128, 768] x w[768, 768] + b + r):
                   the matmul's reduction split in parts, their sum, the
                   bias and the residual recomputed in the normalization's
                   passes (a lane's private arrays, their loops unrolled)
    elementwise    Tanh(x * z) of 131072 elements, 4 per thread
    row_slice      x[128, 1, 2304][:, :, 768:1536]: a row gather, 4
                   neighbours per thread read as one vector
    gelu_epilogue  GELU(x[512, 128] x w[128, 512] + c): FMA blocks whose
                   epilogue is a graph (the biased sum has two users)
    transpose      x[128, 12, 64] to [12, 64, 128]: the lanes along the
                   input's innermost dimension, 4 outputs per thread
    max_pool       MaxPool(x[2, 16, 30, 30], 3x3, strides 2, pads 1)
                   (ResNet-50's): one output per thread, its window read
                   from the unpadded input (no padded copy, no kernel
                   making one)
    avg_pool_ceil  AveragePool(x[1, 8, 17, 17], 3x3, strides 2, pads 1,
                   ceil_mode): the windows past the far end too, each
                   divided by its count of real elements

Prints one PASS or FAIL line per model and a summary; exits non-zero on a
failure. With --profile each line also gives the fraction of the global
sectors and shared-memory wavefronts the blocks' requests needed that
they took (1.000: coalesced, no bank conflicts).
"""

import argparse
import math
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sim_all_kernels import gpu_module

F32, F16, BF16 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16


def tf32(a):
    bits = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return (((bits + 0x1000) >> 13) << 13).astype(np.uint32).view(np.float32)


def bf16(a):
    bits = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32)


def bf16_bits(a):
    return (np.ascontiguousarray(bf16(a)).view(np.uint32) >> 16).astype(np.uint16)


def conv2d(x, w, stride=1, pad=1):
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, w.shape[2:], axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", windows, w, optimize=True)


def pool2d(x, k, stride, pad, out, reduce):
    """An NCHW pool of `out` x `out` windows of k x k from -pad: `reduce`
    over each window's elements inside x (the pads and what hangs past the
    far end left out, as ONNX's max pools and average pools without
    count_include_pad do)."""
    y = np.zeros(x.shape[:2] + (out, out))
    for i in range(out):
        for j in range(out):
            r0, c0 = max(i * stride - pad, 0), max(j * stride - pad, 0)
            r1, c1 = min(i * stride - pad + k, x.shape[2]), min(j * stride - pad + k, x.shape[3])
            y[:, :, i, j] = reduce(x[:, :, r0:r1, c0:c1].astype(np.float64), axis=(2, 3))
    return y


def split_conv(rng, name, c, f, size, parts=8):
    """Conv(x[1, c, size, size], w[f, c, 3, 3], pads 1), whose reduction
    weft-split-reduction splits in `parts` groups of input channels: its
    first kernel, the grouped convolution, checked against the parts'
    products [1, parts * f, size, size]."""
    x = rng.uniform(-1, 1, (1, c, size, size)).astype(np.float32)
    w = rng.uniform(-1, 1, (f, c, 3, 3)).astype(np.float32)
    step = c // parts
    def reference():
        x64, w64 = x.astype(np.float64), w.astype(np.float64)
        return np.concatenate([conv2d(x64[:, step * s:step * (s + 1)],
                                      w64[:, step * s:step * (s + 1)]) for s in range(parts)],
                              axis=1)
    grouped = w.reshape(f, parts, step, 3, 3).transpose(1, 0, 2, 3, 4).reshape(
        parts * f, step, 3, 3)
    return (name, [],
            [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1] * 4)],
            {"x": (F32, x)}, {"w": (F32, w)}, ("y", F32, (1, f, size, size)),
            {"w_grouped": grouped}, reference, 1e-4, (0, (1, parts * f, size, size)))


def models(rng):
    """(name, weftc flags, nodes, inputs {name: (elem, array)}, weights
    {name: (elem, array)}, output (name, elem, shape), extra tensors the
    kernel may take {name: array}, reference(), tolerance[, (kernel index,
    its output's shape)]): the last kernel, writing the model's output,
    unless given."""
    x = rng.uniform(-1, 1, (512, 128)).astype(np.float32)
    w = rng.uniform(-1, 1, (128, 512)).astype(np.float32)
    exact = x.astype(np.float64) @ w.astype(np.float64)
    mm = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    yield ("matmul_fma", [], mm, {"x": (F32, x)}, {"w": (F32, w)}, ("y", F32, (512, 512)), {},
           lambda: exact, 1e-4)
    yield ("matmul_tf32", ["--cuda-tf32"], mm, {"x": (F32, x)}, {"w": (F32, w)},
           ("y", F32, (512, 512)), {},
           lambda: tf32(x).astype(np.float64) @ tf32(w).astype(np.float64), 1e-4)
    yield ("matmul_3xtf32", ["--cuda-3xtf32"], mm, {"x": (F32, x)}, {"w": (F32, w)},
           ("y", F32, (512, 512)), {}, lambda: exact, 1e-4)
    xh = rng.uniform(-1, 1, (256, 128)).astype(np.float16)
    wh = rng.uniform(-1, 1, (128, 256)).astype(np.float16)
    yield ("matmul_f16", [], mm, {"x": (F16, xh)}, {"w": (F16, wh)}, ("y", F16, (256, 256)), {},
           lambda: xh.astype(np.float64) @ wh.astype(np.float64), 2e-3 * 16)
    xb = bf16(rng.uniform(-1, 1, (256, 128)))
    wb = bf16(rng.uniform(-1, 1, (128, 256)))
    yield ("matmul_bf16", [], mm, {"x": (BF16, xb)}, {"w": (BF16, wb)}, ("y", BF16, (256, 256)),
           {}, lambda: xb.astype(np.float64) @ wb.astype(np.float64), 0.125)
    xr = rng.uniform(-1, 1, (264, 128)).astype(np.float32)
    wr = rng.uniform(-1, 1, (128, 256)).astype(np.float32)
    cr = rng.uniform(-1, 1, (256,)).astype(np.float32)
    yield ("bias_relu", ["--cuda-3xtf32"],
           [helper.make_node("MatMul", ["x", "w"], ["p"]), helper.make_node("Add", ["p", "c"], ["q"]),
            helper.make_node("Relu", ["q"], ["y"])],
           {"x": (F32, xr)}, {"w": (F32, wr), "c": (F32, cr)}, ("y", F32, (264, 256)), {},
           lambda: np.maximum(xr.astype(np.float64) @ wr + cr, 0), 1e-4)
    xc = rng.uniform(-1, 1, (2, 32, 28, 28)).astype(np.float32)
    wc = rng.uniform(-1, 1, (64, 32, 3, 3)).astype(np.float32)
    yield ("conv3x3", ["--cuda-3xtf32"],
           [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1] * 4)],
           {"x": (F32, xc)}, {"w": (F32, wc)}, ("y", F32, (2, 64, 28, 28)),
           {},
           lambda: conv2d(xc.astype(np.float64), wc.astype(np.float64)), 1e-4)
    # A convolution of few blocks (256 x 196 outputs) and a long reduction
    # (2304 products): 8 parts of 32 input channels, one convolution of 8
    # groups whose filter holds part s's output channel f at s * 256 + f.
    yield split_conv(rng, "conv_split", 256, 256, 14)
    # ResNet-50's stage 5: 49 positions, no multiple of 4.
    yield split_conv(rng, "conv_7x7", 512, 512, 7)
    # A 7x7 stride-2 convolution of 3 channels (ResNet-50's stem): 147
    # products, not a multiple of a block's 32 steps, padded to 160.
    xm = rng.uniform(-1, 1, (1, 3, 128, 128)).astype(np.float32)
    wm = rng.uniform(-1, 1, (64, 3, 7, 7)).astype(np.float32)
    yield ("conv_stem", [],
           [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[7, 7], strides=[2, 2],
                             pads=[3] * 4)],
           {"x": (F32, xm)}, {"w": (F32, wm)}, ("y", F32, (1, 64, 64, 64)), {},
           lambda: conv2d(xm.astype(np.float64), wm.astype(np.float64), 2, 3), 1e-4)
    # Few outputs of long reductions: a warp per output, its lanes
    # splitting the 784 products (24 x 32 + 16), shuffles combining them
    # (B's rows of 4 share a sector, so the reduction is not split in parts
    # of one output per thread).
    xg = rng.uniform(-1, 1, (4, 784)).astype(np.float32)
    wg = rng.uniform(-1, 1, (784, 4)).astype(np.float32)
    yield ("gemv_warps", [], mm, {"x": (F32, xg)}, {"w": (F32, wg)}, ("y", F32, (4, 4)), {},
           lambda: xg.astype(np.float64) @ wg.astype(np.float64), 1e-4)
    # Register tiles without blocks (4 x 4 outputs per thread).
    xt = rng.uniform(-1, 1, (256, 96)).astype(np.float32)
    wt = rng.uniform(-1, 1, (96, 256)).astype(np.float32)
    yield ("register_tiles", [], mm, {"x": (F32, xt)}, {"w": (F32, wt)}, ("y", F32, (256, 256)),
           {}, lambda: xt.astype(np.float64) @ wt.astype(np.float64), 1e-4)
    # LayerNormalization rows of 1000 (31 x 32 + 8 per lane loop).
    xl = rng.uniform(-2, 2, (16, 1000)).astype(np.float32)
    gl = rng.uniform(0.5, 1.5, (1000,)).astype(np.float32)
    bl = rng.uniform(-1, 1, (1000,)).astype(np.float32)
    def layer_norm():
        x64 = xl.astype(np.float64)
        mean = x64.mean(axis=1, keepdims=True)
        var = ((x64 - mean) ** 2).mean(axis=1, keepdims=True)
        return (x64 - mean) / np.sqrt(var + 1e-5) * gl + bl
    yield ("layer_norm", [], [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"],
                                               axis=-1, epsilon=1e-5)],
           {"x": (F32, xl)}, {"g": (F32, gl), "b": (F32, bl)}, ("y", F32, (16, 1000)), {},
           layer_norm, 1e-5)
    # BERT's residual block: a split sum, a bias add and a residual add
    # recomputed in each of the normalization's three passes over a lane's
    # 24 elements, whose private arrays need their loops unrolled. The
    # parts' products are given for every split the pass may choose (the
    # kernel takes the one of its shape); they sum to x @ w. The residual
    # comes first: the kernel's [128, 768] operand binds to it, not to x.
    xs = rng.uniform(-1, 1, (128, 768)).astype(np.float32)
    ws = rng.uniform(-0.1, 0.1, (768, 768)).astype(np.float32)
    bs, rs = (rng.uniform(-1, 1, shape).astype(np.float32) for shape in ((768,), (128, 768)))
    gs = rng.uniform(0.5, 1.5, (768,)).astype(np.float32)
    betas = rng.uniform(-1, 1, (768,)).astype(np.float32)
    split_parts = {f"parts{n}": np.stack([xs[:, k:k + 768 // n] @ ws[k:k + 768 // n]
                                          for k in range(0, 768, 768 // n)])
                   for n in (2, 4, 8, 16)}
    def norm_chain():
        z = xs.astype(np.float64) @ ws.astype(np.float64) + bs + rs
        mean = z.mean(axis=1, keepdims=True)
        var = ((z - mean) ** 2).mean(axis=1, keepdims=True)
        return (z - mean) / np.sqrt(var + 1e-5) * gs + betas
    yield ("norm_chain", [],
           [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["c"]),
            helper.make_node("Add", ["c", "r"], ["z"]),
            helper.make_node("LayerNormalization", ["z", "g", "beta"], ["y"], axis=-1,
                             epsilon=1e-5)],
           {"r": (F32, rs), "x": (F32, xs)}, {"w": (F32, ws), "b": (F32, bs), "g": (F32, gs),
                                              "beta": (F32, betas)},
           ("y", F32, (128, 768)), split_parts, norm_chain, 1e-4)
    # An elementwise kernel of 4 neighbouring elements per thread.
    xe = rng.uniform(-2, 2, (256, 512)).astype(np.float32)
    ye = rng.uniform(-2, 2, (256, 512)).astype(np.float32)
    yield ("elementwise", [], [helper.make_node("Mul", ["x", "z"], ["p"]),
                               helper.make_node("Tanh", ["p"], ["y"])],
           {"x": (F32, xe), "z": (F32, ye)}, {}, ("y", F32, (256, 512)), {},
           lambda: np.tanh(xe.astype(np.float64) * ye), 1e-6)
    # A slice of the innermost dimension (a row gather: BERT's split of
    # its Q/K/V projection): each thread's 4 neighbours one vector read.
    xq = rng.uniform(-1, 1, (128, 1, 2304)).astype(np.float32)
    yield ("row_slice", [], [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["y"])],
           {"x": (F32, xq)},
           {"starts": (TensorProto.INT64, np.array([768], np.int64)),
            "ends": (TensorProto.INT64, np.array([1536], np.int64)),
            "axes": (TensorProto.INT64, np.array([2], np.int64))},
           ("y", F32, (128, 1, 768)), {}, lambda: xq[:, :, 768:1536].astype(np.float64), 0)
    # GELU after a matmul's bias add (x * 0.5 * (1 + erf(x / sqrt 2)): the
    # sum has two users): the whole graph is the blocks' epilogue.
    xu = rng.uniform(-1, 1, (512, 128)).astype(np.float32)
    wu = rng.uniform(-1, 1, (128, 512)).astype(np.float32)
    cu = rng.uniform(-1, 1, (512,)).astype(np.float32)
    def gelu():
        h = xu.astype(np.float64) @ wu + cu
        return h * 0.5 * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
    yield ("gelu_epilogue", [],
           [helper.make_node("MatMul", ["x", "w"], ["p"]), helper.make_node("Add", ["p", "c"], ["h"]),
            helper.make_node("Div", ["h", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
            helper.make_node("Add", ["e", "one"], ["f"]), helper.make_node("Mul", ["h", "f"], ["g"]),
            helper.make_node("Mul", ["g", "half"], ["y"])],
           {"x": (F32, xu)},
           {"w": (F32, wu), "c": (F32, cu),
            "sqrt2": (F32, np.array(math.sqrt(2), np.float32)),
            "one": (F32, np.array(1, np.float32)), "half": (F32, np.array(0.5, np.float32))},
           ("y", F32, (512, 512)), {}, gelu, 1e-4)
    # A transpose whose innermost dimensions differ (BERT-base's K
    # transposed for Q K^T): a warp's lanes read neighbouring inputs.
    xk = rng.uniform(-1, 1, (128, 12, 64)).astype(np.float32)
    yield ("transpose", [], [helper.make_node("Transpose", ["x"], ["y"], perm=[1, 2, 0])],
           {"x": (F32, xk)}, {}, ("y", F32, (12, 64, 128)), {},
           lambda: xk.transpose(1, 2, 0).astype(np.float64), 0)
    xp = rng.uniform(-1, 1, (2, 16, 30, 30)).astype(np.float32)
    yield ("max_pool", [], [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3],
                                              strides=[2, 2], pads=[1, 1, 1, 1])],
           {"x": (F32, xp)}, {}, ("y", F32, (2, 16, 15, 15)), {},
           lambda: pool2d(xp, 3, 2, 1, 15, np.max), 0)
    xa = rng.uniform(-1, 1, (1, 8, 17, 17)).astype(np.float32)
    yield ("avg_pool_ceil", [], [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                                   strides=[2, 2], pads=[1, 1, 1, 1],
                                                   ceil_mode=1)],
           {"x": (F32, xa)}, {}, ("y", F32, (1, 8, 9, 9)), {},
           lambda: pool2d(xa, 3, 2, 1, 9, np.mean), 1e-6)
    xs = rng.uniform(-4, 4, (64, 256)).astype(np.float32)
    def softmax():
        e = np.exp(xs.astype(np.float64) - xs.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    yield ("softmax", [], [helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
           {"x": (F32, xs)}, {}, ("y", F32, (64, 256)), {}, softmax, 1e-6)


def tensor(name, elem, array):
    if elem == BF16:
        t = helper.make_tensor(name, BF16, array.shape,
                               bf16_bits(array).astype(np.uint16).tobytes(), raw=True)
        return t
    return numpy_helper.from_array(array, name)


def raw_bytes(elem, array):
    if elem == BF16:
        return bf16_bits(array).tobytes()
    return np.ascontiguousarray(array).tobytes()


def from_raw(elem, data, shape):
    if elem == BF16:
        bits = np.frombuffer(data, np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    dtype = {F32: np.float32, F16: np.float16}[elem]
    return np.frombuffer(data, dtype).reshape(shape)


MLIR_TYPES = {F32: "f32", F16: "f16", BF16: "bf16"}


def kernel_signature(text, name):
    """The memref types of kernel `name`'s arguments: [(shape, elem)]."""
    m = re.search(r"gpu\.func @" + re.escape(name) + r"\((.*?)\) (?:workgroup|kernel)", text)
    args = []
    for shape, elem in re.findall(r"memref<((?:\d+x)*)(\w+)", m.group(1)):
        args.append((tuple(int(d) for d in shape.split("x") if d), elem))
    return args


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--sim", required=True, help="weft-gpu-sim")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--filter", help="only models matching this regex")
    parser.add_argument("--all-blocks", action="store_true",
                        help="run every block of the grid, not the first, a middle and the "
                             "last (blocks that overlap then meet in weft-gpu-sim's checks of "
                             "races between blocks)")
    parser.add_argument("--profile", action="store_true",
                        help="also print the efficiency of the blocks' global sectors and "
                             "shared-memory wavefronts (weft-gpu-sim --profile)")
    parser.add_argument("--weftc-arg", action="append", default=[], dest="weftc_args",
                        help="one more weftc flag for every model (such as --cuda-arch=sm_75)")
    parser.add_argument("--edit", help="OLD/NEW: replace OLD (a regex) by NEW in the GPU module "
                                       "before running it (to check that a wrong kernel fails)")
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    rng = np.random.default_rng(11)
    failures = total = 0
    for name, flags, nodes, inputs, weights, output, extra, reference, tol, *root in models(rng):
        if args.filter and not re.search(args.filter, name):
            continue
        total += 1
        work = os.path.join(args.workdir, name)
        os.makedirs(work, exist_ok=True)
        out_name, out_elem, out_shape = output
        graph = helper.make_graph(
            nodes, name,
            [helper.make_tensor_value_info(n, e, a.shape) for n, (e, a) in inputs.items()],
            [helper.make_tensor_value_info(out_name, out_elem, out_shape)],
            initializer=[tensor(n, e, a) for n, (e, a) in weights.items()])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        path = os.path.join(work, name + ".onnx")
        onnx.save(model, path)
        dump = os.path.join(work, "ir")
        subprocess.run(["rm", "-rf", dump])
        proc = subprocess.run([args.weftc, path, "--target=cuda", "--emit=ptx", *flags,
                               *args.weftc_args,
                               "--dump-ir-dir", dump, "-o", os.path.join(work, name + ".ptx")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"FAIL {name}: weftc\n{proc.stderr}")
            failures += 1
            continue
        module = gpu_module(dump)
        text = open(module).read()
        if args.edit:
            old, new = args.edit.split("/", 1)
            text, edits = re.subn(old, new, text)
            module = os.path.join(work, "edited.mlir")
            with open(module, "w") as f:
                f.write(text)
            print(f"{name}: {edits} edits")
        kernels = re.findall(r"gpu\.func @(\w+)\(", text)
        kernel_index, kernel_shape = root[0] if root else (-1, out_shape)
        kernel = kernels[kernel_index]
        grid = int(re.search(r"gpu\.func @" + kernel + r"\(.*known_grid_size = array<i32: (\d+)",
                             text).group(1))
        # Bind the arguments by shape (element count and type).
        tensors = {n: (e, a) for n, (e, a) in list(inputs.items()) + list(weights.items())}
        tensors.update({n: (F32, a) for n, a in extra.items()})
        sim = [args.sim, module, "--kernel", kernel]
        out_index = None
        used = set()
        ok = True
        for i, (shape, elem) in enumerate(kernel_signature(text, kernel)):
            count = int(np.prod(shape))
            if count == int(np.prod(kernel_shape)) and elem == MLIR_TYPES[out_elem] and \
                    i == len(kernel_signature(text, kernel)) - 1:
                out_index = i
                continue
            # The tensor of this shape, else of this many elements.
            match = [n for n, (e, a) in tensors.items()
                     if a.shape == shape and MLIR_TYPES[e] == elem]
            if len(match) != 1:
                match = [n for n, (e, a) in tensors.items()
                         if a.size == count and MLIR_TYPES[e] == elem]
            # Tensors alike in shape and type bind in the model's order
            # (the dispatch's operands follow its nodes' inputs).
            match = [n for n in match if n not in used]
            if not match:
                print(f"FAIL {name}: cannot bind argument {i} ({shape} {elem}) of {kernel}")
                ok = False
                break
            used.add(match[0])
            e, a = tensors[match[0]]
            file = os.path.join(work, f"arg{i}.bin")
            with open(file, "wb") as f:
                f.write(raw_bytes(e, a))
            sim += ["--arg", f"{i}={file}"]
        if not ok or out_index is None:
            if ok:
                print(f"FAIL {name}: no argument of {kernel} is the output")
            failures += 1
            continue
        out_file = os.path.join(work, "out.bin")
        blocks = list(range(grid)) if args.all_blocks else sorted({0, grid // 2, grid - 1})
        sim += ["--out", f"{out_index}={out_file}", "--blocks", ",".join(map(str, blocks))]
        if args.profile:
            sim += ["--profile", "--profile-top=0"]
        proc = subprocess.run(sim, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"FAIL {name}: weft-gpu-sim {kernel}\n{proc.stderr}")
            failures += 1
            continue
        got = from_raw(out_elem, open(out_file, "rb").read(), kernel_shape).astype(np.float64)
        expected = reference()
        written = ~np.isnan(got)
        error = float(np.abs(got[written] - expected[written]).max()) if written.any() else 0.0
        ok = written.any() and error <= tol
        lines = proc.stdout.strip().splitlines()
        summary = lines[0].split(": ", 2)[-1] if lines else ""
        if args.profile:
            # "profile: shared-load requests=.. efficiency=0.824" per kind.
            kinds = dict(re.findall(r"^profile: (\S+) .*efficiency=([0-9.]+)$",
                                    proc.stdout, re.M))
            summary += "; " + ", ".join(f"{k} {kinds.get(k, '-')}" for k in
                                        ("global-load", "global-store", "shared-load",
                                         "shared-store"))
        shown = "all" if args.all_blocks else blocks
        print(f"{'PASS' if ok else 'FAIL'} {name}: {kernel}, blocks {shown} of {grid}: "
              f"{int(written.sum())} outputs, max error {error:.2e} (<= {tol:.0e}); {summary}")
        failures += not ok
    print(f"sim_kernels: {total - failures} of {total} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
