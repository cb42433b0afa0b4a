#!/usr/bin/env python3
"""Checks that f16 and bf16 reductions accumulate in f32, as onnxruntime's do.

Writes f16 models whose sums run long (a MatMul of 1024 products, a 3x3
Conv over 64 channels and one over 128 (2 x 256 x 28 x 28 outputs), a
residual block's MatMul, the test encoder block
made f16, a ReduceSum and a ReduceMean over 4096 elements),
onnxruntime's CPU outputs as
their references, compiles each with weftc for every --target given and
compares weft-run's outputs within two f16 steps (2e-3 relative, 0.04
absolute). Accumulating in f16 instead misses by far more: the MatMul by
about 0.5, the ReduceSum by hundreds. bf16 MatMuls (f32 in, cast to bf16
and back; onnxruntime has no bf16 MatMul on the CPU) are checked against
the float64 product of the bf16 operands rounded once to bf16, within two
bf16 steps (1.6e-2 relative). Exits non-zero on any failure.
"""

import argparse
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import check_models  # its run(): a command's status and output, never raising

RTOL = "2e-3"
ATOL = "0.04"
BF16_RTOL = "1.6e-2"
BF16_ATOL = "0.02"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "models"))
import make_models  # noqa: E402  (the f32 encoder block, made f16 below)


def as_f16(model):
    """`model` with its f32 weights, inputs, outputs and casts in f16."""
    for i, init in enumerate(model.graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            value = numpy_helper.to_array(init).astype(np.float16)
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(value, init.name))
    for info in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        if info.type.tensor_type.elem_type == TensorProto.FLOAT:
            info.type.tensor_type.elem_type = TensorProto.FLOAT16
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
    return model


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
    # Large enough for the CUDA backend's blocks: the filter times the
    # image's columns (gathered per step) on f16 tensor cores, 784
    # positions in overlapping 128 x 32 blocks.
    bw = (rng.uniform(-1, 1, (256, 128, 3, 3)) / 16).astype(np.float16)
    bb = rng.uniform(-1, 1, (256,)).astype(np.float16)
    yield ("conv_blocks_f16",
           [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
           [2, 128, 28, 28], [2, 256, 28, 28],
           [numpy_helper.from_array(bw, "w"), numpy_helper.from_array(bb, "b")], (-1, 1))
    # A residual block: on the CPU its MatMul runs in f32 between casts as a
    # blocked 1x1 convolution, its bias, residual add and Relu in f16.
    rw = rng.uniform(-1, 1, (256, 256)).astype(np.float16) / 16
    rb = rng.uniform(-1, 1, (256,)).astype(np.float16)
    yield ("residual_f16",
           [helper.make_node("MatMul", ["x", "w"], ["p"]),
            helper.make_node("Add", ["p", "b"], ["q"]),
            helper.make_node("Add", ["q", "x"], ["r"]),
            helper.make_node("Relu", ["r"], ["y"])],
           [1, 128, 256], [1, 128, 256],
           [numpy_helper.from_array(rw, "w"), numpy_helper.from_array(rb, "b")], (-1, 1))
    # The test encoder block in f16: its MatMuls run in f32 between casts on
    # the CPU, as blocked 1x1 convolutions whose layout rewrites must
    # settle (they did not: weftc failed).
    encoder = as_f16(make_models.make_encoder(rng))
    yield ("encoder_f16", encoder, [4, 32, 512], [4, 32, 512], None, (-1, 1))
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    yield ("sum_f16", [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
           [64, 4096], [64], [axes], (0, 1))
    yield ("mean_f16", [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)],
           [64, 4096], [64], [], (0, 1))


def bf16_bits(a):
    """The bf16 bit patterns of f32 `a`, rounded to nearest even."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def to_bf16(a):
    """f32 `a` rounded to the nearest bf16, as f32."""
    return (bf16_bits(a).astype(np.uint32) << 16).view(np.float32)


def bf16_models(rng):
    """(name, model, input, expected output) of bf16 MatMuls between casts
    from and to f32: 512 x 1024 x 1024 (the CUDA backend's blocks on bf16
    tensor cores), and 200 x 256 x 2048 with a bias and a Relu (the last
    block row overlapping the one before)."""
    bf16, f32 = TensorProto.BFLOAT16, TensorProto.FLOAT

    def weight(name, value):
        return helper.make_tensor(name, bf16, list(value.shape), vals=bf16_bits(value).tobytes(),
                                  raw=True)

    def model(name, nodes, in_shape, out_shape, inits):
        nodes = ([helper.make_node("Cast", ["x"], ["xb"], to=bf16)] + nodes +
                 [helper.make_node("Cast", ["yb"], ["y"], to=f32)])
        graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", f32, in_shape)],
                                  [helper.make_tensor_value_info("y", f32, out_shape)], inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])

    def product(x, w):
        return to_bf16((to_bf16(x).astype(np.float64) @ to_bf16(w).astype(np.float64))
                       .astype(np.float32))

    w = rng.uniform(-1, 1, (1024, 1024)).astype(np.float32)
    x = rng.uniform(-1, 1, (512, 1024)).astype(np.float32)
    yield ("matmul_bf16",
           model("matmul_bf16", [helper.make_node("MatMul", ["xb", "w"], ["yb"])], [512, 1024],
                 [512, 1024], [weight("w", w)]),
           x, product(x, w))
    w = (rng.uniform(-1, 1, (256, 2048)) / 8).astype(np.float32)
    b = rng.uniform(-1, 1, (2048,)).astype(np.float32)
    x = rng.uniform(-1, 1, (200, 256)).astype(np.float32)
    expected = np.maximum(to_bf16(product(x, w) + to_bf16(b)), 0)
    yield ("bias_relu_bf16",
           model("bias_relu_bf16", [helper.make_node("MatMul", ["xb", "w"], ["p"]),
                                    helper.make_node("Add", ["p", "b"], ["q"]),
                                    helper.make_node("Relu", ["q"], ["yb"])],
                 [200, 256], [200, 2048], [weight("w", w), weight("b", b)]),
           x, expected)


def run(cmd):
    return check_models.run(cmd, timeout=600)


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
    def write(name, model, x, y):
        """Saves `model` and its test data (input `x`, reference `y`)."""
        path = os.path.join(args.workdir, name + ".onnx")
        onnx.save(model, path)
        data = os.path.join(args.workdir, name + "_data")
        os.makedirs(data, exist_ok=True)
        for kind, value, label in (("input", x, model.graph.input[0].name),
                                   ("output", y, model.graph.output[0].name)):
            with open(os.path.join(data, f"{kind}_0.pb"), "wb") as f:
                f.write(numpy_helper.from_array(value, label).SerializeToString())
        return path, data

    def check(name, path, data, rtol, atol):
        nonlocal failures, total
        for target in targets:
            total += 1
            lib = os.path.join(args.workdir, f"{name}_{target}.so")
            if os.path.exists(lib):
                os.remove(lib)
            ok, log = run([args.weftc, path, f"--target={target}", "--emit=lib", "-o", lib])
            if ok:
                ok, log = run([args.weft_run, lib, "--input-dir", data, "--compare",
                               "--rtol", rtol, "--atol", atol, "--threads", "2"])
            print(f"{'PASS' if ok else 'FAIL'} {name} target={target}")
            if not ok:
                print("".join("    " + line + "\n" for line in log.splitlines()[-6:]), end="")
                failures += 1

    for name, nodes, in_shape, out_shape, inits, (low, high) in models(rng):
        if isinstance(nodes, onnx.ModelProto):
            model = nodes
        else:
            graph = helper.make_graph(
                nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT16, in_shape)],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT16, out_shape)], inits)
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        x = rng.uniform(low, high, in_shape).astype(np.float16)
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        y = session.run(None, {session.get_inputs()[0].name: x})[0]
        check(name, *write(name, model, x, y), RTOL, ATOL)
    for name, model, x, y in bf16_models(rng):
        check(name, *write(name, model, x, y), BF16_RTOL, BF16_ATOL)
    print(f"check_half: {total - failures} of {total} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
