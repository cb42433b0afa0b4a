#!/usr/bin/env bash
# The checks of Weft's CUDA backend that need a GPU, in one call, for a
# machine with an NVIDIA GPU, its driver, and what .ci/setup.sh installs
# (LLVM/MLIR 22, the CUDA toolkit at /usr/local/cuda, Python with onnx and
# onnxruntime; Debian's python3-torch for the exported models). Builds what
# is missing, then:
#   1. the ONNX node suite on the GPU (weftc --target=cuda, weft-run on the
#      GPU) against test/conformance/cuda.xfail;
#   2. the test models (MLP, CNN, encoder block, detector head) and, when
#      torch is there, ResNet-50 and a BERT-base-sized encoder (12 layers,
#      hidden 768, sequence 128; test/e2e/check_exported_models.py), against
#      onnxruntime's CPU outputs (within 1e-3 relative);
#   3. latency of ResNet-50 and the BERT-base encoder on the GPU (weft-run --bench,
#      whole runs: copies in and out included) beside onnxruntime on the CPU
#      and, where installed, onnxruntime's CUDA provider and torch on the GPU;
# and prints one summary. Usage: test/cuda/run-on-device.sh [OUTDIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=${BUILD_DIR:-build}
OUT=${1:-/tmp/weft-cuda-check}
JOBS=$(nproc 2>/dev/null || echo 2)
mkdir -p "$OUT"
summary=()
note() { summary+=("$1"); echo "== $1"; }

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L; then
  echo "run-on-device: no NVIDIA GPU here (nvidia-smi found none)" >&2
  exit 2
fi
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
[ -x "$BUILD/bin/weftc" ] && [ -x "$BUILD/bin/weft-run" ] || bash .ci/build.sh || exit 2
WEFTC=$ROOT/$BUILD/bin/weftc
WEFT_RUN=$ROOT/$BUILD/bin/weft-run

# 1. Conformance on the GPU.
python3 test/conformance/run_conformance.py --weftc "$WEFTC" --weft-run "$WEFT_RUN" \
  -j "$JOBS" --xfail test/conformance/cuda.xfail --weftc-arg=--target=cuda \
  --report "$OUT/conformance.json" > "$OUT/conformance.txt" 2>&1
note "conformance ($GPU): $(grep '^conformance:' "$OUT/conformance.txt" || echo 'did not finish')"

# 2. Models against onnxruntime's CPU outputs.
python3 test/e2e/check_models.py --weftc "$WEFTC" --weft-run "$WEFT_RUN" \
  --workdir "$OUT/models" --models mlp,cnn,encoder,det_head --threads 1 \
  --weftc-arg=--target=cuda > "$OUT/models.txt" 2>&1
note "test models: $(grep '^check_models:' "$OUT/models.txt" || echo 'did not finish')"

REAL=$OUT/real
if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
  /usr/bin/python3 bench/export_models.py "$REAL" --models resnet50 > "$OUT/export.txt" 2>&1
  python3 test/e2e/check_exported_models.py --weftc "$WEFTC" --weft-run "$WEFT_RUN" \
    --workdir "$REAL" --models bert_base --threads 1 --weftc-arg=--target=cuda \
    --rtol 1e-3 --atol 1e-5 > "$OUT/bert.txt" 2>&1
  note "bert_base: $(grep '^check_exported_models:' "$OUT/bert.txt" || echo 'did not finish')"
  mkdir -p "$REAL/bert_base_data/test_data_set_0"
  for m in resnet50 bert_base; do
    [ -f "$REAL/$m.onnx" ] || { note "$m: not exported (see $OUT/export.txt)"; continue; }
    data=$REAL/${m}_data/test_data_set_0
    [ -f "$data/output_0.pb" ] || python3 - "$REAL/$m.onnx" "$data" <<'PY'
import os, sys
import numpy as np, onnx, onnxruntime as ort
from onnx import numpy_helper
model, data = sys.argv[1], sys.argv[2]
x = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, "input_0.pb")))
s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
y = s.run(None, {s.get_inputs()[0].name: x})[0]
with open(os.path.join(data, "output_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(y).SerializeToString())
PY
    "$WEFTC" "$REAL/$m.onnx" --target=cuda --emit=lib -o "$OUT/$m.so" > "$OUT/$m.compile.txt" 2>&1 \
      || { note "$m: weftc failed (see $OUT/$m.compile.txt)"; continue; }
    if "$WEFT_RUN" "$OUT/$m.so" --input-dir "$data" --compare --rtol 1e-3 --atol 1e-5 \
        > "$OUT/$m.compare.txt" 2>&1; then
      note "$m: matches onnxruntime (CPU) within 1e-3: $(tail -1 "$OUT/$m.compare.txt")"
    else
      note "$m: MISMATCH or failure: $(tail -1 "$OUT/$m.compare.txt")"
    fi
    "$WEFT_RUN" "$OUT/$m.so" --input-dir "$data" --bench 50 --warmup 5 \
      > "$OUT/$m.bench.txt" 2>&1
    note "$m weft ($GPU): $(grep -i median "$OUT/$m.bench.txt" | head -1)"
    python3 - "$REAL/$m.onnx" "$data" > "$OUT/$m.peers.txt" 2>&1 <<'PY'
import os, statistics, sys, time
import onnx, onnxruntime as ort
from onnx import numpy_helper
model, data = sys.argv[1], sys.argv[2]
x = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, "input_0.pb")))
for provider in ["CPUExecutionProvider", "CUDAExecutionProvider"]:
    if provider not in ort.get_available_providers():
        print(f"onnxruntime {provider}: not installed")
        continue
    s = ort.InferenceSession(model, providers=[provider])
    feed = {s.get_inputs()[0].name: x}
    for _ in range(5):
        s.run(None, feed)
    times = []
    for _ in range(50):
        t = time.perf_counter(); s.run(None, feed); times.append(time.perf_counter() - t)
    print(f"onnxruntime {provider}: median {statistics.median(times) * 1e3:.3f} ms")
PY
    note "$m peers: $(tr '\n' ';' < "$OUT/$m.peers.txt")"
  done
else
  note "ResNet-50 / BERT-base: not run (Debian's python3-torch is missing)"
fi

echo
echo "run-on-device summary ($(date -u +%F), $GPU):"
for line in "${summary[@]}"; do echo "  $line"; done
