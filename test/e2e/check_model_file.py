#!/usr/bin/env python3
"""Checks one ONNX model file (a public model-zoo download, an export) with
Weft against onnxruntime on the CPU.

Every input gets a shape: the model's static dims, with dynamic ones
(named, unnamed or -1) taken from --input-shape NAME=D0xD1x... . Inputs are
random (seeded): floats standard normal times --scale, integers in [0, 10),
bools random; --value NAME=V gives an input one value (a scalar such as a
sample rate) at run time without pinning it at compile time, and
--input-npy NAME=FILE.npy gives it data (a real image). weftc compiles
the model with every non-scalar input pinned by --input-shape, and weft-run
compares its outputs with onnxruntime's at each thread count.

    check_model_file.py MODEL.onnx --weftc build/bin/weftc \\
        --weft-run build/bin/weft-run --workdir /tmp/chk \\
        --input-shape input=1x512 --input-shape state=2x1x128 --value sr=16000

Prints one line per thread count, `PASS <model> threads=T` or `FAIL ...`,
and exits with 1 when any fails. Needs onnx, onnxruntime and numpy.
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def parse_shape(text):
    name, _, dims = text.rpartition("=")
    if not name:
        raise SystemExit(f"--input-shape wants NAME=D0xD1x..., got {text!r}")
    shape = [] if dims in ("", "scalar") else [int(d) for d in dims.split("x")]
    return name, shape


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--weftc", required=True)
    ap.add_argument("--weft-run", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--input-shape", action="append", default=[])
    ap.add_argument("--value", action="append", default=[], help="NAME=V: a scalar input's value")
    ap.add_argument("--input-npy", action="append", default=[],
                    help="NAME=FILE.npy: an input's data (an image), which also gives its shape")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    pins = dict(parse_shape(t) for t in args.input_shape)
    values = {}
    for t in args.value:
        name, _, v = t.rpartition("=")
        values[name] = v
    arrays = {}
    for t in args.input_npy:
        name, _, path = t.partition("=")
        arrays[name] = np.load(path)
        pins[name] = list(arrays[name].shape)
    model = onnx.load(args.model, load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    rng = np.random.default_rng(args.seed)
    feeds = {}
    for vi in model.graph.input:
        if vi.name in initializers:
            continue
        tt = vi.type.tensor_type
        np_type = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        if vi.name in pins:
            shape = pins[vi.name]
        else:
            shape = []
            for d in tt.shape.dim:
                if not d.HasField("dim_value") or d.dim_value < 0:
                    raise SystemExit(f"input '{vi.name}' has a dynamic dimension: "
                                     f"give --input-shape {vi.name}=...")
                shape.append(d.dim_value)
        if vi.name in arrays:
            feeds[vi.name] = arrays[vi.name].astype(np_type)
        elif vi.name in values:
            feeds[vi.name] = np.full(shape, values[vi.name]).astype(np_type)
        elif np.issubdtype(np_type, np.floating):
            feeds[vi.name] = (rng.standard_normal(shape) * args.scale).astype(np_type)
        elif np_type == np.bool_:
            feeds[vi.name] = rng.integers(0, 2, shape).astype(np.bool_)
        else:
            feeds[vi.name] = rng.integers(0, 10, shape).astype(np_type)

    os.makedirs(args.workdir, exist_ok=True)
    base = os.path.splitext(os.path.basename(args.model))[0]
    data = os.path.join(args.workdir, base + "_data")
    os.makedirs(data, exist_ok=True)
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    outputs = session.run(None, feeds)
    for i, vi in enumerate(session.get_inputs()):
        with open(os.path.join(data, f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(feeds[vi.name]).SerializeToString())
    for i, out in enumerate(outputs):
        with open(os.path.join(data, f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(out)).SerializeToString())

    lib = os.path.join(args.workdir, base + ".so")
    cmd = [args.weftc, args.model, "--emit=lib", "-o", lib]
    for name, shape in pins.items():
        if shape:
            cmd += ["--input-shape", f"{name}=" + "x".join(str(d) for d in shape)]
    start = time.monotonic()
    built = subprocess.run(cmd, capture_output=True, text=True)
    print(f"compile {base}: rc {built.returncode}, {time.monotonic() - start:.2f} s")
    if built.stderr:
        print(built.stderr.rstrip())
    if built.returncode != 0:
        print(f"FAIL {base} (compile)")
        return 1
    failed = False
    for threads in args.threads.split(","):
        run = subprocess.run([args.weft_run, lib, "--input-dir", data, "--compare",
                              f"--rtol={args.rtol}", f"--atol={args.atol}",
                              f"--threads={threads}"], capture_output=True, text=True)
        print(run.stdout.rstrip())
        if run.stderr:
            print(run.stderr.rstrip())
        ok = run.returncode == 0
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'} {base} threads={threads}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
