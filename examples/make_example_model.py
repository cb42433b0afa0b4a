#!/usr/bin/env python3
"""Writes the example model: a small 2-layer MLP classifier.

    input: f32[1,16] -> Gemm 32 + Relu -> Gemm 4 -> Softmax -> probs: f32[1,4]

Weights come from a fixed seed, so every run writes the same file and the
example prints the same numbers everywhere. Opset 17, IR version 8 (what the
libonnx that weftc links understands). Needs only onnx and numpy.
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
IN_FEATURES, HIDDEN, CLASSES = 16, 32, 4


def make_model(seed):
    rng = np.random.default_rng(seed)

    def dense(name, fan_in, fan_out):
        # std 1/sqrt(fan_in) keeps the logits O(1): the softmax output is
        # neither uniform nor one-hot, so a wrong result is easy to spot.
        w = (rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)).astype(np.float32)
        b = (0.1 * rng.standard_normal(fan_out)).astype(np.float32)
        return [numpy_helper.from_array(w, f"{name}.weight"),
                numpy_helper.from_array(b, f"{name}.bias")]

    inits = dense("fc0", IN_FEATURES, HIDDEN) + dense("fc1", HIDDEN, CLASSES)
    nodes = [
        helper.make_node("Gemm", ["input", "fc0.weight", "fc0.bias"], ["hidden"],
                         name="fc0", transB=1),
        helper.make_node("Relu", ["hidden"], ["hidden_relu"], name="relu0"),
        helper.make_node("Gemm", ["hidden_relu", "fc1.weight", "fc1.bias"], ["logits"],
                         name="fc1", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "example_model",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, IN_FEATURES])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, CLASSES])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="weft-example",
                              doc_string="16 -> 32 -> 4 MLP classifier for examples/main.c")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write the example MLP classifier (f32[1,16] -> f32[1,4]) "
                    "used by examples/main.c.")
    parser.add_argument("output", help="path of the .onnx file to write")
    parser.add_argument("--seed", type=int, default=2024,
                        help="seed for the fixed weights (default: %(default)s)")
    args = parser.parse_args(argv)
    parent = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(parent, exist_ok=True)
    onnx.save(make_model(args.seed), args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
