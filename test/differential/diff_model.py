"""Element types, edge and random values, and the case model (inputs,
constants, graphs) of the differential tests; see gen_differential.py."""

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
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference
import onnxruntime as ort

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
I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min

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


def i64(*v):
    return np.array(v, dtype=np.int64)


def scalar(value, dtype_name):
    return np.array(value, dtype=dt(dtype_name).np)


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
