#!/usr/bin/env bash
# Datapath comparison with what a user would pick instead: one synthetic ingress policy
# (bench/datapath/gen_rules.py) enforced by moat (`moat agent --once`: tc on the pod's veth),
# by iptables (legacy xtables and iptables-nft: a chain per policy, linear rules) and by
# nftables (one concatenated verdict map), on a node made of network namespaces
# (tests/netns/lib.sh: client pod -> node -> server pod, all test-made, no route out). A UDP
# flood from the client (udp_flood.c) goes through the node's forwarding path to the server;
# the sender's rate is the per-packet cost of the path with the filter. Two cases: packets
# matching the LAST rule (worst case for a linear chain) and packets no rule allows (denied
# after every rule). Prints one table of median packets per second over the rounds; fails if
# a filter let a denied datagram through or dropped an allowed one. Needs root.
#   bench/datapath/compare.sh [BUILD_DIR]
# Environment: MOAT_COMPARE_RULES (10,1000,10000), MOAT_COMPARE_REPEAT (5 rounds of every
# filter), MOAT_COMPARE_PACKETS (200000 per run), MOAT_COMPARE_SECONDS (a run stops
# after this many seconds, 2), MOAT_COMPARE_MODES (none,moat,iptables-legacy,iptables-nft,nft).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
rules=${MOAT_COMPARE_RULES:-10,1000,10000}
repeat=${MOAT_COMPARE_REPEAT:-5}
packets=${MOAT_COMPARE_PACKETS:-200000}
seconds=${MOAT_COMPARE_SECONDS:-2}
modes=${MOAT_COMPARE_MODES:-none,moat,iptables-legacy,iptables-nft,nft}

[ "$(id -u)" = 0 ] || { echo "compare.sh: needs root" >&2; exit 1; }
for tool in iptables-legacy-restore iptables-nft-restore nft python3 cc; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool missing (apt-get install -y iptables nftables)" >&2; exit 1; }
done
if [ ! -x "$build/moat" ]; then
  ninja -C "$build" moat >/dev/null || { echo "compare.sh: cannot build moat in $build" >&2; exit 1; }
fi

NT_ID="bench$$"
source "$root/tests/netns/lib.sh"
FLOOD="$NT_TMP/udp_flood"
cc -O2 -Wall -o "$FLOOD" "$here/udp_flood.c" || exit 1
nt_init "$build/moat" "$FLOOD"
set -u
nt_pod cl 1
nt_pod web 2
SERVER=10.199.2.2
# The client sends from the rules' source addresses (the node forwards them like traffic
# from outside the node; the client is no pod of the policy's inventory).
nt_node_exec sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.h-cl.rp_filter=0
nt_node_exec ip route add 172.16.0.0/12 dev h-cl scope link

cat > "$NT_TMP/node.yaml" <<EOF
apiVersion: v1
kind: Node
metadata: {name: node-1}
status:
  addresses: [{type: InternalIP, address: 10.199.2.1}]
EOF
cat > "$NT_TMP/inventory.yaml" <<EOF
apiVersion: v1
kind: List
items:
  - {kind: Namespace, metadata: {name: bench}}
  - kind: Pod
    metadata: {name: web, namespace: bench, labels: {app: web}}
    spec: {nodeName: node-1, containers: [{name: main}]}
    status: {phase: Running, podIPs: [{ip: $SERVER}, {ip: "fd00:199:2::2"}]}
EOF

# Datagrams that reached the server's UDP layer (delivered or dropped for a full buffer).
udp_in() {
  nt_exec web awk '/^Udp:/ { if (h) { print $2 + $6; exit } h = 1 }' /proc/net/snmp
}

setup() {  # setup MODE DIR
  case "$1" in
    none) ;;
    moat)
      nt_node_exec "$build/moat" agent --bundle "$2/bundle" --node "$NT_TMP/node.yaml" \
        --inventory "$NT_TMP/inventory.yaml" --pin-dir "$NT_PIN" --state-dir "$NT_STATE" --once >"$2/agent.log" 2>&1 ||
        { cat "$2/agent.log" >&2; return 1; } ;;
    iptables-legacy) nt_node_exec iptables-legacy-restore <"$2/iptables.rules" ;;
    iptables-nft) nt_node_exec iptables-nft-restore <"$2/iptables.rules" ;;
    nft) nt_node_exec nft -f "$2/nft.rules" ;;
  esac
}

teardown() {  # teardown MODE
  case "$1" in
    none) ;;
    moat) nt_node_exec "$build/moat" agent --detach --pin-dir "$NT_PIN" --state-dir "$NT_STATE" >/dev/null 2>&1 ;;
    iptables-legacy) nt_node_exec iptables-legacy -F && nt_node_exec iptables-legacy -X ;;
    iptables-nft) nt_node_exec iptables-nft -F && nt_node_exec iptables-nft -X ;;
    nft) nt_node_exec nft delete table inet moat_bench ;;
  esac
}

# flood SOURCE EXPECT: prints the rate of one flood to the server's bound port; EXPECT allow
# means most datagrams must reach the server, deny that none may (else the filter is not in
# effect and the run fails).
flood() {
  local src="$1" expect="$2" before after out pps sent got
  before=$(udp_in)
  out=$(nt_exec cl "$FLOOD" "$src" "$SERVER" "$LAST_PORT" "$packets" "$seconds") || return 1
  after=$(udp_in)
  sent=$(awk '{ print $2 }' <<<"$out")
  pps=$(awk '{ print $6 }' <<<"$out")
  got=$((after - before))
  if [ "$expect" = deny ] && [ "$got" -ne 0 ]; then
    nt_log "WRONG: $got of $sent denied datagrams reached the server"; return 1
  fi
  if [ "$expect" = allow ] && [ $((got * 2)) -lt "$sent" ]; then
    nt_log "WRONG: only $got of $sent allowed datagrams reached the server"; return 1
  fi
  echo "$pps"
}

# Each round runs every filter once, so that load drifting on a shared machine spreads over
# all of them instead of favouring whichever ran in a quiet minute; a cell is the median
# over the rounds. The server port is bound (never read: a full buffer drops cheaply) so
# that allowed datagrams are not answered with ICMP.
raw="$NT_TMP/raw"
: >"$raw"
status=0
for n in $(tr ',' ' ' <<<"$rules"); do
  dir="$NT_TMP/rules-$n"
  python3 "$here/gen_rules.py" "$n" "$SERVER" h-web "$dir" || exit 1
  "$build/moat" build -o "$dir/bundle" "$dir/policy" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
  source "$dir/probe.env"
  for a in "$LAST_SOURCE" "$UNMATCHED_SOURCE"; do
    nt_exec cl ip addr replace "$a/32" dev eth0
  done
  nt_bg web python3 -c "import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('$SERVER',$LAST_PORT)); time.sleep(1e9)"
  server_pid=${NT_PIDS[-1]}
  for _ in $(seq 100); do
    nt_exec web ss -Hlun "sport = :$LAST_PORT" | grep -q . && break
    sleep 0.1
  done
  # One warm-up flood resolves the neighbours on both hops before anything is measured.
  nt_exec cl "$FLOOD" "$LAST_SOURCE" "$SERVER" "$LAST_PORT" 1000 1 >/dev/null
  for round in $(seq "$repeat"); do
    for mode in $(tr ',' ' ' <<<"$modes"); do
      setup "$mode" "$dir" || { nt_log "setup $mode failed at $n rules"; status=1; continue; }
      deny_expect=deny
      [ "$mode" = none ] && deny_expect=allow
      last=$(flood "$LAST_SOURCE" allow) || { status=1; last=WRONG; }
      denied=$(flood "$UNMATCHED_SOURCE" "$deny_expect") || { status=1; denied=WRONG; }
      teardown "$mode"
      nt_log "$n rules, round $round, $mode: last rule $last pps, denied $denied pps"
      echo "$n $mode $last $denied" >>"$raw"
    done
  done
  kill "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
echo "| rules | filter | last rule (packets/s) | denied (packets/s) |"
echo "|---:|---|---:|---:|"
for n in $(tr ',' ' ' <<<"$rules"); do
  for mode in $(tr ',' ' ' <<<"$modes"); do
    last=$(awk -v n="$n" -v m="$mode" '$1 == n && $2 == m && $3 != "WRONG" { print $3 }' "$raw" | median)
    denied=$(awk -v n="$n" -v m="$mode" '$1 == n && $2 == m && $4 != "WRONG" { print $4 }' "$raw" | median)
    echo "| $n | $mode | $last | $denied |"
  done
done
exit $status
