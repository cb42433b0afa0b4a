#!/usr/bin/env python3
"""Compares Weft's latency with onnxruntime's (and OpenVINO's, where it is
installed) on small and real models.

Models (default: all of them):

  mlp, cnn, gemm_large,  built by test/models/make_models.py, with reference
  gemm_f16, lstm_long    outputs from onnxruntime (gemm_f16: gemm_large in
                         f16, checked within 4e-3 absolute)
  resnet50, resnet18,    exported from PyTorch by bench/export_models.py,
  mobilenet_v2,          which runs under --export-python (Debian's
  transformer,           /usr/bin/python3, the interpreter with torch); this
  bert_base,             script then writes their reference outputs
  resnext50_32x4d,       (output_0.pb) with onnxruntime
  regnet_x_400mf,
  shufflenet_v2_x1_0,
  efficientnet_b0, vit_b_16
  resnet18_qdq,          quantized from those by onnxruntime's tool (static
  mobilenet_v2_qdq,      QDQ, or dynamic: transformer_dynq, bert_base_dynq;
  resnet50_qdq,          needs `pip install ml_dtypes`), checked within
  efficientnet_b0_qdq,   the tolerances MODEL_ATOL gives them; _s8: int8
  transformer_dynq,      activations, the tool's default
  bert_base_dynq,
  resnet18_qdq_s8,       resnet18_qop: the QOperator format (QLinearConv,
  mobilenet_v2_qdq_s8,   com.microsoft QLinearAdd, QGemm...; OpenVINO does
  resnet18_qop           not run those)

Each model is compiled with `weftc --emit=lib` and the wall time of that
compile is reported. Before anything is timed, the library is run once per
thread count with `weft-run --compare` against onnxruntime's output, with
tolerance |weft - ort| <= --atol + --rtol * |ort| (default: 1e-4 absolute,
no relative part); the "check" column shows "ok" or "FAIL" and the largest
absolute difference. A mismatch is reported and the model is still timed.

Timing is done in --rounds interleaved rounds so that a change in the
machine's load while the script runs affects every engine alike. In each
round, for every thread count T, each engine runs --warmup untimed and
--runs timed inferences, with the engines taking turns at going first:

  weft   `weft-run LIB --bench N --warmup W --threads T` (its reported median;
         W raised so that the untimed runs of the fresh process last at
         least 0.2 s, from a first 5-run look at its latency)
  ort    one InferenceSession per T, kept for all rounds, with
         intra_op_num_threads=T, inter_op_num_threads=1 and all graph
         optimizations; the median of N timed session.run calls
  ov     OpenVINO, when its Python package imports and --no-openvino is not
         given: one CPU model compiled per T from the same .onnx file with
         INFERENCE_NUM_THREADS=T, NUM_STREAMS=1, PERFORMANCE_HINT=LATENCY and
         INFERENCE_PRECISION_HINT=f32 (its default on CPUs with AVX-512 BF16
         or AMX is bf16, which would not compute what the others compute);
         the median of N timed infer calls of one infer request. Its
         outputs are compared with onnxruntime's once (the "ov diff" line)
  numpy  gemm_large only: `a @ b` on f32 arrays of the MatMul's shapes, with
         OpenBLAS limited to T threads (threadpoolctl if installed,
         otherwise a subprocess with OPENBLAS_NUM_THREADS=T)

The table shows the median over rounds of each round's median, the median
of the per-round weft/ort and weft/ov ratios (each ratio pairs
measurements taken seconds apart), the lowest and highest per-round
weft/ort ratio, and GFLOP/s for
gemm_large and gemm_f16. The load average is printed before and after.

A benchmark, not a test: it exits non-zero only if something could not be
built or run, or a compiled model's output was wrong.
"""

import argparse
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_MODELS = os.path.join(HERE, os.pardir, "test", "models", "make_models.py")
EXPORT_MODELS = os.path.join(HERE, "export_models.py")

SMALL_MODELS = ("mlp", "cnn", "gemm_large", "gemm_f16", "lstm_long")  # from make_models.py
REAL_MODELS = ("resnet50", "resnet18", "mobilenet_v2", "transformer",
               "bert_base", "resnext50_32x4d", "regnet_x_400mf", "shufflenet_v2_x1_0",
               "efficientnet_b0", "vit_b_16")  # export_models.py
# Quantized with onnxruntime's quantization tool from a real model: static
# QDQ (per-channel int8 weights, uint8 activations, or int8 ones for
# static_s8, calibrated on seeded random inputs) or dynamic (int8 weights,
# MatMulInteger on uint8 activations quantized at run time).
QUANT_MODELS = {"resnet18_qdq": ("resnet18", "static"),
                "mobilenet_v2_qdq": ("mobilenet_v2", "static"),
                "resnet50_qdq": ("resnet50", "static"),
                "efficientnet_b0_qdq": ("efficientnet_b0", "static"),
                "bert_base_dynq": ("bert_base", "dynamic"),
                # int8 activations: the tool's default (S8S8).
                "resnet18_qdq_s8": ("resnet18", "static_s8"),
                "mobilenet_v2_qdq_s8": ("mobilenet_v2", "static_s8"),
                # The QOperator format: QLinearConv and com.microsoft ops.
                "resnet18_qop": ("resnet18", "qoperator"),
                "transformer_dynq": ("transformer", "dynamic")}
ALL_MODELS = SMALL_MODELS + REAL_MODELS + tuple(QUANT_MODELS)
# gemm_large is f32[512,1024] @ f32[1024,1024]: 2*M*K*N floating-point
# operations, the count its GFLOP/s columns divide by.
GEMM_LARGE_MKN = (512, 1024, 1024)
MODEL_FLOPS = {"gemm_large": 2 * GEMM_LARGE_MKN[0] * GEMM_LARGE_MKN[1] * GEMM_LARGE_MKN[2]}
MODEL_FLOPS["gemm_f16"] = MODEL_FLOPS["gemm_large"]  # the same MatMul in f16
# Outputs rounded to f16 (|y| up to about 4) may differ by a rounding step
# of 2^-9 near 4: gemm_f16 is checked within two such steps besides --atol.
MODEL_ATOL = {"gemm_f16": 4e-3}
# onnxruntime runs a QDQ model on int8 kernels whose requantization rounds
# differently from the graph's f32 QuantizeLinear (which Weft computes): its
# outputs differ from its own literal run of the graph by up to 2 output
# steps (0.023 for resnet18_qdq), as Weft's do.
MODEL_ATOL["resnet18_qdq"] = 0.05
# MobileNetV2's 52 quantized layers carry such steps further: onnxruntime's
# optimized outputs differ from its literal run by up to 7 steps of 0.0037
# (0.026), Weft's by 8 (0.029), and the two by 6 (0.022).
MODEL_ATOL["mobilenet_v2_qdq"] = 0.04
# The same measure for the others (largest |difference| of outputs whose
# largest |value| is 1.79, 0.39 and 4.2): resnet50_qdq onnxruntime
# optimized against literal 0.147, Weft against literal 0.161, against
# optimized 0.103; efficientnet_b0_qdq 0.037, 0.034, 0.034; bert_base_dynq
# (DynamicQuantizeLinear and MatMulInteger) 1.5e-3, 1.8e-4, 1.5e-3.
MODEL_ATOL["resnet50_qdq"] = 0.2
MODEL_ATOL["efficientnet_b0_qdq"] = 0.06
MODEL_ATOL["bert_base_dynq"] = 3e-3
# The int8-activation forms quantize to the same steps (zero points 128
# lower): resnet18_qdq_s8 0.012, 0.023, 0.012; mobilenet_v2_qdq_s8 as
# mobilenet_v2_qdq.
MODEL_ATOL["resnet18_qdq_s8"] = 0.05
MODEL_ATOL["mobilenet_v2_qdq_s8"] = 0.04
MODEL_ATOL["resnet18_qop"] = 0.05
ENGINES = ("weft", "ort", "ov", "numpy")
# The engines whose per-round times are paired with Weft's for a ratio.
PEERS = ("ort", "ov")

DEFAULT_EXPORT_PYTHON = "/usr/bin/python3"
EXPORT_TIMEOUT_S = 1200
RUN_TIMEOUT_S = 600

LATENCY_RE = re.compile(r"latency_ms:.*?\bmedian\s+([0-9.eE+-]+)")
NUMPY_MS_RE = re.compile(r"numpy_median_ms\s+([0-9.eE+-]+)")

# Run as `python -c` with OPENBLAS_NUM_THREADS set when threadpoolctl is not
# available: OpenBLAS reads its thread count once, when numpy loads it.
NUMPY_WORKER = """
import statistics, sys, time
import numpy as np
m, k, n, warmup, runs = map(int, sys.argv[1:6])
rng = np.random.default_rng(0)
a = rng.standard_normal((m, k), dtype=np.float32)
b = rng.standard_normal((k, n), dtype=np.float32)
for _ in range(warmup):
    a @ b
times = []
for _ in range(runs):
    start = time.perf_counter()
    a @ b
    times.append((time.perf_counter() - start) * 1e3)
print("numpy_median_ms", statistics.median(times))
"""

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

try:
    import openvino
except ImportError:
    openvino = None


def run(cmd, timeout, env=None):
    """Returns (ok, combined output) without raising, so one failing model
    still lets the others be measured."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=timeout, env=env)
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


def progress(message):
    """Progress goes to stderr, so stdout holds only the report."""
    print(f".. {message}", file=sys.stderr, flush=True)


def load_text():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def graph_inputs(model_path):
    model = onnx.load(model_path, load_external_data=False)
    init_names = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in init_names]


def load_feeds(model_path, data_dir):
    """Inputs keyed by graph input name, read from input_N.pb in graph order
    (the layout weft-run reads too, so both time the same values)."""
    feeds = {}
    for i, name in enumerate(graph_inputs(model_path)):
        tensor = onnx.load_tensor(os.path.join(data_dir, f"input_{i}.pb"))
        feeds[name] = numpy_helper.to_array(tensor)
    return feeds


def make_small_models(workdir, models):
    ok, out = run([sys.executable, MAKE_MODELS, workdir, "--models", ",".join(models)],
                  EXPORT_TIMEOUT_S)
    if not ok:
        return "make_models.py failed:\n" + last_lines(out, 20)
    return None


def export_real_models(python, workdir, models, force):
    """Runs export_models.py under `python` (the interpreter with torch);
    returns an error message or None."""
    ok, out = run([python, "-c", "import torch, torchvision, onnx"], 120)
    if not ok:
        return (f"{python} cannot import torch, torchvision and onnx, which "
                f"export_models.py needs for {', '.join(models)}:\n{last_lines(out)}\n"
                "Install them with `apt-get install python3-torch python3-torchvision "
                "python3-onnx` (Debian's /usr/bin/python3), pass --export-python, "
                "or leave these models out of --models.")
    cmd = [python, EXPORT_MODELS, workdir, "--models", ",".join(models)]
    if force:
        cmd.append("--force")
    ok, out = run(cmd, EXPORT_TIMEOUT_S)
    if not ok:
        return "export_models.py failed:\n" + last_lines(out, 20)
    return None


def make_quant_model(workdir, model):
    """Writes MODEL.onnx (int8) from its real model (QUANT_MODELS) and
    copies that model's input; returns an error message or None."""
    base, kind = QUANT_MODELS[model]
    try:
        from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                              quantize_dynamic, quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        return f"{model}: onnxruntime.quantization is unusable ({e}); pip install ml_dtypes"
    src = os.path.join(workdir, f"{base}.onnx")
    dst = os.path.join(workdir, f"{model}.onnx")
    in_dir = os.path.join(workdir, f"{base}_data", "test_data_set_0")
    out_dir = os.path.join(workdir, f"{model}_data", "test_data_set_0")
    os.makedirs(out_dir, exist_ok=True)
    shutil.copy(os.path.join(in_dir, "input_0.pb"), os.path.join(out_dir, "input_0.pb"))
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
        return None
    if kind == "dynamic":
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        return None
    name, = graph_inputs(src)[:1]
    shape = [d.dim_value for d in onnx.load(src, load_external_data=False).graph.input[0]
             .type.tensor_type.shape.dim]

    class Images(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(0)
            self.feeds = iter([{name: rng.standard_normal(shape).astype(np.float32)}
                               for _ in range(8)])

        def get_next(self):
            return next(self.feeds, None)

    pre = os.path.join(workdir, f"{model}_pre.onnx")
    quant_pre_process(src, pre)
    activations = QuantType.QInt8 if kind == "static_s8" else QuantType.QUInt8
    quantize_static(pre, dst, Images(),
                    quant_format=QuantFormat.QOperator if kind == "qoperator" else QuantFormat.QDQ,
                    activation_type=activations, weight_type=QuantType.QInt8,
                    per_channel=True)
    return None


def write_reference_outputs(model_path, data_dir):
    """Writes output_N.pb next to the inputs: onnxruntime's outputs on the
    CPU provider with default options, the reference Weft is held to."""
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    values = sess.run(names, load_feeds(model_path, data_dir))
    for i, (name, value) in enumerate(zip(names, values)):
        tensor = numpy_helper.from_array(np.asarray(value), name)
        with open(os.path.join(data_dir, f"output_{i}.pb"), "wb") as f:
            f.write(tensor.SerializeToString())


def compile_model(weftc, model_path, lib, timeout):
    """Returns (wall seconds or None, output)."""
    start = time.perf_counter()
    ok, out = run([weftc, model_path, "--emit=lib", "-o", lib], timeout)
    return (time.perf_counter() - start if ok else None), out


def max_abs_error(got_dir, ref_dir, count):
    """Largest |got - ref| over output_0.pb .. output_{count-1}.pb; inf where
    a NaN or infinity is not matched by the same value."""
    worst = 0.0
    for i in range(count):
        got = numpy_helper.to_array(onnx.load_tensor(os.path.join(got_dir, f"output_{i}.pb")))
        ref = numpy_helper.to_array(onnx.load_tensor(os.path.join(ref_dir, f"output_{i}.pb")))
        if got.shape != ref.shape:
            return float("inf")
        got = got.astype(np.float64)
        ref = ref.astype(np.float64)
        same = (got == ref) | (np.isnan(got) & np.isnan(ref))
        diff = np.where(same, 0.0, np.abs(got - ref))
        diff = np.where(np.isnan(diff), np.inf, diff)
        if diff.size:
            worst = max(worst, float(diff.max()))
    return worst


def weft_check(weft_run, lib, data_dir, threads, atol, rtol, scratch):
    """Runs `weft-run --compare`; returns (check column text, failed,
    detail for stderr)."""
    out_dir = os.path.join(scratch, f"weft-out-{threads}")
    ok, out = run([weft_run, lib, "--input-dir", data_dir, "--compare",
                   "--atol", repr(atol), "--rtol", repr(rtol), "--threads", str(threads),
                   "--output-dir", out_dir], RUN_TIMEOUT_S)
    count = len([f for f in os.listdir(data_dir)
                 if f.startswith("output_") and f.endswith(".pb")])
    err = None
    if os.path.isdir(out_dir):
        try:
            err = max_abs_error(out_dir, data_dir, count)
        except (OSError, ValueError) as e:
            out += f"\ncannot read weft-run's outputs: {e}"
    if ok:
        return f"ok {err:.1e}" if err is not None else "ok", False, ""
    if "MISMATCH" in out:
        return f"FAIL {err:.1e}" if err is not None else "FAIL", True, out
    return "error", True, out


# Untimed runs of a fresh weft-run process last at least this long. Each
# measurement starts a new process, whose worker threads the kernel first
# places beside the calling thread: for a few milliseconds they share one
# CPU, and a model of tens of microseconds (the MLP) would be timed before
# the second thread ever helps (measured: 3 of 10 runs of 3 + 20 MLP
# inferences at 2 threads took 0.030 ms, the others 0.014). onnxruntime's
# sessions live for the whole script, so they are warm already.
WEFT_WARMUP_S = 0.2


def weft_median_ms(weft_run, lib, data_dir, threads, runs, warmup):
    def bench(n, w):
        ok, out = run([weft_run, lib, "--input-dir", data_dir, "--bench", str(n),
                       "--warmup", str(w), "--threads", str(threads)], RUN_TIMEOUT_S)
        if not ok:
            return None, out
        m = LATENCY_RE.search(out)
        if not m:
            return None, "no 'latency_ms: ... median X' line in weft-run's output:\n" + out
        return float(m.group(1)), ""

    # A short first look at the latency sizes the warm-up.
    ms, err = bench(5, 1)
    if ms is None:
        return None, err
    warmup = max(warmup, math.ceil(WEFT_WARMUP_S * 1000.0 / max(ms, 1e-3)))
    return bench(runs, warmup)


def ort_session(model_path, threads):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads  # counts the calling thread, like Weft
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])


def ov_compiled(core, model_path, threads):
    """The model compiled by OpenVINO for its CPU plugin with `threads`
    inference threads, one stream, and f32 arithmetic."""
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
              "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    return core.compile_model(model_path, "CPU", config)


def ov_max_abs_diff(request, feeds, ort_outputs):
    """Largest |ov - ort| over all outputs (None if a shape differs)."""
    got_outputs = request.infer(feeds).to_tuple()
    if len(got_outputs) != len(ort_outputs):
        return None
    worst = 0.0
    for got, ref in zip(got_outputs, ort_outputs):
        got, ref = np.asarray(got), np.asarray(ref)
        if got.shape != ref.shape:
            return None
        if ref.size:
            worst = max(worst, float(np.max(np.abs(got.astype(np.float64)
                                                   - ref.astype(np.float64)))))
    return worst


def median_ms_of(fn, runs, warmup):
    """Median wall time of `runs` calls of fn after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def numpy_median_ms(threads, runs, warmup):
    """Median time of numpy's f32 `a @ b` with gemm_large's shapes on
    `threads` OpenBLAS threads; returns (ms or None, error text)."""
    m, k, n = GEMM_LARGE_MKN
    if threadpool_limits is not None:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        with threadpool_limits(limits=threads, user_api="blas"):
            return median_ms_of(lambda: a @ b, runs, warmup), ""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    ok, out = run([sys.executable, "-c", NUMPY_WORKER, str(m), str(k), str(n),
                   str(warmup), str(runs)], RUN_TIMEOUT_S, env=env)
    match = NUMPY_MS_RE.search(out) if ok else None
    if not match:
        return None, out
    return float(match.group(1)), ""


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


def median_or_none(values):
    return statistics.median(values) if values else None


def summarize(row):
    """Medians over rounds, and the per-round weft/ort ratios' median and
    range (and weft/ov's median), from the per-round samples in
    row["samples"]."""
    s = row["samples"]
    for engine in ENGINES:
        row[engine] = median_or_none(s[engine])
    # Only rounds in which both engines produced a time are paired.
    for peer in PEERS:
        ratios = [w / o for w, o in zip(s[f"weft_with_{peer}"], s[f"{peer}_paired"])]
        row[f"ratio_{peer}"] = median_or_none(ratios)
        row[f"range_{peer}"] = (min(ratios), max(ratios)) if len(ratios) > 1 else None


def print_table(rows, with_ov):
    header = ("model", "threads", "weft ms", "ort ms", "weft/ort", "ratio min-max")
    if with_ov:
        header += ("ov ms", "weft/ov")
    header += ("weft GFLOP/s", "ort GFLOP/s", "numpy GFLOP/s", "check")
    table = [header]
    for r in rows:
        flops = MODEL_FLOPS.get(r["model"])
        gflops = lambda ms: None if (ms is None or flops is None) else flops / (ms * 1e6)
        rng = r["range_ort"]
        cells = (r["model"], str(r["threads"]), fmt(r["weft"], ".3f"),
                 fmt(r["ort"], ".3f"), fmt(r["ratio_ort"], ".2f"),
                 "-" if rng is None else f"{rng[0]:.2f}-{rng[1]:.2f}")
        if with_ov:
            cells += (fmt(r["ov"], ".3f"), fmt(r["ratio_ov"], ".2f"))
        cells += (fmt(gflops(r["weft"]), ".1f"), fmt(gflops(r["ort"]), ".1f"),
                  fmt(gflops(r["numpy"]), ".1f"), r["check"])
        table.append(cells)
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
    speedup = lambda base, r, e: (f"{base[e] / r[e]:.2f}x" if base[e] and r[e] else "-")
    lines = []
    for model in dict.fromkeys(r["model"] for r in rows):
        base = by_key.get((model, base_t))
        for t in threads:
            r = by_key.get((model, t))
            if t == base_t or not base or not r:
                continue
            line = (f"  {model}: {t}-thread/{base_t}-thread speedup: "
                    f"weft {speedup(base, r, 'weft')}, ort {speedup(base, r, 'ort')}")
            if base["ov"] or r["ov"]:
                line += f", ov {speedup(base, r, 'ov')}"
            if base["numpy"] or r["numpy"]:
                line += f", numpy {speedup(base, r, 'numpy')}"
            lines.append(line)
    if lines:
        print("\nThread scaling (higher is better):")
        print("\n".join(lines))


def print_compile_times(compile_s):
    print("\nweftc --emit=lib wall time:")
    width = max(len(m) for m in compile_s)
    for model, seconds in compile_s.items():
        print(f"  {model.ljust(width)}  " + ("failed" if seconds is None else f"{seconds:.2f} s"))


def measure_model(args, model, model_path, data_dir, lib, threads, rows_out, ov_core):
    """Checks and times one compiled model (lib None: it did not build);
    appends one row per thread count to rows_out and returns the number of
    failures."""
    failures = 0
    rows = {}
    for t in threads:
        rows[t] = {"model": model, "threads": t,
                   "samples": {k: [] for k in ENGINES
                               + tuple(f"weft_with_{p}" for p in PEERS)
                               + tuple(f"{p}_paired" for p in PEERS)},
                   "check": "no build" if lib is None else ""}
    with tempfile.TemporaryDirectory(prefix="weft-check-") as scratch:
        if lib is not None:
            for t in threads:
                atol = max(args.atol, MODEL_ATOL.get(model, 0.0))
                check, failed, detail = weft_check(args.weft_run, lib, data_dir, t,
                                                   atol, args.rtol, scratch)
                rows[t]["check"] = check
                if failed:
                    failures += 1
                    print(f"{model} threads={t}: weft-run --compare failed:\n"
                          f"{last_lines(detail)}", file=sys.stderr)

    ort_outputs = None
    try:
        feeds = load_feeds(model_path, data_dir)
        sessions = {}
        for t in threads:
            sessions[t] = ort_session(model_path, t)
            # The first run allocates; not timed.
            ort_outputs = sessions[t].run(None, feeds)
    except Exception as e:  # onnxruntime raises its own exception types
        print(f"{model}: onnxruntime failed: {e}", file=sys.stderr)
        sessions = None
        failures += 1

    # OpenVINO is a reference, not the subject: a model it cannot compile
    # or run is reported and left out, not counted as a failure.
    ov_requests = None
    if ov_core is not None:
        try:
            ov_requests = {}
            for t in threads:
                ov_requests[t] = ov_compiled(ov_core, model_path, t).create_infer_request()
                ov_requests[t].infer(feeds)
            if ort_outputs is not None:
                diff = ov_max_abs_diff(ov_requests[threads[0]], feeds, ort_outputs)
                print(f"{model}: ov diff: largest |ov - ort| "
                      + ("n/a (output shapes differ)" if diff is None else f"{diff:.2g}"),
                      flush=True)
        except Exception as e:  # OpenVINO raises its own exception types
            print(f"{model}: OpenVINO failed, left out: {e}", file=sys.stderr)
            ov_requests = None

    engines = []
    if lib is not None:
        engines.append("weft")
    if sessions is not None:
        engines.append("ort")
    if ov_requests is not None:
        engines.append("ov")
    if model == "gemm_large":
        engines.append("numpy")
    broken = set()  # (engine, threads) that failed once; not retried
    for rnd in range(args.rounds):
        progress(f"{model}: round {rnd + 1}/{args.rounds}, load average {load_text()}")
        # Rotate who goes first, so no engine always runs on a warmer or
        # cooler machine than the others.
        order = engines[rnd % len(engines):] + engines[:rnd % len(engines)] if engines else []
        for t in threads:
            times = {}
            for engine in order:
                if (engine, t) in broken:
                    continue
                if engine == "weft":
                    ms, err = weft_median_ms(args.weft_run, lib, data_dir, t,
                                             args.runs, args.warmup)
                elif engine == "ort":
                    sess = sessions[t]
                    ms, err = median_ms_of(lambda: sess.run(None, feeds), args.runs,
                                           args.warmup), ""
                elif engine == "ov":
                    request = ov_requests[t]
                    ms, err = median_ms_of(lambda: request.infer(feeds), args.runs,
                                           args.warmup), ""
                else:
                    ms, err = numpy_median_ms(t, args.runs, args.warmup)
                if ms is None:
                    broken.add((engine, t))
                    failures += 1
                    if engine == "weft":
                        rows[t]["check"] = "error"
                    print(f"{model} threads={t}: {engine} timing failed:\n"
                          f"{last_lines(err)}", file=sys.stderr)
                    continue
                times[engine] = ms
                rows[t]["samples"][engine].append(ms)
            for peer in PEERS:
                if "weft" in times and peer in times:
                    rows[t]["samples"][f"weft_with_{peer}"].append(times["weft"])
                    rows[t]["samples"][f"{peer}_paired"].append(times[peer])
    for t in threads:
        summarize(rows[t])
        rows_out.append(rows[t])
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Time Weft-compiled models against onnxruntime on this CPU.",
        epilog="Timings are CPU wall-clock medians on the machine running the "
               "script; compare ratios, not absolute numbers, across machines.")
    parser.add_argument("--weftc", required=True, help="path to weftc")
    parser.add_argument("--weft-run", required=True, help="path to weft-run")
    parser.add_argument("--models", default=",".join(ALL_MODELS),
                        help="comma-separated subset of: %s (default: all)"
                        % ", ".join(ALL_MODELS))
    parser.add_argument("--runs", type=int, default=20,
                        help="timed runs per engine, thread count and round "
                        "(default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds; the table shows medians over "
                        "them (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed runs before the timed ones, per engine and "
                        "round (default: %(default)s)")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated CPU thread counts (default: %(default)s)")
    parser.add_argument("--atol", type=float, default=1e-4,
                        help="absolute tolerance of the check against onnxruntime "
                        "(default: %(default)s)")
    parser.add_argument("--rtol", type=float, default=0.0,
                        help="relative tolerance of the check (default: %(default)s)")
    parser.add_argument("--workdir", help="keep models and libraries here instead "
                        "of a temporary directory; exported models found there are "
                        "reused")
    parser.add_argument("--export-python", default=DEFAULT_EXPORT_PYTHON,
                        help="interpreter with torch, torchvision and onnx that runs "
                        "export_models.py (default: %(default)s)")
    parser.add_argument("--force-export", action="store_true",
                        help="export the PyTorch models again even if --workdir "
                        "has them")
    parser.add_argument("--no-openvino", action="store_true",
                        help="leave OpenVINO out even if its Python package is "
                        "installed")
    parser.add_argument("--compile-timeout", type=int, default=1800,
                        help="seconds one weftc run may take (default: %(default)s)")
    args = parser.parse_args(argv)

    try:
        threads = sorted({int(t) for t in args.threads.split(",") if t})
    except ValueError:
        parser.error("--threads takes integers, e.g. 1,2")
    if not threads or min(threads) < 1:
        parser.error("--threads needs positive thread counts")
    if args.runs < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--runs and --rounds must be at least 1, --warmup at least 0")
    if not (args.atol >= 0 and args.rtol >= 0):
        parser.error("--atol and --rtol must be non-negative")
    models = list(dict.fromkeys(m for m in args.models.split(",") if m))
    unknown = [m for m in models if m not in ALL_MODELS]
    if unknown or not models:
        parser.error("unknown model(s): %s; known: %s"
                     % (", ".join(unknown) or "(none given)", ", ".join(ALL_MODELS)))

    with tempfile.TemporaryDirectory(prefix="weft-bench-") as tmp:
        workdir = os.path.abspath(args.workdir or tmp)
        os.makedirs(workdir, exist_ok=True)
        small = [m for m in models if m in SMALL_MODELS]
        quant = [m for m in models if m in QUANT_MODELS]
        real = [m for m in models if m in REAL_MODELS]
        real += [b for b in dict.fromkeys(QUANT_MODELS[m][0] for m in quant) if b not in real]
        if small:
            progress(f"writing {', '.join(small)} with make_models.py")
            error = make_small_models(workdir, small)
            if error:
                print(error, file=sys.stderr)
                return 1
        if real:
            progress(f"exporting {', '.join(real)} with {args.export_python}")
            error = export_real_models(args.export_python, workdir, real,
                                       args.force_export)
            if error:
                print(error, file=sys.stderr)
                return 1
            for model in real:
                write_reference_outputs(
                    os.path.join(workdir, f"{model}.onnx"),
                    os.path.join(workdir, f"{model}_data", "test_data_set_0"))
        for model in quant:
            progress(f"quantizing {QUANT_MODELS[model][0]} ({QUANT_MODELS[model][1]}, int8)")
            error = make_quant_model(workdir, model)
            if error:
                print(f"{error}; left out", file=sys.stderr)
                models.remove(model)
                continue
            write_reference_outputs(os.path.join(workdir, f"{model}.onnx"),
                                    os.path.join(workdir, f"{model}_data", "test_data_set_0"))

        cpus = os.cpu_count()
        ov_core = None
        if openvino is not None and not args.no_openvino:
            ov_core = openvino.Core()
        ov_text = (f", OpenVINO {openvino.__version__} (f32)" if ov_core is not None
                   else "")
        print(f"Weft vs onnxruntime {ort.__version__}{ov_text} and numpy {np.__version__}: "
              f"median over {args.rounds} interleaved rounds of the median of "
              f"{args.runs} runs, CPU wall-clock on this machine ({cpu_description()}).")
        # Other work on the machine skews multi-thread cells most; say so.
        print(f"Load average (1, 5, 15 min) at start: {load_text()}")
        if max(threads) > (cpus or 1):
            print(f"note: {max(threads)} threads requested on {cpus} CPUs; "
                  "those cells measure oversubscription.")
        if "gemm_large" in models:
            print("numpy threads set with "
                  + ("threadpoolctl" if threadpool_limits else
                     "OPENBLAS_NUM_THREADS in a subprocess (no threadpoolctl)"))
        print(f"check: |weft - ort| <= {args.atol:g} + {args.rtol:g} * |ort|, "
              "with the largest |weft - ort|")
        if ov_core is None:
            print("OpenVINO: " + ("left out (--no-openvino)" if openvino is not None
                                  else "not installed (pip install openvino)"))
        print("weft/ort" + (", weft/ov" if ov_core is not None else "")
              + ": median of per-round ratios; < 1 means Weft is faster.\n",
              flush=True)

        # Loads weftc and its shared libraries once, untimed, so the first
        # model's compile time does not include reading them from disk.
        run([args.weftc, "--version"], 120)
        rows, compile_s, failures = [], {}, 0
        for model in models:
            model_path = os.path.join(workdir, f"{model}.onnx")
            data_dir = os.path.join(workdir, f"{model}_data", "test_data_set_0")
            lib = os.path.join(workdir, f"{model}.so")
            progress(f"{model}: compiling, load average {load_text()}")
            seconds, out = compile_model(args.weftc, model_path, lib, args.compile_timeout)
            compile_s[model] = seconds
            if seconds is None:
                print(f"{model}: weftc failed:\n{last_lines(out)}", file=sys.stderr)
                failures += 1
                lib = None
            else:
                progress(f"{model}: weftc took {seconds:.2f} s")
            failures += measure_model(args, model, model_path, data_dir, lib,
                                      threads, rows, ov_core)

        print_table(rows, ov_core is not None)
        print_scaling(rows, threads)
        print_compile_times(compile_s)
        print(f"\nLoad average (1, 5, 15 min) at end: {load_text()}")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
