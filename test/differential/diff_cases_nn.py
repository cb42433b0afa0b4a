"""Differential case families for neural-network layers: convolutions
(and transposed, deformable), pooling (2-D, 3-D, Lp, unpooling),
normalizations, Resize, GridSample, RoiAlign, windows and signal ops;
split out of diff_cases.py, which lists them with the other families."""

import numpy as np

from diff_model import *  # noqa: F401,F403 (the case vocabulary)


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
