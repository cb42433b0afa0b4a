"""The graph generators of the differential tests: one family of cases per
op group (binary, unary, casts, reductions, chains, invalid models; matrix
products and quantization are in diff_cases_linalg.py, shape ops, indexing
and constants in diff_cases_shape.py, convolutions, pooling, normalization,
resampling and signal ops in diff_cases_nn.py, recurrent layers and control
flow in diff_cases_recurrent.py); see gen_differential.py."""

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
from diff_cases_nn import (  # noqa: F401
    gen_conv,
    gen_pool,
    gen_norm,
    gen_resize,
    gen_conv_transpose,
    gen_window_1d,
    gen_lrn_mvn,
    gen_windows,
    gen_unpool_reverse,
    gen_lp_pool_crop,
    gen_pool_3d,
    gen_grid_sample,
    gen_group_norm,
    gen_signal,
    gen_roi_align,
    gen_deform_conv)
from diff_cases_linalg import (  # noqa: F401
    gen_matmul,
    gen_einsum,
    gen_det,
    gen_quantize,
    gen_quantized_linear)
from diff_cases_shape import (  # noqa: F401
    gen_shape_ops,
    gen_gather,
    gen_scatter,
    gen_constant_ops)

# ---------------------------------------------------------------------------
# The case families
# ---------------------------------------------------------------------------

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


def gen_run_time_sizes(g):
    """Ops whose output sizes the data decides: NonZero (NaN and -0.0 in the
    edge set), Compress, Unique (ties from small ranges) and
    NonMaxSuppression (ties among scores, boxes in either corner order)."""
    for d in ["f32", "f64", "f16", "i8", "i32", "i64", "u8", "bool"]:
        g.single("NonZero", "2x3x4", [In("x", d, (2, 3, 4))], exact=True, dtypes=d)
    for tag, shape in [("1d_50", (50,)), ("empty_0x3", (0, 3)), ("scalar", ())]:
        g.single("NonZero", tag, [In("x", "f32", shape)], exact=True, dtypes="f32")
    for tag, attrs, cond in [("flat_3x4", {}, 12), ("axis0_3x4", {"axis": 0}, 3),
                             ("axis1_short_3x4", {"axis": 1}, 2), ("axis_neg1_3x4", {"axis": -1}, 4)]:
        g.single("Compress", tag, [In("x", "f32", (3, 4)), In("c", "bool", (cond,))], attrs=attrs,
                 exact=True, dtypes="f32")
    g.single("Compress", "axis0_i64_5x2", [In("x", "i64", (5, 2)), In("c", "bool", (5,))],
             attrs={"axis": 0}, exact=True, dtypes="i64")
    for d in ["f32", "i64", "i8", "f64"]:
        for srt in (1, 0):
            g.single("Unique", f"flat_sorted{srt}_4x5", [In("x", d, (4, 5), ("range", -3, 3))],
                     attrs={"sorted": srt}, outputs=4, exact=True, dtypes=d)
    for tag, attrs in [("axis0_6x2", {"axis": 0}), ("axis1_sorted0_6x2", {"axis": 1, "sorted": 0}),
                       ("axis_neg1_6x2", {"axis": -1})]:
        g.single("Unique", tag, [In("x", "i64", (6, 2), ("range", 0, 2))], attrs=attrs, outputs=4,
                 exact=True, dtypes="i64")
    boxes, scores = In("b", "f32", (2, 10, 4), ("range", 0, 8)), In("s", "f32", (2, 3, 10), ("range", 0, 1))
    limits = [Const("m", i64(3)), Const("iou", np.float32(0.3)), Const("thr", np.float32(0.4))]
    for tag, args, attrs in [("limits", limits, {}), ("center", limits, {"center_point_box": 1}),
                             ("no_threshold", limits[:2], {}), ("no_limit", [], {}),
                             ("limit_fed", [In("m", "i64", (1,), ("range", 0, 4))] + limits[1:], {})]:
        g.single("NonMaxSuppression", tag, [boxes, scores] + args, attrs=attrs, exact=True,
                 dtypes="f32")


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


FAMILIES = [gen_binary, gen_variadic, gen_compare, gen_unary, gen_clip_cast, gen_matmul, gen_conv,
            gen_pool, gen_norm, gen_softmax, gen_reduce, gen_shape_ops, gen_gather, gen_scatter, gen_topk, gen_run_time_sizes, gen_windows, gen_rnn, gen_control_flow, gen_unpool_reverse, gen_lp_pool_crop, gen_pool_3d, gen_einsum, gen_grid_sample, gen_group_norm, gen_det, gen_widened, gen_quantized_linear, gen_arg, gen_losses, gen_one_hot_like,
            gen_resize, gen_conv_transpose, gen_lrn_mvn, gen_quantize, gen_cumsum, gen_window_1d,
            gen_constant_ops, gen_signal, gen_roi_align, gen_deform_conv,
            gen_chains,
            gen_f16_accumulation, gen_invalid]


def generate_cases():
    g = Generator()
    for family in FAMILIES:
        family(g)
    return g.cases
