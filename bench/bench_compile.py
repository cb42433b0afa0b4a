#!/usr/bin/env python3
"""Compile time and peak memory of weftc against graph size.

Two families of generated models (opset 17, f32):

  chain N   x: f32[1,64] through N elementwise ops in a row, cycling
            Add(bias), Relu, Mul(scale), Sigmoid, each bias/scale a distinct
            constant (nothing folds or merges)
  concat W  W branches Add(x, c_i) with distinct constants c_i, joined by one
            Concat along axis 1

Each model is compiled once with `weftc MODEL -o MODEL.o` (object + header,
the default job) and, for comparison, onnxruntime builds an InferenceSession
for it with all graph optimizations (its own "compile" step). Prints one line
per model with weftc's wall time and peak RSS (from wait4) and
onnxruntime's session-creation time, plus the machine's load average. A
benchmark, not a test: it asserts nothing about time and exits non-zero only
when a compile fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

F32 = TensorProto.FLOAT


def save(model, path):
    model.ir_version = 8
    onnx.save(model, path)


def chain_model(n):
    nodes, inits, prev = [], [], "x"
    for i in range(n):
        out = f"t{i}"
        kind = i % 4
        if kind in (0, 2):
            c = f"c{i}"
            value = np.full([1, 64], 0.001 * (i + 1) if kind == 0 else 1.0 + 1e-4 * i,
                            np.float32)
            inits.append(numpy_helper.from_array(value, c))
            nodes.append(helper.make_node("Add" if kind == 0 else "Mul", [prev, c], [out]))
        else:
            nodes.append(helper.make_node("Relu" if kind == 1 else "Sigmoid", [prev], [out]))
        prev = out
    graph = helper.make_graph(nodes, f"chain{n}", [helper.make_tensor_value_info("x", F32, [1, 64])],
                              [helper.make_tensor_value_info(prev, F32, [1, 64])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def concat_model(w):
    nodes, inits = [], []
    for i in range(w):
        inits.append(numpy_helper.from_array(np.full([1, 8], float(i), np.float32), f"c{i}"))
        nodes.append(helper.make_node("Add", ["x", f"c{i}"], [f"b{i}"]))
    nodes.append(helper.make_node("Concat", [f"b{i}" for i in range(w)], ["y"], axis=1))
    graph = helper.make_graph(nodes, f"concat{w}", [helper.make_tensor_value_info("x", F32, [1, 8])],
                              [helper.make_tensor_value_info("y", F32, [1, 8 * w])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def compile_once(weftc, model_path, timeout):
    """(seconds, peak RSS in MiB, ok, output) of one weftc run."""
    start = time.perf_counter()
    proc = subprocess.Popen([weftc, model_path, "-o", model_path[:-5] + ".o"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return time.perf_counter() - start, usage.ru_maxrss / 1024, False, "timed out"
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read().decode(errors="replace")
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status) == 0, out


def ort_session_seconds(model_path):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = 1
    start = time.perf_counter()
    ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--nodes", default="100,1000,10000",
                        help="chain lengths (default: %(default)s)")
    parser.add_argument("--widths", default="50,200,1000",
                        help="Concat widths (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--workdir", help="keep the models here (default: a temporary folder)")
    args = parser.parse_args()

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"weftc uses the machine's cores (MLIR multithreading), onnxruntime 1 thread")
    cases = [("chain", int(n), chain_model) for n in args.nodes.split(",") if n] + \
            [("concat", int(w), concat_model) for w in args.widths.split(",") if w]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or tmp
        os.makedirs(workdir, exist_ok=True)
        print(f"{'model':<14} {'nodes':>6} {'weftc s':>9} {'peak MiB':>9} {'ort session s':>14}")
        for family, size, build in cases:
            path = os.path.join(workdir, f"{family}{size}.onnx")
            model = build(size)
            save(model, path)
            seconds, rss, ok, out = compile_once(args.weftc, path, args.timeout)
            ort_s = ort_session_seconds(path)
            status = "" if ok else "  FAILED"
            print(f"{family + str(size):<14} {len(model.graph.node):>6} {seconds:>9.2f} "
                  f"{rss:>9.0f} {ort_s:>14.3f}{status}")
            if not ok:
                failures += 1
                print("    " + out.strip().replace("\n", "\n    "))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
