"""Writes MatMul and Gemm models with K = 0 and onnxruntime's outputs."""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
for name, op in (("matmul_k0", "MatMul"), ("gemm_k0", "Gemm")):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 0])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    w = numpy_helper.from_array(np.zeros((0, 3), np.float32), "w")
    graph = helper.make_graph([helper.make_node(op, ["x", "w"], ["y"], name=name)], name,
                              [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(out, name + ".onnx")
    onnx.save(model, path)
    data = os.path.join(out, name)
    os.makedirs(data, exist_ok=True)
    feed = np.zeros((2, 0), np.float32)
    with open(os.path.join(data, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(feed, "x").SerializeToString())
    result = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": feed})
    with open(os.path.join(data, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(result[0], "y").SerializeToString())
