#!/usr/bin/env bash
# End to end: `moat build` a Kubernetes policy, `moat agent --once` it onto a node made of
# network namespaces, then real TCP and UDP (IPv4 and IPv6) between the pods must be
# allowed and dropped exactly as the policy says; replies of allowed flows pass an
# ingress-isolated pod; the host reaches its pods; a pod attached through its cgroup
# (cgroup_skb) is enforced too; status and observe report what decided.
#   agent_enforce.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
nt_init "$1" "$2"

# Pods: front/a (tc), back/b (tc), back/c (tc, no policy), front/d (cgroup only).
nt_pod a 1
nt_pod b 2
nt_pod c 3
nt_pod d 4
nt_cgroup d || nt_skip_or_fail "no cgroup v2 hierarchy"
CG_D="$NT_CG"

mkdir -p "$NT_TMP/policy"
cat > "$NT_TMP/policy/policy.yaml" <<'EOF'
# front/web-client: egress only to namespace back on tcp 5432, 80 and udp 5353;
# ingress isolated with no allow (so replies must come through conntrack).
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client, namespace: front}
spec:
  podSelector: {matchLabels: {app: web-client}}
  policyTypes: [Ingress, Egress]
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: back}}}]
      ports: [{port: 5432}, {port: 80}, {port: 5353, protocol: UDP}]
---
# back/db: ingress only from namespace front on tcp 5432 and udp 5353.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: back}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: front}}}]
      ports: [{port: 5432}, {port: 5353, protocol: UDP}]
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: general}
spec:
  template:
    metadata: {labels: {tier: general}}
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
      startupTaints:
        - {key: moat.dev/agent-not-ready, effect: NoExecute}
EOF

cat > "$NT_TMP/node.yaml" <<EOF
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {karpenter.sh/nodepool: general, tier: general, karpenter.sh/capacity-type: on-demand}
spec:
  taints: [{key: moat.dev/agent-not-ready, effect: NoExecute}]
status:
  addresses:
    - {type: InternalIP, address: 10.199.1.1}
    - {type: InternalIP, address: 10.199.2.1}
    - {type: InternalIP, address: 10.199.3.1}
    - {type: InternalIP, address: 10.199.4.1}
    - {type: InternalIP, address: "fd00:199:1::1"}
    - {type: InternalIP, address: "fd00:199:2::1"}
EOF

pod() {  # pod NS NAME LABELS INDEX [EXTRA-SPEC-FIELD]
  cat <<EOF
  - kind: Pod
    metadata:
      name: $2
      namespace: $1
      labels: $3
    spec:
      nodeName: node-1
      containers: [{name: main}]
      ${5:-}
    status:
      phase: Running
      podIPs: [{ip: 10.199.$4.2}, {ip: "fd00:199:$4::2"}]
EOF
}
{
  echo "apiVersion: v1"
  echo "kind: List"
  echo "items:"
  echo "  - {kind: Namespace, metadata: {name: front}}"
  echo "  - {kind: Namespace, metadata: {name: back}}"
  # a, b, c: the agent finds their interfaces from the node's routes to their addresses.
  pod front a "{app: web-client}" 1
  pod back b "{app: db}" 2
  # c asks for a label no node of the pool has: reported as a misfit, still enforced.
  pod back c "{app: other}" 3 "nodeSelector: {disktype: ssd}"
  # d is put on its test-made cgroup by the test-only --attach-override below
  # (tests/netns/agent_attach.sh covers cgroup discovery under a kubepods hierarchy).
  pod front d "{app: web-client}" 4
} > "$NT_TMP/inventory.yaml"

"$NT_MOAT" build -o "$NT_TMP/bundle" "$NT_TMP/policy" || { nt_log "moat build failed"; exit 1; }

# Servers (pod d's server runs inside its cgroup, so its cgroup_skb programs see it).
for p in a b c; do nt_serve "$p"; done
nt_bg d sh -c "echo \$\$ > '$CG_D/cgroup.procs' && exec '$NT_PROBE' serve --tcp 80 --tcp 8080 --tcp 5432 --udp 53 --udp 5353"
sleep 0.3

# Before the agent: everything flows.
nt_expect allow b tcp 10.199.1.2 80 "(no agent yet)"

AGENT=(agent --bundle "$NT_TMP/bundle" --node "$NT_TMP/node.yaml" --inventory "$NT_TMP/inventory.yaml"
       --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --attach-override "front/d=$CG_D")
nt_check "agent --once attaches and reports ready" nt_node_exec "$NT_MOAT" "${AGENT[@]}" --once
nt_check "status says ready" nt_node_exec "$NT_MOAT" status --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --ready

# The agent has exited: enforcement is pinned.
nt_expect allow a tcp 10.199.2.2 5432 "front/a -> back/db: allowed both ends"
nt_expect allow a udp 10.199.2.2 5353 "udp allowed both ends"
nt_expect deny  a tcp 10.199.2.2 80 "db ingress does not allow 80"
nt_expect deny  a udp 10.199.2.2 53 "db ingress does not allow udp 53"
nt_expect allow a tcp 10.199.3.2 80 "a egress allows 80 to back; c not isolated"
nt_expect deny  a tcp 10.199.3.2 8080 "a egress does not allow 8080"
nt_expect deny  c tcp 10.199.2.2 5432 "c is not in namespace front"
nt_expect deny  b tcp 10.199.1.2 80 "a is ingress-isolated with no allow"
nt_expect deny  c tcp 10.199.2.2 80 "db ingress: c is not in front"
nt_expect allow b tcp 10.199.3.2 8080 "b -> c: nobody isolated"
nt_expect allow a tcp fd00:199:2::2 5432 "IPv6 allowed"
nt_expect deny  a tcp fd00:199:2::2 80 "IPv6 denied by db ingress"
nt_expect allow a udp fd00:199:2::2 5353 "IPv6 udp allowed"
nt_expect deny  a tcp fd00:199:3::2 8080 "IPv6 denied by a egress"
nt_expect deny  c tcp fd00:199:1::2 80 "IPv6 a ingress isolated"
# NDP under enforcement: a is isolated both ways, b's ingress is isolated; neither allows
# ICMPv6, yet both resolve the node (and the node them) by neighbour discovery. b's gateway
# is the node's link-local address, whose advertisements are not host traffic.
nt_ndp_check a 1 fd00:199:2::2 5432
nt_ndp_check b 2 fd00:199:3::2 8080 link-local
# The host (node namespace) always reaches its own pods, even isolated ones.
NT_CHECKS=$((NT_CHECKS + 1))
if nt_node_exec "$NT_PROBE" probe tcp 10.199.1.2 80 --timeout-ms 600 >/dev/null; then
  nt_log "ok   host -> a tcp/80: allow (host to local workload)"
else
  nt_log "FAIL host -> a tcp/80 dropped"; NT_FAILS=$((NT_FAILS + 1))
fi
# Pod d: enforced by cgroup_skb only (its veth has no tc program).
nt_expect_cg "$CG_D" allow d tcp 10.199.2.2 5432 "d's egress allows db"
nt_expect_cg "$CG_D" deny d tcp 10.199.3.2 8080 "d's egress denies 8080"
nt_expect deny b tcp 10.199.4.2 80 "d is ingress-isolated (cgroup_skb ingress)"

# Status: misfit reported, the startup taint named, counters moving.
STATUS_JSON="$(nt_node_exec "$NT_MOAT" status --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --json)"
nt_check "status reports the misfit back/c" grep -q '"pod": "back/c"' <<<"$STATUS_JSON"
nt_check "status names the startup taint" grep -q 'moat.dev/agent-not-ready:NoExecute' <<<"$STATUS_JSON"
nt_check "status shows default-deny packets" grep -q '"rule": "default-deny"' <<<"$STATUS_JSON"
nt_node_exec "$NT_MOAT" status --pin-dir "$NT_PIN" --state-dir "$NT_STATE" >&2

# observe: a denied probe appears with the isolating policy / deciding rule.
nt_node_exec "$NT_MOAT" observe --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --count 1 --timeout 5 \
  > "$NT_TMP/observe.txt" 2>&1 &
OBS=$!
sleep 0.5
nt_exec a "$NT_PROBE" probe tcp 10.199.3.2 8080 --timeout-ms 300 >/dev/null
wait $OBS
cat "$NT_TMP/observe.txt" >&2
nt_check "observe shows the drop of a -> c:8080" grep -q '10.199.3.2:8080' "$NT_TMP/observe.txt"
nt_check "observe names the isolating policy" grep -q 'NetworkPolicy front/client' "$NT_TMP/observe.txt"

# Detach: everything flows again and nothing stays pinned.
nt_check "agent --detach" nt_node_exec "$NT_MOAT" agent --detach --pin-dir "$NT_PIN" --state-dir "$NT_STATE"
nt_expect allow b tcp 10.199.1.2 80 "after detach"
nt_expect allow a tcp 10.199.3.2 8080 "after detach"
nt_check "pin directory removed" test ! -e "$NT_PIN"
nt_check "no tc filter left on h-a" sh -c "! tc -n $NT_NODE filter show dev h-a ingress | grep -q bpf"
nt_finish
