#!/usr/bin/env bash
# Atomic change under steady traffic: while probe loops run flows whose verdict is the same
# in every policy version (TCP and UDP, IPv4 and IPv6, allowed and denied, both directions),
# the running agent swaps bundles (new generations), follows inventory changes (in-place
# updates, including a pod relabel that re-keys its identity), is killed with -9 (enforcement
# stays), and is restarted (adopts the pinned state). Every loop must count zero wrong
# verdicts; the flow that does change must take each version's verdict after each swap.
#   agent_reload.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
nt_init "$1" "$2"
nt_pod a 1
nt_pod b 2
nt_pod c 3

policy() {  # policy DIR EXTRA-DB-PORTS
  nt_client_db_policy "$1" "{port: 5432}, {port: 80}, {port: 5353, protocol: UDP}" "{port: 5432}, {port: 5353, protocol: UDP}$2"
}
policy "$NT_TMP/v1" ""
policy "$NT_TMP/v2" ", {port: 80}"   # v2: db also accepts tcp/80 from front
"$NT_MOAT" build -o "$NT_TMP/b1" "$NT_TMP/v1" >/dev/null || { nt_log "moat build v1 failed"; exit 1; }
"$NT_MOAT" build -o "$NT_TMP/b2" "$NT_TMP/v2" >/dev/null || { nt_log "moat build v2 failed"; exit 1; }
ln -sfn "$NT_TMP/b1" "$NT_TMP/bundle"
# Switch the bundle the way kubelet updates a ConfigMap volume: one atomic rename.
use_bundle() { ln -sfn "$NT_TMP/$1" "$NT_TMP/bundle.new" && mv -T "$NT_TMP/bundle.new" "$NT_TMP/bundle"; }

cat > "$NT_TMP/node.yaml" <<'EOF'
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 10.199.1.1}, {type: InternalIP, address: 10.199.2.1}]}
EOF
inventory() {  # inventory C-LABEL [EXTRA-POD]
  cat > "$NT_TMP/inventory.yaml.new" <<EOF
kind: List
items:
  - {kind: Namespace, metadata: {name: front}}
  - {kind: Namespace, metadata: {name: back}}
  - kind: Pod
    metadata: {name: a, namespace: front, labels: {app: web-client}}
    spec: {nodeName: node-1}
    status: {podIPs: [{ip: 10.199.1.2}, {ip: "fd00:199:1::2"}]}
  - kind: Pod
    metadata: {name: b, namespace: back, labels: {app: db}}
    spec: {nodeName: node-1}
    status: {podIPs: [{ip: 10.199.2.2}, {ip: "fd00:199:2::2"}]}
  - kind: Pod
    metadata: {name: c, namespace: back, labels: {app: $1}}
    spec: {nodeName: node-1}
    status: {podIPs: [{ip: 10.199.3.2}, {ip: "fd00:199:3::2"}]}
$2
EOF
  mv "$NT_TMP/inventory.yaml.new" "$NT_TMP/inventory.yaml"
}
inventory other ""

for p in a b c; do nt_serve "$p"; done
AGENT=(agent --bundle "$NT_TMP/bundle" --node "$NT_TMP/node.yaml" --inventory "$NT_TMP/inventory.yaml"
       --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --poll-ms 100 --metrics-port 9964)


start_agent() {
  # nsenter execs the agent itself, so $! is the agent's pid (kill -9 must hit the agent).
  nsenter --net="/run/netns/$NT_NODE" "$NT_MOAT" "${AGENT[@]}" 2>>"$NT_TMP/agent.log" &
  AGENT_PID=$!
  NT_PIDS+=("$AGENT_PID")
}
start_agent
wait_for "agent ready" is_ready

# Steady flows: same verdict in v1 and v2, whatever the inventory changes below do.
DUR=24000
loop() {  # loop NAME FROM PROTO ADDR PORT EXPECT
  # Allowed flows wait up to 900 ms (below TCP's 1 s initial retransmission, so one dropped
  # SYN or SYN-ACK is a wrong verdict); a wrongly allowed flow answers within milliseconds,
  # so denied flows need only a short wait and get many more attempts.
  local timeout=900
  [ "$6" = deny ] && timeout=250
  nsenter --net="/run/netns/${NT_PREFIX}-$2" "$NT_PROBE" loop "$3" "$4" "$5" --expect "$6" --duration-ms $DUR \
    --interval-ms 15 --timeout-ms $timeout --stop-file "$NT_TMP/stop" > "$NT_TMP/loop-$1.out" 2>&1 &
  LOOPS+=("$1:$!")
}
LOOPS=()
loop s1 a tcp 10.199.2.2 5432 allow       # allowed both ends, replies through a's isolated ingress
loop s2 a udp fd00:199:2::2 5353 allow    # UDP over IPv6
loop s3 a tcp 10.199.3.2 8080 deny        # a's egress never allows 8080
loop s4 c tcp 10.199.2.2 5432 deny        # c is never in namespace front
loop s5 b tcp fd00:199:3::2 8080 allow    # nobody isolated on this path
loop s6 b tcp 10.199.1.2 80 deny          # a's ingress isolated, no allow
sleep 1

# Prometheus metrics on the node's loopback (inside the node namespace).
metrics() {
  nt_node_exec timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9964; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3'
}
metrics > "$NT_TMP/metrics.txt"
nt_check "metrics: agent ready" grep -q '^moat_agent_ready 1' "$NT_TMP/metrics.txt"
nt_check "metrics: per-rule packet counters with origins" \
  grep -q 'moat_rule_packets_total{rule="0",origin="NetworkPolicy front/client"}' "$NT_TMP/metrics.txt"

G="$(status_field generation)"
for round in 1 2 3 4; do
  use_bundle b2
  wait_for "swap to v2 (round $round)" gen_above "$G"; G="$(status_field generation)"
  nt_expect allow a tcp 10.199.2.2 80 "v2 allows db:80 (generation $G)"
  use_bundle b1
  wait_for "swap to v1 (round $round)" gen_above "$G"; G="$(status_field generation)"
  nt_expect deny a tcp 10.199.2.2 80 "v1 denies db:80 (generation $G)"
done

# In-place updates: a new pod (new identity and ipcache entries), then c relabelled (its
# addresses move to a new identity while s3/s4/s5 run through it). Next to the new pod: one
# asking for `1k` of an extended resource (a Kubernetes quantity; it once made the whole
# inventory an error, so the agent kept its old state) and one whose request is no whole
# number (skipped with W807): neither may hold back the new pod.
U="$(status_field updates)"
inventory other "  - kind: Pod
    metadata: {name: e, namespace: front, labels: {app: web-client}}
    spec: {nodeName: node-2}
    status: {podIPs: [{ip: 10.199.50.2}]}
  - kind: Pod
    metadata: {name: fpga, namespace: front, labels: {app: batch}}
    spec: {nodeName: node-2, containers: [{name: x, resources: {requests: {example.com/fpga: 1k}}}]}
    status: {podIPs: [{ip: 10.199.50.3}]}
  - kind: Pod
    metadata: {name: broken, namespace: front, labels: {app: batch}}
    spec: {nodeName: node-2, containers: [{name: x, resources: {requests: {nvidia.com/gpu: 500m}}}]}
    status: {podIPs: [{ip: 10.199.50.4}]}"
wait_for "in-place update (new pod, next to a 1k quantity and a malformed pod)" updates_above "$U"; U="$(status_field updates)"
nt_check "the malformed pod was reported and skipped (W807)" grep -q "W807" "$NT_TMP/agent.log"
inventory other-v2 ""
wait_for "in-place update (relabel)" updates_above "$U"; U="$(status_field updates)"
nt_expect allow b tcp 10.199.3.2 8080 "after relabel"
nt_check "relabel and new pod were in-place updates (same generation)" test "$(status_field generation)" = "$G"

# kill -9 during traffic: enforcement stays.
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
nt_check "the agent is gone" sh -c "! kill -0 $AGENT_PID 2>/dev/null"
sleep 1.5
nt_expect deny a tcp 10.199.2.2 80 "agent killed: v1 still enforced"
nt_expect allow a tcp 10.199.2.2 5432 "agent killed: allowed flows still pass"

# Restart: adopts the pinned state, swaps in its own generation, and follows changes again.
start_agent
wait_for "restarted agent ready" gen_above "$G"; G="$(status_field generation)"
nt_check "restarted agent adopted the pinned state" grep -q '"adopted": true' "$NT_STATE/status.json"
use_bundle b2
wait_for "swap after restart" gen_above "$G"; G="$(status_field generation)"
nt_expect allow a tcp 10.199.2.2 80 "restarted agent applied v2"

# SIGTERM: the agent exits, enforcement stays.
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
nt_expect allow a tcp 10.199.2.2 80 "agent stopped: v2 still enforced"
nt_expect deny a tcp 10.199.3.2 8080 "agent stopped: denies still enforced"

touch "$NT_TMP/stop"
for l in "${LOOPS[@]}"; do
  name="${l%%:*}"; pid="${l##*:}"
  wait "$pid"; rc=$?
  NT_CHECKS=$((NT_CHECKS + 1))
  result="$(tail -1 "$NT_TMP/loop-$name.out")"
  if [ $rc = 0 ]; then nt_log "ok   steady flow $name: $result"
  else nt_log "FAIL steady flow $name: $result"; cat "$NT_TMP/loop-$name.out" >&2; NT_FAILS=$((NT_FAILS + 1)); fi
done
# A pod's interface recreated under the same name (new ifindex) while the agent runs: the
# agent notices and attaches the new one (otherwise a's traffic would flow unenforced).
start_agent
wait_for "agent ready again" is_ready
nt_repod a 1
sleep 1.5
nt_expect deny a tcp 10.199.3.2 8080 "recreated interface is enforced again"
nt_expect allow a tcp 10.199.2.2 5432 "recreated interface: allowed flows pass"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null

grep -E "generation|adopt|in place|learned|error|attached" "$NT_TMP/agent.log" | tail -20 >&2
nt_finish
