#!/usr/bin/env bash
# Installs everything Weft needs on a fresh Debian bookworm machine of this
# kind (LLVM/MLIR 22, libonnx, build tools; onnx/onnxruntime/numpy for tests).
# Idempotent: does nothing that is already done.
set -euo pipefail

APT_PACKAGES=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools lld-22
  ninja-build ccache cmake g++ libonnx-dev libprotobuf-dev protobuf-compiler
  libonnx-testdata libgtest-dev clang-22 libclang-rt-22-dev libopenmpi-dev
  openmpi-bin)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

PY=${PYTHON:-python3}
# onnx must be 1.17.0: the second conformance suite is its node cases.
if ! "$PY" -c 'import onnx, onnxruntime, numpy; assert onnx.__version__ == "1.17.0"' >/dev/null 2>&1; then
  echo "setup: installing Python test dependencies"
  "$PY" -m pip install -q onnx==1.17.0 onnxruntime==1.32.0 numpy==2.4.6 2>/dev/null ||
    "$PY" -m pip install -q onnx==1.17.0 onnxruntime "numpy<3"
fi

# cuobjdump (not in the CUDA toolkit of this machine kind) checks that
# weftc --target=cuda embeds its kernels where CUDA's tools find them.
if ! "$PY" -c 'import nvidia, os, sys; sys.exit(not os.path.exists(os.path.join(list(nvidia.__path__)[0], "cu13", "bin", "cuobjdump")))' >/dev/null 2>&1; then
  echo "setup: installing cuobjdump"
  "$PY" -m pip install -q nvidia-cuda-cuobjdump==13.5.37 2>/dev/null ||
    "$PY" -m pip install -q nvidia-cuda-cuobjdump || echo "setup: no cuobjdump; its tests are skipped"
fi
# nvdisasm lets cuobjdump show the machine code (the tensor-core
# instructions of --cuda-tf32 kernels).
if ! "$PY" -c 'import nvidia, os, sys; sys.exit(not os.path.exists(os.path.join(list(nvidia.__path__)[0], "cu13", "bin", "nvdisasm")))' >/dev/null 2>&1; then
  echo "setup: installing nvdisasm"
  "$PY" -m pip install -q nvidia-cuda-nvdisasm==13.5.37 2>/dev/null ||
    "$PY" -m pip install -q nvidia-cuda-nvdisasm || echo "setup: no nvdisasm; its tests are skipped"
fi
