#!/usr/bin/env python3
"""Writes the seed corpus of weft-import-fuzzer: small ONNX models, one per
file, that reach the importer's converters and the graph passes.

    make_seed_corpus.py OUTDIR

Every model is built with onnx.helper at IR version 8 (what libonnx 1.12's
checker accepts) and, unless it is meant to be rejected, passes the Python
ONNX checker. They cover the op families the importer converts (matmul and
gemm, convolution and pooling, normalizations, reductions, shape and tensor
ops, casts, activations, constants), initializers in raw and typed fields,
an opset 9 model for the version converter, symbolic dimensions the fuzzer
pins (batch, N, seq), and external data: present (weights.bin, which the
fuzzer writes next to each input), missing, or out of range.

The files are a pure function of this script: running it twice gives the
same bytes. Only onnx and numpy are needed.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 8
OPSET = 17

F32 = TensorProto.FLOAT
F16 = TensorProto.FLOAT16
F64 = TensorProto.DOUBLE
I64 = TensorProto.INT64
I32 = TensorProto.INT32
I8 = TensorProto.INT8
U8 = TensorProto.UINT8
BOOL = TensorProto.BOOL

RNG = np.random.default_rng(20240611)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def f32(*shape):
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


def i64(*values):
    return np.array(values, dtype=np.int64)


def node(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, outputs, name=f"{op.lower()}_{outputs[0]}",
                            **attrs)


def model(nodes, inputs, outputs, inits=(), opset=OPSET, check=True):
    graph = helper.make_graph(nodes, "seed", inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="weft-fuzz-seed")
    m.ir_version = IR_VERSION
    if check:
        onnx.checker.check_model(m)
    return m


def external(name, dims, location, offset, length):
    t = TensorProto()
    t.name = name
    t.data_type = F32
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)),
                       ("length", str(length))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    return t


SEEDS = {}


def seed(fn):
    SEEDS[fn.__name__] = fn
    return fn


@seed
def matmul_2d():
    return model([node("MatMul", ["x", "w"], ["y"])], [vi("x", F32, [2, 3])],
                 [vi("y", F32, [2, 4])], [init("w", f32(3, 4))])


@seed
def matmul_batched_broadcast():
    return model([node("MatMul", ["a", "b"], ["y"])],
                 [vi("a", F32, [2, 3, 4]), vi("b", F32, [4, 5])], [vi("y", F32, [2, 3, 5])])


@seed
def matmul_vector():
    return model([node("MatMul", ["a", "b"], ["y"])], [vi("a", F32, [4]), vi("b", F32, [4, 2])],
                 [vi("y", F32, [2])])


@seed
def gemm_transposed_bias():
    return model([node("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)],
                 [vi("a", F32, [3, 4])], [vi("y", F32, [3, 5])],
                 [init("b", f32(5, 4)), init("c", f32(5))])


@seed
def conv_pads_bias():
    return model([node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], kernel_shape=[3, 3])],
                 [vi("x", F32, [1, 1, 5, 5])], [vi("y", F32, [1, 2, 5, 5])],
                 [init("w", f32(2, 1, 3, 3)), init("b", f32(2))])


@seed
def conv_group_stride_dilation():
    return model([node("Conv", ["x", "w"], ["y"], group=2, strides=[2, 2], dilations=[2, 1],
                       auto_pad="SAME_UPPER")],
                 [vi("x", F32, [1, 4, 7, 6])], [vi("y", F32, [1, 4, 4, 3])],
                 [init("w", f32(4, 2, 2, 3))])


@seed
def conv_1d():
    return model([node("Conv", ["x", "w"], ["y"], strides=[2])],
                 [vi("x", F32, [2, 3, 9])], [vi("y", F32, [2, 4, 4])], [init("w", f32(4, 3, 2))])


@seed
def maxpool_ceil():
    return model([node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
                 [vi("x", F32, [1, 2, 5, 5])], [vi("y", F32, [1, 2, 3, 3])])


@seed
def averagepool_pads():
    return model([node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                       count_include_pad=1)],
                 [vi("x", F32, [1, 1, 4, 4])], [vi("y", F32, [1, 1, 4, 4])])


@seed
def global_pools():
    return model([node("GlobalAveragePool", ["x"], ["a"]), node("GlobalMaxPool", ["x"], ["m"]),
                  node("Add", ["a", "m"], ["y"])],
                 [vi("x", F32, [2, 3, 4, 4])], [vi("y", F32, [2, 3, 1, 1])])


@seed
def reshape_transpose():
    return model([node("Reshape", ["x", "s"], ["r"]), node("Transpose", ["r"], ["y"], perm=[1, 0])],
                 [vi("x", F32, [2, 3, 4])], [vi("y", F32, [4, 6])], [init("s", i64(6, -1))])


@seed
def concat_slice():
    return model([node("Concat", ["a", "b"], ["c"], axis=1),
                  node("Slice", ["c", "st", "en", "ax", "sp"], ["y"])],
                 [vi("a", F32, [2, 3]), vi("b", F32, [2, 5])], [vi("y", F32, [2, 4])],
                 [init("st", i64(-1)), init("en", i64(-9)), init("ax", i64(1)), init("sp", i64(-2))])


@seed
def cast_clip():
    return model([node("Cast", ["x"], ["h"], to=F16), node("Cast", ["h"], ["f"], to=F32),
                  node("Clip", ["f", "lo", "hi"], ["c"]), node("Cast", ["c"], ["y"], to=I32)],
                 [vi("x", F32, [6])], [vi("y", I32, [6])],
                 [init("lo", np.float32(-1.0)), init("hi", np.float32(2.5))])


@seed
def reduce_family():
    return model([node("ReduceSum", ["x", "axes"], ["s"], keepdims=0),
                  node("ReduceMean", ["x"], ["m"], axes=[0, 2], keepdims=1),
                  node("ReduceMax", ["x"], ["mx"], axes=[-1]),
                  node("ReduceL2", ["x"], ["l2"], keepdims=0),
                  node("ReduceLogSumExp", ["x"], ["lse"], axes=[1])],
                 [vi("x", F32, [2, 3, 4])],
                 [vi("s", F32, [2, 4]), vi("m", F32, [1, 3, 1]), vi("mx", F32, [2, 3, 1]),
                  vi("l2", F32, []), vi("lse", F32, [2, 1, 4])],
                 [init("axes", i64(1))])


@seed
def reduce_opset18_axes_input():
    return model([node("ReduceProd", ["x", "axes"], ["p"], keepdims=0),
                  node("ReduceMin", ["x", "none"], ["n"], noop_with_empty_axes=1),
                  node("ReduceSumSquare", ["x"], ["q"])],
                 [vi("x", F32, [3, 4])],
                 [vi("p", F32, [3]), vi("n", F32, [3, 4]), vi("q", F32, [1, 1])],
                 [init("axes", i64(-1)), init("none", np.zeros(0, np.int64))], opset=18)


@seed
def softmax_layernorm():
    return model([node("Softmax", ["x"], ["s"], axis=-1),
                  node("LayerNormalization", ["s", "g", "b"], ["y"], axis=-1, epsilon=1e-5),
                  node("LogSoftmax", ["y"], ["z"], axis=1)],
                 [vi("x", F32, [2, 8])], [vi("z", F32, [2, 8])],
                 [init("g", f32(8)), init("b", f32(8))])


@seed
def batchnorm_relu():
    return model([node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
                  node("Relu", ["n"], ["y"])],
                 [vi("x", F32, [1, 3, 2, 2])], [vi("y", F32, [1, 3, 2, 2])],
                 [init("s", f32(3)), init("b", f32(3)), init("m", f32(3)),
                  init("v", np.abs(f32(3)) + 0.5)])


@seed
def instancenorm_prelu():
    return model([node("InstanceNormalization", ["x", "s", "b"], ["n"]),
                  node("PRelu", ["n", "slope"], ["y"])],
                 [vi("x", F32, [2, 3, 4])], [vi("y", F32, [2, 3, 4])],
                 [init("s", f32(3)), init("b", f32(3)), init("slope", f32(3, 1))])


@seed
def shape_subgraph():
    return model([node("Shape", ["x"], ["sh"]),
                  node("Gather", ["sh", "zero"], ["d0"], axis=0),
                  node("Unsqueeze", ["d0", "ax0"], ["d0v"]),
                  node("Concat", ["d0v", "minus1"], ["target"], axis=0),
                  node("Reshape", ["x", "target"], ["y"])],
                 [vi("x", F32, [2, 3, 4])], [vi("y", F32, [2, 12])],
                 [init("zero", np.int64(0)), init("ax0", i64(0)), init("minus1", i64(-1))])


@seed
def constant_nodes():
    return model([helper.make_node("Constant", [], ["c"], name="c",
                                   value=numpy_helper.from_array(f32(2, 3))),
                  helper.make_node("Constant", [], ["f"], name="f", value_float=1.5),
                  helper.make_node("Constant", [], ["shape"], name="shape", value_ints=[2, 3]),
                  node("ConstantOfShape", ["shape"], ["z"],
                       value=numpy_helper.from_array(np.array([0.25], np.float32))),
                  node("Add", ["c", "z"], ["a"]), node("Mul", ["a", "f"], ["y"])],
                 [], [vi("y", F32, [2, 3])])


@seed
def broadcast_where():
    return model([node("Add", ["a", "b"], ["s"]), node("Sub", ["s", "b"], ["d"]),
                  node("Div", ["d", "two"], ["q"]), node("Greater", ["q", "a"], ["g"]),
                  node("Where", ["g", "q", "a"], ["y"])],
                 [vi("a", F32, [2, 1, 4]), vi("b", F32, [3, 1])], [vi("y", F32, [2, 3, 4])],
                 [init("two", np.float32(2))])


@seed
def integer_logic():
    return model([node("Mul", ["a", "b"], ["m"]), node("Equal", ["m", "a"], ["e"]),
                  node("Not", ["e"], ["n"]), node("Less", ["a", "b"], ["l"]),
                  node("And", ["n", "l"], ["y"]), node("Div", ["a", "b"], ["q"])],
                 [vi("a", I64, [5]), vi("b", I64, [5])], [vi("y", BOOL, [5]), vi("q", I64, [5])])


@seed
def squeeze_unsqueeze_flatten():
    return model([node("Unsqueeze", ["x", "ax"], ["u"]), node("Squeeze", ["u", "sq"], ["s"]),
                  node("Flatten", ["s"], ["y"], axis=1)],
                 [vi("x", F32, [2, 1, 3])], [vi("y", F32, [2, 3])],
                 [init("ax", i64(0, -1)), init("sq", i64(0, 2, 4))])


@seed
def split_gather():
    return model([node("Split", ["x", "sizes"], ["p", "q"], axis=1),
                  node("Gather", ["q", "idx"], ["y"], axis=1)],
                 [vi("x", F32, [2, 5])], [vi("p", F32, [2, 2]), vi("y", F32, [2, 2, 2])],
                 [init("sizes", i64(2, 3)), init("idx", np.array([[0, -1], [1, 2]], np.int64))])


@seed
def pad_expand_tile():
    return model([node("Pad", ["x", "pads", "cv"], ["p"], mode="constant"),
                  node("Expand", ["p", "shape"], ["e"]), node("Tile", ["e", "reps"], ["y"])],
                 [vi("x", F32, [1, 3])], [vi("y", F32, [4, 10])],
                 [init("pads", i64(0, 1, 0, 1)), init("cv", np.float32(-1)),
                  init("shape", i64(2, 1)), init("reps", i64(2, 2))])


@seed
def pad_reflect():
    return model([node("Pad", ["x", "pads"], ["y"], mode="reflect")],
                 [vi("x", F32, [3, 4])], [vi("y", F32, [5, 6])], [init("pads", i64(1, 1, 1, 1))])


@seed
def range_trilu():
    return model([node("Range", ["start", "limit", "delta"], ["r"]),
                  node("Reshape", ["r", "s"], ["m"]), node("Trilu", ["m", "k"], ["y"], upper=0)],
                 [], [vi("y", I64, [3, 4])],
                 [init("start", np.int64(0)), init("limit", np.int64(12)),
                  init("delta", np.int64(1)), init("s", i64(3, 4)), init("k", np.int64(1))])


@seed
def depth_space():
    return model([node("DepthToSpace", ["x"], ["d"], blocksize=2, mode="CRD"),
                  node("SpaceToDepth", ["d"], ["y"], blocksize=2)],
                 [vi("x", F32, [1, 8, 2, 3])], [vi("y", F32, [1, 8, 2, 3])])


@seed
def activations():
    names = ["Sigmoid", "Tanh", "Softplus", "Softsign", "HardSwish", "Erf", "Exp", "Abs", "Neg"]
    nodes, prev = [], "x"
    for i, op in enumerate(names):
        nodes.append(node(op, [prev], [f"t{i}"]))
        prev = f"t{i}"
    nodes += [node("LeakyRelu", [prev], ["l"], alpha=0.2), node("Elu", ["l"], ["e"], alpha=0.7),
              node("HardSigmoid", ["e"], ["h"], alpha=0.3, beta=0.4),
              node("Selu", ["h"], ["y"])]
    return model(nodes, [vi("x", F32, [3, 5])], [vi("y", F32, [3, 5])])


@seed
def variadic_pow():
    return model([node("Max", ["a", "b", "c"], ["mx"]), node("Min", ["a", "b"], ["mn"]),
                  node("Mean", ["mx", "mn"], ["me"]), node("Sum", ["me", "c"], ["s"]),
                  node("Pow", ["s", "two"], ["y"])],
                 [vi("a", F32, [2, 3]), vi("b", F32, [3]), vi("c", F32, [1, 1])],
                 [vi("y", F32, [2, 3])], [init("two", np.float32(2))])


@seed
def opset9_upgrade():
    # The version converter brings this to opset 11 first.
    return model([node("Gemm", ["x", "w", "b"], ["g"], transB=1),
                  node("Unsqueeze", ["g"], ["g4"], axes=[2, 3]),
                  node("BatchNormalization", ["g4", "s", "bb", "m", "v"], ["n"]),
                  node("Relu", ["n"], ["y"])],
                 [vi("x", F32, [2, 4])], [vi("y", F32, [2, 3, 1, 1])],
                 [init("w", f32(3, 4)), init("b", f32(3)), init("s", f32(3)), init("bb", f32(3)),
                  init("m", f32(3)), init("v", np.abs(f32(3)) + 1)], opset=9)


@seed
def symbolic_batch():
    return model([node("MatMul", ["x", "w"], ["m"]), node("Relu", ["m"], ["y"])],
                 [vi("x", F32, ["batch", "seq", 4])], [vi("y", F32, ["batch", "seq", 2])],
                 [init("w", f32(4, 2))])


@seed
def initializer_default_input():
    # "w" is a graph input with a default value: a constant to Weft.
    return model([node("Add", ["x", "w"], ["y"])],
                 [vi("x", F32, [2, 2]), vi("w", F32, [2, 2])], [vi("y", F32, [2, 2])],
                 [init("w", f32(2, 2))])


@seed
def typed_initializer_fields():
    ints = helper.make_tensor("shape", I64, [2], [3, 2])
    floats = helper.make_tensor("bias", F32, [2], [0.5, -0.5])
    doubles = helper.make_tensor("scale", F64, [1], [2.0])
    return model([node("Reshape", ["x", "shape"], ["r"]), node("Add", ["r", "bias"], ["a"]),
                  node("Cast", ["scale"], ["s32"], to=F32), node("Mul", ["a", "s32"], ["y"])],
                 [vi("x", F32, [6])], [vi("y", F32, [3, 2])], [ints, floats, doubles])


@seed
def small_types():
    return model([node("Cast", ["u"], ["ui"], to=I32), node("Cast", ["s"], ["si"], to=I32),
                  node("Add", ["ui", "si"], ["sum"]), node("Cast", ["h"], ["hf"], to=F32),
                  node("Cast", ["sum"], ["sf"], to=F32), node("Mul", ["hf", "sf"], ["y"])],
                 [vi("u", U8, [4]), vi("s", I8, [4]), vi("h", F16, [4])], [vi("y", F32, [4])])


@seed
def scalars_and_empty():
    return model([node("Add", ["a", "b"], ["s"]), node("Concat", ["e", "f"], ["c"], axis=0),
                  node("Size", ["c"], ["n"]), node("Identity", ["s"], ["y"])],
                 [vi("a", F32, []), vi("b", F32, []), vi("e", F32, [0, 2]), vi("f", F32, [1, 2])],
                 [vi("y", F32, []), vi("n", I64, [])])


@seed
def mlp_softmax():
    return model([node("Gemm", ["x", "w1", "b1"], ["h"]), node("Relu", ["h"], ["r"]),
                  node("Gemm", ["r", "w2", "b2"], ["l"]), node("Dropout", ["l"], ["d"]),
                  node("Softmax", ["d"], ["y"])],
                 [vi("x", F32, [1, 8])], [vi("y", F32, [1, 3])],
                 [init("w1", f32(8, 6)), init("b1", f32(6)), init("w2", f32(6, 3)),
                  init("b2", f32(3))])


@seed
def cnn_small():
    return model([node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3]),
                  node("Relu", ["c"], ["r"]), node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2],
                                                   strides=[2, 2]),
                  node("Flatten", ["p"], ["f"]), node("Gemm", ["f", "fw", "fb"], ["y"])],
                 [vi("x", F32, [1, 1, 6, 6])], [vi("y", F32, [1, 4])],
                 [init("w", f32(2, 1, 3, 3)), init("b", f32(2)), init("fw", f32(8, 4)),
                  init("fb", f32(4))])


@seed
def external_present():
    # 3x4 floats at offset 16 of the fuzzer's weights.bin.
    return model([node("MatMul", ["x", "w"], ["y"])], [vi("x", F32, [2, 3])],
                 [vi("y", F32, [2, 4])], [external("w", [3, 4], "weights.bin", 16, 48)],
                 check=False)


@seed
def external_missing_file():
    return model([node("MatMul", ["x", "w"], ["y"])], [vi("x", F32, [2, 3])],
                 [vi("y", F32, [2, 4])], [external("w", [3, 4], "missing.bin", 0, 48)],
                 check=False)


@seed
def external_past_end():
    return model([node("MatMul", ["x", "w"], ["y"])], [vi("x", F32, [2, 3])],
                 [vi("y", F32, [2, 4])], [external("w", [3, 4], "weights.bin", 4090, 48)],
                 check=False)


@seed
def external_wrong_length():
    # The bytes exist, but 40 of them do not make 3x4 floats.
    return model([node("MatMul", ["x", "w"], ["y"])], [vi("x", F32, [2, 3])],
                 [vi("y", F32, [2, 4])], [external("w", [3, 4], "weights.bin", 0, 40)],
                 check=False)


@seed
def unsupported_and_custom_domain():
    # Rejected in one diagnostic: an unknown op and one of another domain.
    nodes = [node("NonMaxSuppression", ["b", "s"], ["i"]),
             helper.make_node("Frobnicate", ["x"], ["y"], name="custom", domain="com.example")]
    graph = helper.make_graph(nodes, "seed", [vi("x", F32, [2]), vi("b", F32, [1, 1, 4]),
                                              vi("s", F32, [1, 1, 1])],
                              [vi("y", F32, [2]), vi("i", I64, [1, 3])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                helper.make_opsetid("com.example", 1)])
    m.ir_version = IR_VERSION
    return m


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print(f"usage: {argv[0]} OUTDIR", file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, build in SEEDS.items():
        data = build().SerializeToString()
        with open(os.path.join(outdir, f"seed_{name}.onnx"), "wb") as f:
            f.write(data)
    print(f"make_seed_corpus: wrote {len(SEEDS)} models to {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
