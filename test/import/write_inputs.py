#!/usr/bin/env python3
"""Writes input_0..3.pb for dynamic_inputs.onnx (see input-shapes.test) into
DIR: two 2x4 f32 tensors, the given 'shape' TensorProto, and a 3-element r."""
import os
import shutil
import sys

import numpy as np
from onnx import numpy_helper

out, shape_pb = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
tensors = [np.arange(8, dtype=np.float32).reshape(2, 4), np.ones((2, 4), np.float32), None,
           np.array([-1.0, 0.5, 2.0], np.float32)]
for i, t in enumerate(tensors):
    path = os.path.join(out, f"input_{i}.pb")
    if t is None:
        shutil.copyfile(shape_pb, path)
    else:
        with open(path, "wb") as f:
            f.write(numpy_helper.from_array(t).SerializeToString())
