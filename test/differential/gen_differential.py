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
DEFAULT_OPSET = 17

# ---------------------------------------------------------------------------
# Element types
# ---------------------------------------------------------------------------


class DType:
    def __init__(self, name, onnx_type, np_type):
        self.name = name
        self.onnx = onnx_type
        self.np = np.dtype(np_type)

    @property
    def is_float(self):
        return self.np.kind == "f"

    @property
    def is_bool(self):
        return self.np.kind == "b"

    @property
    def is_unsigned(self):
        return self.np.kind == "u"

    @property
    def is_int(self):
        return self.np.kind in "iu"



DTYPES = {d.name: d for d in [
    DType("f32", TensorProto.FLOAT, np.float32),
    DType("f64", TensorProto.DOUBLE, np.float64),
    DType("f16", TensorProto.FLOAT16, np.float16),
    DType("i8", TensorProto.INT8, np.int8),
    DType("i16", TensorProto.INT16, np.int16),
    DType("i32", TensorProto.INT32, np.int32),
    DType("i64", TensorProto.INT64, np.int64),
    DType("u8", TensorProto.UINT8, np.uint8),
    DType("u16", TensorProto.UINT16, np.uint16),
    DType("u32", TensorProto.UINT32, np.uint32),
    DType("u64", TensorProto.UINT64, np.uint64),
    DType("bool", TensorProto.BOOL, np.bool_),
]}
ONNX_TO_DTYPE = {d.onnx: d for d in DTYPES.values()}

FLOATS = ["f32", "f64", "f16"]
SINTS = ["i8", "i16", "i32", "i64"]
UINTS = ["u8", "u16", "u32", "u64"]
INTS = SINTS + UINTS
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ["bool"]

# Comparison tolerances per element type: (rtol, atol).
# f64 stays tight enough to catch a computation done in f32 (~6e-8 relative).
TOLERANCE = {"f32": (1e-4, 1e-6), "f64": (1e-8, 1e-12), "f16": (1e-2, 1e-3)}


def dt(name):
    return DTYPES[name]


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------
#
# A domain says which values an input may take:
#   any      everything, NaN and infinities included
#   nonan    no NaN (infinities allowed)
#   finite   no NaN, no infinity
#   pos      > 0 and finite          nonneg  >= 0 and finite
#   small    |x| <= 4 (ints: a few units; keeps products and powers in range)
#   mod      |x| <= 100 (accumulating integer ops: no overflow in ORT either)
#   divisor  integers: never 0 or -1 (so INT_MIN / -1 cannot trap); floats: any
#   expo     integer exponents 0..5; float exponents in [-3, 3]
#   ("range", lo, hi)  finite values within [lo, hi] (float -> int casts)
#   ("like", name)     a copy of input `name` with about half its elements
#                      replaced (so Equal/Less see equal pairs)


def float_edges(d):
    fi = np.finfo(d.np)
    vals = [math.nan, math.inf, -math.inf, -0.0, 0.0,
            float(fi.smallest_subnormal), -float(fi.smallest_subnormal),
            float(fi.tiny), float(fi.max), -float(fi.max),
            1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.0, 0.1, 1e-3,
            100.0, -7.25, math.pi, 1e4, -65504.0 if d.name == "f16" else -1e30,
            float(fi.max) / 3]
    return vals


def int_edges(d):
    ii = np.iinfo(d.np)
    lo, hi, bits = int(ii.min), int(ii.max), ii.bits
    if d.is_unsigned:
        vals = [200, 100, 3, 255, 128, 127, 0, 1, 2, 254, 256, hi, hi - 1,
                2 ** (bits - 1), 2 ** (bits - 1) - 1, 2 ** (bits - 1) + 1, 65535, 4096]
    else:
        vals = [lo, hi, 0, 1, -1, 2, -2, lo + 1, hi - 1, 7, -8, 100, -100,
                127, -128, 255, -129, 32767, -32768, 2 ** 31 - 1, -(2 ** 31)]
    return sorted({v for v in vals if lo <= v <= hi}, key=lambda v: (abs(v), v))


def in_domain(v, d, domain):
    """Whether edge value v belongs to domain for element type d."""
    if isinstance(domain, tuple) and domain[0] == "range":
        return isinstance(v, (int, float)) and not math.isnan(v) and \
            domain[1] <= v <= domain[2]
    nan = isinstance(v, float) and math.isnan(v)
    inf = isinstance(v, float) and math.isinf(v)
    if domain == "any":
        return True
    if domain == "nonan":
        return not nan
    if domain == "finite":
        return not nan and not inf
    if domain == "pos":
        return not nan and not inf and v > 0
    if domain == "nonneg":
        return not nan and not inf and v >= 0
    if domain == "small":
        return not nan and abs(v) <= 4
    if domain == "mod":
        return not nan and abs(v) <= 100
    if domain == "divisor":
        return True if d.is_float else v not in (0, -1)
    if domain == "expo":
        if d.is_float:
            return not nan and abs(v) <= 3
        return 0 <= v <= 5
    raise ValueError(f"unknown domain {domain!r}")


def edge_pool(d, domain):
    if d.is_bool:
        return [True, False]
    vals = float_edges(d) if d.is_float else int_edges(d)
    pool = [v for v in vals if in_domain(v, d, domain)]
    if isinstance(domain, tuple) and domain[0] == "range":
        lo, hi = domain[1], domain[2]
        extra = [lo, hi, lo + 0.5, hi - 0.5, 0.7, -0.7, 0.5, -0.5, 2.5, -2.5, 1.99, -1.99]
        pool += [v for v in extra if lo <= v <= hi]
    return pool


def random_values(d, domain, rng, n):
    if d.is_bool:
        return rng.integers(0, 2, n).astype(bool)
    if isinstance(domain, tuple) and domain[0] == "range":
        lo, hi = max(domain[1], -1e6), min(domain[2], 1e6)
        return rng.uniform(lo, hi, n).astype(d.np)
    if d.is_float:
        if domain in ("small",):
            v = rng.uniform(-4, 4, n)
        elif domain == "expo":
            v = rng.uniform(-3, 3, n)
        elif domain == "mod":
            v = rng.normal(0, 1, n)
        elif domain == "pos":
            v = np.abs(rng.normal(0, 2, n)) + 0.05
        elif domain == "nonneg":
            v = np.abs(rng.normal(0, 2, n))
        else:
            v = rng.normal(0, 2, n)
        return v.astype(d.np)
    ii = np.iinfo(d.np)
    lo, hi = int(ii.min), int(ii.max)
    if domain == "small":
        lo, hi = max(lo, -4), min(hi, 4)
    elif domain == "mod":
        lo, hi = max(lo, -100), min(hi, 100)
    elif domain == "expo":
        lo, hi = 0, 5
    elif domain == "pos":
        lo = 1
    elif domain == "nonneg":
        lo = max(lo, 0)
    v = rng.integers(lo, hi, n, dtype=d.np, endpoint=True)
    if domain == "divisor":
        v = np.where((v == 0) | (v == np.array(-1).astype(d.np)), np.array(3, d.np), v)
    return v.astype(d.np)


# Accumulating ops (sums, dot products, normalizations) get no finite float
# beyond these magnitudes: whether a partial sum of huge values overflows
# depends on the summation order, which neither side promises. NaN and the
# infinities stay: their effect does not depend on the order.
ACCUMULATE_BOUND = {"f32": 1e4, "f64": 1e4, "f16": 10.0}


def make_values(d, shape, domain, rng, dataset, bound=None):
    """Data set 0 draws from the edge values of the domain (all of them when
    the tensor is large enough, topped up with random values); data set 1 is
    random. `bound` caps the magnitude of finite float values."""
    n = int(np.prod(shape, dtype=np.int64))
    if dataset != 0:
        v = random_values(d, domain, rng, n).reshape(shape)
        return np.clip(v, -bound, bound).astype(d.np) if bound and d.is_float else v
    pool = edge_pool(d, domain)
    if bound and d.is_float:
        pool = [v for v in pool if not math.isfinite(v) or abs(v) <= bound]
    with np.errstate(over="ignore", invalid="ignore"):
        edges = np.array(pool, dtype=d.np) if pool else np.zeros(0, d.np)
    if n <= len(edges):
        out = edges[rng.permutation(len(edges))[:n]]
    else:
        out = np.concatenate([edges, random_values(d, domain, rng, n - len(edges))])
        out = out[rng.permutation(n)]
    return out.reshape(shape)


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


class In:
    """A graph input fed at run time."""

    def __init__(self, name, dtype, shape, domain="any"):
        self.name, self.dtype, self.shape, self.domain = name, dtype, tuple(shape), domain


class Const:
    """An initializer (a compile-time constant to Weft)."""

    def __init__(self, name, value, typed=False):
        self.name, self.value, self.typed = name, np.asarray(value), typed


class Case:
    def __init__(self, name, op, nodes, inputs, outputs, consts=(), opset=DEFAULT_OPSET,
                 exact=False, accumulate=False, rtol=None, atol=None, data=None,
                 typed_io=False, invalid=False, out_types=None):
        self.name = name
        self.op = op                 # the op under test (--ops, stratification)
        self.nodes = nodes           # [(op_type, [inputs], [outputs], {attrs})]
        self.inputs = list(inputs)   # [In]
        self.outputs = list(outputs)
        self.consts = list(consts)   # [Const]
        self.opset = opset
        self.exact = exact           # bitwise float comparison (data movement)
        self.accumulate = accumulate  # sums of many terms: normwise atol
        self.rtol, self.atol = rtol, atol
        self.data = data             # optional fixed data sets: [{name: array}]
        self.typed_io = typed_io     # write .pb tensors in typed fields, not raw_data
        # An invalid model (ONNX and onnxruntime refuse it): weftc must reject
        # it with a diagnostic. out_types gives its outputs' element types.
        self.invalid = invalid
        self.out_types = out_types or {}

    def describe(self):
        parts = []
        for op_type, ins, outs, attrs in self.nodes:
            a = ", ".join(f"{k}={_short(v)}" for k, v in sorted(attrs.items()))
            parts.append(f"{op_type}({', '.join(i or '-' for i in ins)})" + (f" [{a}]" if a else ""))
        sig = ", ".join(f"{i.name}:{i.dtype}{list(i.shape)}" for i in self.inputs)
        consts = ", ".join(f"{c.name}={_short(c.value.tolist())}:{_np_name(c.value)}"
                           for c in self.consts)
        text = f"opset {self.opset}; " + " -> ".join(parts) + f"; inputs {sig or 'none'}"
        if consts:
            text += f"; consts {consts}"
        return text


def _np_name(arr):
    for d in DTYPES.values():
        if d.np == arr.dtype:
            return d.name
    return str(arr.dtype)


def _short(v, limit=60):
    s = " ".join(str(v).split())
    return s if len(s) <= limit else s[:limit - 3] + "..."


class Generator:
    """Collects cases; names must be unique."""

    def __init__(self):
        self.cases = []
        self.names = set()

    def add(self, case):
        if not case.invalid and not schema_allows(case):
            return
        if case.name in self.names:
            raise RuntimeError(f"duplicate case name {case.name}")
        self.names.add(case.name)
        self.cases.append(case)

    def single(self, op, tag, args, attrs=None, outputs=1, dtypes=None, **kw):
        """One node of `op` whose inputs are `args` (In, Const or None for an
        omitted optional input). The name is Op.<dtypes>.<tag>."""
        ins, consts, names = [], [], []
        for a in args:
            if a is None:
                names.append("")
            elif isinstance(a, In):
                ins.append(a)
                names.append(a.name)
            else:
                consts.append(a)
                names.append(a.name)
        outs = ["y"] if outputs == 1 else [f"y{i}" for i in range(outputs)]
        if dtypes is None:
            dtypes = "_".join(dict.fromkeys(i.dtype for i in ins)) or \
                "_".join(dict.fromkeys(_np_name(c.value) for c in consts))
        name = f"{op}.{dtypes}.{tag}"
        self.add(Case(name, op, [(op, names, outs, attrs or {})], ins, outs, consts, **kw))


def _schema_type_ok(op, opset, index, dtype_name):
    try:
        schema = onnx.defs.get_schema(op, opset)
    except Exception:
        return True
    formals = schema.inputs
    if not formals:
        return True
    type_str = formals[min(index, len(formals) - 1)].type_str
    allowed = [type_str]
    for tc in schema.type_constraints:
        if tc.type_param_str == type_str:
            allowed = list(tc.allowed_type_strs)
    return f"tensor({ONNX_TYPE_STR[dtype_name]})" in allowed


ONNX_TYPE_STR = {"f32": "float", "f64": "double", "f16": "float16", "i8": "int8", "i16": "int16",
                 "i32": "int32", "i64": "int64", "u8": "uint8", "u16": "uint16", "u32": "uint32",
                 "u64": "uint64", "bool": "bool"}


def schema_allows(case):
    """Drops single-op cases whose input types ONNX does not allow for the op
    (ORT would refuse them, and they test nothing)."""
    if len(case.nodes) != 1:
        return True
    op, ins, _, _ = case.nodes[0]
    types = {i.name: i.dtype for i in case.inputs}
    types.update({c.name: _np_name(c.value) for c in case.consts})
    for index, name in enumerate(ins):
        if name and name in types and types[name] in DTYPES:
            if not _schema_type_ok(op, case.opset, index, types[name]):
                return False
    return True


# ---------------------------------------------------------------------------
# The case families
# ---------------------------------------------------------------------------

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


def i64(*v):
    return np.array(v, dtype=np.int64)


def scalar(value, dtype_name):
    return np.array(value, dtype=dt(dtype_name).np)


BINARY_SHAPES = [
    ("same_2x3x5", (2, 3, 5), (2, 3, 5)),
    ("bcast_3x1_1x4", (3, 1), (1, 4)),
    ("bcast_rank_2x3x4_4", (2, 3, 4), (4,)),
    ("scalar_rhs_2x3", (2, 3), ()),
    ("rank0", (), ()),
    ("empty_0x3_1x3", (0, 3), (1, 3)),
    ("size1_1_7", (1,), (7,)),
    ("large_9x67", (9, 67), (9, 67)),
]


def gen_binary(g):
    for op in ["Add", "Sub", "Mul", "Div"]:
        for d in NUMERIC:
            full = d in ("f32", "i64", "i32", "f64")
            shapes = BINARY_SHAPES if full else BINARY_SHAPES[:2]
            rdom = "divisor" if op == "Div" else "any"
            for tag, sa, sb in shapes:
                g.single(op, tag, [In("a", d, sa), In("b", d, sb, rdom)])
            # A constant right operand: the importer keeps it as a weft.constant.
            b = make_values(dt(d), (4,), rdom, np.random.default_rng(7), 0)
            g.single(op, "const_rhs_3x4", [In("a", d, (3, 4)), Const("b", b)])
        if op == "Add":
            for d in ALL:
                b = make_values(dt(d), (4,), "any", np.random.default_rng(8), 0)
                g.single(op if d != "bool" else "Or", "typed_const_rhs_3x4",
                         [In("a", d, (3, 4)), Const("b", b, typed=True)])
        # Both operands constant: folded at import time for integers.
        for d in ["i64", "i32", "i8", "u8", "u64", "f32"]:
            dd = dt(d)
            a = make_values(dd, (2, 5), "any", np.random.default_rng(11), 0)
            b = make_values(dd, (5,), "divisor" if op == "Div" else "any",
                            np.random.default_rng(12), 0)
            g.single(op, "const_fold_2x5", [Const("a", a), Const("b", b)])
    # Pow: base and exponent types may differ.
    for db, de, bdom, edom in [("f32", "f32", "any", "any"), ("f64", "f64", "any", "any"),
                               ("f16", "f16", "small", "expo"), ("f32", "i64", "any", "expo"),
                               ("f32", "i32", "any", "expo"), ("i32", "i32", "small", "expo"),
                               ("i64", "i64", "small", "expo"), ("i64", "f32", "small", "expo"),
                               ("f64", "i64", "any", "expo")]:
        g.single("Pow", "same_3x4", [In("a", db, (3, 4), bdom), In("b", de, (3, 4), edom)],
                 dtypes=f"{db}_{de}")
        g.single("Pow", "bcast_2x3x4_scalar", [In("a", db, (2, 3, 4), bdom), In("b", de, (), edom)],
                 dtypes=f"{db}_{de}")
    g.single("Pow", "const_exp2_3x4", [In("a", "f32", (3, 4)), Const("b", scalar(2.0, "f32"))])
    g.single("Pow", "const_exp_half_3x4", [In("a", "f32", (3, 4)), Const("b", scalar(0.5, "f32"))])
    # PRelu: slope broadcasts to X.
    for d in ["f32", "f64", "f16", "i32", "i64", "u32", "u64"]:
        g.single("PRelu", "same_2x3x4", [In("x", d, (2, 3, 4)), In("s", d, (2, 3, 4))], opset=16)
        g.single("PRelu", "per_channel_2x3x4x5_3x1x1",
                 [In("x", d, (2, 3, 4, 5)), In("s", d, (3, 1, 1))], opset=16)
    g.single("PRelu", "scalar_slope_2x3", [In("x", "f32", (2, 3)), In("s", "f32", (1,))])
    g.single("PRelu", "const_slope_2x3", [In("x", "f32", (2, 3)),
                                          Const("s", np.array([0.25, -1.5, 0.0], np.float32))])
    # Boolean logic.
    for op in ["And", "Or", "Xor"]:
        for tag, sa, sb in [("same_2x3x5", (2, 3, 5), (2, 3, 5)), ("bcast_3x1_1x4", (3, 1), (1, 4)),
                            ("rank0", (), ()), ("empty_0x3_3", (0, 3), (3,)),
                            ("large_5x67", (5, 67), (5, 67))]:
            g.single(op, tag, [In("a", "bool", sa), In("b", "bool", sb)])
    for tag, s in [("r3_2x3x5", (2, 3, 5)), ("rank0", ()), ("empty_0x4", (0, 4)), ("large_130", (130,))]:
        g.single("Not", tag, [In("x", "bool", s)])


def gen_variadic(g):
    for op in ["Max", "Min"]:
        for d in NUMERIC:
            g.single(op, "two_bcast_3x1_4", [In("a", d, (3, 1)), In("b", d, (4,))])
            if d in ("f32", "i64", "u8", "f16"):
                g.single(op, "one_2x3", [In("a", d, (2, 3))])
                g.single(op, "three_2x3_3_1", [In("a", d, (2, 3)), In("b", d, (3,)), In("c", d, (1,))])
                g.single(op, "same_4x33", [In("a", d, (4, 33)), In("b", d, (4, 33))])
        g.single(op, "nan_vs_number_f32", [In("a", "f32", (8,)), In("b", "f32", (8,))],
                 dtypes="f32", data=[{"a": np.array([np.nan, 1, np.nan, -np.inf, 0.0, -0.0, np.inf, 2],
                                                    np.float32),
                                      "b": np.array([1, np.nan, np.nan, 3, -0.0, 0.0, np.nan, -2],
                                                    np.float32)}])
    for op in ["Sum", "Mean"]:
        for d in FLOATS:
            g.single(op, "one_2x3", [In("a", d, (2, 3))])
            g.single(op, "two_same_2x3x4", [In("a", d, (2, 3, 4)), In("b", d, (2, 3, 4))])
            g.single(op, "three_bcast_2x3_3_1",
                     [In("a", d, (2, 3)), In("b", d, (3,)), In("c", d, (1,))])
        g.single(op, "int_two_2x3", [In("a", "i32", (2, 3)), In("b", "i32", (2, 3))])


def gen_compare(g):
    for op in ["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"]:
        for d in ALL:
            g.single(op, "same_3x5", [In("a", d, (3, 5)), In("b", d, (3, 5), ("like", "a"))])
            if d in ("f32", "i64", "u8", "bool"):
                g.single(op, "bcast_3x1_1x4", [In("a", d, (3, 1)), In("b", d, (1, 4))])
                g.single(op, "rank0", [In("a", d, ()), In("b", d, ())])
                g.single(op, "empty_0x3_3", [In("a", d, (0, 3)), In("b", d, (3,))])
    for d in ALL:
        g.single("Where", "same_3x5", [In("c", "bool", (3, 5)), In("a", d, (3, 5)), In("b", d, (3, 5))])
    for d in ["f32", "i64", "u8", "bool", "f16"]:
        g.single("Where", "bcast_3x1_1x4_scalar",
                 [In("c", "bool", (3, 1)), In("a", d, (1, 4)), In("b", d, ())])
        g.single("Where", "bcast_cond_4_2x3x4", [In("c", "bool", (4,)), In("a", d, (2, 3, 4)),
                                                 In("b", d, (2, 1, 4))])
    g.single("Where", "empty_0x4", [In("c", "bool", (0, 4)), In("a", "f32", (1, 4)), In("b", "f32", (0, 1))])
    g.single("Where", "const_cond_2x3",
             [Const("c", np.array([[True, False, True], [False, False, True]])),
              In("a", "f32", (2, 3)), In("b", "f32", (2, 3))], dtypes="f32")


UNARY_FLOAT = ["Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round",
               "Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Erf", "Softplus", "Softsign"]
UNARY_SHAPES = [("r3_3x5x7", (3, 5, 7)), ("rank0", ()), ("empty_2x0", (2, 0))]


def gen_unary(g):
    for op in UNARY_FLOAT:
        for d in FLOATS:
            for tag, s in UNARY_SHAPES:
                g.single(op, tag, [In("x", d, s)])
        g.single(op, "large_1000", [In("x", "f32", (1000,))])
    # Round is half-to-even; these are the ties and near-ties.
    g.single("Round", "ties_f32", [In("x", "f32", (12,))], dtypes="f32",
             data=[{"x": np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.5, -3.5,
                                   8388609.0, 4.5, -0.0], np.float32)}])
    # (onnxruntime refuses integer Erf although the ONNX schema allows it.)
    for op in ["Relu", "Neg", "Abs", "Sign"]:
        for d in NUMERIC:
            g.single(op, "r2_4x7", [In("x", d, (4, 7))])
            if d in ("f32", "i64", "u8", "i8"):
                g.single(op, "rank0", [In("x", d, ())])
                g.single(op, "empty_0x3", [In("x", d, (0, 3))])
    # Neg/Abs of small integer constants fold at import time.
    for op in ["Neg", "Abs"]:
        for d in ["i64", "i32", "i8"]:
            g.single(op, "const_fold_6", [Const("x", np.array(int_edges(dt(d))[-6:], dt(d).np))])
    for op, variants in ACTIVATIONS.items():
        for d in FLOATS:
            for tag, attrs in variants:
                g.single(op, tag, [In("x", d, (3, 4, 5))], attrs=attrs)
        g.single(op, "rank0", [In("x", "f32", ())], attrs=variants[0][1])
    for d in ["i32", "i8", "u8"]:
        g.single("Shrink", "int_default", [In("x", d, (3, 4))])
    for d in FLOATS:
        # (The f16 erf cancellation is pinned by Gelu.f16.erf_cancellation;
        # here it would depend on the random values, so f16 is looser.)
        g.single("Gelu", "none", [In("x", d, (3, 4, 5))], opset=20, **({"atol": 2e-3} if d == "f16" else {}))
        # ONNX's function body for the tanh form spells its constants as
        # floats, and onnxruntime follows it in f64 too; exact constants are
        # as good, so f64 accepts the difference (~3e-8 relative).
        g.single("Gelu", "tanh", [In("x", d, (3, 4, 5))], attrs={"approximate": "tanh"}, opset=20,
                 **({"rtol": 1e-7, "atol": 1e-8} if d == "f64" else {}))
        g.single("Mish", "default", [In("x", d, (3, 4, 5))], opset=18)


ACTIVATIONS = {
    "LeakyRelu": [("default", {}), ("alpha_0.2", {"alpha": 0.2}), ("alpha_neg", {"alpha": -1.5})],
    "Elu": [("default", {}), ("alpha_0.5", {"alpha": 0.5})],
    "Selu": [("default", {}), ("custom", {"alpha": 2.0, "gamma": 0.5})],
    "HardSigmoid": [("default", {}), ("custom", {"alpha": 0.5, "beta": 0.25})],
    "Celu": [("default", {}), ("alpha_2", {"alpha": 2.0})],
    "ThresholdedRelu": [("default", {}), ("alpha_0.5", {"alpha": 0.5}), ("alpha_neg", {"alpha": -1.0})],
    "HardSwish": [("default", {})],
    "Shrink": [("default", {}), ("bias_lambd", {"bias": 1.5, "lambd": 1.0})],
}


def cast_domain(s, t):
    """Out-of-range and NaN float -> int conversions are undefined in C++ (and
    so in onnxruntime): such casts stay inside the target's range."""
    sd, td = dt(s), dt(t)
    if not (sd.is_float and td.is_int):
        return "any"
    ii = np.iinfo(td.np)
    fmax = float(np.finfo(sd.np).max)
    hi = float(np.nextafter(sd.np.type(min(float(ii.max), fmax)), sd.np.type(0)))
    lo = max(float(ii.min), -fmax)
    return ("range", lo, hi)


def gen_clip_cast(g):
    for d in NUMERIC:
        dd = dt(d)
        lo = np.array(-2 if not dd.is_unsigned else 3, dd.np)
        hi = np.array(5, dd.np)
        g.single("Clip", "min_max", [In("x", d, (4, 7)), Const("lo", lo), Const("hi", hi)])
        g.single("Clip", "min_only", [In("x", d, (4, 7)), Const("lo", lo)])
        g.single("Clip", "max_only", [In("x", d, (4, 7)), None, Const("hi", hi)])
        if d in ("f32", "i64", "u8", "i8", "f16"):
            g.single("Clip", "none", [In("x", d, (4, 7))])
            g.single("Clip", "min_gt_max", [In("x", d, (4, 7)), Const("lo", hi), Const("hi", lo)])
            g.single("Clip", "min_eq_max", [In("x", d, (4, 7)), Const("lo", hi), Const("hi", hi)])
            g.single("Clip", "rank0", [In("x", d, ()), Const("lo", lo), Const("hi", hi)])
    g.single("Clip", "extreme_bounds_i64",
             [In("x", "i64", (4, 7)), Const("lo", scalar(I64_MIN + 1, "i64")),
              Const("hi", scalar(I64_MAX - 1, "i64"))], dtypes="i64")
    g.single("Clip", "opset11_min_max", [In("x", "f32", (4, 7)), Const("lo", scalar(-1.5, "f32")),
                                         Const("hi", scalar(0.5, "f32"))], opset=11)
    g.single("Clip", "opset6_attrs", [In("x", "f32", (4, 7))], attrs={"min": -1.5, "max": 0.5}, opset=6)
    g.single("Clip", "runtime_min", [In("x", "f32", (4, 7)), In("lo", "f32", ())])
    g.single("Clip", "nan_bounds_f32", [In("x", "f32", (4, 7)), Const("lo", scalar(np.nan, "f32")),
                                        Const("hi", scalar(1.0, "f32"))])
    # Cast: every supported pair.
    for s in ALL:
        for t in ALL:
            if s == t:
                continue
            sd, td = dt(s), dt(t)
            g.single("Cast", f"to_{t}", [In("x", s, (4, 6), cast_domain(s, t))], attrs={"to": td.onnx},
                     exact=sd.is_float and td.is_float)
    g.single("Cast", "to_i64.rank0", [In("x", "f32", (), ("range", -1e6, 1e6))],
             attrs={"to": TensorProto.INT64})
    g.single("Cast", "to_f16.empty", [In("x", "f32", (0, 5))], attrs={"to": TensorProto.FLOAT16})
    g.single("Cast", "to_same", [In("x", "f32", (3, 4))], attrs={"to": TensorProto.FLOAT}, exact=True)
    g.single("Cast", "to_f32.const_fold", [Const("x", np.array([1, -2, 300, -(2 ** 40)], np.int64))],
             attrs={"to": TensorProto.FLOAT})
    g.single("Cast", "to_u8.const_fold", [Const("x", np.array([1.7, -0.2, 200.9, 255.0], np.float32))],
             attrs={"to": TensorProto.UINT8})
    g.single("Cast", "to_i8.const_fold_bool", [Const("x", np.array([True, False, True]))],
             attrs={"to": TensorProto.INT8})
    for s, t in [("f32", "i64"), ("i32", "f32"), ("u8", "f32"), ("bool", "f32"), ("f64", "f16")]:
        g.single("CastLike", f"like_{t}", [In("x", s, (3, 4), cast_domain(s, t)),
                                           In("l", t, (1,))],
                 exact=dt(s).is_float and dt(t).is_float)
    for d in ALL:
        g.single("Identity", "r2_3x4", [In("x", d, (3, 4))], exact=True)
    g.single("Identity", "rank0", [In("x", "f32", ())], exact=True)
    g.single("Identity", "empty_0x2", [In("x", "i64", (0, 2))], exact=True)
    for d in ALL:
        g.add(Case(f"Identity.{d}.typed_io", "Identity", [("Identity", ["x"], ["y"], {})],
                   [In("x", d, (2, 5))], ["y"], exact=True, typed_io=True))
    g.single("Dropout", "default", [In("x", "f32", (3, 4))], exact=True)
    g.single("Dropout", "ratio_training_false", [In("x", "f32", (3, 4)), Const("r", scalar(0.3, "f32")),
                                                  Const("t", np.array(False))], exact=True)
    g.single("Dropout", "opset10_ratio_attr", [In("x", "f32", (3, 4))], attrs={"ratio": 0.2},
             opset=10, exact=True)
    g.single("Dropout", "training_true", [In("x", "f32", (3, 4)), Const("r", scalar(0.0, "f32")),
                                           Const("t", np.array(True))], exact=True)
    g.single("Dropout", "mask_output", [In("x", "f32", (3, 4))], outputs=2, exact=True)


def gen_matmul(g):
    shapes = [("2d_3x4_4x5", (3, 4), (4, 5)), ("vec_lhs_4_4x5", (4,), (4, 5)),
              ("vec_rhs_3x4_4", (3, 4), (4,)), ("vec_vec_4_4", (4,), (4,)),
              ("batch_2x3x4_4x5", (2, 3, 4), (4, 5)), ("bcast_batch_2x1x3x4_3x4x2", (2, 1, 3, 4), (3, 4, 2)),
              ("batch_1x3x4_2x4x5", (1, 3, 4), (2, 4, 5)), ("k0_3x0_0x5", (3, 0), (0, 5)),
              ("m0_0x4_4x5", (0, 4), (4, 5)), ("large_17x33_33x9", (17, 33), (33, 9)),
              ("vec_lhs_batch_4_2x4x3", (4,), (2, 4, 3))]
    for d in ["f32", "f64", "f16", "i32", "i64", "u32", "u64"]:
        dom = "mod" if dt(d).is_int else "finite"
        for tag, sa, sb in (shapes if d in ("f32", "i64") else shapes[:5]):
            g.single("MatMul", tag, [In("a", d, sa, dom), In("b", d, sb, dom)], accumulate=True)
    g.single("MatMul", "specials_3x4_4x5", [In("a", "f32", (3, 4)), In("b", "f32", (4, 5))],
             accumulate=True)
    g.single("MatMul", "const_rhs_3x4_4x5", [In("a", "f32", (3, 4), "finite"),
                                             Const("b", make_values(dt("f32"), (4, 5), "finite",
                                                                    np.random.default_rng(3), 1))],
             accumulate=True)
    gemm = [("plain", {}, (3, 4), (4, 5), None), ("transA", {"transA": 1}, (4, 3), (4, 5), None),
            ("transB", {"transB": 1}, (3, 4), (5, 4), None),
            ("transAB", {"transA": 1, "transB": 1}, (4, 3), (5, 4), None),
            ("alpha_beta_c_mn", {"alpha": 0.5, "beta": 2.0}, (3, 4), (4, 5), (3, 5)),
            ("c_scalar", {}, (3, 4), (4, 5), ()), ("c_n", {}, (3, 4), (4, 5), (5,)),
            ("c_1xn", {}, (3, 4), (4, 5), (1, 5)), ("c_mx1", {}, (3, 4), (4, 5), (3, 1)),
            ("beta0_c", {"beta": 0.0}, (3, 4), (4, 5), (3, 5)),
            ("alpha0", {"alpha": 0.0}, (3, 4), (4, 5), (3, 5)),
            ("large_transB_c", {"transB": 1}, (13, 40), (17, 40), (17,))]
    for d in ["f32", "f64", "f16", "i32", "i64", "u32", "u64"]:
        dom = "mod" if dt(d).is_int else "finite"
        for tag, attrs, sa, sb, sc in (gemm if d == "f32" else gemm[:5]):
            if dt(d).is_int and ("alpha" in attrs or "beta" in attrs):
                continue
            args = [In("a", d, sa, dom), In("b", d, sb, dom)]
            if sc is not None:
                args.append(In("c", d, sc, dom))
            g.single("Gemm", tag, args, attrs=attrs, accumulate=True)
    g.single("Gemm", "beta0_c_nan", [In("a", "f32", (3, 4), "finite"), In("b", "f32", (4, 5), "finite"),
                                     In("c", "f32", (3, 5))], attrs={"beta": 0.0}, accumulate=True,
             dtypes="f32")
    g.single("Gemm", "const_b_c", [In("a", "f32", (3, 4), "finite"),
                                   Const("b", make_values(dt("f32"), (4, 5), "finite",
                                                          np.random.default_rng(4), 1)),
                                   Const("c", make_values(dt("f32"), (5,), "finite",
                                                          np.random.default_rng(5), 1))],
             accumulate=True, dtypes="f32")


def gen_conv(g):
    # (tag, x shape, w shape, attrs, with bias)
    variants = [
        ("basic_3x3", (1, 2, 5, 5), (3, 2, 3, 3), {}, False),
        ("bias", (1, 2, 5, 5), (3, 2, 3, 3), {}, True),
        ("pads_1", (1, 2, 5, 5), (3, 2, 3, 3), {"pads": [1, 1, 1, 1]}, True),
        ("pads_asym", (1, 2, 5, 6), (2, 2, 3, 3), {"pads": [0, 1, 2, 1]}, False),
        ("strides_2", (1, 2, 7, 7), (2, 2, 3, 3), {"strides": [2, 2]}, True),
        ("strides_2x1_pads", (2, 3, 6, 5), (4, 3, 3, 2), {"strides": [2, 1], "pads": [1, 0, 1, 1]}, True),
        ("dilations_2", (1, 2, 7, 7), (2, 2, 3, 3), {"dilations": [2, 2]}, False),
        ("group_2", (1, 4, 5, 5), (6, 2, 3, 3), {"group": 2}, True),
        ("depthwise", (2, 3, 6, 6), (3, 1, 3, 3), {"group": 3, "pads": [1, 1, 1, 1]}, True),
        ("same_upper_s2", (1, 2, 6, 7), (3, 2, 4, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, False),
        ("same_lower_s2", (1, 2, 6, 7), (3, 2, 4, 3), {"auto_pad": "SAME_LOWER", "strides": [2, 2]}, False),
        ("same_upper_s1", (1, 2, 5, 5), (2, 2, 2, 2), {"auto_pad": "SAME_UPPER"}, True),
        ("valid", (1, 2, 5, 6), (2, 2, 3, 3), {"auto_pad": "VALID"}, False),
        ("k1x1", (2, 5, 4, 4), (3, 5, 1, 1), {}, True),
        ("k2x3_kernel_shape", (1, 2, 5, 6), (2, 2, 2, 3), {"kernel_shape": [2, 3]}, False),
        ("large_8ch", (1, 8, 12, 12), (16, 8, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    ]
    for d in FLOATS:
        for tag, xs, ws, attrs, bias in (variants if d == "f32" else variants[:3] + variants[7:9]):
            args = [In("x", d, xs, "finite"), In("w", d, ws, "finite")]
            if bias:
                args.append(In("b", d, (ws[0],), "finite"))
            g.single("Conv", tag, args, attrs=attrs, accumulate=True)
    g.single("Conv", "const_weights", [In("x", "f32", (1, 2, 5, 5), "finite"),
                                       Const("w", make_values(dt("f32"), (3, 2, 3, 3), "finite",
                                                              np.random.default_rng(6), 1)),
                                       Const("b", np.array([0.5, -1.0, 2.0], np.float32))],
             attrs={"pads": [1, 1, 1, 1]}, accumulate=True, dtypes="f32")
    # -inf weight over the zero padding: 0 * -inf is NaN in the padded
    # positions, as ONNX's zero padding implies.
    w = np.ones((1, 1, 3, 3), np.float32)
    w[0, 0, 0, 0] = -np.inf
    g.single("Conv", "neg_inf_weight_pads", [In("x", "f32", (1, 1, 4, 4), "pos"), Const("w", w)],
             attrs={"pads": [1, 1, 1, 1]}, accumulate=True, dtypes="f32")
    g.single("Conv", "specials_input", [In("x", "f32", (1, 2, 5, 5)), In("w", "f32", (2, 2, 3, 3), "finite")],
             accumulate=True)
    g.single("Conv", "conv1d_rejected", [In("x", "f32", (1, 2, 7)), In("w", "f32", (3, 2, 3))],
             accumulate=True)
    g.single("Conv", "conv3d_rejected", [In("x", "f32", (1, 2, 4, 4, 4)), In("w", "f32", (3, 2, 2, 2, 2))],
             accumulate=True)


POOL_VARIANTS = [
    ("k2_s2", (1, 2, 6, 6), {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ("k3_s1_p1", (2, 3, 5, 5), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    ("k3_s2_ceil", (1, 2, 6, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("k3_s2_ceil_pads", (1, 1, 7, 7), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1,
                                       "pads": [1, 1, 1, 1]}),
    ("same_upper_s2", (1, 2, 5, 7), {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("same_lower_s2", (1, 2, 5, 7), {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ("valid_k2x3", (1, 2, 5, 7), {"kernel_shape": [2, 3], "auto_pad": "VALID"}),
    ("pads_asym", (1, 2, 5, 5), {"kernel_shape": [3, 3], "pads": [0, 1, 2, 0]}),
    ("large_16x16", (1, 4, 16, 16), {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]}),
]


def gen_pool(g):
    for d in ["f32", "f64", "f16", "i8", "u8"]:
        variants = POOL_VARIANTS if d in ("f32",) else POOL_VARIANTS[:3]
        for tag, xs, attrs in variants:
            g.single("MaxPool", tag, [In("x", d, xs, "nonan")], attrs=attrs)
        g.single("MaxPool", "dilations_2", [In("x", d, (1, 1, 7, 7), "nonan")],
                 attrs={"kernel_shape": [2, 2], "dilations": [2, 2]})
    g.single("MaxPool", "nan_input", [In("x", "f32", (1, 1, 4, 4))],
             attrs={"kernel_shape": [2, 2], "strides": [2, 2]},
             data=[{"x": np.array([[[[np.nan, 1, 2, 3], [4, 5, np.nan, np.nan],
                                     [-np.inf, -np.inf, 1, np.nan], [-np.inf, -np.inf, 0, 0]]]],
                                  np.float32)}])
    g.single("MaxPool", "storage_order_1", [In("x", "f32", (1, 2, 4, 4), "nonan")],
             attrs={"kernel_shape": [2, 2], "storage_order": 1})
    g.single("MaxPool", "indices_rejected", [In("x", "f32", (1, 2, 4, 4))],
             attrs={"kernel_shape": [2, 2]}, outputs=2, exact=True)
    g.single("MaxPool", "pool1d_rejected", [In("x", "f32", (1, 2, 8))],
             attrs={"kernel_shape": [2]}, exact=True)
    for d in FLOATS:
        variants = POOL_VARIANTS if d == "f32" else POOL_VARIANTS[:3]
        for tag, xs, attrs in variants:
            g.single("AveragePool", tag, [In("x", d, xs, "finite")], attrs=attrs, accumulate=True)
            if "pads" in attrs or "auto_pad" in attrs or "ceil_mode" in attrs:
                a = dict(attrs, count_include_pad=1)
                g.single("AveragePool", tag + "_include_pad", [In("x", d, xs, "finite")], attrs=a,
                         accumulate=True)
        g.single("AveragePool", "dilations_2_op19", [In("x", d, (1, 1, 7, 7), "finite")],
                 attrs={"kernel_shape": [2, 2], "dilations": [2, 2]}, opset=19, accumulate=True)
    g.single("AveragePool", "specials", [In("x", "f32", (1, 2, 4, 4))],
             attrs={"kernel_shape": [2, 2], "strides": [2, 2]}, accumulate=True)
    for op in ["GlobalAveragePool", "GlobalMaxPool"]:
        for d in FLOATS:
            for tag, xs in [("r4_2x3x4x5", (2, 3, 4, 5)), ("r3_2x3x7", (2, 3, 7)),
                            ("r5_1x2x3x2x2", (1, 2, 3, 2, 2)), ("1x1_spatial", (2, 3, 1, 1))]:
                g.single(op, tag, [In("x", d, xs, "nonan" if op == "GlobalMaxPool" else "finite")],
                         accumulate=op == "GlobalAveragePool")


def gen_norm(g):
    for d in FLOATS:
        for tag, xs in [("r4_2x3x4x5", (2, 3, 4, 5)), ("r2_4x3", (4, 3)), ("r3_2x3x6", (2, 3, 6))]:
            c = xs[1]
            args = [In("x", d, xs, "finite"), In("s", d, (c,), "finite"), In("b", d, (c,), "finite"),
                    In("m", d, (c,), "finite"), In("v", d, (c,), "pos")]
            g.single("BatchNormalization", tag, args, opset=15, accumulate=True)
        g.single("BatchNormalization", "epsilon_0.1_const_stats",
                 [In("x", d, (2, 3, 4, 4), "finite"), Const("s", np.array([1, 0.5, -2], dt(d).np)),
                  Const("b", np.array([0, 1, -1], dt(d).np)), Const("m", np.array([0.5, -1, 0], dt(d).np)),
                  Const("v", np.array([1, 0, 4], dt(d).np))],
                 attrs={"epsilon": 0.1}, opset=15, accumulate=True, dtypes=d)
    g.single("BatchNormalization", "training_rejected",
             [In("x", "f32", (2, 3, 4)), In("s", "f32", (3,)), In("b", "f32", (3,)),
              In("m", "f32", (3,)), In("v", "f32", (3,), "pos")],
             attrs={"training_mode": 1}, outputs=3, opset=15)
    g.single("BatchNormalization", "opset9", [In("x", "f32", (2, 3, 4), "finite"), In("s", "f32", (3,), "finite"),
                                              In("b", "f32", (3,), "finite"), In("m", "f32", (3,), "finite"),
                                              In("v", "f32", (3,), "pos")], opset=9, accumulate=True)
    for d in FLOATS:
        for tag, xs, axis, bias in [("axis_last", (2, 3, 8), -1, True), ("axis_1", (2, 3, 4), 1, True),
                                    ("axis_0_nobias", (3, 4), 0, False), ("axis_neg2", (2, 5, 3), -2, False)]:
            norm_shape = xs[axis:] if axis >= 0 else xs[len(xs) + axis:]
            args = [In("x", d, xs, "finite"), In("s", d, norm_shape, "finite")]
            if bias:
                args.append(In("b", d, norm_shape, "finite"))
            # stash_type 1 (the default) computes the statistics in f32 even for
            # f64 inputs, as the ONNX function body does; onnxruntime stays in
            # f64, so f64 gets f32's tolerance.
            g.single("LayerNormalization", tag, args, attrs={"axis": axis}, opset=17, accumulate=True,
                     **({"rtol": 1e-4, "atol": 1e-6} if d == "f64" else {}))
        g.single("LayerNormalization", "epsilon_0.5_const", [In("x", d, (2, 7), "finite"),
                                                             Const("s", np.full(7, 1.5, dt(d).np))],
                 attrs={"epsilon": 0.5}, opset=17, accumulate=True, dtypes=d,
                 **({"rtol": 1e-4, "atol": 1e-6} if d == "f64" else {}))
    for d in FLOATS:
        for tag, xs in [("r4_2x3x4x5", (2, 3, 4, 5)), ("r3_2x3x6", (2, 3, 6))]:
            g.single("InstanceNormalization", tag, [In("x", d, xs, "finite"), In("s", d, (3,), "finite"),
                                                    In("b", d, (3,), "finite")], accumulate=True)
        g.single("InstanceNormalization", "epsilon_0.1", [In("x", d, (1, 3, 5), "finite"),
                                                          In("s", d, (3,), "finite"), In("b", d, (3,), "finite")],
                 attrs={"epsilon": 0.1}, accumulate=True)


def gen_softmax(g):
    for op in ["Softmax", "LogSoftmax"]:
        for d in FLOATS:
            for tag, xs, attrs, opset in [("axis_last", (2, 3, 5), {}, 13), ("axis_0", (2, 3, 5), {"axis": 0}, 13),
                                          ("axis_1", (2, 3, 5), {"axis": 1}, 13)]:
                g.single(op, tag, [In("x", d, xs, "finite")], attrs=attrs, opset=opset, accumulate=True)
        for tag, xs, attrs, opset in [
                ("opset11_axis_1_coerced", (2, 3, 4), {"axis": 1}, 11),
                ("opset11_default", (2, 3, 4), {}, 11), ("opset11_axis_last", (2, 3, 4), {"axis": 2}, 11),
                ("rank1_specials", (7,), {}, 13), ("large_4x300", (4, 300), {}, 13)]:
            dom = "any" if "specials" in tag else "finite"
            g.single(op, tag, [In("x", "f32", xs, dom)], attrs=attrs, opset=opset, accumulate=True)
        g.single(op, "huge_and_neg_inf_rows", [In("x", "f32", (4, 3))], accumulate=True,
                 data=[{"x": np.array([[1e30, 1e30, -1e30], [-np.inf, -np.inf, 0.0],
                                       [-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0]], np.float32)}])


REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
              "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


def reduce_domain(op, d):
    if op == "ReduceLogSum":
        return "pos"
    if op == "ReduceProd":
        return "small"
    if d.is_int:
        return "mod"
    if op in ("ReduceMax", "ReduceMin"):
        return "nonan"
    return "finite"


def gen_reduce(g):
    # (tag, shape, axes or None, keepdims, noop_with_empty_axes)
    variants = [("all_keep", (2, 3, 4), None, 1, 0), ("axis1_keep", (2, 3, 4), [1], 1, 0),
                ("axis1_nokeep", (2, 3, 4), [1], 0, 0), ("axis_neg1_keep", (2, 3, 4), [-1], 1, 0),
                ("axes_0_2_nokeep", (2, 3, 4), [0, 2], 0, 0), ("all_nokeep", (3, 5), None, 0, 0),
                ("noop_empty_axes", (3, 9), None, 1, 1), ("axes_given_empty", (2, 3), [], 0, 0),
                ("size1_axis", (3, 1, 4), [1], 0, 0), ("empty_other_dim", (0, 3), [1], 1, 0),
                ("large_axis_last", (7, 130), [1], 0, 0), ("large_axis_first", (130, 7), [0], 0, 0)]
    for op in REDUCE_OPS:
        for d in ["f32", "f64", "f16", "i32", "i64", "u32", "u64", "i8", "u8"]:
            dd = dt(d)
            vs = variants if d == "f32" else [variants[0], variants[2], variants[3]]
            for opset in ([13, 18] if d == "f32" else [18]):
                for tag, xs, axes, keep, noop in vs:
                    if noop and opset < 18 and op != "ReduceSum":
                        continue
                    attrs = {"keepdims": keep}
                    if noop:
                        attrs["noop_with_empty_axes"] = 1
                    args = [In("x", d, xs, reduce_domain(op, dd))]
                    axes_as_input = op == "ReduceSum" or opset >= 18
                    if axes is not None:
                        if axes_as_input:
                            args.append(Const("axes", np.array(axes, np.int64)))
                        elif axes:
                            attrs["axes"] = axes
                    g.single(op, f"{tag}_op{opset}", args, attrs=attrs, opset=opset,
                             accumulate=True, dtypes=d)
        g.single(op, "specials_axis1_op18", [In("x", "f32", (3, 6)), Const("axes", i64(1))], opset=18,
                 attrs={"keepdims": 0}, accumulate=True)
        g.single(op, "rank0_op18", [In("x", "f32", (), reduce_domain(op, dt("f32")))], opset=18,
                 accumulate=True)
        g.single(op, "runtime_axes_op18", [In("x", "f32", (2, 3)), In("axes", "i64", (1,))], opset=18,
                 accumulate=True, data=[{"x": np.array([[1, 2, 3], [4, 5, 6]], np.float32), "axes": i64(1)}])
    # Reducing over an empty dimension: the identity of each reduction.
    for op in ["ReduceSum", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2"]:
        g.single(op, "over_empty_dim_op18", [In("x", "f32", (0, 3)), Const("axes", i64(0))], opset=18,
                 attrs={"keepdims": 0}, accumulate=True)
    g.single("ReduceMean", "int_truncation_op18", [In("x", "i32", (2, 3))], opset=18,
             data=[{"x": np.array([[1, 2, 2], [-1, -2, -2]], np.int32)}])


def gen_shape_ops(g):
    for d in ALL:
        g.single("Reshape", "2x3x4_to_4x6", [In("x", d, (2, 3, 4)), Const("s", i64(4, 6))], exact=True)
        g.single("Transpose", "perm_2_0_1", [In("x", d, (2, 3, 4))], attrs={"perm": [2, 0, 1]}, exact=True)
        g.single("Concat", "axis1_three", [In("a", d, (2, 3)), In("b", d, (2, 1)), In("c", d, (2, 4))],
                 attrs={"axis": 1}, exact=True)
        g.single("Slice", "step2_neg", [In("x", d, (5, 6)), Const("st", i64(4, 0)), Const("en", i64(-6, 6)),
                                        Const("ax", i64(0, 1)), Const("sp", i64(-2, 2))], exact=True)
        g.single("Pad", "const_1_2", [In("x", d, (2, 3)), Const("p", i64(1, 0, 0, 2))], exact=True)
        g.single("Split", "two_axis0", [In("x", d, (4, 3))], attrs={"axis": 0}, outputs=2, exact=True)
        g.single("Tile", "2x3", [In("x", d, (2, 3)), Const("r", i64(2, 3))], exact=True)
        g.single("Expand", "3x1_to_2x3x4", [In("x", d, (3, 1)), Const("s", i64(2, 3, 4))], exact=True)
        g.single("Gather", "axis0_scattered", [In("x", d, (4, 3)), Const("i", i64(3, 0, 3))], exact=True)
        g.single("Trilu", "upper_4x5", [In("x", d, (4, 5))], exact=True)
        g.single("Squeeze", "axes_0", [In("x", d, (1, 3, 1)), Const("a", i64(0))], exact=True)
        g.single("Unsqueeze", "axes_1", [In("x", d, (3, 2)), Const("a", i64(1))], exact=True)
        g.single("Flatten", "axis_2", [In("x", d, (2, 3, 4))], attrs={"axis": 2}, exact=True)
        g.single("DepthToSpace", "dcr_b2", [In("x", d, (1, 8, 2, 3))], attrs={"blocksize": 2}, exact=True)
        g.single("SpaceToDepth", "b2", [In("x", d, (1, 2, 4, 6))], attrs={"blocksize": 2}, exact=True)
    d = "f32"
    for tag, xs, shape, attrs in [("minus1", (2, 3, 4), [-1, 4], {}), ("zero_copies", (2, 3, 4), [0, -1], {}),
                                  ("to_rank0", (1,), [], {}), ("from_rank0", (), [1, 1], {}),
                                  ("allowzero_empty", (0, 3), [3, 0], {"allowzero": 1}),
                                  ("empty_minus1", (0, 3), [-1, 3], {}), ("to_rank1", (2, 3, 4), [24], {}),
                                  ("large_64x65", (64, 65), [65, 64], {})]:
        g.single("Reshape", tag, [In("x", d, xs), Const("s", np.array(shape, np.int64))], attrs=attrs,
                 exact=True, opset=14)
    g.single("Reshape", "runtime_shape_rejected", [In("x", d, (2, 3)), In("s", "i64", (2,))], exact=True,
             data=[{"x": np.arange(6, dtype=np.float32).reshape(2, 3), "s": i64(3, 2)}])
    for axis in [0, 1, -1, 3, -3]:
        g.single("Flatten", f"axis_{axis}", [In("x", "i64", (2, 3, 4))], attrs={"axis": axis}, exact=True)
    for tag, xs, axes, opset in [("all_ones", (1, 3, 1, 2), None, 13), ("axes_neg1", (3, 1), [-1], 13),
                                 ("opset11_attr", (1, 3, 1), [0, 2], 11), ("to_rank0", (1, 1), None, 13)]:
        if opset >= 13:
            args = [In("x", d, xs)] + ([Const("a", np.array(axes, np.int64))] if axes else [])
            g.single("Squeeze", tag, args, opset=opset, exact=True)
        else:
            g.single("Squeeze", tag, [In("x", d, xs)], attrs={"axes": axes}, opset=opset, exact=True)
    for tag, xs, axes, opset in [("axes_0", (3,), [0], 13), ("axes_neg1", (2, 3), [-1], 13),
                                 ("axes_1_3", (2, 3), [1, 3], 13), ("rank0", (), [0], 13),
                                 ("opset11_attr", (2, 3), [0, 3], 11)]:
        if opset >= 13:
            g.single("Unsqueeze", tag, [In("x", d, xs), Const("a", np.array(axes, np.int64))], exact=True)
        else:
            g.single("Unsqueeze", tag, [In("x", d, xs)], attrs={"axes": axes}, opset=opset, exact=True)
    for tag, xs, perm in [("default_reverse", (2, 3, 4), None), ("perm_1_0_2", (2, 3, 4), [1, 0, 2]),
                          ("perm_0_2_1", (2, 3, 4), [0, 2, 1]), ("nchw_nhwc", (2, 3, 4, 5), [0, 2, 3, 1]),
                          ("identity", (2, 3), [0, 1]), ("rank1", (5,), None), ("empty_0x3", (0, 3), [1, 0]),
                          ("large_33x65", (33, 65), [1, 0]), ("r5", (2, 1, 3, 2, 2), [4, 2, 0, 3, 1])]:
        g.single("Transpose", tag, [In("x", d, xs)], attrs={"perm": perm} if perm else {}, exact=True)
    for tag, shapes, axis in [("axis0", [(2, 3), (1, 3)], 0), ("axis_neg1", [(2, 3), (2, 2)], -1),
                              ("with_empty", [(2, 3), (0, 3), (1, 3)], 0), ("single", [(2, 3)], 1),
                              ("rank1", [(3,), (4,)], 0), ("r3_axis1", [(2, 1, 3), (2, 2, 3)], 1)]:
        ins = [In(f"x{i}", d, s) for i, s in enumerate(shapes)]
        g.single("Concat", tag, ins, attrs={"axis": axis}, exact=True)
    g.single("Concat", "const_and_input", [In("a", "i64", (2,)), Const("b", i64(I64_MIN, I64_MAX))],
             attrs={"axis": 0}, exact=True, dtypes="i64")
    for tag, xs, pads, extra, opset in [
            ("zero_value", (2, 3), [1, 2, 0, 1], [], 13),
            ("value_1.5", (2, 3), [0, 1, 2, 0], [Const("v", scalar(1.5, "f32"))], 13),
            ("negative_crop", (4, 5), [-1, 1, 0, -2], [], 13),
            ("rank1", (5,), [2, 3], [], 13),
            ("r4_spatial", (1, 2, 3, 3), [0, 0, 1, 1, 0, 0, 1, 1], [], 13),
            ("opset11", (2, 3), [1, 1, 1, 1], [Const("v", scalar(-2.0, "f32"))], 11),
            ("axes_op18", (2, 3, 4), [1, 2], [None, Const("ax", i64(-1))], 18),
            ("value_nan", (2, 2), [1, 1, 1, 1], [Const("v", scalar(np.nan, "f32"))], 13),
            ("value_neg_inf", (2, 2), [1, 0, 1, 0], [Const("v", scalar(-np.inf, "f32"))], 13),
            ("empty_dim", (0, 3), [1, 0, 1, 0], [], 13)]:
        g.single("Pad", tag, [In("x", d, xs), Const("p", np.array(pads, np.int64))] + extra,
                 opset=opset, exact=True)
    for di in ["i32", "i8", "u8", "bool", "f16"]:
        dd = dt(di)
        g.single("Pad", "value_const", [In("x", di, (2, 3)), Const("p", i64(1, 1, 1, 1)),
                                        Const("v", np.array(True if dd.is_bool else 7, dd.np))], exact=True)
    for mode in ["reflect", "edge"]:
        g.single("Pad", f"mode_{mode}_rejected", [In("x", d, (3, 4)), Const("p", i64(1, 1, 1, 1))],
                 attrs={"mode": mode}, exact=True)
    g.single("Pad", "opset2_attrs", [In("x", d, (2, 3))], attrs={"pads": [1, 0, 0, 1], "value": 3.0},
             opset=2, exact=True)
    for tag, xs, st, en, ax, sp in [
            ("basic", (5, 6), [1, 2], [4, 5], None, None), ("negative_idx", (5, 6), [-3], [-1], [1], None),
            ("reverse_all", (5, 6), [-1], [I64_MIN], [0], [-1]), ("int64_max_end", (5, 6), [2], [I64_MAX], [1], None),
            ("clamp_out_of_range", (5, 6), [-100, 2], [100, 1000], [0, 1], None),
            ("empty_result", (5, 6), [3], [2], [0], None), ("step_gt_dim", (5, 6), [0], [6], [1], [10]),
            ("neg_step_gt_dim", (5, 6), [4], [-100], [0], [-7]), ("axes_neg", (2, 3, 4), [1], [3], [-1], None),
            ("r3_steps", (4, 5, 6), [0, 4, 1], [4, 0, 6], [0, 1, 2], [3, -2, 2]),
            ("empty_input", (0, 4), [0], [2], [1], None), ("rank1_step3", (10,), [1], [10], None, [3])]:
        args = [In("x", d, xs), Const("st", np.array(st, np.int64)), Const("en", np.array(en, np.int64))]
        if ax is not None or sp is not None:
            args.append(Const("ax", np.array(ax if ax is not None else list(range(len(st))), np.int64)))
        if sp is not None:
            args.append(Const("sp", np.array(sp, np.int64)))
        g.single("Slice", tag, args, exact=True)
    g.single("Slice", "int32_indices", [In("x", d, (5, 6)), Const("st", np.array([1], np.int32)),
                                        Const("en", np.array([-1], np.int32))], exact=True, dtypes="f32")
    g.single("Slice", "runtime_starts_rejected", [In("x", d, (5, 6)), In("st", "i64", (1,)),
                                                  Const("en", i64(3))], exact=True,
             data=[{"x": np.arange(30, dtype=np.float32).reshape(5, 6), "st": i64(1)}])
    for tag, xs, attrs, split, outputs, opset in [
            ("sizes_1_3_axis1", (2, 4), {"axis": 1}, [1, 3], 2, 13),
            ("sizes_with_zero", (5, 2), {}, [2, 0, 3], 3, 13),
            ("num_outputs_3_uneven", (7, 2), {"num_outputs": 3}, None, 3, 18),
            ("equal_axis_neg1", (2, 6), {"axis": -1}, None, 3, 13),
            ("opset11_attr", (6, 2), {"split": [2, 4]}, None, 2, 11),
            ("one_output", (3, 2), {}, None, 1, 13)]:
        args = [In("x", d, xs)]
        if split is not None:
            args.append(Const("sp", np.array(split, np.int64)))
        g.single("Split", tag, args, attrs=attrs, outputs=outputs, opset=opset, exact=True)
    for tag, xs, reps in [("rank1_x3", (4,), [3]), ("zero_repeat", (2, 3), [0, 2]), ("r3", (2, 1, 3), [2, 3, 1]),
                          ("ones", (2, 3), [1, 1]), ("large", (8, 9), [4, 5])]:
        g.single("Tile", tag, [In("x", d, xs), Const("r", np.array(reps, np.int64))], exact=True)
    for tag, xs, shape in [("1_to_2x3", (1,), [2, 3]), ("smaller_target", (2, 1, 3), [3]),
                           ("ones_target", (3, 4), [1, 1]), ("rank0_to_3", (), [3]),
                           ("to_empty", (3, 1), [3, 0]), ("same", (2, 3), [2, 3]),
                           ("large", (1, 67), [9, 67])]:
        g.single("Expand", tag, [In("x", d, xs), Const("s", np.array(shape, np.int64))], exact=True)
    g.single("Expand", "runtime_shape_rejected", [In("x", d, (3, 1)), In("s", "i64", (2,))], exact=True,
             data=[{"x": np.arange(3, dtype=np.float32).reshape(3, 1), "s": i64(3, 4)}])
    for tag, xs, idx, axis in [("progression", (5, 3), i64(0, 1, 2), 0), ("negative", (5, 3), i64(-1, -5), 0),
                               ("scalar_index", (5, 3), np.array(2, np.int64), 0),
                               ("scalar_index_axis1", (5, 3), np.array(-1, np.int64), 1),
                               ("indices_2d", (5, 3), np.array([[0, 1], [4, 2]], np.int64), 0),
                               ("axis1_dup", (2, 4, 3), i64(1, 1, 3), 1), ("axis_neg1", (2, 4, 3), i64(2, 0), -1),
                               ("empty_indices", (5, 3), np.zeros(0, np.int64), 0),
                               ("stride2", (8, 2), i64(1, 3, 5, 7), 0),
                               ("int32_indices", (5, 3), np.array([4, 0], np.int32), 0)]:
        g.single("Gather", tag, [In("x", d, xs), Const("i", idx)], attrs={"axis": axis}, exact=True,
                 dtypes="f32")
    g.single("Gather", "runtime_indices_rejected", [In("x", d, (5, 3)), In("i", "i64", (2,))], exact=True,
             data=[{"x": np.arange(15, dtype=np.float32).reshape(5, 3), "i": i64(4, 1)}])
    g.single("Gather", "const_data_folded", [Const("x", np.arange(12, dtype=np.int64).reshape(4, 3) - 6),
                                             Const("i", i64(2, 0, -1))], exact=True, dtypes="i64")
    for tag, xs, upper, k in [("lower", (4, 5), 0, None), ("upper_k1", (4, 5), 1, 1), ("lower_k_neg1", (5, 4), 0, -1),
                              ("upper_k_large", (3, 3), 1, 10), ("lower_k_neg_large", (3, 3), 0, -10),
                              ("batched", (2, 3, 4), 1, None)]:
        args = [In("x", d, xs)] + ([Const("k", np.array(k, np.int64))] if k is not None else [])
        g.single("Trilu", tag, args, attrs={"upper": upper}, exact=True)
    g.single("DepthToSpace", "crd_b2", [In("x", d, (2, 8, 2, 3))], attrs={"blocksize": 2, "mode": "CRD"}, exact=True)
    g.single("DepthToSpace", "dcr_b3", [In("x", d, (1, 9, 2, 2))], attrs={"blocksize": 3}, exact=True)
    g.single("SpaceToDepth", "b3", [In("x", d, (2, 1, 3, 6))], attrs={"blocksize": 3}, exact=True)


def gen_constant_ops(g):
    for d in ALL:
        dd = dt(d)
        value = make_values(dd, (2, 3), "any", np.random.default_rng(9), 0)
        g.add(Case(f"Constant.{d}.value_2x3", "Constant",
                   [("Constant", [], ["y"], {"value": numpy_helper.from_array(value, "v")})], [], ["y"],
                   exact=True))
    for tag, attrs in [("value_float", {"value_float": -2.5}), ("value_floats", {"value_floats": [1.0, -0.0, 3.5]}),
                       ("value_int", {"value_int": -7}), ("value_ints", {"value_ints": [1, I64_MIN, I64_MAX]})]:
        g.add(Case(f"Constant.attr.{tag}", "Constant", [("Constant", [], ["y"], attrs)], [], ["y"], exact=True))
    typed = helper.make_tensor("v", TensorProto.UINT16, [3], [65535, 1, 40000])
    g.add(Case("Constant.u16.typed_field", "Constant", [("Constant", [], ["y"], {"value": typed})], [], ["y"],
               exact=True))
    g.add(Case("Constant.f32.plus_input", "Constant",
               [("Constant", [], ["c"], {"value": numpy_helper.from_array(np.array([1.5, -2.0], np.float32), "v")}),
                ("Add", ["x", "c"], ["y"], {})], [In("x", "f32", (3, 2))], ["y"]))
    for tag, value, shape in [("default_f32", None, [2, 3]), ("i64", np.array([-5], np.int64), [3, 2]),
                              ("i32", np.array([7], np.int32), [4]), ("bool", np.array([True]), [2, 2]),
                              ("f16", np.array([1.5], np.float16), [3]), ("u8", np.array([200], np.uint8), [2, 2]),
                              ("f64", np.array([-0.0], np.float64), [2]), ("empty", np.array([1.0], np.float32), [0, 3]),
                              ("rank0", np.array([3], np.int64), [])]:
        attrs = {"value": numpy_helper.from_array(value, "v")} if value is not None else {}
        g.add(Case(f"ConstantOfShape.{tag}", "ConstantOfShape",
                   [("ConstantOfShape", ["s"], ["y"], attrs)], [], ["y"],
                   consts=[Const("s", np.array(shape, np.int64))], exact=True))
    for tag, xs, attrs, opset in [("r3", (2, 3, 4), {}, 13), ("rank0", (), {}, 13), ("start_1", (2, 3, 4), {"start": 1}, 15),
                                  ("start_neg2_end_neg1", (2, 3, 4, 5), {"start": -2, "end": -1}, 15),
                                  ("empty_dim", (0, 3), {}, 13)]:
        g.add(Case(f"Shape.{tag}", "Shape", [("Shape", ["x"], ["y"], attrs)], [In("x", "f32", xs)], ["y"],
                   opset=opset, exact=True))
    g.add(Case("Shape.chain_reshape", "Shape",
               [("Shape", ["r"], ["s"], {}), ("Reshape", ["x", "s"], ["y"], {})],
               [In("x", "f32", (6, 2)), In("r", "f32", (3, 4))], ["y"], exact=True))
    for tag, xs in [("r3", (2, 3, 4)), ("rank0", ()), ("empty", (0, 5))]:
        g.add(Case(f"Size.{tag}", "Size", [("Size", ["x"], ["y"], {})], [In("x", "i8", xs)], ["y"], exact=True))
    for tag, d, start, limit, delta in [("i64", "i64", 2, 11, 3), ("i64_neg", "i64", 10, -3, -4), ("i32", "i32", -5, 5, 2),
                                        ("f32", "f32", 0.5, 3.0, 0.75), ("f64_neg", "f64", 1.0, -1.0, -0.3),
                                        ("empty", "i64", 5, 5, 1), ("f32_empty", "f32", 3.0, 1.0, 0.5)]:
        g.add(Case(f"Range.{tag}", "Range", [("Range", ["a", "b", "c"], ["y"], {})], [], ["y"],
                   consts=[Const("a", scalar(start, d)), Const("b", scalar(limit, d)), Const("c", scalar(delta, d))],
                   exact=d in INTS))
    g.add(Case("Range.runtime_rejected", "Range", [("Range", ["a", "b", "c"], ["y"], {})],
               [In("a", "i64", ())], ["y"], consts=[Const("b", scalar(5, "i64")), Const("c", scalar(1, "i64"))]))


def gen_chains(g):
    """Two or three ops chained: the fusion and dtype boundaries between ops."""
    def chain(name, op, nodes, inputs, consts=(), **kw):
        g.add(Case(f"Chain.{name}", op, nodes, inputs, ["y"], consts, **kw))

    chain("add_relu.f32", "Add", [("Add", ["a", "b"], ["t"], {}), ("Relu", ["t"], ["y"], {})],
          [In("a", "f32", (3, 4, 5)), In("b", "f32", (4, 5))])
    chain("mul_add.f32", "Mul", [("Mul", ["a", "b"], ["t"], {}), ("Add", ["t", "c"], ["y"], {})],
          [In("a", "f32", (4, 9), "finite"), In("b", "f32", (4, 9), "finite"), In("c", "f32", (9,), "finite")])
    chain("cast_i32_mul.f32", "Cast", [("Cast", ["a"], ["t"], {"to": TensorProto.FLOAT}),
                                       ("Mul", ["t", "b"], ["y"], {})],
          [In("a", "i32", (3, 4)), In("b", "f32", (3, 4))])
    chain("matmul_add_relu.f32", "MatMul", [("MatMul", ["a", "w"], ["t"], {}), ("Add", ["t", "b"], ["u"], {}),
                                            ("Relu", ["u"], ["y"], {})],
          [In("a", "f32", (5, 8), "finite")],
          [Const("w", make_values(dt("f32"), (8, 6), "finite", np.random.default_rng(21), 1)),
           Const("b", make_values(dt("f32"), (6,), "finite", np.random.default_rng(22), 1))], accumulate=True)
    chain("conv_relu.f32", "Conv", [("Conv", ["x", "w", "b"], ["t"], {"pads": [1, 1, 1, 1]}),
                                    ("Relu", ["t"], ["y"], {})],
          [In("x", "f32", (1, 3, 6, 6), "finite")],
          [Const("w", make_values(dt("f32"), (4, 3, 3, 3), "finite", np.random.default_rng(23), 1)),
           Const("b", make_values(dt("f32"), (4,), "finite", np.random.default_rng(24), 1))], accumulate=True)
    chain("conv_batchnorm.f32", "Conv",
          [("Conv", ["x", "w"], ["t"], {}), ("BatchNormalization", ["t", "s", "b", "m", "v"], ["y"], {})],
          [In("x", "f32", (2, 2, 5, 5), "finite")],
          [Const("w", make_values(dt("f32"), (3, 2, 3, 3), "finite", np.random.default_rng(25), 1)),
           Const("s", np.array([1.0, 0.5, 2.0], np.float32)), Const("b", np.array([0.0, 1.0, -1.0], np.float32)),
           Const("m", np.array([0.1, -0.2, 0.3], np.float32)), Const("v", np.array([1.0, 2.0, 0.5], np.float32))],
          accumulate=True, opset=15)
    chain("transpose_add.f32", "Transpose", [("Transpose", ["a"], ["t"], {"perm": [1, 0]}),
                                             ("Add", ["t", "b"], ["y"], {})],
          [In("a", "f32", (5, 3)), In("b", "f32", (3, 5))])
    chain("reshape_softmax.f32", "Softmax", [("Reshape", ["x", "s"], ["t"], {}), ("Softmax", ["t"], ["y"], {})],
          [In("x", "f32", (2, 3, 4), "finite")], [Const("s", i64(6, 4))], accumulate=True)
    chain("reducemean_sub.f32", "ReduceMean", [("ReduceMean", ["x"], ["m"], {"axes": [1]}),
                                               ("Sub", ["x", "m"], ["y"], {})],
          [In("x", "f32", (3, 7), "finite")], accumulate=True)
    chain("exp_reducesum.f32", "Exp", [("Exp", ["x"], ["t"], {}), ("ReduceSum", ["t", "ax"], ["y"], {"keepdims": 0})],
          [In("x", "f32", (4, 6), "small")], [Const("ax", i64(1))], accumulate=True)
    chain("slice_concat.i64", "Slice", [("Slice", ["x", "st", "en"], ["t"], {}), ("Concat", ["t", "x"], ["y"], {"axis": 0})],
          [In("x", "i64", (4, 3))], [Const("st", i64(1)), Const("en", i64(3))], exact=True)
    chain("gather_cast.f32", "Gather", [("Gather", ["x", "i"], ["t"], {}), ("Cast", ["t"], ["y"], {"to": TensorProto.INT32})],
          [In("x", "f32", (4, 3), ("range", -1e6, 1e6))], [Const("i", i64(2, 0))])
    chain("greater_where.f32", "Where", [("Greater", ["a", "b"], ["c"], {}), ("Where", ["c", "a", "b"], ["y"], {})],
          [In("a", "f32", (3, 5)), In("b", "f32", (3, 5), ("like", "a"))], exact=True)
    chain("swish.f32", "Sigmoid", [("Sigmoid", ["x"], ["s"], {}), ("Mul", ["x", "s"], ["y"], {})],
          [In("x", "f32", (4, 10))])
    for via, dom in [("f16", "any"), ("f64", "any"), ("u8", ("range", 0, 255)), ("i8", ("range", -128, 127))]:
        chain(f"cast_roundtrip_via_{via}.f32", "Cast",
              [("Cast", ["x"], ["t"], {"to": dt(via).onnx}), ("Cast", ["t"], ["y"], {"to": TensorProto.FLOAT})],
              [In("x", "f32", (4, 6), dom)])
    chain("cast_roundtrip_via_bf16.f32", "Cast",
          [("Cast", ["x"], ["t"], {"to": TensorProto.BFLOAT16}), ("Cast", ["t"], ["y"], {"to": TensorProto.FLOAT})],
          [In("x", "f32", (4, 6))], rtol=1e-2, atol=1e-30)
    chain("cast_i64_i8_i64", "Cast",
          [("Cast", ["x"], ["t"], {"to": TensorProto.INT8}), ("Cast", ["t"], ["y"], {"to": TensorProto.INT64})],
          [In("x", "i64", (4, 6))])
    chain("u8_add_cast_i32", "Add",
          [("Add", ["a", "b"], ["t"], {}), ("Cast", ["t"], ["y"], {"to": TensorProto.INT32})],
          [In("a", "u8", (8,)), In("b", "u8", (8,))],
          data=[{"a": np.array([200, 100, 3, 255, 128, 0, 1, 250], np.uint8),
                 "b": np.array([100, 200, 253, 1, 128, 0, 254, 10], np.uint8)}])


def gen_f16_accumulation(g):
    """f16 sums whose exact value fits in f16 but whose f16 partial sums
    do not: onnxruntime accumulates in f32, as a careful f16 kernel must."""
    def add(op, tag, xs, data, attrs=None, consts=(), **kw):
        names = [i.name for i in xs] + [c.name for c in consts]
        g.add(Case(f"{op}.f16.accumulation_{tag}", op, [(op, names, ["y"], attrs or {})], xs, ["y"], consts,
                   data=[data], accumulate=True, **kw))
    f16 = np.float16
    add("ReduceMean", "sum_exceeds_f16", [In("x", "f16", (64,))],
        {"x": np.full(64, 2000, f16)}, {"keepdims": 0}, opset=18)
    add("ReduceSum", "many_ones", [In("x", "f16", (40000,))], {"x": np.ones(40000, f16)}, {"keepdims": 0},
        opset=18)
    add("Mean", "pair_sum_overflow", [In("a", "f16", (2,)), In("b", "f16", (2,))],
        {"a": np.array([60000, -60000], f16), "b": np.array([60000, -60000], f16)})
    add("MatMul", "products_exceed_f16", [In("a", "f16", (1, 4)), In("b", "f16", (4, 1))],
        {"a": np.array([[300, 300, -300, -300]], f16), "b": np.full((4, 1), 300, f16)})
    add("AveragePool", "window_sum_exceeds_f16", [In("x", "f16", (1, 1, 2, 2))],
        {"x": np.full((1, 1, 2, 2), 40000, f16)}, {"kernel_shape": [2, 2]})
    # Not a sum, the same lesson: 1 + erf(x / sqrt(2)) cancels for x < -2.5,
    # so erf must not be rounded to f16 first.
    g.add(Case("Gelu.f16.erf_cancellation", "Gelu", [("Gelu", ["x"], ["y"], {})], [In("x", "f16", (8,))], ["y"],
               opset=20, data=[{"x": np.array([-2.701171875, -2.6, -2.8, -3.0, -3.2, -3.5, -2.5, -4.0], f16)}]))
    add("InstanceNormalization", "variance_exceeds_f16",
        [In("x", "f16", (1, 1, 4)), In("s", "f16", (1,)), In("b", "f16", (1,))],
        {"x": np.array([[[300, -300, 310, -310]]], f16), "s": np.array([1], f16), "b": np.array([0.5], f16)})


def gen_invalid(g):
    """Models that ONNX and onnxruntime refuse: weftc must say why, not crash."""
    def bad(op, tag, args, attrs=None, out="f32", outputs=1, opset=DEFAULT_OPSET):
        ins = [a for a in args if isinstance(a, In)]
        consts = [a for a in args if isinstance(a, Const)]
        names = [a.name if a is not None else "" for a in args]
        outs = ["y"] if outputs == 1 else [f"y{i}" for i in range(outputs)]
        g.add(Case(f"Invalid.{op}.{tag}", op, [(op, names, outs, attrs or {})], ins, outs, consts,
                   opset=opset, invalid=True, out_types={o: out for o in outs}))
    x23 = In("x", "f32", (2, 3))
    bad("Squeeze", "axis_not_one", [x23, Const("a", i64(0))])
    bad("Transpose", "perm_repeats_axis", [x23], {"perm": [0, 0]})
    bad("Transpose", "perm_out_of_range", [x23], {"perm": [0, 2]})
    bad("Trilu", "rank1", [In("x", "f32", (4,))])
    bad("Flatten", "axis_past_rank", [x23], {"axis": 3})
    bad("MatMul", "rank0", [In("a", "f32", ()), In("b", "f32", (3,))])
    bad("MatMul", "k_mismatch", [In("a", "f32", (3, 4)), In("b", "f32", (5, 2))])
    bad("Gemm", "k_mismatch", [In("a", "f32", (3, 4)), In("b", "f32", (5, 2))])
    bad("Gemm", "rank3", [In("a", "f32", (1, 3, 4)), In("b", "f32", (4, 2))])
    bad("Conv", "channel_mismatch", [In("x", "f32", (1, 3, 5, 5)), In("w", "f32", (2, 2, 3, 3))])
    bad("Conv", "kernel_larger_than_input", [In("x", "f32", (1, 1, 2, 2)), In("w", "f32", (1, 1, 3, 3))])
    bad("Conv", "bad_auto_pad", [In("x", "f32", (1, 1, 4, 4)), In("w", "f32", (1, 1, 3, 3))],
        {"auto_pad": "BOGUS"})
    bad("Conv", "group_zero", [In("x", "f32", (1, 2, 4, 4)), In("w", "f32", (2, 2, 3, 3))], {"group": 0})
    bad("Conv", "negative_pads", [In("x", "f32", (1, 1, 4, 4)), In("w", "f32", (1, 1, 3, 3))],
        {"pads": [-1, 0, 0, 0]})
    bad("Conv", "zero_stride", [In("x", "f32", (1, 1, 4, 4)), In("w", "f32", (1, 1, 3, 3))],
        {"strides": [0, 1]})
    bad("MaxPool", "kernel_larger_than_input", [In("x", "f32", (1, 1, 2, 2))], {"kernel_shape": [3, 3]})
    bad("MaxPool", "no_kernel_shape", [In("x", "f32", (1, 1, 4, 4))])
    bad("AveragePool", "zero_kernel", [In("x", "f32", (1, 1, 4, 4))], {"kernel_shape": [0, 2]})
    bad("GlobalAveragePool", "rank2", [x23])
    bad("Gather", "index_out_of_range", [In("x", "f32", (5, 3)), Const("i", i64(5))])
    bad("Gather", "negative_index_out_of_range", [In("x", "f32", (5, 3)), Const("i", i64(-6))])
    bad("Gather", "axis_out_of_range", [In("x", "f32", (5, 3)), Const("i", i64(0))], {"axis": 2})
    bad("Reshape", "two_minus_one", [x23, Const("s", i64(-1, -1))])
    bad("Reshape", "size_mismatch", [x23, Const("s", i64(4, 2))])
    bad("Reshape", "negative_dim", [x23, Const("s", i64(-2, 3))])
    bad("Slice", "zero_step", [x23, Const("st", i64(0)), Const("en", i64(2)), Const("ax", i64(0)),
                               Const("sp", i64(0))])
    bad("Slice", "axis_out_of_range", [x23, Const("st", i64(0)), Const("en", i64(2)), Const("ax", i64(2))])
    bad("Split", "sizes_do_not_sum", [In("x", "f32", (5, 2)), Const("sp", i64(2, 2))], outputs=2)
    bad("Split", "uneven_without_sizes", [In("x", "f32", (5, 2))], outputs=2)
    bad("Concat", "rank_mismatch", [x23, In("b", "f32", (3,))], {"axis": 0})
    bad("Concat", "axis_out_of_range", [x23, In("b", "f32", (2, 3))], {"axis": 2})
    bad("Concat", "missing_axis", [x23, In("b", "f32", (2, 3))])
    bad("Concat", "other_dim_mismatch", [x23, In("b", "f32", (2, 4))], {"axis": 0})
    bad("Tile", "repeats_length", [x23, Const("r", i64(2))])
    bad("Tile", "negative_repeat", [x23, Const("r", i64(2, -1))])
    bad("Expand", "incompatible", [x23, Const("s", i64(4, 5))])
    bad("Unsqueeze", "duplicate_axes", [x23, Const("a", i64(0, 0))])
    bad("Unsqueeze", "axis_out_of_range", [x23, Const("a", i64(5))])
    bad("ReduceSum", "axis_out_of_range", [x23, Const("a", i64(3))])
    bad("ReduceMax", "duplicate_axes", [x23, Const("a", i64(1, -1))], opset=18)
    bad("Add", "not_broadcastable", [In("a", "f32", (3, 4)), In("b", "f32", (5,))])
    bad("Add", "mixed_types", [In("a", "f32", (3,)), In("b", "i32", (3,))])
    bad("Where", "cond_not_bool", [In("c", "f32", (3,)), In("a", "f32", (3,)), In("b", "f32", (3,))])
    bad("Not", "float_input", [In("x", "f32", (3,))])
    bad("And", "float_inputs", [In("a", "f32", (3,)), In("b", "f32", (3,))], out="bool")
    bad("Cast", "to_string", [In("x", "f32", (3,))], {"to": TensorProto.STRING})
    bad("Cast", "to_float8", [In("x", "f32", (3,))], {"to": TensorProto.FLOAT8E4M3FN}, opset=19)
    bad("Cast", "missing_to", [In("x", "f32", (3,))])
    bad("DepthToSpace", "channels_not_divisible", [In("x", "f32", (1, 3, 2, 2))], {"blocksize": 2})
    bad("DepthToSpace", "bad_mode", [In("x", "f32", (1, 4, 2, 2))], {"blocksize": 2, "mode": "XYZ"})
    bad("SpaceToDepth", "spatial_not_divisible", [In("x", "f32", (1, 1, 3, 4))], {"blocksize": 2})
    bad("Pad", "crop_beyond_dim", [x23, Const("p", i64(-3, 0, 0, 0))])
    bad("Pad", "pads_length", [x23, Const("p", i64(1, 1))])
    bad("Pad", "mode_wrap", [x23, Const("p", i64(1, 1, 1, 1))], {"mode": "wrap"}, opset=19)
    bad("Range", "zero_delta", [Const("a", scalar(0, "i64")), Const("b", scalar(5, "i64")),
                                Const("c", scalar(0, "i64"))], out="i64")
    bad("Softmax", "axis_out_of_range", [x23], {"axis": 2})
    bad("Gelu", "bad_approximate", [x23], {"approximate": "cubic"}, opset=20)
    bad("Clip", "min_not_scalar", [x23, Const("lo", np.array([0.0, 1.0], np.float32))])
    bad("Relu", "attribute_wrong_type", [x23], {"alpha": "x"})
    bad("LeakyRelu", "alpha_as_int", [x23], {"alpha": 1})
    bad("BatchNormalization", "stats_wrong_length",
        [In("x", "f32", (2, 3, 4)), In("s", "f32", (2,)), In("b", "f32", (3,)), In("m", "f32", (3,)),
         In("v", "f32", (3,))], opset=15)
    bad("LayerNormalization", "axis_out_of_range", [x23, In("s", "f32", (3,))], {"axis": 2})
    bad("Identity", "undefined_input", [In("x", "f32", (3,))])
    g.cases[-1].nodes[0] = ("Identity", ["nowhere"], ["y"], {})
    bad("Unknown", "op_type", [x23])
    g.cases[-1].nodes[0] = ("NoSuchOp", ["x"], ["y"], {})


FAMILIES = [gen_binary, gen_variadic, gen_compare, gen_unary, gen_clip_cast, gen_matmul, gen_conv,
            gen_pool, gen_norm, gen_softmax, gen_reduce, gen_shape_ops, gen_constant_ops, gen_chains,
            gen_f16_accumulation, gen_invalid]


def generate_cases():
    g = Generator()
    for family in FAMILIES:
        family(g)
    return g.cases


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


def select_cases(cases, args):
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
