// Forged sources and per-endpoint conntrack in the kernel: a workload's egress drops packets
// whose source address is not its own (reason spoofed, counted), on tc and cgroup_skb, IPv4
// and IPv6, including a neighbour with the same labels (same identity); a conntrack entry
// made at one endpoint never admits a packet at another; the end-to-end attack (a forged
// SYN "from" a protected pod recorded at the attacker, then the attacker's real connection
// taken for its reply) fails; self traffic is a workload to one of its own addresses.
#include <catch2/catch.hpp>

#include "backend/bundle/datapath_abi.h"
#include "ir/interp.h"
#include "kernel_env.h"
#include "runtime/flow_runner.h"

using namespace moat;
using runtime::PacketSpec;
using runtime::Program;

namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

EndpointSelector app(const char* value) {
  EndpointSelector s;
  s.pods.reqs.push_back({"app", LabelRequirement::Op::In, {value}, {}});
  return s;
}

struct Net {
  Module m;
  std::vector<Endpoint> eps;  // db (protected), web and web2 (same labels), multi
  std::unique_ptr<runtime::KernelFlowRunner> runner;

  Net() {
    // db: isolated both ways, receives nothing. web / web2: isolated on ingress only (so
    // conntrack records their egress), send anywhere. multi: isolated both ways, two
    // addresses per family.
    for (const char* a : {"db", "multi"}) {
      m.isolations.push_back({app(a), Direction::Ingress, "t", {}});
      m.isolations.push_back({app(a), Direction::Egress, "t", {}});
    }
    m.isolations.push_back({app("web"), Direction::Ingress, "t", {}});
    Endpoint db = test::workload("x", "db", {{"app", "db"}}, "10.0.0.1");
    db.ips.push_back(ip("fd00::1"));
    Endpoint web = test::workload("x", "web", {{"app", "web"}}, "10.0.0.2");
    web.ips.push_back(ip("fd00::2"));
    Endpoint web2 = test::workload("x", "web2", {{"app", "web"}}, "10.0.0.3");
    web2.ips.push_back(ip("fd00::3"));
    Endpoint multi = test::workload("x", "multi", {{"app", "multi"}}, "10.0.0.4");
    for (const char* a : {"fd00::4", "10.0.0.14", "fd00::14"}) multi.ips.push_back(ip(a));
    eps = {db, web, web2, multi};
    std::string error;
    runner = runtime::KernelFlowRunner::create(test::compile_for(m), m, eps, {}, error);
    INFO(error);
    REQUIRE(runner);
  }

  const Endpoint& db() const { return eps[0]; }
  const Endpoint& web() const { return eps[1]; }
  const Endpoint& web2() const { return eps[2]; }
  const Endpoint& multi() const { return eps[3]; }

  bool run(Program p, const Endpoint& local, const PacketSpec& s) {
    std::string error;
    auto r = runner->run(p, local, s, error);
    INFO(error);
    REQUIRE(r);
    return r->passed;
  }
  void flush() {
    std::string error;
    REQUIRE(runner->datapath().flush_conntrack(error));
  }
  uint64_t count(uint32_t special) {
    std::string error;
    runtime::Counters c = runner->datapath().read_counters(error);
    REQUIRE(c.slots.size() == m.rules.size() + abi::kSpecialCount);
    return c.slots[m.rules.size() + special].packets;
  }
  std::vector<abi::DropEvent> events() {
    std::string error;
    std::vector<abi::DropEvent> out;
    runner->datapath().poll_events([&](const abi::DropEvent& e) { out.push_back(e); }, 0, error);
    return out;
  }
};

PacketSpec packet(const char* src, const char* dst, uint8_t proto, uint16_t sport, uint16_t dport) {
  PacketSpec s;
  s.src = ip(src);
  s.dst = ip(dst);
  s.proto = proto;
  s.sport = sport;
  s.dport = dport;
  return s;
}

const Program kEgress[] = {Program::TcEgress, Program::CgroupEgress};
const Program kIngress[] = {Program::TcIngress, Program::CgroupIngress};

} // namespace

TEST_CASE("spoof: a source address that is not the endpoint's own is dropped at egress", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  struct Forged {
    const char* src;
    const char* dst;
    const char* what;
  };
  const Forged forged[] = {
      {"10.0.0.1", "10.0.0.2", "the protected pod's v4 address"},
      {"fd00::1", "fd00::2", "the protected pod's v6 address"},
      {"10.0.0.3", "10.0.0.1", "a neighbour with the same identity (v4)"},
      {"fd00::3", "fd00::1", "a neighbour with the same identity (v6)"},
      {"198.51.100.7", "10.0.0.1", "an address nobody has"},
      {"2001:db8::7", "fd00::1", "a v6 address nobody has"},
  };
  for (Program p : kEgress)
    for (uint8_t proto : {6, 17})
      for (const Forged& f : forged) {
        INFO((p == Program::TcEgress ? "tc" : "cgroup_skb") << " proto " << int(proto) << ": " << f.what);
        n.flush();
        n.events();
        uint64_t before = n.count(abi::kSpecialSpoofed);
        CHECK_FALSE(n.run(p, n.web(), packet(f.src, f.dst, proto, 8080, 40000)));
        CHECK(n.count(abi::kSpecialSpoofed) == before + 1);
        std::vector<abi::DropEvent> ev = n.events();
        REQUIRE(ev.size() == 1);
        CHECK(ev[0].reason == abi::kDropReasonSpoofed);
        CHECK(ev[0].rule == abi::kSpecialRuleBase + abi::kSpecialSpoofed);
        CHECK(ev[0].dir == static_cast<uint8_t>(Direction::Egress));
        // Its own address, same packet otherwise: web is not egress-isolated, it passes.
        PacketSpec own = packet(f.src, f.dst, proto, 8080, 40000);
        own.src = IpAddr::parse(own.src.v6 ? "fd00::2" : "10.0.0.2").value();
        CHECK(n.run(p, n.web(), own));
      }
}

TEST_CASE("spoof: link-local and loopback sources", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  // IPv6 link-local sources are the pod's own link (DATAPATH.md): judged by policy, not
  // spoofed. web may send anywhere; db (isolated) may not.
  for (Program p : kEgress) {
    n.flush();
    uint64_t before = n.count(abi::kSpecialSpoofed);
    CHECK(n.run(p, n.web(), packet("fe80::2", "fe80::1", 17, 546, 547)));
    CHECK_FALSE(n.run(p, n.db(), packet("fe80::2", "fe80::1", 17, 546, 547)));
    CHECK(n.count(abi::kSpecialSpoofed) == before);
  }
  // Loopback: the pod's own on cgroup_skb (its lo), spoofed on the host veth (tc).
  for (const char* lo : {"127.0.0.1", "::1"}) {
    INFO(lo);
    n.flush();
    CHECK(n.run(Program::CgroupEgress, n.db(), packet(lo, lo, 6, 40000, 5432)));
    CHECK(n.run(Program::CgroupIngress, n.db(), packet(lo, lo, 6, 40000, 5432)));
    uint64_t before = n.count(abi::kSpecialSpoofed);
    CHECK_FALSE(n.run(Program::TcEgress, n.db(), packet(lo, lo, 6, 40000, 5432)));
    CHECK(n.count(abi::kSpecialSpoofed) == before + 1);
  }
}

TEST_CASE("spoof: the forged-SYN conntrack attack fails end to end", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (int tc = 1; tc >= 0; --tc)
    for (bool v6 : {false, true}) {
      Program egress = tc ? Program::TcEgress : Program::CgroupEgress;
      Program ingress = tc ? Program::TcIngress : Program::CgroupIngress;
      const char* db = v6 ? "fd00::1" : "10.0.0.1";
      const char* web = v6 ? "fd00::2" : "10.0.0.2";
      INFO((tc ? "tc" : "cgroup_skb") << (v6 ? " IPv6" : " IPv4"));
      n.flush();
      // web forges db:5432 -> web:40000 at its own egress (web is not egress-isolated) ...
      CHECK_FALSE(n.run(egress, n.web(), packet(db, web, 6, 5432, 40000)));
      // ... then connects for real: db's ingress must not take it for the forged flow's reply.
      CHECK_FALSE(n.run(ingress, n.db(), packet(web, db, 6, 40000, 5432)));
      // The same over UDP.
      CHECK_FALSE(n.run(egress, n.web(), packet(db, web, 17, 5432, 40000)));
      CHECK_FALSE(n.run(ingress, n.db(), packet(web, db, 17, 40000, 5432)));
    }
}

TEST_CASE("spoof: a conntrack entry made at one endpoint never admits a packet at another", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (Program p : {Program::TcEgress, Program::CgroupEgress}) {
    Program in = p == Program::TcEgress ? Program::TcIngress : Program::CgroupIngress;
    for (bool v6 : {false, true}) {
      INFO((p == Program::TcEgress ? "tc" : "cgroup_skb") << (v6 ? " IPv6" : " IPv4"));
      const char* web = v6 ? "fd00::2" : "10.0.0.2";
      const char* out = v6 ? "2001:db8::9" : "198.51.100.9";
      n.flush();
      // web opens a connection (its own, legitimate): the reply passes at web ...
      PacketSpec syn = packet(web, out, 6, 40000, 443);
      REQUIRE(n.run(p, n.web(), syn));
      PacketSpec reply = runtime::reply_of(syn);
      CHECK(n.run(in, n.web(), reply));
      // ... but the same reply seen at web2 (ingress-isolated, same identity) or db is a new
      // flow there, which their isolation drops.
      CHECK_FALSE(n.run(in, n.web2(), reply));
      CHECK_FALSE(n.run(in, n.db(), reply));
    }
  }
}

TEST_CASE("spoof: self traffic is a workload to one of its own addresses", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  // The interpreter: multi to itself is allowed (isolated both ways, no rule); web2 to web
  // (same identity, another pod) is not.
  const Endpoint& multi = n.multi();
  CHECK(evaluate(n.m, Flow{&multi, &multi, Protocol::TCP, 80}).allowed);
  CHECK_FALSE(evaluate(n.m, Flow{&n.eps[2], &n.eps[1], Protocol::TCP, 80}).allowed);
  for (int tc = 1; tc >= 0; --tc) {
    Program egress = tc ? Program::TcEgress : Program::CgroupEgress;
    Program ingress = tc ? Program::TcIngress : Program::CgroupIngress;
    INFO((tc ? "tc" : "cgroup_skb"));
    n.flush();
    // Every pair of multi's own addresses of one family is self, in both directions.
    for (auto [a, b] : {std::pair{"10.0.0.4", "10.0.0.14"}, {"10.0.0.14", "10.0.0.4"}, {"10.0.0.4", "10.0.0.4"},
                        {"fd00::4", "fd00::14"}, {"fd00::14", "fd00::14"}}) {
      INFO(a << " -> " << b);
      CHECK(n.run(egress, multi, packet(a, b, 6, 40000, 80)));
      CHECK(n.run(ingress, multi, packet(a, b, 6, 40000, 80)));
    }
    // Source == destination is not self by itself: a packet "from" web to web arriving at
    // db, or "from" db's other neighbour at web2 with equal addresses, is judged by policy.
    CHECK_FALSE(n.run(ingress, n.db(), packet("10.0.0.2", "10.0.0.2", 6, 40000, 80)));
    CHECK_FALSE(n.run(ingress, n.web2(), packet("10.0.0.2", "10.0.0.2", 6, 40000, 80)));
    CHECK_FALSE(n.run(ingress, n.web2(), packet("10.0.0.2", "10.0.0.3", 6, 40000, 80)));
  }
}
