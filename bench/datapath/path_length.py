#!/usr/bin/env python3
# Path length of the datapath benchmark's packets: runs one tc program of a BPF object
# (moat's or the C reference) on an abstract machine over `llvm-objdump -dr` output and
# counts the BPF instructions executed for each benchmark packet (allowed, denied,
# established), with the map lookups answered as the benchmark's maps answer them. A count,
# not a time: it does not move with the load of a shared machine. Bench tool only.
#   bench/datapath/path_length.py OBJECT.o [OBJECT.o ...]   (prints one row per object)
#   bench/datapath/path_length.py --trace allowed|denied|established OBJECT.o
import re
import struct
import subprocess
import sys

# The benchmark's packets (bench_datapath.cpp packets_for): IPv4 to 10.0.0.1 (the isolated
# workload), TCP ACK from an allowed source, the same from an uncovered source, UDP.
ENDPOINT_ADDR = bytes([10, 0, 0, 1])


def packet(src, proto, sport, dport, flags=0x10):
    eth = b"\x00" * 12 + b"\x08\x00"
    l4 = struct.pack(">HH", sport, dport)
    l4 += (b"\x00" * 9 + bytes([flags]) + b"\x00" * 6) if proto == 6 else b"\x00\x08\x00\x00"
    ip = bytes([0x45, 0]) + struct.pack(">H", 20 + len(l4)) + b"\x00\x01\x40\x00\x40" + bytes([proto]) + b"\x00\x00"
    return eth + ip + src + ENDPOINT_ADDR + l4


def endpoint_value():
    v = struct.pack("<IIIIQ", 256, 1, 7, 0, (1 << 56) | 5)
    v += bytes([1, 4, 0, 0, 0, 0, 0, 0]) + ENDPOINT_ADDR + b"\x00" * 60
    return v


COUNTER = b"\x00" * 16
CT_CURRENT = struct.pack("<II", 3, 0)  # rule 3, epoch 0 (= moat_epoch in .bss)
# Per packet: the packet and, per map, the answers of its lookups in order (None = miss).
PATHS = {
    "allowed": (packet(bytes([10, 1, 0, 5]), 6, 40000, 1005),
                {"moat_endpoints": [endpoint_value()], "moat_ct": [None, None], "moat_hosts": [struct.pack("<I", 300)],
                 "moat_policy_exact": [struct.pack("<IBxxx", 5, 1)], "moat_counters": [COUNTER]}),
    "denied": (packet(bytes([192, 0, 2, 77]), 6, 40000, 1005),
               {"moat_endpoints": [endpoint_value()], "moat_ct": [None, None], "moat_hosts": [None],
                "moat_ipcache": [None], "moat_policy_exact": [None, None], "moat_policy": [None, None],
                "moat_counters": [COUNTER]}),
    "established": (packet(bytes([10, 1, 0, 9]), 17, 40000, 1009),
                    {"moat_endpoints": [endpoint_value()], "moat_ct": [CT_CURRENT], "moat_counters": [COUNTER]}),
}

INSN = re.compile(r"^\s*(\d+):\s+(.*)$")
RELOC = re.compile(r"^\s*[0-9a-f]+:\s+R_BPF_\w+\s+(\S+)")


def disassemble(path, function):
    out = subprocess.run(["llvm-objdump", "-dr", "--no-show-raw-insn", path], check=True, capture_output=True,
                         text=True).stdout
    insns, relocs, inside = {}, {}, False
    last = None
    for line in out.splitlines():
        if line.endswith(">:"):
            inside = line.split("<")[1].rstrip(">:") == function
            continue
        if not inside:
            continue
        r = RELOC.match(line)
        if r and last is not None:
            relocs[last] = r.group(1)
            continue
        m = INSN.match(line)
        if m:
            last = int(m.group(1))
            insns[last] = re.sub(r"\s*<[\w.+]+>$", "", m.group(2)).strip()
    return insns, relocs


class Ptr:
    """A pointer into a named region (bytearray) at an offset."""

    def __init__(self, region, off):
        self.region, self.off = region, off

    def __add__(self, k):
        return Ptr(self.region, self.off + k)


SIZES = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}
MASK64 = (1 << 64) - 1


def run(path, function, pkt, answers, trace=False):
    insns, relocs = disassemble(path, function)
    answers = {k: list(v) for k, v in answers.items()}
    ctx = bytearray(192)
    struct.pack_into("<I", ctx, 0, len(pkt))  # len
    struct.pack_into("<I", ctx, 40, 5)        # ifindex
    pkt_region = bytearray(pkt)
    regions = {"ctx": ctx, "stack": bytearray(512), "pkt": pkt_region, "bss": bytearray(64)}
    reg = {i: 0 for i in range(11)}
    reg[1] = Ptr("ctx", 0)
    reg[10] = Ptr("stack", 512)
    pc, count = 0, 0

    def val(tok, w32):
        v = reg[int(tok[1:])] if tok[0] in "rw" else int(tok, 0)
        if isinstance(v, Ptr):
            return v
        return v & 0xFFFFFFFF if w32 else v & MASK64

    def load(p, size):
        if p.region == "ctxfield":
            raise RuntimeError("bad")
        if p.region == "ctx":
            if p.off == 76:
                return Ptr("pkt", 0)
            if p.off == 80:
                return Ptr("pkt", len(pkt))
        return int.from_bytes(regions[p.region][p.off:p.off + size], "little")

    def store(p, size, v):
        if isinstance(v, Ptr):  # spilled pointer: keep the object
            regions.setdefault("spills", {})[(p.region, p.off)] = v
            return
        regions["spills"] = {k: x for k, x in regions.get("spills", {}).items() if k != (p.region, p.off)}
        regions[p.region][p.off:p.off + size] = (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")

    while True:
        count += 1
        text = insns[pc]
        if trace:
            print(f"{pc:5}: {text}")
        nxt = pc + 1
        m = re.match(r"^(lock )?\*\((u\d+) \*\)\((r\d+) ([+-]) (\d+)\) = (\S+)$", text)
        if m:
            base = reg[int(m.group(3)[1:])]
            off = int(m.group(5)) * (1 if m.group(4) == "+" else -1)
            store(base + off, SIZES[m.group(2)], val(m.group(6), False))
            pc = nxt
            continue
        m = re.match(r"^([rw])(\d+) = \*\((u\d+) \*\)\((r\d+) ([+-]) (\d+)\)$", text)
        if m:
            base = reg[int(m.group(4)[1:])]
            p = base + int(m.group(6)) * (1 if m.group(5) == "+" else -1)
            spilled = regions.get("spills", {}).get((p.region, p.off))
            reg[int(m.group(2))] = spilled if spilled is not None else load(p, SIZES[m.group(3)])
            pc = nxt
            continue
        m = re.match(r"^([rw])(\d+) = (-?\w+) ll$", text)
        if m:
            sym = relocs.get(pc)
            if sym is None:
                reg[int(m.group(2))] = int(m.group(3), 0) & MASK64
            elif sym.startswith("moat_") and sym != "moat_epoch":
                reg[int(m.group(2))] = ("map", sym)
            else:
                reg[int(m.group(2))] = Ptr("bss", int(m.group(3), 0))
            pc = nxt + 1
            continue
        m = re.match(r"^([rw])(\d+) = be(\d+) [rw]\d+$", text)
        if m:
            bits = int(m.group(3))
            v = reg[int(m.group(2))] & ((1 << bits) - 1)
            reg[int(m.group(2))] = int.from_bytes(v.to_bytes(bits // 8, "little"), "big")
            pc = nxt
            continue
        m = re.match(r"^([rw])(\d+) (s?>>=|<<=|>>=|\+=|-=|\*=|&=|\|=|\^=|=) (\S+)$", text)
        if m:
            w32 = m.group(1) == "w"
            d = int(m.group(2))
            src = val(m.group(4), w32) if m.group(4)[0] in "rw" else int(m.group(4), 0)
            cur = reg[d]
            op = m.group(3)
            if isinstance(cur, Ptr) or isinstance(src, Ptr):
                if op == "=":
                    reg[d] = src
                elif op == "+=":
                    reg[d] = cur + src
                elif op == "-=" and isinstance(cur, Ptr) and isinstance(src, Ptr):
                    reg[d] = cur.off - src.off
                elif op == "-=":
                    reg[d] = cur + (-src)
                else:
                    raise RuntimeError(f"pointer arithmetic {text}")
                pc = nxt
                continue
            if isinstance(cur, tuple) or isinstance(src, tuple):
                reg[d] = src
                pc = nxt
                continue
            bits = 32 if w32 else 64
            mask = (1 << bits) - 1
            cur &= mask
            src &= mask
            if op == "=":
                r = src
            elif op == "+=":
                r = cur + src
            elif op == "-=":
                r = cur - src
            elif op == "*=":
                r = cur * src
            elif op == "&=":
                r = cur & src
            elif op == "|=":
                r = cur | src
            elif op == "^=":
                r = cur ^ src
            elif op == "<<=":
                r = cur << src
            elif op == ">>=":
                r = cur >> src
            else:  # s>>=
                s = cur - (1 << bits) if cur >> (bits - 1) else cur
                r = s >> src
            reg[d] = r & mask
            pc = nxt
            continue
        m = re.match(r"^if ([rw])(\d+) (s?[<>]=?|==|!=|&) (\S+) goto ([+-]\d+)$", text)
        if m:
            w32 = m.group(1) == "w"
            a = val(m.group(1) + m.group(2), w32)
            b = val(m.group(4), w32) if m.group(4)[0] in "rw" else int(m.group(4), 0)
            op = m.group(3)
            if isinstance(a, Ptr) or isinstance(b, Ptr):
                if isinstance(a, Ptr) and isinstance(b, Ptr):
                    a, b = a.off, b.off
                else:  # pointer vs NULL
                    a, b = (1 if isinstance(a, Ptr) else a), (1 if isinstance(b, Ptr) else b)
            bits = 32 if w32 else 64
            a &= (1 << bits) - 1
            b &= (1 << bits) - 1
            if op.startswith("s"):
                sa = a - (1 << bits) if a >> (bits - 1) else a
                sb = b - (1 << bits) if b >> (bits - 1) else b
                a, b, op = sa, sb, op[1:]
            taken = {"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b,
                     "&": (a & b) != 0}[op]
            pc = nxt + int(m.group(5)) if taken else nxt
            continue
        m = re.match(r"^goto ([+-]\d+)$", text)
        if m:
            pc = nxt + int(m.group(1))
            continue
        m = re.match(r"^call (\d+)$", text)
        if m:
            helper = int(m.group(1))
            if helper == 1:
                name = reg[1][1]
                queue = answers.get(name)
                if not queue:
                    raise RuntimeError(f"{path}: unexpected lookup of {name} at {pc}")
                value = queue.pop(0)
                if value is None:
                    reg[0] = 0
                else:
                    regions["v" + str(pc) + name] = bytearray(value)
                    reg[0] = Ptr("v" + str(pc) + name, 0)
            else:
                reg[0] = 0
            for r in range(1, 6):
                reg[r] = 0
            pc = nxt
            continue
        if text == "exit":
            left = {k: v for k, v in answers.items() if v}
            return count, val("r0", True), left
        raise RuntimeError(f"cannot run: {text}")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--trace":  # --trace PATH OBJECT: the executed instructions
        run(sys.argv[3], "moat_tc_ingress", *PATHS[sys.argv[2]], trace=True)
        return
    paths = list(PATHS)
    print("| object | " + " | ".join(paths) + " |")
    for obj in sys.argv[1:]:
        cells = []
        for name in paths:
            pkt, answers = PATHS[name]
            n, ret, left = run(obj, "moat_tc_ingress", pkt, answers)
            verdict = "pass" if ret == 0 else "drop"
            cells.append(f"{n} ({verdict}{', unused answers ' + str(left) if left else ''})")
        print(f"| {obj} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
