#!/usr/bin/env bash
# Fuzzes the front ends and the DNS wire format with the libFuzzer targets of fuzz/
# (clang-19, ASan + UBSan).
#
#   scripts/fuzz.sh [TARGET...]           fuzz each target for FUZZ_SECONDS (default 60)
#   scripts/fuzz.sh --replay [TARGET...]  run every seed and fuzz/regressions/TARGET/ input once
#
# TARGET is fuzz_moat, fuzz_yaml, fuzz_cases, fuzz_dns or fuzz_inventory (default: all five). The build lives in
# FUZZ_BUILD_DIR (default build-fuzz/), configured with -DMOAT_FUZZ=ON when missing. Seeds are
# assembled in FUZZ_BUILD_DIR/seeds/ from examples/ and tests/ (third-party corpus included)
# and fuzz/dns_seeds/ (DNS messages);
# the growing corpus is FUZZ_BUILD_DIR/corpus/TARGET/, and crashes, timeouts and OOMs are
# written to FUZZ_BUILD_DIR/artifacts/TARGET/. Minimize one with
#   FUZZ_BUILD_DIR/fuzz/TARGET -minimize_crash=1 -runs=10000 ARTIFACT
# then commit the result to fuzz/regressions/TARGET/ with a unit test for the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}

replay=0
if [ "${1:-}" = "--replay" ]; then
  replay=1
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_moat fuzz_yaml fuzz_cases fuzz_dns fuzz_inventory)

max_len() {
  case $1 in
  fuzz_moat) echo 8192 ;;
  fuzz_yaml) echo 16384 ;;
  fuzz_cases) echo 8192 ;;
  fuzz_dns) echo 4096 ;;
  fuzz_inventory) echo 16384 ;;
  esac
}
dict() {
  case $1 in
  fuzz_moat) echo "$ROOT/fuzz/moat.dict" ;;
  fuzz_dns) echo "$ROOT/fuzz/dns.dict" ;;
  *) echo "$ROOT/fuzz/yaml.dict" ;;
  esac
}

# The fuzz build: only moat_ir, moat_grammar, moat_frontend and the targets (a few minutes);
# fuzz_dns compiles runtime/dns's parser and cache in (they need no libbpf).
if [ ! -f "$BUILD/build.ninja" ] && [ -z "${FUZZ_NO_BUILD:-}" ]; then
  bash scripts/setup.sh  # clang-19 and libclang-rt-19-dev (libFuzzer, ASan, UBSan) among them
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DMOAT_FUZZ=ON >/dev/null
fi
# ctest sets FUZZ_NO_BUILD: its replay tests run in parallel and must not race ninja.
[ -n "${FUZZ_NO_BUILD:-}" ] || ninja -C "$BUILD" -j "$(nproc)" "${targets[@]}"

# Seeds: copies named by content hash (deduplicated), rebuilt on every run.
seed_files() {
  case $1 in
  fuzz_moat) find examples tests -type f -name '*.moat' ;;
  fuzz_yaml)
    # tests/ holds the third-party corpus (tests/corpus/third_party).
    find examples tests -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \)
    ;;
  fuzz_cases) find examples tests -type f -name '*cases*.yaml' ;;
  fuzz_dns) find fuzz/dns_seeds -type f ;;
  # Node, Namespace and Pod objects (YAML and kubectl's JSON).
  fuzz_inventory)
    find examples -type f -name '*.pods.yaml'
    find tests/runtime/data -type f \( -name '*.yaml' -o -name '*.json' \)
    ;;
  esac
  return 0
}
assemble_seeds() {
  local t=$1 dir=$BUILD/seeds/$1 limit
  limit=$(( $(max_len "$t") * 4 ))
  rm -rf "$dir"
  mkdir -p "$dir"
  seed_files "$t" | while read -r f; do
    [ "$(stat -c %s "$f")" -le "$limit" ] || continue
    cp "$f" "$dir/$(sha1sum "$f" | cut -c1-16)"
  done
}

status=0
for t in "${targets[@]}"; do
  bin=$BUILD/fuzz/$t
  assemble_seeds "$t"
  regressions=$ROOT/fuzz/regressions/$t
  mkdir -p "$regressions"
  common=(-timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$t")")
  if [ $replay = 1 ]; then
    # Files as arguments: each runs once, no mutation, no corpus written.
    inputs=$(find "$BUILD/seeds/$t" "$regressions" -type f ! -name '.*' | sort)
    n=$(echo "$inputs" | grep -c . || true)
    echo "== $t: replaying $n inputs"
    if ! echo "$inputs" | xargs -r -d '\n' "$bin" "${common[@]}" >"$BUILD/replay-$t.log" 2>&1; then
      tail -40 "$BUILD/replay-$t.log"
      echo "== $t: FAILED (log: $BUILD/replay-$t.log)"
      status=1
    fi
    continue
  fi
  corpus=$BUILD/corpus/$t
  artifacts=$BUILD/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  echo "== $t: fuzzing for ${SECONDS_PER_TARGET}s (log: $BUILD/fuzz-$t.log)"
  if ! "$bin" "${common[@]}" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
    -dict="$(dict "$t")" -artifact_prefix="$artifacts/" "$corpus" "$BUILD/seeds/$t" "$regressions" \
    >"$BUILD/fuzz-$t.log" 2>&1; then
    status=1
  fi
  grep -E '^#[0-9]+.*(DONE|pulse)|^stat::' "$BUILD/fuzz-$t.log" | tail -8 || true
  if ls "$artifacts" | grep -q .; then
    echo "== $t: findings in $artifacts:"
    ls "$artifacts"
    status=1
  fi
done
exit $status
