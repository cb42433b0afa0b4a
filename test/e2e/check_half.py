#!/usr/bin/env python3
"""Checks that f16 reductions accumulate in f32, as onnxruntime's do.

Writes f16 models whose sums run long (a MatMul of 1024 products, a 3x3
Conv over 64 channels, a ReduceSum and a ReduceMean over 4096 elements),
onnxruntime's CPU outputs as
their references, compiles each with weftc for every --target given and
compares weft-run's outputs within two f16 steps (2e-3 relative, 0.04
absolute). Accumulating in f16 instead misses by far more: the MatMul by
about 0.5, the ReduceSum by hundreds. Exits non-zero on any failure.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

RTOL = "2e-3"
ATOL = "0.04"


def models(rng):
    """(name, graph nodes, input shape, output shape, initializers)."""
    w = rng.uniform(-1, 1, (1024, 1024)).astype(np.float16)
    yield ("matmul_f16", [helper.make_node("MatMul", ["x", "w"], ["y"])], [512, 1024],
           [512, 1024], [numpy_helper.from_array(w, "w")], (-1, 1))
    cw = rng.uniform(-1, 1, (32, 64, 3, 3)).astype(np.float16)
    cb = rng.uniform(-1, 1, (32,)).astype(np.float16)
    yield ("conv_f16", [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
           [1, 64, 28, 28], [1, 32, 28, 28],
           [numpy_helper.from_array(cw, "w"), numpy_helper.from_array(cb, "b")], (-1, 1))
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    yield ("sum_f16", [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
           [64, 4096], [64], [axes], (0, 1))
    yield ("mean_f16", [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)],
           [64, 4096], [64], [], (0, 1))


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", timeout=600)
    return proc.returncode == 0, proc.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--weft-run", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--target", action="append", default=[],
                        help="weftc --target values (default: cpu)")
    args = parser.parse_args(argv)
    targets = args.target or ["cpu"]
    os.makedirs(args.workdir, exist_ok=True)
    rng = np.random.default_rng(11)
    failures = total = 0
    for name, nodes, in_shape, out_shape, inits, (low, high) in models(rng):
        graph = helper.make_graph(
            nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT16, in_shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT16, out_shape)], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        path = os.path.join(args.workdir, name + ".onnx")
        onnx.save(model, path)
        data = os.path.join(args.workdir, name + "_data")
        os.makedirs(data, exist_ok=True)
        x = rng.uniform(low, high, in_shape).astype(np.float16)
        y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        for kind, value, label in (("input", x, "x"), ("output", y, "y")):
            with open(os.path.join(data, f"{kind}_0.pb"), "wb") as f:
                f.write(numpy_helper.from_array(value, label).SerializeToString())
        for target in targets:
            total += 1
            lib = os.path.join(args.workdir, f"{name}_{target}.so")
            if os.path.exists(lib):
                os.remove(lib)
            ok, log = run([args.weftc, path, f"--target={target}", "--emit=lib", "-o", lib])
            if ok:
                ok, log = run([args.weft_run, lib, "--input-dir", data, "--compare",
                               "--rtol", RTOL, "--atol", ATOL, "--threads", "2"])
            print(f"{'PASS' if ok else 'FAIL'} {name} target={target}")
            if not ok:
                print("".join("    " + line + "\n" for line in log.splitlines()[-6:]), end="")
                failures += 1
    print(f"check_half: {total - failures} of {total} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
