#!/usr/bin/env python3
"""Runs a bundle from make_bundle.py through libweft_runtime's C API
(ctypes; needs numpy only): every entry's libraries on the chosen device,
each output compared with the expected one as weft-run --compare does, and
the models timed (whole runs, copies included, by the host clock). Prints
one line per failure, then

    bundle: N passed, M failed

and, per model, its median latency. Exits 1 when anything failed."""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_runtime as weft  # noqa: E402


def run_entry(runtime, device, bundle, entry, rtol, atol, bench_runs):
    """Returns (ok, detail, (wall median ms, GPU median ms or None) or None)."""
    median = None
    for s in entry["sets"]:
        model = weft.Model(runtime, os.path.join(bundle, s["lib"]), device)
        try:
            inputs = [np.load(os.path.join(bundle, s["dir"], n)) for n in s["inputs"]]
            expected = [np.load(os.path.join(bundle, s["dir"], n)) for n in s["outputs"]]
            # The files hold the stored bytes (f16 and bf16 as bits); a tensor
            # of the right size but another shape ([1] for a scalar) is taken
            # as weft-run takes it.
            inputs = [np.require(weft.as_stored(a, d).reshape(shape), requirements="C")
                      for a, (d, shape) in zip(inputs, model.inputs())]
            got = model.run(inputs)
            if len(expected) != len(got):
                return False, f"{len(got)} outputs, {len(expected)} expected", None
            for k, ((dtype, shape), g, e) in enumerate(zip(model.outputs(), got, expected)):
                if tuple(e.shape) != tuple(shape):
                    return False, f"output {k}: shape {shape}, expected {e.shape}", None
                ok, worst, index = weft.compare(g, weft.as_stored(e, dtype), dtype, rtol, atol)
                if not ok:
                    return False, (f"output {k}: mismatch at flat index {index}: got "
                                   f"{g.ravel()[index]!r} expected {e.ravel()[index]!r}"), None
            if entry.get("bench") and bench_runs:
                for _ in range(3):
                    model.run(inputs)
                times, gpu = [], []
                for _ in range(bench_runs):
                    start = time.perf_counter()
                    model.run(inputs)
                    times.append(time.perf_counter() - start)
                    ms = model.device_time()
                    if ms is not None:
                        gpu.append(ms)
                median = (statistics.median(times) * 1e3,
                          statistics.median(gpu) if gpu else None)
        finally:
            model.close()
    return True, "", median


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:K or cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU device threads")
    parser.add_argument("--bench", type=int, default=50, help="timed runs per model (0: none)")
    parser.add_argument("--report", help="write every entry's outcome here (JSON)")
    args = parser.parse_args(argv)
    with open(os.path.join(args.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    runtime = weft.Runtime(os.path.join(args.bundle, "libweft_runtime.so"))
    kind, _, ordinal = args.device.partition(":")
    try:
        device = runtime.device(kind, int(ordinal or 0), args.threads)
    except weft.WeftError as e:
        print(f"run_bundle: {e}")
        return 2
    name = runtime.device_name(device)
    passed, failed, lines, report = 0, 0, [], []
    for entry in manifest["entries"]:
        rtol = entry.get("rtol", manifest["rtol"])
        atol = entry.get("atol", manifest["atol"])
        try:
            ok, detail, median = run_entry(runtime, device, args.bundle, entry, rtol, atol,
                                           args.bench)
        except weft.WeftError as e:
            ok, detail, median = False, str(e), None
        passed += ok
        failed += not ok
        if not ok:
            print(f"FAIL {entry['name']}: {detail}", flush=True)
        if median is not None:
            wall, gpu = median
            gpu_text = f", GPU time {gpu:.3f} ms by CUDA events" if gpu is not None else ""
            lines.append(f"{entry['name']}: median {wall:.3f} ms over {args.bench} runs "
                         f"({name}, copies in and out included{gpu_text})")
        report.append({"name": entry["name"], "ok": bool(ok), "detail": detail,
                       "median_ms": median[0] if median else None,
                       "gpu_median_ms": median[1] if median else None})
    runtime.lib.weft_device_destroy(device)
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"device": name, "entries": report}, f, indent=1)
    print(f"bundle: {passed} passed, {failed} failed")
    for line in lines:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
