#!/usr/bin/env python3
"""Models whose output sizes the run decides (NonZero, Compress,
NonMaxSuppression), their inputs with expected outputs computed here with
numpy, and models that pass such a value to an op that cannot take it.

usage: make_run_time_size_models.py OUTDIR
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
IR_VERSION = 8


def model(nodes, inputs, outputs, initializers=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = IR_VERSION
    return m


def tensor(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def write_case(outdir, tag, inputs, outputs):
    d = os.path.join(outdir, tag)
    os.makedirs(d, exist_ok=True)
    for kind, tensors in (("input", inputs), ("output", outputs)):
        for i, t in enumerate(tensors):
            with open(os.path.join(d, f"{kind}_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(t).SerializeToString())


def masked():
    """x[x > 0] * 2 (NonZero -> Transpose -> GatherND -> Mul), the
    coordinates, and a fixed-size sum beside them."""
    nodes = [
        helper.make_node("Greater", ["x", "zero"], ["m"], name="positive"),
        helper.make_node("NonZero", ["m"], ["coords"], name="nz"),
        helper.make_node("Transpose", ["coords"], ["pairs"], perm=[1, 0], name="pairs"),
        helper.make_node("GatherND", ["x", "pairs"], ["v"], name="pick"),
        helper.make_node("Mul", ["v", "two"], ["y"], name="double"),
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0, name="sum"),
    ]
    return model(nodes, [tensor("x", F32, [3, 4])],
                 [tensor("coords", I64, [2, "n"]), tensor("y", F32, ["n"]),
                  tensor("s", F32, [])],
                 [const("zero", np.float32(0)), const("two", np.float32(2))])


def masked_data(outdir):
    cases = {
        "masked_some": np.array([[1, -2, 3, 0], [-1, 5, -6, 7], [0, 0, 9, -1]], np.float32),
        "masked_none": -np.ones((3, 4), np.float32),
        "masked_all": np.arange(1, 13, dtype=np.float32).reshape(3, 4),
    }
    for tag, x in cases.items():
        coords = np.array(np.nonzero(x > 0), np.int64).reshape(2, -1)
        write_case(outdir, tag, [x], [coords, x[x > 0] * 2, np.sum(x)])


def compress():
    """Compress(x, c, axis=0) -> Relu: the rows whose condition is true."""
    nodes = [helper.make_node("Compress", ["x", "c"], ["r"], axis=0, name="rows"),
             helper.make_node("Relu", ["r"], ["y"], name="relu")]
    return model(nodes, [tensor("x", F32, [4, 3]), tensor("c", BOOL, [4])],
                 [tensor("y", F32, ["n", 3])])


def compress_data(outdir):
    x = np.array([[1, -1, 2], [-3, 4, 5], [6, -7, 8], [9, 10, -11]], np.float32)
    c = np.array([True, False, True, True])
    write_case(outdir, "compress_rows", [x, c], [np.maximum(x[c], 0)])


BOXES = np.array([[[0.0, 0.0, 1.0, 1.0], [0.0, 0.1, 1.0, 1.1], [0.0, -0.1, 1.0, 0.9],
                   [0.0, 10.0, 1.0, 11.0], [0.0, 10.1, 1.0, 11.1], [0.0, 100.0, 1.0, 101.0]]],
                 np.float32)


def nms_reference(boxes, scores, max_out, iou_threshold, score_threshold):
    """Greedy suppression per batch and class, as ONNX specifies it."""
    def iou(a, b):
        ya0, xa0, ya1, xa1 = min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])
        yb0, xb0, yb1, xb1 = min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])
        ih, iw = min(ya1, yb1) - max(ya0, yb0), min(xa1, xb1) - max(xa0, xb0)
        if ih <= 0 or iw <= 0:
            return 0.0
        inter = ih * iw
        union = (ya1 - ya0) * (xa1 - xa0) + (yb1 - yb0) * (xb1 - xb0) - inter
        return inter / union
    out = []
    for b in range(boxes.shape[0]):
        for c in range(scores.shape[1]):
            order = sorted((i for i in range(boxes.shape[1]) if scores[b, c, i] > score_threshold),
                           key=lambda i: (-scores[b, c, i], i))
            kept = []
            for i in order:
                if len(kept) == max_out:
                    break
                if all(iou(boxes[b, i], boxes[b, k]) <= iou_threshold for k in kept):
                    kept.append(i)
            out += [[b, c, i] for i in kept]
    return np.array(out, np.int64).reshape(-1, 3)


def nms():
    """NonMaxSuppression, then the kept boxes gathered by their index
    (Gather of column 2, Squeeze, Gather of the boxes)."""
    nodes = [
        helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_out", "iou", "thr"],
                         ["sel"], name="nms"),
        helper.make_node("Gather", ["sel", "col"], ["ids2"], axis=1, name="column"),
        helper.make_node("Squeeze", ["ids2", "one"], ["ids"], name="flat"),
        helper.make_node("Squeeze", ["boxes", "zero"], ["all"], name="batch0"),
        helper.make_node("Gather", ["all", "ids"], ["picked"], axis=0, name="pick"),
    ]
    return model(nodes, [tensor("boxes", F32, [1, 6, 4]), tensor("scores", F32, [1, 2, 6])],
                 [tensor("sel", I64, ["n", 3]), tensor("picked", F32, ["n", 4])],
                 [const("max_out", np.array([2], np.int64)), const("iou", np.array([0.5], np.float32)),
                  const("thr", np.array([0.0], np.float32)), const("col", np.array([2], np.int64)),
                  const("one", np.array([1], np.int64)), const("zero", np.array([0], np.int64))])


def nms_data(outdir):
    scores = np.array([[[0.9, 0.75, 0.6, 0.95, 0.5, 0.3], [0.1, 0.2, -0.3, 0.4, 0.8, 0.7]]],
                      np.float32)
    sel = nms_reference(BOXES, scores, 2, 0.5, 0.0)
    write_case(outdir, "nms_case", [BOXES, scores], [sel, BOXES[0][sel[:, 2]]])


def refused():
    """A run-time size met by ops that would read the padding."""
    x = [tensor("x", F32, [8])]
    c = tensor("c", BOOL, [8])
    nz = helper.make_node("NonZero", ["x"], ["nz"], name="nz")
    return {
        "rts_reduce.onnx": model(
            [nz, helper.make_node("ReduceSum", ["nz"], ["s"], keepdims=0, name="total")],
            x, [tensor("s", I64, [])]),
        "rts_shape.onnx": model(
            [nz, helper.make_node("Shape", ["nz"], ["s"], name="shape")],
            x, [tensor("s", I64, [2])]),
        "rts_slice.onnx": model(
            [nz, helper.make_node("Slice", ["nz", "st", "en", "ax"], ["s"], name="last")],
            x, [tensor("s", I64, [1, 1])],
            [const("st", np.array([-1], np.int64)), const("en", np.array([2**62], np.int64)),
             const("ax", np.array([1], np.int64))]),
        "rts_fixed.onnx": model(
            [helper.make_node("Compress", ["x", "c"], ["k"], axis=0, name="keep"),
             helper.make_node("Add", ["k", "w"], ["y"], name="add")],
            x + [c], [tensor("y", F32, [8])], [const("w", np.ones(8, np.float32))]),
        "rts_conv.onnx": model(
            [nz, helper.make_node("Cast", ["nz"], ["f"], to=F32, name="cast"),
             helper.make_node("Unsqueeze", ["f", "ax"], ["f3"], name="batch"),
             helper.make_node("Conv", ["f3", "w"], ["y"], name="conv")],
            x, [tensor("y", F32, None)],
            [const("ax", np.array([0], np.int64)), const("w", np.ones((1, 2, 1), np.float32))]),
        "rts_branch.onnx": model(
            [helper.make_node(
                "If", ["b"], ["y"], name="choose",
                then_branch=helper.make_graph(
                    [helper.make_node("NonZero", ["x"], ["t"], name="then_nz")], "then", [],
                    [tensor("t", I64, None)]),
                else_branch=helper.make_graph(
                    [helper.make_node("NonZero", ["x"], ["e"], name="else_nz")], "else", [],
                    [tensor("e", I64, None)]))],
            x + [tensor("b", BOOL, [])], [tensor("y", I64, None)]),
    }


def folded():
    """NonZero of a constant: coordinates known at compile time."""
    nodes = [helper.make_node("NonZero", ["k"], ["nz"], name="nz"),
             helper.make_node("Add", ["nz", "x"], ["y"], name="add")]
    return model(nodes, [tensor("x", I64, [])], [tensor("y", I64, [1, 2])],
                 [const("k", np.array([0, 3, 0, 5], np.int64))])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_run_time_size_models.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)

    def save(name, m):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(m.SerializeToString())

    save("masked.onnx", masked())
    masked_data(outdir)
    save("compress.onnx", compress())
    compress_data(outdir)
    save("nms.onnx", nms())
    nms_data(outdir)
    for name, m in refused().items():
        save(name, m)
    save("folded.onnx", folded())


if __name__ == "__main__":
    main()
