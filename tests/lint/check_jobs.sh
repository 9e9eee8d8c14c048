#!/bin/bash
# `moat check` prints the same bytes with one thread and with four (MOAT_JOBS): the lints
# that run in parallel (W503 over the inventory, W504, the inventory classes) merge their
# findings in report order. Run on a generated many-namespace input with findings of each
# kind, with and without the inventory, in every output format that lists them.
#   check_jobs.sh MOAT SOURCE_DIR
set -u
moat=$1
src=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 "$src/tests/lint/gen_findings.py" "$dir/in" 300 || exit 1
fail=0
for inv in "--inventory $dir/in/inventory" ""; do
  for fmt in text json sarif; do
    for jobs in 1 4; do
      # shellcheck disable=SC2086
      MOAT_JOBS=$jobs "$moat" check "$dir/in/policies" "$dir/in/proof.moat" $inv --format $fmt \
        >"$dir/out.$jobs" 2>"$dir/err.$jobs"
      echo $? >>"$dir/err.$jobs"
    done
    if ! cmp -s "$dir/out.1" "$dir/out.4" || ! cmp -s "$dir/err.1" "$dir/err.4"; then
      echo "check_jobs: MOAT_JOBS=1 and 4 differ (${inv:-no inventory}, $fmt)"
      diff "$dir/out.1" "$dir/out.4" | head -20
      diff "$dir/err.1" "$dir/err.4" | head -20
      fail=1
    fi
    # The comparison means something only when there are findings of each parallel lint.
    if [ "$fmt" = text ]; then
      for code in W503 W504 W502; do
        [ -n "$inv" ] || [ "$code" != W503 ] || continue  # without inventory no selector is empty
        n=$(grep -c "warning\[$code\]" "$dir/err.1")
        if [ "$n" -lt 10 ]; then
          echo "check_jobs: only $n $code finding(s) (${inv:-no inventory}): the input no longer exercises it"
          fail=1
        fi
      done
    fi
  done
done
[ $fail = 0 ] && echo "check_jobs: identical with MOAT_JOBS=1 and 4"
exit $fail
