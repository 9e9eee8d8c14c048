#!/usr/bin/env bash
# Attach points are the node's to find, never the pod's to choose, and nothing runs
# unenforced: pod annotations claiming the node's uplink, a neighbour's interface or a shared
# cgroup change nothing (every pod is still judged as itself; the uplink and the cgroup root
# carry no program); a pod that loses its annotation stays enforced; a pod whose attach point
# cannot be found, or two pods claiming one interface, keep the node not-ready; a reconcile
# whose map writes fail still attaches the new pod, which drops until a retry succeeds; with
# --attach cgroup the pods' kubepods cgroups (found by UID) are used and nothing above them.
#   agent_attach.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
nt_init "$1" "$2"
nt_uplink
nt_pod a 1
nt_pod b 2
nt_pod c 3
CGMOUNT="$(nt_cgroup2)"
[ -n "$CGMOUNT" ] || nt_skip_or_fail "no cgroup v2 hierarchy"
nt_kubepods || nt_skip_or_fail "cannot create a kubepods cgroup hierarchy"
# The cgroup a hostile annotation names. An agent that obeyed annotations would attach to the
# real cgroup root and cut the machine off; to run this test against such an agent, point
# MOAT_TEST_ROOT_CLAIM at a harmless cgroup (e.g. the test's kubepods root).
ROOT_CLAIM="${MOAT_TEST_ROOT_CLAIM:-$CGMOUNT}"

# front/web-client: isolated both ways, egress to namespace back on 5432 and 80.
# back/db: ingress from namespace front on 5432 only. back/other (c): no policy.
nt_client_db_policy "$NT_TMP/policy" "{port: 5432}, {port: 80}" "{port: 5432}"
"$NT_MOAT" build -o "$NT_TMP/bundle" "$NT_TMP/policy" >/dev/null || { nt_log "moat build failed"; exit 1; }
cat > "$NT_TMP/node.yaml" <<'EOF'
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 10.199.250.1}]}
EOF

pod() {  # pod NS NAME LABELS INDEX UID [ANNOTATIONS]
  cat <<EOF
  - kind: Pod
    metadata: {name: $2, namespace: $1, uid: $5, labels: $3, annotations: {${6:-}}}
    spec: {nodeName: node-1}
    status: {phase: Running, podIPs: [{ip: 10.199.$4.2}, {ip: "fd00:199:$4::2"}]}
EOF
}
UID_A=0a000000-0000-4000-8000-00000000000a UID_B=0b000000-0000-4000-8000-00000000000b
UID_C=0c000000-0000-4000-8000-00000000000c
write_inventory() {  # write_inventory PODS-TEXT: the namespaces and PODS, atomically
  printf 'kind: List\nitems:\n  - {kind: Namespace, metadata: {name: front}}\n  - {kind: Namespace, metadata: {name: back}}\n%s\n' \
    "$1" > "$NT_TMP/inventory.yaml.new"
  mv "$NT_TMP/inventory.yaml.new" "$NT_TMP/inventory.yaml"
}
inventory() {  # inventory A-ANN B-ANN C-ANN [EXTRA-POD-TEXT]: pods a, b, c with these annotations
  write_inventory "$(pod front a "{app: web-client}" 1 $UID_A "$1"; pod back b "{app: db}" 2 $UID_B "$2"
                     pod back c "{app: other}" 3 $UID_C "$3"; echo "${4:-}")"
}

for p in a b c; do nt_serve "$p"; done
AGENT=(agent --bundle "$NT_TMP/bundle" --node "$NT_TMP/node.yaml" --inventory "$NT_TMP/inventory.yaml"
       --pin-dir "$NT_PIN" --state-dir "$NT_STATE")
once() { nt_node_exec "$NT_MOAT" "${AGENT[@]}" --once "$@" 2>>"$NT_TMP/agent.log"; }
status_has() { nt_node_exec "$NT_MOAT" status --pin-dir "$NT_PIN" --state-dir "$NT_STATE" 2>&1 | grep -q "$1"; }
no_bpf_on() { ! tc -n "$NT_NODE" filter show dev "$1" "$2" | grep -q bpf; }
has_bpf_on() { tc -n "$NT_NODE" filter show dev "$1" "$2" | grep -q bpf; }
# The flows that show who judged a packet (policy above):
judged_correctly() {  # judged_correctly LABEL
  nt_expect allow a tcp 10.199.2.2 5432 "$1: a -> db allowed"
  nt_expect deny  a tcp 10.199.2.2 80 "$1: a -> db:80 (db ingress) denied"
  nt_expect deny  a tcp 10.199.3.2 8080 "$1: a's own egress denies 8080"
  nt_expect deny  c tcp 10.199.2.2 5432 "$1: c is not in front (db ingress)"
  nt_expect deny  b tcp 10.199.1.2 80 "$1: a's ingress is isolated"
  nt_expect allow b tcp fd00:199:3::2 8080 "$1: b -> c, nobody isolated (IPv6)"
}
ROOT_PROGS_BEFORE="$(bpftool cgroup show "$CGMOUNT" 2>&1)"

nt_log "--- 1. hostile annotations: a claims the uplink, b a's interface, c the cgroup root"
inventory "moat.dev/interface: up0" "moat.dev/interface: h-a" "moat.dev/cgroup: $ROOT_CLAIM"
nt_check "agent --once is ready (every pod's interface found from its route)" once
judged_correctly "hostile annotations"
nt_check "the uplink up0 carries no program (ingress)" no_bpf_on up0 ingress
nt_check "the uplink up0 carries no program (egress)" no_bpf_on up0 egress
nt_check "the cgroup root carries no new program" \
  test "$(bpftool cgroup show "$CGMOUNT" 2>&1)" = "$ROOT_PROGS_BEFORE"
nt_check "the claimed cgroup carries no program" sh -c "! bpftool cgroup show '$ROOT_CLAIM' 2>/dev/null | grep -q ."
nt_node_exec "$NT_MOAT" status --pin-dir "$NT_PIN" --state-dir "$NT_STATE" >&2
nt_check "status: a attached on h-a" status_has 'front/a .*tc h-a .*attached'
nt_check "status: b attached on h-b" status_has 'back/b .*tc h-b .*attached'
nt_check "status: c attached on h-c" status_has 'back/c .*tc h-c .*attached'

nt_log "--- 2. a pod that loses its annotation stays enforced"
inventory "moat.dev/interface: h-a" "moat.dev/interface: h-b" "moat.dev/interface: h-c"
nt_check "agent --once with annotations naming the right interfaces" once
inventory "" "" ""
nt_check "agent --once without annotations" once
judged_correctly "annotations removed"
nt_check "h-a still has its dispatcher" has_bpf_on h-a ingress

nt_log "--- 3. a pod whose attach point cannot be found keeps the node not-ready"
inventory "" "" "" "$(pod front e "{app: web-client}" 6 0e000000-0000-4000-8000-00000000000e)"
once; RC=$?
nt_check "agent --once exits 1 (not ready) for a pod with no route (rc $RC)" test "$RC" = 1
nt_check "moat status --ready fails" sh -c "! nsenter --net=/run/netns/$NT_NODE '$NT_MOAT' status --pin-dir '$NT_PIN' --state-dir '$NT_STATE' --ready >/dev/null 2>&1"
nt_check "status names front/e as not enforced" status_has 'not enforced: front/e'
nt_check "E810 reported for front/e" grep -q "error\[E810\].*front/e" "$NT_TMP/agent.log"
judged_correctly "while e is missing"
# A twin claiming a's address: a's interface would carry two pods: neither is attached there,
# and a's traffic drops (its interface keeps its dispatcher; no endpoint entry: fail closed).
inventory "" "" "" "$(pod front twin "{app: web-client}" 1 0f000000-0000-4000-8000-00000000000f)"
once; RC=$?
nt_check "agent --once exits 1 when two pods claim h-a (rc $RC)" test "$RC" = 1
nt_check "E811 reported" grep -q "error\[E811\].*h-a" "$NT_TMP/agent.log"
nt_expect deny a tcp 10.199.2.2 5432 "a's interface claimed twice: fail closed"
inventory "" "" ""
nt_check "agent --once is ready again" once
nt_expect allow a tcp 10.199.2.2 5432 "twin gone: a enforced as itself again"
# A pod that leaves the inventory while its veth still routes its address keeps its
# dispatcher and, with no endpoint entry any more, drops (until the CNI deletes the veth).
write_inventory "$(pod front a "{app: web-client}" 1 $UID_A; pod back b "{app: db}" 2 $UID_B)"
nt_check "agent --once without c" once
nt_check "h-c keeps its dispatcher" has_bpf_on h-c ingress
nt_expect deny b tcp fd00:199:3::2 8080 "c left the inventory: its traffic drops (fail closed)"
inventory "" "" ""
nt_check "agent --once with c back" once
nt_expect allow b tcp fd00:199:3::2 8080 "c back: enforced as itself"
# A NEW interface that two pods claim from the start (it never had a dispatcher) gets one
# too, with no endpoint entry behind it: its traffic drops until one pod is left.
nt_pod d 11
nt_serve d
inventory "" "" "" "$(pod front d "{app: web-client}" 11 0d000000-0000-4000-8000-00000000000d
                     pod front d-twin "{app: web-client}" 11 0d100000-0000-4000-8000-00000000000d)"
once; RC=$?
nt_check "agent --once exits 1 when two pods claim the new h-d (rc $RC)" test "$RC" = 1
nt_check "E811 reported for h-d" grep -q "error\[E811\].*h-d" "$NT_TMP/agent.log"
nt_check "h-d carries a dispatcher although two pods claim it" has_bpf_on h-d ingress
nt_expect deny d tcp 10.199.2.2 5432 "d's new interface claimed twice: fail closed (its policy would allow this)"
inventory "" "" "" "$(pod front d "{app: web-client}" 11 0d000000-0000-4000-8000-00000000000d)"
nt_check "agent --once with the twin gone" once
nt_expect allow d tcp 10.199.2.2 5432 "twin gone: d enforced as itself"
nt_expect deny d tcp 10.199.2.2 8080 "twin gone: d's egress denies 8080"
inventory "" "" ""

nt_log "--- 4. a reconcile that cannot write the maps still attaches the new pod"
nt_pod f 7
nt_serve f
nsenter --net="/run/netns/$NT_NODE" "$NT_MOAT" "${AGENT[@]}" --poll-ms 100 --fail-apply-while "$NT_TMP/fail" \
  2>>"$NT_TMP/agent.log" &
AGENT_PID=$!
NT_PIDS+=("$AGENT_PID")
wait_for "agent ready" is_ready
nt_expect allow b tcp 10.199.7.2 80 "f is not in the inventory yet: its interface is not enforced"
touch "$NT_TMP/fail"
inventory "" "" "" "$(pod front f "{app: web-client}" 7 0f100000-0000-4000-8000-00000000000f)"
applying_failed() { [ "$(status_field apply_failed)" = "true" ]; }
wait_for "the failed apply in the status" applying_failed
wait_for "f's dispatcher attached" has_bpf_on h-f ingress
nt_check "not ready while the maps lag" test "$(status_field ready)" = false
nt_check "status reports E812" grep -q 'E812' "$NT_STATE/status.json"
nt_expect deny f tcp 10.199.3.2 80 "f has no endpoint entry: its dispatcher drops (fail closed)"
nt_expect deny b tcp 10.199.7.2 80 "nor does anything reach f"
nt_expect allow a tcp 10.199.2.2 5432 "the others keep their policy meanwhile"
rm -f "$NT_TMP/fail"
wait_for "the retry succeeds" is_ready
nt_expect allow f tcp 10.199.3.2 80 "after the retry: f's egress allows 80 to back"
nt_expect deny  f tcp 10.199.3.2 8080 "after the retry: f's egress denies 8080"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
nt_check "agent --detach" nt_node_exec "$NT_MOAT" agent --detach --pin-dir "$NT_PIN" --state-dir "$NT_STATE"

nt_log "--- 5. --attach cgroup: the pods' kubepods cgroups, found by UID"
nt_pod g 8
nt_pod h 9
nt_pod i 10
nt_pod_cgroup besteffort "$UID_A" || nt_skip_or_fail "cannot create pod cgroups"
CG_G="$NT_CG"
nt_pod_cgroup guaranteed "$UID_B"
CG_H="$NT_CG"
nt_pod_cgroup burstable "$UID_C"
CG_I="$NT_CG"
for x in "g $CG_G" "h $CG_H" "i $CG_I"; do
  read -r p cg <<<"$x"
  nt_bg "$p" sh -c "echo \$\$ > '$cg/cgroup.procs' && exec '$NT_PROBE' serve --tcp 80 --tcp 8080 --tcp 5432"
done
sleep 0.3
write_inventory "$(pod front g "{app: web-client}" 8 $UID_A "moat.dev/cgroup: $NT_KUBEPODS"
                   pod back h "{app: db}" 9 $UID_B "moat.dev/cgroup: $ROOT_CLAIM"
                   pod back i "{app: other}" 10 $UID_C "moat.dev/interface: up0")"
nt_check "agent --once --attach cgroup is ready" \
  once --attach cgroup --kubepods-root "$NT_KUBEPODS"
nt_check "g's cgroup (BestEffort) carries the dispatchers" sh -c "bpftool cgroup show '$CG_G' | grep -q cgroup_inet_egress"
nt_check "h's cgroup (Guaranteed) carries the dispatchers" sh -c "bpftool cgroup show '$CG_H' | grep -q cgroup_inet_ingress"
nt_check "i's cgroup (Burstable) carries the dispatchers" sh -c "bpftool cgroup show '$CG_I' | grep -q cgroup_inet_ingress"
nt_check "the kubepods root carries no program" sh -c "! bpftool cgroup show '$NT_KUBEPODS' | grep -q cgroup_inet"
nt_check "the cgroup root carries no new program" \
  test "$(bpftool cgroup show "$CGMOUNT" 2>&1)" = "$ROOT_PROGS_BEFORE"
nt_check "no tc program on the uplink" no_bpf_on up0 ingress
nt_expect_cg "$CG_G" allow g tcp 10.199.9.2 5432 "g's egress and h's ingress allow"
nt_expect_cg "$CG_G" deny g tcp 10.199.10.2 8080 "g's egress denies 8080"
nt_expect deny i tcp 10.199.9.2 5432 "h's ingress (cgroup_skb) denies i"
nt_check "agent --detach" nt_node_exec "$NT_MOAT" agent --detach --pin-dir "$NT_PIN" --state-dir "$NT_STATE"
nt_check "no cgroup program left on g's cgroup" sh -c "! bpftool cgroup show '$CG_G' | grep -q cgroup_inet"
nt_finish
