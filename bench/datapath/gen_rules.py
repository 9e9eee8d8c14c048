#!/usr/bin/env python3
"""Writes one synthetic ingress policy of N rules three ways -- moat language, iptables-restore
input and an nft -f script -- from a single rule list, so bench/datapath/compare.sh compares
the three filters on exactly the same policy.

The rule list has the shape of bench/datapath/synthetic.cpp: the isolated workload bench/web
(app: web) and rule i an allow (every 20th a deny) from the distinct /32 172.16.0.0 + i + 1 on
TCP (every 4th UDP) port 1000 + i mod 50000 (every 10th a 100-port range). The last rule is
always a UDP allow so that a flood can hit it: for a linear chain that is the worst case.

  gen_rules.py N SERVER_IP SERVER_IF OUTDIR
writes OUTDIR/policy/policy.moat, OUTDIR/iptables.rules, OUTDIR/nft.rules and OUTDIR/probe.env
(the addresses and port a sender uses for the last-rule and the denied case)."""
import ipaddress
import os
import sys

BASE = int(ipaddress.IPv4Address("172.16.0.0"))
# A source no rule names: falls through every rule to the isolation's default deny.
UNMATCHED_SOURCE = "172.31.255.254"


def rule(i, n):
    """Rule i of n as (action, source, protocol, first port, last port)."""
    last = i == n - 1
    action = "deny" if i % 20 == 19 and not last else "allow"
    proto = "udp" if i % 4 == 3 or last else "tcp"
    port = 1000 + i % 50000
    end = port + 99 if i % 10 == 5 and not last else port
    return action, str(ipaddress.IPv4Address(BASE + i + 1)), proto, port, end


def moat_policy(rules):
    lines = ["namespace bench {", "  default deny ingress;", "  workload web = { app: web };"]
    for action, src, proto, port, end in rules:
        ports = f"{port}..{end}" if end != port else str(port)
        lines.append(f"  {action} cidr {src}/32 -> web on {proto} {ports};")
    return "\n".join(lines + ["}", ""])


def iptables_rules(rules, server_ip, server_if):
    # As iptables-mode policy engines (kube-router, Calico's iptables mode) lay it out: one
    # dispatch chain hooked into FORWARD, a jump per policy for traffic to the pod it
    # selects, then in the policy chain one rule per peer and port, and DROP for isolation.
    out = ["*filter", ":MOAT-FORWARD - [0:0]", ":MOAT-POL-BENCH-WEB - [0:0]",
           "-A FORWARD -j MOAT-FORWARD",
           "-A MOAT-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
           f"-A MOAT-FORWARD -o {server_if} -d {server_ip}/32 -j MOAT-POL-BENCH-WEB"]
    for action, src, proto, port, end in rules:
        ports = f"{port}:{end}" if end != port else str(port)
        verdict = "ACCEPT" if action == "allow" else "DROP"
        out.append(f"-A MOAT-POL-BENCH-WEB -s {src}/32 -p {proto} -m {proto} --dport {ports} -j {verdict}")
    out += ["-A MOAT-POL-BENCH-WEB -j DROP", "COMMIT", ""]
    return "\n".join(out)


def nft_rules(rules, server_ip, server_if):
    # nftables as one would write it by hand: the peers and ports of the policy in one
    # concatenated interval verdict map, so a packet costs one lookup whatever N is.
    elems = []
    for action, src, proto, port, end in rules:
        ports = f"{port}-{end}" if end != port else str(port)
        elems.append(f"    {src} . {proto} . {ports} : {'accept' if action == 'allow' else 'drop'}")
    return "\n".join([
        "table inet moat_bench {",
        "  map web_ingress {",
        "    type ipv4_addr . inet_proto . inet_service : verdict",
        "    flags interval",
        "    elements = {",
        ",\n".join(elems),
        "    }",
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        "    ct state established,related accept",
        f"    oifname \"{server_if}\" ip daddr {server_ip} jump web",
        "  }",
        "  chain web {",
        "    ip saddr . meta l4proto . th dport vmap @web_ingress",
        "    drop",
        "  }",
        "}",
        ""])


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    n, server_ip, server_if, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    if n < 1:
        sys.exit("gen_rules.py: N must be at least 1")
    rules = [rule(i, n) for i in range(n)]
    os.makedirs(os.path.join(outdir, "policy"), exist_ok=True)
    with open(os.path.join(outdir, "policy", "policy.moat"), "w") as f:
        f.write(moat_policy(rules))
    with open(os.path.join(outdir, "iptables.rules"), "w") as f:
        f.write(iptables_rules(rules, server_ip, server_if))
    with open(os.path.join(outdir, "nft.rules"), "w") as f:
        f.write(nft_rules(rules, server_ip, server_if))
    _, last_src, _, last_port, _ = rules[-1]
    with open(os.path.join(outdir, "probe.env"), "w") as f:
        f.write(f"LAST_SOURCE={last_src}\nLAST_PORT={last_port}\nUNMATCHED_SOURCE={UNMATCHED_SOURCE}\n")


if __name__ == "__main__":
    main()
