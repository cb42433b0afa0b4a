#!/usr/bin/env python3
"""Compares Weft's latency with onnxruntime's on the test models.

Builds mlp, cnn and gemm_large with test/models/make_models.py into a
temporary directory, compiles each with `weftc --emit=lib`, and for every
thread count measures:

  weft  the median reported by `weft-run LIB --bench N --threads T`
  ort   the median of N timed InferenceSession.run calls in this process,
        after a warmup, with intra_op_num_threads=T, inter_op_num_threads=1
        and all graph optimizations enabled

Both use the same input (the model's test_data_set_0). Before timing, each
compiled model is checked against onnxruntime's output with --compare, so a
fast wrong answer shows up as such. This is a benchmark, not a test: it
reports numbers and exits non-zero only if something could not be built, run
or was wrong.
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import onnx
import onnxruntime as ort
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_MODELS = os.path.join(HERE, os.pardir, "test", "models", "make_models.py")

DEFAULT_MODELS = "mlp,cnn,gemm_large"
# Floating-point work of the models whose FLOP count is the point: the
# 512x1024 @ 1024x1024 MatMul is 2*M*K*N multiply-adds.
MODEL_FLOPS = {"gemm_large": 2 * 512 * 1024 * 1024}
COMPILE_TIMEOUT_S = 600
RUN_TIMEOUT_S = 600

LATENCY_RE = re.compile(r"latency_ms:.*?\bmedian\s+([0-9.eE+-]+)")


def run(cmd, timeout):
    """Returns (ok, combined output) without raising, so one failing model
    still lets the others be measured."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout} s"
    except OSError as e:
        return False, f"cannot run {cmd[0]}: {e}"
    if proc.returncode != 0:
        return False, proc.stdout + f"(exit code {proc.returncode})"
    return True, proc.stdout


def last_lines(text, n=5):
    lines = [l for l in text.splitlines() if l.strip()]
    return "\n".join("    " + l for l in lines[-n:])


def load_feeds(model_path, data_dir):
    """Inputs keyed by graph input name, read from input_N.pb in graph order
    (the layout weft-run reads too, so both time the same values)."""
    model = onnx.load(model_path, load_external_data=False)
    init_names = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in init_names]
    feeds = {}
    for i, name in enumerate(inputs):
        tensor = onnx.load_tensor(os.path.join(data_dir, f"input_{i}.pb"))
        feeds[name] = numpy_helper.to_array(tensor)
    return feeds


def ort_median_ms(model_path, feeds, threads, runs, warmup):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads  # counts the calling thread, like Weft
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    for _ in range(warmup):
        sess.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def weft_median_ms(weft_run, lib, data_dir, threads, runs):
    ok, out = run([weft_run, lib, "--input-dir", data_dir, "--bench", str(runs),
                   "--threads", str(threads)], RUN_TIMEOUT_S)
    if not ok:
        return None, out
    m = LATENCY_RE.search(out)
    if not m:
        return None, "no 'latency_ms: ... median X' line in weft-run's output:\n" + out
    return float(m.group(1)), ""


def weft_matches(weft_run, lib, data_dir, threads):
    # Looser than the e2e check: gemm_large sums 1024 products per element,
    # and a different (equally valid) summation order moves the last bits.
    ok, out = run([weft_run, lib, "--input-dir", data_dir, "--compare",
                   "--rtol", "1e-3", "--atol", "1e-4", "--threads", str(threads)],
                  RUN_TIMEOUT_S)
    return ok, out


def cpu_description():
    """'N CPUs, <model name>', for the header line that says where the
    numbers come from (platform.processor() is empty on Linux)."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {name}"


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def print_table(rows):
    header = ("model", "threads", "weft ms", "ort ms", "weft/ort",
              "weft GFLOP/s", "ort GFLOP/s", "check")
    table = [header]
    for r in rows:
        flops = MODEL_FLOPS.get(r["model"])
        gflops = lambda ms: None if (ms is None or flops is None) else flops / (ms * 1e6)
        ratio = None if r["weft"] is None else r["weft"] / r["ort"]
        table.append((r["model"], str(r["threads"]), fmt(r["weft"], ".3f"),
                      fmt(r["ort"], ".3f"), fmt(ratio, ".2f"),
                      fmt(gflops(r["weft"]), ".1f"), fmt(gflops(r["ort"]), ".1f"),
                      r["check"]))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def print_scaling(rows, threads):
    """Speedup of each thread count over the smallest one, per model."""
    base_t = min(threads)
    by_key = {(r["model"], r["threads"]): r for r in rows}
    lines = []
    for model in dict.fromkeys(r["model"] for r in rows):
        base = by_key.get((model, base_t))
        for t in threads:
            r = by_key.get((model, t))
            if t == base_t or not base or not r:
                continue
            weft = (f"{base['weft'] / r['weft']:.2f}x"
                    if base["weft"] and r["weft"] else "-")
            lines.append(f"  {model}: {t}-thread/{base_t}-thread speedup: "
                         f"weft {weft}, ort {base['ort'] / r['ort']:.2f}x")
    if lines:
        print("\nThread scaling (higher is better):")
        print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Time Weft-compiled models against onnxruntime on this CPU.",
        epilog="Timings are CPU wall-clock medians on the machine running the "
               "script; compare ratios, not absolute numbers, across machines.")
    parser.add_argument("--weftc", required=True, help="path to weftc")
    parser.add_argument("--weft-run", required=True, help="path to weft-run")
    parser.add_argument("--runs", type=int, default=100,
                        help="timed runs per measurement (default: %(default)s)")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated CPU thread counts (default: %(default)s)")
    parser.add_argument("--models", default=DEFAULT_MODELS,
                        help="comma-separated models (default: %(default)s)")
    parser.add_argument("--workdir", help="keep models and libraries here instead "
                        "of a temporary directory")
    args = parser.parse_args(argv)

    try:
        threads = sorted({int(t) for t in args.threads.split(",") if t})
    except ValueError:
        parser.error("--threads takes integers, e.g. 1,2")
    if not threads or min(threads) < 1:
        parser.error("--threads needs positive thread counts")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    models = [m for m in args.models.split(",") if m]
    # Untimed runs first: ORT's first calls pay for thread-pool start-up and
    # cold caches, which are not what the table is about.
    warmup = max(5, args.runs // 10)

    with tempfile.TemporaryDirectory(prefix="weft-bench-") as tmp:
        workdir = os.path.abspath(args.workdir or tmp)
        os.makedirs(workdir, exist_ok=True)
        ok, out = run([sys.executable, MAKE_MODELS, workdir, "--models", ",".join(models)],
                      COMPILE_TIMEOUT_S)
        if not ok:
            print("make_models.py failed:\n" + last_lines(out, 20), file=sys.stderr)
            return 1

        cpus = os.cpu_count()
        print(f"Weft vs onnxruntime {ort.__version__}: median latency of {args.runs} runs "
              f"per cell, CPU wall-clock on this machine ({cpu_description()}).")
        # Other work on the machine skews multi-thread cells most; say so.
        print(f"1-minute load average before timing: {os.getloadavg()[0]:.2f}")
        if max(threads) > (cpus or 1):
            print(f"note: {max(threads)} threads requested on {cpus} CPUs; "
                  "those cells measure oversubscription.")
        print("weft/ort < 1 means Weft is faster.\n")

        rows, failures = [], 0
        for model in models:
            model_path = os.path.join(workdir, f"{model}.onnx")
            data_dir = os.path.join(workdir, f"{model}_data", "test_data_set_0")
            lib = os.path.join(workdir, f"{model}.so")
            built, out = run([args.weftc, model_path, "--emit=lib", "-o", lib],
                             COMPILE_TIMEOUT_S)
            if not built:
                print(f"{model}: weftc failed:\n{last_lines(out)}", file=sys.stderr)
                failures += 1
            feeds = load_feeds(model_path, data_dir)
            for t in threads:
                row = {"model": model, "threads": t, "weft": None,
                       "check": "no build" if not built else "ok"}
                if built:
                    matches, out = weft_matches(args.weft_run, lib, data_dir, t)
                    if not matches:
                        row["check"] = "FAIL"
                        print(f"{model} threads={t}: weft-run --compare failed:\n"
                              f"{last_lines(out)}", file=sys.stderr)
                        failures += 1
                    row["weft"], err = weft_median_ms(args.weft_run, lib, data_dir,
                                                      t, args.runs)
                    if row["weft"] is None:
                        row["check"] = "FAIL"
                        print(f"{model} threads={t}: weft-run --bench failed:\n"
                              f"{last_lines(err)}", file=sys.stderr)
                        failures += 1
                row["ort"] = ort_median_ms(model_path, feeds, t, args.runs, warmup)
                rows.append(row)

        print_table(rows)
        print_scaling(rows, threads)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
