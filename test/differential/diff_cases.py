"""The graph generators of the differential tests: one family of cases per
op group (binary, unary, casts, matmul, conv, pooling, normalization,
reductions, shape ops, chains, invalid models); see gen_differential.py."""

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

from diff_model import *  # noqa: F401,F403 (the case vocabulary)
from diff_model import _np_name, _short  # noqa: F401
from diff_cases_recurrent import gen_control_flow, gen_rnn  # noqa: F401

# ---------------------------------------------------------------------------
# The case families
# ---------------------------------------------------------------------------

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


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
    # Mod: fmod=0 (the divisor's sign) on integers, fmod=1 on everything.
    for d in NUMERIC:
        for fmod in ([1] if d in FLOATS else [0, 1]):
            for tag, sa, sb in BINARY_SHAPES[:4]:
                g.single("Mod", f"fmod{fmod}_{tag}", [In("a", d, sa), In("b", d, sb, "divisor")],
                         attrs={"fmod": fmod})
    g.single("Mod", "signs_i32", [In("a", "i32", (8,)), In("b", "i32", (8,))], dtypes="i32",
             data=[{"a": np.array([7, -7, 7, -7, 0, 5, -5, 2147483647], np.int32),
                    "b": np.array([3, 3, -3, -3, 4, 5, -1, -2], np.int32)}])
    # BitShift: unsigned only; shifts of the bit width or more.
    for d in UINTS:
        width = np.dtype(dt(d).np).itemsize * 8
        for direction in ["LEFT", "RIGHT"]:
            for tag, sa, sb in BINARY_SHAPES[:3]:
                g.single("BitShift", f"{direction.lower()}_{tag}",
                         [In("a", d, sa), In("b", d, sb, ("range", 0, width - 1))],
                         attrs={"direction": direction})
            g.single("BitShift", f"{direction.lower()}_wide_shift", [In("a", d, (6,)), In("b", d, (6,))],
                     attrs={"direction": direction}, dtypes=d,
                     data=[{"a": np.array([1, 3, 255, 7, 1, 2], dt(d).np),
                            "b": np.array([0, 1, width - 1, width, width + 1, 3], dt(d).np)}])
    # Bitwise ops (opset 18) on every integer type.
    for d in INTS:
        for op in ["BitwiseAnd", "BitwiseOr", "BitwiseXor"]:
            for tag, sa, sb in BINARY_SHAPES[:3]:
                g.single(op, tag, [In("a", d, sa), In("b", d, sb)], opset=18, exact=True)
        g.single("BitwiseNot", "r2_4x7", [In("x", d, (4, 7))], opset=18, exact=True)
    # IsNaN / IsInf (with the detect_* attributes).
    for d in FLOATS:
        g.single("IsNaN", "r2_4x7", [In("x", d, (4, 7))], opset=20)
        for tag, attrs in [("both", {}), ("positive", {"detect_negative": 0}),
                           ("negative", {"detect_positive": 0}),
                           ("neither", {"detect_negative": 0, "detect_positive": 0})]:
            g.single("IsInf", tag, [In("x", d, (4, 7))], attrs=attrs, opset=20)


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
               "Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Erf", "Softplus", "Softsign",
               "Asin", "Acos", "Asinh", "Acosh", "Atanh"]
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
    # Bounds fed at run time (min > max included: every element is max).
    for d in ["f32", "f16", "f64", "i32", "i64", "u8", "i8"]:
        g.single("Clip", "rt_min_max", [In("x", d, (4, 7)), In("lo", d, ()), In("hi", d, ())])
    g.single("Clip", "rt_min_only", [In("x", "f32", (4, 7)), In("lo", "f32", ())])
    g.single("Clip", "rt_max_only", [In("x", "f32", (4, 7)), None, In("hi", "f32", ())])
    g.single("Clip", "rt_max_const_min", [In("x", "i32", (3, 5)), Const("lo", scalar(-4, "i32")),
                                          In("hi", "i32", ())])
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
    g.single("Dropout", "training_ratio0", [In("x", "f32", (3, 4)), Const("r", scalar(0.0, "f32")),
                                             Const("t", np.array(True))], outputs=2, exact=True)
    g.single("Dropout", "training_ratio_half", [In("x", "f32", (3, 4)), Const("r", scalar(0.5, "f32")),
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
            ("large_transB_c", {"transB": 1}, (13, 40), (17, 40), (17,)),
            # A C of the output's shape, large enough to be split into
            # workgroups (an LSTM cell's h @ R + x @ W): each workgroup must
            # start from its own tile of C.
            ("c_mn_workgroups", {}, (1, 128), (128, 512), (1, 512)),
            ("c_mn_workgroups_4rows", {"transB": 1}, (4, 64), (256, 64), (4, 256))]
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
    g.single("Conv", "conv1d_runtime_weight", [In("x", "f32", (1, 2, 7)), In("w", "f32", (3, 2, 3))],
             accumulate=True)
    # 3-D convolutions (one 2-D convolution over depth taps stacked into
    # the channels).
    for tag, xs, ws, attrs, bias in [
            ("3d_basic", (1, 2, 4, 4, 4), (3, 2, 2, 2, 2), {}, False),
            ("3d_pads_strides_bias", (2, 3, 5, 6, 5), (4, 3, 3, 2, 3),
             {"pads": [1, 0, 1, 1, 1, 0], "strides": [2, 1, 2]}, True),
            ("3d_dilations", (1, 2, 7, 6, 5), (2, 2, 2, 3, 2), {"dilations": [3, 1, 2]}, False),
            ("3d_group_2", (1, 4, 4, 5, 4), (6, 2, 2, 2, 2), {"group": 2}, True),
            ("3d_depthwise_same", (1, 3, 5, 5, 5), (3, 1, 3, 3, 3),
             {"group": 3, "auto_pad": "SAME_UPPER", "strides": [2, 2, 2]}, False)]:
        args = [In("x", "f32", xs, "finite"), In("w", "f32", ws, "finite")]
        if bias:
            args.append(In("b", "f32", (ws[0],), "finite"))
        g.single("Conv", tag, args, attrs=attrs, accumulate=True, dtypes="f32")
    g.single("Conv", "3d_const_weights", [In("x", "f32", (1, 2, 4, 5, 6), "finite"),
                                          Const("w", make_values(dt("f32"), (3, 2, 2, 3, 2), "finite",
                                                                 np.random.default_rng(7), 1))],
             attrs={"pads": [0, 1, 1, 1, 1, 0]}, accumulate=True, dtypes="f32")
    # A grouped convolution whose output spans several workgroups (8 images
    # of 15x15): its result is computed on [N, G, F/G, ..] views of the
    # output, which must still be the output's own buffer.
    g.single("Conv", "group_3_batch8_workgroups", [In("x", "f32", (8, 6, 16, 16), "finite"),
                                                   In("w", "f32", (3, 2, 2, 2), "finite")],
             attrs={"group": 3}, accumulate=True, dtypes="f32")
    g.single("Conv", "conv4d_rejected", [In("x", "f32", (1, 1, 3, 3, 3, 3)),
                                         In("w", "f32", (1, 1, 2, 2, 2, 2))],
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
    # Indices: the first maximum of each window (ties are frequent in
    # int8), padding never chosen, row- or column-major, 1-D to 3-D.
    for d, tag, xs, attrs in [
            ("f32", "indices_k2", (1, 2, 4, 4), {"kernel_shape": [2, 2]}),
            ("f32", "indices_pads_strides_2x3x5x6", (2, 3, 5, 6),
             {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
            ("f32", "indices_ceil_dilations_1x2x7x7", (1, 2, 7, 7),
             {"kernel_shape": [2, 3], "strides": [2, 2], "dilations": [2, 1], "ceil_mode": 1}),
            ("f32", "indices_storage_order_1x2x5x4", (1, 2, 5, 4),
             {"kernel_shape": [2, 2], "pads": [0, 1, 1, 0], "storage_order": 1}),
            ("i8", "indices_ties_1x2x6x6", (1, 2, 6, 6), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
            ("u8", "indices_same_upper_1x1x5x5", (1, 1, 5, 5),
             {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"})]:
        g.single("MaxPool", tag, [In("x", d, xs, "nonan")], attrs=attrs, outputs=2, dtypes=d, exact=True)
    g.single("MaxPool", "indices_1d_pads_2x2x7", [In("x", "f32", (2, 2, 7), "nonan")],
             attrs={"kernel_shape": [3], "strides": [2], "pads": [1, 1]}, outputs=2, exact=True)
    g.single("MaxPool", "indices_3d_pads_1x2x4x5x4", [In("x", "f32", (1, 2, 4, 5, 4), "nonan")],
             attrs={"kernel_shape": [2, 3, 2], "strides": [2, 1, 2], "pads": [1, 1, 0, 0, 1, 1]},
             outputs=2, opset=12, exact=True)
    g.single("MaxPool", "indices_3d_storage_order_1x1x3x4x5", [In("x", "i8", (1, 1, 3, 4, 5), "nonan")],
             attrs={"kernel_shape": [2, 2, 2], "storage_order": 1}, outputs=2, dtypes="i8", opset=12,
             exact=True)
    g.single("MaxPool", "pool1d_edge_values", [In("x", "f32", (1, 2, 8))],
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
    for mode in ["reflect", "edge", "wrap"]:
        for di in ["f32", "i64", "u8", "f16"]:
            g.single("Pad", f"mode_{mode}_3x4", [In("x", di, (3, 4)), Const("p", i64(1, 2, 2, 1))],
                     attrs={"mode": mode}, exact=True, opset=19)
        g.single("Pad", f"mode_{mode}_crop_and_pad_2x3x5", [In("x", "f32", (2, 3, 5)),
                                                           Const("p", i64(0, 2, -1, 0, 0, 3))],
                 attrs={"mode": mode}, exact=True, opset=19, dtypes="f32")
        g.single("Pad", f"mode_{mode}_axes_1x4x4", [In("x", "f32", (1, 4, 4)), Const("p", i64(3, 1, 0, 2)),
                                                   Const("a", i64(1, 2))],
                 attrs={"mode": mode}, exact=True, opset=19, dtypes="f32")
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
    g.single("Gather", "const_data_folded", [Const("x", np.arange(12, dtype=np.int64).reshape(4, 3) - 6),
                                             Const("i", i64(2, 0, -1))], exact=True, dtypes="i64")
    for tag, xs, upper, k in [("lower", (4, 5), 0, None), ("upper_k1", (4, 5), 1, 1), ("lower_k_neg1", (5, 4), 0, -1),
                              ("upper_k_large", (3, 3), 1, 10), ("lower_k_neg_large", (3, 3), 0, -10),
                              ("batched", (2, 3, 4), 1, None)]:
        args = [In("x", d, xs)] + ([Const("k", np.array(k, np.int64))] if k is not None else [])
        g.single("Trilu", tag, args, attrs={"upper": upper}, exact=True)
    for upper in [0, 1]:
        for k in [-2, 0, 1, 7]:
            g.single("Trilu", f"rt_k{k}_upper{upper}_3x4x5", [In("x", d, (3, 4, 5)), In("k", "i64", ())],
                     attrs={"upper": upper}, exact=True, data=[{"x": np.arange(60, dtype=np.float32)
                                                                .reshape(3, 4, 5), "k": np.array(k)}])
    g.single("DepthToSpace", "crd_b2", [In("x", d, (2, 8, 2, 3))], attrs={"blocksize": 2, "mode": "CRD"}, exact=True)
    g.single("DepthToSpace", "dcr_b3", [In("x", d, (1, 9, 2, 2))], attrs={"blocksize": 3}, exact=True)
    g.single("SpaceToDepth", "b3", [In("x", d, (2, 1, 3, 6))], attrs={"blocksize": 3}, exact=True)


def gen_arg(g):
    """ArgMax/ArgMin: every numeric dtype, axes, keepdims, and ties with
    select_last_index (small integer values repeat)."""
    for op in ["ArgMax", "ArgMin"]:
        for d in NUMERIC:
            g.single(op, "axis1_3x5x4", [In("x", d, (3, 5, 4))], attrs={"axis": 1})
        for tag, shape, attrs in [("default_4x6", (4, 6), {}),
                                  ("axis_neg1_2x3x7", (2, 3, 7), {"axis": -1}),
                                  ("no_keepdims_3x5", (3, 5), {"axis": 0, "keepdims": 0}),
                                  ("1d_9", (9,), {}),
                                  ("long_row_2x300", (2, 300), {"axis": 1})]:
            g.single(op, tag, [In("x", "f32", shape)], attrs=attrs, dtypes="f32")
        for d in ["i32", "u8", "f32"]:
            for last in [0, 1]:
                g.single(op, f"ties_last{last}_4x9", [In("x", d, (4, 9), "small")],
                         attrs={"axis": 1, "select_last_index": last}, opset=12)


def gen_losses(g):
    """NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: reductions,
    class weights, ignore_index (inside and outside the class range), extra
    dimensions, int32 and int64 targets."""
    rng = np.random.default_rng(5)
    for op in ["NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"]:
        for d in ["f32", "f64", "f16"]:
            for reduction in ["none", "sum", "mean"]:
                g.single(op, f"{reduction}_4x5", [In("x", d, (4, 5), "small"),
                                                  In("t", "i64", (4,), ("range", 0, 4))],
                         attrs={"reduction": reduction}, dtypes=d, opset=13,
                         **({"atol": 2e-3} if d == "f16" else {}))
        for tag, xs, ts, attrs, weighted, it in [
                ("weight_mean_3x4x2", (3, 4, 2), (3, 2), {}, True, "i64"),
                ("weight_sum_3x4", (3, 4), (3,), {"reduction": "sum"}, True, "i32"),
                ("ignore_mean_5x3", (5, 3), (5,), {"ignore_index": 1}, False, "i64"),
                ("ignore_weight_mean_2x3x2x2", (2, 3, 2, 2), (2, 2, 2), {"ignore_index": 2}, True, "i64"),
                ("ignore_neg_none_4x3", (4, 3), (4,), {"ignore_index": -1, "reduction": "none"}, False, "i64")]:
            args = [In("x", "f32", xs, "small"), In("t", it, ts, ("range", 0, xs[1] - 1))]
            if weighted:
                args.append(Const("w", rng.uniform(0.2, 2.0, xs[1]).astype(np.float32)))
            g.single(op, tag, args, attrs=attrs, dtypes="f32", opset=13)
        g.single(op, "ignored_targets", [In("x", "f32", (4, 3), "small"), In("t", "i64", (4,))],
                 attrs={"ignore_index": -1, "reduction": "sum"}, dtypes="f32", opset=13,
                 data=[{"x": rng.uniform(-2, 2, (4, 3)).astype(np.float32), "t": i64(0, -1, 2, -1)}])
    g.single("SoftmaxCrossEntropyLoss", "log_prob_output", [In("x", "f32", (3, 4), "small"),
                                                            In("t", "i64", (3,), ("range", 0, 3))],
             outputs=2, dtypes="f32", opset=13)


def gen_one_hot_like(g):
    """Hardmax, EyeLike and OneHot (depth constant: it is a dimension)."""
    for d in FLOATS:
        g.single("Hardmax", "axis_neg1_3x4x5", [In("x", d, (3, 4, 5))], exact=True)
    for tag, shape, attrs, opset in [("axis0_3x4", (3, 4), {"axis": 0}, 13), ("axis1_2x3x4", (2, 3, 4), {"axis": 1}, 13),
                                     ("ties_4x6", (4, 6), {}, 13), ("opset11_coerced_2x3x4", (2, 3, 4), {"axis": 1}, 11)]:
        g.single("Hardmax", tag, [In("x", "f32", shape, "small")], attrs=attrs, opset=opset, exact=True,
                 dtypes="f32")
    for d in ["f32", "i32", "u8", "f64"]:
        for tag, shape, k in [("3x4", (3, 4), 0), ("k1_4x3", (4, 3), 1), ("kneg2_4x5", (4, 5), -2), ("k9_3x3", (3, 3), 9)]:
            g.single("EyeLike", tag, [In("x", d, shape)], attrs={"k": k}, exact=True)
    g.single("EyeLike", "dtype_f32_from_i64", [In("x", "i64", (3, 5))], attrs={"dtype": TensorProto.FLOAT},
             exact=True)
    for it in ["i64", "i32", "f32"]:
        for tag, shape, axis in [("axis_neg1_2x3", (2, 3), -1), ("axis0_4", (4,), 0), ("axis1_2x3", (2, 3), 1)]:
            g.single("OneHot", tag, [In("i", it, shape, ("range", -6, 6)), Const("depth", np.array(5, np.int64)),
                                     Const("v", np.array([-1.5, 3.0], np.float32))],
                     attrs={"axis": axis}, exact=True, dtypes=it)
    g.single("OneHot", "rt_values_i32", [In("i", "i64", (5,), ("range", -3, 3)), Const("depth", np.array(3.0, np.float32)),
                                         In("v", "i32", (2,))], exact=True, dtypes="i64_i32")


def gen_resize(g):
    """Resize with constant scales or sizes: every mode, coordinate
    transformation and nearest rounding, up and down, 1-3 resized axes."""
    # Finite data: with infinities the taps' zero weights give NaN or not
    # depending on how each engine orders its arithmetic.
    def resize(tag, shape, attrs, scales=None, sizes=None, d="f32", opset=13, **kw):
        domain = ("range", -8, 8) if d not in ("u8",) else "any"
        args = [In("x", d, shape, domain), Const("roi", np.zeros(0, np.float32)),
                Const("scales", np.array(scales, np.float32)) if scales is not None else None]
        if sizes is not None:
            args[2] = Const("scales", np.zeros(0, np.float32))
            args.append(Const("sizes", np.array(sizes, np.int64)))
        if attrs.get("mode") == "cubic":
            kw.setdefault("atol", 2e-5)  # 16 taps over two axes
        g.single("Resize", tag, args, attrs=attrs, opset=opset, dtypes=d, **kw)
    for transform in ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"]:
        for mode in ["nearest", "linear", "cubic"]:
            resize(f"{mode}_{transform}_up_1x2x3x4", (1, 2, 3, 4),
                   {"mode": mode, "coordinate_transformation_mode": transform}, [1, 1, 2, 1.5])
            resize(f"{mode}_{transform}_down_1x1x7x9", (1, 1, 7, 9),
                   {"mode": mode, "coordinate_transformation_mode": transform}, [1, 1, 0.5, 0.34])
    for nearest in ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]:
        resize(f"nearest_{nearest}_sizes_1x1x5x5", (1, 1, 5, 5),
               {"mode": "nearest", "nearest_mode": nearest}, sizes=[1, 1, 8, 3])
    for d in ["f16", "f64", "u8", "i32"]:
        resize("nearest_x2_2x3x4", (2, 3, 4), {"mode": "nearest"}, [1, 2, 2], d=d, exact=True)
    for d in ["f16", "f64"]:
        resize("linear_x2_1x3x4x4", (1, 3, 4, 4), {"mode": "linear"}, [1, 1, 2, 2], d=d)
    resize("cubic_exclude_outside_1x1x4x4", (1, 1, 4, 4),
           {"mode": "cubic", "exclude_outside": 1, "cubic_coeff_a": -0.5}, [1, 1, 1.7, 0.6])
    resize("linear_3d_1x1x3x4x5", (1, 1, 3, 4, 5), {"mode": "linear"}, [1, 1, 2, 0.5, 1.5])
    for mode in ["nearest", "linear"]:
        g.single("Upsample", f"{mode}_opset9_1x2x3x4",
                 [In("x", "f32", (1, 2, 3, 4), ("range", -8, 8)),
                  Const("scales", np.array([1, 1, 2, 1.5], np.float32))],
                 attrs={"mode": mode}, opset=9, dtypes="f32")
    resize("yolo_upsample_1x8x13x13", (1, 8, 13, 13), {"mode": "nearest"}, [1, 1, 2, 2], exact=True)
    resize("linear_antialias_down_1x1x8x8", (1, 1, 8, 8), {"mode": "linear", "antialias": 1},
           [1, 1, 0.5, 0.375], opset=18)
    resize("cubic_antialias_down_1x1x8x8", (1, 1, 8, 8), {"mode": "cubic", "antialias": 1},
           [1, 1, 0.6, 0.5], opset=18)


def gen_conv_transpose(g):
    """ConvTranspose, 1-D and 2-D, constant filters: strides, dilations,
    pads, output_padding, output_shape, auto_pad, groups, bias."""
    rng = np.random.default_rng(9)
    def ct(tag, xs, ws, attrs, bias=False, d="f32", const_w=True):
        w = rng.uniform(-1, 1, ws).astype(dt(d).np)
        args = [In("x", d, xs, ("range", -4, 4)), Const("w", w) if const_w else In("w", d, ws, ("range", -1, 1))]
        if bias:
            args.append(Const("b", rng.uniform(-1, 1, ws[1] * attrs.get("group", 1)).astype(dt(d).np)))
        g.single("ConvTranspose", tag, args, attrs=attrs, dtypes=d, atol=1e-4)
    ct("plain_1x2x3x3_k3", (1, 2, 3, 3), (2, 3, 3, 3), {})
    ct("stride2_bias_2x3x4x5", (2, 3, 4, 5), (3, 2, 3, 3), {"strides": [2, 2]}, bias=True)
    ct("stride3x2_pads_1x1x3x3", (1, 1, 3, 3), (1, 2, 3, 3), {"strides": [3, 2], "pads": [1, 2, 1, 2]})
    ct("output_padding_1x2x3x3", (1, 2, 3, 3), (2, 2, 3, 3), {"strides": [3, 2], "output_padding": [1, 1]})
    ct("dilation2_1x1x4x4", (1, 1, 4, 4), (1, 1, 2, 2), {"dilations": [2, 2]})
    ct("group2_1x4x3x3", (1, 4, 3, 3), (4, 3, 2, 2), {"group": 2, "strides": [2, 2]}, bias=True)
    ct("output_shape_1x1x3x3", (1, 1, 3, 3), (1, 2, 3, 3), {"strides": [3, 2], "output_shape": [10, 8]})
    ct("3d_stride2_bias_1x2x3x3x2", (1, 2, 3, 3, 2), (2, 3, 2, 3, 2), {"strides": [2, 1, 2]}, bias=True)
    ct("3d_pads_dil_group2_1x4x3x4x3", (1, 4, 3, 4, 3), (4, 1, 2, 2, 3),
       {"group": 2, "pads": [1, 0, 1, 0, 1, 1], "dilations": [1, 2, 1], "output_padding": [1, 0, 0],
        "strides": [2, 2, 1]})
    ct("3d_runtime_filter_1x1x2x3x3", (1, 1, 2, 3, 3), (1, 2, 2, 2, 2), {"strides": [2, 2, 2]},
       const_w=False)
    ct("same_upper_1x1x3x4", (1, 1, 3, 4), (1, 1, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"})
    ct("same_lower_1x1x3x4", (1, 1, 3, 4), (1, 1, 4, 4), {"strides": [2, 2], "auto_pad": "SAME_LOWER"})
    ct("1d_stride2_1x2x5", (1, 2, 5), (2, 3, 3), {"strides": [2]}, bias=True)
    ct("detector_upsample_1x8x7x7", (1, 8, 7, 7), (8, 4, 4, 4), {"strides": [2, 2], "pads": [1, 1, 1, 1]},
       bias=True)
    ct("rt_filter_1x2x3x3", (1, 2, 3, 3), (2, 2, 2, 2), {"strides": [2, 2]}, const_w=False)
    ct("f64_1x2x3x3", (1, 2, 3, 3), (2, 2, 3, 3), {"strides": [2, 2]}, d="f64")


def gen_quantize(g):
    """QuantizeLinear / DequantizeLinear (per tensor, per axis, blocked) and
    DynamicQuantizeLinear."""
    for zt in ["u8", "i8"]:
        zp = np.array(3 if zt == "u8" else -2, dt(zt).np)
        g.single("QuantizeLinear", f"per_tensor_to_{zt}", [In("x", "f32", (3, 5), ("range", -300, 300)),
                                                           Const("s", np.array(0.7, np.float32)), Const("z", zp)],
                 dtypes=f"f32_{zt}", exact=True)
        g.single("DequantizeLinear", f"per_tensor_from_{zt}", [In("x", zt, (3, 5)), Const("s", np.array(0.25, np.float32)),
                                                                Const("z", zp)], dtypes=zt)
    g.single("QuantizeLinear", "ties_to_u8", [In("x", "f32", (8,)), Const("s", np.array(1.0, np.float32)),
                                              Const("z", np.array(0, np.uint8))], dtypes="f32_u8", exact=True,
             data=[{"x": np.array([0.5, 1.5, 2.5, 3.5, -0.5, 254.5, 255.5, 1e9], np.float32)}])
    g.single("QuantizeLinear", "per_axis_2x3x4", [In("x", "f32", (2, 3, 4), ("range", -50, 50)),
                                                  Const("s", np.array([0.5, 1.0, 2.0], np.float32)),
                                                  Const("z", np.array([0, 10, 250], np.uint8))],
             dtypes="f32_u8", exact=True, opset=13)
    g.single("DequantizeLinear", "per_axis_i32_no_zp", [In("x", "i32", (2, 3), ("range", -1000, 1000)),
                                                        Const("s", np.array([0.5, 0.1, 2.0], np.float32))],
             attrs={"axis": -1}, dtypes="i32", opset=13)
    g.single("DequantizeLinear", "blocked_4x6_b2", [In("x", "i8", (4, 6)),
                                                    Const("s", np.array(np.arange(1, 13).reshape(4, 3) / 8, np.float32)),
                                                    Const("z", np.zeros((4, 3), np.int8))],
             attrs={"axis": 1, "block_size": 2}, dtypes="i8", opset=21)
    g.single("DynamicQuantizeLinear", "3x4", [In("x", "f32", (3, 4), ("range", -5, 9))], outputs=3,
             dtypes="f32", opset=11)


def gen_window_1d(g):
    """Conv, MaxPool and AveragePool over rank-3 [N, C, W] inputs."""
    rng = np.random.default_rng(13)
    for tag, xs, ws, attrs in [("k3_2x4x11", (2, 4, 11), (6, 4, 3), {}),
                               ("stride2_pads_1x3x10", (1, 3, 10), (5, 3, 4), {"strides": [2], "pads": [1, 2]}),
                               ("dilation2_group2_1x4x9", (1, 4, 9), (4, 2, 3), {"dilations": [2], "group": 2}),
                               ("same_upper_1x2x7", (1, 2, 7), (3, 2, 4), {"auto_pad": "SAME_UPPER"})]:
        g.single("Conv", f"1d_{tag}", [In("x", "f32", xs, ("range", -4, 4)),
                                       Const("w", rng.uniform(-1, 1, ws).astype(np.float32)),
                                       Const("b", rng.uniform(-1, 1, ws[0]).astype(np.float32))],
                 attrs=attrs, dtypes="f32", atol=1e-5)
    for op in ["MaxPool", "AveragePool"]:
        for tag, attrs in [("k3_s1", {"kernel_shape": [3]}), ("k2_s2_pads", {"kernel_shape": [2], "strides": [2],
                                                                            "pads": [1, 1]}),
                           ("k3_ceil", {"kernel_shape": [3], "strides": [2], "ceil_mode": 1})]:
            g.single(op, f"1d_{tag}_2x3x10", [In("x", "f32", (2, 3, 10), ("range", -4, 4))], attrs=attrs,
                     dtypes="f32", atol=1e-6)


def gen_cumsum(g):
    for d in ["f32", "f64", "i32", "i64", "u32", "u64"]:
        for ex in [0, 1]:
            for rev in [0, 1]:
                g.single("CumSum", f"axis1_ex{ex}_rev{rev}_3x5x2",
                         [In("x", d, (3, 5, 2), ("range", -20, 20) if d[0] != "u" else ("range", 0, 40)),
                          Const("axis", np.array(1, np.int64))], attrs={"exclusive": ex, "reverse": rev},
                         dtypes=d, atol=1e-5)
    g.single("CumSum", "axis_neg1_i32_axis_4x70", [In("x", "f32", (4, 70), ("range", -4, 4)),
                                                   Const("axis", np.array(-1, np.int32))], dtypes="f32", atol=1e-4)


def gen_lrn_mvn(g):
    for d in FLOATS:
        g.single("LRN", "size3_2x5x4x4", [In("x", d, (2, 5, 4, 4), ("range", -3, 3))], attrs={"size": 3},
                 **({"atol": 2e-3} if d == "f16" else {}))
        g.single("MeanVarianceNormalization", "nhw_2x3x4x5", [In("x", d, (2, 3, 4, 5), ("range", -3, 3))], opset=13,
                 attrs={"axes": [0, 2, 3]},
                 **({"atol": 5e-3} if d == "f16" else {"atol": 1e-4}))
    g.single("LRN", "size5_custom_1x7x3x3", [In("x", "f32", (1, 7, 3, 3), ("range", -3, 3))],
             attrs={"size": 5, "alpha": 0.01, "beta": 0.5, "bias": 2.0}, dtypes="f32")
    g.single("LRN", "size1_1x3x2x2", [In("x", "f32", (1, 3, 2, 2), ("range", -3, 3))], attrs={"size": 1},
             dtypes="f32")
    g.single("MeanVarianceNormalization", "axes_last_3x4x5", [In("x", "f32", (3, 4, 5), ("range", -3, 3))],
             attrs={"axes": [-1]}, dtypes="f32", atol=1e-4, opset=13)


def gen_gather(g):
    """Gather, GatherElements and GatherND with indices fed at run time
    (negative ones included), and with constant scattered indices."""
    for d in ALL:
        g.single("Gather", "rt_axis0_5x3_i2", [In("x", d, (5, 3)), In("i", "i64", (2,), ("range", -5, 4))],
                 exact=True, dtypes=d)
    for tag, xs, ish, axis, it in [("rt_axis1_2x4x3_i3", (2, 4, 3), (3,), 1, "i64"),
                                   ("rt_axis_neg1_2x4x3_i2x2", (2, 4, 3), (2, 2), -1, "i32"),
                                   ("rt_scalar_index", (6, 5), (), 0, "i64"),
                                   ("rt_embedding_50x16_1x7", (50, 16), (1, 7), 0, "i64"),
                                   ("rt_embedding_50x33_2x5_i32", (50, 33), (2, 5), 0, "i32"),
                                   ("rt_empty_indices", (5, 3), (0,), 0, "i64"),
                                   ("rt_1d_9_i4", (9,), (4,), 0, "i64")]:
        dim = xs[axis]
        g.single("Gather", tag, [In("x", "f32", xs), In("i", it, ish, ("range", -dim, dim - 1))],
                 attrs={"axis": axis}, exact=True, dtypes="f32")
    g.single("Gather", "scattered_300", [In("x", "f32", (400, 3)),
                                        Const("i", np.random.default_rng(3).integers(-400, 400, 300))],
             exact=True, dtypes="f32")
    for d in ["f32", "i64", "u8", "bool", "f16"]:
        g.single("GatherElements", "rt_axis0_3x4", [In("x", d, (3, 4)), In("i", "i64", (2, 4), ("range", -3, 2))],
                 exact=True, dtypes=d)
    for tag, xs, ish, axis, it in [("rt_axis1_3x4_3x2", (3, 4), (3, 2), 1, "i64"),
                                   ("rt_axis_neg1_2x3x5_2x3x7", (2, 3, 5), (2, 3, 7), -1, "i32"),
                                   ("rt_axis1_2x3x5_2x6x5", (2, 3, 5), (2, 6, 5), 1, "i64"),
                                   ("rt_1d_8_12", (8,), (12,), 0, "i64")]:
        dim = xs[axis]
        g.single("GatherElements", tag, [In("x", "f32", xs), In("i", it, ish, ("range", -dim, dim - 1))],
                 attrs={"axis": axis}, exact=True, dtypes="f32")
    g.single("GatherElements", "const_indices", [In("x", "f32", (2, 3)), Const("i", i64(2, -1, 0).reshape(1, 3))],
             attrs={"axis": 1}, exact=True, dtypes="f32")
    for tag, xs, ish, batch, bound in [("rt_k1_4x3_2x1", (4, 3), (2, 1), 0, 4),
                                       ("rt_k2_4x3_5x2", (4, 3), (5, 2), 0, 3),
                                       ("rt_k2_full_3x4x2_2x2", (3, 4, 2), (2, 2), 0, 3),
                                       ("rt_batch1_2x5x3_2x4x1", (2, 5, 3), (2, 4, 1), 1, 5),
                                       ("rt_batch1_2x3x4_2x2", (2, 3, 4), (2, 2), 1, 3)]:
        g.single("GatherND", tag, [In("x", "f32", xs), In("i", "i64", ish, ("range", -bound, bound - 1))],
                 attrs={"batch_dims": batch}, exact=True, dtypes="f32")
    for d in ["i32", "u16", "f64"]:
        g.single("GatherND", "rt_k2_3x3", [In("x", d, (3, 3)), In("i", "i64", (4, 2), ("range", -3, 2))],
                 exact=True, dtypes=d)


def gen_scatter(g):
    """ScatterElements, Scatter and ScatterND with run-time indices (negative
    ones and duplicates included) and every reduction."""
    for d in ["f32", "i64", "u8", "f16", "bool"]:
        g.single("ScatterElements", "rt_axis0_4x3", [In("x", d, (4, 3)), In("i", "i64", (2, 3), ("range", -4, 3)),
                                                     In("u", d, (2, 3))], exact=True, dtypes=d)
    for red in ["add", "mul", "max", "min"]:
        for d in ["f32", "i32", "u8"]:
            g.single("ScatterElements", f"rt_{red}_axis1_3x5_3x7",
                     [In("x", d, (3, 5)), In("i", "i64", (3, 7), ("range", -5, 4)), In("u", d, (3, 7))],
                     attrs={"axis": 1, "reduction": red}, opset=18, dtypes=d,
                     **({"exact": True} if d != "f32" or red in ("max", "min") else {}))
    for tag, xs, ish, axis in [("rt_axis_neg1_2x3x6_2x2x4", (2, 3, 6), (2, 2, 4), -1),
                               ("rt_axis1_2x5x3_2x3x3", (2, 5, 3), (2, 3, 3), 1),
                               ("rt_1d_9_12", (9,), (12,), 0),
                               ("rt_empty_indices_4x3_0x3", (4, 3), (0, 3), 0)]:
        dim = xs[axis]
        g.single("ScatterElements", tag, [In("x", "f32", xs), In("i", "i32", ish, ("range", -dim, dim - 1)),
                                          In("u", "f32", ish)], attrs={"axis": axis}, exact=True, dtypes="f32")
    g.single("Scatter", "rt_axis1_3x4", [In("x", "f32", (3, 4)), In("i", "i64", (3, 2), ("range", -4, 3)),
                                         In("u", "f32", (3, 2))], attrs={"axis": 1}, opset=10, exact=True,
             dtypes="f32")
    for tag, xs, ish, bound in [("rt_k1_rows_5x4_3x1", (5, 4), (3, 1), 5),
                                ("rt_k2_elems_4x3_6x2", (4, 3), (6, 2), 3),
                                ("rt_k2_slices_3x4x5_2x2", (3, 4, 5), (2, 2), 3),
                                ("rt_k3_2x3x4_2x2x3", (2, 3, 4), (2, 2, 3), 2)]:
        k = ish[-1]
        us = ish[:-1] + xs[k:]
        g.single("ScatterND", tag, [In("x", "f32", xs), In("i", "i64", ish, ("range", -bound, bound - 1)),
                                    In("u", "f32", us)], exact=True, dtypes="f32")
    for red in ["add", "mul", "max", "min"]:
        g.single("ScatterND", f"rt_{red}_4x3_5x1", [In("x", "f32", (4, 3)), In("i", "i64", (5, 1), ("range", -4, 3)),
                                                   In("u", "f32", (5, 3))], attrs={"reduction": red}, opset=18,
                 dtypes="f32", **({"exact": True} if red in ("max", "min") else {}))
    for d in ["i32", "bool", "f64"]:
        g.single("ScatterND", "rt_k2_3x3", [In("x", d, (3, 3)), In("i", "i64", (2, 2), ("range", -3, 2)),
                                            In("u", d, (2,))], exact=True, dtypes=d)


def gen_topk(g):
    """TopK over rows with ties (small integer ranges), both directions."""
    for d in ["f32", "i32", "u8", "f64", "i64", "f16"]:
        for largest in (1, 0):
            g.single("TopK", f"axis1_3x9_k4_largest{largest}", [In("x", d, (3, 9), ("range", 0, 5)), Const("k", i64(4))],
                     attrs={"axis": 1, "largest": largest}, outputs=2, exact=True, dtypes=d)
    for tag, xs, axis, k in [("axis0_7x3_k7", (7, 3), 0, 7), ("axis_neg1_2x3x20_k5", (2, 3, 20), -1, 5),
                             ("axis1_2x6x3_k0", (2, 6, 3), 1, 0), ("1d_100_k10", (100,), 0, 10)]:
        g.single("TopK", tag, [In("x", "f32", xs), Const("k", i64(k))], attrs={"axis": axis}, outputs=2,
                 exact=True, dtypes="f32")
    g.single("TopK", "attr_k_opset9_4x6", [In("x", "f32", (4, 6))], attrs={"k": 2}, outputs=2, opset=9,
             exact=True, dtypes="f32")


def gen_windows(g):
    for op in ["HannWindow", "HammingWindow", "BlackmanWindow"]:
        for n, periodic in [(10, 1), (10, 0), (1, 1), (33, 0)]:
            g.add(Case(f"{op}.f32.size{n}_periodic{periodic}", op,
                       [(op, ["n"], ["y"], {"periodic": periodic})], [], ["y"],
                       consts=[Const("n", np.array(n, dtype=np.int64))], opset=17, atol=1e-6))
    g.add(Case("HannWindow.f64.size8_double", "HannWindow",
               [("HannWindow", ["n"], ["y"], {"output_datatype": 11})], [], ["y"],
               consts=[Const("n", np.array(8, dtype=np.int32))], opset=17, atol=1e-6))


def gen_unpool_reverse(g):
    """MaxUnpool (indices into the flattened unpooled tensor, with and
    without output_shape equal to it) and ReverseSequence (time and batch
    axes swapped, lengths from 0 to the full length)."""
    rng = np.random.default_rng(11)
    idx = rng.permutation(1 * 2 * 4 * 4)[:8].reshape(1, 2, 2, 2).astype(np.int64)
    g.single("MaxUnpool", "k2s2_1x2x2x2", [In("x", "f32", (1, 2, 2, 2)), Const("i", idx)],
             attrs={"kernel_shape": [2, 2], "strides": [2, 2]}, opset=11, dtypes="f32", exact=True)
    g.single("MaxUnpool", "k2s2_output_shape", [In("x", "f32", (1, 2, 2, 2)), Const("i", idx),
                                                Const("shape", i64(1, 2, 4, 4))],
             attrs={"kernel_shape": [2, 2], "strides": [2, 2]}, opset=11, dtypes="f32", exact=True)
    g.single("ReverseSequence", "time0_4x3x2", [In("x", "f32", (4, 3, 2)), Const("l", i64(4, 0, 2))],
             attrs={"time_axis": 0, "batch_axis": 1}, opset=10, exact=True)
    g.single("ReverseSequence", "batch0_3x5", [In("x", "f32", (3, 5)), Const("l", i64(1, 5, 3))],
             attrs={"time_axis": 1, "batch_axis": 0}, opset=10, exact=True)


def gen_lp_pool_crop(g):
    """LpPool in 1-D and 2-D (p = 1, 2, 3; pads, strides, dilations,
    auto_pad, ceil_mode) and CenterCropPad (crop, pad, both, axes)."""
    for tag, xs, attrs in [("p2_k3_1x2x6x6", (1, 2, 6, 6), {"kernel_shape": [3, 3]}),
                           ("p1_k2_s2_1x3x5x7", (1, 3, 5, 7), {"kernel_shape": [2, 2], "strides": [2, 2], "p": 1}),
                           ("p3_pads_2x2x4x5", (2, 2, 4, 5), {"kernel_shape": [2, 3], "pads": [1, 0, 1, 2], "p": 3}),
                           ("same_upper_1x1x5x5", (1, 1, 5, 5), {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER"}),
                           ("dilated_1x2x7x7", (1, 2, 7, 7), {"kernel_shape": [2, 2], "dilations": [2, 3]}),
                           ("ceil_1x1x6x6", (1, 1, 6, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
                           ("1d_k3_2x3x9", (2, 3, 9), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
                           ("3d_k2_1x2x4x5x4", (1, 2, 4, 5, 4), {"kernel_shape": [2, 2, 2]}),
                           ("3d_p1_s2_pads_1x1x5x5x6", (1, 1, 5, 5, 6),
                            {"kernel_shape": [3, 2, 2], "strides": [2, 2, 2], "pads": [1, 0, 1, 1, 1, 0], "p": 1}),
                           ("3d_ceil_1x2x5x6x5", (1, 2, 5, 6, 5),
                            {"kernel_shape": [2, 3, 2], "strides": [2, 2, 2], "ceil_mode": 1})]:
        g.single("LpPool", tag, [In("x", "f32", xs, ("range", -3, 3))], attrs=attrs, opset=18, dtypes="f32",
                 atol=1e-4)
    for tag, xs, shape, axes in [("crop_10x8x3", (10, 8, 3), [6, 5, 3], None),
                                 ("pad_4x3x2", (4, 3, 2), [7, 6, 2], None),
                                 ("crop_and_pad_9x4", (9, 4), [4, 9], None),
                                 ("axes_hw_2x9x7", (2, 9, 7), [4, 10], [1, 2]),
                                 ("neg_axes_5x6x2", (5, 6, 2), [3, 3], [-3, -2])]:
        g.single("CenterCropPad", tag, [In("x", "f32", xs), Const("s", i64(*shape))],
                 attrs={"axes": axes} if axes else None, opset=18, exact=True, dtypes="f32")


def gen_pool_3d(g):
    """3-D MaxPool and AveragePool (run as two 2-D pools)."""
    for op in ["MaxPool", "AveragePool"]:
        for tag, xs, attrs in [("k2_1x2x4x4x4", (1, 2, 4, 4, 4), {"kernel_shape": [2, 2, 2]}),
                               ("k3_s2_pads_2x1x5x6x7", (2, 1, 5, 6, 7),
                                {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "pads": [1, 0, 1, 1, 2, 0]}),
                               ("k2x3x1_dil_1x2x5x6x4", (1, 2, 5, 6, 4),
                                {"kernel_shape": [2, 3, 1], "dilations": [2, 1, 1]}),
                               ("same_upper_1x1x5x5x5", (1, 1, 5, 5, 5),
                                {"kernel_shape": [3, 2, 3], "strides": [2, 2, 2], "auto_pad": "SAME_UPPER"}),
                               ("ceil_1x1x6x5x6", (1, 1, 6, 5, 6),
                                {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "ceil_mode": 1})]:
            g.single(op, "3d_" + tag, [In("x", "f32", xs, ("range", -5, 5))], attrs=attrs, opset=19, dtypes="f32",
                     atol=1e-6)
    g.single("AveragePool", "3d_include_pad_1x2x4x5x4", [In("x", "f32", (1, 2, 4, 5, 4), "nonan")],
             attrs={"kernel_shape": [3, 3, 2], "pads": [1, 1, 0, 1, 1, 1], "count_include_pad": 1}, opset=19,
             dtypes="f32", atol=1e-6)


def gen_einsum(g):
    """Einsum: matmul-like pairs, batch labels, contraction over several
    labels, diagonals, sums, transposes, ellipses, three operands, implicit
    outputs."""
    cases = [("matmul", "ij,jk->ik", [(3, 4), (4, 5)]),
             ("batch_matmul", "bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
             ("two_contracted", "abc,bcd->ad", [(2, 3, 4), (3, 4, 5)]),
             ("outer", "i,j->ij", [(3,), (4,)]),
             ("inner", "i,i", [(5,), (5,)]),
             ("sum_rows", "ij->i", [(3, 4)]),
             ("sum_all", "ij->", [(3, 4)]),
             ("transpose", "ijk->kji", [(2, 3, 4)]),
             ("trace", "ii", [(4, 4)]),
             ("batch_diagonal", "...ii->...i", [(2, 3, 3)]),
             ("ellipsis_matmul", "...ij,...jk->...ik", [(2, 3, 4), (2, 4, 2)]),
             ("implicit_sorted", "ba,ca", [(3, 4), (2, 4)]),
             ("three_operands", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
             ("drop_left_label", "ij,jk->k", [(3, 4), (4, 5)]),
             ("attention_scores", "bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)])]
    for tag, eq, shapes in cases:
        args = [In(f"x{i}", "f32", sh, ("range", -2, 2)) for i, sh in enumerate(shapes)]
        g.single("Einsum", tag, args, attrs={"equation": eq}, opset=12, dtypes="f32", atol=1e-5)
    for d in ["i32", "i64", "f64"]:
        g.single("Einsum", "matmul_3x4_4x2", [In("a", d, (3, 4), ("range", -3, 3)), In("b", d, (4, 2), ("range", -3, 3))],
                 attrs={"equation": "ij,jk->ik"}, opset=12, dtypes=d, atol=1e-9)


def gen_grid_sample(g):
    """GridSample 2-D and 3-D: linear, nearest and (2-D) cubic, every
    padding mode, both align_corners, grids reaching past the input."""
    for mode in ["bilinear", "nearest"]:
        for padding in ["zeros", "border", "reflection"]:
            for align in (0, 1):
                g.single("GridSample", f"{mode}_{padding}_align{align}",
                         [In("x", "f32", (2, 3, 4, 5), ("range", -3, 3)), In("grid", "f32", (2, 3, 6, 2), ("range", -1.7, 1.7))],
                         attrs={"mode": mode, "padding_mode": padding, "align_corners": align}, opset=16,
                         dtypes="f32", atol=1e-5)
    g.single("GridSample", "bilinear_far_reflection_1x1x3x2",
             [In("x", "f32", (1, 1, 3, 2), ("range", -3, 3)), In("grid", "f32", (1, 4, 4, 2), ("range", -6, 6))],
             attrs={"padding_mode": "reflection"}, opset=16, dtypes="f32", atol=1e-5)
    # Cubic (2-D, opset 16 spells it bicubic) and 3-D (opset 20) sampling.
    for padding in ["zeros", "border", "reflection"]:
        for align in (0, 1):
            g.single("GridSample", f"bicubic_{padding}_align{align}",
                     [In("x", "f32", (1, 2, 5, 6), ("range", -3, 3)),
                      In("grid", "f32", (1, 4, 3, 2), ("range", -1.5, 1.5))],
                     attrs={"mode": "bicubic", "padding_mode": padding, "align_corners": align}, opset=16,
                     dtypes="f32", atol=1e-4)
    for mode in ["linear", "nearest"]:
        for padding, align in [("zeros", 0), ("border", 1), ("reflection", 0)]:
            g.single("GridSample", f"3d_{mode}_{padding}_align{align}",
                     [In("x", "f32", (2, 2, 3, 4, 5), ("range", -3, 3)),
                      In("grid", "f32", (2, 2, 3, 2, 3), ("range", -1.5, 1.5))],
                     attrs={"mode": mode, "padding_mode": padding, "align_corners": align}, opset=20,
                     dtypes="f32", atol=1e-5)


def gen_group_norm(g):
    rng = np.random.default_rng(41)
    for tag, xs, groups, opset in [("g2_2x4x3x3", (2, 4, 3, 3), 2, 21), ("g1_1x6x5", (1, 6, 5), 1, 21),
                                   ("g6_2x6x2x2", (2, 6, 2, 2), 6, 21), ("g3_1x6x4x4x2", (1, 6, 4, 4, 2), 3, 21)]:
        c = xs[1]
        g.single("GroupNormalization", tag,
                 [In("x", "f32", xs, ("range", -3, 3)), Const("s", rng.standard_normal(c).astype(np.float32)),
                  Const("b", rng.standard_normal(c).astype(np.float32))],
                 attrs={"num_groups": groups, "epsilon": 1e-3}, opset=opset, dtypes="f32", atol=1e-4)


def gen_det(g):
    for tag, xs in [("1x1", (1, 1)), ("2x2", (2, 2)), ("batch_3x2x2", (3, 2, 2)), ("3x3", (3, 3)),
                    ("batch_2x4x3x3", (2, 4, 3, 3))]:
        g.single("Det", tag, [In("x", "f32", xs, ("range", -3, 3))], opset=11, dtypes="f32", atol=1e-4)
    g.single("Det", "f64_3x3", [In("x", "f64", (3, 3), ("range", -3, 3))], opset=11, dtypes="f64", atol=1e-9)
    # Larger matrices by elimination with partial pivoting; a singular one
    # (two equal rows) and a zero first column need no division by zero.
    for tag, xs in [("4x4", (4, 4)), ("batch_3x5x5", (3, 5, 5)), ("8x8", (8, 8))]:
        g.single("Det", tag, [In("x", "f32", xs, ("range", -2, 2))], opset=11, dtypes="f32", atol=1e-3)
    g.single("Det", "f64_batch_2x6x6", [In("x", "f64", (2, 6, 6), ("range", -2, 2))], opset=11,
             dtypes="f64", atol=1e-9)
    singular = np.array([[[1, 2, 3, 4], [2, 0, 1, 1], [1, 2, 3, 4], [0, 5, 1, 2]],
                         [[0, 1, 2, 3], [0, 4, 1, 1], [0, 2, 3, 4], [0, 5, 1, 2]]], np.float32)
    g.single("Det", "singular_2x4x4", [In("x", "f32", (2, 4, 4))], opset=11, dtypes="f32", atol=1e-4,
             data=[{"x": singular}])
    g.single("Det", "65x65_rejected", [In("x", "f32", (65, 65))], opset=11, dtypes="f32")


def gen_widened(g):
    """Ops computed in a wider type: unsigned max pooling, bool ReduceMax
    and ReduceMin."""
    for d in ["u16", "u32"]:
        g.single("MaxPool", "k3_pads_1x2x5x5", [In("x", d, (1, 2, 5, 5))],
                 attrs={"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, opset=12, exact=True, dtypes=d)
    for op in ["ReduceMax", "ReduceMin"]:
        g.single(op, "bool_axis1_3x4", [In("x", "bool", (3, 4)), Const("axes", i64(1))], opset=20, exact=True,
                 dtypes="bool")
        g.single(op, "bool_all_keep_2x3", [In("x", "bool", (2, 3))], opset=20, exact=True, dtypes="bool")


def gen_quantized_linear(g):
    """MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv: int8/uint8,
    scalar and per-row/per-column/per-channel zero points and scales."""
    rng = np.random.default_rng(31)

    def q(d, shape):
        lo, hi = (0, 255) if d == "u8" else (-128, 127)
        return rng.integers(lo, hi + 1, shape).astype(dt(d).np)

    def f(*v):
        return np.array(v, dtype=np.float32)

    for d in ["u8", "i8"]:
        g.single("MatMulInteger", "zp_scalar_3x5_5x4", [In("a", d, (3, 5)), In("b", d, (5, 4)),
                                                        Const("az", q(d, ())), Const("bz", q(d, ()))],
                 opset=10, exact=True, dtypes=d)
        g.single("MatMulInteger", "no_zp_batch_2x3x6_6x2", [In("a", d, (2, 3, 6)), In("b", d, (6, 2))], opset=10,
                 exact=True, dtypes=d)
        g.single("MatMulInteger", "zp_per_col_4x7_7x3", [In("a", d, (4, 7)), In("b", d, (7, 3)),
                                                         Const("az", q(d, ())), Const("bz", q(d, (3,)))],
                 opset=10, exact=True, dtypes=d)
        g.single("QLinearMatMul", "scalar_3x8_8x5",
                 [In("a", d, (3, 8)), Const("as", f(0.02)), Const("az", q(d, ())), In("b", d, (8, 5)),
                  Const("bs", f(0.015)), Const("bz", q(d, ())), Const("ys", f(0.9)), Const("yz", q(d, ()))],
                 opset=10, exact=True, dtypes=d)
        g.single("QLinearMatMul", "batch_2x3x4_4x6",
                 [In("a", d, (2, 3, 4)), Const("as", f(0.01)), Const("az", q(d, ())),
                  In("b", d, (4, 6)), Const("bs", f(0.03)), Const("bz", q(d, ())),
                  Const("ys", f(0.2)), Const("yz", q(d, ()))],
                 opset=10, exact=True, dtypes=d)
        g.single("ConvInteger", "k3_pads_1x2x5x5", [In("x", d, (1, 2, 5, 5)), Const("w", q(d, (3, 2, 3, 3))),
                                                    Const("xz", q(d, ())), Const("wz", q(d, ()))],
                 attrs={"pads": [1, 1, 1, 1]}, opset=10, exact=True, dtypes=d)
    g.single("QLinearConv", "u8_bias_per_channel_1x3x6x6",
             [In("x", "u8", (1, 3, 6, 6)), Const("xs", f(0.05)), Const("xz", q("u8", ())),
              # |w| < 64: onnxruntime's u8 x s8 kernel adds product pairs in
              # saturating int16 (x86 vpmaddubsw), which larger weights overflow.
              Const("w", rng.integers(-63, 64, (4, 3, 3, 3)).astype(np.int8)),
              Const("ws", f(0.01, 0.02, 0.015, 0.03)),
              Const("wz", np.zeros(4, np.int8)), Const("ys", f(2.5)), Const("yz", q("u8", ())),
              Const("B", rng.integers(-2000, 2000, (4,)).astype(np.int32))],
             attrs={"pads": [1, 1, 1, 1], "strides": [2, 2]}, opset=10, exact=True, dtypes="u8")
    g.single("QLinearConv", "i8_group_1x4x5x5",
             [In("x", "i8", (1, 4, 5, 5)), Const("xs", f(0.05)), Const("xz", q("i8", ())),
              Const("w", q("i8", (4, 2, 2, 2))), Const("ws", f(0.02)), Const("wz", np.array(0, np.int8)),
              Const("ys", f(1.5)), Const("yz", q("i8", ()))],
             attrs={"group": 2}, opset=10, exact=True, dtypes="i8")


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


def gen_signal(g):
    """DFT (real and complex, forward and inverse, one-sided, dft_length
    padding and truncation, every axis, opsets 17 and 20), STFT (window,
    frame_length, two-sided) and MelWeightMatrix; Col2Im in 1-D to 3-D."""
    for tag, xs, attrs, length, axis, opset in [
            ("real_axis1_1x8x3x1", (1, 8, 3, 1), {}, None, None, 17),
            ("complex_axis2_2x3x6x2", (2, 3, 6, 2), {"axis": 2}, None, None, 17),
            ("inverse_complex_1x10x2", (1, 10, 2), {"inverse": 1}, None, None, 17),
            ("onesided_real_2x16x1", (2, 16, 1), {"onesided": 1}, None, None, 17),
            ("onesided_odd_1x9x1", (1, 9, 1), {"onesided": 1}, None, None, 17),
            ("pad_length_12_1x7x1", (1, 7, 1), {}, 12, None, 17),
            ("truncate_length_5_1x8x2", (1, 8, 2), {}, 5, None, 17),
            ("axis_input_default_3x5x4x1", (3, 5, 4, 1), {}, None, None, 20),
            ("axis_input_0_6x2x2", (6, 2, 2), {}, None, 0, 20),
            ("axis_input_neg3_2x5x3x2", (2, 5, 3, 2), {"inverse": 1}, None, -3, 20)]:
        args = [In("x", "f32", xs, ("range", -2, 2)),
                Const("n", np.array(length, np.int64)) if length is not None else None]
        if axis is not None:
            args.append(Const("a", np.array(axis, np.int64)))
        while args and args[-1] is None:
            args.pop()
        g.single("DFT", tag, args, attrs=attrs, opset=opset, dtypes="f32", atol=1e-4)
    g.single("DFT", "f64_complex_1x6x2", [In("x", "f64", (1, 6, 2), ("range", -2, 2))], opset=17,
             dtypes="f64", atol=1e-9)
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(16) / 16)).astype(np.float32)
    for tag, xs, step, window, length, attrs in [
            # onesided is spelled out: ONNX's shape inference takes its
            # default as 0 and would declare two-sided outputs.
            ("frame16_step8_1x64x1", (1, 64, 1), 8, None, 16, {"onesided": 1}),
            ("hann16_step4_2x50x1", (2, 50, 1), 4, Const("w", hann), None, {"onesided": 1}),
            ("input_window_twosided_1x40x1", (1, 40, 1), 6, In("w", "f32", (16,), ("range", 0, 1)), 16,
             {"onesided": 0}),
            ("complex_1x33x2", (1, 33, 2), 5, None, 8, {"onesided": 0})]:
        args = [In("x", "f32", xs, ("range", -2, 2)), Const("s", np.array(step, np.int64)), window,
                Const("l", np.array(length, np.int64)) if length is not None else None]
        while args[-1] is None:
            args.pop()
        g.single("STFT", tag, args, attrs=attrs, opset=17, dtypes="f32", atol=1e-4)
    for tag, mels, n, rate, lo, hi, dtype in [("8bins_64_8k", 8, 64, 8000, 0.0, 4000.0, None),
                                             ("20bins_400_16k", 20, 400, 16000, 20.0, 7600.0, None),
                                             ("f64_5bins_32_1000", 5, 32, 1000, 50.0, 450.0, 11)]:
        g.add(Case(f"MelWeightMatrix.f32.{tag}", "MelWeightMatrix",
                   [("MelWeightMatrix", ["m", "n", "r", "lo", "hi"], ["y"],
                     {"output_datatype": dtype} if dtype else {})], [], ["y"],
                   consts=[Const("m", np.array(mels, np.int64)), Const("n", np.array(n, np.int64)),
                           Const("r", np.array(rate, np.int64)), Const("lo", np.array(lo, np.float32)),
                           Const("hi", np.array(hi, np.float32))], opset=17, atol=1e-6))
    for tag, xs, image, block, attrs in [
            ("2d_plain_1x4x9", (1, 4, 9), [4, 4], [2, 2], {}),
            ("2d_strides_pads_2x6x9", (2, 6, 9), [5, 6], [1, 3], {"strides": [2, 2], "pads": [0, 1, 1, 0]}),
            ("2d_dilations_1x8x6", (1, 8, 6), [5, 5], [2, 2], {"dilations": [2, 3]}),
            ("2d_remainder_1x2x6", (1, 2, 6), [5, 7], [1, 2], {"strides": [2, 3]}),
            ("1d_1x3x5", (1, 3, 5), [7], [3], {}),
            ("3d_1x16x8", (1, 16, 8), [3, 3, 3], [2, 2, 2], {})]:
        g.single("Col2Im", tag, [In("x", "f32", xs, ("range", -2, 2)), Const("i", i64(*image)),
                                 Const("b", i64(*block))], attrs=attrs, opset=18, dtypes="f32", atol=1e-5)



def gen_roi_align(g):
    """RoiAlign: avg and max, fixed and adaptive sampling grids, both
    coordinate transformations, regions given or fed at run time, regions
    over the border and degenerate ones."""
    boxes = np.array([[0.0, 0.0, 9.0, 7.0], [2.5, 1.0, 6.0, 8.5], [-3.0, 4.0, 30.0, 12.0],
                      [5.0, 5.0, 5.0, 5.0]], np.float32)
    batch = np.array([0, 1, 1, 0], np.int64)
    inside = np.array([[0.0, 0.0, 11.0, 9.0], [2.5, 1.0, 6.0, 8.5], [0.0, 4.0, 12.0, 10.0],
                       [5.0, 5.0, 5.0, 5.0]], np.float32)
    for tag, attrs, opset, rois, x in [
            ("avg_s2_half_pixel", {"output_height": 3, "output_width": 4, "sampling_ratio": 2,
                                   "spatial_scale": 0.5}, 16, Const("r", boxes), ("range", -3, 3)),
            ("max_s2", {"mode": "max", "output_height": 2, "output_width": 2, "sampling_ratio": 2}, 16,
             Const("r", boxes), ("range", -3, 3)),
            ("avg_adaptive", {"output_height": 2, "output_width": 3}, 16, Const("r", inside),
             ("range", -3, 3)),
            ("max_adaptive_negative", {"mode": "max", "output_height": 3, "output_width": 2}, 16,
             Const("r", inside), ("range", -5, -1)),
            # Wider than the feature map: more samples than the static
            # adaptive grid holds (listed in expected.txt).
            ("adaptive_region_beyond_map", {"output_height": 2, "output_width": 3}, 16,
             Const("r", boxes), ("range", -3, 3)),
            ("output_half_pixel_opset10", {"output_height": 2, "output_width": 2, "sampling_ratio": 3,
                                           "spatial_scale": 0.75}, 10, Const("r", boxes), ("range", -3, 3)),
            ("input_rois_s1", {"output_height": 2, "output_width": 2, "sampling_ratio": 1}, 16,
             In("r", "f32", (4, 4), ("range", -2, 10)), ("range", -3, 3))]:
        g.single("RoiAlign", tag, [In("x", "f32", (2, 3, 10, 12), x), rois, Const("b", batch)],
                 attrs=attrs, opset=opset, dtypes="f32", atol=1e-5)



def gen_deform_conv(g):
    """DeformConv 2-D: offsets that leave the input, masks, bias, groups,
    offset groups, strides, dilations and pads."""
    for tag, xs, ws, attrs, with_mask, with_bias in [
            ("plain_1x2x5x5_k3", (1, 2, 5, 5), (3, 2, 3, 3), {}, False, False),
            ("mask_bias_pads_2x3x6x5", (2, 3, 6, 5), (4, 3, 2, 2), {"pads": [1, 0, 1, 1]}, True, True),
            ("stride2_dil2_1x2x9x8", (1, 2, 9, 8), (2, 2, 3, 2), {"strides": [2, 2], "dilations": [2, 1]},
             True, False),
            ("group2_offset_group2_1x4x5x6", (1, 4, 5, 6), (6, 2, 2, 3), {"group": 2, "offset_group": 2},
             True, True)]:
        kh, kw = ws[2], ws[3]
        oh = (xs[2] + sum(attrs.get("pads", [0, 0, 0, 0])[0::2]) - ((kh - 1) * attrs.get("dilations", [1, 1])[0] + 1)) \
            // attrs.get("strides", [1, 1])[0] + 1
        ow = (xs[3] + sum(attrs.get("pads", [0, 0, 0, 0])[1::2]) - ((kw - 1) * attrs.get("dilations", [1, 1])[1] + 1)) \
            // attrs.get("strides", [1, 1])[1] + 1
        og = attrs.get("offset_group", 1)
        args = [In("x", "f32", xs, ("range", -3, 3)), In("w", "f32", ws, ("range", -1, 1)),
                In("off", "f32", (xs[0], og * kh * kw * 2, oh, ow), ("range", -2.5, 2.5)),
                In("b", "f32", (ws[0],), ("range", -1, 1)) if with_bias else None,
                In("m", "f32", (xs[0], og * kh * kw, oh, ow), ("range", 0, 1)) if with_mask else None]
        while args[-1] is None:
            args.pop()
        g.single("DeformConv", tag, args, attrs=attrs, opset=19, dtypes="f32", atol=1e-4)


FAMILIES = [gen_binary, gen_variadic, gen_compare, gen_unary, gen_clip_cast, gen_matmul, gen_conv,
            gen_pool, gen_norm, gen_softmax, gen_reduce, gen_shape_ops, gen_gather, gen_scatter, gen_topk, gen_windows, gen_rnn, gen_control_flow, gen_unpool_reverse, gen_lp_pool_crop, gen_pool_3d, gen_einsum, gen_grid_sample, gen_group_norm, gen_det, gen_widened, gen_quantized_linear, gen_arg, gen_losses, gen_one_hot_like,
            gen_resize, gen_conv_transpose, gen_lrn_mvn, gen_quantize, gen_cumsum, gen_window_1d,
            gen_constant_ops, gen_signal, gen_roi_align, gen_deform_conv,
            gen_chains,
            gen_f16_accumulation, gen_invalid]


def generate_cases():
    g = Generator()
    for family in FAMILIES:
        family(g)
    return g.cases
