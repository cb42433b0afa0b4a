#!/usr/bin/env bash
# Sanitizer checks of the runtime side, in build directories of their own
# (clang-22, libclang-rt-22-dev):
#
#   1. ${SAN_BUILD_DIR:-build-san}, WEFT_SANITIZE=address (ASan + UBSan on
#      libweft_runtime, weft-run and the runtime GoogleTests; weftc is built
#      there too, uninstrumented): the runtime GoogleTests, then the MLP, the
#      CNN and the depthwise model of test/models/make_models.py compiled
#      with that weftc (--emit=lib --sanitize=address: the generated kernels
#      are instrumented too) and run by the sanitized weft-run at 1 and 2
#      threads against onnxruntime's outputs (test/e2e/check_models.py).
#   2. ${TSAN_BUILD_DIR:-build-tsan}, WEFT_SANITIZE=thread: the thread pool,
#      device group and model tests (cpu_device_test.cpp,
#      device_group_test.cpp, model_test.cpp, group_model_test.cpp) under
#      TSan, and
#      the MLP and CNN compiled with --sanitize=thread on 2 threads.
#
# weft-run is instrumented, so the sanitizer runtimes are in the process
# before it dlopens a model library, whose instrumented code binds to them;
# no LD_PRELOAD is needed. Every report goes to a log file as well as failing
# its step, so a report that does not change an exit status still fails
# the run. Prints one summary line; exits non-zero on any failure or report.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SAN_DIR=${SAN_BUILD_DIR:-build-san}
TSAN_DIR=${TSAN_BUILD_DIR:-build-tsan}
JOBS=${JOBS:-2}
export PATH=/usr/lib/llvm-22/bin:$PATH
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}
start=$(date +%s)

configure() { # DIR KIND
  if [ ! -f "$1/build.ninja" ]; then
    CC=clang-22 CXX=clang++-22 cmake -S . -B "$1" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DWEFT_SANITIZE="$2" \
      -DPython3_EXECUTABLE="$(command -v python3)" >/dev/null
  fi
}

LOGS=$ROOT/$SAN_DIR/sanitizer-logs
steps=()
failed=0
step() { # NAME COMMAND...
  local name=$1 t0=$SECONDS
  shift
  echo "sanitize: == $name"
  if "$@"; then
    steps+=("$name: ok ($((SECONDS - t0)) s)")
  else
    steps+=("$name: FAILED (exit $?)")
    failed=1
  fi
}

# --- ASan + UBSan -----------------------------------------------------------
configure "$SAN_DIR" address
ninja -C "$SAN_DIR" -j"$JOBS" weft-runtime-tests weft-run weftc
rm -rf "$LOGS"
mkdir -p "$LOGS"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1:log_path=$LOGS/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/ubsan"
step "runtime tests (ASan+UBSan)" "$SAN_DIR/bin/weft-runtime-tests" --gtest_brief=1
step "e2e mlp+cnn+dwconv (ASan+UBSan, instrumented kernels)" python3 test/e2e/check_models.py \
  --weftc "$SAN_DIR/bin/weftc" --weftc-arg=--sanitize=address \
  --weft-run "$SAN_DIR/bin/weft-run" \
  --workdir "$SAN_DIR/e2e" --models mlp,cnn,dwconv --threads 1,2
unset ASAN_OPTIONS UBSAN_OPTIONS

# --- TSan -------------------------------------------------------------------
configure "$TSAN_DIR" thread
ninja -C "$TSAN_DIR" -j"$JOBS" weft-runtime-tests weft-run
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$LOGS/tsan"
step "thread pool + model tests (TSan)" "$TSAN_DIR/bin/weft-runtime-tests" \
  --gtest_brief=1 --gtest_filter='CpuDevice.*:CpuDeviceStress.*:AddFixture.*:Model.*:DeviceGroup.*:Collectives.*:PointToPoint.*:GroupModel.*:PipelineModel.*:Split.*'
step "e2e mlp+cnn (TSan, instrumented kernels, 2 threads)" python3 test/e2e/check_models.py \
  --weftc "$SAN_DIR/bin/weftc" --weftc-arg=--sanitize=thread \
  --weft-run "$TSAN_DIR/bin/weft-run" \
  --workdir "$TSAN_DIR/e2e" --models mlp,cnn --threads 2
unset TSAN_OPTIONS

# --- Summary ----------------------------------------------------------------
mapfile -t reports < <(find "$LOGS" -type f | sort)
for r in "${reports[@]}"; do
  echo "sanitize: ---- report $r"
  cat "$r"
done
[ ${#reports[@]} -gt 0 ] && failed=1
printf 'sanitize:   %s\n' "${steps[@]}"
elapsed=$(( $(date +%s) - start ))
if [ "$failed" -ne 0 ]; then
  echo "sanitize: FAIL (${#reports[@]} sanitizer report(s) in $LOGS; ${elapsed} s)"
  exit 1
fi
echo "sanitize: PASS (ASan+UBSan runtime tests and e2e, TSan thread pool and e2e; no reports; ${elapsed} s)"
