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


def filtered_nms():
    """The graph torchvision exports for boxes[keep], scores[keep] (keep =
    scores > 0.3, one NonZero each), nms(boxes, scores, 0.5), and the kept
    boxes and scores gathered: NonMaxSuppression of boxes the run selected,
    with an int64-max box limit, and a second score threshold on the kept
    scores' own NonZero."""
    nodes = [
        helper.make_node("Greater", ["scores", "thr"], ["keep"], name="keep"),
        helper.make_node("NonZero", ["keep"], ["nz0"], name="nz0"),
        helper.make_node("Transpose", ["nz0"], ["t0"], perm=[1, 0], name="t0"),
        helper.make_node("GatherND", ["boxes", "t0"], ["b"], name="b"),
        helper.make_node("NonZero", ["keep"], ["nz1"], name="nz1"),
        helper.make_node("Transpose", ["nz1"], ["t1"], perm=[1, 0], name="t1"),
        helper.make_node("GatherND", ["scores", "t1"], ["s"], name="s"),
        helper.make_node("Unsqueeze", ["b", "ax0"], ["b3"], name="b3"),
        helper.make_node("Unsqueeze", ["s", "ax0"], ["s2"], name="s2"),
        helper.make_node("Unsqueeze", ["s2", "ax0"], ["s3"], name="s3"),
        helper.make_node("NonMaxSuppression", ["b3", "s3", "max_out", "iou"], ["sel"],
                         name="nms"),
        helper.make_node("Gather", ["sel", "col"], ["ids"], axis=1, name="ids"),
        helper.make_node("Gather", ["b", "ids"], ["kept_boxes"], axis=0, name="kept_boxes"),
        helper.make_node("Gather", ["s", "ids"], ["kept_scores"], axis=0, name="kept_scores"),
        helper.make_node("Greater", ["kept_scores", "high"], ["strong"], name="strong"),
        helper.make_node("Compress", ["kept_scores", "strong"], ["strong_scores"], axis=0,
                         name="strong_scores"),
    ]
    return model(nodes, [tensor("boxes", F32, [12, 4]), tensor("scores", F32, [12])],
                 [tensor("kept_boxes", F32, ["k", 4]), tensor("kept_scores", F32, ["k"]),
                  tensor("strong_scores", F32, ["h"])],
                 [const("thr", np.float32(0.3)), const("ax0", np.array([0], np.int64)),
                  const("max_out", np.array([2**63 - 1], np.int64)),
                  const("iou", np.array([0.5], np.float32)), const("col", np.int64(2)),
                  const("high", np.float32(0.8))], opset=13)


def filtered_nms_data(outdir):
    rng = np.random.default_rng(7)
    corner = rng.uniform(0, 10, (12, 2)).astype(np.float32)
    size = rng.uniform(1, 4, (12, 2)).astype(np.float32)
    # Corners as y1, x1, y2, x2, a few boxes shifted copies of others.
    boxes = np.concatenate([corner, corner + size], axis=1)
    boxes[5] = boxes[2] + 0.1
    boxes[9] = boxes[2] - 0.1
    for tag, scores in [("filtered_some", rng.uniform(0, 1, 12).astype(np.float32)),
                        ("filtered_none", np.full(12, 0.1, np.float32))]:
        keep = scores > np.float32(0.3)
        b, s = boxes[keep], scores[keep]
        sel = nms_reference(b[None], s[None, None], len(s), 0.5, -np.inf)
        ids = sel[:, 2]
        write_case(outdir, tag, [boxes, scores], [b[ids], s[ids], s[ids][s[ids] > 0.8]])


def unique():
    """Unique of a matrix's rows (axis 0, first-occurrence order) and of all
    its elements (sorted), each with its four outputs."""
    nodes = [helper.make_node("Unique", ["x"], ["rows", "ri", "rinv", "rc"], axis=0, sorted=0,
                              name="rows"),
             helper.make_node("Unique", ["x"], ["vals", "vi", "vinv", "vc"], name="vals")]
    return model(nodes, [tensor("x", I64, [6, 2])],
                 [tensor("rows", I64, ["r", 2]), tensor("ri", I64, ["r"]),
                  tensor("rinv", I64, [6]), tensor("rc", I64, ["r"]),
                  tensor("vals", I64, ["v"]), tensor("vi", I64, ["v"]),
                  tensor("vinv", I64, [12]), tensor("vc", I64, ["v"])])


def unique_data(outdir):
    x = np.array([[3, 1], [2, 2], [3, 1], [-5, 0], [2, 2], [3, 1]], np.int64)
    _, first, inverse, counts = np.unique(x, axis=0, return_index=True, return_inverse=True,
                                          return_counts=True)
    order = np.argsort(first, kind="stable")  # first-occurrence order
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    rows = [x[first[order]], first[order], position[inverse.reshape(-1)], counts[order]]
    vals = list(np.unique(x, return_index=True, return_inverse=True, return_counts=True))
    vals[2] = vals[2].reshape(-1)
    write_case(outdir, "unique_case", [x], [np.asarray(t, np.int64) for t in rows + vals])


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
    save("unique.onnx", unique())
    unique_data(outdir)
    save("filtered_nms.onnx", filtered_nms())
    filtered_nms_data(outdir)
    for name, m in refused().items():
        save(name, m)
    save("folded.onnx", folded())


if __name__ == "__main__":
    main()
