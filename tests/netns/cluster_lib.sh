# A simulated cluster of several nodes on one machine (sourced after lib.sh by cluster tests).
#
# Topology (dual-stack): lib.sh's node namespace ($NT_NODE) becomes the *fabric*, a bridge
# (br0) joining the nodes as a switch would. Node N is the namespace ${NT_PREFIX}-node-N
# with interface fab0 (10.210.0.N/24, fd00:210::N/64) on that bridge; its Node object's
# InternalIPs are those addresses. Node N's pods take addresses from 10.21N.0.0/16 and
# fd00:21N::/32: pod INDEX is 10.21N.INDEX.2 and fd00:21N:INDEX::2 in a namespace of its
# own, behind a veth h-NAME in the node (gateways 10.21N.INDEX.1, fd00:21N:INDEX::1 on
# h-NAME) with host routes whose source address is the node's InternalIP, so the node's
# own traffic to its pods comes from the address the Node object names (the `host`
# identity). sim_routes gives every node a route to every other node's pod ranges via that
# node's fab0: cross-node pod traffic
# leaves the source node through fab0 and enters the destination node's pod veth, so the
# source node's agent judges egress and the destination node's agent ingress. Nothing has a
# default route: traffic never leaves these namespaces.
#
# Each node runs its own agent (sim_agent) with its own pin directory
# (/sys/fs/bpf/${NT_PREFIX}-node-N), state directory ($NT_TMP/state-N) and bundle link
# ($NT_TMP/bundle-N), following the one fake API server (tests/runtime/fake_kube_api.py),
# which listens on 127.0.0.1 inside every node namespace.

SIM_NODES=()
SIM_FAKE_API="$(cd "$(dirname "${BASH_SOURCE[0]}")/../runtime" && pwd)/fake_kube_api.py"

sim_pin() { echo "/sys/fs/bpf/${NT_PREFIX}-node-$1"; }
sim_state() { echo "$NT_TMP/state-$1"; }
sim_node_ip() { echo "10.210.0.$1"; }
sim_node_ip6() { echo "fd00:210::$1"; }
sim_pod_ip() { echo "10.21$1.$2.2"; }  # sim_pod_ip NODE INDEX
sim_pod_ip6() { echo "fd00:21$1:$2::2"; }

# on NODE CMD...: runs a lib.sh status helper (status_field, is_ready, ...) against NODE's
# agent (those helpers read $NT_STATE).
on() { local n="$1"; shift; NT_STATE="$(sim_state "$n")" "$@"; }

# Detaches every node's agent (lib.sh's nt_cleanup calls this while the namespaces exist).
nt_cleanup_hook() {
  local n
  for n in "${SIM_NODES[@]}"; do
    if [ -d "$(sim_pin "$n")" ]; then
      nsenter --net="/run/netns/${NT_PREFIX}-node-$n" "$NT_MOAT" agent --detach --pin-dir "$(sim_pin "$n")" \
        --state-dir "$(sim_state "$n")" >/dev/null 2>&1
      rm -rf "$(sim_pin "$n")"
    fi
  done
}

# sim_fabric: the bridge joining the nodes, in $NT_NODE (made by nt_init).
sim_fabric() {
  ip -n "$NT_NODE" link add br0 type bridge
  ip -n "$NT_NODE" link set br0 up
}

# sim_node N: node N's namespace, attached to the fabric.
sim_node() {
  local n="$1" ns="${NT_PREFIX}-node-$1"
  ip netns add "$ns"
  NT_PODS+=("node-$n")
  SIM_NODES+=("$n")
  mkdir -p "$(sim_state "$n")"
  ip -n "$ns" link set lo up
  # No duplicate address detection: a tentative address would delay the first IPv6 packets.
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.forwarding=1 \
    net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$NT_NODE" link add "f-$n" type veth peer name fab0 netns "$ns"
  ip -n "$NT_NODE" link set "f-$n" master br0 up
  ip -n "$ns" link set fab0 up
  ip -n "$ns" addr add "$(sim_node_ip "$n")/24" dev fab0
  ip -n "$ns" -6 addr add "$(sim_node_ip6 "$n")/64" dev fab0 nodad
}

# sim_routes: every node routes every other node's pod range via that node (after sim_node).
sim_routes() {
  local n m
  for n in "${SIM_NODES[@]}"; do
    for m in "${SIM_NODES[@]}"; do
      [ "$n" = "$m" ] && continue
      ip -n "${NT_PREFIX}-node-$n" route add "10.21$m.0.0/16" via "$(sim_node_ip "$m")" dev fab0
      ip -n "${NT_PREFIX}-node-$n" -6 route add "fd00:21$m::/32" via "$(sim_node_ip6 "$m")" dev fab0
    done
  done
}

# sim_pod NODE NAME INDEX: pod namespace ${NT_PREFIX}-NAME on node NODE (a CNI's ADD); its
# veth is h-NAME (NAME at most 13 characters).
sim_pod() {
  local n="$1" name="$2" i="$3" ns="${NT_PREFIX}-$2" node="${NT_PREFIX}-node-$1"
  local ip gw ip6 gw6
  ip="$(sim_pod_ip "$n" "$i")" ip6="$(sim_pod_ip6 "$n" "$i")"
  gw="10.21$n.$i.1" gw6="fd00:21$n:$i::1"
  ip netns add "$ns"
  NT_PODS+=("$name")
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$node" link add "h-$name" type veth peer name eth0 netns "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$node" link set "h-$name" up
  ip -n "$node" addr add "$gw/32" dev "h-$name" noprefixroute
  ip -n "$node" route add "$ip/32" dev "h-$name" scope link src "$(sim_node_ip "$n")"
  ip -n "$ns" addr add "$ip/32" dev eth0 noprefixroute
  ip -n "$ns" route add "$gw/32" dev eth0 scope link
  ip -n "$ns" route add default via "$gw"
  ip -n "$node" -6 addr add "$gw6/128" dev "h-$name" nodad noprefixroute
  ip -n "$node" -6 route add "$ip6/128" dev "h-$name" src "$(sim_node_ip6 "$n")"
  ip -n "$ns" -6 addr add "$ip6/128" dev eth0 nodad noprefixroute
  ip -n "$ns" -6 route add "$gw6/128" dev eth0
  ip -n "$ns" -6 route add default via "$gw6"
}

# sim_unpod NODE NAME: the pod's end (the kubelet stops its processes, the CNI's DEL deletes
# its veth, the sandbox goes). The namespace is gone only once no process holds it.
sim_unpod() {
  local ns="${NT_PREFIX}-$2" pid
  ip -n "${NT_PREFIX}-node-$1" link del "h-$2"
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  ip netns del "$ns"
}

# sim_api: starts the fake API server (listening in the fabric and every node namespace);
# sets SIM_API (its URL) and SIM_TOKEN (the token file). After sim_node.
sim_api() {
  command -v curl >/dev/null || nt_skip_or_fail "curl missing"
  command -v jq >/dev/null || nt_skip_or_fail "jq missing"
  SIM_TOKEN="$NT_TMP/token"
  echo "token-$$" > "$SIM_TOKEN"
  local args=() n
  for n in "${SIM_NODES[@]}"; do args+=(--netns "/run/netns/${NT_PREFIX}-node-$n"); done
  # nsenter itself in the background: its pid is the server's, so the cleanup's kill reaches it.
  nsenter --net="/run/netns/$NT_NODE" python3 "$SIM_FAKE_API" --port-file "$NT_TMP/port" \
    --token-file "$SIM_TOKEN" "${args[@]}" 2>>"$NT_TMP/api.log" &
  NT_PIDS+=("$!")
  sim_port_written() { [ -s "$NT_TMP/port" ]; }
  wait_for "the fake API server" sim_port_written || exit 1
  SIM_API="http://127.0.0.1:$(cat "$NT_TMP/port")"
}

# sim_ctl JSON: one control command to the fake API server; prints its answer.
sim_ctl() { printf '%s' "$1" | nt_node_exec curl -sf -X POST --data-binary @- "$SIM_API/_control"; }
sim_put() { sim_ctl "{\"op\":\"put\",\"resource\":\"$1\",\"object\":$2}" >/dev/null; }  # sim_put RESOURCE JSON
sim_del() { sim_ctl "{\"op\":\"delete\",\"resource\":\"$1\",\"key\":\"$2\"}" >/dev/null; }  # sim_del RESOURCE KEY
# sim_get_node NAME: the Node object as the API server has it now (JSON).
sim_get_node() { nt_node_exec curl -sf -H "Authorization: Bearer $(cat "$SIM_TOKEN")" "$SIM_API/api/v1/nodes/$1"; }

# sim_put_pod NODE NS NAME LABELS-JSON INDEX UID [EXTRA-SPEC-JSON [EXTRA-METADATA-JSON]]: the
# Pod object of a pod running on node NODE at sim_pod_ip and sim_pod_ip6 NODE INDEX.
sim_put_pod() {
  local extra="${7:-}" meta="${8:-}"
  sim_put pods "{\"metadata\":{\"namespace\":\"$2\",\"name\":\"$3\",\"uid\":\"$6\",\"labels\":$4${meta:+,$meta}},
    \"spec\":{\"nodeName\":\"node-$1\",\"containers\":[{\"name\":\"c\"}]${extra:+,$extra}},
    \"status\":{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"$(sim_pod_ip "$1" "$5")\"},{\"ip\":\"$(sim_pod_ip6 "$1" "$5")\"}]}}"
}

# sim_agent NODE: node NODE's agent, following the fake API server, enforcing the bundle
# its link $NT_TMP/bundle-NODE names (sim_use_bundle).
sim_agent() {
  local n="$1"
  nsenter --net="/run/netns/${NT_PREFIX}-node-$n" "$NT_MOAT" agent --bundle "$NT_TMP/bundle-$n" \
    --kube-api "$SIM_API" --kube-token-file "$SIM_TOKEN" --node-name "node-$n" --poll-ms 100 \
    --pin-dir "$(sim_pin "$n")" --state-dir "$(sim_state "$n")" 2>>"$NT_TMP/agent-$n.log" &
  NT_PIDS+=("$!")
}

# sim_use_bundle NODE DIR: points node NODE's bundle link at DIR (one rename: the agent sees
# the old or the new bundle, never a mix).
sim_use_bundle() {
  ln -sfn "$2" "$NT_TMP/bundle-$1.new" && mv -T "$NT_TMP/bundle-$1.new" "$NT_TMP/bundle-$1"
}

# sim_taint_sidecar NODE: what deploy/daemonset.yaml's `taint` container does, against the
# fake API server from node NODE's namespace: wait until the agent's status.json says ready
# (the same test as the sidecar's), then remove moat.dev/agent-not-ready from the Node's
# taints (GET, then PATCH the remaining list, as `kubectl taint NODE KEY-` does), retrying.
sim_taint_sidecar() {
  local n="$1"
  nsenter --net="/run/netns/${NT_PREFIX}-node-$n" bash -c '
    state="$1" api="$2" token="$3" node="$4"
    until grep -q "\"ready\": true" "$state/status.json" 2>/dev/null; do sleep 0.1; done
    auth="Authorization: Bearer $(cat "$token")"
    until obj=$(curl -sf -H "$auth" "$api/api/v1/nodes/$node") &&
          patch=$(printf "%s" "$obj" | jq -c "{spec: {taints: [(.spec.taints // [])[] | select(.key != \"moat.dev/agent-not-ready\")]}}") &&
          curl -sf -X PATCH -H "$auth" -H "Content-Type: application/strategic-merge-patch+json" \
            --data "$patch" "$api/api/v1/nodes/$node" >/dev/null; do
      sleep 0.5
    done' sh "$(sim_state "$n")" "$SIM_API" "$SIM_TOKEN" "node-$n" 2>>"$NT_TMP/taint-$n.log" &
  NT_PIDS+=("$!")
}

# Drop logs per node: sim_observe NODE follows NODE's agent's drops (moat observe --json) into
# $NT_TMP/observe-NODE.out; sim_mark remembers how far every node's log is, and
# sim_dropped_at NODE PATTERN... holds when NODE's log has, since the mark, a drop matching
# every PATTERN (grep -E).
sim_observe() {
  "$NT_MOAT" observe --pin-dir "$(sim_pin "$1")" --state-dir "$(sim_state "$1")" --json \
    > "$NT_TMP/observe-$1.out" 2>&1 &
  NT_PIDS+=("$!")
}
declare -A SIM_MARK
sim_mark() {
  local n
  for n in "${SIM_NODES[@]}"; do SIM_MARK[$n]=$(wc -l < "$NT_TMP/observe-$n.out"); done
}
sim_dropped_at() {
  local n="$1" lines
  shift
  lines="$(tail -n +"$((${SIM_MARK[$n]:-0} + 1))" "$NT_TMP/observe-$n.out")"
  local p
  for p in "$@"; do lines="$(printf '%s\n' "$lines" | grep -E -- "$p")" || return 1; done
  [ -n "$lines" ]
}
