#!/usr/bin/env python3
"""Writes a many-namespace input on which `moat check` has findings of every parallel lint
(W503 selectors, W504 partly isolated namespaces, W501/W502 rules), for check_jobs.sh.

    gen_findings.py OUTDIR [NAMESPACES]
"""
import os
import sys

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
os.makedirs(f"{out}/policies", exist_ok=True)
os.makedirs(f"{out}/inventory", exist_ok=True)


def policy(name, ns, app, peer_app, port, kind="Ingress"):
    side = "from" if kind == "Ingress" else "to"
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: {ns}
spec:
  podSelector:
    matchLabels:
      app: {app}
  policyTypes: [{kind}]
  {kind.lower()}:
  - {side}:
    - podSelector:
        matchLabels:
          app: {peer_app}
    ports:
    - protocol: TCP
      port: {port}
"""


docs, inv = [], []
for i in range(count):
    ns = f"ns{i}"
    inv.append(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    team: t{i % 7}\n")
    for j, app in enumerate(["web", "db", "job"]):
        inv.append(f"""apiVersion: v1
kind: Pod
metadata:
  name: {app}-0
  namespace: {ns}
  labels:
    app: {app}
spec:
  nodeName: node-{i % 10}
status:
  podIP: 10.{i // 250}.{i % 250}.{j + 1}
""")
    # web isolated for ingress, db and job not: W504 in every namespace.
    docs.append(policy("web-in", ns, "web", "db", 80))
    if i % 3 == 0:  # a subject no pod has: W503 (inventory) / W502 never isolated elsewhere
        docs.append(policy("ghost", ns, f"ghost{i}", "web", 80))
    if i % 5 == 0:  # the same allow twice: W502 redundant allow
        docs.append(policy("web-in-copy", ns, "web", "db", 80))
    if i % 4 == 0:  # db isolated for egress, job not: W504 egress
        docs.append(policy("db-out", ns, "db", "web", 5432, "Egress"))
with open(f"{out}/policies/netpol.yaml", "w") as f:
    f.write("---\n".join(docs))
with open(f"{out}/inventory/pods.yaml", "w") as f:
    f.write("---\n".join(inv))
with open(f"{out}/proof.moat", "w") as f:
    f.write("prove isolated ns0/{app: web}, ns1/{app: web};\n")
