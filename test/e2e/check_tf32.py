#!/usr/bin/env python3
"""Checks the arithmetic of weftc --cuda-tf32 under --target=cuda-on-cpu.

With --cuda-tf32 a large f32 matmul's inputs are rounded to TF32 (10-bit
mantissas, to nearest, ties away from zero) before the tensor-core products
on a GPU; --target=cuda-on-cpu rounds the same way, so its outputs show the
GPU's accuracy without a GPU. For each model this script writes, it
compiles the model with both flags, runs it with weft-run and compares the
output with two NumPy references computed in float64: the product of the
inputs rounded to TF32 (which the output must match to float32 summation
noise) and the exact product (which it must differ from by more than that
noise, or the rounding did not happen).

With --split it checks weftc --cuda-3xtf32 instead, whose warps split each
input x into big = tf32(x) and small = tf32(x - big) and add three
products (small big, big small, big big); cuda-on-cpu computes the same
terms. Its output must match the exact product to float32 summation noise,
and differ from the TF32-rounded one by more than that. The models:

  matmul        x[512, 1024] x w[1024, 1024] (w a weight): 64 x 64 blocks
  batched_relu  Relu(x[4, 32, 512] x w[512, 2048] + c): 32 x 128 blocks of
                each product, the bias and Relu applied to the accumulator
  conv3x3       Conv(x[2, 128, 28, 28], w[256, 128, 3, 3], pads 1): the
                product of the filter and the image's columns, gathered
                (and rounded) per reduction step, in 128 x 32 blocks that
                overlap at the end of each row (784 positions)

Exits non-zero on any failure. The .onnx files stay in --workdir.
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import check_models  # its run(): a command's status and output, never raising

# float32 sums of 1024 products of magnitude <= 1 (sums up to about 60)
# drift by up to about 6e-5 from float64 ones.
MODEL_TOLERANCE = 2e-4
# TF32 rounding moves such sums by about 1e-2; less means no rounding.
MIN_ROUNDING_EFFECT = 2e-3


def tf32(a):
    """a rounded to TF32 as cvt.rna.tf32.f32 does (NaN-free inputs)."""
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x1000) & 0xFFFFE000).astype(np.uint32)
    return bits.view(np.float32)


def save_model(path, nodes, inputs, output, initializers=()):
    graph = helper.make_graph(nodes, os.path.basename(path)[:-5], inputs, [output],
                              initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def models(rng):
    """(name, nodes, graph inputs, output, initializers, feeds, reference)."""
    x = rng.uniform(-1, 1, (512, 1024)).astype(np.float32)
    w = rng.uniform(-1, 1, (1024, 1024)).astype(np.float32)
    yield ("matmul", [helper.make_node("MatMul", ["x", "w"], ["y"])],
           [helper.make_tensor_value_info("x", TensorProto.FLOAT, [512, 1024])],
           helper.make_tensor_value_info("y", TensorProto.FLOAT, [512, 1024]),
           [numpy_helper.from_array(w, "w")], {"x": x},
           lambda r: r(x) @ r(w))
    xb = rng.uniform(-1, 1, (4, 32, 512)).astype(np.float32)
    wb = rng.uniform(-1, 1, (512, 2048)).astype(np.float32)
    bias = rng.uniform(-1, 1, (2048,)).astype(np.float32)
    yield ("batched_relu",
           [helper.make_node("MatMul", ["x", "w"], ["p"]),
            helper.make_node("Add", ["p", "c"], ["q"]),
            helper.make_node("Relu", ["q"], ["y"])],
           [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 32, 512])],
           helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 32, 2048]),
           [numpy_helper.from_array(wb, "w"), numpy_helper.from_array(bias, "c")], {"x": xb},
           lambda r: np.maximum(r(xb) @ r(wb) + bias.astype(np.float64), 0))
    xc = rng.uniform(-1, 1, (2, 128, 28, 28)).astype(np.float32)
    wc = rng.uniform(-1, 1, (256, 128, 3, 3)).astype(np.float32)
    yield ("conv3x3",
           [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1] * 4)],
           [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 128, 28, 28])],
           helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 256, 28, 28]),
           [numpy_helper.from_array(wc, "w")], {"x": xc},
           lambda r: conv2d(r(xc), r(wc)))


def conv2d(x, w):
    """Conv of x [N, C, H, W] and w [F, C, 3, 3], pads 1, strides 1."""
    n, c, h, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    return np.einsum("nchwij,fcij->nfhw", windows, w, optimize=True)


def run(cmd):
    return check_models.run(cmd, timeout=600)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--weft-run", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--split", action="store_true",
                        help="check --cuda-3xtf32 instead of --cuda-tf32")
    args = parser.parse_args(argv)
    flag = "--cuda-3xtf32" if args.split else "--cuda-tf32"
    os.makedirs(args.workdir, exist_ok=True)
    rng = np.random.default_rng(7)
    failures = total = 0
    for name, nodes, inputs, output, inits, feeds, reference in models(rng):
        total += 1
        path = os.path.join(args.workdir, name + ".onnx")
        save_model(path, nodes, inputs, output, inits)
        data = os.path.join(args.workdir, name + "_data")
        out_dir = os.path.join(args.workdir, name + "_out")
        os.makedirs(data, exist_ok=True)
        os.makedirs(out_dir, exist_ok=True)
        for i, (input_name, value) in enumerate(feeds.items()):
            with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(value, input_name).SerializeToString())
        lib = os.path.join(args.workdir, name + ".so")
        result = os.path.join(out_dir, "output_0.pb")
        for stale in (lib, result):
            if os.path.exists(stale):
                os.remove(stale)
        ok, log = run([args.weftc, path, "--target=cuda-on-cpu", flag, "--emit=lib", "-o", lib])
        if ok:
            ok, log = run([args.weft_run, lib, "--input-dir", data, "--output-dir", out_dir,
                           "--threads", "2"])
        if not ok or not os.path.exists(result):
            print(f"FAIL {name}: weftc or weft-run\n{log}")
            failures += 1
            continue
        got = numpy_helper.to_array(onnx.load_tensor(result)).astype(np.float64)
        rounded = reference(lambda v: tf32(v).astype(np.float64))
        exact = reference(lambda v: v.astype(np.float64))
        off_rounded = float(np.abs(got - rounded).max())
        off_exact = float(np.abs(got - exact).max())
        if args.split:
            ok = off_exact <= MODEL_TOLERANCE and off_rounded >= MIN_ROUNDING_EFFECT
            print(f"{'PASS' if ok else 'FAIL'} {name}: max |y - f32 product| = {off_exact:.2e} "
                  f"(<= {MODEL_TOLERANCE:.0e}), max |y - TF32 product| = {off_rounded:.2e} "
                  f"(>= {MIN_ROUNDING_EFFECT:.0e})")
        else:
            ok = off_rounded <= MODEL_TOLERANCE and off_exact >= MIN_ROUNDING_EFFECT
            print(f"{'PASS' if ok else 'FAIL'} {name}: max |y - TF32 product| = {off_rounded:.2e} "
                  f"(<= {MODEL_TOLERANCE:.0e}), max |y - f32 product| = {off_exact:.2e} "
                  f"(>= {MIN_ROUNDING_EFFECT:.0e})")
        failures += not ok
    print(f"check_tf32: {total - failures} of {total} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
