#!/bin/sh
# Compile benchmark: sources -> bundle with the real `moat build`, wall time and peak RSS.
#   bench/compile/run.sh [BUILD_DIR] [extra bench_compile args, e.g. --rules 10000,100000]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
cmake -S "$root" -B "$build" -G Ninja >/dev/null
ninja -C "$build" moat bench_compile >/dev/null
"$build/bench/compile/bench_compile" --moat "$build/moat" "$@"
