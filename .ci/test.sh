#!/usr/bin/env bash
# The test command: set up, build, then run every test through CTest
# (GoogleTest runtime tests and the lit suite, which includes the MLP/CNN
# end-to-end checks against onnxruntime and the ONNX node conformance suite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
bash .ci/build.sh
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j1
