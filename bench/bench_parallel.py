#!/usr/bin/env python3
"""Multi-device execution: latency and throughput of each parallel plan.

Models (test/models/make_models.py): mlp_batch (784-1024-1024-10, batch 8),
encoder (a transformer encoder block, hidden 512, 8 heads, batch 4 x 32
tokens), resnet18 (batch 2, 224x224).

For each model, in --rounds interleaved rounds (every configuration once
per round, the order rotating), each configuration runs --warmup untimed
and N timed inferences and reports its median, N being --runs or, for a
model whose one-device run is short, enough runs to last --min-ms (at most
--max-runs):

  1dev x 1thr        weftc (one device), weft-run --threads 1
  1dev x 2thr        the same library, --threads 2
  data 2dev x 1thr   weftc --devices=cpu:2 --parallel=data, in one process
  data mpi           the same library under mpirun -np 2, one device per rank
  tensor 2dev x 1thr weftc --devices=cpu:2 --parallel=tensor, in one process
  tensor mpi         the same library under mpirun -np 2
  pipeline 2dev x 1thr  weftc --devices=cpu:2 --parallel=pipeline (the
                     micro-batches chosen by the cost model), in one process
  pipeline mpi       the same library under mpirun -np 2
  ort 1thr, ort 2thr onnxruntime (intra_op_num_threads 1 and 2, all graph
                     optimizations), measured in the same rounds

Then a stream: each model rebuilt for --stream micro-batches (16) of
STREAM_ROWS rows (one image or sequence; 64 rows for the MLP, whose
one-row micro-batches would each stream all its weights), run by one
device (1 and 2 threads), by the data plan, and by the pipeline of
--stream micro-batches, in one process and under MPI, with onnxruntime on
the same batch: the pipeline's throughput against one device's on the same
rows.

The table gives each configuration's least round median (the round least
disturbed by other tenants of the machine; onnxruntime's alike), the
speed-up over 1dev x 1thr,
the throughput (batch rows per second) and the ratio to onnxruntime at the
same total thread count. Beside each two-device plan it prints the
compiler's prediction (weftc --explain-parallel: its cost model, whose
rates come from weftc --calibrate, run first on this machine), and which
plan --parallel=auto chose
against the fastest one measured. The load average is printed before and
after; each measurement
starts half a second after the previous one, since onnxruntime's threads
spin for a while after a run.

A benchmark, not a test: it exits non-zero only when something cannot be
built or run.
"""

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnx import numpy_helper
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "test", "models"))
import make_models  # noqa: E402

MODELS = ("mlp_batch", "encoder", "resnet18")
PLANS = ("data", "tensor", "pipeline")
COST = []  # --cost-model=FILE once calibrated
STREAM_ROWS = {"mlp_batch": 64, "encoder": 1, "resnet18": 1}
BATCH = {"mlp_batch": 8, "encoder": 4, "resnet18": 2}


def sh(cmd, timeout=600):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError("failed: %s\n%s" % (" ".join(cmd), proc.stdout[-3000:]))
    return proc.stdout


def median_ms(output):
    m = re.search(r"latency_ms: min \S+ median (\S+)", output)
    if not m:
        raise RuntimeError("no latency line in:\n" + output[-2000:])
    return float(m.group(1))


def predicted_ms(weftc, model, plan):
    """The compiler's prediction (weftc --explain-parallel): in one process
    and under MPI, in milliseconds."""
    out = sh([weftc, model, "--devices=cpu:2", "--parallel=" + plan, "--explain-parallel",
              "--emit=weft", "-o", os.devnull] + COST)
    m = re.search(r"predicted: ([\d.]+) us per run in one process, ([\d.]+) us under MPI", out)
    if not m:
        raise RuntimeError("no prediction in:\n" + out[-2000:])
    return float(m.group(1)) / 1e3, float(m.group(2)) / 1e3


def predicted_pipeline_ms(weftc, model, extra=()):
    out = sh([weftc, model, "--devices=cpu:2", "--parallel=pipeline", "--explain-parallel",
              "--emit=weft", "-o", os.devnull] + list(extra) + COST)
    m = re.search(r"predicted: ([\d.]+) us per run in one process \([\d]+ rows/s\), ([\d.]+) us "
                  r"under MPI", out)
    if not m:
        raise RuntimeError("no prediction in:\n" + out[-2000:])
    micro = re.search(r"cut into (\d+) micro-batch", out)
    return float(m.group(1)) / 1e3, float(m.group(2)) / 1e3, int(micro.group(1))


def auto_choice(weftc, model):
    out = sh([weftc, model, "--devices=cpu:2", "--explain-parallel", "--emit=weft", "-o",
              os.devnull] + COST)
    m = re.search(r"parallel: auto \(\w+ objective\) chose (\w+)", out)
    return m.group(1) if m else "?"


def write_batch_model(work, name, batch):
    """The model rebuilt for `batch` rows, with its data set."""
    rng = np.random.default_rng([0, make_models.MODEL_NAMES.index(name), 0])
    if name == "mlp_batch":
        model = make_models.make_mlp(rng, sizes=(784, 1024, 1024, 10), batch=batch,
                                     name="mlp_batch", doc="784-1024-1024-10 MLP")
    else:
        model = make_models.BUILDERS[name](rng, batch=batch)
    path = os.path.join(work, "%s_b%d.onnx" % (name, batch))
    onnx.save(model, path)
    feeds = {}
    inputs = np.random.default_rng(1)
    for inp in model.graph.input:
        shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        feeds[inp.name] = inputs.standard_normal(shape).astype(np.float32)
    data = os.path.join(work, "%s_b%d_data" % (name, batch))
    make_models.write_test_data(model, path, feeds, data)
    return path, data


def measure(args, name, model, data, configs, batch, title, predictions, mpi_ok=True):
    """Interleaved rounds of `configs` and onnxruntime; prints the table and
    returns the medians."""
    # Enough timed runs that a measurement lasts --min-ms at the one-device
    # speed (a sub-millisecond model's 10 runs are at the mercy of one
    # burst of a neighbour), at least --runs; the same count for every
    # configuration and for onnxruntime.
    runs = args.runs
    try:
        probe = median_ms(sh(configs[0][1] + ["--input-dir", data, "--bench", "3",
                                              "--warmup", "1"]))
        runs = max(args.runs, min(args.max_runs, int(math.ceil(args.min_ms / probe))))
    except RuntimeError:
        pass  # reported by the correctness checks below
    bench = ["--input-dir", data, "--bench", str(runs), "--warmup", str(args.warmup)]
    configs = [(label, cmd + bench, threads) for label, cmd, threads in configs]
    failed = False
    # Correctness first: every library against onnxruntime's outputs.
    for label, cmd, _ in configs:
        check = [c for c in cmd if c not in bench] + ["--input-dir", data, "--compare",
                                                      "--rtol", "1e-3", "--atol", "1e-4"]
        try:
            sh(check)
        except RuntimeError as e:
            print("FAIL %s %s: %s" % (name, label, e))
            failed = True
    feeds = {}
    for i, inp in enumerate(onnx.load(model, load_external_data=False).graph.input):
        feeds[inp.name] = numpy_helper.to_array(
            onnx.load_tensor(os.path.join(data, "input_%d.pb" % i)))
    sessions = {}
    for t in (1, 2):
        so = ort.SessionOptions()
        so.intra_op_num_threads = t
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sessions[t] = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])

    def ort_ms(t):
        s = sessions[t]
        for _ in range(args.warmup):
            s.run(None, feeds)
        times = []
        for _ in range(runs):
            a = time.perf_counter()
            s.run(None, feeds)
            times.append((time.perf_counter() - a) * 1e3)
        return statistics.median(times)

    results = {label: [] for label, _, _ in configs}
    results["ort 1thr"], results["ort 2thr"] = [], []
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        for label, cmd, _ in order:
            # onnxruntime's pool threads spin for a while after a run;
            # let them settle so they do not take the CPUs of the next.
            time.sleep(0.5)
            results[label].append(median_ms(sh(cmd)))
        time.sleep(0.5)
        results["ort 1thr"].append(ort_ms(1))
        results["ort 2thr"].append(ort_ms(2))
    # Each configuration's least disturbed round (the machine is shared:
    # a neighbour's burst lifts a whole round), onnxruntime's alike.
    med = {k: min(v) for k, v in results.items() if v}
    base = med["1dev x 1thr"]
    print("\n%s, %d rounds x %d runs" % (title, args.rounds, runs))
    print("  %-24s %10s %9s %12s %10s %14s" % ("config", "median ms", "speed-up",
                                              "rows/s", "weft/ort", "predicted ms"))
    for label, _, threads in configs:
        ms = med[label]
        pred = predictions.get(label)
        print("  %-24s %10.3f %8.2fx %12.1f %9.2fx %14s" % (
            label, ms, base / ms, batch * 1e3 / ms, ms / med["ort %dthr" % threads],
            ("%.3f" % pred) if pred else "-"))
    for t in (1, 2):
        ms = med["ort %dthr" % t]
        print("  %-24s %10.3f %8.2fx %12.1f %10s %14s" % ("ort %dthr" % t, ms, base / ms,
                                                      batch * 1e3 / ms, "", "-"))
    return med, failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weftc", required=True)
    parser.add_argument("--weft-run", required=True)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=10,
                        help="timed runs per measurement, at least")
    parser.add_argument("--min-ms", type=float, default=300,
                        help="more runs for fast models, up to this many ms per measurement")
    parser.add_argument("--max-runs", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workdir", default="")
    parser.add_argument("--stream", type=int, default=16,
                        help="micro-batches of the stream section (0: skip it)")
    args = parser.parse_args(argv)

    mpirun = shutil.which("mpirun")
    mpi = [mpirun, "-np", "2", "--allow-run-as-root", "--oversubscribe"] if mpirun else None
    work = args.workdir or tempfile.mkdtemp(prefix="weft-bench-parallel-")
    os.makedirs(work, exist_ok=True)
    # This machine's rates for the cost model, used by every compile below.
    cost = os.path.join(work, "cost-model.txt")
    print(sh([args.weftc, "--calibrate=" + cost]).strip())
    if mpi:  # the MPI rates, merged into the same file
        print(sh(mpi + [args.weftc, "--calibrate=" + cost]).strip().splitlines()[0])
    global COST
    COST = ["--cost-model=" + cost]
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    print("machine: %d online CPUs; weft threads per device and ort intra-op threads as "
          "stated per row" % os.cpu_count())
    failed = False
    for name in [m for m in args.models.split(",") if m]:
        model, data = make_models.write_model(work, name)
        libs = {}
        t0 = time.time()
        libs["one"] = os.path.join(work, name + ".d1.so")
        sh([args.weftc, model, "--emit=lib", "-o", libs["one"]])
        for plan in PLANS:
            libs[plan] = os.path.join(work, "%s.%s.so" % (name, plan))
            sh([args.weftc, model, "--emit=lib", "-o", libs[plan], "--devices=cpu:2",
                "--parallel=" + plan] + COST)
        compile_s = time.time() - t0
        configs = [
            ("1dev x 1thr", [args.weft_run, libs["one"], "--threads", "1"], 1),
            ("1dev x 2thr", [args.weft_run, libs["one"], "--threads", "2"], 2),
        ]
        for plan in PLANS:
            configs.append(("%s 2dev x 1thr" % plan,
                            [args.weft_run, libs[plan], "--threads", "1"], 2))
        if mpi:
            for plan in PLANS:
                configs.append(("%s mpi 2 ranks" % plan,
                                mpi + [args.weft_run, libs[plan], "--threads", "1"], 2))
        predictions = {}
        for plan in ("data", "tensor"):
            inproc, over_mpi = predicted_ms(args.weftc, model, plan)
            predictions["%s 2dev x 1thr" % plan] = inproc
            predictions["%s mpi 2 ranks" % plan] = over_mpi
        inproc, over_mpi, micro = predicted_pipeline_ms(args.weftc, model)
        predictions["pipeline 2dev x 1thr"] = inproc
        predictions["pipeline mpi 2 ranks"] = over_mpi
        title = ("%s (batch %d; pipeline of %d micro-batches), compile of four libraries "
                 "%.1f s" % (name, BATCH[name], micro, compile_s))
        med, bad = measure(args, name, model, data, configs, BATCH[name], title, predictions)
        failed |= bad
        choice = auto_choice(args.weftc, model)
        best = min(PLANS, key=lambda p: med["%s 2dev x 1thr" % p])
        print("  auto chose %s; the fastest plan measured in one process: %s (auto's plan at "
              "%.2fx its time)" % (choice, best,
                                   med["%s 2dev x 1thr" % choice] / med["%s 2dev x 1thr" % best]
                                   if choice in PLANS else float("nan")))
        for plan in PLANS:
            label = "%s 2dev x 1thr" % plan
            print("  %s: predicted %.3f ms, measured %.3f ms (%+.0f%%)" % (
                plan, predictions[label], med[label],
                100 * (predictions[label] - med[label]) / med[label]))

        if args.stream <= 0:
            continue
        micro = args.stream
        sb = micro * STREAM_ROWS[name]
        smodel, sdata = write_batch_model(work, name, sb)
        slibs = {"one": os.path.join(work, "%s_b%d.d1.so" % (name, sb)),
                 "data": os.path.join(work, "%s_b%d.data.so" % (name, sb)),
                 "pipeline": os.path.join(work, "%s_b%d.pipeline.so" % (name, sb))}
        sh([args.weftc, smodel, "--emit=lib", "-o", slibs["one"]])
        sh([args.weftc, smodel, "--emit=lib", "-o", slibs["data"], "--devices=cpu:2",
            "--parallel=data"] + COST)
        sh([args.weftc, smodel, "--emit=lib", "-o", slibs["pipeline"], "--devices=cpu:2",
            "--parallel=pipeline", "--micro-batches=%d" % micro] + COST)
        sconfigs = [
            ("1dev x 1thr", [args.weft_run, slibs["one"], "--threads", "1"], 1),
            ("1dev x 2thr", [args.weft_run, slibs["one"], "--threads", "2"], 2),
            ("data 2dev x 1thr", [args.weft_run, slibs["data"], "--threads", "1"], 2),
            ("pipeline 2dev x 1thr", [args.weft_run, slibs["pipeline"], "--threads", "1"], 2),
        ]
        if mpi:
            sconfigs.append(("pipeline mpi 2 ranks",
                             mpi + [args.weft_run, slibs["pipeline"], "--threads", "1"], 2))
        inproc, over_mpi, _ = predicted_pipeline_ms(args.weftc, smodel,
                                                    ["--micro-batches=%d" % micro])
        spred = {"pipeline 2dev x 1thr": inproc, "pipeline mpi 2 ranks": over_mpi}
        title = ("%s stream: batch %d, the pipeline's %d micro-batches of %d row%s" % (
            name, sb, micro, STREAM_ROWS[name], "" if STREAM_ROWS[name] == 1 else "s"))
        _, bad = measure(args, name, smodel, sdata, sconfigs, sb, title, spred)
        failed |= bad
    print("\nload average after: %.2f %.2f %.2f" % os.getloadavg())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
