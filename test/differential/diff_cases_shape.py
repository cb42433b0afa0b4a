"""Differential case families for shape ops, indexing and constants:
Reshape, Transpose, Concat, Slice, Pad, Split, Tile, Expand, Squeeze,
Unsqueeze, Flatten, Trilu, DepthToSpace and SpaceToDepth; Gather,
GatherElements, GatherND, ScatterElements, Scatter and ScatterND;
Constant, ConstantOfShape, Shape, Size and Range; split out of
diff_cases.py, which lists them with the other families."""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from diff_model import *  # noqa: F401,F403 (the case vocabulary)


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
