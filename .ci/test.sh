#!/usr/bin/env bash
# The test command: set up, build, then run every test through CTest
# (GoogleTest runtime tests and the lit suite, which includes the MLP/CNN
# end-to-end checks against onnxruntime, the differential tests and the ONNX
# node conformance suite), then the sanitizer builds (.ci/sanitize.sh) and a
# 60-second run of the importer fuzzer (test/fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash .ci/setup.sh
bash .ci/build.sh
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j1
bash "$ROOT/.ci/sanitize.sh"
JOBS=${JOBS:-2} bash "$ROOT/test/fuzz/run.sh" "${FUZZ_SECONDS:-60}"
