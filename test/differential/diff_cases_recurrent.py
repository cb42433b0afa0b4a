"""Differential case families for recurrent layers and control flow: RNN,
GRU and LSTM (unrolled and run as loops), If, Loop (unrolled and at run
time), Scan and AffineGrid; split out of diff_cases.py, which lists them
with the other families."""

import numpy as np
from onnx import TensorProto, helper

from diff_model import *  # noqa: F401,F403 (the case vocabulary)


def gen_rnn(g):
    """RNN, GRU and LSTM: directions, layouts, initial states, run-time
    sequence lengths, clip, peepholes, non-default activations; sequences
    unrolled and sequences beyond 16 steps run in a loop."""
    rng = np.random.default_rng(21)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.4).astype(np.float32)

    def rnn(op, tag, seq=4, batch=3, inp=5, hidden=6, dirs=1, attrs=None, bias=True, lens=None,
            h0=False, c0=False, peep=False, layout=0, runtime_w=False, d="f32", opset=14):
        gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
        attrs = dict(attrs or {}, hidden_size=hidden)
        if layout:
            attrs["layout"] = 1
        xs = (batch, seq, inp) if layout else (seq, batch, inp)
        sshape = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
        npd = dt(d).np
        args = [In("x", d, xs, ("range", -2, 2))]
        for name, shape in [("W", (dirs, gates * hidden, inp)), ("R", (dirs, gates * hidden, hidden))]:
            args.append(In(name, d, shape, ("range", -1, 1)) if runtime_w else Const(name, w(*shape).astype(npd)))
        args.append(Const("B", w(dirs, 2 * gates * hidden).astype(npd)) if bias else None)
        if lens is None:
            args.append(None)
        elif lens == "runtime":
            args.append(In("L", "i32", (batch,), ("range", 0, seq)))
        else:
            args.append(Const("L", np.array(lens, dtype=np.int32)))
        args.append(In("h0", d, sshape, ("range", -1, 1)) if h0 else None)
        if op == "LSTM":
            args.append(In("c0", d, sshape, ("range", -1, 1)) if c0 else None)
            args.append(Const("P", w(dirs, 3 * hidden).astype(npd)) if peep else None)
        while args and args[-1] is None:
            args.pop()
        outputs = 3 if op == "LSTM" else 2
        g.single(op, tag, args, attrs=attrs, outputs=outputs, dtypes=d, opset=opset, atol=1e-5)

    for op in ["RNN", "GRU", "LSTM"]:
        rnn(op, "forward_defaults")
        rnn(op, "reverse_h0", attrs={"direction": "reverse"}, h0=True, c0=True)
        rnn(op, "bidirectional_h0", dirs=2, attrs={"direction": "bidirectional"}, h0=True, c0=True)
        rnn(op, "no_bias_seq1", seq=1, bias=False)
        rnn(op, "lens_runtime_bidir", dirs=2, attrs={"direction": "bidirectional"}, lens="runtime", h0=True,
            c0=True)
        rnn(op, "lens_const_partial", lens=[4, 2, 0])
        rnn(op, "lens_const_full", lens=[4, 4, 4])
        rnn(op, "layout1_bidir", dirs=2, attrs={"direction": "bidirectional"}, layout=1, h0=True, c0=True)
        rnn(op, "clip0_5", attrs={"clip": 0.5})
        rnn(op, "rt_weights", runtime_w=True, h0=True)
        rnn(op, "f64_forward", d="f64")
        rnn(op, "batch1_long12", seq=12, batch=1, hidden=8)
        # Beyond 16 steps the time loop runs at run time (weft.loop).
        rnn(op, "loop_100_bidir_lens_h0", seq=100, batch=2, hidden=5, dirs=2,
            attrs={"direction": "bidirectional"}, lens="runtime", h0=True, c0=True)
        rnn(op, "loop_70_reverse", seq=70, batch=3, hidden=4, attrs={"direction": "reverse"},
            h0=True, c0=True)
    rnn("RNN", "relu_activation", attrs={"activations": ["Relu"]})
    rnn("RNN", "leakyrelu_alpha", attrs={"activations": ["LeakyRelu"], "activation_alpha": [0.2]})
    rnn("GRU", "linear_before_reset", attrs={"linear_before_reset": 1}, h0=True)
    rnn("GRU", "linear_before_reset_bidir", dirs=2, attrs={"linear_before_reset": 1, "direction": "bidirectional"})
    rnn("GRU", "hardsigmoid_softsign", attrs={"activations": ["HardSigmoid", "Softsign"],
                                             "activation_alpha": [0.3], "activation_beta": [0.4]})
    rnn("LSTM", "peepholes_c0", peep=True, h0=True, c0=True)
    rnn("LSTM", "loop_80_peepholes_clip", seq=80, batch=2, hidden=4, peep=True, c0=True, attrs={"clip": 0.7})
    rnn("GRU", "loop_90_linear_before_reset_lens", seq=90, batch=3, hidden=4,
        attrs={"linear_before_reset": 1}, lens=[90, 45, 0])
    rnn("LSTM", "peepholes_bidir_lens", dirs=2, attrs={"direction": "bidirectional"}, peep=True, lens="runtime")
    rnn("LSTM", "activations_bidir", dirs=2,
        attrs={"direction": "bidirectional",
               "activations": ["HardSigmoid", "Tanh", "Softplus", "Sigmoid", "ScaledTanh", "Elu"],
               "activation_alpha": [0.25, 1.5, 0.8], "activation_beta": [0.45, 0.7]})


def gen_control_flow(g):
    """If with a run-time condition (one branch run by the host code), with a
    constant or folded condition (one branch imported), nested, and with
    branches reading outer-scope values; Loop with a constant trip count and
    a folded early exit, Scan in both directions and along other axes (both
    unrolled); AffineGrid."""
    f32 = TensorProto.FLOAT

    def branch(name, nodes, outs):
        return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(o, f32, None) for o in outs])

    then_g = branch("then", [helper.make_node("Mul", ["x", "x"], ["t0"]),
                             helper.make_node("Relu", ["y"], ["t1"])], ["t0", "t1"])
    else_g = branch("else", [helper.make_node("Sub", ["x", "y"], ["e0"]),
                             helper.make_node("Neg", ["y"], ["e1"])], ["e0", "e1"])
    for cshape in [(), (1,)]:
        tag = "rank0" if not cshape else "shape1"
        g.add(Case(f"If.f32.rt_cond_{tag}", "If",
                   [("If", ["c"], ["o0", "o1"], {"then_branch": then_g, "else_branch": else_g})],
                   [In("c", "bool", cshape), In("x", "f32", (2, 3)), In("y", "f32", (2, 3))], ["o0", "o1"],
                   opset=13))
    for value in (True, False):
        g.add(Case(f"If.f32.const_cond_{str(value).lower()}", "If",
                   [("If", ["c"], ["o0", "o1"], {"then_branch": then_g, "else_branch": else_g})],
                   [In("x", "f32", (2, 3)), In("y", "f32", (2, 3))], ["o0", "o1"],
                   consts=[Const("c", np.array(value))], opset=13))
    # The condition folds from a shape; the branch not taken would not even
    # import (a reshape to a size the tensor does not have).
    then_s = branch("then", [helper.make_node("Reshape", ["x", "s6"], ["t"])], ["t"])
    else_s = branch("else", [helper.make_node("Reshape", ["x", "s7"], ["e"])], ["e"])
    g.add(Case("If.f32.folded_shape_cond", "If",
               [("Shape", ["x"], ["sh"], {}), ("Size", ["sh"], ["rank"], {}),
                ("Equal", ["rank", "two"], ["c"], {}),
                ("If", ["c"], ["o"], {"then_branch": then_s, "else_branch": else_s})],
               [In("x", "f32", (2, 3))], ["o"],
               consts=[Const("two", np.array(2, dtype=np.int64)), Const("s6", i64(6)), Const("s7", i64(7))],
               opset=13, exact=True))
    inner = helper.make_graph([helper.make_node("If", ["d"], ["n"], then_branch=branch(
        "ti", [helper.make_node("Add", ["x", "y"], ["ta"])], ["ta"]), else_branch=branch(
        "ei", [helper.make_node("Mul", ["x", "y"], ["tb"])], ["tb"]))], "outer_then", [],
        [helper.make_tensor_value_info("n", f32, None)])
    g.add(Case("If.f32.rt_nested", "If",
               [("If", ["c"], ["o"], {"then_branch": inner,
                                      "else_branch": branch("oe", [helper.make_node("Sub", ["y", "x"], ["z"])],
                                                            ["z"])})],
               [In("c", "bool", ()), In("d", "bool", ()), In("x", "f32", (3,)), In("y", "f32", (3,))], ["o"],
               opset=13, exact=True))
    vi = helper.make_tensor_value_info
    i64t, boolt = TensorProto.INT64, TensorProto.BOOL
    # Loop: acc += x * i for i < M (or until i reaches `stop`); the running
    # sum is also a scan output.
    for tag, trips, stop in [("const_trip_4", 4, None), ("folded_exit_after_3", 10, 2)]:
        nodes = [helper.make_node("Cast", ["i"], ["fi"], to=f32),
                 helper.make_node("Mul", ["x", "fi"], ["xi"]),
                 helper.make_node("Add", ["acc", "xi"], ["acc_out"]),
                 helper.make_node("Identity", ["acc_out"], ["scan"])]
        if stop is None:
            nodes.append(helper.make_node("Identity", ["cin"], ["cout"]))
        else:
            nodes.append(helper.make_node("Less", ["i", "stop"], ["cout"]))
        body = helper.make_graph(nodes, "body", [vi("i", i64t, []), vi("cin", boolt, []), vi("acc", f32, [2, 3])],
                                 [vi("cout", boolt, []), vi("acc_out", f32, [2, 3]), vi("scan", f32, [2, 3])])
        consts = [Const("m", np.array(trips, dtype=np.int64)), Const("go", np.array(True))]
        if stop is not None:
            consts.append(Const("stop", np.array(stop, dtype=np.int64)))
        g.add(Case(f"Loop.f32.{tag}", "Loop",
                   [("Loop", ["m", "go", "a0"], ["acc_final", "sums"], {"body": body})],
                   [In("x", "f32", (2, 3), "finite"), In("a0", "f32", (2, 3), "finite")], ["acc_final", "sums"],
                   consts=consts, opset=13))
    # Loops run at run time (weft.loop): a trip count fed at run time, a
    # condition computed from carried values, no M at all, carried values
    # that swap places (copied through a staging kernel), an If and a
    # Gather on the iteration inside the body, a nested loop, and a scan
    # output over more iterations than unrolling takes.
    rt_body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["fi"], to=f32), helper.make_node("Mul", ["x", "fi"], ["xi"]),
         helper.make_node("Add", ["acc", "xi"], ["acc_out"]), helper.make_node("Identity", ["cin"], ["cout"])],
        "body", [vi("i", i64t, []), vi("cin", boolt, []), vi("acc", f32, [2, 3])],
        [vi("cout", boolt, []), vi("acc_out", f32, [2, 3])])
    g.add(Case("Loop.f32.rt_trip_count", "Loop", [("Loop", ["m", "", "a0"], ["acc_final"], {"body": rt_body})],
               [In("m", "i64", (), ("range", -2, 6)), In("x", "f32", (2, 3), "finite"),
                In("a0", "f32", (2, 3), "finite")], ["acc_final"], opset=13))
    g.add(Case("Loop.f32.rt_cond_input", "Loop", [("Loop", ["m", "go", "a0"], ["acc_final"], {"body": rt_body})],
               [In("go", "bool", ()), In("x", "f32", (2, 3), "finite"), In("a0", "f32", (2, 3), "finite")],
               ["acc_final"], consts=[Const("m", np.array(3, dtype=np.int64))], opset=13))
    # No M: count up by 1.5 until the sum passes a limit fed at run time.
    count_body = helper.make_graph(
        [helper.make_node("Add", ["n", "step"], ["n_out"]), helper.make_node("Less", ["n_out", "limit"], ["cout"]),
         helper.make_node("Cast", ["i"], ["iter_f"], to=f32)],
        "body", [vi("i", i64t, []), vi("cin", boolt, []), vi("n", f32, []), vi("last_i", f32, [])],
        [vi("cout", boolt, []), vi("n_out", f32, []), vi("iter_f", f32, [])])
    g.add(Case("Loop.f32.rt_no_trip_count_until_limit", "Loop",
               [("Loop", ["", "", "n0", "i0"], ["n_final", "i_final"], {"body": count_body})],
               [In("limit", "f32", (), ("range", -3, 40))], ["n_final", "i_final"],
               consts=[Const("n0", np.array(0, dtype=np.float32)), Const("i0", np.array(-1, dtype=np.float32)),
                       Const("step", np.array(1.5, dtype=np.float32))], opset=13, exact=True))
    # Carried values that trade places every iteration (a Fibonacci step on
    # tensors), and a bool carried value that is the condition.
    swap_body = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["ab"]), helper.make_node("Identity", ["b"], ["b_as_a"]),
         helper.make_node("Not", ["flag"], ["flag_out"]), helper.make_node("Identity", ["cin"], ["cout"])],
        "body", [vi("i", i64t, []), vi("cin", boolt, []), vi("a", f32, [3]), vi("b", f32, [3]), vi("flag", boolt, [])],
        [vi("cout", boolt, []), vi("b_as_a", f32, [3]), vi("ab", f32, [3]), vi("flag_out", boolt, [])])
    g.add(Case("Loop.f32.rt_carried_swap", "Loop",
               [("Loop", ["m", "", "a0", "b0", "f0"], ["a_final", "b_final", "f_final"], {"body": swap_body})],
               [In("m", "i64", (), ("range", 0, 7)), In("a0", "f32", (3,), ("range", -4, 4)),
                In("b0", "f32", (3,), ("range", -4, 4)), In("f0", "bool", ())],
               ["a_final", "b_final", "f_final"], opset=13))
    # An If on the iteration's parity and a Gather of row i of a table fed
    # at run time, inside the body.
    parity = helper.make_graph([helper.make_node("Add", ["acc", "row"], ["t"])], "even", [], [vi("t", f32, [4])])
    odd = helper.make_graph([helper.make_node("Sub", ["acc", "row"], ["e"])], "odd", [], [vi("e", f32, [4])])
    if_body = helper.make_graph(
        [helper.make_node("Gather", ["table", "i"], ["row"], axis=0),
         helper.make_node("Mod", ["i", "two"], ["r"]), helper.make_node("Equal", ["r", "zero"], ["even"]),
         helper.make_node("If", ["even"], ["acc_out"], then_branch=parity, else_branch=odd),
         helper.make_node("Identity", ["cin"], ["cout"])],
        "body", [vi("i", i64t, []), vi("cin", boolt, []), vi("acc", f32, [4])],
        [vi("cout", boolt, []), vi("acc_out", f32, [4])])
    g.add(Case("Loop.f32.rt_if_and_gather_in_body", "Loop",
               [("Loop", ["m", "", "a0"], ["acc_final"], {"body": if_body})],
               [In("m", "i64", (), ("range", 0, 5)), In("table", "f32", (5, 4), "finite"),
                In("a0", "f32", (4,), "finite")], ["acc_final"],
               consts=[Const("two", np.array(2, dtype=np.int64)), Const("zero", np.array(0, dtype=np.int64))],
               opset=13))
    # Nested: the inner loop runs `k` times per outer iteration; the outer
    # value computed before the loop (x * 2) is read in the inner body.
    inner_body = helper.make_graph(
        [helper.make_node("Add", ["s", "x2"], ["s_out"]), helper.make_node("Identity", ["cin2"], ["cout2"])],
        "inner", [vi("j", i64t, []), vi("cin2", boolt, []), vi("s", f32, [2, 2])],
        [vi("cout2", boolt, []), vi("s_out", f32, [2, 2])])
    outer_body = helper.make_graph(
        [helper.make_node("Loop", ["k", "", "acc"], ["inner_out"], body=inner_body),
         helper.make_node("Mul", ["inner_out", "half"], ["acc_out"]), helper.make_node("Identity", ["cin"], ["cout"])],
        "outer", [vi("i", i64t, []), vi("cin", boolt, []), vi("acc", f32, [2, 2])],
        [vi("cout", boolt, []), vi("acc_out", f32, [2, 2])])
    g.add(Case("Loop.f32.rt_nested", "Loop",
               [("Mul", ["x", "two_f"], ["x2"], {}), ("Loop", ["m", "", "a0"], ["acc_final"], {"body": outer_body}),
                ("Add", ["acc_final", "x2"], ["y"], {})],
               [In("m", "i64", (), ("range", 0, 4)), In("k", "i64", (), ("range", 0, 4)),
                In("x", "f32", (2, 2), ("range", -2, 2)), In("a0", "f32", (2, 2), ("range", -2, 2))], ["y"],
               consts=[Const("two_f", np.array(2, dtype=np.float32)), Const("half", np.array(0.5, dtype=np.float32))],
               opset=13))
    # A scan output over 1100 iterations (beyond unrolling): the running sum
    # of a sine, with the condition passed through.
    scan_body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["fi"], to=f32), helper.make_node("Mul", ["fi", "w"], ["p"]),
         helper.make_node("Sin", ["p"], ["sp"]), helper.make_node("Add", ["acc", "sp"], ["acc_out"]),
         helper.make_node("Identity", ["acc_out"], ["scan"]), helper.make_node("Identity", ["cin"], ["cout"])],
        "body", [vi("i", i64t, []), vi("cin", boolt, []), vi("acc", f32, [3])],
        [vi("cout", boolt, []), vi("acc_out", f32, [3]), vi("scan", f32, [3])])
    g.add(Case("Loop.f32.rt_scan_1100_iterations", "Loop",
               [("Loop", ["m", "", "a0"], ["acc_final", "sums"], {"body": scan_body})],
               [In("w", "f32", (3,), ("range", -1, 1)), In("a0", "f32", (3,), ("range", -1, 1))],
               ["acc_final", "sums"], consts=[Const("m", np.array(1100, dtype=np.int64))], opset=13,
               atol=1e-3))
    # Scan: s += x_t; out_t = s * x_t, over axis 0 or 1, forward or reverse,
    # stacked along axis 0 or 1.
    for tag, xs, in_axis, in_dir, out_axis, out_dir in [
            ("fwd_axis0", (4, 3), 0, 0, 0, 0), ("rev_axis1_out1", (3, 5), 1, 1, 1, 0),
            ("fwd_out_reversed", (4, 3), 0, 0, 0, 1)]:
        body = helper.make_graph(
            [helper.make_node("Add", ["s", "xt"], ["s_out"]), helper.make_node("Mul", ["s_out", "xt"], ["o"])],
            "body", [vi("s", f32, [3]), vi("xt", f32, [3])], [vi("s_out", f32, [3]), vi("o", f32, [3])])
        g.add(Case(f"Scan.f32.{tag}", "Scan",
                   [("Scan", ["s0", "x"], ["s_final", "outs"],
                     {"body": body, "num_scan_inputs": 1, "scan_input_axes": [in_axis],
                      "scan_input_directions": [in_dir], "scan_output_axes": [out_axis],
                      "scan_output_directions": [out_dir]})],
                   [In("s0", "f32", (3,), "finite"), In("x", "f32", xs, "finite")], ["s_final", "outs"],
                   opset=16))
    # Scans longer than unrolling takes run as a weft.loop: each step's
    # slices gathered by the iteration (from the end when reversed), the
    # outputs flipped and moved to their axes afterwards.
    for tag, xs, ys, in_axes, in_dirs, out_axis, out_dir in [
            ("loop_300_fwd", (300, 3), (300, 3), [0, 0], [0, 0], 0, 0),
            ("loop_200_rev_in_axis1", (3, 200), (200, 3), [1, 0], [1, 0], 0, 0),
            ("loop_150_out_axis1_reversed", (150, 3), (3, 150), [0, 1], [0, 1], 1, 1)]:
        body = helper.make_graph(
            [helper.make_node("Add", ["s", "xt"], ["s_out"]), helper.make_node("Mul", ["s_out", "yt"], ["o"])],
            "body", [vi("s", f32, [3]), vi("xt", f32, [3]), vi("yt", f32, [3])],
            [vi("s_out", f32, [3]), vi("o", f32, [3])])
        g.add(Case(f"Scan.f32.{tag}", "Scan",
                   [("Scan", ["s0", "x", "y"], ["s_final", "outs"],
                     {"body": body, "num_scan_inputs": 2, "scan_input_axes": in_axes,
                      "scan_input_directions": in_dirs, "scan_output_axes": [out_axis],
                      "scan_output_directions": [out_dir]})],
                   [In("s0", "f32", (3,), ("range", -1, 1)), In("x", "f32", xs, ("range", -1, 1)),
                    In("y", "f32", ys, ("range", -1, 1))], ["s_final", "outs"], opset=16, atol=1e-4))
    # Opset 8's Scan: a batch axis first, sequence_lens first among the
    # inputs (omitted, or a constant with a shorter sequence, whose scan
    # outputs are zero past its length), `directions`; one scan of 300
    # steps per batch element runs as a loop.
    for tag, batch, steps, lens, dirs in [("batch2", 2, 4, None, [0, 1]),
                                          ("batch3_lens", 3, 4, [4, 2, 1], [1, 0]),
                                          ("batch2_loop_300", 2, 300, None, [0, 1])]:
        body = helper.make_graph(
            [helper.make_node("Add", ["s", "xt"], ["s_out"]), helper.make_node("Mul", ["s_out", "yt"], ["o"])],
            "body", [vi("s", f32, [3]), vi("xt", f32, [3]), vi("yt", f32, [3])],
            [vi("s_out", f32, [3]), vi("o", f32, [3])])
        g.add(Case(f"Scan.f32.opset8_{tag}", "Scan",
                   [("Scan", ["L" if lens else "", "s0", "x", "y"], ["s_final", "outs"],
                     {"body": body, "num_scan_inputs": 2, "directions": dirs})],
                   [In("s0", "f32", (batch, 3), ("range", -1, 1)),
                    In("x", "f32", (batch, steps, 3), ("range", -1, 1)),
                    In("y", "f32", (batch, steps, 3), ("range", -1, 1))], ["s_final", "outs"],
                   consts=[Const("L", np.array(lens, dtype=np.int64))] if lens else (),
                   opset=8, atol=1e-4))
    for tag, size, align in [("2d_2x3x4x5", [2, 3, 4, 5], 0), ("2d_align_1x1x3x1", [1, 1, 3, 1], 1),
                             ("3d_2x1x2x3x4", [2, 1, 2, 3, 4], 0), ("3d_align_1x2x3x2x2", [1, 2, 3, 2, 2], 1)]:
        k = len(size) - 2
        g.single("AffineGrid", tag, [In("theta", "f32", (size[0], k, k + 1), ("range", -2, 2)), Const("size", i64(*size))],
                 attrs={"align_corners": align}, opset=20, dtypes="f32", atol=1e-5)
