#!/usr/bin/env bash
# Builds and runs the C example against a Weft build tree, then checks its
# output against onnxruntime on the same input.
#
#   examples/run_example.sh BUILD_DIR [WORK_DIR]
#
# BUILD_DIR holds bin/weftc and lib/libweft_runtime; WORK_DIR (default
# BUILD_DIR/example) receives the model, the generated object and header, and
# the linked program. Environment: PYTHON (default python3, needs onnx, numpy
# and onnxruntime), CC (default cc).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
  echo "usage: $0 BUILD_DIR [WORK_DIR]" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
WORK=${2:-$BUILD_DIR/example}
PYTHON=${PYTHON:-python3}
CC=${CC:-cc}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

echo "== generate the model"
"$PYTHON" "$HERE/make_example_model.py" "$WORK/example_model.onnx"

echo "== compile it with weftc"
"$BUILD_DIR/bin/weftc" "$WORK/example_model.onnx" -o "$WORK/example_model.o" \
  --name example_model

echo "== link main.c with the runtime"
# rpath so the program finds libweft_runtime without LD_LIBRARY_PATH.
"$CC" -std=c11 -O2 -Wall -Wextra "$HERE/main.c" "$WORK/example_model.o" \
  -I"$WORK" -I"$REPO/runtime/include" -L"$BUILD_DIR/lib" -lweft_runtime -lm \
  -Wl,-rpath,"$BUILD_DIR/lib" -o "$WORK/example"

echo "== run the compiled model"
"$WORK/example" | tee "$WORK/example_output.txt"

echo "== onnxruntime on the same input"
"$PYTHON" - "$WORK/example_model.onnx" "$WORK/example_output.txt" <<'EOF'
import re, sys
import numpy as np
import onnxruntime as ort

model, weft_output = sys.argv[1], sys.argv[2]
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
# Same pattern as main.c: x[i] = ((i % 7) - 3) * 0.25.
n = int(np.prod(inp.shape))
x = (((np.arange(n) % 7) - 3) * 0.25).astype(np.float32).reshape(inp.shape)
ref = sess.run(None, {inp.name: x})[0].ravel()
for i, v in enumerate(ref):
    print(f"output[{i}] = {v:.6f}")
print(f"argmax = {int(np.argmax(ref))}")

got = [float(v) for v in re.findall(r"^output\[\d+\] = (\S+)$",
                                    open(weft_output).read(), re.M)]
# main.c prints 6 decimals, so compare at that precision.
if len(got) != len(ref) or not np.allclose(got, ref, rtol=1e-4, atol=2e-6):
    print("MISMATCH between Weft and onnxruntime")
    sys.exit(1)
print("Weft and onnxruntime agree")
EOF
