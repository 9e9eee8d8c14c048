#!/bin/sh
# Datapath benchmark: builds bench_datapath, compiles the hand-written C reference with
# clang-19 -O2 for each rule count, runs both through BPF_PROG_TEST_RUN. Needs root.
#   bench/datapath/run.sh [BUILD_DIR] [extra bench_datapath args, e.g. --repeat 1000000]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
rules=${MOAT_BENCH_RULES:-10,1000,10000,100000}
cmake -S "$root" -B "$build" -G Ninja >/dev/null
ninja -C "$build" bench_datapath >/dev/null
refdir=$(mktemp -d)
trap 'rm -rf "$refdir"' EXIT
for n in $(echo "$rules" | tr ',' ' '); do
  clang-19 -O2 -g -target bpf -I/usr/include/$(gcc -print-multiarch) -DRULE_COUNT="$n" -DRULE_SLOTS="$((n + 9))" \
    -DIPCACHE_PREFIXES=0 -DANY_LOOKUP=0 \
    -c "$here/reference.bpf.c" -o "$refdir/reference-$n.bpf.o"
done
"$build/bench/datapath/bench_datapath" --rules "$rules" --reference-dir "$refdir" "$@"
