#!/usr/bin/env bash
# The main job: set up, build, compile the bundled example model with weftc,
# link it into examples/main.c and run it (with onnxruntime's answer beside).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh
bash .ci/build.sh
bash examples/run_example.sh "$(pwd)/${BUILD_DIR:-build}"
