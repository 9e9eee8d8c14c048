#!/usr/bin/env bash
# FQDN peers end to end: dnsmasq in a "kube-dns" pod answers test names with test
# addresses; the agent's node-local DNS proxy holds each answer until the addresses are in
# the ipcache, so the FIRST connection right after the lookup succeeds (IPv4 and IPv6).
# Names the policy does not select, ports it does not allow, and answers that bypass the
# proxy stay denied; learned names expire. Then the same race is measured without the hold
# (the in-kernel-snooping model) and both success rates are printed.
#   agent_fqdn.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
nt_init "$1" "$2"
DNSMASQ="$(command -v dnsmasq || echo /usr/sbin/dnsmasq)"
[ -x "$DNSMASQ" ] || nt_skip_or_fail "dnsmasq not installed (package dnsmasq-base)"

nt_pod a 1     # front/client, the workload under policy
nt_pod k 9     # kube-system/coredns: dnsmasq
nt_pod x 7     # "internet" servers (not cluster pods): api.example.test and n*.svc.example.test
nt_pod y 8     # other.test
N_RACE=25
# x stands for the internet: many addresses behind one link, each with its host route on the node.
for i in $(seq 11 $((10 + 2 * N_RACE))); do
  ip -n "${NT_PREFIX}-x" addr add "10.199.7.$i/32" dev eth0 noprefixroute
  ip -n "$NT_NODE" route add "10.199.7.$i/32" dev h-x scope link
done
nt_node_addr 169.254.20.10/32
nt_node_addr fd00:199:ff::53/128

ADDRS=(--address=/api.example.test/10.199.7.2 --address=/api.example.test/fd00:199:7::2
       --address=/other.test/10.199.8.2)
for i in $(seq 1 $((2 * N_RACE))); do ADDRS+=("--address=/n$i.svc.example.test/10.199.7.$((10 + i))"); done
nt_bg k "$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
  --listen-address=10.199.9.2 --port=53 --local-ttl=1 --user=root --pid-file= --log-facility=- "${ADDRS[@]}" \
  2>"$NT_TMP/dnsmasq.log"
nt_serve x
nt_serve y

mkdir -p "$NT_TMP/policy"
cat > "$NT_TMP/policy/fqdn.yaml" <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-fqdn, namespace: front}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
    - toEndpoints:
        - matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}
      toPorts:
        - ports: [{port: "53", protocol: ANY}]
          rules: {dns: [{matchPattern: "*"}]}
    - toFQDNs: [{matchName: api.example.test}, {matchPattern: "*.svc.example.test"}]
      toPorts:
        - ports: [{port: "80", protocol: TCP}]
EOF
"$NT_MOAT" build -o "$NT_TMP/bundle" "$NT_TMP/policy" || { nt_log "moat build failed"; exit 1; }
cat > "$NT_TMP/node.yaml" <<'EOF'
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 10.199.1.1}, {type: InternalIP, address: 10.199.9.1}]}
EOF
cat > "$NT_TMP/inventory.yaml" <<'EOF'
kind: List
items:
  - {kind: Namespace, metadata: {name: front}}
  - {kind: Namespace, metadata: {name: kube-system}}
  - kind: Pod
    metadata: {name: a, namespace: front, labels: {app: client}}
    spec: {nodeName: node-1}
    status: {podIPs: [{ip: 10.199.1.2}, {ip: "fd00:199:1::2"}]}
  - kind: Pod
    metadata: {name: coredns-0, namespace: kube-system, labels: {k8s-app: kube-dns}}
    spec: {nodeName: node-1}
    status: {podIPs: [{ip: 10.199.9.2}, {ip: "fd00:199:9::2"}]}
EOF

wait_ready() {
  local n=0
  until [ "$(status_field ready)" = "true" ] && [ "$(status_field running)" = "true" ]; do
    n=$((n + 1)); [ $n -lt 150 ] || { nt_log "agent not ready"; return 1; }
    sleep 0.1
  done
}
start_agent() {  # start_agent [EXTRA ARGS]
  nsenter --net="/run/netns/$NT_NODE" "$NT_MOAT" agent --bundle "$NT_TMP/bundle" --node "$NT_TMP/node.yaml" \
    --inventory "$NT_TMP/inventory.yaml" --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --poll-ms 100 \
    --dns-listen 169.254.20.10:53 --dns-listen "[fd00:199:ff::53]:53" --dns-upstream 10.199.9.2:53 \
    --fqdn-min-ttl 2 "$@" 2>>"$NT_TMP/agent.log" &
  AGENT_PID=$!
  NT_PIDS+=("$AGENT_PID")
  wait_ready
}
start_agent

nt_expect deny a tcp 10.199.7.2 80 "before any lookup: api.example.test's address is world"
nt_check "first connection after an A lookup through the proxy" \
  nt_exec a "$NT_PROBE" dns-connect 169.254.20.10 api.example.test A 80
nt_check "first connection after an AAAA lookup (IPv6, proxy on IPv6)" \
  nt_exec a "$NT_PROBE" dns-connect fd00:199:ff::53 api.example.test AAAA 80
nt_expect deny a tcp 10.199.7.2 8080 "learned address, port not allowed"
nt_check "name the policy does not select stays denied" \
  sh -c "! ip netns exec ${NT_PREFIX}-a '$NT_PROBE' dns-connect 169.254.20.10 other.test A 80"
nt_check "an answer that bypasses the proxy teaches nothing (fail closed)" \
  sh -c "! ip netns exec ${NT_PREFIX}-a '$NT_PROBE' dns-connect 10.199.9.2 n$((2 * N_RACE)).svc.example.test A 80"

# Expiry: TTL 1 s, floor 2 s; the agent drops the address after that.
sleep 3.5
nt_expect deny a tcp 10.199.7.2 80 "learned address expired"

# The race, with the hold: N distinct names, each looked up and connected to at once.
ok=0
for i in $(seq 1 $N_RACE); do
  nt_exec a "$NT_PROBE" dns-connect 169.254.20.10 "n$i.svc.example.test" A 80 --timeout-ms 900 >/dev/null 2>&1 && ok=$((ok + 1))
done
HOLD_MS="$(status_field hold_ms_avg)"
nt_log "hold mode: $ok/$N_RACE first connections succeeded (answers held $HOLD_MS ms on average)"
nt_check "hold mode: every first connection succeeds" test "$ok" = "$N_RACE"
# Learned addresses expire after the 2 s floor, and the loop above can take longer than
# that on a loaded machine: learn one name afresh, then wait for the status to show it.
nt_exec a "$NT_PROBE" dns-connect 169.254.20.10 "n1.svc.example.test" A 80 --timeout-ms 900 >/dev/null 2>&1
learned_seen() {
  local n=0
  until [ "$(status_field addresses)" -gt 0 ] 2>/dev/null; do
    n=$((n + 1)); [ $n -lt 15 ] || return 1
    sleep 0.1
  done
}
nt_check "status counts learned addresses" learned_seen

# The same race without the hold (what in-kernel snooping can do at best).
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
start_agent --dns-learn-after-forward
snoop_ok=0
for i in $(seq $((N_RACE + 1)) $((2 * N_RACE - 1))); do
  nt_exec a "$NT_PROBE" dns-connect 169.254.20.10 "n$i.svc.example.test" A 80 --timeout-ms 900 >/dev/null 2>&1 && snoop_ok=$((snoop_ok + 1))
done
nt_log "learn-after-forward (snooping model): $snoop_ok/$((N_RACE - 1)) first connections succeeded"
echo "MEASURE fqdn hold=$ok/$N_RACE hold_ms_avg=$HOLD_MS snoop=$snoop_ok/$((N_RACE - 1))" >&2
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
grep -E "learned|error|DNS" "$NT_TMP/agent.log" | tail -5 >&2
nt_finish
