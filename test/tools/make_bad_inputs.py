"""Writes input sets that a compiled MLP (x: f32[1,784]) must reject:
wrong shape, wrong dtype, and a corrupt TensorProto file."""
import os
import sys

import numpy as np
from onnx import numpy_helper

out = sys.argv[1]
cases = {
    "shape": np.zeros((2, 784), np.float32),
    "dtype": np.zeros((1, 784), np.float64),
}
for name, value in cases.items():
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(value, "x").SerializeToString())
d = os.path.join(out, "corrupt")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "input_0.pb"), "wb") as f:
    f.write(b"\x0a\xff\xff\xff\xff\x0f garbage")
