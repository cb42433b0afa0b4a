"""Differential case families for matrix products and quantization: MatMul,
Gemm, Einsum, Det, QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv; split out of
diff_cases.py, which lists them with the other families."""

import numpy as np

from diff_model import *  # noqa: F401,F403 (the case vocabulary)


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
        # A constant B whose partial sums stay within 2^24 runs as an exact
        # f32 matmul; a long K of large weights (4096 x 127 x 255) keeps
        # the i32 one.
        g.single("MatMulInteger", "const_b_per_col_16x64_64x32",
                 [In("a", d, (16, 64)), Const("b", q(d, (64, 32))), Const("az", q(d, ())),
                  Const("bz", q(d, (32,)))], opset=10, exact=True, dtypes=d)
        g.single("MatMulInteger", "const_b_batch_2x4x8_2x8x6",
                 [In("a", d, (2, 4, 8)), Const("b", q(d, (2, 8, 6))), Const("az", q(d, ())),
                  Const("bz", q(d, ()))], opset=10, exact=True, dtypes=d)
        g.single("MatMulInteger", "const_b_long_k_2x4096_4096x3",
                 [In("a", d, (2, 4096)), Const("b", np.full((4096, 3), 127 if d == "i8" else 255,
                                                            dt(d).np))],
                 opset=10, exact=True, dtypes=d)
        g.single("QLinearMatMul", "const_b_5x32_32x7",
                 [In("a", d, (5, 32)), Const("as", f(0.02)), Const("az", q(d, ())),
                  Const("b", q(d, (32, 7))), Const("bs", f(0.015)), Const("bz", q(d, ())),
                  Const("ys", f(0.9)), Const("yz", q(d, ()))],
                 opset=10, exact=True, dtypes=d)
        g.single("ConvInteger", "k3_pads_1x2x5x5", [In("x", d, (1, 2, 5, 5)), Const("w", q(d, (3, 2, 3, 3))),
                                                    Const("xz", q(d, ())), Const("wz", q(d, ()))],
                 attrs={"pads": [1, 1, 1, 1]}, opset=10, exact=True, dtypes=d)
    # Convolutions by constant filters accumulate in f32 when exact; 64
    # input channels of 3x3 weights of 127 (255 x 576 x 127 > 2^24), or a
    # bias of 2^25, keep them in f64.
    g.single("ConvInteger", "exact_f32_1x8x6x6", [In("x", "u8", (1, 8, 6, 6)),
                                                  Const("w", q("u8", (4, 8, 3, 3))),
                                                  Const("xz", q("u8", ())), Const("wz", q("u8", ()))],
             attrs={"pads": [1, 1, 1, 1]}, opset=10, exact=True, dtypes="u8")
    g.single("ConvInteger", "past_2p24_1x64x4x4", [In("x", "u8", (1, 64, 4, 4)),
                                                   Const("w", np.full((2, 64, 3, 3), 127, np.uint8)),
                                                   Const("wz", np.zeros((), np.uint8))],
             opset=10, exact=True, dtypes="u8")
    g.single("QLinearConv", "u8_big_bias_1x3x6x6",
             [In("x", "u8", (1, 3, 6, 6)), Const("xs", f(0.05)), Const("xz", q("u8", ())),
              Const("w", rng.integers(-63, 64, (4, 3, 3, 3)).astype(np.int8)),
              Const("ws", f(0.01, 0.02, 0.015, 0.03)),
              Const("wz", np.zeros(4, np.int8)), Const("ys", f(2.5e5)), Const("yz", q("u8", ())),
              Const("B", np.array([2**25, -2**25, 3, 2**25 + 1], np.int32))],
             opset=10, exact=True, dtypes="u8")
    # Dynamic quantization's form: uint8 activations, int8 weights (|w| < 64:
    # onnxruntime's u8 x s8 kernel saturates int16 pair sums beyond).
    g.single("MatMulInteger", "const_b_16x96_96x24",
             [In("a", "u8", (16, 96)), Const("b", rng.integers(-63, 64, (96, 24)).astype(np.int8)),
              Const("az", q("u8", ())), Const("bz", np.zeros((), np.int8))],
             opset=10, exact=True, dtypes="u8_i8")
    g.single("QLinearConv", "u8_bias_per_channel_1x3x6x6",
             [In("x", "u8", (1, 3, 6, 6)), Const("xs", f(0.05)), Const("xz", q("u8", ())),
              # |w| < 64: onnxruntime's u8 x s8 kernel adds product pairs in
              # saturating int16 (x86 vpmaddubsw), which larger weights overflow.
              Const("w", rng.integers(-63, 64, (4, 3, 3, 3)).astype(np.int8)),
              Const("ws", f(0.01, 0.02, 0.015, 0.03)),
              Const("wz", np.zeros(4, np.int8)), Const("ys", f(2.5)), Const("yz", q("u8", ())),
              Const("B", rng.integers(-2000, 2000, (4,)).astype(np.int32))],
             attrs={"pads": [1, 1, 1, 1], "strides": [2, 2]}, opset=10, exact=True, dtypes="u8")
    # uint8 x int8 with 16 or 32 output channels: the integer convolution
    # kernels (6 input channels completed to 8 by zero weights).
    g.single("QLinearConv", "u8_i8_16ch_1x6x9x11",
             [In("x", "u8", (1, 6, 9, 11)), Const("xs", f(0.05)), Const("xz", q("u8", ())),
              Const("w", rng.integers(-63, 64, (16, 6, 3, 3)).astype(np.int8)),
              Const("ws", (rng.uniform(0.005, 0.03, 16)).astype(np.float32)),
              Const("wz", np.zeros(16, np.int8)), Const("ys", f(1.5)), Const("yz", q("u8", ())),
              Const("B", rng.integers(-2000, 2000, (16,)).astype(np.int32))],
             attrs={"pads": [1, 2, 1, 0], "strides": [2, 1]}, opset=10, exact=True, dtypes="u8")
    g.single("ConvInteger", "u8_i8_32ch_dilated_1x8x10x10",
             [In("x", "u8", (1, 8, 10, 10)), Const("w", rng.integers(-63, 64, (32, 8, 3, 3)).astype(np.int8)),
              Const("xz", q("u8", ())), Const("wz", np.zeros((), np.int8))],
             attrs={"dilations": [2, 2], "pads": [1, 1, 1, 1]}, opset=10, exact=True, dtypes="u8_i8")
    # ... and products by constant int8 weights of 16k columns, as 1x1
    # integer convolutions (a zero point computed at run time, as
    # DynamicQuantizeLinear gives it; K = 36 and 18, 18 completed to 20).
    g.single("MatMulInteger", "u8_i8_kernels_runtime_zp_12x36_36x32",
             [In("a", "u8", (12, 36)), Const("b", rng.integers(-63, 64, (36, 32)).astype(np.int8)),
              In("az", "u8", ()), Const("bz", np.zeros((), np.int8))],
             opset=10, exact=True, dtypes="u8_i8")
    g.single("QLinearMatMul", "u8_i8_kernels_2x5x18_18x16",
             [In("a", "u8", (2, 5, 18)), Const("as", f(0.02)), Const("az", q("u8", ())),
              Const("b", rng.integers(-63, 64, (18, 16)).astype(np.int8)),
              Const("bs", (rng.uniform(0.005, 0.03, 16)).astype(np.float32)),
              Const("bz", np.zeros(16, np.int8)), Const("ys", f(0.3)), Const("yz", q("u8", ()))],
             opset=10, exact=True, dtypes="u8")
    g.single("QLinearConv", "i8_group_1x4x5x5",
             [In("x", "i8", (1, 4, 5, 5)), Const("xs", f(0.05)), Const("xz", q("i8", ())),
              Const("w", q("i8", (4, 2, 2, 2))), Const("ws", f(0.02)), Const("wz", np.array(0, np.int8)),
              Const("ys", f(1.5)), Const("yz", q("i8", ()))],
             attrs={"group": 2}, opset=10, exact=True, dtypes="i8")
