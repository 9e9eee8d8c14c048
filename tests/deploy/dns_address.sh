#!/usr/bin/env bash
# The DaemonSet's dns-address init container, run as written in deploy/daemonset.yaml inside
# a network namespace of this test's own (unshare -n: loopback only, gone when the test
# ends): the proxy's address is then on the loopback and local (the node delivers pods'
# queries to the proxy instead of routing them away), and a restarted pod running it again
# changes nothing. Exit 77 = skipped (not root), unless
# MOAT_REQUIRE_KERNEL=1.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  [ "${MOAT_REQUIRE_KERNEL:-0}" = 1 ] && { echo "FAIL (MOAT_REQUIRE_KERNEL=1): not root" >&2; exit 1; }
  echo "SKIP: not root" >&2; exit 77
fi
script=$(awk '/- name: dns-address/{f=1} f&&/- \|/{g=1;next} g&&/^ *env:/{exit} g{sub(/^              /,""); print}' \
         "$src/deploy/daemonset.yaml")
address=$(sed -n 's/^ *dns-listen-ip: "\(.*\)"/\1/p' "$src/deploy/agent-config.yaml")
[ -n "$script" ] && [ -n "$address" ] || { echo "FAIL: no dns-address script or dns-listen-ip in deploy/" >&2; exit 1; }

# Run twice (a restarted pod), then report what the namespace holds.
out=$(DNS_LISTEN_IP=$address unshare -n sh -c "
  set -e
  ip link set lo up
  sh -c '$script'
  sh -c '$script'
  echo addresses: \$(ip -o -4 addr show to $address/32 | wc -l)
  ip -o -4 addr show dev lo
  ip route get $address
" 2>&1)
rc=$?
echo "$out"
fails=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1" >&2; fails=$((fails + 1)); fi; }
check "the script runs twice without error" '[ $rc -eq 0 ]'
check "$address/32 on lo, once" 'grep -q "^addresses: 1$" <<<"$out" && grep -q "lo *inet $address/32" <<<"$out"'
check "$address is local to the node" 'grep -q "^local $address dev lo" <<<"$out"'
[ $fails -eq 0 ]
