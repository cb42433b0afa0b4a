#!/usr/bin/env bash
# Weft's CUDA checks that need a GPU, in two steps, because a GPU machine
# need not have Weft's toolchain (LLVM/MLIR 22):
#
#   test/cuda/run-on-device.sh prepare [DIR]   (here: builds what is
#       missing, compiles with --target=cuda every ONNX node case not in
#       test/conformance/cuda.xfail and the models below, with their data,
#       into DIR/bundle.tar.xz (default DIR: .device, which git ignores);
#       about 51 MB, small enough to copy to the GPU machine)
#   test/cuda/run-on-device.sh run [DIR]       (on the GPU machine, with the
#       checkout and DIR copied there; it needs
#       Python 3 with numpy; torch for the GPU reference timings; runs the
#       bundle on GPU 0 through libweft_runtime's C API (ctypes), compares
#       every output with onnxruntime's (the node cases' own outputs; the
#       models' from onnxruntime on the CPU, within 1e-3 relative), times
#       the models, times the same architectures in PyTorch on the GPU
#       (eager and torch.compile, f32 with TF32 off) when torch is there,
#       and prints one summary. Each pass has a time limit (a hung kernel
#       costs that pass, not the run); a fault that leaves the GPU's
#       context unusable fails its entry and resets the context; NCCL is
#       taken from PyTorch's wheels where the loader does not find it)
#
# Models: the test MLP, CNN and encoder block, the 4-layer transformer
# encoder and MobileNetV2 of bench/export_models.py (exported with Debian's
# python3-torch); the batch-8 MLP for two GPUs (tensor parallel, NCCL),
# which `run` skips on a machine with one GPU, where a one-GPU NCCL group
# checks the collectives instead; the encoder block again with
# --cuda-tf32 (TF32 tensor cores; compared within 1e-2 relative, 5e-3
# absolute). ResNet-50 (102 MB of weights), the
# BERT-base-sized encoder (124 MB) and the test bottleneck (1x1 and 3x3
# convolutions as matmuls in shared-memory blocks; 12 MB with its data),
# each also with --cuda-tf32 (compared within 2e-2 relative, 5e-2
# absolute: ResNet-50's logits, up to 1.8, move by up to 3.8e-2 under TF32
# rounding on the CPU), ResNet-50 and BERT-base with --cuda-3xtf32
# (compared as f32; these big f32 models within 1e-3 relative and 1e-4
# absolute, as ResNet-50's logits near zero differ from onnxruntime's by
# up to 4.6e-5 in f32 summation order alone under cuda-on-cpu), and the f16 and bf16 MatMuls and f16 convolution of
# test/e2e/check_half.py (tensor cores through WMMA and through ldmatrix
# and mma.sync; compared within 2e-2 relative, 5e-2 absolute, about two
# bf16 steps), the bottleneck compiled for sm_75 too (its blocks copy
# through registers rather than with cp.async: timed against the default
# build), and the encoder block for two GPUs and with --cuda-3xtf32
# (split TF32 products, compared as f32; 13 MB each), are left out to keep
# the bundle under 64 MiB;
# `prepare` with WEFT_BIG=1 also
# writes them to DIR/big.tar split into 60 MiB parts (big.tar.part-aa, ...)
# for a machine that keeps files between calls, and `run` uses them when
# they are there.
set -uo pipefail
MODE=${1:-}
DIR=${2:-.device}
# DIR as the caller named it, then from the checkout's root.
case "$DIR" in /*) ;; *) [ -n "${2:-}" ] && DIR=$(pwd)/$DIR ;; esac
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

# onnxruntime's CPU outputs (output_0.pb) for exported models ROOT/NAME.onnx.
reference_outputs() {
  python3 - "$@" <<'PY'
import os, sys
import onnx, onnxruntime as ort
from onnx import numpy_helper
root = sys.argv[1]
for m in sys.argv[2:]:
    data = os.path.join(root, f"{m}_data", "test_data_set_0")
    x = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, "input_0.pb")))
    s = ort.InferenceSession(os.path.join(root, f"{m}.onnx"), providers=["CPUExecutionProvider"])
    y = s.run(None, {s.get_inputs()[0].name: x})[0]
    with open(os.path.join(data, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y).SerializeToString())
PY
}

prepare() {
  BUILD=${BUILD_DIR:-build}
  [ -x "$BUILD/bin/weftc" ] || bash .ci/build.sh || exit 2
  local work=$DIR/work
  mkdir -p "$work"
  python3 test/models/make_models.py "$work/models" --models mlp,cnn,encoder,mlp_batch,bottleneck \
    > /dev/null || exit 2
  /usr/bin/python3 bench/export_models.py "$work/real" --models transformer,mobilenet_v2 \
    || exit 2
  reference_outputs "$work/real" transformer mobilenet_v2 || exit 2
  local models=()
  for m in mlp cnn encoder; do
    models+=(--model "$m=$work/models/$m.onnx:$work/models/${m}_data/test_data_set_0")
  done
  for m in transformer mobilenet_v2; do
    models+=(--model "$m=$work/real/$m.onnx:$work/real/${m}_data/test_data_set_0")
  done
  # Two GPUs joined by NCCL (skipped by run on a machine with one): the
  # MLP tensor-parallel (the encoder block too, in the big bundle).
  models+=(--split-model "mlp_tp2=$work/models/mlp_batch.onnx:$work/models/mlp_batch_data/test_data_set_0")
  # The encoder block with --cuda-tf32 (its matmuls on tensor cores),
  # compared within TF32's tolerance (with --cuda-3xtf32 in the big bundle).
  models+=(--tf32-model "encoder_tf32=$work/models/encoder.onnx:$work/models/encoder_data/test_data_set_0")
  # The host code for any x86-64 with AVX2 (the GPU machine's CPU is not
  # this one).
  python3 test/cuda/make_bundle.py --weftc "$BUILD/bin/weftc" \
    --runtime "$BUILD/lib/libweft_runtime.so" --out "$DIR/bundle" \
    --xfail test/conformance/cuda.xfail --weftc-arg=--target=cuda \
    --weftc-arg=--cpu=x86-64-v3 "${models[@]}" \
    --split-arg=--devices=cuda:0,cuda:1 --split-arg=--parallel=tensor || exit 2
  tar -C "$DIR" -cJf "$DIR/bundle.tar.xz" bundle || exit 2
  if [ "${WEFT_BIG:-0}" = 1 ]; then
    /usr/bin/python3 bench/export_models.py "$work/real" --models resnet50 || exit 2
    python3 test/e2e/check_exported_models.py --weftc "$BUILD/bin/weftc" \
      --weft-run "$BUILD/bin/weft-run" --workdir "$work/bert" --models bert_base --threads 1 \
      --weftc-arg=--target=cuda-on-cpu --rtol 1e-3 --atol 1e-5 || exit 2
    reference_outputs "$work/real" resnet50 || exit 2
    # f16 and bf16 tensor cores (WMMA; ldmatrix and mma.sync): the f16
    # MatMul and 3x3 convolution and the bf16 MatMuls of check_half.py,
    # whose fragment layouts only a GPU checks.
    python3 test/e2e/check_half.py --weftc "$BUILD/bin/weftc" --weft-run "$BUILD/bin/weft-run" \
      --workdir "$work/half" --target cuda-on-cpu > /dev/null || exit 2
    local half=()
    for m in matmul_f16 conv_blocks_f16 matmul_bf16 bias_relu_bf16; do
      half+=(--half-model "$m=$work/half/$m.onnx:$work/half/${m}_data")
    done
    python3 test/cuda/make_bundle.py --weftc "$BUILD/bin/weftc" \
      --runtime "$BUILD/lib/libweft_runtime.so" --out "$DIR/big" --no-cases \
      --weftc-arg=--target=cuda --weftc-arg=--cpu=x86-64-v3 \
      --model "resnet50=$work/real/resnet50.onnx:$work/real/resnet50_data/test_data_set_0" \
      --model "bert_base=$work/bert/bert_base.onnx:$work/bert/bert_base_data/test_data_set_0" \
      --tf32-model "bert_base_tf32=$work/bert/bert_base.onnx:$work/bert/bert_base_data/test_data_set_0" \
      --tf32-model "resnet50_tf32=$work/real/resnet50.onnx:$work/real/resnet50_data/test_data_set_0" \
      --tf32x3-model "bert_base_3xtf32=$work/bert/bert_base.onnx:$work/bert/bert_base_data/test_data_set_0" \
      --tf32x3-model "resnet50_3xtf32=$work/real/resnet50.onnx:$work/real/resnet50_data/test_data_set_0" \
      --model "bottleneck=$work/models/bottleneck.onnx:$work/models/bottleneck_data/test_data_set_0" \
      --tf32-model "bottleneck_tf32=$work/models/bottleneck.onnx:$work/models/bottleneck_data/test_data_set_0" \
      --sm75-model "bottleneck_sm75=$work/models/bottleneck.onnx:$work/models/bottleneck_data/test_data_set_0" \
      --split-model "encoder_tp2=$work/models/encoder.onnx:$work/models/encoder_data/test_data_set_0" \
      --split-arg=--devices=cuda:0,cuda:1 --split-arg=--parallel=tensor \
      --tf32x3-model "encoder_3xtf32=$work/models/encoder.onnx:$work/models/encoder_data/test_data_set_0" \
      --tf32-rtol 2e-2 --tf32-atol 5e-2 --model-atol 1e-4 "${half[@]}" || exit 2
    tar -C "$DIR" -cf - big | split -b 60M - "$DIR/big.tar.part-" || exit 2
  fi
  rm -rf "$work" "$DIR/bundle" "$DIR/big"
  ls -la "$DIR"
}

# Writes to $1 the timing of PyTorch on the GPU, the same architectures
# and input shapes as the bundle's models named on its command line
# (weights random: latency does not depend on them), in f32 (TF32 off, as
# Weft's default builds; its TF32 builds are labelled apart).
torch_reference() {
  cat > "$1" <<'PY'
import statistics, sys, time
import torch, torchvision
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
def bench(fn, x, runs=50):
    with torch.no_grad():
        for _ in range(5):
            fn(x)
        torch.cuda.synchronize()
        times = []
        for _ in range(runs):
            start = torch.cuda.Event(enable_timing=True); end = torch.cuda.Event(enable_timing=True)
            start.record(); fn(x); end.record(); torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
    return statistics.median(times)
def build(name):
    if name in ("mobilenet_v2", "resnet50"):
        return getattr(torchvision.models, name)(weights=None).eval(), torch.randn(1, 3, 224, 224)
    if name == "transformer":
        layer = torch.nn.TransformerEncoderLayer(256, 4, 1024, batch_first=True)
        return torch.nn.TransformerEncoder(layer, 4).eval(), torch.randn(1, 128, 256)
    return None, None
for name in sys.argv[1:]:
    model, x = build(name)
    if model is None:
        continue
    model, x = model.cuda(), x.cuda()
    eager = bench(model, x)
    try:
        compiled = bench(torch.compile(model), x)
        text = f"torch.compile {compiled:.3f} ms"
    except Exception as e:  # a compile failure is reported, not fatal
        text = f"torch.compile failed ({type(e).__name__})"
    print(f"{name}: torch eager {eager:.3f} ms, {text} (f32, TF32 off; GPU time by CUDA "
          f"events, no copies)")
PY
}

# Python's tarfile (the GPU machine need not have xz), extracting plain
# files only where this Python can filter.
extract() {
  python3 - "$1" "$2" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    if hasattr(tarfile, "data_filter"):
        t.extractall(sys.argv[2], filter="data")
    else:
        t.extractall(sys.argv[2])
PY
}

# Runs "$@" (a pass of the bundle) within `limit` seconds, its output (its
# progress on stderr too) into `file` and the terminal, then its exit status.
pass_of() {
  local limit=$1 file=$2
  shift 2
  timeout -k 5 "$limit" "$@" 2>&1 | tee "$file"
  local status=${PIPESTATUS[0]} why=""
  [ "$status" = 124 ] || [ "$status" = 137 ] && why=" (stopped at its limit of ${limit} s)"
  echo "exit status $status$why: $*" | tee -a "$file"
}

run() {
  command -v nvidia-smi >/dev/null && nvidia-smi -L || { echo "run-on-device: no GPU" >&2; exit 2; }
  GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
  extract "$DIR/bundle.tar.xz" "$DIR" || exit 2
  local out=${OUT:-$DIR/out}
  mkdir -p "$out"
  # NCCL as PyTorch's wheels install it (not on the loader's path).
  local nccl
  nccl=$(python3 -c 'import os, nvidia.nccl as n; print(os.path.join(list(n.__path__)[0], "lib"))' \
    2>/dev/null) && [ -d "$nccl" ] && export LD_LIBRARY_PATH=$nccl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  pass_of 300 "$out/bundle.txt" python3 -u test/cuda/run_bundle.py "$DIR/bundle" --device cuda \
    --report "$out/bundle.json"
  # The models again, each kernel launched on its own instead of replayed
  # from a CUDA graph: what the graphs save.
  pass_of 120 "$out/nographs.txt" env WEFT_CUDA_GRAPHS=0 python3 -u test/cuda/run_bundle.py \
    "$DIR/bundle" --device cuda --only-models --label " [WEFT_CUDA_GRAPHS=0]"
  local references=(transformer mobilenet_v2)
  if ls "$DIR"/big.tar.part-* >/dev/null 2>&1; then
    references+=(resnet50)
    cat "$DIR"/big.tar.part-* > "$DIR/big.tar" && extract "$DIR/big.tar" "$DIR" &&
      pass_of 240 "$out/big.txt" python3 -u test/cuda/run_bundle.py "$DIR/big" --device cuda \
        --report "$out/big.json"
  fi
  if python3 -c 'import torch, torchvision; assert torch.cuda.is_available()' 2>/dev/null; then
    torch_reference "$out/torch_reference.py"
    pass_of 240 "$out/torch.txt" python3 -u "$out/torch_reference.py" "${references[@]}"
  else
    echo "reference: torch not available (no GPU timings to compare with)" | tee "$out/torch.txt"
  fi
  echo
  echo "run-on-device summary ($(date -u +%F), $GPU):"
  grep -h -E '^(bundle:|FAIL|SKIP|RESET|nccl:|device memory views:|run_bundle: (cannot|the GPU)|Traceback|exit status [1-9]|[a-z_0-9]+: (median|torch))' \
    "$out"/*.txt | sed 's/^/  /'
}

case "$MODE" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run [DIR]" >&2; exit 2 ;;
esac
