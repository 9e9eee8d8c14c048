#!/bin/bash
# `moat check` prints the same bytes with one thread and with four (MOAT_JOBS): the lints
# that run in parallel (W503 over the inventory, W504, the inventory classes) merge their
# findings in report order, and the inventory parsed beside the policies adds its
# diagnostics after theirs. Run on a generated many-namespace input with findings of each
# kind, with and without the inventory, in every output format that lists them; then on
# broken inputs (a policy error, an inventory error, both), and `moat diff` of two versions
# with an inventory.
#   check_jobs.sh MOAT SOURCE_DIR
set -u
moat=$1
src=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 "$src/tests/lint/gen_findings.py" "$dir/in" 300 || exit 1
fail=0
# same_output NAME ARGS...: moat ARGS prints the same bytes and exit code with 1 and 4 jobs.
same_output() {
  local name=$1
  shift
  for jobs in 1 4; do
    MOAT_JOBS=$jobs "$moat" "$@" >"$dir/out.$jobs" 2>"$dir/err.$jobs"
    echo $? >>"$dir/err.$jobs"
  done
  if ! cmp -s "$dir/out.1" "$dir/out.4" || ! cmp -s "$dir/err.1" "$dir/err.4"; then
    echo "check_jobs: MOAT_JOBS=1 and 4 differ ($name)"
    diff "$dir/out.1" "$dir/out.4" | head -20
    diff "$dir/err.1" "$dir/err.4" | head -20
    fail=1
  fi
}
# expect NAME PATTERN: the last output (err.1) has PATTERN (grep -E).
expect() {
  grep -qE "$2" "$dir/err.1" || { echo "check_jobs: $1: no match for '$2' in:"; head -20 "$dir/err.1"; fail=1; }
}
expect_not() {
  ! grep -qE "$2" "$dir/err.1" || { echo "check_jobs: $1: unexpected '$2' in:"; head -20 "$dir/err.1"; fail=1; }
}

for inv in "--inventory $dir/in/inventory" ""; do
  for fmt in text json sarif; do
    # shellcheck disable=SC2086
    same_output "${inv:-no inventory}, $fmt" check "$dir/in/policies" "$dir/in/proof.moat" $inv --format $fmt
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
# Broken inputs: a policy file with an error, an inventory file that is not YAML.
mkdir -p "$dir/bad/policies" "$dir/bad/inventory"
cp -r "$dir/in/policies/." "$dir/bad/policies/"
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: broken, namespace: ns0}\nspec: [\n' \
  >"$dir/bad/policies/zz-broken.yaml"
cp -r "$dir/in/inventory/." "$dir/bad/inventory/"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns0\n' >"$dir/bad/inventory/zz-broken.yaml"
same_output "policy error, good inventory" check "$dir/bad/policies" --inventory "$dir/in/inventory"
expect "policy error" "zz-broken.yaml:[0-9]+:[0-9]+: error\[E201\]"
same_output "good policies, inventory error" check "$dir/in/policies" --inventory "$dir/bad/inventory"
expect "inventory error" "inventory/zz-broken.yaml:[0-9]+:[0-9]+: error\[E201\]"
# As a serial run: the inventory is not read for policies with errors, so says nothing.
same_output "policy and inventory errors" check "$dir/bad/policies" --inventory "$dir/bad/inventory"
expect "both broken" "policies/zz-broken.yaml:[0-9]+:[0-9]+: error\[E201\]"
expect_not "both broken" "inventory/zz-broken.yaml"

# moat diff: the old and new versions (one policy added) and the inventory.
mkdir -p "$dir/new"
cp -r "$dir/in/policies/." "$dir/new/"
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns1}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n' \
  >"$dir/new/zz-deny.yaml"
for fmt in md json; do  # (the text summary line ends in the run time)
  same_output "diff --format $fmt" diff "$dir/in/policies" "$dir/new" --inventory "$dir/in/inventory" --format $fmt
  expect "diff --format $fmt" "^1$"  # the exit code: the versions differ
done
same_output "diff, broken new version" diff "$dir/in/policies" "$dir/bad/policies" --inventory "$dir/bad/inventory"
expect "diff, broken new version" "zz-broken.yaml:[0-9]+:[0-9]+: error\[E201\]"

[ $fail = 0 ] && echo "check_jobs: identical with MOAT_JOBS=1 and 4"
exit $fail
