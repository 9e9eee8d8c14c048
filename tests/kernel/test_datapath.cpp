// The compiled datapath against the reference interpreter on hand-written policies:
// isolation, allow and deny (deny wins), CIDR except, entities, named ports, port ranges,
// ICMP types, IPv6, conntrack replies.
#include <catch2/catch.hpp>

#include "backend/backend.h"
#include "ir/interp.h"
#include "kernel_env.h"
#include "runtime/flow_runner.h"

using namespace moat;
using moat::test::external;
using moat::test::workload;

namespace {

Rule rule(Direction dir, Action act, EndpointSelector subject, Peer peer, std::vector<PortMatch> ports = {}) {
  Rule r;
  r.dir = dir;
  r.action = act;
  r.subject = std::move(subject);
  r.peer = std::move(peer);
  r.ports = std::move(ports);
  return r;
}

EndpointSelector pods(const std::string& key, const std::string& value) {
  EndpointSelector s;
  s.pods.reqs.push_back({key, LabelRequirement::Op::In, {value}, {}});
  return s;
}

Peer peer_pods(const std::string& key, const std::string& value) {
  Peer p;
  p.kind = Peer::Kind::Endpoints;
  p.endpoints = pods(key, value);
  return p;
}

Peer peer_cidr(const std::string& cidr, std::vector<std::string> except = {}) {
  Peer p;
  p.kind = Peer::Kind::Cidr;
  p.cidr = *IpPrefix::parse(cidr);
  for (const auto& e : except) p.except.push_back(*IpPrefix::parse(e));
  return p;
}

Peer peer_entity(Entity e) {
  Peer p;
  p.kind = Peer::Kind::Entity;
  p.entity = e;
  return p;
}

PortMatch ports(Protocol proto, uint16_t lo, uint16_t hi) { return PortMatch{proto, lo, hi, "", {}}; }

struct Fixture {
  Module m;
  std::vector<Endpoint> eps;
  std::unique_ptr<runtime::KernelFlowRunner> runner;

  void load() {
    std::vector<uint8_t> elf = moat::test::compile_for(m);
    std::string error;
    runner = runtime::KernelFlowRunner::create(elf, m, eps, {}, error);
    INFO(error);
    REQUIRE(runner);
  }
  const Endpoint& ep(const std::string& name) {
    for (const Endpoint& e : eps)
      if (e.name == name) return e;
    FAIL("no endpoint " << name);
    return eps.front();
  }
  /// Kernel verdict == interpreter verdict == `expect`; the reply of an allowed flow passes.
  void expect(const std::string& from, const std::string& to, Protocol proto, uint16_t port, bool allow) {
    const Endpoint& s = ep(from);
    const Endpoint& d = ep(to);
    Verdict v = evaluate(m, Flow{&s, &d, proto, port});
    std::string error;
    auto k = runner->check(s, d, proto, port, error);
    INFO(from << " -> " << to << " " << to_string(proto) << "/" << port << " " << error);
    REQUIRE(k);
    INFO(k->detail);
    CHECK(v.allowed == allow);
    CHECK(k->allowed == allow);
    CHECK(k->attach_kinds_agree);
    if (k->allowed) CHECK(k->reply_passed);
  }
};

} // namespace

TEST_CASE("kernel: isolation, allow, deny wins", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Fixture f;
  f.eps = {workload("x", "a", {{"pod", "a"}}, "10.0.1.1"), workload("x", "b", {{"pod", "b"}}, "10.0.1.2"),
           workload("y", "c", {{"pod", "c"}}, "10.0.2.1"), external("internet", "203.0.113.9"),
           external("other", "198.51.100.7")};
  f.m.isolations.push_back({pods("pod", "b"), Direction::Ingress, "test", {}});
  f.m.isolations.push_back({pods("pod", "c"), Direction::Egress, "test", {}});
  f.m.add_rule(rule(Direction::Ingress, Action::Allow, pods("pod", "b"), peer_pods("pod", "a"),
                    {ports(Protocol::TCP, 80, 80), ports(Protocol::UDP, 5000, 5100)}));
  f.m.add_rule(rule(Direction::Egress, Action::Deny, pods("pod", "a"), peer_cidr("203.0.113.0/24"),
                    {ports(Protocol::TCP, 22, 22)}));
  f.m.add_rule(rule(Direction::Egress, Action::Allow, pods("pod", "c"), peer_cidr("0.0.0.0/0", {"203.0.113.0/24"}),
                    {ports(Protocol::TCP, 443, 443)}));
  f.m.add_rule(rule(Direction::Egress, Action::Allow, pods("pod", "c"), peer_entity(Entity::World),
                    {ports(Protocol::ICMP, 8, 8)}));
  f.m.add_rule(rule(Direction::Ingress, Action::Deny, pods("pod", "b"), peer_pods("pod", "a"),
                    {ports(Protocol::UDP, 5050, 5050)}));
  f.load();
  f.expect("x/a", "x/b", Protocol::TCP, 80, true);
  f.expect("x/a", "x/b", Protocol::TCP, 81, false);
  f.expect("x/a", "x/b", Protocol::UDP, 5000, true);
  f.expect("x/a", "x/b", Protocol::UDP, 5050, false);  // deny wins over the range allow
  f.expect("x/a", "x/b", Protocol::UDP, 5100, true);
  f.expect("x/a", "x/b", Protocol::UDP, 5101, false);
  f.expect("y/c", "x/b", Protocol::TCP, 80, false);
  f.expect("x/b", "x/a", Protocol::TCP, 9999, true);  // a is not isolated
  f.expect("x/a", "internet", Protocol::TCP, 22, false);
  f.expect("x/a", "internet", Protocol::TCP, 23, true);
  f.expect("x/a", "other", Protocol::TCP, 22, true);
  f.expect("y/c", "other", Protocol::TCP, 443, true);
  f.expect("y/c", "internet", Protocol::TCP, 443, false);  // except
  f.expect("y/c", "internet", Protocol::ICMP, 8, true);
  f.expect("y/c", "internet", Protocol::ICMP, 0, false);
  f.expect("y/c", "x/a", Protocol::TCP, 443, false);  // CIDR peers never match workloads
  f.expect("x/a", "x/a", Protocol::TCP, 1, true);     // self
}

TEST_CASE("kernel: IPv6 neighbour discovery passes for isolated endpoints, whatever the rules", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Fixture f;
  f.eps = {workload("x", "a", {{"pod", "a"}}, "fd00:1::a"), workload("x", "b", {{"pod", "b"}}, "fd00:1::b"),
           external("internet", "2001:db8::9")};
  for (const char* pod : {"a", "b"})
    for (Direction d : {Direction::Ingress, Direction::Egress}) f.m.isolations.push_back({pods("pod", pod), d, "test", {}});
  // a denies every ICMPv6 type both ways; b allows ICMPv6 echo only from a.
  for (Direction d : {Direction::Ingress, Direction::Egress})
    f.m.add_rule(rule(d, Action::Deny, pods("pod", "a"), Peer{}, {ports(Protocol::ICMPv6, 0, 255)}));
  f.m.add_rule(rule(Direction::Ingress, Action::Allow, pods("pod", "b"), peer_pods("pod", "a"),
                    {ports(Protocol::ICMPv6, 128, 128)}));
  f.load();
  // RS, RA, NS, NA, redirect: from and to the isolated endpoints, deny rules notwithstanding.
  for (uint16_t type = 133; type <= 137; ++type) {
    f.expect("x/a", "x/b", Protocol::ICMPv6, type, true);
    f.expect("x/b", "x/a", Protocol::ICMPv6, type, true);
    f.expect("x/a", "internet", Protocol::ICMPv6, type, true);
    f.expect("internet", "x/b", Protocol::ICMPv6, type, true);
  }
  // Echo to and from the same isolated endpoints is still policed.
  f.expect("internet", "x/b", Protocol::ICMPv6, 128, false);  // isolated, no allow
  f.expect("x/a", "x/b", Protocol::ICMPv6, 128, false);       // a's deny wins over b's allow
  f.expect("x/b", "x/a", Protocol::ICMPv6, 128, false);
  f.expect("x/a", "x/b", Protocol::ICMPv6, 132, false);       // the types around NDP too
  f.expect("x/a", "x/b", Protocol::ICMPv6, 138, false);
}
