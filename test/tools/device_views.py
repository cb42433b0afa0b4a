#!/usr/bin/env python3
"""Runs a one-device model library through test/cuda/weft_runtime.py twice:
on host views, then on views marked as device memory whose data are host
buffers standing in for a GPU's (the runtime must refuse them for a model
that runs on the CPU). Prints what each run gave; used by run-bundle.test."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cuda"))
import weft_runtime as weft  # noqa: E402


class HostStandIn:
    """CudaMemory's interface over host buffers."""

    def __init__(self):
        self.held = []

    def alloc(self, nbytes):
        self.held.append(np.zeros(max(nbytes, 16), np.uint8))
        return self.held[-1].ctypes.data

    def upload(self, array):
        self.held.append(array)
        return array.ctypes.data

    def download(self, array, pointer):
        pass

    def free(self, pointer):
        pass


def main():
    runtime_path, library = sys.argv[1], sys.argv[2]
    runtime = weft.Runtime(runtime_path)
    model = weft.Model(runtime, library, runtime.device("cpu"))
    inputs = [np.zeros(shape, weft.DTYPES[dtype]) for dtype, shape in model.inputs()]
    print(f"host views: {len(model.run(inputs))} outputs")
    try:
        model.run(inputs, HostStandIn())
        print("device views: accepted")
    except weft.WeftError as e:
        print(f"device views: {e}")
    model.close()


if __name__ == "__main__":
    main()
