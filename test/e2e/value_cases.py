#!/usr/bin/env python3
"""Exact-value regression cases: small graphs whose answers were once wrong.

Each case is one tiny ONNX graph with hand-picked edge inputs (unsigned
values >= 2^(w-1), int64 extremes, ...). onnxruntime computes the reference;
the graph is compiled with `weftc --emit=lib`, run with `weft-run`, and the
outputs are compared here bit for bit (integers and bools exactly, floats
exactly too: every case is chosen so that no rounding is involved).

Prints `PASS <case>` or `FAIL <case>` with the difference, then a summary
line, and exits non-zero on any failure.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

U8, U16, U32, U64 = TensorProto.UINT8, TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64
I8, I32, I64, F32, BOOL = (TensorProto.INT8, TensorProto.INT32, TensorProto.INT64,
                           TensorProto.FLOAT, TensorProto.BOOL)
I64_MIN, I64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def make(name, nodes, inputs, outputs, initializers=(), opset=17, expected=None):
    """inputs: [(name, onnx type, numpy value)], outputs: [(name, onnx type)].
    `expected` replaces onnxruntime's answer where ONNX leaves the result
    undefined and Weft defines it (integer division by zero)."""
    vi = [helper.make_tensor_value_info(n, t, list(v.shape)) for n, t, v in inputs]
    vo = [helper.make_tensor_value_info(n, t, None) for n, t in outputs]
    graph = helper.make_graph(nodes, name, vi, vo, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    # libonnx's checker wants every graph output's shape spelled out.
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return name, model, {n: v for n, _, v in inputs}, expected


def const(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def cases():
    x_u8 = np.array([200, 100, 3, 255], dtype=np.uint8)
    yield make("u8_cast_f32", [helper.make_node("Cast", ["x"], ["y"], to=F32)],
               [("x", U8, x_u8)], [("y", F32)])
    yield make("u8_div", [helper.make_node("Div", ["x", "three"], ["y"])],
               [("x", U8, x_u8)], [("y", U8)], [const("three", np.uint8(3))])
    yield make("u8_reduce_max",
               [helper.make_node("ReduceMax", ["x"], ["y"], keepdims=0)],
               [("x", U8, x_u8)], [("y", U8)])
    yield make("u8_reduce_min",
               [helper.make_node("ReduceMin", ["x"], ["y"], keepdims=1)],
               [("x", U8, np.array([200, 130, 255], dtype=np.uint8))], [("y", U8)])
    yield make("u8_less", [helper.make_node("Less", ["x", "three"], ["y"])],
               [("x", U8, x_u8)], [("y", BOOL)], [const("three", np.uint8(3))])
    yield make("u8_greater_equal",
               [helper.make_node("GreaterOrEqual", ["x", "k"], ["y"])],
               [("x", U8, x_u8)], [("y", BOOL)], [const("k", np.uint8(150))])
    yield make("u8_clip", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
               [("x", U8, x_u8)], [("y", U8)],
               [const("lo", np.uint8(130)), const("hi", np.uint8(250))])
    yield make("u16_cast_i64", [helper.make_node("Cast", ["x"], ["y"], to=I64)],
               [("x", U16, np.array([65535, 32768, 1], dtype=np.uint16))], [("y", I64)])
    yield make("u32_cast_f32", [helper.make_node("Cast", ["x"], ["y"], to=F32)],
               [("x", U32, np.array([4294967040, 2147483648, 7], dtype=np.uint32))],
               [("y", F32)])
    yield make("u64_max", [helper.make_node("Max", ["x", "y"], ["z"])],
               [("x", U64, np.array([2**63 + 5, 1, 2**64 - 1], dtype=np.uint64)),
                ("y", U64, np.array([7, 2**63, 0], dtype=np.uint64))], [("z", U64)])
    yield make("u64_div", [helper.make_node("Div", ["x", "y"], ["z"])],
               [("x", U64, np.array([2**64 - 1, 2**63], dtype=np.uint64)),
                ("y", U64, np.array([2, 3], dtype=np.uint64))], [("z", U64)])
    yield make("i8_cast_u8", [helper.make_node("Cast", ["x"], ["y"], to=U8)],
               [("x", I8, np.array([-1, -128, 127], dtype=np.int8))], [("y", U8)])
    yield make("u8_cast_i32", [helper.make_node("Cast", ["x"], ["y"], to=I32)],
               [("x", U8, x_u8)], [("y", I32)])
    x_i64 = np.array([I64_MIN, -3, 0, 5, I64_MAX], dtype=np.int64)
    yield make("i64_clip_min_only", [helper.make_node("Clip", ["x", "lo"], ["y"])],
               [("x", I64, x_i64)], [("y", I64)], [const("lo", np.int64(-3))])
    yield make("i64_clip_max_only", [helper.make_node("Clip", ["x", "", "hi"], ["y"])],
               [("x", I64, x_i64)], [("y", I64)], [const("hi", np.int64(5))])
    yield make("i64_clip_extreme_bounds", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
               [("x", I64, x_i64)], [("y", I64)],
               [const("lo", np.int64(I64_MIN + 1)), const("hi", np.int64(I64_MAX - 1))])
    yield make("i64_reduce_min",
               [helper.make_node("ReduceMin", ["x"], ["y"], keepdims=0)],
               [("x", I64, np.array([5, I64_MAX, -3], dtype=np.int64))], [("y", I64)])
    yield make("i64_reduce_max",
               [helper.make_node("ReduceMax", ["x"], ["y"], keepdims=0)],
               [("x", I64, np.array([I64_MIN, I64_MIN + 7], dtype=np.int64))], [("y", I64)])
    yield make("i64_pad_extreme", [helper.make_node("Pad", ["x", "p", "v"], ["y"])],
               [("x", I64, np.array([1, -2], dtype=np.int64))], [("y", I64)],
               [const("p", np.array([1, 2], dtype=np.int64)),
                const("v", np.int64(I64_MAX - 1))])
    yield make("u8_pad", [helper.make_node("Pad", ["x", "p", "v"], ["y"])],
               [("x", U8, x_u8)], [("y", U8)],
               [const("p", np.array([2, 1], dtype=np.int64)), const("v", np.uint8(250))])
    # x / 0 is 0 and INT_MIN / -1 wraps (a hardware trap would kill the
    # application); onnxruntime itself traps here, so the answer is spelled out.
    i32_min = np.iinfo(np.int32).min
    yield make("i32_div_no_trap", [helper.make_node("Div", ["x", "y"], ["z"])],
               [("x", I32, np.array([7, i32_min, -9, 5], dtype=np.int32)),
                ("y", I32, np.array([0, -1, 2, 0], dtype=np.int32))], [("z", I32)],
               expected=[np.array([0, i32_min, -4, 0], dtype=np.int32)])
    yield make("u8_div_by_zero", [helper.make_node("Div", ["x", "y"], ["z"])],
               [("x", U8, x_u8), ("y", U8, np.array([0, 7, 0, 16], dtype=np.uint8))],
               [("z", U8)], expected=[np.array([0, 14, 0, 15], dtype=np.uint8)])
    # bf16 arithmetic computes in f32 with one rounding per op; the library
    # once failed to load (LLVM promoted bf16 adds itself and called
    # __truncsfbf2). The values are exact in bf16; onnxruntime has no bf16
    # Add or Mul on the CPU, so the answer is spelled out.
    bf16 = TensorProto.BFLOAT16
    yield make("bf16_add_mul_max",
               [helper.make_node("Cast", ["x"], ["b"], to=bf16),
                helper.make_node("Add", ["b", "b"], ["c"]),
                helper.make_node("Mul", ["c", "c"], ["d"]),
                helper.make_node("Max", ["d", "c"], ["e"]),
                helper.make_node("Cast", ["e"], ["y"], to=F32)],
               [("x", F32, np.array([1.5, -2.0, 0.25, 3.0], dtype=np.float32))], [("y", F32)],
               expected=[np.array([9.0, 16.0, 0.5, 36.0], dtype=np.float32)])


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", timeout=300)
    return proc.returncode, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--weft-run", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    failures = total = 0
    for name, model, feeds, expected in cases():
        total += 1
        d = os.path.join(args.workdir, name)
        data = os.path.join(d, "test_data_set_0")
        out = os.path.join(d, "out")
        os.makedirs(data, exist_ok=True)
        os.makedirs(out, exist_ok=True)
        path = os.path.join(d, "model.onnx")
        onnx.save(model, path)
        if expected is None:
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            expected = sess.run(None, feeds)
        for i, inp in enumerate(model.graph.input):
            with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(feeds[inp.name], inp.name).SerializeToString())
        lib = os.path.join(d, "model.so")
        rc, text = run([args.weftc, path, "--emit=lib", "-o", lib])
        if rc == 0:
            rc, text = run([args.weft_run, lib, "--input-dir", data, "--output-dir", out])
        if rc != 0:
            failures += 1
            print(f"FAIL {name}: exit {rc}\n{text}")
            continue
        problems = []
        for i, ref in enumerate(expected):
            got = numpy_helper.to_array(onnx.load_tensor(os.path.join(out, f"output_{i}.pb")))
            if got.dtype != ref.dtype or got.shape != ref.shape or not np.array_equal(got, ref):
                problems.append(f"output {i}: got {got!r} expected {ref!r}")
        if problems:
            failures += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            print(f"PASS {name}")
    print(f"value_cases: {total - failures} of {total} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
