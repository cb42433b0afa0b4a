#!/usr/bin/env python3
"""Runs a bundle from make_bundle.py through libweft_runtime's C API
(ctypes; needs numpy only): every entry's libraries on the chosen device,
each output compared with the expected one as weft-run --compare does, and
the models timed (whole runs, copies included, by the host clock). On a
GPU each one-device model also runs once on inputs and outputs in device
memory (views with WEFT_MEMORY_DEVICE), compared alike. A model
compiled for N devices runs on a group of N (GPUs joined by NCCL, or CPU
devices); with fewer GPUs than that it is skipped and said so. On a GPU a
one-GPU NCCL group first checks its collectives. The models run before
the node cases. A fault that leaves the GPU's context unusable (an illegal
or misaligned address, ...) fails its entry, and the context is reset
(said in a RESET line) so that the entries after it still run. Prints each
entry's name to stderr as it starts, one line per failure or skip, then

    bundle: N passed, M failed, K skipped

and, per model, its median latency. Exits 1 when anything failed."""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_runtime as weft  # noqa: E402


class Skip(Exception):
    pass


def run_entry(runtime, place, bundle, entry, rtol, atol, bench_runs, gpu=None):
    """Returns (ok, detail, (wall median ms, GPU median ms or None) or None).
    place(n): the device (n == 1) or the group of n devices to run on. With
    `gpu` (a CudaMemory) a one-device model also runs once on inputs and
    outputs in device memory, compared alike."""
    median = None
    for s in entry["sets"]:
        path = os.path.join(bundle, s["lib"])
        model = weft.Model(runtime, path, place(weft.Model.devices_of(path)))
        try:
            inputs = [np.load(os.path.join(bundle, s["dir"], n)) for n in s["inputs"]]
            expected = [np.load(os.path.join(bundle, s["dir"], n)) for n in s["outputs"]]
            # The files hold the stored bytes (f16 and bf16 as bits); a tensor
            # of the right size but another shape ([1] for a scalar) is taken
            # as weft-run takes it.
            inputs = [np.require(weft.as_stored(a, d).reshape(shape), requirements="C")
                      for a, (d, shape) in zip(inputs, model.inputs())]
            runs = [("", None)]
            if gpu and not model.split:
                runs.append((" (device memory views)", gpu))
            for how, memory in runs:
                got = model.run(inputs, memory)
                if len(expected) != len(got):
                    return False, f"{len(got)} outputs, {len(expected)} expected{how}", None
                for k, ((dtype, shape), g, e) in enumerate(zip(model.outputs(), got, expected)):
                    if tuple(e.shape) != tuple(shape):
                        return False, f"output {k}: shape {shape}, expected {e.shape}{how}", None
                    ok, worst, index = weft.compare(g, weft.as_stored(e, dtype), dtype, rtol,
                                                    atol)
                    if not ok:
                        return False, (f"output {k}{how}: mismatch at flat index {index}: got "
                                       f"{g.ravel()[index]!r} expected {e.ravel()[index]!r}"), None
            if entry.get("bench") and bench_runs:
                for _ in range(3):
                    model.run(inputs)
                times, gpu_ms = [], []
                for _ in range(bench_runs):
                    start = time.perf_counter()
                    model.run(inputs)
                    times.append(time.perf_counter() - start)
                    ms = model.device_time()
                    if ms is not None:
                        gpu_ms.append(ms)
                median = (statistics.median(times) * 1e3,
                          statistics.median(gpu_ms) if gpu_ms else None)
        finally:
            model.close()
    return True, "", median


# Driver errors after which a context stays unusable until it is reset.
STICKY_ERRORS = ("CUDA_ERROR_ILLEGAL_ADDRESS", "CUDA_ERROR_MISALIGNED_ADDRESS",
                 "CUDA_ERROR_LAUNCH_FAILED", "CUDA_ERROR_ILLEGAL_INSTRUCTION",
                 "CUDA_ERROR_INVALID_ADDRESS_SPACE", "CUDA_ERROR_INVALID_PC",
                 "CUDA_ERROR_HARDWARE_STACK_ERROR", "CUDA_ERROR_ASSERT",
                 "CUDA_ERROR_LAUNCH_TIMEOUT", "CUDA_ERROR_ECC_UNCORRECTABLE")


def reset_primary_context(ordinal):
    """Resets GPU `ordinal`'s primary context (every runtime object on it
    must be destroyed first); returns an error text or ''."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        handle = ctypes.c_int()
        r = cuda.cuDeviceGet(ctypes.byref(handle), ctypes.c_int(ordinal))
        if r == 0:
            r = cuda.cuDevicePrimaryCtxReset_v2(handle)
        return "" if r == 0 else f"cuDevicePrimaryCtxReset failed ({r})"
    except (OSError, AttributeError) as e:
        return f"no reset: {e}"


def nccl_check(runtime, ordinal):
    """One GPU as an NCCL group: an all-reduce and a broadcast of host
    buffers (copied through the GPU) give their values."""
    try:
        group = runtime.group("cuda", 1, ordinals=[ordinal])
    except weft.WeftError as e:
        return f"nccl: FAIL {e}"
    try:
        x = np.arange(1, 9, dtype=np.int32)
        y = np.zeros(8, np.int32)
        runtime.check(runtime.lib.weft_group_all_reduce(group, 0, 6, 3, x.ctypes.data,
                                                        y.ctypes.data, 8), "all_reduce")
        b = np.full(4, 7.5, np.float32)
        runtime.check(runtime.lib.weft_group_broadcast(group, 0, 0, b.ctypes.data, 16),
                      "broadcast")
        ok = np.array_equal(x, y) and bool(np.all(b == 7.5))
        return ("nccl: one-GPU group OK (all-reduce and broadcast through NCCL)" if ok
                else f"nccl: FAIL wrong values {y} {b}")
    except weft.WeftError as e:
        return f"nccl: FAIL {e}"
    finally:
        runtime.lib.weft_device_group_destroy(group)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:K or cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU device threads")
    parser.add_argument("--bench", type=int, default=50, help="timed runs per model (0: none)")
    parser.add_argument("--report", help="write every entry's outcome here (JSON)")
    parser.add_argument("--only-models", action="store_true",
                        help="run the models, not the node cases")
    parser.add_argument("--label", default="",
                        help="appended to each latency line (what differs in this run)")
    args = parser.parse_args(argv)
    with open(os.path.join(args.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    runtime = weft.Runtime(os.path.join(args.bundle, "libweft_runtime.so"))
    kind, _, ordinal = args.device.partition(":")
    ordinal = int(ordinal or 0)
    try:
        device = runtime.device(kind, ordinal, args.threads)
    except weft.WeftError as e:
        print(f"run_bundle: {e}")
        return 2
    name = runtime.device_name(device)
    groups = {}

    def device_memory():
        """Device memory for the models' second run, or None (said why)."""
        if kind != "cuda":
            return None
        try:
            return weft.CudaMemory(ordinal)
        except (OSError, AttributeError, weft.WeftError) as e:
            print(f"device memory views: not checked ({e})", flush=True)
            return None

    gpu = device_memory()

    def close_all():
        for group in groups.values():
            if not isinstance(group, weft.WeftError):
                runtime.lib.weft_device_group_destroy(group)
        groups.clear()
        runtime.lib.weft_device_destroy(device)

    def place(n):
        if n == 1:
            return device
        if n not in groups:
            try:
                groups[n] = runtime.group(kind, n, args.threads)
            except weft.WeftError as e:
                groups[n] = e
        if isinstance(groups[n], weft.WeftError):
            raise Skip(f"needs {n} devices: {groups[n]}")
        return groups[n]

    if kind == "cuda" and not args.only_models:
        print(nccl_check(runtime, ordinal), flush=True)
    passed, failed, skipped, lines, report = 0, 0, 0, [], []
    entries = sorted(manifest["entries"], key=lambda e: e.get("kind") != "model")
    for entry in entries:
        if args.only_models and entry.get("kind") != "model":
            continue
        rtol = entry.get("rtol", manifest["rtol"])
        atol = entry.get("atol", manifest["atol"])
        print(f"run_bundle: {entry['name']}", file=sys.stderr, flush=True)
        try:
            ok, detail, median = run_entry(runtime, place, args.bundle, entry, rtol, atol,
                                           args.bench,
                                           gpu if entry.get("kind") == "model" else None)
        except weft.WeftError as e:
            ok, detail, median = False, str(e), None
            sticky = next((s for s in STICKY_ERRORS if s in detail), None)
            if kind == "cuda" and sticky:
                close_all()
                if gpu:
                    gpu.close()
                problem = reset_primary_context(ordinal)
                gpu = device_memory()
                try:
                    device = runtime.device(kind, ordinal, args.threads)
                except weft.WeftError as again:
                    problem = problem or str(again)
                    device = None
                print(f"RESET after {sticky} in {entry['name']}"
                      + (f": {problem}" if problem else ""), flush=True)
                if device is None:
                    print(f"FAIL {entry['name']}: {detail}", flush=True)
                    print("run_bundle: the GPU could not be used again; stopped")
                    return 2
        except Skip as e:
            print(f"SKIP {entry['name']}: {e}", flush=True)
            skipped += 1
            report.append({"name": entry["name"], "ok": None, "detail": str(e)})
            continue
        except Exception as e:  # a broken entry (a file, a shape) fails alone
            ok, detail, median = False, f"{type(e).__name__}: {e}", None
        passed += ok
        failed += not ok
        if not ok:
            print(f"FAIL {entry['name']}: {detail}", flush=True)
        if median is not None:
            wall, gpu_ms = median
            gpu_text = (f", GPU time {gpu_ms:.3f} ms by CUDA events" if gpu_ms is not None
                        else "")
            lines.append(f"{entry['name']}: median {wall:.3f} ms over {args.bench} runs "
                         f"({name}, copies in and out included{gpu_text}){args.label}")
        report.append({"name": entry["name"], "ok": bool(ok), "detail": detail,
                       "median_ms": median[0] if median else None,
                       "gpu_median_ms": median[1] if median else None})
    close_all()
    if gpu:
        gpu.close()
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"device": name, "entries": report}, f, indent=1)
    print(f"bundle: {passed} passed, {failed} failed, {skipped} skipped{args.label}")
    for line in lines:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
