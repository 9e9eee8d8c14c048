#!/usr/bin/env bash
# Bundle authentication end to end: an agent started with --trust (two keys: rotation)
# enforces a signed bundle, then is offered bundles it must refuse — unsigned, signed by an
# untrusted key, manifest edited after signing, object edited after signing, and a signed
# object with a map name the backend never emits (../../frag). After each, the old
# generation must stay active and keep enforcing (traffic checked) and the status must say
# why. A bundle signed by the second trusted key is then accepted. Replay and rollback: every
# signed manifest carries a serial (SOURCE_DATE_EPOCH or --serial here; the build time by
# default) and may carry a not-after time (--valid-for); the agent refuses an older serial
# than the newest it has activated (also after a restart: state dir), the same serial with
# other content, and an expired bundle, and re-reads the same serial and content as a no-op.
#   agent_trust.sh MOAT NETPROBE
source "$(dirname "$0")/lib.sh"
nt_init "$1" "$2"
nt_pod a 1
nt_pod b 2

nt_client_db_policy "$NT_TMP/v1" "{port: 5432}, {port: 80}" "{port: 5432}"
nt_client_db_policy "$NT_TMP/v2" "{port: 5432}, {port: 80}" "{port: 5432}, {port: 80}"  # db also accepts 80
for k in k1 k2 k3; do
  "$NT_MOAT" keygen "$NT_TMP/$k" > "$NT_TMP/$k.out" || { nt_log "moat keygen failed"; exit 1; }
done
K1_ID="$(awk '{print $4}' "$NT_TMP/k1.out" | tr -d :)"
build() {  # [SOURCE_DATE_EPOCH=N] build NAME POLICY [--sign KEY] [--serial N] [--valid-for D]
  local name="$1" policy="$2"; shift 2
  "$NT_MOAT" build -q -o "$NT_TMP/$name" "$@" "$NT_TMP/$policy" || { nt_log "moat build $name failed"; exit 1; }
}
# good1 is the older build: a replay of it after good2 must be refused.
SOURCE_DATE_EPOCH=1700000100 build good1 v1 --sign "$NT_TMP/k1.key"
SOURCE_DATE_EPOCH=1700000200 build good2 v2 --sign "$NT_TMP/k2.key"
# The same serial as good2 with other content (v1's policy), signed by a trusted key.
SOURCE_DATE_EPOCH=1700000200 build conflict v1 --sign "$NT_TMP/k1.key"
build unsigned v2
build wrongkey v2 --sign "$NT_TMP/k3.key"
nt_check "moat build --sign writes the signature" test -f "$NT_TMP/good1/manifest.json.sig"

# Edited after signing: v1's manifest with db's port 5432 turned into 80; an object byte flipped.
cp -r "$NT_TMP/good1" "$NT_TMP/tampered-manifest"
sed -i 's/"hi": 5432,/"hi": 80,/; s/"lo": 5432,/"lo": 80,/' "$NT_TMP/tampered-manifest/manifest.json"
nt_check "the manifest edit changed something" \
  sh -c "! cmp -s '$NT_TMP/good1/manifest.json' '$NT_TMP/tampered-manifest/manifest.json'"
cp -r "$NT_TMP/good1" "$NT_TMP/tampered-object"
python3 -c '
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-1] ^= 0xff; open(p, "wb").write(b)
' "$NT_TMP/tampered-object/default.bpf.o"

# Signed by a trusted key, but with a name the backend never emits (a compromised build
# host): the object's map moat_frags renamed ../../frag, which a trusting loader would pin
# (or reuse, if something is pinned there) two directories above the generation's.
cp -r "$NT_TMP/good1" "$NT_TMP/evil-map"
python3 -c '
import hashlib, json, sys
d = sys.argv[1]
o = d + "/default.bpf.o"
b = open(o, "rb").read()
assert b.count(b"moat_frags\0") >= 1
open(o, "wb").write(b.replace(b"moat_frags\0", b"../../frag\0"))
m = open(d + "/manifest.json").read()
old = [x["sha256"] for x in json.loads(m)["objects"] if x["name"] == "default"][0]
m = m.replace(old, hashlib.sha256(open(o, "rb").read()).hexdigest())
open(d + "/manifest.json", "w").write(m)
' "$NT_TMP/evil-map"
"$NT_MOAT" sign "$NT_TMP/evil-map" --key "$NT_TMP/k1.key" 2>/dev/null || { nt_log "moat sign failed"; exit 1; }
# A manifest naming an object file outside the bundle is not even signed by `moat sign` (the
# agent-side refusal of such a manifest, signed anyway, is tested in tests/backend).
cp -r "$NT_TMP/good1" "$NT_TMP/evil-file"
sed -i 's|"file": "default.bpf.o"|"file": "../good2/default.bpf.o"|' "$NT_TMP/evil-file/manifest.json"
"$NT_MOAT" sign "$NT_TMP/evil-file" --key "$NT_TMP/k1.key" 2>/dev/null
nt_check "moat sign refuses a manifest whose object file is outside the bundle" test $? = 2

ln -sfn "$NT_TMP/good1" "$NT_TMP/bundle"
# Switch the bundle the way kubelet updates a ConfigMap volume: one atomic rename.
use_bundle() { ln -sfn "$NT_TMP/$1" "$NT_TMP/bundle.new" && mv -T "$NT_TMP/bundle.new" "$NT_TMP/bundle"; }

# status_field, wait_for, is_ready, gen_above: tests/netns/lib.sh
status_says() { grep -qF -- "$1" "$NT_STATE/status.json" 2>/dev/null; }

for p in a b; do nt_serve "$p"; done
cat > "$NT_TMP/node.yaml" <<'EOF'
kind: Node
metadata: {name: node-1}
status: {addresses: [{type: InternalIP, address: 10.199.1.1}, {type: InternalIP, address: 10.199.2.1}]}
EOF
cat > "$NT_TMP/inventory.yaml" <<'EOF'
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
EOF
AGENT=(agent --bundle "$NT_TMP/bundle" --node "$NT_TMP/node.yaml" --inventory "$NT_TMP/inventory.yaml"
       --pin-dir "$NT_PIN" --state-dir "$NT_STATE")

# An unusable trust key (here: the secret key file) stops the agent before it loads anything.
nt_node_exec "$NT_MOAT" "${AGENT[@]}" --once --trust "$NT_TMP/k1.key" 2>"$NT_TMP/badkey.log"
nt_check "a --trust file that is no public key: exit 2" test $? = 2
nt_check "... and nothing pinned" test ! -e "$NT_PIN/gen"

# nsenter execs the agent itself, so $! is the agent's pid (the cleanup kills it).
nsenter --net="/run/netns/$NT_NODE" "$NT_MOAT" "${AGENT[@]}" --poll-ms 100 --trust "$NT_TMP/k1.pub" \
  --trust "$NT_TMP/k2.pub" 2>>"$NT_TMP/agent.log" &
NT_PIDS+=("$!")
wait_for "agent ready" is_ready
G="$(status_field generation)"
nt_check "status names the signing key" status_says "\"signer\": \"$K1_ID\""
nt_check "moat status says the bundle is signed" \
  sh -c "'$NT_MOAT' status --state-dir '$NT_STATE' | grep -q 'signed by key $K1_ID'"
nt_expect deny a tcp 10.199.2.2 80 "v1 (signed by k1) denies db:80"
nt_expect allow a tcp 10.199.2.2 5432 "v1 allows db:5432"

refused() {  # refused BUNDLE STATUS-TEXT: offered, refused with that reason, old generation kept
  use_bundle "$1"
  wait_for "$1 refused" status_says "$2"
  nt_check "$1: generation $G still active" test "$(status_field generation)" = "$G"
  nt_expect deny a tcp 10.199.2.2 80 "$1 refused: v1 still enforced"
  nt_expect allow a tcp 10.199.2.2 5432 "$1 refused: v1 still enforced"
}
refused unsigned "is not signed"
refused wrongkey "which is not trusted"
refused tampered-manifest "modified after signing"
refused tampered-object "does not match its sha256"
# A compatible map pinned where ../../frag leads from a generation's directory (here the
# active generation's own fragment map): an agent that trusted the name would adopt it and
# swap the object in.
bpftool map pin pinned "$NT_PIN/gen/$G/moat_frags" "$NT_PIN/frag" || { nt_log "bpftool map pin failed"; exit 1; }
refused evil-map "a map moat does not generate: '../../frag'"
nt_check "nothing pinned by the refused object" test ! -e "$NT_PIN/gen/frag"

use_bundle good2
wait_for "a bundle signed by the second trusted key is accepted" gen_above "$G"
nt_expect allow a tcp 10.199.2.2 80 "v2 (signed by k2) allows db:80"
nt_check "the agent logged each of the five refusals" \
  test "$(grep -c 'bundle not reloaded, previous policy stays' "$NT_TMP/agent.log")" -ge 5
nt_check "... and warned about nothing unauthenticated" sh -c "! grep -q 'not authenticated' '$NT_TMP/agent.log'"

# Replay / rollback. v2 (serial 1700000200) is active; each refusal keeps it enforcing.
G="$(status_field generation)"
refused_v2() {  # refused_v2 BUNDLE STATUS-TEXT: offered, refused with that reason, v2 kept
  use_bundle "$1"
  wait_for "$1 refused" status_says "$2"
  nt_check "$1: generation $G still active" test "$(status_field generation)" = "$G"
  nt_expect allow a tcp 10.199.2.2 80 "$1 refused: v2 still enforced"
}
refused_v2 good1 "serial 1700000100 is older than serial 1700000200"
refused_v2 conflict "serial 1700000200 was already activated with other content"
nt_check "moat status counts the refused bundles" \
  sh -c "'$NT_MOAT' status --state-dir '$NT_STATE' | grep -q 'refused bundles: 2'"
# The same bundle again (re-signed by the other trusted key: new signature file, same
# manifest): accepted as a no-op, no new generation.
cp -r "$NT_TMP/good2" "$NT_TMP/good2-resigned"
"$NT_MOAT" sign "$NT_TMP/good2-resigned" --key "$NT_TMP/k1.key" 2>/dev/null || { nt_log "moat sign failed"; exit 1; }
use_bundle good2-resigned
wait_for "the re-signed same bundle is read" status_says "\"signer\": \"$K1_ID\""
nt_check "same serial, same content: no new generation" test "$(status_field generation)" = "$G"
nt_expect allow a tcp 10.199.2.2 80 "same bundle again: v2 enforced"
# Expired: a newer serial, valid for one second, offered two seconds later.
build expired v1 --sign "$NT_TMP/k1.key" --serial 1700000300 --valid-for 1s
sleep 2
refused_v2 expired "bundle expired at"
nt_check "status.json counts the three refusals" \
  grep -q '"refused_bundles": 3' "$NT_STATE/status.json"

# The highest serial survives a restart: a new agent offered the old bundle refuses it at
# start and the pinned v2 generation stays in force.
kill -TERM "${NT_PIDS[-1]}"; wait "${NT_PIDS[-1]}" 2>/dev/null
nt_check "state.json records the highest activated serial" grep -q '"highest_serial": 1700000200' "$NT_STATE/state.json"
use_bundle good1
rm -f "$NT_STATE/status.json"  # what the new agent says, not what the old one said
nt_node_exec "$NT_MOAT" "${AGENT[@]}" --once --trust "$NT_TMP/k1.pub" --trust "$NT_TMP/k2.pub" 2>>"$NT_TMP/agent.log"
nt_check "a restarted agent refuses the replayed bundle (exit 2)" test $? = 2
nt_check "... says why" status_says "serial 1700000100 is older than serial 1700000200"
nt_expect allow a tcp 10.199.2.2 80 "after the refused restart: v2 still enforced"
# A wiped state directory forgets the floor; --min-serial (a floor kept in the DaemonSet spec)
# still refuses what is below it.
rm -f "$NT_STATE/state.json" "$NT_STATE/status.json"
use_bundle good2
nt_node_exec "$NT_MOAT" "${AGENT[@]}" --once --trust "$NT_TMP/k2.pub" --min-serial 1700000250 2>>"$NT_TMP/agent.log"
nt_check "state dir wiped, --min-serial above the bundle: refused (exit 2)" test $? = 2
nt_check "... says why" status_says "bundle serial 1700000200 is below --min-serial 1700000250"
nt_expect allow a tcp 10.199.2.2 80 "after the --min-serial refusal: the pinned v2 still enforced"
nt_finish
