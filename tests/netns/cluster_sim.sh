#!/usr/bin/env bash
# Three nodes on one machine (cluster_lib.sh): node-1 and node-2 in NodePool general, node-3
# in NodePool gpu (taint nvidia.com/gpu NoSchedule, startup taint moat.dev/agent-not-ready),
# joined by a bridge, each with its own pods and its own agent (own pin, state and bundle)
# following one fake API server. With real TCP and UDP it checks, naming the agent that
# dropped each denied flow (from each agent's drop log):
#  1. cross-node pod traffic is judged at both ends: egress by the source node's agent,
#     ingress by the destination node's;
#  2. another node's address is `remote-node`, the node's own address `host`;
#  3. the startup taint is lifted (by the DaemonSet sidecar's step, against the API server)
#     only once node-3's agent enforces, never while it is not ready;
#  4. a bundle rolled out node by node: with old and new at once, a connection is allowed
#     only if both its source node's and its destination node's generation allow it (a new
#     allowance waits for both, a revocation acts at the first, established connections
#     included);
#  5. a pod drained to another node in the kubelet's order (marked terminating, sandbox torn
#     down, its address reused by another pod before its object goes): the old node stays
#     ready and gives the address the new pod's identity, as does every other node; the
#     pod comes back on another node, which enforces it, and policies selecting it keep
#     working from both sides.
#   cluster_sim.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"
nt_init "$1" "$2"
NT_WAIT_S=30  # three agents start at once on a loaded machine

sim_fabric
for n in 1 2 3; do sim_node "$n"; done
sim_routes

# Policies. mon/t1 admits remote-node on tcp/80, everyone but remote-node on tcp/8080 (a
# CiliumNetworkPolicy ingressDeny). v1 -> v2 moves the client/db port 80 to 8080 (v2
# revokes 80, allows 8080); both keep 5432. The UDP ports differ on purpose: front's egress
# allows udp/53, db's ingress udp/5353, so one flow passes egress but not ingress and the
# other the reverse.
policy() {  # policy DIR PORT
  mkdir -p "$1"
  cat > "$1/pools.yaml" <<'EOF'
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: general}
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: gpu}
spec:
  template:
    metadata:
      labels: {workload-type: gpu}
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: gpu}
      taints:
        - {key: nvidia.com/gpu, value: "true", effect: NoSchedule}
      startupTaints:
        - {key: moat.dev/agent-not-ready, effect: NoExecute}
EOF
  nt_client_db_policy "$1" "{port: 5432}, {port: $2}, {port: 53, protocol: UDP}" \
    "{port: 5432}, {port: $2}, {port: 5353, protocol: UDP}"
  cat > "$1/others.yaml" <<'EOF'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: target, namespace: mon}
spec:
  endpointSelector: {matchLabels: {app: target}}
  ingress:
    - fromEntities: [remote-node]
      toPorts: [{ports: [{port: "80", protocol: TCP}]}]
    - fromEntities: [all]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
  ingressDeny:
    - fromEntities: [remote-node]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: trainer, namespace: ml}
spec:
  podSelector: {matchLabels: {app: trainer}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: back}}}]
      ports: [{port: 80}]
EOF
}
policy "$NT_TMP/v1" 80
policy "$NT_TMP/v2" 8080
"$NT_MOAT" build -o "$NT_TMP/b1" "$NT_TMP/v1" >/dev/null || { nt_log "moat build v1 failed"; exit 1; }
"$NT_MOAT" build -o "$NT_TMP/b2" "$NT_TMP/v2" >/dev/null || { nt_log "moat build v2 failed"; exit 1; }
for n in 1 2 3; do sim_use_bundle "$n" "$NT_TMP/b1"; done

# The cluster as the API server has it.
sim_api
for ns in front back mon ml; do sim_put namespaces "{\"metadata\":{\"name\":\"$ns\"}}"; done
node_obj() {  # node_obj N POOL EXTRA-LABELS TAINTS
  sim_put nodes "{\"metadata\":{\"name\":\"node-$1\",\"labels\":{\"karpenter.sh/nodepool\":\"$2\"$3}},
    \"spec\":{\"taints\":[$4]},\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$(sim_node_ip "$1")\"},
    {\"type\":\"InternalIP\",\"address\":\"$(sim_node_ip6 "$1")\"}]}}"
}
node_obj 1 general "" ""
node_obj 2 general "" ""
node_obj 3 gpu ',"workload-type":"gpu"' \
  '{"key":"nvidia.com/gpu","value":"true","effect":"NoSchedule"},{"key":"moat.dev/agent-not-ready","effect":"NoExecute"}'
uid() { printf '%08d-0000-4000-8000-000000000000' "$1"; }
sim_put_pod 1 front a1 '{"app":"web-client"}' 1 "$(uid 11)"
sim_put_pod 1 back b1 '{"app":"db"}' 2 "$(uid 12)"
sim_put_pod 1 mon t1 '{"app":"target"}' 3 "$(uid 13)"
sim_put_pod 2 front a2 '{"app":"web-client"}' 1 "$(uid 21)"
sim_put_pod 2 back b2 '{"app":"db"}' 2 "$(uid 22)"
sim_put_pod 3 ml g1 '{"app":"trainer"}' 1 "$(uid 31)" \
  '"tolerations":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]'
A1="$(sim_pod_ip 1 1)" B1="$(sim_pod_ip 1 2)" T1="$(sim_pod_ip 1 3)"
A2="$(sim_pod_ip 2 1)" B2="$(sim_pod_ip 2 2)" G1="$(sim_pod_ip 3 1)"
B1v6="$(sim_pod_ip6 1 2)" T1v6="$(sim_pod_ip6 1 3)" B2v6="$(sim_pod_ip6 2 2)"

# The pods' sandboxes, except g1's: node-3's agent cannot find g1's attach point yet.
sim_pod 1 a1 1; sim_pod 1 b1 2; sim_pod 1 t1 3
sim_pod 2 a2 1; sim_pod 2 b2 2
for p in a1 b1 t1 a2 b2; do nt_serve "$p" || exit 1; done

for n in 1 2 3; do sim_agent "$n"; done
sim_taint_sidecar 3
status_has() {  # status_has NODE REGEX: `moat status` of NODE's agent matches
  "$NT_MOAT" status --pin-dir "$(sim_pin "$1")" --state-dir "$(sim_state "$1")" 2>&1 | grep -qE "$2"
}
wait_for "node-1's agent ready" on 1 is_ready || exit 1
wait_for "node-2's agent ready" on 2 is_ready || exit 1
wait_for "node-3's agent reports g1 unenforced" status_has 3 'not enforced: ml/g1' || exit 1
for n in 1 2 3; do sim_observe "$n"; done
sleep 0.3  # the observers open the drop logs

# dropped NODE DIRECTION DST [WHAT]: the denied flow to DST (ADDR:PORT, [ADDR]:PORT for IPv6)
# was dropped by NODE's agent in DIRECTION (waits for the drop log, bounded), and by no other
# node's agent.
dropped() {
  local n="$1" dir="$2" m dst
  dst="$(printf '%s' "$3" | sed 's/[].[]/\\&/g')"  # a literal in the grep -E patterns
  wait_for "node-$n's drop log: $dir drop to $3" sim_dropped_at "$n" "\"dst\":\"$dst\"" "\"direction\":\"$dir\"" &&
    nt_log "ok   dropped by node-$n's agent ($dir) ${4:-}"
  NT_CHECKS=$((NT_CHECKS + 1))
  for m in "${SIM_NODES[@]}"; do
    [ "$m" = "$n" ] && continue
    if sim_dropped_at "$m" "\"dst\":\"$dst\""; then
      nt_log "FAIL node-$m's agent dropped the flow to $3 too"; NT_FAILS=$((NT_FAILS + 1))
    fi
  done
}

nt_log "--- 1. cross-node pod traffic: egress at the source node, ingress at the destination"
sim_mark
nt_expect allow a1 tcp "$B2" 5432 "front/a1@node-1 -> back/b2@node-2"
nt_expect allow a1 tcp "$B2" 80
nt_expect deny  a1 udp "$B2" 53 "a1's egress allows it, b2's ingress does not"
dropped 2 ingress "$B2:53" "(b2's ingress at the destination)"
nt_expect deny  a1 udp "$B2" 5353 "b2's ingress allows it, a1's egress does not"
dropped 1 egress "$B2:5353" "(a1's egress at the source)"
nt_expect allow a2 tcp "$B1" 5432 "front/a2@node-2 -> back/b1@node-1"
nt_expect deny  a2 udp "$B1" 53
dropped 1 ingress "$B1:53" "(b1's ingress at the destination)"
nt_expect deny  a2 udp "$B1" 5353
dropped 2 egress "$B1:5353" "(a2's egress at the source)"
nt_expect allow a1 tcp "$B2v6" 5432 "the same over IPv6"
nt_expect deny  a1 udp "$B2v6" 53
dropped 2 ingress "[$B2v6]:53" "(b2's ingress, IPv6)"
nt_expect deny  a2 udp "$B1v6" 5353
dropped 2 egress "[$B1v6]:5353" "(a2's egress, IPv6)"

nt_log "--- 2. remote-node and host identities"
sim_mark
nt_expect allow node-2 tcp "$T1" 80 "node-2's host -> mon/t1@node-1: remote-node, allowed on 80"
nt_expect deny  node-2 tcp "$T1" 5432 "remote-node is not allowed on 5432 (the host would be)"
dropped 1 ingress "$T1:5432" "(t1's ingress: node-2's address is remote-node, not host)"
nt_expect allow node-2 tcp "$T1v6" 80 "node-2's IPv6 InternalIP is remote-node too"
nt_expect deny  node-2 tcp "$T1v6" 5432
dropped 1 ingress "[$T1v6]:5432" "(t1's ingress, IPv6)"
nt_expect allow node-1 tcp "$T1v6" 5432 "node-1's own IPv6 address is host"
nt_expect deny  node-2 tcp "$T1" 8080 "t1 admits all on 8080 but denies remote-node"
dropped 1 ingress "$T1:8080" "(t1's ingressDeny for remote-node)"
nt_expect allow b2 tcp "$T1" 8080 "back/b2@node-2 (a pod, not remote-node) -> t1:8080 allowed"
nt_expect allow node-1 tcp "$T1" 8080 "node-1's own host passes the remote-node deny: it is host"
nt_expect allow node-3 tcp "$T1" 80 "node-3's host (gpu pool, agent not ready yet) is remote-node too"
nt_expect allow node-1 tcp "$T1" 5432 "node-1's own host -> t1: host, passes"
nt_expect deny  b2 tcp "$T1" 80 "back/b2@node-2 is a pod, not remote-node: denied"
dropped 1 ingress "$T1:80" "(t1's ingress judged b2 as itself)"
nt_expect deny  node-1 tcp "$B2" 5432 "node-1's host -> b2@node-2: remote-node there, not in db's ingress"
dropped 2 ingress "$B2:5432"

nt_log "--- 3. the startup taint stays while node-3's agent is not ready"
has_taint() { sim_get_node node-3 | jq -e --arg k "$1" '[.spec.taints[]?.key] | index($k) != null' >/dev/null; }
patches() { sim_ctl '{"op":"patches"}' | jq -r "$1"; }
nt_check "node-3's agent is not ready (g1 has no attach point)" test "$(on 3 status_field ready)" = false
nt_check "node-3 still carries moat.dev/agent-not-ready" has_taint moat.dev/agent-not-ready
nt_check "nothing patched node-3 while its agent was not ready" test "$(patches '.patches | length')" = 0
nt_check "moat status: the taint waits for readiness" status_has 3 'startup taint moat.dev/agent-not-ready:NoExecute'
T0="$(date +%s%3N)"
sim_pod 3 g1 1   # the CNI creates g1's sandbox: node-3 can now enforce everything it runs
not_tainted() { ! has_taint moat.dev/agent-not-ready; }
wait_for "the startup taint lifted" not_tainted
nt_check "node-3's agent is ready" on 3 is_ready
nt_check "one PATCH of node-3, after g1's interface appeared ($(patches '.patches[0].unix_ms') >= $T0)" \
  test "$(patches '[.patches[] | select(.key == "node-3" and .unix_ms >= '"$T0"')] | length')" = 1
nt_check "the pool's NoSchedule taint stays" has_taint nvidia.com/gpu
wait_for "node-3's agent sees its taint lifted" status_has 3 'startup taint .*: lifted'
nt_serve g1 || exit 1
sim_mark
nt_expect allow b1 tcp "$G1" 80 "back/b1@node-1 -> ml/g1@node-3 (gpu) allowed"
nt_expect deny  b1 tcp "$G1" 5432 "g1's ingress denies 5432"
dropped 3 ingress "$G1:5432"
nt_expect deny  a1 tcp "$G1" 80 "a1's egress allows only back"
dropped 1 egress "$G1:80"

nt_log "--- 4. a bundle rolled out node by node (v1 -> v2: port 80 revoked, 8080 allowed)"
nt_stream r12 a1 "$B2" 80     # node-1 -> node-2, revoked by v2
nt_stream r21 a2 "$B1" 80     # node-2 -> node-1, revoked by v2
nt_stream k12 a1 "$B2" 5432   # allowed by both versions
nt_stream k21 a2 "$B1" 5432
for s in r12 r21 k12 k21; do wait_for "stream $s connected" nt_stream_connected "$s"; done
sleep 0.5
G="$(on 1 status_field generation)"
G2="$(on 2 status_field generation)"
sim_mark
sim_use_bundle 1 "$NT_TMP/b2"
wait_for "node-1 on v2" on 1 gen_above "$G"
TSWAP="$(on 1 status_field updated_unix_ms)"
nt_expect deny  a1 tcp "$B2" 8080 "new allowance: node-1's egress (v2) allows, node-2's ingress (v1) does not"
dropped 2 ingress "$B2:8080"
nt_expect deny  a2 tcp "$B1" 8080 "new allowance: node-2's egress (v1) does not allow, whatever node-1 says"
dropped 2 egress "$B1:8080"
nt_expect deny  a1 tcp "$B2" 80 "revocation: node-1's egress (v2) drops it although node-2 (v1) allows"
nt_expect deny  a2 tcp "$B1" 80 "revocation: node-1's ingress (v2) drops it although node-2 (v1) allows"
nt_expect allow a1 tcp "$B2" 5432 "allowed by both versions"
nt_expect allow a2 tcp "$B1" 5432
for s in r12 r21; do nt_stream_stop "$s"; done
nt_check "established a1 -> b2:80 cut at node-1's swap: $(nt_stream_cut_at r12 "$TSWAP")" nt_stream_cut_at r12 "$TSWAP"
nt_check "established a2 -> b1:80 cut at node-1's swap: $(nt_stream_cut_at r21 "$TSWAP")" nt_stream_cut_at r21 "$TSWAP"
nt_check "node-1's agent revoked a1's connection at egress" \
  sim_dropped_at 1 "\"dst\":\"$B2:80\"" '"direction":"egress"' '"revoked":true'
nt_check "node-1's agent revoked a2's connection at ingress" \
  sim_dropped_at 1 "\"dst\":\"$B1:80\"" '"direction":"ingress"' '"revoked":true'
nt_check "node-2 still runs v1 (generation $G2)" test "$(on 2 status_field generation)" = "$G2"
G="$G2"
sim_mark
sim_use_bundle 2 "$NT_TMP/b2"
wait_for "node-2 on v2" on 2 gen_above "$G"
nt_expect allow a1 tcp "$B2" 8080 "both nodes on v2: the new allowance holds both ways"
nt_expect allow a2 tcp "$B1" 8080
# Over IPv6: the cut IPv4 connections' late retransmissions still reach node-1.
nt_expect deny  a2 tcp "$B1v6" 80 "both on v2: revoked at the source now"
dropped 2 egress "[$B1v6]:80"
for s in k12 k21; do
  nt_stream_stop "$s"
  nt_check "connection $s allowed by both versions survived both swaps: $(tail -1 "$NT_TMP/stream-$s.out")" \
    test "$NT_STREAM_RC" = 0
done

nt_log "--- 5. back/b1 drained from node-1 to node-2, in the kubelet's order"
# The API server marks b1 terminating; the kubelet stops it and the CNI deletes its veth;
# only then does the kubelet delete the object (seconds later, or minutes when a volume
# does not unmount). Meanwhile the IPAM may hand b1's address to a new pod.
sim_put_pod 1 back b1 '{"app":"db"}' 2 "$(uid 12)" "" '"deletionTimestamp":"2026-01-01T00:00:00Z","deletionGracePeriodSeconds":30'
sim_unpod 1 b1
b1_not_attached() { jq -e '[.attach[]? | select(.pod == "back/b1" and .attached)] | length == 0' "$(sim_state 1)/status.json" >/dev/null 2>&1; }
wait_for "node-1 sees b1's interface gone" b1_not_attached
sleep 1.2  # the agent looks for missing attach points again every second
nt_check "node-1 stays ready: a terminating pod whose sandbox is gone needs no attach point" on 1 is_ready
nt_check "b1 is not reported unenforced" sh -c "! '$NT_MOAT' status --pin-dir '$(sim_pin 1)' --state-dir '$(sim_state 1)' | grep -q 'not enforced: back/b1'"
sim_pod 1 x1 2   # b1's old addresses, at once
sim_put_pod 1 front x1 '{"app":"cache"}' 2 "$(uid 14)"
nt_serve x1 || exit 1
wait_for "node-1 attaches x1 on b1's old address (b1 still terminating)" status_has 1 'front/x1 .*h-x1 .*attached'
nt_check "node-1 is ready with x1 attached" on 1 is_ready
sim_mark
nt_expect allow b2 tcp "$B1" 80 "b2 -> x1 (not isolated): terminating b1's ingress policy is not on the address"
nt_expect deny  a1 tcp "$B1" 5432 "a1's egress: the address is front/x1's now, not terminating back/b1's"
dropped 1 egress "$B1:5432"
nt_check "node-1's drop log names x1 as the destination" \
  sim_dropped_at 1 "\"dst\":\"$B1:5432\"" "\"destination\":{\"address\":\"$B1\",[^}]*\"pod\":\"x1\""
nt_expect deny  a2 tcp "$B1" 5432 "node-2's agent also gives the reused address x1's identity"
nt_check "node-2's drop log names x1 as the destination" \
  sim_dropped_at 2 "\"dst\":\"$B1:5432\"" '"direction":"egress"' "\"destination\":{\"address\":\"$B1\",[^}]*\"pod\":\"x1\""
nt_expect deny  a2 tcp "$(sim_pod_ip6 1 2)" 5432 "the same for the reused IPv6 address"

sim_del pods back/b1   # the kubelet's final delete
b1_gone() { ! status_has 1 'back/b1 '; }
wait_for "node-1 forgets b1" b1_gone
B1N="$(sim_pod_ip 2 3)"
sim_pod 2 b1m 3
sim_put_pod 2 back b1 '{"app":"db"}' 3 "$(uid 32)"
nt_serve b1m || exit 1
wait_for "node-2 attaches b1" status_has 2 'back/b1 .*h-b1m .*attached'
# node-1 reads b1's return on its own watch, independent of node-2's: wait until its egress
# lets a1 reach the new address (a failed try before the mark below is not counted), then check.
a1_reaches_b1() { nt_exec a1 "$NT_PROBE" probe tcp "$B1N" 5432 --timeout-ms 600 >/dev/null 2>&1; }
wait_for "node-1 reads b1's new address" a1_reaches_b1
sim_mark
nt_expect allow a1 tcp "$B1N" 5432 "a1@node-1 -> b1@node-2 (new address): node-1 knows it as db"
nt_expect allow a2 tcp "$B1N" 8080 "a2 -> b1, now on the same node"
nt_expect deny  a1 udp "$B1N" 53 "b1's ingress moved with it"
dropped 2 ingress "$B1N:53" "(b1's ingress, now at node-2)"
nt_expect deny  b2 tcp "$B1N" 5432 "b2 is not in front: b1's ingress denies"
dropped 2 ingress "$B1N:5432"
nt_expect deny  a1 tcp "$B1" 5432 "x1 keeps its identity after b1's object is gone"
nt_check "node-1 is ready at the end" on 1 is_ready

for n in 1 2 3; do grep -E "error|warning" "$NT_TMP/agent-$n.log" | tail -5 | sed "s/^/node-$n: /" >&2; done
nt_finish
