#!/usr/bin/env bash
# Fuzzes the ONNX importer and the graph passes with weft-import-fuzzer.
#
#   test/fuzz/run.sh [SECONDS] [extra libFuzzer arguments...]
#
# Configures and builds ${FUZZ_BUILD_DIR:-build-fuzz} when needed (clang-22,
# -DWEFT_ENABLE_FUZZER=ON, Release with line tables; ninja -j${JOBS:-1}),
# writes the seed corpus, then runs the fuzzer for SECONDS (default 60) in
# one process. The corpus grows in build-fuzz/corpus across runs; crash,
# leak, timeout and out-of-memory inputs go to build-fuzz/artifacts/<run>/.
# Prints the number of executions and exits non-zero if the run wrote an
# artifact (or the fuzzer itself failed). To keep going past crashes (each
# one is still saved and fails the run): run.sh 900 -fork=1 -ignore_crashes=1
#
# Reproduce an artifact:  build-fuzz/bin/weft-import-fuzzer FILE
# Minimize a crash:       build-fuzz/bin/weft-import-fuzzer -minimize_crash=1 \
#                           -runs=20000 -exact_artifact_path=small.onnx FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
DURATION=${1:-60}
[ $# -gt 0 ] && shift
case "$DURATION" in
  '' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number, got '$DURATION'" >&2; exit 2 ;;
esac

export PATH=/usr/lib/llvm-22/bin:$PATH
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  CC=clang-22 CXX=clang++-22 cmake -S . -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DWEFT_ENABLE_FUZZER=ON \
    -DPython3_EXECUTABLE="$(command -v python3)"
fi
ninja -C "$BUILD_DIR" -j"${JOBS:-1}" weft-import-fuzzer

FUZZER=$BUILD_DIR/bin/weft-import-fuzzer
CORPUS=$BUILD_DIR/corpus
SEEDS=$BUILD_DIR/seeds
RUN_ID=$(date +%Y%m%d-%H%M%S)
ARTIFACTS=$BUILD_DIR/artifacts/$RUN_ID
LOG=$BUILD_DIR/fuzz-$RUN_ID.log
mkdir -p "$CORPUS" "$SEEDS" "$ARTIFACTS" "$BUILD_DIR/tmp"
python3 test/fuzz/make_seed_corpus.py "$SEEDS"

# The fuzzer's scratch directory (one per process) lives in the build tree.
# Processes that crash, or fork-mode workers that are killed, leave theirs
# behind; one run at a time per build directory, so clear them here.
rm -rf "$BUILD_DIR"/tmp/weft-import-fuzz-* "$BUILD_DIR"/tmp/libFuzzerTemp.*
export TMPDIR=$ROOT/$BUILD_DIR/tmp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "run.sh: fuzzing for $DURATION s; log in $LOG"
set +e
"$FUZZER" -max_total_time="$DURATION" -rss_limit_mb=4096 -timeout=20 \
  -max_len=65536 -dict=test/fuzz/onnx.dict -print_final_stats=1 \
  -artifact_prefix="$ARTIFACTS/" "$@" "$CORPUS" "$SEEDS" > "$LOG" 2>&1
rc=$?
set -e
# The full log has a line per new input; show its end.
tail -n 25 "$LOG"

# One process prints final stats; -fork=N prints "#EXECS: cov: ..." lines.
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$LOG" | tail -1)
corpus_files=$(find "$CORPUS" -type f | wc -l)
mapfile -t found < <(find "$ARTIFACTS" -type f | sort)
echo "run.sh: ${execs:-unknown} executions in $DURATION s (exit $rc); corpus: $corpus_files files"
if [ ${#found[@]} -gt 0 ]; then
  echo "run.sh: FAIL: ${#found[@]} artifact(s):"
  printf '  %s\n' "${found[@]}"
  exit 1
fi
rmdir "$ARTIFACTS" 2>/dev/null || true
if [ "$rc" -ne 0 ]; then
  echo "run.sh: FAIL: the fuzzer exited with status $rc"
  exit "$rc"
fi
echo "run.sh: PASS: no crash, leak, timeout or out-of-memory input"
