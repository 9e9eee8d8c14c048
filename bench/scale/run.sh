#!/bin/bash
# Cluster-scale benchmark (docs/BENCHMARKS.md, "Cluster scale"): generates Antrea's scale-test
# shapes as Kubernetes YAML (gen.py) and runs the real commands on each — `moat check` with
# the inventory and an isolation proof, `moat diff` against a version with one policy
# changed, `moat build`, and one node's map contents as the agent computes them
# (bench_node_maps, node-7 of 1,000) — each under /usr/bin/time with a time limit.
# Prints a markdown table: wall seconds, CPU seconds (user + system: the comparable number on
# a shared machine), peak RSS, exit code ("timeout" past the limit).
#
#   bench/scale/run.sh [--build DIR] [--scale F] [--timeout S] [--work DIR] [--anp] [SHAPE...]
#
# SHAPE: xlarge large-ns one-ns per-pod cluster (default: all). --scale multiplies the
# counts (default 1: the full shapes); --timeout is per command (default 600 s); --work
# holds the generated inputs and logs (default a fresh directory under /tmp, kept); --anp adds
# an AdminNetworkPolicy per namespace and a BaselineAdminNetworkPolicy (gen.py --anp).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
scale=1
limit=600
work=
anp=()
shapes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --anp) anp=(--anp); shift ;;
    -h|--help) sed -n '2,15p' "$0" | cut -c3-; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) shapes+=("$1"); shift ;;
  esac
done
[ ${#shapes[@]} -eq 0 ] && shapes=(xlarge large-ns one-ns per-pod cluster)
[ -n "$work" ] || work=$(mktemp -d /tmp/moat-scale.XXXXXX)
mkdir -p "$work"

cmake -S "$root" -B "$build" -G Ninja >/dev/null || exit 3
ninja -C "$build" moat bench_node_maps >/dev/null || exit 3
moat=$build/moat
node_maps=$build/bench/scale/bench_node_maps

rows=()
notes=()
# run NAME SHAPE COMMAND...: one timed command; its output goes to WORK/SHAPE/NAME.log.
run() {
  local name=$1 shape=$2
  shift 2
  local log=$work/$shape/$name.log times=$work/$shape/$name.time
  echo "run.sh: $shape: $name ..." >&2
  # timeout inside time: the command's peak RSS is what time reports (the largest of the
  # process tree it waited for), and a command past the limit is killed, not left running.
  /usr/bin/time -o "$times" -f "%e %M %x %U %S" timeout "$limit" "$@" >"$log" 2>&1
  local wall rss code user sys
  read -r wall rss code user sys < <(tail -n 1 "$times")
  local status=$code
  [ "$code" = 124 ] && status="timeout (${limit} s)"
  rows+=("| $shape | $name | $wall | $(awk "BEGIN { print $user + $sys }") | $((rss / 1024)) | $status |")
  return "$code"
}

for shape in "${shapes[@]}"; do
  dir=$work/$shape
  rm -rf "$dir"
  mkdir -p "$dir"
  if ! python3 "$here/gen.py" "$shape" "$dir" --scale "$scale" "${anp[@]}" 2>"$dir/gen.log"; then
    cat "$dir/gen.log" >&2
    exit 2
  fi
  notes+=("- $(cat "$dir/gen.log")")
  run check "$shape" "$moat" check "$dir/policies" "$dir/proof.moat" --inventory "$dir/inventory"
  run diff "$shape" "$moat" diff "$dir/policies" "$dir/changed"
  if run build "$shape" "$moat" build "$dir/policies" -o "$dir/bundle" --timings; then
    notes+=("  - build: $(grep -h '^moat build: \(load\|compile\|write\)' "$dir/build.log" | sed 's/^moat build: //' | paste -sd, -)")
    if run node-maps "$shape" "$node_maps" "$dir/bundle" "$dir/node-7.yaml" "$dir/inventory"; then
      notes+=("  - node-maps: $(paste -sd';' "$dir/node-maps.log")")
    fi
  fi
done

echo "moat cluster-scale benchmark: scale $scale, limit $limit s per command, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), inputs and logs in $work"
echo
echo "| shape | command | wall s | cpu s | peak RSS MiB | exit |"
echo "|---|---|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
echo
printf '%s\n' "${notes[@]}"
