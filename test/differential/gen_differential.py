#!/usr/bin/env python3
"""Differential test of Weft against onnxruntime, one small graph at a time.

Builds a small ONNX graph (one op, sometimes two chained) for every op that
Weft's importer converts, over the element types ONNX allows for it and the
attribute variants the converter handles, fills each with edge values
(integer extremes, uint8 >= 128, NaN, +-Inf, -0.0, denormals, empty and rank-0
tensors, size-1 broadcasts) and seeded random values, and computes the
reference outputs with onnxruntime (CPUExecutionProvider, graph optimizations
off). Each case directory follows the ONNX backend-test layout:

  CASE/model.onnx
  CASE/test_data_set_K/input_N.pb, output_N.pb   (K = 0: edge values, 1: random)

Every graph is compiled with `weftc model.onnx -o model.so --emit=lib`, every
data set run with `weft-run model.so --input-dir test_data_set_K --output-dir
OUT`, and the outputs compared here: integers and bools exactly, floats within
a tolerance per element type, NaN where the reference has NaN, infinities with
their sign. Data-movement ops (Reshape, Transpose, Slice, ...) and Cast between
float types are compared bit-exactly except for NaN payloads, so they also
check the sign of zero.

Each graph ends in one status:
  PASS              every output of every data set matched
  MISMATCH          an output differs (first differing index and values shown)
  COMPILE-REJECTED  weftc refused the model with a diagnostic
  RUN-REJECTED      weft-run refused the inputs with an error message
  CRASH             a signal, an LLVM fatal error or assertion, a timeout, or
                    a tool failing without saying why: always a failure
  ORT-REJECTED      onnxruntime refused the model or its inputs: skipped
  ACCEPTED-INVALID  weftc compiled an Invalid.* model, one ONNX rejects

When onnxruntime lacks a kernel for the case's element types, the reference
runs the op on exactly-representing wider types and casts the result back.

The expected-results list (--expected, default expected.txt next to this
script) names the graphs known to be rejected or to mismatch, with a reason.
A run fails (exit 1) on anything unexpected: an unlisted mismatch or
rejection, any crash, or a listed graph that now passes or fails differently.

The last line is the summary:
  differential: G graphs, C comparisons, P passed, M mismatches (K expected),
  R rejected, X crashes, U unexpected
where G counts the graphs run, C the output tensors compared (outputs times
data sets), P and M those comparisons, R and X graphs, and U graphs whose
result the list did not predict. README.md next to this script describes the
comparison rules and the onnxruntime quirks the list records.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper, shape_inference
    import onnxruntime as ort
except ImportError as e:  # pragma: no cover - reported to the user
    print(f"error: gen_differential.py needs onnx and onnxruntime: {e}", file=sys.stderr)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_EXPECTED = os.path.join(HERE, "expected.txt")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diff_model import *  # noqa: E402,F401,F403 (types, values, cases)
from diff_model import _np_name  # noqa: E402
from diff_cases import *  # noqa: E402,F401,F403 (the generators)

# ---------------------------------------------------------------------------
# Models, data sets and the onnxruntime reference
# ---------------------------------------------------------------------------


def tensor_proto(arr, name, typed=False):
    if not typed:
        return numpy_helper.from_array(arr, name)
    d = ONNX_TO_DTYPE_BY_NP[arr.dtype]
    flat = arr.reshape(-1)
    if d.name == "f16":
        # helper.make_tensor stores float16 bit patterns in int32_data.
        vals = flat.view(np.uint16).astype(np.int32).tolist()
        t = TensorProto(name=name, data_type=d.onnx, dims=list(arr.shape))
        t.int32_data.extend(vals)
        return t
    return helper.make_tensor(name, d.onnx, list(arr.shape), flat.tolist(), raw=False)


ONNX_TO_DTYPE_BY_NP = {d.np: d for d in DTYPES.values()}


def build_model(case, promote=None):
    """The case's model, shape-inferred. With `promote` (a map from element
    type name to a wider one) every tensor of a promoted type is cast up on
    the way in and the outputs cast back: the reference graph for an op that
    onnxruntime implements only for wider types."""
    promote = promote or {}
    nodes, inits = [], []
    renamed = {}
    for i in case.inputs:
        if i.dtype in promote:
            renamed[i.name] = f"{i.name}__wide"
            nodes.append(helper.make_node("Cast", [i.name], [renamed[i.name]], name=f"widen_{i.name}",
                                          to=dt(promote[i.dtype]).onnx))
    for c in case.consts:
        name = _np_name(c.value)
        value = c.value.astype(dt(promote[name]).np) if name in promote else c.value
        inits.append(tensor_proto(value, c.name, c.typed))
    out_types = {}
    if promote:
        original = build_model(case)
        out_types = {o.name: o.type.tensor_type.elem_type for o in original.graph.output}
    for k, (op, ins, outs, attrs) in enumerate(case.nodes):
        ins = [renamed.get(n, n) for n in ins]
        if promote:
            outs = [f"{o}__wide" if o in case.outputs else o for o in outs]
        nodes.append(helper.make_node(op, ins, outs, name=f"{op.lower()}_{k}", **attrs))
    if promote:
        for o in case.outputs:
            nodes.append(helper.make_node("Cast", [f"{o}__wide"], [o], name=f"narrow_{o}", to=out_types[o]))
    inputs = [helper.make_tensor_value_info(i.name, dt(i.dtype).onnx, list(i.shape)) for i in case.inputs]
    if case.invalid:
        # One symbolic dimension: the checker wants a shape, and a symbolic
        # one leaves the output's real shape unchecked.
        outputs = [helper.make_tensor_value_info(o, dt(case.out_types.get(o, "f32")).onnx, [f"{o}_dim"])
                   for o in case.outputs]
    else:
        outputs = [helper.make_value_info(o, onnx.TypeProto()) for o in case.outputs]
    graph = helper.make_graph(nodes, case.name.replace(".", "_"), inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)],
                              producer_name="weft-differential")
    if case.opset <= 17:
        model.ir_version = 8
    if case.invalid:
        return model
    return shape_inference.infer_shapes(model, strict_mode=True)


# Ops that only move data: any element type can stand in for another that
# holds the same values, bool included.
DATA_MOVEMENT = {"Reshape", "Transpose", "Concat", "Slice", "Split", "Tile", "Expand", "Gather", "Pad",
                 "Squeeze", "Unsqueeze", "Flatten", "Identity", "Trilu", "DepthToSpace", "SpaceToDepth",
                 "MaxPool", "GlobalMaxPool", "Max", "Min", "ReduceMax", "ReduceMin"}

# Reference graphs tried, in order, when onnxruntime has no kernel for the
# case's own types. Every promotion holds the narrow values exactly, and
# casting the wide result back gives what the narrow op would (integer
# wrap-around included: the low bits of a wide sum are the narrow sum).
PROMOTIONS = [
    {"f16": "f32", "i8": "i32", "i16": "i32", "u8": "i32", "u16": "i32", "u32": "i64"},
    {"f16": "f64", "f32": "f64", "i8": "f64", "i16": "f64", "i32": "f64", "u8": "f64", "u16": "f64",
     "u32": "f64", "bool": "f64"},
    {"f16": "f32", "i8": "f32", "i16": "f32", "u8": "f32", "u16": "f32", "bool": "f32"},
]


def promotions_for(case):
    if len(case.nodes) != 1:
        return []
    op = case.nodes[0][0]
    plans = []
    for k, plan in enumerate(PROMOTIONS):
        if k > 0 and op not in DATA_MOVEMENT:
            break
        used = {i.dtype for i in case.inputs} | {_np_name(c.value) for c in case.consts}
        if any(t in plan for t in used):
            plans.append(plan)
    return plans


def case_rng(seed, case, dataset):
    """Data set 0 (the edge values) depends on the case alone, so the expected
    list holds whatever the seed; --seed varies the random data set 1."""
    return np.random.default_rng([seed if dataset else 0, zlib.crc32(case.name.encode()), dataset])


def make_datasets(case, seed):
    if case.data is not None:
        return [{k: np.asarray(v) for k, v in ds.items()} for ds in case.data]
    sets = []
    for k in range(2):
        rng = case_rng(seed, case, k)
        values = {}
        for i in case.inputs:
            d = dt(i.dtype)
            if isinstance(i.domain, tuple) and i.domain[0] == "like":
                src = values[i.domain[1]]
                fresh = make_values(d, i.shape, "any", rng, k)
                if src.shape == tuple(i.shape):
                    keep = rng.integers(0, 2, src.shape).astype(bool)
                    values[i.name] = np.where(keep, src, fresh).astype(d.np)
                else:
                    values[i.name] = fresh
            else:
                bound = ACCUMULATE_BOUND.get(i.dtype) if case.accumulate else None
                values[i.name] = make_values(d, i.shape, i.domain, rng, k, bound)
        sets.append(values)
    return sets


def ort_reference(model, datasets):
    """The outputs per data set, or raises with onnxruntime's message."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    results = []
    for ds in datasets:
        outs = sess.run(names, ds)
        results.append([np.asarray(o) for o in outs])
    return results


# ---------------------------------------------------------------------------
# Running the tools
# ---------------------------------------------------------------------------

CRASH_MARKERS = ("Stack dump:", "PLEASE submit a bug report", "LLVM ERROR:", "Assertion `",
                 "Segmentation fault", "core dumped", "AddressSanitizer", "terminate called",
                 "UNREACHABLE executed")
SIGNAL_EXITS = {128 + s for s in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL,
                                  signal.SIGFPE, signal.SIGKILL)}
MAX_OUTPUT = 32 * 1024


class Tools:
    """Runs weftc and weft-run in their own process groups and remembers the
    live ones so an interrupted run can stop exactly what it started."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live = set()
        self.stopping = False

    def run(self, cmd, timeout, cwd):
        with self.lock:
            if self.stopping:
                return 127, "interrupted"
            try:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
            except OSError as e:
                return 127, f"cannot run {cmd[0]}: {e}"
            self.live.add(proc)
        try:
            out, _ = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            self._kill(proc)
            out, _ = proc.communicate()
            rc = None
        finally:
            with self.lock:
                self.live.discard(proc)
        text = out.decode("utf-8", errors="replace")
        if len(text) > MAX_OUTPUT:
            text = text[:MAX_OUTPUT] + "\n[... output truncated ...]"
        return rc, text

    @staticmethod
    def _kill(proc):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stop_all(self):
        with self.lock:
            self.stopping = True
            for proc in self.live:
                self._kill(proc)


def crashed(rc, output):
    if rc is not None and (rc < 0 or rc in SIGNAL_EXITS):
        return True
    return any(m in output for m in CRASH_MARKERS)


def exit_text(rc):
    if rc is None:
        return "timed out"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit code {rc}"


def key_line(output, pattern):
    lines = [l.strip() for l in output.splitlines() if l.strip()]
    for line in lines:
        if re.search(pattern, line, re.IGNORECASE):
            return line
    return lines[0] if lines else ""


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------


def tolerance(case, dtype_name):
    rtol, atol = TOLERANCE.get(dtype_name, (0.0, 0.0))
    if case.rtol is not None:
        rtol = case.rtol
    if case.atol is not None:
        atol = case.atol
    return rtol, atol


def compare(case, got, want):
    """None when got matches want, else a dict describing the first difference."""
    if got.dtype != want.dtype:
        return {"reason": f"element type {_np_name(got)} but onnxruntime gives {_np_name(want)}",
                "max_abs_err": None}
    if got.shape != want.shape:
        return {"reason": f"shape {list(got.shape)} but onnxruntime gives {list(want.shape)}",
                "max_abs_err": None}
    if got.size == 0:
        return None
    name = _np_name(want)
    if want.dtype.kind != "f":
        bad = got != want
        max_err = None
        if want.dtype.kind in "iu":
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            max_err = float(diff.max())
        return _difference(bad, got, want, max_err, "values differ") if bad.any() else None
    g64, w64 = got.astype(np.float64), want.astype(np.float64)
    gnan, wnan = np.isnan(g64), np.isnan(w64)
    if case.exact:
        # Bit-exact apart from NaN payloads: the sign of zero counts.
        same = (gnan & wnan) | ((g64 == w64) & (np.signbit(g64) == np.signbit(w64)))
        bad = ~same
    else:
        rtol, atol = tolerance(case, name)
        finite = np.isfinite(w64)
        if case.accumulate and finite.any():
            atol = atol + rtol * float(np.abs(w64[finite]).max())
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.abs(g64 - w64) <= atol + rtol * np.abs(w64)
        inf_same = np.isinf(w64) & (g64 == w64)
        bad = ~((gnan & wnan) | inf_same | (close & ~gnan & ~wnan & np.isfinite(g64) & finite))
    if not bad.any():
        return None
    both = ~gnan & ~wnan & np.isfinite(g64) & np.isfinite(w64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(g64 - w64)[both & bad]
    max_err = float(err.max()) if err.size else None
    return _difference(bad, got, want, max_err, "values differ")


def _scalar_text(v):
    if isinstance(v, (np.floating, float)):
        f = float(v)
        if f == 0.0 and math.copysign(1.0, f) < 0:
            return "-0.0"
        return repr(f) if not (math.isnan(f) or math.isinf(f)) else str(f)
    if isinstance(v, (np.bool_, bool)):
        return str(bool(v))
    return str(int(v))


def _difference(bad, got, want, max_err, reason):
    flat = np.flatnonzero(bad.reshape(-1))
    first = int(flat[0])
    index = tuple(int(i) for i in np.unravel_index(first, want.shape)) if want.ndim else ()
    return {"reason": reason, "count": int(bad.sum()), "total": int(bad.size), "max_abs_err": max_err,
            "index": list(index), "flat_index": first,
            "weft": _scalar_text(got.reshape(-1)[first]), "ort": _scalar_text(want.reshape(-1)[first]),
            "examples": [(list(int(i) for i in np.unravel_index(int(j), want.shape)) if want.ndim else [],
                          _scalar_text(got.reshape(-1)[j]), _scalar_text(want.reshape(-1)[j]))
                         for j in flat[:4]]}


# ---------------------------------------------------------------------------
# One case, end to end
# ---------------------------------------------------------------------------

PASS = "PASS"
MISMATCH = "MISMATCH"
COMPILE_REJECTED = "COMPILE-REJECTED"
RUN_REJECTED = "RUN-REJECTED"
CRASH = "CRASH"
ORT_REJECTED = "ORT-REJECTED"
HARNESS_ERROR = "HARNESS-ERROR"
ACCEPTED_INVALID = "ACCEPTED-INVALID"


class Result:
    def __init__(self, case, status, detail=""):
        self.case = case
        self.status = status
        self.detail = detail
        self.comparisons = 0
        self.mismatches = 0
        self.diffs = []          # [(dataset, output, diff dict, inputs at the index)]
        self.seconds = 0.0
        self.expected = None     # the matching expected-list entry, if any
        self.reference_note = ""  # how the reference was computed, if not directly
        self.outcome = ""        # ok / expected / unexpected / skipped


def inputs_at(case, ds, flat_index, out_shape):
    """The input values feeding an elementwise output position, for reports."""
    vals = {}
    for i in case.inputs:
        arr = ds[i.name]
        if arr.shape == tuple(out_shape) and arr.size:
            vals[i.name] = _scalar_text(arr.reshape(-1)[flat_index])
        elif arr.size and arr.size <= 8:
            vals[i.name] = [_scalar_text(v) for v in arr.reshape(-1)]
    return vals


def run_case(case, opts, tools):
    start = time.monotonic()
    work = os.path.join(opts.workdir, case.name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        result = _run_case(case, opts, tools, work)
    except Exception as e:  # a generator bug must not hide the other results
        import traceback
        result = Result(case, HARNESS_ERROR, f"{e!r}: {traceback.format_exc(limit=3)}")
    result.seconds = time.monotonic() - start
    classify(result, opts.entries)
    if opts.keep == "none" or (opts.keep == "failures" and result.outcome != "unexpected"):
        shutil.rmtree(work, ignore_errors=True)
    return result


def _run_case(case, opts, tools, work):
    if case.invalid:
        return _run_invalid(case, opts, tools, work)
    try:
        model = build_model(case)
    except Exception as e:
        r = Result(case, ORT_REJECTED, f"ONNX shape inference: {str(e).strip().splitlines()[0]}")
        return r
    datasets = make_datasets(case, opts.seed)
    reference_note = ""
    try:
        refs = ort_reference(model, datasets)
    except Exception as e:
        msg = " ".join(str(e).split())
        refs = None
        if "NOT_IMPLEMENTED" in msg:
            for plan in promotions_for(case):
                try:
                    refs = ort_reference(build_model(case, plan), datasets)
                except Exception:
                    continue
                used = sorted({i.dtype for i in case.inputs} | {_np_name(c.value) for c in case.consts})
                reference_note = "reference computed via " + ", ".join(
                    f"{t}->{plan[t]}" for t in used if t in plan)
                break
        if refs is None:
            return Result(case, ORT_REJECTED, msg[:300])
    model_path = os.path.join(work, "model.onnx")
    onnx.save(model, model_path)
    set_dirs = []
    for k, (ds, ref) in enumerate(zip(datasets, refs)):
        d = os.path.join(work, f"test_data_set_{k}")
        os.makedirs(d)
        for n, i in enumerate(case.inputs):
            _write(tensor_proto(ds[i.name], i.name, case.typed_io), os.path.join(d, f"input_{n}.pb"))
        for n, (name, arr) in enumerate(zip(case.outputs, ref)):
            _write(tensor_proto(arr, name, case.typed_io), os.path.join(d, f"output_{n}.pb"))
        set_dirs.append(d)

    lib, failed = _compile(case, opts, tools, work, model_path)
    if failed:
        return failed

    result = Result(case, PASS)
    result.reference_note = reference_note
    for k, d in enumerate(set_dirs):
        out_dir = os.path.join(work, f"out_{k}")
        rc, out = tools.run([opts.weft_run, lib, "--input-dir", d, "--output-dir", out_dir] + opts.weft_run_args,
                            opts.run_timeout, work)
        if rc is None:
            return _fail(result, CRASH, f"test_data_set_{k}: weft-run timed out after {opts.run_timeout:g} s")
        if crashed(rc, out):
            return _fail(result, CRASH, f"test_data_set_{k}: weft-run {exit_text(rc)}: "
                         + key_line(out, r"error|Assertion|Stack dump"))
        if rc != 0:
            return _fail(result, RUN_REJECTED, f"test_data_set_{k}: " + key_line(out, r"error"))
        for n, (name, want) in enumerate(zip(case.outputs, refs[k])):
            path = os.path.join(out_dir, f"output_{n}.pb")
            if not os.path.isfile(path):
                return _fail(result, CRASH, f"test_data_set_{k}: weft-run exited 0 but wrote no output_{n}.pb")
            t = TensorProto()
            with open(path, "rb") as f:
                t.ParseFromString(f.read())
            if t.data_type not in ONNX_TO_DTYPE:
                got = None
                diff = {"reason": f"element type {TensorProto.DataType.Name(t.data_type)} "
                                  f"but onnxruntime gives {_np_name(want)}", "max_abs_err": None}
            else:
                got = numpy_helper.to_array(t)
                diff = compare(case, got, want)
            result.comparisons += 1
            if diff is None:
                continue
            result.mismatches += 1
            at = {}
            if "flat_index" in diff:
                at = inputs_at(case, datasets[k], diff["flat_index"], want.shape)
            result.diffs.append((k, name, diff, at))
    if result.mismatches:
        result.status = MISMATCH
        result.detail = format_diff(*result.diffs[0])
        if reference_note:
            result.detail += f" [{reference_note}]"
    return result


def _compile(case, opts, tools, work, model_path):
    """Runs weftc; returns (library path, None) or (None, failed Result)."""
    lib = os.path.join(work, "model.so")
    rc, out = tools.run([opts.weftc, model_path, "-o", lib, "--emit=lib"] + opts.weftc_args,
                        opts.compile_timeout, work)
    if rc is None:
        return None, Result(case, CRASH, f"weftc timed out after {opts.compile_timeout:g} s")
    if crashed(rc, out):
        return None, Result(case, CRASH, f"weftc {exit_text(rc)}: "
                            + key_line(out, r"LLVM ERROR|Assertion|Stack dump|error|UNREACHABLE"))
    if rc != 0:
        if re.search(r"error", out, re.IGNORECASE):
            return None, Result(case, COMPILE_REJECTED, key_line(out, r"error"))
        return None, Result(case, CRASH, f"weftc {exit_text(rc)} without a diagnostic")
    if not os.path.isfile(lib):
        return None, Result(case, CRASH, "weftc exited 0 but wrote no library")
    return lib, None


def _run_invalid(case, opts, tools, work):
    model_path = os.path.join(work, "model.onnx")
    onnx.save(build_model(case), model_path)
    lib, failed = _compile(case, opts, tools, work, model_path)
    if failed:
        return failed
    return Result(case, ACCEPTED_INVALID, "weftc compiled a model that ONNX and onnxruntime reject")


def _fail(result, status, detail):
    result.status, result.detail = status, detail
    return result


def _write(proto, path):
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def format_diff(k, name, diff, at):
    text = f"test_data_set_{k} output '{name}': {diff['reason']}"
    if "count" in diff:
        text += f" ({diff['count']}/{diff['total']} elements"
        if diff["max_abs_err"] is not None:
            text += f", max abs err {diff['max_abs_err']:.4g}"
        text += f"); first at {diff['index']}: weft {diff['weft']} vs ort {diff['ort']}"
        if at:
            text += " (inputs " + ", ".join(f"{k2}={v}" for k2, v in at.items()) + ")"
    return text


# ---------------------------------------------------------------------------
# The expected-results list
# ---------------------------------------------------------------------------
#
# One entry per line:  PATTERN  KIND  REASON...
# PATTERN is a case name or an fnmatch pattern (Add.u8.*); KIND is
# `rejected` (weftc or weft-run refused it), `mismatch`, or `fails` (either).
# The first matching line wins; '#' starts a comment.

KINDS = {"rejected": {COMPILE_REJECTED, RUN_REJECTED}, "mismatch": {MISMATCH},
         "fails": {COMPILE_REJECTED, RUN_REJECTED, MISMATCH}}


class Expectation:
    def __init__(self, pattern, kind, reason, line):
        self.pattern, self.kind, self.reason, self.line = pattern, kind, reason, line
        self.used = False


def read_expected(path):
    entries = []
    if not path:
        return entries
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split(None, 2)
            if len(parts) < 3 or parts[1] not in KINDS:
                raise SystemExit(f"error: {path}:{lineno}: expected 'PATTERN KIND REASON' with KIND one of "
                                 f"{', '.join(KINDS)}")
            entries.append(Expectation(parts[0], parts[1], parts[2], lineno))
    return entries


def find_expectation(entries, name):
    for e in entries:
        if fnmatch.fnmatchcase(name, e.pattern):
            return e
    return None


def classify(result, entries):
    e = find_expectation(entries, result.case.name)
    result.expected = e
    if e:
        e.used = True
    if result.status == ORT_REJECTED:
        result.outcome = "skipped"
    elif result.case.invalid:
        result.outcome = "ok" if result.status == COMPILE_REJECTED else "unexpected"
    elif result.status in (CRASH, HARNESS_ERROR):
        result.outcome = "unexpected"
    elif result.status == PASS:
        result.outcome = "unexpected" if e else "ok"
    elif e and result.status in KINDS[e.kind]:
        result.outcome = "expected"
    else:
        result.outcome = "unexpected"


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


# Ops whose outputs the run sizes: weftc compiles them for the CPU target
# only (a CUDA target refuses them with a diagnostic).
CPU_ONLY_OPS = {"NonZero", "Compress", "Unique", "NonMaxSuppression"}


def other_target(args):
    return any(a.startswith("--target=") and a != "--target=cpu" for a in args.weftc_args)


def select_cases(cases, args):
    if other_target(args):
        cases = [c for c in cases if not any(n[0] in CPU_ONLY_OPS for n in c.nodes)]
    if args.ops:
        wanted = {o.strip() for o in args.ops.split(",") if o.strip()}
        cases = [c for c in cases if c.op in wanted or any(n[0] in wanted for n in c.nodes)]
    if args.filter:
        rx = re.compile(args.filter)
        cases = [c for c in cases if rx.search(c.name)]
    limit = None
    if args.max_cases is not None:
        limit = args.max_cases
    elif args.subset is not None:
        limit = max(1, int(round(len(cases) * args.subset)))
    if limit is not None and limit < len(cases):
        # Stratified by op so that a small subset still touches every op:
        # round-robin over the ops, each op's cases in a seeded order.
        rng = np.random.default_rng([args.seed, 0x5eed])
        by_op = {}
        for c in cases:
            by_op.setdefault(c.op, []).append(c)
        queues = []
        for op in sorted(by_op):
            group = by_op[op]
            queues.append([group[i] for i in rng.permutation(len(group))])
        order = [queues[i] for i in rng.permutation(len(queues))]
        picked = []
        while len(picked) < limit:
            progressed = False
            for q in order:
                if q and len(picked) < limit:
                    picked.append(q.pop(0))
                    progressed = True
            if not progressed:
                break
        keep = {c.name for c in picked}
        cases = [c for c in cases if c.name in keep]
    return cases


def find_tool(value, default_name):
    if value is None:
        value = os.path.join(HERE, os.pardir, os.pardir, "build", "bin", default_name)
    if os.sep not in value:
        return shutil.which(value) or value
    return os.path.abspath(value)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--weftc", help="weftc to test (default: build/bin/weftc of this checkout; "
                   "a bare name is looked up on PATH)")
    p.add_argument("--weft-run", help="weft-run to use (default: build/bin/weft-run)")
    p.add_argument("--workdir", help="where case directories go; kept afterwards "
                   "(default: a temporary directory, removed afterwards)")
    p.add_argument("--keep", choices=["all", "failures", "none"],
                   help="which case directories to keep: all (the default with --workdir), "
                        "failures (the unexpected ones), none (the default without --workdir)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the random data set (test_data_set_1) and of the subset; "
                        "the edge-value data set does not depend on it")
    p.add_argument("--subset", type=float, metavar="FRACTION",
                   help="run a seeded, per-op stratified fraction of the cases")
    p.add_argument("--max-cases", type=int, metavar="N",
                   help="run at most N cases (seeded, per-op stratified)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="cases run in parallel (default: 1)")
    p.add_argument("--ops", help="only cases of these ops (comma-separated ONNX op types)")
    p.add_argument("--filter", metavar="REGEX", help="only cases whose name matches REGEX")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("--expected", default=DEFAULT_EXPECTED, metavar="FILE",
                   help="expected-results list (default: %(default)s); '' for none")
    p.add_argument("--report", metavar="FILE", help="write every case's result as JSON")
    p.add_argument("--compile-timeout", type=float, default=120.0)
    p.add_argument("--run-timeout", type=float, default=60.0)
    p.add_argument("--weftc-arg", action="append", default=[], dest="weftc_args", metavar="ARG",
                   help="extra weftc argument (repeatable)")
    p.add_argument("--weft-run-arg", action="append", default=[], dest="weft_run_args", metavar="ARG",
                   help="extra weft-run argument (repeatable), e.g. --weft-run-arg=--threads=2")
    p.add_argument("-v", "--verbose", action="store_true", help="a line for every case, not only the unexpected")
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error("-j must be at least 1")
    if args.subset is not None and not 0 < args.subset <= 1:
        p.error("--subset takes a fraction in (0, 1]")
    if args.subset is not None and args.max_cases is not None:
        p.error("give --subset or --max-cases, not both")
    if args.max_cases is not None and args.max_cases < 1:
        p.error("--max-cases must be at least 1")
    args.weftc = find_tool(args.weftc, "weftc")
    args.weft_run = find_tool(args.weft_run, "weft-run")
    return args


def _stamp(path):
    try:
        st = os.stat(path)
        return (st.st_mtime_ns, st.st_size)
    except OSError:
        return None


def result_line(r):
    tag = {"ok": "", "expected": "EXPECTED ", "unexpected": "UNEXPECTED ", "skipped": "SKIPPED "}[r.outcome]
    text = f"{tag}{r.status}: {r.case.name}"
    if r.detail:
        text += f": {r.detail}"
    if r.outcome == "unexpected" and r.expected:
        text += f" [listed as {r.expected.kind} on line {r.expected.line}: {r.expected.reason}]"
    if r.outcome == "unexpected" and r.status != PASS:
        text += f"\n    case: {r.case.describe()}"
        for k, name, diff, at in r.diffs[1:4]:
            text += "\n    also " + format_diff(k, name, diff, at)
    return text


def write_report(path, results):
    rows = []
    for r in sorted(results, key=lambda r: r.case.name):
        rows.append({"case": r.case.name, "op": r.case.op, "status": r.status, "outcome": r.outcome,
                     "detail": r.detail, "describe": r.case.describe(), "comparisons": r.comparisons,
                     "mismatches": r.mismatches, "seconds": round(r.seconds, 3),
                     "expected": r.expected.reason if r.expected else None,
                     "reference": r.reference_note,
                     "diffs": [{"data_set": k, "output": n, "diff": d, "inputs_at": a}
                               for k, n, d, a in r.diffs]})
    with open(path, "w") as f:
        json.dump({"cases": rows}, f, indent=1)
        f.write("\n")


def main(argv=None):
    args = parse_args(argv)
    cases = select_cases(generate_cases(), args)
    if args.list:
        for c in cases:
            print(f"{c.name}: {c.describe()}")
        print(f"{len(cases)} cases, {len({c.op for c in cases})} ops")
        return 0
    if not cases:
        print("error: no cases selected", file=sys.stderr)
        return 2
    for tool in (args.weftc, args.weft_run):
        if not os.access(tool, os.X_OK):
            print(f"error: {tool} is not an executable", file=sys.stderr)
            return 2
    entries = read_expected(args.expected) if args.expected else []

    own = args.workdir is None
    if args.keep is None:
        args.keep = "none" if own else "all"
    args.entries = entries
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="weft-differential-"))
    os.makedirs(args.workdir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda s, f: signal.default_int_handler(s, f))
    tools = Tools()
    results = []
    start = time.monotonic()
    stamps = {t: _stamp(t) for t in (args.weftc, args.weft_run)}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {pool.submit(run_case, c, args, tools): c for c in cases}
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            results.append(r)
            if args.verbose or r.outcome == "unexpected":
                print(result_line(r), flush=True)
    except KeyboardInterrupt:
        tools.stop_all()
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if own and args.keep == "none":
            shutil.rmtree(args.workdir, ignore_errors=True)

    for tool, stamp in stamps.items():
        if _stamp(tool) != stamp:
            print(f"warning: {tool} changed while the cases ran; results may mix two builds", file=sys.stderr)
    kept = sum(1 for r in results if r.outcome == "unexpected") if args.keep == "failures" else 0
    if kept:
        print(f"note: the directories of the {kept} unexpected cases are in {args.workdir}")
    if args.report:
        write_report(args.report, results)
    ran = [r for r in results if r.status != ORT_REJECTED]
    skipped = len(results) - len(ran)
    comparisons = sum(r.comparisons for r in ran)
    mismatches = sum(r.mismatches for r in ran)
    expected_mm = sum(r.mismatches for r in ran if r.outcome == "expected")
    passed = comparisons - mismatches
    rejected = sum(1 for r in ran if r.status in (COMPILE_REJECTED, RUN_REJECTED))
    crashes = sum(1 for r in ran if r.status in (CRASH, HARNESS_ERROR))
    unexpected = sum(1 for r in ran if r.outcome == "unexpected")
    if other_target(args):
        print("note: the cases of " + ", ".join(sorted(CPU_ONLY_OPS)) +
              " are left out: their outputs are sized at run time, which only --target=cpu compiles")
    if skipped:
        print(f"note: {skipped} graphs skipped because onnxruntime rejected them"
              + ("" if args.verbose else " (-v lists them)"))
    if not args.ops and not args.filter and args.max_cases is None and args.subset is None:
        stale = [e for e in entries if not e.used]
        for e in stale:
            print(f"warning: {args.expected}:{e.line}: '{e.pattern}' names no case that ran", file=sys.stderr)
    print(f"time: {time.monotonic() - start:.1f} s for {len(results)} cases at -j{args.jobs}")
    print(f"differential: {len(ran)} graphs, {comparisons} comparisons, {passed} passed, "
          f"{mismatches} mismatches ({expected_mm} expected), {rejected} rejected, {crashes} crashes, "
          f"{unexpected} unexpected")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
