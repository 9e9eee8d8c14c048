#!/bin/sh
# The differential at scale: builds bench_differential and runs it (default 100,000 pairs
# through the interpreter, Z3 and the kernel; needs root for the kernel engine).
#   bench/differential/run.sh [BUILD_DIR] [bench_differential args, e.g. --pairs 200000 --seed 7]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
cmake -S "$root" -B "$build" -G Ninja >/dev/null
ninja -C "$build" bench_differential >/dev/null
exec "$build/bench/differential/bench_differential" "$@"
