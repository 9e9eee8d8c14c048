# Network-namespace harness for the agent's end-to-end tests (sourced by the test scripts).
#
# Topology: one "node" namespace that routes between "pod" namespaces. Each pod is a
# namespace with eth0 (10.199.I.2, fd00:199:I::2) whose veth peer h-NAME lives in the node
# namespace (10.199.I.1, fd00:199:I::1) — a pod's host-side interface, where the agent
# attaches its tc programs. Addressing is CNI-shaped (as Calico, Cilium with endpoint routes
# or the AWS VPC CNI set it up): no shared subnet, but a host route per pod address
# (10.199.I.2/32 and fd00:199:I::2/128 dev h-NAME) on the node, and on the pod a host route
# to its gateway plus a default route; the agent finds a pod's interface from that route. Every namespace, interface, cgroup and bpffs pin directory
# is created here with a unique name and removed on exit; traffic never leaves them.
#
# Exit codes: 77 = skipped (not root / no bpf, unless MOAT_REQUIRE_KERNEL=1), 1 = failure.

set -u
NT_ID="${NT_ID:-$$}"
NT_PREFIX="moat${NT_ID}"
NT_NODE="${NT_PREFIX}-node"
NT_TMP="$(mktemp -d "/tmp/${NT_PREFIX}.XXXXXX")"
NT_PIN="/sys/fs/bpf/${NT_PREFIX}"
NT_STATE="${NT_TMP}/state"
NT_PODS=()
NT_PIDS=()
NT_CGROUPS=()
NT_FAILS=0
NT_CHECKS=0

nt_log() { echo "[$(date +%H:%M:%S.%3N)] $*" >&2; }

nt_skip_or_fail() {
  if [ "${MOAT_REQUIRE_KERNEL:-0}" = "1" ]; then
    nt_log "FAIL (MOAT_REQUIRE_KERNEL=1): $*"
    exit 1
  fi
  nt_log "SKIP: $*"
  exit 77
}

nt_cleanup() {
  local rc=$?
  set +e
  for pid in "${NT_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for pid in "${NT_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [ -n "${NT_MOAT:-}" ] && [ -d "$NT_PIN" ]; then
    nt_node_exec "$NT_MOAT" agent --detach --pin-dir "$NT_PIN" --state-dir "$NT_STATE" >/dev/null 2>&1
  fi
  # A test with more than one node (cluster_lib.sh) detaches its other agents here, while
  # their namespaces still exist.
  declare -F nt_cleanup_hook >/dev/null && nt_cleanup_hook
  for p in "${NT_PODS[@]}"; do ip netns del "${NT_PREFIX}-$p" 2>/dev/null; done
  ip netns del "$NT_NODE" 2>/dev/null
  for cg in "${NT_CGROUPS[@]}"; do
    # Processes were killed above; move stragglers out before removing the directory.
    if [ -f "$cg/cgroup.procs" ]; then
      for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
      sleep 0.1
      rmdir "$cg" 2>/dev/null
    fi
  done
  rm -rf "$NT_PIN" 2>/dev/null
  rm -rf "$NT_TMP"
  exit $rc
}

# nt_init MOAT NETPROBE: checks privileges, mounts bpffs if needed, creates the node.
nt_init() {
  NT_MOAT="$1"
  NT_PROBE="$2"
  trap nt_cleanup EXIT
  trap 'exit 1' INT TERM
  [ "$(id -u)" = 0 ] || nt_skip_or_fail "not root"
  [ -x "$NT_MOAT" ] || nt_skip_or_fail "moat binary missing: $NT_MOAT"
  [ -x "$NT_PROBE" ] || nt_skip_or_fail "netprobe missing: $NT_PROBE"
  if ! mountpoint -q /sys/fs/bpf; then
    mount -t bpf bpf /sys/fs/bpf || nt_skip_or_fail "cannot mount bpffs"
  fi
  "$NT_MOAT" agent --probe-kernel >/dev/null 2>&1 || nt_skip_or_fail "no bpf() in this kernel"
  mkdir -p "$NT_STATE"
  ip netns add "$NT_NODE" || nt_skip_or_fail "cannot create network namespaces"
  ip -n "$NT_NODE" link set lo up
  ip netns exec "$NT_NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# nt_pod NAME INDEX: a pod namespace with its veth pair; INDEX (1-250) picks its subnet.
nt_pod() {
  local name="$1" i="$2" ns="${NT_PREFIX}-$1"
  ip netns add "$ns"
  NT_PODS+=("$name")
  # No duplicate address detection: a tentative link-local address delays the first IPv6
  # packets by a second or more, which a bounded probe would read as a drop.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  nt_veth "$name" "$i"
}

# nt_repod NAME INDEX: deletes the pod's veth pair and creates it again (same names and
# addresses, new ifindex), as a CNI does when a pod's sandbox is recreated.
nt_repod() {
  ip -n "$NT_NODE" link del "h-$1"
  nt_veth "$1" "$2"
}

nt_veth() {
  local name="$1" i="$2" ns="${NT_PREFIX}-$1"
  ip -n "$NT_NODE" link add "h-$name" type veth peer name eth0 netns "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$NT_NODE" link set "h-$name" up
  # Single addresses without prefix routes, then one host route per side.
  ip -n "$NT_NODE" addr add "10.199.$i.1/32" dev "h-$name" noprefixroute
  ip -n "$NT_NODE" -6 addr add "fd00:199:$i::1/128" dev "h-$name" nodad noprefixroute
  ip -n "$NT_NODE" route add "10.199.$i.2/32" dev "h-$name" scope link
  ip -n "$NT_NODE" -6 route add "fd00:199:$i::2/128" dev "h-$name"
  ip -n "$ns" addr add "10.199.$i.2/32" dev eth0 noprefixroute
  ip -n "$ns" -6 addr add "fd00:199:$i::2/128" dev eth0 nodad noprefixroute
  ip -n "$ns" route add "10.199.$i.1/32" dev eth0 scope link
  ip -n "$ns" -6 route add "fd00:199:$i::1/128" dev eth0
  ip -n "$ns" route add default via "10.199.$i.1"
  ip -n "$ns" -6 route add default via "fd00:199:$i::1"
  # No static neighbours: pod and node find each other by ARP and IPv6 neighbour discovery,
  # which the datapath always passes (see nt_ndp_check).
}

# nt_client_db_policy DIR CLIENT-PORTS DB-PORTS: writes DIR/policy.yaml, the two
# NetworkPolicies the reload tests share: front/{app: web-client} isolated both ways with
# egress to namespace back on CLIENT-PORTS; back/{app: db} ingress from namespace front on
# DB-PORTS (each a YAML flow list's items, e.g. "{port: 5432}, {port: 80}").
nt_client_db_policy() {
  mkdir -p "$1"
  cat > "$1/policy.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client, namespace: front}
spec:
  podSelector: {matchLabels: {app: web-client}}
  policyTypes: [Ingress, Egress]
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: back}}}]
      ports: [$2]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: back}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: front}}}]
      ports: [$3]
EOF
}

# nt_node_addr ADDR/LEN: an extra local address of the node (e.g. the DNS proxy's), on its
# loopback interface (no dummy-interface module needed).
nt_node_addr() {
  case "$1" in
    *:*) ip -n "$NT_NODE" -6 addr add "$1" dev lo nodad ;;
    *) ip -n "$NT_NODE" addr add "$1" dev lo ;;
  esac
}

# nt_uplink: gives the node an uplink like a real node's eth0: interface "up0" (10.199.250.1/24)
# carrying the default routes, whose peer sits in a namespace of its own that answers
# nothing (traffic still never leaves the test's namespaces).
nt_uplink() {
  local ns="${NT_PREFIX}-world"
  ip netns add "$ns"
  NT_PODS+=("world")
  ip -n "$NT_NODE" link add up0 type veth peer name eth0 netns "$ns"
  ip -n "$NT_NODE" link set up0 up
  ip -n "$ns" link set eth0 up
  ip -n "$NT_NODE" addr add 10.199.250.1/24 dev up0
  ip -n "$NT_NODE" -6 addr add fd00:199:250::1/64 dev up0 nodad
  ip -n "$ns" addr add 10.199.250.2/24 dev eth0
  ip -n "$ns" -6 addr add fd00:199:250::2/64 dev eth0 nodad
  ip -n "$NT_NODE" route add default via 10.199.250.2
  ip -n "$NT_NODE" -6 route add default via fd00:199:250::2
}

nt_cgroup2() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }  # the cgroup v2 mount

# nt_cgroup NAME: creates a cgroup v2 directory for a pod's processes; sets NT_CG to it.
nt_cgroup() {
  local root
  root="$(nt_cgroup2)"
  [ -n "$root" ] || return 1
  NT_CG="$root/${NT_PREFIX}-$1"
  mkdir -p "$NT_CG" || return 1
  NT_CGROUPS+=("$NT_CG")
}

# nt_kubepods: a kubelet-like kubepods hierarchy (systemd driver) of this test under the cgroup
# v2 mount; sets NT_KUBEPODS to its root (basename "${NT_PREFIX}-kubepods.slice").
nt_kubepods() { nt_cgroup kubepods.slice && NT_KUBEPODS="$NT_CG"; }

# nt_pod_cgroup QOS UID: the pod cgroup the kubelet would make under NT_KUBEPODS for a pod of
# QoS class QOS (guaranteed, burstable, besteffort) with metadata.uid UID; sets NT_CG.
nt_pod_cgroup() {
  local p="${NT_PREFIX}-kubepods" u="${2//-/_}" dir
  case "$1" in
    guaranteed) dir="$NT_KUBEPODS/$p-pod$u.slice" ;;
    *) dir="$NT_KUBEPODS/$p-$1.slice"
       if [ ! -d "$dir" ]; then mkdir "$dir" || return 1; NT_CGROUPS=("$dir" "${NT_CGROUPS[@]}"); fi
       dir="$dir/$p-$1-pod$u.slice" ;;
  esac
  mkdir "$dir" || return 1
  NT_CGROUPS=("$dir" "${NT_CGROUPS[@]}")  # removed before their parents
  NT_CG="$dir"
}

# nt_in_cgroup CG POD CMD...: runs CMD in POD's network namespace inside cgroup CG.
nt_in_cgroup() { local cg="$1" p="$2"; shift 2; nt_exec "$p" sh -c "echo \$\$ > '$cg/cgroup.procs' && exec \"\$@\"" sh "$@"; }

# Pod commands enter only the network namespace (not `ip netns exec`, which remounts /sys
# and would hide the cgroup and bpf filesystems).
nt_exec() { local p="$1"; shift; nsenter --net="/run/netns/${NT_PREFIX}-$p" "$@"; }
# The node namespace without a new mount namespace, so /sys/fs/bpf stays the host's bpffs.
nt_node_exec() { nsenter --net="/run/netns/$NT_NODE" "$@"; }

# nt_bg POD CMD...: runs CMD in POD in the background; remembers its pid for cleanup.
nt_bg() {
  local p="$1"; shift
  nsenter --net="/run/netns/${NT_PREFIX}-$p" "$@" &
  NT_PIDS+=("$!")
}

# nt_serve POD: echo servers on TCP 80, 8080, 5432 and UDP 53, 5353 inside POD.
nt_serve() {
  nt_bg "$1" "$NT_PROBE" serve --tcp 80 --tcp 8080 --tcp 5432 --udp 53 --udp 5353
  # Wait (bounded) until the server answers on loopback.
  local n=0
  until nt_exec "$1" "$NT_PROBE" probe tcp 127.0.0.1 80 --timeout-ms 200 >/dev/null 2>&1; do
    n=$((n + 1)); [ $n -lt 50 ] || { nt_log "server in $1 did not start"; return 1; }
    sleep 0.1
  done
}

# nt_expect allow|deny FROM PROTO ADDR PORT [label]: one probe, checked.
nt_expect() {
  nt_verdict "$1" "$2 -> $4 $3/$5" "${6:-}" nt_exec "$2" "$NT_PROBE" probe "$3" "$4" "$5" --timeout-ms 600
}

# nt_expect_cg CG allow|deny FROM PROTO ADDR PORT [label]: the same, FROM's probe running
# inside cgroup CG (so cgroup_skb programs on CG judge it).
nt_expect_cg() {
  local cg="$1"; shift
  nt_verdict "$1" "$2(cgroup) -> $4 $3/$5" "${6:-}" nt_in_cgroup "$cg" "$2" "$NT_PROBE" probe "$3" "$4" "$5" --timeout-ms 600
}

nt_verdict() {  # nt_verdict allow|deny WHAT LABEL CMD...: CMD succeeding means allowed; checked
  local want="$1" what="$2" label="$3" got=deny
  shift 3
  "$@" >/dev/null 2>&1 && got=allow
  NT_CHECKS=$((NT_CHECKS + 1))
  if [ "$got" = "$want" ]; then
    nt_log "ok   $what: $got $label"
  else
    nt_log "FAIL $what: expected $want, got $got $label"
    NT_FAILS=$((NT_FAILS + 1))
  fi
}

# nt_neigh_known NETNS ADDR DEV: ADDR has a resolved neighbour entry on DEV in NETNS (waits a
# bounded 1 s: the entry is written when the advertisement arrives, which may trail the
# connection that caused it by a moment).
nt_neigh_known() {
  local n=0
  until ip -n "$1" -6 neigh show "$2" dev "$3" | grep -qE "REACHABLE|STALE|DELAY|PROBE"; do
    n=$((n + 1)); [ $n -lt 20 ] || { ip -n "$1" -6 neigh show dev "$3" >&2; return 1; }
    sleep 0.05
  done
}

# nt_ndp_check POD INDEX ADDR PORT [link-local]: IPv6 neighbour discovery through the
# enforced pod's programs (counted). Both ends forget each other, then a TCP connection over
# IPv6 from POD to an allowed peer ADDR:PORT behind the gateway must succeed, and each end
# must have learned the other's link-layer address: the pod's solicitation and the node's
# advertisement (and the node's solicitation of the pod) crossed the pod's egress and
# ingress programs. With `link-local`, the pod's default route goes via the node's
# link-local address for the check (as many CNIs set it up): the node's advertisements then
# come from an address that is no node identity, so an ingress-isolated pod receives them
# only because NDP passes, not as host traffic.
nt_ndp_check() {
  local pod="$1" i="$2" ns="${NT_PREFIX}-$1" gw="fd00:199:$2::1"
  if [ "${5:-}" = link-local ]; then
    gw="$(ip -n "$NT_NODE" -6 -o addr show dev "h-$pod" scope link | awk '{print $4}' | cut -d/ -f1)"
    ip -n "$ns" -6 route replace default via "$gw" dev eth0
  fi
  ip -n "$ns" -6 neigh flush dev eth0
  ip -n "$NT_NODE" -6 neigh flush dev "h-$pod"
  nt_check "$pod and the node forgot each other's IPv6 neighbour entries (gateway $gw)" \
    sh -c "[ -n '$gw' ] && ! ip -n $ns -6 neigh show $gw dev eth0 | grep -qE 'REACHABLE|STALE|DELAY|PROBE'"
  nt_expect allow "$pod" tcp "$3" "$4" "IPv6 via a gateway resolved by NDP under enforcement"
  nt_check "$pod resolved its IPv6 gateway $gw by neighbour discovery" nt_neigh_known "$ns" "$gw" eth0
  nt_check "the node resolved $pod by neighbour discovery" nt_neigh_known "$NT_NODE" "fd00:199:$i::2" "h-$pod"
  ip -n "$ns" -6 route replace default via "fd00:199:$i::1" dev eth0
}

# Status helpers for tests that run the agent as a daemon (reading STATE/status.json).
status_field() { grep -o "\"$1\": [0-9a-z.]*" "$NT_STATE/status.json" 2>/dev/null | head -1 | awk '{print $2}'; }
wait_for() {  # wait_for DESCRIPTION CMD...: bounded (NT_WAIT_S, 15 s) wait until CMD succeeds
  local what="$1"; shift
  local end=$((SECONDS + ${NT_WAIT_S:-15}))
  until "$@"; do
    if [ $SECONDS -ge $end ]; then nt_log "FAIL timed out waiting: $what"; NT_FAILS=$((NT_FAILS + 1)); return 1; fi
    sleep 0.1
  done
}
is_ready() { [ "$(status_field ready)" = "true" ]; }
gen_above() { local g; g="$(status_field generation)"; [ -n "$g" ] && [ "$g" -gt "$1" ]; }
updates_above() { local u; u="$(status_field updates)"; [ -n "$u" ] && [ "$u" -gt "$1" ]; }

# Long-lived TCP connections (netprobe stream), for checks that established connections
# are cut or survive: one message per NT_INTERVAL ms, every echo reported in
# $NT_TMP/stream-NAME.out as "SENT_MS RTT ok|lost".
NT_INTERVAL=100
NT_STREAMS=()
nt_stream() {  # nt_stream NAME FROM ADDR PORT: FROM is a namespace under NT_PREFIX
  nsenter --net="/run/netns/${NT_PREFIX}-$2" "$NT_PROBE" stream "$3" "$4" --duration-ms 60000 \
    --interval-ms $NT_INTERVAL --timeout-ms 1000 --stop-file "$NT_TMP/stop-$1" > "$NT_TMP/stream-$1.out" 2>&1 &
  NT_STREAMS+=("$1:$!")
  NT_PIDS+=("$!")
}
nt_stream_connected() { grep -q '^[0-9]* [0-9]* ok$' "$NT_TMP/stream-$1.out"; }
nt_stream_stop() {  # nt_stream_stop NAME: ends it; its exit code is in NT_STREAM_RC
  touch "$NT_TMP/stop-$1"
  local s
  for s in "${NT_STREAMS[@]}"; do [ "${s%%:*}" = "$1" ] && { wait "${s##*:}"; NT_STREAM_RC=$?; }; done
}
# nt_stream_cut_at NAME T: the stream answered before T (Unix ms) and lost every message it
# sent after T (one is sent every NT_INTERVAL ms, so the first one after T is within one
# interval); prints the counts.
nt_stream_cut_at() {
  awk -v t="$2" '
    $3 == "ok" && $1 < t { before++ }
    $3 == "ok" && $1 >= t { after_ok++ }
    $3 == "lost" && $1 >= t { after_lost++ }
    END {
      printf "answered before the change: %d, after: %d answered, %d lost\n", before, after_ok, after_lost
      exit !(before > 0 && after_ok == 0 && after_lost >= 5)
    }' "$NT_TMP/stream-$1.out"
}

nt_check() {  # nt_check DESCRIPTION CMD...: counts a check that a command succeeds
  local what="$1"; shift
  NT_CHECKS=$((NT_CHECKS + 1))
  if "$@"; then nt_log "ok   $what"; else nt_log "FAIL $what"; NT_FAILS=$((NT_FAILS + 1)); fi
}

nt_finish() {
  nt_log "$((NT_CHECKS - NT_FAILS)) passed, $NT_FAILS failed"
  [ "$NT_FAILS" = 0 ]
}
