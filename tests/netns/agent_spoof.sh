#!/usr/bin/env bash
# Forged sources (DATAPATH.md, "Source addresses"): a pod that is not egress-isolated sends,
# through an AF_PACKET socket on its own eth0 (what the default CAP_NET_RAW allows), a TCP
# SYN and a UDP datagram "from" the protected db's address:port to itself, then connects
# to db from that port for real. Without the source check and the per-endpoint conntrack key
# the forged packet's conntrack entry made the real connection look like db's reply; now the
# forged frames are dropped (reason spoofed, in `moat observe` and the status counters) and
# the real connection meets db's policy. Allowed connections (both directions, IPv4 and
# IPv6) and their replies still pass.
#   agent_spoof.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
nt_init "$1" "$2"

# other/web (the attacker, isolated by nothing), back/db (the protected pod), front/client.
nt_pod web 1
nt_pod db 2
nt_pod client 3

# front/client: isolated both ways, egress only to namespace back; back/db: ingress only from
# namespace front, tcp 5432 and udp 5353 (lib.sh). web lives in namespace other.
nt_client_db_policy "$NT_TMP/policy" "{port: 5432}, {port: 5353, protocol: UDP}" \
  "{port: 5432}, {port: 5353, protocol: UDP}"
cat > "$NT_TMP/node.yaml" <<'EOF'
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 10.199.1.1}, {type: InternalIP, address: 10.199.2.1}, {type: InternalIP, address: 10.199.3.1}]}
EOF
pod() {  # pod NS NAME APP INDEX
  cat <<EOF
  - kind: Pod
    metadata: {name: $2, namespace: $1, labels: {app: $3}}
    spec: {nodeName: node-1}
    status: {podIPs: [{ip: 10.199.$4.2}, {ip: "fd00:199:$4::2"}]}
EOF
}
{
  echo "kind: List"
  echo "items:"
  echo "  - {kind: Namespace, metadata: {name: front}}"
  echo "  - {kind: Namespace, metadata: {name: back}}"
  echo "  - {kind: Namespace, metadata: {name: other}}"
  pod other web web 1
  pod back db db 2
  pod front client web-client 3
} > "$NT_TMP/inventory.yaml"
"$NT_MOAT" build -o "$NT_TMP/bundle" "$NT_TMP/policy" >/dev/null || { nt_log "moat build failed"; exit 1; }
for p in web db client; do nt_serve "$p"; done

AGENT=(agent --bundle "$NT_TMP/bundle" --node "$NT_TMP/node.yaml" --inventory "$NT_TMP/inventory.yaml"
       --pin-dir "$NT_PIN" --state-dir "$NT_STATE")
nt_check "agent --once attaches and reports ready" nt_node_exec "$NT_MOAT" "${AGENT[@]}" --once

nt_node_exec "$NT_MOAT" observe --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --json --timeout 30 \
  > "$NT_TMP/observe.out" 2>&1 &
OBSERVE_PID=$!
NT_PIDS+=("$OBSERVE_PID")
sleep 0.5

# Ordinary traffic first: allowed connections pass both ways, with their replies.
nt_expect allow client tcp 10.199.2.2 5432 "client -> db (replies cross client's isolated ingress)"
nt_expect allow client udp 10.199.2.2 5353 "client -> db udp"
nt_expect allow client tcp fd00:199:2::2 5432 "client -> db over IPv6"
nt_expect allow db tcp 10.199.1.2 80 "db -> web: nothing isolates it"
nt_expect deny  web tcp 10.199.3.2 5432 "web -> client: client's ingress is isolated"
nt_expect deny  web tcp 10.199.2.2 5432 "web -> db: db's ingress does not allow web"
nt_expect deny  web udp 10.199.2.2 5353 "web -> db udp"
nt_expect deny  web tcp fd00:199:2::2 5432 "web -> db over IPv6"

GW_MAC="$(ip -n "$NT_NODE" -o link show h-web | grep -o 'link/ether [0-9a-f:]*' | awk '{print $2}')"
forge() {  # forge tcp|udp SRC SPORT DST DPORT: one forged frame on web's eth0
  nt_exec web "$NT_PROBE" forge "$1" eth0 "$GW_MAC" "$2" "$3" "$4" "$5" >/dev/null
}
# The attack, per protocol and family: a forged packet db:PORT -> web:SPORT, then web's real
# connection from SPORT to db:PORT, which must still be refused.
attack() {  # attack tcp|udp DB WEB PORT SPORT
  nt_check "web forged a $1 packet from $2:$4 on its eth0" forge "$1" "$2" "$4" "$3" "$5"
  sleep 0.1
  NT_CHECKS=$((NT_CHECKS + 1))
  if nt_exec web "$NT_PROBE" probe "$1" "$2" "$4" --sport "$5" --timeout-ms 600 >/dev/null 2>&1; then
    nt_log "FAIL web -> $2 $1/$4 from port $5 passed as the reply of the forged packet"
    NT_FAILS=$((NT_FAILS + 1))
  else
    nt_log "ok   web -> $2 $1/$4 from port $5 refused after the forged packet"
  fi
}
attack tcp 10.199.2.2 10.199.1.2 5432 41000
attack udp 10.199.2.2 10.199.1.2 5353 41001
attack tcp fd00:199:2::2 fd00:199:1::2 5432 41002
attack udp fd00:199:2::2 fd00:199:1::2 5353 41003

# Still ordinary afterwards.
nt_expect allow client tcp 10.199.2.2 5432 "client -> db after the attack"
nt_expect allow db tcp fd00:199:1::2 80 "db -> web over IPv6 after the attack"
nt_expect deny  web tcp 10.199.3.2 5432 "web -> client after the attack"

sleep 0.5
kill "$OBSERVE_PID" 2>/dev/null; wait "$OBSERVE_PID" 2>/dev/null
spoofed_drop() {  # spoofed_drop SRC: observe reported an egress drop from SRC as spoofed
  grep '"reason":"spoofed"' "$NT_TMP/observe.out" | grep '"direction":"egress"' | grep -qF "\"src\":\"$1\""
}
nt_check "moat observe: the forged SYN was dropped as spoofed" spoofed_drop "10.199.2.2:5432"
nt_check "moat observe: the forged IPv6 datagram too" spoofed_drop "[fd00:199:2::2]:5353"
STATUS_JSON="$(nt_node_exec "$NT_MOAT" status --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --json)"
nt_check "moat status counts the spoofed packets" \
  sh -c "grep -B1 '\"rule\": \"spoofed\"' | grep -q '\"packets\": [1-9]'" <<<"$STATUS_JSON"
grep spoofed "$NT_TMP/observe.out" >&2
nt_finish
