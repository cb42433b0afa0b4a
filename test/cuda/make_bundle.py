#!/usr/bin/env python3
"""Makes a bundle of compiled models that run_bundle.py runs where Weft's
toolchain is not installed (a GPU machine with Python and numpy only):

    BUNDLE/libweft_runtime.so
    BUNDLE/manifest.json       what to run, with tolerances
    BUNDLE/cases/CASE/...      each ONNX node case not in --xfail: the library
                               (one per data set when weftc needs an input's
                               value) and every data set's tensors as .npy
    BUNDLE/models/NAME/...     each model of --model NAME=MODEL.onnx:DATADIR

Libraries are compiled with weftc --emit=lib and the --weftc-arg arguments
(--target=cuda for the GPU). The bundle's size is printed, since it is
copied to the GPU machine.
"""

import argparse
import json
import os
import shutil
import sys
import types

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "conformance"))
import run_conformance as conformance  # noqa: E402  (compile logic and data sets)

# TensorProto types whose typed field holds values of a narrower storage type.
INT32_FIELD = {2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 9: np.bool_,
               10: np.uint16, 16: np.uint16}
STORAGE = {1: np.float32, 7: np.int64, 11: np.float64, 12: np.uint32, 13: np.uint64,
           **INT32_FIELD}


def tensor_array(tp):
    """A TensorProto's bytes as Weft stores them (f16 and bf16 as bits), or
    None for a type Weft does not take (strings, complex)."""
    dtype = STORAGE.get(tp.data_type)
    if dtype is None:
        return None
    shape = tuple(tp.dims)
    if tp.raw_data:
        array = np.frombuffer(tp.raw_data, dtype=dtype)
    elif tp.data_type == 1:
        array = np.array(tp.float_data, np.float32)
    elif tp.data_type == 11:
        array = np.array(tp.double_data, np.float64)
    elif tp.data_type == 7:
        array = np.array(tp.int64_data, np.int64)
    elif tp.data_type in (12, 13):
        array = np.array(tp.uint64_data, np.uint64).astype(dtype)
    else:
        array = np.array(tp.int32_data, np.int64).astype(dtype)
    return array.reshape(shape)


def save_set(data_dir, dest):
    """Writes input_K.npy / output_K.npy for one data set; False when a
    tensor has a type Weft does not take."""
    os.makedirs(dest, exist_ok=True)
    names = {"inputs": [], "outputs": []}
    for kind, prefix in (("inputs", "input_"), ("outputs", "output_")):
        k = 0
        while os.path.exists(os.path.join(data_dir, f"{prefix}{k}.pb")):
            tp = onnx.load_tensor(os.path.join(data_dir, f"{prefix}{k}.pb"))
            array = tensor_array(tp)
            if array is None:
                return None
            name = f"{prefix}{k}.npy"
            np.save(os.path.join(dest, name), array)
            names[kind].append(name)
            k += 1
    return names


def bundle_case(case, case_dir, out, opts, runner):
    """Compiles a node case like run_conformance does; returns its manifest
    entry, or None when it does not compile or has data Weft cannot take."""
    work = os.path.join(out, "cases", case)
    os.makedirs(work, exist_ok=True)
    model = os.path.join(case_dir, "model.onnx")
    sets = conformance.data_sets(case_dir)
    if not sets:
        return None
    values = []
    while True:
        lib = os.path.join(work, "case.so")
        rc, text = conformance.compile_case(opts, runner, work, model, lib, values, sets[0])
        m = conformance.INPUT_VALUE_RE.search(text) if rc not in (None, 0) else None
        if not m or len(values) >= conformance.MAX_INPUT_VALUES:
            break
        positions = conformance.graph_input_positions(model)
        if m.group(1) not in positions or any(n == m.group(1) for n, _ in values):
            break
        values.append((m.group(1), positions[m.group(1)]))
    if rc != 0:
        shutil.rmtree(work, ignore_errors=True)
        return None
    entry = {"name": case, "kind": "case", "sets": []}
    for n, data_dir in enumerate(sets):
        set_lib = lib
        if values and n > 0:
            set_lib = os.path.join(work, f"case_{n}.so")
            rc, _ = conformance.compile_case(opts, runner, work, model, set_lib, values, data_dir)
            if rc != 0:
                shutil.rmtree(work, ignore_errors=True)
                return None
        names = save_set(data_dir, os.path.join(work, f"set_{n}"))
        if names is None:
            shutil.rmtree(work, ignore_errors=True)
            return None
        entry["sets"].append({"lib": os.path.relpath(set_lib, out),
                              "dir": os.path.relpath(os.path.join(work, f"set_{n}"), out),
                              **names})
    return entry


def bundle_model(name, model, data_dir, out, opts, runner, extra=()):
    work = os.path.join(out, "models", name)
    os.makedirs(work, exist_ok=True)
    lib = os.path.join(work, name + ".so")
    rc, text = runner.run([opts.weftc, model, "--emit=lib", "-o", lib] + opts.weftc_args +
                          list(extra), opts.compile_timeout, cwd=work)
    if rc != 0:
        raise SystemExit(f"make_bundle: weftc failed on {model}:\n{text}")
    names = save_set(data_dir, os.path.join(work, "set_0"))
    if names is None:
        raise SystemExit(f"make_bundle: {data_dir} holds a tensor type Weft does not take")
    return {"name": name, "kind": "model", "bench": True,
            "sets": [{"lib": os.path.relpath(lib, out),
                      "dir": os.path.relpath(os.path.join(work, "set_0"), out), **names}]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--runtime", required=True, help="libweft_runtime.so to ship")
    parser.add_argument("--out", required=True)
    parser.add_argument("--suite", default=conformance.DEFAULT_SUITE)
    parser.add_argument("--xfail", help="skip the cases listed here")
    parser.add_argument("--filter", help="only cases matching this regex")
    parser.add_argument("--no-cases", action="store_true")
    parser.add_argument("--model", action="append", default=[],
                        help="NAME=MODEL.onnx:DATADIR (input_K.pb and output_K.pb)")
    parser.add_argument("--weftc-arg", action="append", default=[], dest="weftc_args")
    parser.add_argument("--split-model", action="append", default=[],
                        help="as --model, compiled with the --split-arg arguments too (a "
                             "model for several devices: --devices=cuda:0,cuda:1 ...)")
    parser.add_argument("--split-arg", action="append", default=[], dest="split_args")
    parser.add_argument("--tf32-model", action="append", default=[],
                        help="as --model, compiled with --cuda-tf32 too and compared within "
                             "--tf32-rtol and --tf32-atol (TF32 products are less exact)")
    parser.add_argument("--tf32x3-model", action="append", default=[],
                        help="as --model, compiled with --cuda-3xtf32 too (split TF32 products, "
                             "about f32's precision: compared as --model)")
    parser.add_argument("--sm75-model", action="append", default=[],
                        help="as --model, compiled for --cuda-arch=sm_75 too (a block's copies "
                             "to shared memory through registers rather than cp.async; the "
                             "driver compiles its PTX for the GPU at hand): timed against the "
                             "default build")
    parser.add_argument("--tf32-rtol", type=float, default=1e-2)
    parser.add_argument("--tf32-atol", type=float, default=5e-3)
    parser.add_argument("--half-model", action="append", default=[],
                        help="as --model, compared within --half-rtol and --half-atol (f16 "
                             "or bf16 arithmetic: a step is 2^-11 or 2^-8 relative)")
    parser.add_argument("--half-rtol", type=float, default=2e-2)
    parser.add_argument("--half-atol", type=float, default=5e-2)
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--atol", type=float, default=1e-7)
    parser.add_argument("--model-rtol", type=float, default=1e-3)
    parser.add_argument("--model-atol", type=float, default=1e-5)
    args = parser.parse_args(argv)
    args.out = os.path.abspath(args.out)
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    shutil.copy(args.runtime, os.path.join(args.out, "libweft_runtime.so"))
    weftc = shutil.which(args.weftc) if os.sep not in args.weftc else os.path.abspath(args.weftc)
    if not weftc:
        raise SystemExit(f"make_bundle: no weftc at {args.weftc}")
    opts = types.SimpleNamespace(weftc=weftc, weftc_args=args.weftc_args,
                                 compile_timeout=300.0)
    runner = conformance.ToolRunner()
    manifest = {"rtol": args.rtol, "atol": args.atol, "entries": []}
    skipped = 0
    if not args.no_cases:
        xfail = conformance.read_xfail(args.xfail) if args.xfail else set()
        for case, case_dir in conformance.find_cases(args.suite, args.filter):
            if case in xfail:
                continue
            entry = bundle_case(case, case_dir, args.out, opts, runner)
            if entry:
                manifest["entries"].append(entry)
            else:
                skipped += 1
    exact = (args.model_rtol, args.model_atol)
    tf32 = (args.tf32_rtol, args.tf32_atol)
    half = (args.half_rtol, args.half_atol)
    for spec, extra, (rtol, atol) in ([(m, [], exact) for m in args.model] +
                                      [(m, args.split_args, exact) for m in args.split_model] +
                                      [(m, ["--cuda-tf32"], tf32) for m in args.tf32_model] +
                                      [(m, ["--cuda-3xtf32"], exact)
                                       for m in args.tf32x3_model] +
                                      [(m, [], half) for m in args.half_model] +
                                      [(m, ["--cuda-arch=sm_75"], exact)
                                       for m in args.sm75_model]):
        name, _, rest = spec.partition("=")
        model, _, data_dir = rest.rpartition(":")
        model, data_dir = os.path.abspath(model), os.path.abspath(data_dir)
        entry = bundle_model(name, model, data_dir, args.out, opts, runner, extra)
        entry.update(rtol=rtol, atol=atol)
        manifest["entries"].append(entry)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f"make_bundle: {len(manifest['entries'])} entries, {skipped} cases left out "
          f"(did not compile), {size / 2**20:.1f} MiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
