// Packet-level behaviour of the compiled datapath in the kernel: IPv4 options, IPv6
// extension headers, fragments, every truncation of a packet, malformed headers, non-IP
// frames, unknown local endpoints, conntrack replies (TCP, UDP, SCTP, ICMP and ICMPv6
// echo), IPv6 neighbour discovery, counters and drop events. Each verdict is checked on tc
// and cgroup_skb.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>

#include "backend/backend.h"
#include "backend/bundle/datapath_abi.h"
#include "ir/interp.h"
#include "kernel_env.h"
#include "runtime/flow_runner.h"

using namespace moat;
using runtime::PacketSpec;
using runtime::Program;

namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

struct Net {
  Module m;
  std::vector<Endpoint> eps;
  std::vector<uint8_t> elf;
  std::unique_ptr<runtime::KernelFlowRunner> runner;

  Net() {
    // a: isolated both ways; may send TCP 80 / UDP 53 / SCTP 9 / ICMP echo anywhere outside
    // the cluster, receives TCP 22 from anyone.
    EndpointSelector a;
    a.pods.reqs.push_back({"app", LabelRequirement::Op::In, {"a"}, {}});
    m.isolations.push_back({a, Direction::Ingress, "t", {}});
    m.isolations.push_back({a, Direction::Egress, "t", {}});
    for (const char* cidr : {"0.0.0.0/0", "::/0"}) {
      Rule r;
      r.subject = a;
      r.dir = Direction::Egress;
      r.peer.kind = Peer::Kind::Cidr;
      r.peer.cidr = *IpPrefix::parse(cidr);
      r.ports = {{Protocol::TCP, 80, 80, "", {}}, {Protocol::UDP, 53, 53, "", {}}, {Protocol::SCTP, 9, 9, "", {}},
                 {Protocol::ICMP, 8, 8, "", {}}, {Protocol::ICMPv6, 128, 128, "", {}}};
      m.add_rule(r);
    }
    Rule in;
    in.subject = a;
    in.dir = Direction::Ingress;
    in.ports = {{Protocol::TCP, 22, 22, "", {}}};
    m.add_rule(in);
    Endpoint wa = test::workload("x", "a", {{"app", "a"}}, "10.0.0.1");
    wa.ips.push_back(ip("fd00::1"));
    eps = {wa, test::external("v4", "198.51.100.1"), test::external("v6", "2001:db8::1")};
    elf = test::compile_for(m);
    std::string error;
    runner = runtime::KernelFlowRunner::create(elf, m, eps, {}, error);
    INFO(error);
    REQUIRE(runner);
  }

  PacketSpec out(bool v6, uint8_t proto, uint16_t dport) {
    PacketSpec s;
    s.src = v6 ? ip("fd00::1") : ip("10.0.0.1");
    s.dst = v6 ? ip("2001:db8::1") : ip("198.51.100.1");
    s.proto = proto;
    s.sport = 40000;
    s.dport = dport;
    return s;
  }

  /// The egress verdict at `a` for a hand-made packet, on both attach kinds.
  bool egress(const PacketSpec& spec, bool flush = true) { return both(Program::TcEgress, Program::CgroupEgress, spec, flush); }
  bool ingress(const PacketSpec& spec, bool flush = true) {
    return both(Program::TcIngress, Program::CgroupIngress, spec, flush);
  }
  bool both(Program tc, Program cg, const PacketSpec& spec, bool flush) {
    std::string error;
    if (flush) REQUIRE(runner->datapath().flush_conntrack(error));
    auto a = runner->run(tc, eps[0], spec, error);
    INFO(error);
    REQUIRE(a);
    if (flush) REQUIRE(runner->datapath().flush_conntrack(error));
    auto b = runner->run(cg, eps[0], spec, error);
    REQUIRE(b);
    CHECK(a->passed == b->passed);
    return a->passed;
  }
};

} // namespace

TEST_CASE("kernel packets: IPv4 and IPv6, options and extension headers", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (bool v6 : {false, true}) {
    INFO((v6 ? "IPv6" : "IPv4"));
    CHECK(n.egress(n.out(v6, 6, 80)));
    CHECK_FALSE(n.egress(n.out(v6, 6, 81)));
    CHECK(n.egress(n.out(v6, 17, 53)));
    CHECK_FALSE(n.egress(n.out(v6, 17, 80)));
    CHECK(n.egress(n.out(v6, 132, 9)));
    CHECK(n.egress(n.out(v6, v6 ? 58 : 1, v6 ? 128 : 8)));   // echo request
    CHECK_FALSE(n.egress(n.out(v6, v6 ? 58 : 1, v6 ? 1 : 3)));  // other ICMP types
    CHECK_FALSE(n.egress(n.out(v6, 47, 0)));  // GRE: only port-less rules match it
  }
  for (int words = 0; words <= 10; ++words) {
    PacketSpec s = n.out(false, 6, 80);
    s.ipv4_option_words = words;
    INFO("IPv4 option words " << words);
    CHECK(n.egress(s));
    s.dport = 81;
    CHECK_FALSE(n.egress(s));
  }
  for (int ext = 0; ext <= 8; ++ext) {
    PacketSpec s = n.out(true, 6, 80);
    s.ipv6_dest_options = ext;
    INFO("IPv6 extension headers " << ext);
    // Up to kMaxExtHeaders - 1 extension headers are walked; more is a documented drop.
    CHECK(n.egress(s) == (ext <= 5));
  }
}

TEST_CASE("kernel packets: every truncation is dropped, never read past the end", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (bool v6 : {false, true})
    for (uint8_t proto : {6, 17, 132, 1}) {
      PacketSpec s = n.out(v6, v6 && proto == 1 ? 58 : proto, proto == 6 ? 80 : proto == 17 ? 53 : proto == 132 ? 9 : v6 ? 128 : 8);
      s.payload = 16;
      std::vector<uint8_t> full = runtime::build_packet(s);
      size_t l3 = v6 ? 40 : 20;
      size_t l4 = proto == 6 ? 20 : proto == 132 ? 12 : 8;
      size_t needed = 14 + l3 + l4;
      size_t refused = 0;
      for (size_t len = 14; len <= full.size(); ++len) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
        std::string error;
        REQUIRE(n.runner->datapath().flush_conntrack(error));
        auto r = n.runner->run(Program::TcEgress, n.eps[0], s, error);  // sets the endpoint
        REQUIRE(r);
        REQUIRE(n.runner->datapath().flush_conntrack(error));
        auto t = n.runner->datapath().test_run(Program::TcEgress, cut, 1, error);
        INFO((v6 ? "v6" : "v4") << " proto " << int(proto) << " length " << len << " " << error);
        // The kernel refuses to test-run frames shorter than an IP header; it never hands such
        // a frame to a program either. Every length it accepts must get the right verdict.
        if (!t && len < 14 + l3) {
          ++refused;
          continue;
        }
        REQUIRE(t);
        CHECK(t->passed == (len >= needed));
      }
    }
}

TEST_CASE("kernel packets: malformed headers and non-IP frames", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  std::string error;
  auto run_bytes = [&](std::vector<uint8_t> pkt) {
    REQUIRE(n.runner->datapath().flush_conntrack(error));
    REQUIRE(n.runner->run(Program::TcEgress, n.eps[0], n.out(false, 6, 80), error));
    REQUIRE(n.runner->datapath().flush_conntrack(error));
    auto r = n.runner->datapath().test_run(Program::TcEgress, pkt, 1, error);
    REQUIRE(r);
    return r->passed;
  };
  std::vector<uint8_t> good = runtime::build_packet(n.out(false, 6, 80));
  CHECK(run_bytes(good));
  std::vector<uint8_t> bad = good;
  bad[14] = 0x44;  // IHL 4 < 5
  CHECK_FALSE(run_bytes(bad));
  bad = good;
  bad[14] = 0x65;  // IPv6 version in an IPv4 frame
  CHECK_FALSE(run_bytes(bad));
  bad = good;
  bad[14] = 0x4F;  // IHL 15: options past the end of the packet
  CHECK_FALSE(run_bytes(bad));
  std::vector<uint8_t> arp = good;
  arp[12] = 0x08, arp[13] = 0x06;  // ARP: policy is about IP, it passes
  CHECK(run_bytes(arp));
}

TEST_CASE("kernel packets: fragments take the verdict of their first fragment", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (bool v6 : {false, true}) {
    INFO((v6 ? "IPv6" : "IPv4"));
    for (uint16_t port : {80, 81}) {
      bool allowed = port == 80;
      PacketSpec first = n.out(v6, 6, port);
      first.fragment = PacketSpec::Fragment::First;
      first.frag_id = 0x4242 + port;
      PacketSpec later = first;
      later.fragment = PacketSpec::Fragment::Later;
      later.payload = 40;
      std::string error;
      REQUIRE(n.runner->datapath().flush_conntrack(error));
      CHECK(n.egress(first, false) == allowed);
      CHECK(n.egress(later, false) == allowed);
      // Later fragment whose first fragment was never seen: documented drop.
      REQUIRE(n.runner->datapath().flush_conntrack(error));
      CHECK_FALSE(n.egress(later, false));
    }
  }
}

TEST_CASE("kernel packets: replies pass through conntrack, unsolicited ones do not", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (bool v6 : {false, true})
    for (uint8_t proto : {6, 17, 132, 1}) {
      uint8_t p = v6 && proto == 1 ? 58 : proto;
      PacketSpec s = n.out(v6, p, proto == 6 ? 80 : proto == 17 ? 53 : proto == 132 ? 9 : v6 ? 128 : 8);
      PacketSpec reply = runtime::reply_of(s);
      INFO((v6 ? "v6" : "v4") << " proto " << int(p));
      // Without the request, the reply is a new inbound flow a (isolated) does not allow.
      CHECK_FALSE(n.ingress(reply, true));
      std::string error;
      REQUIRE(n.runner->datapath().flush_conntrack(error));
      REQUIRE(n.runner->run(Program::TcEgress, n.eps[0], s, error)->passed);
      CHECK(n.runner->run(Program::TcIngress, n.eps[0], reply, error)->passed);
    }
  // TCP: only a SYN opens a flow; a stray ACK is judged by policy and not remembered.
  std::string error;
  REQUIRE(n.runner->datapath().flush_conntrack(error));
  PacketSpec ack = n.out(false, 6, 80);
  ack.tcp_flags = runtime::kTcpAck;
  CHECK(n.runner->run(Program::TcEgress, n.eps[0], ack, error)->passed);
  CHECK_FALSE(n.runner->run(Program::TcIngress, n.eps[0], runtime::reply_of(ack), error)->passed);
}

TEST_CASE("kernel packets: unknown local endpoints drop, counters and drop events", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  std::string error;
  // A fresh object with empty maps: no local endpoint, fail closed.
  auto empty = runtime::Datapath::open(n.elf, {}, error);
  REQUIRE(empty);
  std::vector<uint8_t> pkt = runtime::build_packet(n.out(false, 6, 80));
  for (Program p : {Program::TcEgress, Program::TcIngress, Program::CgroupEgress, Program::CgroupIngress}) {
    auto r = empty->test_run(p, pkt, 1, error);
    REQUIRE(r);
    CHECK_FALSE(r->passed);
  }
  std::vector<abi::DropEvent> events;
  CHECK(empty->poll_events([&](const abi::DropEvent& e) { events.push_back(e); }, 0, error) >= 4);
  REQUIRE(events.size() >= 4);
  CHECK(events[0].rule == abi::kSpecialRuleBase + abi::kSpecialUnknownLocal);
  CHECK(events[0].dport == 80);
  CHECK(events[0].sport == 40000);
  CHECK(events[0].family == abi::kFamilyV4);
  runtime::Counters c = empty->read_counters(error);
  REQUIRE(c.slots.size() == n.m.rules.size() + abi::kSpecialCount);
  CHECK(c.slots[n.m.rules.size() + abi::kSpecialUnknownLocal].packets == 4);

  // Policy drops name their rule or isolation; allows count on the allowing rule.
  REQUIRE(n.runner->datapath().flush_conntrack(error));
  runtime::Counters before = n.runner->datapath().read_counters(error);
  REQUIRE(n.runner->run(Program::TcEgress, n.eps[0], n.out(false, 6, 80), error)->passed);
  REQUIRE_FALSE(n.runner->run(Program::TcEgress, n.eps[0], n.out(false, 6, 81), error)->passed);
  runtime::Counters after = n.runner->datapath().read_counters(error);
  CHECK(after.slots[0].packets == before.slots[0].packets + 1);  // rule 0 allowed TCP 80
  CHECK(after.slots[n.m.rules.size() + abi::kSpecialDefaultDeny].packets ==
        before.slots[n.m.rules.size() + abi::kSpecialDefaultDeny].packets + 1);
  events.clear();
  n.runner->datapath().poll_events([&](const abi::DropEvent& e) { events.push_back(e); }, 0, error);
  REQUIRE_FALSE(events.empty());
  const abi::DropEvent& e = events.back();
  CHECK(e.rule == abi::kSpecialRuleBase + abi::kSpecialDefaultDeny);
  CHECK(e.dir == static_cast<uint8_t>(Direction::Egress));
  CHECK(e.isolation == 1);  // the egress isolation fact
  CHECK(e.remote != 0);
  CHECK(e.dport == 81);
}

namespace {
/// Entries in the conntrack map (every CPU's view is the same hash).
size_t conntrack_entries(runtime::Datapath& dp) {
  int fd = dp.map_fd(abi::kMapConntrack);
  REQUIRE(fd >= 0);
  std::vector<uint8_t> key(sizeof(abi::FlowTuple)), next(sizeof(abi::FlowTuple));
  size_t n = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    ++n;
    key = next;
    prev = key.data();
  }
  return n;
}
} // namespace

TEST_CASE("kernel packets: IPv6 neighbour discovery passes before policy, never in conntrack", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;  // a: isolated both ways; egress allows only ICMPv6 echo, ingress only TCP 22
  std::string error;
  const uint32_t implicit_slot = static_cast<uint32_t>(n.m.rules.size()) + abi::kSpecialImplicit;
  const uint32_t deny_slot = static_cast<uint32_t>(n.m.rules.size()) + abi::kSpecialDefaultDeny;
  // NDP's own addresses (link-local, solicited-node multicast) and a global one.
  for (const char* peer : {"fe80::1", "ff02::1:ff00:1", "2001:db8::1"})
    for (uint8_t type = 133; type <= 137; ++type) {
      INFO("peer " << peer << " type " << int(type));
      PacketSpec s = n.out(true, 58, type);
      s.dst = ip(peer);
      REQUIRE(n.runner->datapath().flush_conntrack(error));
      runtime::Counters before = n.runner->datapath().read_counters(error);
      CHECK(n.egress(s, false));
      CHECK(n.ingress(runtime::reply_of(s), false));  // from the peer to a
      CHECK(conntrack_entries(n.runner->datapath()) == 0);
      runtime::Counters after = n.runner->datapath().read_counters(error);
      CHECK(after.slots[implicit_slot].packets == before.slots[implicit_slot].packets + 4);
      CHECK(after.slots[deny_slot].packets == before.slots[deny_slot].packets);
    }
  // Echo to the same isolated endpoint is still dropped; other ICMPv6 types are too.
  PacketSpec echo = n.out(true, 58, 128);
  std::swap(echo.src, echo.dst);
  CHECK_FALSE(n.ingress(echo));  // an echo request from outside to a
  for (uint8_t type : {1, 129, 130, 132, 138}) CHECK_FALSE(n.egress(n.out(true, 58, type)));
  // ICMPv4 type 135, and ICMPv6 133-137 in an IPv4 packet, are not neighbour discovery.
  CHECK_FALSE(n.egress(n.out(false, 1, 135)));
  CHECK_FALSE(n.egress(n.out(false, 58, 135)));

  // Hop limit other than 255: not NDP (a receiver discards it, RFC 4861), so judged by policy.
  for (uint8_t hops : {64, 254, 1}) {
    PacketSpec s = n.out(true, 58, 135);
    s.hop_limit = hops;
    INFO("hop limit " << int(hops));
    CHECK_FALSE(n.egress(s));
    CHECK_FALSE(n.ingress(runtime::reply_of(s)));
  }

  // A truncated ICMPv6 header keeps its documented verdict: malformed, dropped.
  PacketSpec ns = n.out(true, 58, 135);
  std::vector<uint8_t> full = runtime::build_packet(ns);
  REQUIRE(full.size() == 14 + 40 + 8);
  for (size_t len = 14 + 40; len < full.size(); ++len) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
    REQUIRE(n.runner->run(Program::TcEgress, n.eps[0], ns, error));  // sets the endpoint
    runtime::Counters before = n.runner->datapath().read_counters(error);
    auto t = n.runner->datapath().test_run(Program::TcEgress, cut, 1, error);
    INFO("length " << len << " " << error);
    REQUIRE(t);
    CHECK_FALSE(t->passed);
    runtime::Counters after = n.runner->datapath().read_counters(error);
    uint32_t malformed = static_cast<uint32_t>(n.m.rules.size()) + abi::kSpecialMalformed;
    CHECK(after.slots[malformed].packets == before.slots[malformed].packets + 1);
  }

  // Fragments (which RFC 6980 forbids for NDP): a later fragment gets its first fragment's
  // verdict, as for every protocol; without its first fragment it is dropped.
  PacketSpec first = n.out(true, 58, 136);
  first.fragment = PacketSpec::Fragment::First;
  first.frag_id = 0x5151;
  PacketSpec later = first;
  later.fragment = PacketSpec::Fragment::Later;
  later.payload = 40;
  REQUIRE(n.runner->datapath().flush_conntrack(error));
  CHECK(n.egress(first, false));
  CHECK(n.egress(later, false));
  PacketSpec orphan = later;
  orphan.frag_id = 0x5252;
  CHECK_FALSE(n.egress(orphan, false));
}
