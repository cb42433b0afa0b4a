#!/usr/bin/env bash
# Configures and builds Weft into ${BUILD_DIR:-build} (Ninja, ccache, lld).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export PATH=/usr/lib/llvm-22/bin:$PATH
# Relative paths in the cache key let fresh clones reuse earlier builds.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$(command -v python3)"
fi
ninja -C "$BUILD_DIR" -j"${JOBS:-2}"
