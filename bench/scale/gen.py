#!/usr/bin/env python3
"""Generates the shapes of Antrea's NetworkPolicy controller scale test as Kubernetes YAML.

    gen.py SHAPE OUTDIR [--scale F] [--anp]

writes OUTDIR/policies/*.yaml (NetworkPolicies, split into files of at most 5,000 objects),
OUTDIR/inventory/*.yaml (Namespaces and Pods), OUTDIR/proof.moat (an isolation proof over
the shape), OUTDIR/changed/ (the policies with one policy changed, for `moat diff`) and
OUTDIR/node-7.yaml (the Node object of one of the 1,000 nodes the pods are spread over,
for the agent's map computation: bench_node_maps).
--scale multiplies the namespace (or pod / policy) counts: 0.01 gives a quick run.
--anp adds the admin tiers: one AdminNetworkPolicy per namespace (an ingress Deny of tcp/22
from another team, a Pass of the rest, and an egress Deny of tcp/25 to a /24 `networks` block
that covers pod addresses) and the BaselineAdminNetworkPolicy `default` (pod-to-pod ingress
denied where no NetworkPolicy isolates).

Shapes (counts at --scale 1):
  xlarge       XLargeScaleWithSmallNamespaces: 25,000 namespaces, each with a default-deny
               policy, two policies letting one app talk to itself, four pods
               (75,000 policies, 100,000 pods)
  large-ns     WithLargeNamespaces: 100 namespaces x 100 policies, 1,000 pods each
  one-ns       WithOneNamespace: 10,000 policies selecting 10,000 pods in one namespace
  per-pod      NetpolPerPod: 10,000 pods, one policy selecting each
  cluster      ClusterScopedNetpol: 1,000 namespaces, 100,000 pods, 10,000 policies whose
               peers select namespaces by label
"""
import argparse
import os
import re
import sys

CHUNK = 5000


def ns_obj(name, labels):
    lab = "".join(f"\n    {k}: {v}" for k, v in labels.items())
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:{lab}\n"


NODES = 1000
FIRST_POD = 256  # ip_of(FIRST_POD) is the first pod's address (10.0.1.0)


def pod_obj(ns, name, labels, ip):
    """The pod's node: pods are numbered by address, and consecutive pods go to consecutive
    nodes, so each of the NODES nodes gets an equal share (and a mix of namespaces)."""
    lab = "".join(f"\n    {k}: {v}" for k, v in labels.items())
    k = (int.from_bytes(bytes(int(b) for b in ip.split(".")), "big") & 0xFFFFFF) - FIRST_POD
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:{lab}\n"
            f"spec:\n  nodeName: node-{k % NODES}\n  containers:\n  - name: c\n    image: nginx\n"
            f"    ports:\n    - name: http\n      containerPort: 80\nstatus:\n  podIP: {ip}\n")


def node_obj(name, addr):
    return (f"apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels:\n"
            f"    kubernetes.io/hostname: {name}\nstatus:\n  addresses:\n  - type: InternalIP\n"
            f"    address: {addr}\n")


def sel(labels, indent):
    if not labels:
        return "{}"
    pad = " " * indent
    return "\n" + pad + "matchLabels:" + "".join(f"\n{pad}  {k}: {v}" for k, v in labels.items())


def netpol(ns, name, pod_sel, types, ingress=None, egress=None):
    """ingress / egress: lists of (peer, ports); a peer is a dict with podSelector and/or
    namespaceSelector label dicts (None: the key is absent)."""
    out = [f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
           f"spec:\n  podSelector: {sel(pod_sel, 4)}\n  policyTypes: [{', '.join(types)}]\n"]
    for key, rules in (("ingress", ingress), ("egress", egress)):
        if rules is None:
            continue
        word = "from" if key == "ingress" else "to"
        out.append(f"  {key}:\n")
        for peers, ports in rules:
            out.append(f"  - {word}:\n")
            for p in peers:
                first = True
                for k in ("namespaceSelector", "podSelector"):
                    if k in p:
                        out.append(("    - " if first else "      ") + f"{k}: {sel(p[k], 8)}\n")
                        first = False
            if ports:
                out.append("    ports:\n")
                for proto, port in ports:
                    out.append(f"    - protocol: {proto}\n      port: {port}\n")
    return "".join(out)


def ip_of(n):
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def write_chunks(d, prefix, objs):
    os.makedirs(d, exist_ok=True)
    for i in range(0, len(objs), CHUNK):
        with open(os.path.join(d, f"{prefix}-{i // CHUNK:04d}.yaml"), "w") as f:
            f.write("---\n".join(objs[i:i + CHUNK]))


def xlarge(n_ns):
    nss, pods, pols = [], [], []
    for i in range(n_ns):
        ns = f"ns{i}"
        nss.append(ns_obj(ns, {"team": f"t{i % 50}"}))
        for j, app in enumerate(("a", "a", "b", "b")):
            pods.append(pod_obj(ns, f"p{j}", {"app": app}, ip_of(i * 4 + j + FIRST_POD)))
        pols.append(netpol(ns, "deny", {}, ["Ingress", "Egress"]))
        for app in ("a", "b"):
            peer = [{"podSelector": {"app": app}}]
            pols.append(netpol(ns, f"self-{app}", {"app": app}, ["Ingress", "Egress"],
                               ingress=[(peer, None)], egress=[(peer, None)]))
    proof = "prove isolated ns0/{app: a}, ns1/{app: a};\n"
    return nss, pods, pols, proof


def large_ns(n_ns, pods_per_ns=1000, pols_per_ns=100):
    nss, pods, pols = [], [], []
    n = FIRST_POD
    for i in range(n_ns):
        ns = f"ns{i}"
        nss.append(ns_obj(ns, {"team": f"t{i % 10}"}))
        for k in range(pods_per_ns):
            pods.append(pod_obj(ns, f"p{k}", {"app": f"app-{k % pols_per_ns}", "tier": f"t{k % 7}"}, ip_of(n)))
            n += 1
        pols.append(netpol(ns, "deny", {}, ["Ingress"]))
        for j in range(pols_per_ns):
            peer = [{"podSelector": {"app": f"app-{(j + 1) % pols_per_ns}"}}]
            pols.append(netpol(ns, f"np{j}", {"app": f"app-{j}"}, ["Ingress"],
                               ingress=[(peer, [("TCP", 80)])]))
    proof = "prove isolated ns0/{app: app-5}, namespace ns1;\n"
    return nss, pods, pols, proof


def one_ns(n):
    nss = [ns_obj("big", {"team": "t0"})]
    pods, pols = [], []
    for k in range(n):
        pods.append(pod_obj("big", f"p{k}", {"app": f"app-{k % 1000}", "tier": f"t{k % 10}"}, ip_of(k + FIRST_POD)))
    pols.append(netpol("big", "deny", {}, ["Ingress"]))
    for j in range(n):
        # Policy j lets tier (j // 1000) reach app j % 1000: no two policies say the same
        # thing (with the tier from j % 10, every tenth policy repeated another: all W502).
        peer = [{"podSelector": {"tier": f"t{(j // 1000) % 10}"}}]
        pols.append(netpol("big", f"np{j}", {"app": f"app-{j % 1000}"}, ["Ingress"],
                           ingress=[(peer, [("TCP", 1000 + j % 1000)])]))
    proof = "prove big/{tier: t1} ingress within { namespace big };\n"
    return nss, pods, pols, proof


def per_pod(n, per_ns=1000):
    nss, pods, pols = [], [], []
    for i in range((n + per_ns - 1) // per_ns):
        nss.append(ns_obj(f"ns{i}", {"team": f"t{i % 5}"}))
    for k in range(n):
        ns = f"ns{k // per_ns}"
        pods.append(pod_obj(ns, f"p{k}", {"pod": f"p{k}", "app": f"app-{k % 50}"}, ip_of(k + FIRST_POD)))
        peer = [{"podSelector": {"app": f"app-{(k + 1) % 50}"}}]
        pols.append(netpol(ns, f"np{k}", {"pod": f"p{k}"}, ["Ingress"], ingress=[(peer, [("TCP", 8080)])]))
    proof = "prove isolated ns0/{pod: p0}, namespace ns1;\n"
    return nss, pods, pols, proof


def cluster(n_ns, pods_per_ns=100, pols_per_ns=10):
    nss, pods, pols = [], [], []
    n = FIRST_POD
    for i in range(n_ns):
        ns = f"ns{i}"
        nss.append(ns_obj(ns, {"team": f"t{i % 50}", "env": "prod" if i % 2 else "dev"}))
        for k in range(pods_per_ns):
            pods.append(pod_obj(ns, f"p{k}", {"app": f"app-{k % pols_per_ns}"}, ip_of(n)))
            n += 1
        for j in range(pols_per_ns):
            peer = [{"namespaceSelector": {"team": f"t{(i + j) % 50}"}, "podSelector": {"app": f"app-{j}"}}]
            pols.append(netpol(ns, f"np{j}", {"app": f"app-{j}"}, ["Ingress"],
                               ingress=[(peer, [("TCP", 443)])]))
    proof = "prove ns0/{app: app-1} ingress within { namespace { team: t1 }/{ app: app-1 } on tcp 443 };\n"
    return nss, pods, pols, proof


SHAPES = {
    "xlarge": lambda s: xlarge(max(2, int(25000 * s))),
    "large-ns": lambda s: large_ns(max(2, int(100 * s))),
    "one-ns": lambda s: one_ns(max(10, int(10000 * s))),
    "per-pod": lambda s: per_pod(max(2000, int(10000 * s))),
    "cluster": lambda s: cluster(max(2, int(1000 * s))),
}


def admin_policies(nss):
    """One AdminNetworkPolicy per namespace and the BaselineAdminNetworkPolicy (see --anp)."""
    out = []
    for i, ns in enumerate(nss):
        name = re.search(r"name: (\S+)", ns).group(1)
        out.append(f"""apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: admin-{name}
spec:
  priority: {i % 1000}
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: {name}
  ingress:
  - name: no-ssh-from-next-team
    action: Deny
    from:
    - namespaces:
        matchLabels:
          team: t{(i + 1) % 50}
    ports:
    - portNumber: {{protocol: TCP, port: 22}}
  - name: rest-to-owners
    action: Pass
    from:
    - namespaces: {{}}
  egress:
  - name: no-smtp-to-block
    action: Deny
    to:
    - networks: [10.{(i >> 8) & 255}.{i & 255}.0/24]
    ports:
    - portNumber: {{protocol: TCP, port: 25}}
""")
    out.append("""apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  ingress:
  - name: no-pod-to-pod
    action: Deny
    from:
    - namespaces: {}
""")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("outdir")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--anp", action="store_true")
    a = ap.parse_args()
    nss, pods, pols, proof = SHAPES[a.shape](a.scale)
    if a.anp:
        pols = pols + admin_policies(nss)
    write_chunks(os.path.join(a.outdir, "policies"), "netpol", pols)
    write_chunks(os.path.join(a.outdir, "inventory"), "pods", nss + pods)
    changed = list(pols)
    # One policy changed: the second policy keeps its namespace and name but now admits
    # tcp/9090 from every pod of its namespace instead of what it said.
    meta = re.search(r"name: (\S+)\n  namespace: (\S+)", pols[1])
    changed[1] = netpol(meta.group(2), meta.group(1), {}, ["Ingress"],
                        ingress=[([{"podSelector": {}}], [("TCP", 9090)])])
    write_chunks(os.path.join(a.outdir, "changed"), "netpol", changed)
    with open(os.path.join(a.outdir, "proof.moat"), "w") as f:
        f.write(proof)
    with open(os.path.join(a.outdir, "node-7.yaml"), "w") as f:
        f.write(node_obj("node-7", "172.31.0.7"))
    print(f"{a.shape}: {len(nss)} namespaces, {len(pods)} pods, {len(pols)} policies -> {a.outdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
