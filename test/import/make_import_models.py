#!/usr/bin/env python3
"""Writes the small ONNX models the importer's lit tests read.

Usage: make_import_models.py OUTDIR

Every model is a pure function of this script (fixed weights, no randomness),
built with onnx.helper at IR version 8 so that libonnx 1.12's checker accepts
it. Besides valid models the script writes broken files on purpose: an empty
file, a truncated model, random bytes, and models whose external data is
missing or short.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 8


def model(nodes, inputs, outputs, initializers=(), opset=17, name="g"):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = IR_VERSION
    return m


def tensor(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


F32 = TensorProto.FLOAT


def save(outdir, filename, m):
    with open(os.path.join(outdir, filename), "wb") as f:
        f.write(m.SerializeToString())


def weights(shape, scale=0.1):
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float32).reshape(shape) % 7 - 3) * scale


def mlp():
    """x[1,8] -> Gemm(4, transB) + Relu -> Gemm(3) -> Softmax."""
    inits = [
        numpy_helper.from_array(weights([4, 8]), "fc1.weight"),
        numpy_helper.from_array(weights([4]), "fc1.bias"),
        numpy_helper.from_array(weights([4, 3]), "fc2.weight"),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"],
                         name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu1"),
        # No name: the importer calls it "Gemm_2".
        helper.make_node("Gemm", ["r", "fc2.weight"], ["logits"], alpha=0.5),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax"),
    ]
    return model(nodes, [tensor("x", F32, [1, 8])],
                 [tensor("probs", F32, [1, 3])], inits)


def unsupported():
    """Two unsupported op types, one of them on two nodes, plus a custom domain."""
    nodes = [
        helper.make_node("RandomUniformLike", ["x"], ["v1"], name="top1"),
        helper.make_node("Bernoulli", ["x"], ["nz"], name="nz0"),
        helper.make_node("RandomUniformLike", ["x"], ["v2"], name="top2"),
        helper.make_node("Relu", ["v1"], ["y"], name="ok"),
        helper.make_node("FusedThing", ["x"], ["z"], name="custom0",
                         domain="com.example"),
    ]
    g = helper.make_graph(
        nodes, "g", [tensor("x", F32, [4])],
        [tensor("y", F32, [2]), tensor("v2", F32, [2]),
         tensor("nz", F32, [4]), tensor("z", F32, [4])],
        [numpy_helper.from_array(np.array([2], dtype=np.int64), "k")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("com.example", 1)])
    m.ir_version = IR_VERSION
    return m


def symbolic():
    """x[batch,4] -> Relu; 'batch' must be pinned with --dim."""
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    return model(nodes, [tensor("x", F32, ["batch", 4])],
                 [tensor("y", F32, ["batch", 4])])


def minus_one_dims():
    """Dynamic dims written as -1 (older Paddle2ONNX exports): the input's is
    unknown, and the output declares -1 beside a dim from the export's own
    sample (16) that the pinned shape does not give: onnxruntime only warns."""
    x = helper.make_tensor_value_info("x", F32, [1, 8])
    x.type.tensor_type.shape.dim[0].dim_value = -1
    y = helper.make_tensor_value_info("y", F32, [1, 16])
    y.type.tensor_type.shape.dim[0].dim_value = -1
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [x], [y])


def dynamic_inputs():
    """Inputs with an unnamed dimension, a named one, and a name holding ':'
    and '='; 'shape' feeds a Reshape, so it must be known when compiling."""
    nodes = [helper.make_node("Add", ["a:b=c", "x"], ["s"], name="add"),
             helper.make_node("Reshape", ["s", "shape"], ["y"], name="reshape"),
             helper.make_node("Relu", ["r"], ["z"], name="relu")]
    return model(nodes, [tensor("a:b=c", F32, ["n", 4]), tensor("x", F32, [None, 4]),
                         tensor("shape", TensorProto.INT64, [2]), tensor("r", F32, [None])],
                 [tensor("y", F32, [None, None]), tensor("z", F32, [None])])


def resize(mode):
    """x[1,1,2,3] resized by scales [1,1,2,2] (constant) with `mode`."""
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    roi = numpy_helper.from_array(np.zeros(0, np.float32), "roi")
    nodes = [helper.make_node("Resize", ["x", "roi", "scales"], ["y"], name="resize", mode=mode)]
    return model(nodes, [tensor("x", F32, [1, 1, 2, 3])], [tensor("y", F32, [1, 1, 4, 6])],
                 [roi, scales])


def conv_transpose():
    """x[1,1,2,2] ConvTranspose with the constant filter [[1,2],[3,4]], stride 2."""
    w = numpy_helper.from_array(np.array([1, 2, 3, 4], np.float32).reshape(1, 1, 2, 2), "w")
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2])]
    return model(nodes, [tensor("x", F32, [1, 1, 2, 2])], [tensor("y", F32, [1, 1, 4, 4])], [w])


def hostile_names():
    """Tensor names that try to end the header's comment and inject C."""
    nodes = [helper.make_node("Relu", ["x*/ int injected = 1; /*"],
                              ["y\\\n#define evil 1 /*/"], name="relu")]
    return model(nodes, [tensor("x*/ int injected = 1; /*", F32, [2])],
                 [tensor("y\\\n#define evil 1 /*/", F32, [2])])


def external_tensor():
    t = TensorProto()
    t.name = "w"
    t.data_type = F32
    t.dims.extend([4, 2])
    return t


def external(outdir):
    """A MatMul whose weight lives in weights.bin at offset 16."""
    w = weights([4, 2])
    with open(os.path.join(outdir, "weights.bin"), "wb") as f:
        f.write(b"\0" * 16 + w.tobytes())
    t = external_tensor()
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "16"),
                 ("length", str(w.nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    return model(nodes, [tensor("x", F32, [3, 4])], [tensor("y", F32, [3, 2])],
                 [t])


def external_broken(location, length):
    t = external_tensor()
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "16"), ("length", length)):
        e = t.external_data.add()
        e.key, e.value = k, v
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    return model(nodes, [tensor("x", F32, [3, 4])], [tensor("y", F32, [3, 2])],
                 [t])


def conv_pool():
    """Conv with SAME_UPPER padding, stride 2 -> MaxPool SAME_LOWER -> GlobalAveragePool."""
    inits = [numpy_helper.from_array(weights([8, 3, 3, 3]), "conv.w"),
             numpy_helper.from_array(weights([8]), "conv.b")]
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv",
                         auto_pad="SAME_UPPER", strides=[2, 2]),
        helper.make_node("MaxPool", ["c"], ["p"], name="pool",
                         kernel_shape=[2, 2], auto_pad="SAME_LOWER"),
        helper.make_node("AveragePool", ["p"], ["a"], name="avg",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         count_include_pad=1, ceil_mode=1, strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["a"], ["y"], name="gap"),
    ]
    return model(nodes, [tensor("x", F32, [1, 3, 10, 10])],
                 [tensor("y", F32, [1, 8, 1, 1])], inits)


def old_opset():
    """Opset 9 (upgraded to 11): Clip with attribute bounds, BatchNorm, Softmax on axis 1 of a 3-D tensor."""
    inits = [numpy_helper.from_array(np.ones([3], np.float32), n)
             for n in ("s", "b", "m", "v")]
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"],
                         name="bn"),
        helper.make_node("Clip", ["n"], ["c"], name="clip", min=-1.0, max=6.0),
        helper.make_node("Softmax", ["c"], ["y"], name="sm", axis=1),
    ]
    return model(nodes, [tensor("x", F32, [2, 3, 4])],
                 [tensor("y", F32, [2, 3, 4])], inits, opset=9)


def scan8_models():
    """Opset 8's batched Scan (upgraded to 11 around it): a batch of 2, the
    second scan input reversed; and one whose sequence_lens is a graph input
    (refused: the lengths must be known at compile time)."""
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "xt"], ["s_out"]), helper.make_node("Mul", ["s_out", "yt"], ["o"])],
        "body", [tensor("s", F32, [3]), tensor("xt", F32, [3]), tensor("yt", F32, [3])],
        [tensor("s_out", F32, [3]), tensor("o", F32, [3])])
    ins = [tensor("s0", F32, [2, 3]), tensor("x", F32, [2, 4, 3]), tensor("y", F32, [2, 4, 3])]
    outs = [tensor("s_final", F32, [2, 3]), tensor("outs", F32, [2, 4, 3])]
    scan = dict(body=body, num_scan_inputs=2, directions=[0, 1])
    return {
        "scan8.onnx": model([helper.make_node("Scan", ["", "s0", "x", "y"], ["s_final", "outs"],
                                              name="scan", **scan)], ins, outs, opset=8),
        "scan8_runtime_lens.onnx": model(
            [helper.make_node("Scan", ["L", "s0", "x", "y"], ["s_final", "outs"], name="scan", **scan)],
            [tensor("L", TensorProto.INT64, [2])] + ins, outs, opset=8),
    }


def int4_models():
    """4-bit integers: DequantizeLinear of INT4 weights (blocks of 2 rows,
    folded at import); and what is refused: an INT4 input, QuantizeLinear
    to INT4 at run time, INT4 weights dequantized with an f16 scale (which
    would leave them to the kernels)."""
    q = [1, -2, 7, -8, 0, 3, -1, 5]
    w4 = helper.make_tensor("w4", TensorProto.INT4, [4, 2], q)
    s = numpy_helper.from_array(np.array([[0.5, 0.25], [2.0, 1.0]], np.float32), "s")
    dq = helper.make_node("DequantizeLinear", ["w4", "s"], ["w"], name="dq", axis=0, block_size=2)
    mm = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
    io = ([tensor("x", F32, [3, 4])], [tensor("y", F32, [3, 2])])
    # Past the import's small-constant folding (8192 elements).
    big4 = helper.make_tensor("w4", TensorProto.INT4, [128, 64], [i % 16 - 8 for i in range(8192)])
    s16 = numpy_helper.from_array(np.full([4, 64], 0.5, np.float16), "s")
    dq16 = helper.make_node("DequantizeLinear", ["w4", "s"], ["w"], name="dq", axis=0,
                            block_size=32)
    mm16 = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
    z4 = helper.make_tensor("z4", TensorProto.INT4, [], [0])
    ql = helper.make_node("QuantizeLinear", ["x", "qs", "z4"], ["q"], name="quant")
    dl = helper.make_node("DequantizeLinear", ["q", "qs", "z4"], ["y"], name="dequant")
    qs = numpy_helper.from_array(np.array(0.1, np.float32), "qs")
    return {
        "int4_weights.onnx": model([dq, mm], *io, [w4, s], opset=21),
        "int4_input.onnx": model([helper.make_node("DequantizeLinear", ["x4", "qs"], ["y"],
                                                   name="dq")],
                                 [tensor("x4", TensorProto.INT4, [4])],
                                 [tensor("y", F32, [4])], [qs], opset=21),
        "int4_quantize.onnx": model([ql, dl], [tensor("x", F32, [4])], [tensor("y", F32, [4])],
                                    [qs, z4], opset=21),
        "int4_f16_scale.onnx": model([dq16, mm16], [tensor("x", TensorProto.FLOAT16, [3, 128])],
                                     [tensor("y", TensorProto.FLOAT16, [3, 64])], [big4, s16],
                                     opset=21),
    }


def opset18():
    """Opset 18 (beyond libonnx 1.12's checker): Reduce* and Pad take axes as inputs, Split takes num_outputs."""
    inits = [
        numpy_helper.from_array(np.array([-1], np.int64), "axes"),
        numpy_helper.from_array(np.array([1, 2], np.int64), "pads"),
        numpy_helper.from_array(np.array([1], np.int64), "pad_axes"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["r"], name="mean",
                         keepdims=0),
        helper.make_node("Pad", ["x", "pads", "", "pad_axes"], ["p"], name="pad"),
        helper.make_node("Split", ["p"], ["s0", "s1", "s2"], name="split",
                         axis=1, num_outputs=3),
    ]
    return model(nodes, [tensor("x", F32, [2, 5])],
                 [tensor("r", F32, [2]), tensor("s0", F32, [2, 3]),
                  tensor("s1", F32, [2, 3]), tensor("s2", F32, [2, 2])],
                 inits, opset=18)


def shape_subgraph():
    """The exporter idiom Shape -> Gather -> Unsqueeze -> Concat -> Reshape must fold to one static reshape."""
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
             numpy_helper.from_array(np.array([0], np.int64), "ax0")]
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "zero"], ["n"], name="batch"),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat",
                         axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"], name="flatten"),
    ]
    return model(nodes, [tensor("x", F32, [2, 3, 4])], [tensor("y", F32, [2, 12])],
                 inits)


def tensor_ops():
    """Slice with a negative step, Transpose's default perm, Expand, 1-D MatMul, Squeeze/Flatten."""
    inits = [
        numpy_helper.from_array(np.array([-1], np.int64), "starts"),
        numpy_helper.from_array(np.array([-100], np.int64), "ends"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
        numpy_helper.from_array(np.array([-2], np.int64), "steps"),
        numpy_helper.from_array(np.array([3, 1, 4], np.int64), "eshape"),
        numpy_helper.from_array(weights([4]), "vec"),
    ]
    nodes = [
        helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"],
                         ["s"], name="rev"),
        helper.make_node("Transpose", ["s"], ["t"], name="tr"),
        helper.make_node("Expand", ["x", "eshape"], ["e"], name="expand"),
        helper.make_node("MatMul", ["x", "vec"], ["mv"], name="matvec"),
        helper.make_node("Flatten", ["e"], ["f"], name="flat", axis=-1),
    ]
    return model(nodes, [tensor("x", F32, [1, 4])],
                 [tensor("t", F32, [2, 1]), tensor("f", F32, [3, 4]),
                  tensor("mv", F32, [1])], inits)


def constants():
    """Initializers in typed fields (float_data, int32_data for f16 and int8, bool) and Constant attribute forms."""
    # onnx.helper stores FLOAT16 values as bit patterns in int32_data.
    f16 = helper.make_tensor("h", TensorProto.FLOAT16, [2], [1.5, -2.0])
    i8 = helper.make_tensor("i8", TensorProto.INT8, [3], [-1, 0, 7])
    flags = helper.make_tensor("flags", TensorProto.BOOL, [3], [True, False, True])
    floats = helper.make_tensor("fd", F32, [2], [0.25, 4.0])
    nodes = [
        helper.make_node("Constant", [], ["ci"], name="cints", value_ints=[3, 4]),
        helper.make_node("Constant", [], ["cf"], name="cfloat", value_float=2.5),
        helper.make_node("Add", ["x", "fd"], ["y"], name="add"),
        helper.make_node("Mul", ["y", "cf"], ["z"], name="scale"),
        helper.make_node("Identity", ["h"], ["h_out"], name="id_h"),
        helper.make_node("Identity", ["i8"], ["i8_out"], name="id_i8"),
        helper.make_node("Not", ["flags"], ["nf"], name="not"),
        helper.make_node("ConstantOfShape", ["ci"], ["ones"], name="fill",
                         value=helper.make_tensor("v", TensorProto.INT32, [1], [1])),
        # Float rounding and Relu of constants fold (a trip count's math).
        helper.make_node("Ceil", ["fr"], ["fr_ceil"], name="ceil"),
        helper.make_node("Relu", ["fr_ceil"], ["fr_relu"], name="relu"),
        helper.make_node("Floor", ["fr"], ["fr_floor"], name="floor"),
    ]
    rounding = helper.make_tensor("fr", F32, [3], [-1.5, 0.25, 2.5])
    return model(nodes, [tensor("x", F32, [2])],
                 [tensor("z", F32, [2]), tensor("h_out", TensorProto.FLOAT16, [2]),
                  tensor("i8_out", TensorProto.INT8, [3]),
                  tensor("nf", TensorProto.BOOL, [3]),
                  tensor("ones", TensorProto.INT32, [3, 4]),
                  tensor("fr_relu", F32, [3]), tensor("fr_floor", F32, [3])],
                 [f16, i8, flags, floats, rounding])


def output_mismatch():
    """The graph declares y as [2,3] but Transpose makes it [3,2]."""
    nodes = [helper.make_node("Transpose", ["x"], ["y"], name="tr")]
    return model(nodes, [tensor("x", F32, [2, 3])], [tensor("y", F32, [2, 3])])


def checker_fail():
    """Concat without its required axis: libonnx's checker rejects it."""
    nodes = [helper.make_node("Concat", ["a", "b"], ["y"], name="cat")]
    return model(nodes, [tensor("a", F32, [2]), tensor("b", F32, [2])],
                 [tensor("y", F32, [4])])


def shapeless_output():
    """Graph outputs declared with an element type and no shape (unknown
    rank), and with no type at all: newer ONNX releases and onnxruntime
    accept them, libonnx 1.12's checker does not."""
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu"),
             helper.make_node("Neg", ["x"], ["z"], name="neg")]
    out = helper.make_tensor_value_info("y", F32, None)
    untyped = onnx.ValueInfoProto()
    untyped.name = "z"
    return model(nodes, [tensor("x", F32, [2, 3])], [out, untyped])


def if_models():
    """If with a run-time condition, with a constant one, and with an
    unsupported op in a branch."""
    def branch(name, op, out):
        return helper.make_graph([helper.make_node(op, ["x"], [out], name=name + "_op")], name, [],
                                 [helper.make_tensor_value_info(out, F32, None)])
    models = {}
    for tag, cond_const in [("if_runtime.onnx", None), ("if_const.onnx", False)]:
        node = helper.make_node("If", ["c"], ["y"], name="branch",
                                then_branch=branch("then", "Relu", "t"),
                                else_branch=branch("else", "Neg", "e"))
        inputs = [tensor("x", F32, [4])]
        inits = []
        if cond_const is None:
            inputs.insert(0, tensor("c", TensorProto.BOOL, []))
        else:
            inits.append(numpy_helper.from_array(np.array(cond_const), "c"))
        models[tag] = model([node], inputs, [tensor("y", F32, [4])], inits)
    node = helper.make_node("If", ["c"], ["y"], name="branch",
                            then_branch=branch("then", "Relu", "t"),
                            else_branch=branch("else", "Bernoulli", "e"))
    models["if_unsupported.onnx"] = model([node], [tensor("c", TensorProto.BOOL, []),
                                                   tensor("x", F32, [4])], [tensor("y", F32, [4])])
    # An else branch that cannot run with x's static shape (4 elements do
    # not reshape to 3), as a model's 8 kHz path fed a 16 kHz window: it
    # compiles to a run-time error; the then branch runs.
    bad = helper.make_graph(
        [helper.make_node("Reshape", ["x", "three"], ["r"], name="else_reshape"),
         helper.make_node("Pad", ["r", "pads"], ["e"], name="else_pad")], "else", [],
        [helper.make_tensor_value_info("e", F32, None)],
        initializer=[numpy_helper.from_array(np.array([3], np.int64), "three"),
                     numpy_helper.from_array(np.array([0, 1], np.int64), "pads")])
    node = helper.make_node("If", ["c"], ["y"], name="branch",
                            then_branch=branch("then", "Relu", "t"), else_branch=bad)
    models["if_trap.onnx"] = model([node], [tensor("c", TensorProto.BOOL, []),
                                            tensor("x", F32, [4])], [tensor("y", F32, [4])])
    return models


def loop_models():
    """Loop with a constant trip count (unrolled), and with one fed at run
    time (a weft.loop the host program runs), with scan outputs and with a
    carried value whose shape changes."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cin"], ["cout"], name="pass_cond"),
         helper.make_node("Add", ["acc", "x"], ["acc_out"], name="acc_add")], "body",
        [tensor("i", TensorProto.INT64, []), tensor("cin", TensorProto.BOOL, []),
         tensor("acc", F32, [4])],
        [tensor("cout", TensorProto.BOOL, []), tensor("acc_out", F32, [4])])
    node = helper.make_node("Loop", ["m", "", "a0"], ["y"], name="loop", body=body)
    const = model([node], [tensor("x", F32, [4]), tensor("a0", F32, [4])], [tensor("y", F32, [4])],
                  [numpy_helper.from_array(np.array(3, np.int64), "m")])
    runtime = model([node], [tensor("m", TensorProto.INT64, []), tensor("x", F32, [4]),
                             tensor("a0", F32, [4])], [tensor("y", F32, [4])])
    models = {"loop_const.onnx": const, "loop_runtime.onnx": runtime}
    # A scan output over 1500 iterations whose condition is computed: the
    # run fails when the loop stops before filling it.
    body = helper.make_graph(
        [helper.make_node("Add", ["acc", "one"], ["acc_out"], name="count"),
         helper.make_node("Less", ["acc_out", "limit"], ["cout"], name="test"),
         helper.make_node("Identity", ["acc_out"], ["scan"], name="slice")], "body",
        [tensor("i", TensorProto.INT64, []), tensor("cin", TensorProto.BOOL, []),
         tensor("acc", F32, [])],
        [tensor("cout", TensorProto.BOOL, []), tensor("acc_out", F32, []), tensor("scan", F32, [])])
    node = helper.make_node("Loop", ["m", "", "a0"], ["y", "s"], name="counter", body=body)
    models["loop_scan_early.onnx"] = model(
        [node], [tensor("limit", F32, []), tensor("a0", F32, [])],
        [tensor("y", F32, []), tensor("s", F32, [1500])],
        [numpy_helper.from_array(np.array(1500, np.int64), "m"),
         numpy_helper.from_array(np.array(1, np.float32), "one")])
    models["loop_scan_runtime_m.onnx"] = model(
        [node], [tensor("m", TensorProto.INT64, []), tensor("limit", F32, []),
                 tensor("a0", F32, [])],
        [tensor("y", F32, []), tensor("s", F32, [None])],
        [numpy_helper.from_array(np.array(1, np.float32), "one")])
    # A carried value that grows every iteration.
    body = helper.make_graph(
        [helper.make_node("Concat", ["acc", "x"], ["acc_out"], name="grow", axis=0),
         helper.make_node("Identity", ["cin"], ["cout"], name="pass_cond")], "body",
        [tensor("i", TensorProto.INT64, []), tensor("cin", TensorProto.BOOL, []),
         tensor("acc", F32, [None])],
        [tensor("cout", TensorProto.BOOL, []), tensor("acc_out", F32, [None])])
    node = helper.make_node("Loop", ["m", "", "x"], ["y"], name="grower", body=body)
    models["loop_grows.onnx"] = model(
        [node], [tensor("m", TensorProto.INT64, []), tensor("x", F32, [2])],
        [tensor("y", F32, [None])])
    return models


def write_loop_data(outdir):
    """Inputs and expected outputs for loop_runtime.onnx (5 and 0 trips)
    and loop_scan_early.onnx (a full run and one that stops after 10)."""
    x = np.array([1.0, -2.0, 0.5, 4.0], np.float32)
    a0 = np.array([10.0, 20.0, 30.0, 40.0], np.float32)
    sets = {"loop_m5": ([np.array(5, np.int64), x, a0], [a0 + 5 * x]),
            "loop_m0": ([np.array(0, np.int64), x, a0], [a0]),
            "scan_full": ([np.array(1e9, np.float32), np.array(0, np.float32)],
                          [np.array(1500, np.float32), np.arange(1, 1501, dtype=np.float32)]),
            "scan_short": ([np.array(10, np.float32), np.array(0, np.float32)], [])}
    for tag, (inputs, outputs) in sets.items():
        d = os.path.join(outdir, tag)
        os.makedirs(d, exist_ok=True)
        for kind, tensors in (("input", inputs), ("output", outputs)):
            for i, t in enumerate(tensors):
                with open(os.path.join(d, f"{kind}_{i}.pb"), "wb") as f:
                    f.write(numpy_helper.from_array(t).SerializeToString())


def write_if_data(outdir):
    """Inputs for if_trap.onnx: a set taking the then branch (with its
    expected output) and one taking the else branch."""
    x = np.array([-1.0, 2.0, -3.0, 4.0], np.float32)
    for tag, cond in [("if_then", True), ("if_else", False)]:
        d = os.path.join(outdir, tag)
        os.makedirs(d, exist_ok=True)
        for i, t in enumerate([np.array(cond), x]):
            with open(os.path.join(d, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(t).SerializeToString())
        with open(os.path.join(d, "output_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(np.maximum(x, 0)).SerializeToString())


def old_unsupported():
    """Opset 9 RandomNormalLike: upgraded to opset 11 first, then reported."""
    nodes = [helper.make_node("RandomNormalLike", ["x"], ["y"], name="cp")]
    return model(nodes, [tensor("x", F32, [3, 3])], [tensor("y", F32, [3, 3])], opset=9)


def bad_conv():
    """A 4-D convolution: a supported op type whose input is not."""
    inits = [numpy_helper.from_array(weights([2, 1, 2, 2, 2, 2]), "w")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv4d")]
    return model(nodes, [tensor("x", F32, [1, 1, 4, 4, 4, 4])],
                 [tensor("y", F32, [1, 2, 3, 3, 3, 3])], inits)


def refused():
    """Models onnxruntime refuses and Weft once accepted, by file name."""
    relu = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    io = ([tensor("x", F32, [2, 2])], [tensor("y", F32, [2, 2])])
    ir99 = model(relu, *io)
    ir99.ir_version = 99
    w = [numpy_helper.from_array(weights([1, 1, 3, 3]), "w")]
    conv_io = [tensor("x", F32, [1, 1, 4, 4])]
    return {
        "opset99.onnx": model(relu, *io, opset=99),
        "ir99.onnx": ir99,
        "transpose_negperm.onnx": model(
            [helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[-1, 0])], *io),
        "add_bool.onnx": model(
            [helper.make_node("Add", ["x", "x"], ["y"], name="add")],
            [tensor("x", TensorProto.BOOL, [2])], [tensor("y", TensorProto.BOOL, [2])]),
        "and_float.onnx": model(
            [helper.make_node("And", ["x", "x"], ["y"], name="and")], *io),
        "conv_autopad_pads.onnx": model(
            [helper.make_node("Conv", ["x", "w"], ["y"], name="conv",
                              auto_pad="SAME_LOWER", pads=[1, 1, 1, 1])],
            conv_io, [tensor("y", F32, [1, 1, 4, 4])], w),
        "conv_huge_pads.onnx": model(
            [helper.make_node("Conv", ["x", "w"], ["y"], name="conv",
                              pads=[2**40, 0, 2**40, 0])],
            conv_io, [tensor("y", F32, [1, 1, 2**41 + 2, 2])], w),
        "conv_empty_kernel.onnx": model(
            [helper.make_node("Conv", ["x", "w0"], ["y"], name="conv")], conv_io,
            [tensor("y", F32, None)], [numpy_helper.from_array(weights([1, 1, 0, 3]), "w0")]),
        "conv3d_empty_kernel.onnx": model(
            [helper.make_node("Conv", ["x", "w0"], ["y"], name="conv3d")],
            [tensor("x", F32, [1, 1, 2, 4, 4])], [tensor("y", F32, None)],
            [numpy_helper.from_array(weights([1, 1, 0, 1, 1]), "w0")]),
        "avgpool_pads_past_kernel.onnx": model(
            [helper.make_node("AveragePool", ["x"], ["y"], name="pool", kernel_shape=[2, 2],
                              pads=[2, 0, 0, 0])],
            conv_io, [tensor("y", F32, None)]),
        "global_avgpool_empty.onnx": model(
            [helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap")],
            [tensor("x", F32, [1, 2, 0, 0])], [tensor("y", F32, None)]),
        "layernorm_empty.onnx": model(
            [helper.make_node("LayerNormalization", ["x", "s"], ["y"], name="ln", axis=-1)],
            [tensor("x", F32, [2, 0])], [tensor("y", F32, None)],
            [numpy_helper.from_array(np.zeros([0], np.float32), "s")]),
        "pad_huge.onnx": model(
            [helper.make_node("Pad", ["x", "p"], ["y"], name="pad")],
            *io, [numpy_helper.from_array(np.array([2**30, 2**30, 2**30, 2**30],
                                                   dtype=np.int64), "p")]),
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_import_models.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    save(outdir, "mlp.onnx", mlp())
    save(outdir, "unsupported.onnx", unsupported())
    save(outdir, "symbolic.onnx", symbolic())
    save(outdir, "dynamic_inputs.onnx", dynamic_inputs())
    save(outdir, "minus_one_dims.onnx", minus_one_dims())
    save(outdir, "resize_nearest.onnx", resize("nearest"))
    save(outdir, "resize_linear.onnx", resize("linear"))
    save(outdir, "conv_transpose.onnx", conv_transpose())
    for name, value in [("shape_4x2.pb", [4, 2]), ("shape_8x1.pb", [8, 1]),
                        ("shape_f32.pb", None)]:
        t = (numpy_helper.from_array(np.array(value, np.int64), "shape") if value
             else numpy_helper.from_array(np.array([4.0, 2.0], np.float32), "shape"))
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(t.SerializeToString())
    save(outdir, "hostile_names.onnx", hostile_names())
    save(outdir, "external.onnx", external(outdir))
    save(outdir, "external_missing.onnx", external_broken("nothere.bin", "32"))
    save(outdir, "external_short.onnx", external_broken("weights.bin", "64"))
    save(outdir, "external_escape.onnx", external_broken("../weights.bin", "32"))
    # The lit test makes these names symbolic links (out of the folder, into
    # it) and a FIFO.
    save(outdir, "external_symlink.onnx", external_broken("link.bin", "32"))
    save(outdir, "external_symlink_dir.onnx", external_broken("linkdir/weights.bin", "32"))
    save(outdir, "external_symlink_inside.onnx", external_broken("inner.bin", "32"))
    save(outdir, "external_fifo.onnx", external_broken("fifo.bin", "32"))
    save(outdir, "conv_pool.onnx", conv_pool())
    save(outdir, "old_opset.onnx", old_opset())
    save(outdir, "opset18.onnx", opset18())
    for name, m in scan8_models().items():
        save(outdir, name, m)
    for name, m in int4_models().items():
        save(outdir, name, m)
    save(outdir, "shape_subgraph.onnx", shape_subgraph())
    save(outdir, "tensor_ops.onnx", tensor_ops())
    save(outdir, "constants.onnx", constants())
    save(outdir, "output_mismatch.onnx", output_mismatch())
    save(outdir, "bad_conv.onnx", bad_conv())
    save(outdir, "checker_fail.onnx", checker_fail())
    save(outdir, "shapeless_output.onnx", shapeless_output())
    for name, m in if_models().items():
        save(outdir, name, m)
    write_if_data(outdir)
    for name, m in loop_models().items():
        save(outdir, name, m)
    write_loop_data(outdir)
    save(outdir, "old_unsupported.onnx", old_unsupported())
    for name, m in refused().items():
        save(outdir, name, m)
    # Broken files.
    open(os.path.join(outdir, "empty.onnx"), "wb").close()
    data = mlp().SerializeToString()
    with open(os.path.join(outdir, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(outdir, "corrupt.onnx"), "wb") as f:
        f.write(bytes((i * 37 + 11) % 256 for i in range(512)))
    with open(os.path.join(outdir, "text.onnx"), "wb") as f:
        f.write(b"this is not an onnx model\n")


if __name__ == "__main__":
    main()
