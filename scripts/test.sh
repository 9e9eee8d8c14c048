#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test with ctest.
# Kernel tests need root and bpf(); with MOAT_REQUIRE_KERNEL=1 they fail instead of skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
