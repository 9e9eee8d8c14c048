#!/usr/bin/env bash
# The inventory by watch: the agent follows a fake API server (tests/runtime/
# fake_kube_api.py, on the node namespace's loopback) instead of files. A pod added through
# the API server is attached and enforced as itself; a deleted pod stops being allowed; the
# kube-apiserver entity gets the `default/kubernetes` EndpointSlice's address and remote
# nodes the watched Nodes' addresses (until a Node is deleted); an API server
# outage makes the inventory stale (status, metric, not ready) while the last good state
# keeps being enforced, and the relist after it picks up what changed meanwhile.
#   agent_watch.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
nt_init "$1" "$2"
FAKE_API="$(cd "$(dirname "$0")/../runtime" && pwd)/fake_kube_api.py"
command -v curl >/dev/null || nt_skip_or_fail "curl missing"
nt_pod a 1
nt_pod b 2
nt_pod c 3
nt_pod api 4   # stands for the API server's address (not a pod: only the EndpointSlice names it)
nt_pod rn 5    # stands for another node's address (only the watched Node object names it)
for p in a b c api rn; do nt_serve "$p"; done

# front/web-client: egress to namespace back on 5432 and 80, and to the kube-apiserver
# entity on 8080; back/db: ingress from namespace front on 5432 only.
nt_client_db_policy "$NT_TMP/policy" "{port: 5432}, {port: 80}" "{port: 5432}"
cat > "$NT_TMP/policy/api.yaml" <<'EOF2'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: to-apiserver, namespace: front}
spec:
  endpointSelector: {matchLabels: {app: web-client}}
  egress:
    - toEntities: [kube-apiserver]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
    - toEntities: [remote-node]
      toPorts: [{ports: [{port: "80", protocol: TCP}]}]
EOF2
"$NT_MOAT" build -o "$NT_TMP/bundle" "$NT_TMP/policy" >/dev/null || { nt_log "moat build failed"; exit 1; }

echo "token-$$" > "$NT_TMP/token"
# nsenter itself in the background (not a shell function): its pid is the server's, so the
# cleanup's kill reaches it.
nsenter --net="/run/netns/$NT_NODE" python3 "$FAKE_API" --port-file "$NT_TMP/port" --token-file "$NT_TMP/token" \
  2>>"$NT_TMP/api.log" &
NT_PIDS+=("$!")
port_written() { [ -s "$NT_TMP/port" ]; }
wait_for "the fake API server" port_written || exit 1
API="http://127.0.0.1:$(cat "$NT_TMP/port")"
ctl() { nt_node_exec curl -sf -X POST --data-binary @- "$API/_control" >/dev/null; }
put() {  # put RESOURCE JSON
  printf '{"op":"put","resource":"%s","object":%s}' "$1" "$2" | ctl
}
del() { printf '{"op":"delete","resource":"%s","key":"%s"}' "$1" "$2" | ctl; }
pod() {  # pod NS NAME APP INDEX
  put pods "{\"metadata\":{\"namespace\":\"$1\",\"name\":\"$2\",\"uid\":\"0$4000000-0000-4000-8000-00000000000$4\",\"labels\":{\"app\":\"$3\"}},
    \"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"c\"}]},
    \"status\":{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"10.199.$4.2\"},{\"ip\":\"fd00:199:$4::2\"}]}}"
}
put namespaces '{"metadata":{"name":"front"}}'
put namespaces '{"metadata":{"name":"back"}}'
put nodes '{"metadata":{"name":"node-1"},"status":{"addresses":[{"type":"InternalIP","address":"10.199.250.1"}]}}'
put nodes '{"metadata":{"name":"node-2"},"status":{"addresses":[{"type":"InternalIP","address":"10.199.5.2"}]}}'
pod front a web-client 1
pod back b db 2

METRICS_PORT=$((20000 + $$ % 20000))
nsenter --net="/run/netns/$NT_NODE" "$NT_MOAT" agent --bundle "$NT_TMP/bundle" --kube-api "$API" \
  --kube-token-file "$NT_TMP/token" --node-name node-1 --kube-stale-after 4 --poll-ms 100 \
  --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --metrics-port "$METRICS_PORT" 2>>"$NT_TMP/agent.log" &
AGENT_PID=$!
NT_PIDS+=("$AGENT_PID")
wait_for "agent ready from the watched inventory" is_ready
status_has() { nt_node_exec "$NT_MOAT" status --pin-dir "$NT_PIN" --state-dir "$NT_STATE" 2>&1 | grep -q "$1"; }
metric() { nt_node_exec curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep -q "^$1"; }
nt_check "status: a attached on h-a" status_has 'front/a .*tc h-a .*attached'
nt_check "status counts the two watched pods" status_has '2 in the cluster'
nt_check "metric moat_inventory_stale 0" metric 'moat_inventory_stale 0'
nt_expect allow a tcp 10.199.2.2 5432 "a -> b (db) allowed"
nt_expect deny  a tcp 10.199.2.2 80 "a -> b:80 denied by db's ingress"
nt_expect deny  a tcp 10.199.3.2 5432 "c is not in the inventory yet: a's egress denies it"
nt_expect deny  a tcp 10.199.4.2 8080 "no kubernetes EndpointSlice yet: the API server address is world"

nt_expect allow a tcp 10.199.5.2 80 "a -> node-2 (remote-node, from the watched Node) allowed on 80"
nt_expect deny  a tcp 10.199.5.2 8080 "a -> node-2:8080 denied"

nt_log "--- a pod added through the API server is attached and enforced"
pod back c db 3
wait_for "c attached" status_has 'back/c .*tc h-c .*attached'
nt_expect allow a tcp 10.199.3.2 5432 "a -> c (new db pod) allowed"
nt_expect deny  a tcp 10.199.3.2 80 "a -> c:80 denied by c's ingress"
nt_expect deny  b tcp 10.199.3.2 5432 "b is not in front: c's ingress denies it"

nt_log "--- the kube-apiserver entity from the default/kubernetes EndpointSlice"
put endpointslices '{"metadata":{"namespace":"default","name":"kubernetes","labels":{"kubernetes.io/service-name":"kubernetes"}},
  "addressType":"IPv4","endpoints":[{"addresses":["10.199.4.2"],"conditions":{"ready":true}}],"ports":[{"port":8080}]}'
api_allowed() { nt_exec a "$NT_PROBE" probe tcp 10.199.4.2 8080 --timeout-ms 600 >/dev/null 2>&1; }
wait_for "the API server address reachable as kube-apiserver" api_allowed
nt_expect allow a tcp 10.199.4.2 8080 "a -> kube-apiserver:8080 allowed"
nt_expect deny  a tcp 10.199.4.2 80 "a -> kube-apiserver:80 denied"

nt_log "--- a deleted pod stops being allowed"
del pods back/b
b_gone() { ! status_has 'back/b '; }
wait_for "b left the status" b_gone
nt_expect deny a tcp 10.199.2.2 5432 "b deleted: a -> b denied (b's veth remains, no endpoint: fail closed)"
nt_expect allow a tcp 10.199.3.2 5432 "c still allowed"

nt_log "--- a Node deleted from the API server is no remote node any more"
del nodes node-2
rn_denied() { ! nt_exec a "$NT_PROBE" probe tcp 10.199.5.2 80 --timeout-ms 600 >/dev/null 2>&1; }
wait_for "node-2's address denied" rn_denied
nt_expect deny a tcp 10.199.5.2 80 "node-2 deleted: its address is world, a -> it denied"

nt_log "--- an API server outage: stale, not ready, last good state enforced; then resynced"
echo '{"op":"down"}' | ctl
not_ready() { [ "$(status_field ready)" = "false" ]; }
wait_for "not ready during the outage" not_ready
nt_check "status says the inventory is stale" status_has 'inventory stale'
nt_check "metric moat_inventory_stale 1" metric 'moat_inventory_stale 1'
nt_check "moat status --ready fails" sh -c "! nsenter --net=/run/netns/$NT_NODE '$NT_MOAT' status --pin-dir '$NT_PIN' --state-dir '$NT_STATE' --ready >/dev/null 2>&1"
nt_expect allow a tcp 10.199.3.2 5432 "during the outage: a -> c still allowed (last good state)"
nt_expect deny  a tcp 10.199.2.2 5432 "during the outage: a -> b still denied"
pod back b db 2   # changes while the agent cannot watch: seen by the relist
echo '{"op":"up"}' | ctl
wait_for "ready again after the outage" is_ready
nt_check "metric moat_inventory_stale 0 again" metric 'moat_inventory_stale 0'
nt_check "the relists are counted" metric 'moat_inventory_relists_total [1-9]'
b_back() { status_has 'back/b .*tc h-b .*attached'; }
wait_for "b back (from the relist)" b_back
nt_expect allow a tcp 10.199.2.2 5432 "after the relist: a -> b allowed again"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
nt_finish
