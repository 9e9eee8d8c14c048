#!/usr/bin/env bash
# Established connections under a policy change: conntrack entries are judged again by the
# new policy (DATAPATH.md, "The policy epoch"). Long-lived TCP connections send one message
# per 100 ms interval and report every echo. A connection the new bundle denies must be cut
# from the first message sent after the swap on, while connections both versions allow (over
# IPv4 and IPv6) survive the same swap with no lost message; an in-place inventory change (a
# pod relabelled into an isolating policy) cuts its established connection too. `moat
# observe` reports the cuts as revoked, `moat status` shows the policy epoch move.
#   agent_revoke.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
nt_init "$1" "$2"
nt_pod a 1
nt_pod b 2

policy() {  # policy DIR EXTRA-DB-PORTS
  nt_client_db_policy "$1" "{port: 5432}, {port: 80}" "{port: 5432}$2"
}
policy "$NT_TMP/v1" ""
policy "$NT_TMP/v2" ", {port: 80}"   # v2: db also accepts tcp/80 from front
"$NT_MOAT" build -o "$NT_TMP/b1" "$NT_TMP/v1" >/dev/null || { nt_log "moat build v1 failed"; exit 1; }
"$NT_MOAT" build -o "$NT_TMP/b2" "$NT_TMP/v2" >/dev/null || { nt_log "moat build v2 failed"; exit 1; }
use_bundle() { ln -sfn "$NT_TMP/$1" "$NT_TMP/bundle.new" && mv -T "$NT_TMP/bundle.new" "$NT_TMP/bundle"; }
use_bundle b2

cat > "$NT_TMP/node.yaml" <<'EOF'
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 10.199.1.1}, {type: InternalIP, address: 10.199.2.1}]}
EOF
inventory() {  # inventory A-LABEL
  cat > "$NT_TMP/inventory.yaml.new" <<EOF
kind: List
items:
  - {kind: Namespace, metadata: {name: front}}
  - {kind: Namespace, metadata: {name: back}}
  - kind: Pod
    metadata: {name: a, namespace: front, labels: {app: $1}}
    spec: {nodeName: node-1}
    status: {podIPs: [{ip: 10.199.1.2}, {ip: "fd00:199:1::2"}]}
  - kind: Pod
    metadata: {name: b, namespace: back, labels: {app: db}}
    spec: {nodeName: node-1}
    status: {podIPs: [{ip: 10.199.2.2}, {ip: "fd00:199:2::2"}]}
EOF
  mv "$NT_TMP/inventory.yaml.new" "$NT_TMP/inventory.yaml"
}
inventory other   # a starts outside the client policy: not isolated

for p in a b; do nt_serve "$p"; done
AGENT=(agent --bundle "$NT_TMP/bundle" --node "$NT_TMP/node.yaml" --inventory "$NT_TMP/inventory.yaml"
       --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --poll-ms 100)

nsenter --net="/run/netns/$NT_NODE" "$NT_MOAT" "${AGENT[@]}" 2>>"$NT_TMP/agent.log" &
AGENT_PID=$!
NT_PIDS+=("$AGENT_PID")
wait_for "agent ready" is_ready

"$NT_MOAT" observe --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --json --timeout 30 > "$NT_TMP/observe.out" 2>&1 &
OBSERVE_PID=$!
NT_PIDS+=("$OBSERVE_PID")
# A second observer at the same time, in text and filtered to namespace back: both read the
# agent's drop log, neither takes events from the other.
"$NT_MOAT" observe --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --namespace back --timeout 30 > "$NT_TMP/observe2.out" 2>&1 &
OBSERVE2_PID=$!
NT_PIDS+=("$OBSERVE2_PID")

# ---- A generation swap: v2 -> v1 takes db:80 away from front.
nt_stream cut a 10.199.2.2 80           # allowed by v2 only
nt_stream keep a 10.199.2.2 5432        # allowed by both
nt_stream keep6 a fd00:199:2::2 5432    # the same over IPv6
for s in cut keep keep6; do wait_for "stream $s connected" nt_stream_connected "$s"; done
sleep 1
G="$(status_field generation)"
E0="$(status_field epoch)"
use_bundle b1
wait_for "swap to v1" gen_above "$G"
T1="$(status_field updated_unix_ms)"
E1="$(status_field epoch)"
G1="$(status_field generation)"
nt_check "the swap moved the policy epoch ($E0 -> $E1)" test "$E1" -gt "$E0"
sleep 1.5
nt_stream_stop cut
nt_check "v1 cut the db:80 connection v2 had allowed: $(nt_stream_cut_at cut "$T1")" nt_stream_cut_at cut "$T1" >/dev/null

# ---- An in-place update: a is relabelled into the client policy, which isolates its ingress.
nt_stream inplace b 10.199.1.2 80       # b -> a: allowed while a is not isolated
wait_for "stream inplace connected" nt_stream_connected inplace
sleep 1
U="$(status_field updates)"
inventory web-client
wait_for "in-place update (relabel)" updates_above "$U"
T2="$(status_field updated_unix_ms)"
E2="$(status_field epoch)"
nt_check "the relabel was an in-place update (generation $G1)" test "$(status_field generation)" = "$G1"
nt_check "the in-place update moved the policy epoch ($E1 -> $E2)" test "$E2" -gt "$E1"
sleep 1.5
nt_stream_stop inplace
nt_check "relabelling a cut b's connection to a:80: $(nt_stream_cut_at inplace "$T2")" nt_stream_cut_at inplace "$T2" >/dev/null

for s in keep keep6; do
  nt_stream_stop "$s"
  nt_check "connection allowed by every version survived the swap and the update: $(tail -1 "$NT_TMP/stream-$s.out")" \
    test "$NT_STREAM_RC" = 0
done

# The cuts are in the flow log as revocations, and the status shows the epoch.
sleep 0.5
kill "$OBSERVE_PID" "$OBSERVE2_PID" 2>/dev/null; wait "$OBSERVE_PID" "$OBSERVE2_PID" 2>/dev/null
nt_check "moat observe: db's ingress revoked the :80 connection" \
  grep -q '"dst":"10.199.2.2:80".*"revoked":true' "$NT_TMP/observe.out"
nt_check "moat observe: a's ingress revoked b's connection" \
  grep -q '"dst":"10.199.1.2:80".*"revoked":true' "$NT_TMP/observe.out"
nt_check "moat observe: the reason says so" grep -q 'revoked by a policy change' "$NT_TMP/observe.out"
nt_check "moat observe: pods named beside their addresses, with a time and a drop reason" \
  grep -q '"destination":{"address":"10.199.2.2","labels":\["app=db"\],"namespace":"back","pod":"b","port":80}.*"drop_reason":"revoked".*"time":"20' \
  "$NT_TMP/observe.out"
nt_check "a second observer at the same time got the same revocation (filtered to namespace back)" \
  grep -q 'DROP .* -> back/b (10.199.2.2:80) tcp: revoked by a policy change' "$NT_TMP/observe2.out"
nt_check "the filtered observer shows nothing of namespace front alone" \
  sh -c "! grep 'DROP' '$NT_TMP/observe2.out' | grep -v 'back/' | grep -q ."
nt_check "moat status shows the live policy epoch $E2" \
  sh -c "'$NT_MOAT' status --pin-dir '$NT_PIN' --state-dir '$NT_STATE' | grep -q '^live generation .*policy epoch $E2\$'"

kill -TERM "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
for s in cut inplace keep keep6; do nt_log "stream $s: $(tail -1 "$NT_TMP/stream-$s.out")"; done
grep -E "generation|epoch|error" "$NT_TMP/agent.log" | tail -10 >&2
nt_finish
