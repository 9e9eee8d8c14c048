#include <catch2/catch.hpp>

#include "ir/lint.h"

using namespace moat;

namespace {
LabelRequirement in(std::string k, std::vector<std::string> v) {
  return {std::move(k), LabelRequirement::Op::In, std::move(v), {}};
}
EndpointSelector pods_in(std::string ns, std::string key, std::string value) {
  EndpointSelector s;
  s.namespaces.reqs.push_back(in(kNamespaceNameLabel, {ns}));
  s.pods.reqs.push_back(in(key, {value}));
  return s;
}
size_t count(const Diagnostics& d, Code c) {
  size_t n = 0;
  for (const auto& x : d.all()) n += x.code == c;
  return n;
}
} // namespace

TEST_CASE("selector overlap is decided on contradictions only") {
  LabelSelector a{{in("app", {"web"})}, {}};
  LabelSelector b{{in("app", {"db"})}, {}};
  LabelSelector c{{{"app", LabelRequirement::Op::NotIn, {"web"}, {}}}, {}};
  LabelSelector d{{{"app", LabelRequirement::Op::DoesNotExist, {}, {}}}, {}};
  LabelSelector e{{in("tier", {"x"})}, {}};
  CHECK_FALSE(selectors_may_overlap(a, b));
  CHECK_FALSE(selectors_may_overlap(a, c));
  CHECK_FALSE(selectors_may_overlap(a, d));
  CHECK(selectors_may_overlap(a, e));
  CHECK(selectors_may_overlap(b, c));
  CHECK(selectors_may_overlap(a, LabelSelector{}));
}

TEST_CASE("an allow without isolation is reported, one with isolation is not") {
  Module m;
  Rule r;
  r.subject = pods_in("x", "app", "web");
  r.dir = Direction::Ingress;
  m.add_rule(r);
  Diagnostics d;
  run_lints(m, d);
  CHECK(count(d, Code::W401) == 1);

  m.isolations.push_back({pods_in("x", "app", "db"), Direction::Ingress, "", {}});
  Diagnostics d2;
  run_lints(m, d2);
  CHECK(count(d2, Code::W401) == 1);  // isolating app=db does not isolate app=web

  m.isolations.push_back({EndpointSelector{{{in(kNamespaceNameLabel, {"x"})}, {}}, {}, {}}, Direction::Ingress, "", {}});
  Diagnostics d3;
  run_lints(m, d3);
  CHECK(count(d3, Code::W401) == 0);
}

TEST_CASE("FQDN egress without DNS, lone star and world on every port") {
  Module m;
  EndpointSelector sub = pods_in("ml", "role", "train");
  m.isolations.push_back({sub, Direction::Egress, "", {}});
  Rule f;
  f.subject = sub;
  f.dir = Direction::Egress;
  f.peer.kind = Peer::Kind::Fqdn;
  f.peer.fqdn = {true, "*", {}};
  f.ports = {{Protocol::TCP, 443, 443, "", {}}};
  m.add_rule(f);
  Rule w;
  w.subject = sub;
  w.dir = Direction::Egress;
  w.peer.kind = Peer::Kind::Entity;
  w.peer.entity = Entity::World;
  m.add_rule(w);
  Diagnostics d;
  run_lints(m, d);
  CHECK(count(d, Code::W402) == 1);
  CHECK(count(d, Code::W403) == 1);
  CHECK(count(d, Code::W404) == 1);

  Rule dns;
  dns.subject = sub;
  dns.dir = Direction::Egress;
  dns.peer.kind = Peer::Kind::Endpoints;
  dns.peer.endpoints = pods_in("kube-system", "k8s-app", "kube-dns");
  dns.ports = {{Protocol::UDP, 53, 53, "", {}}};
  m.add_rule(dns);
  Diagnostics d2;
  run_lints(m, d2);
  CHECK(count(d2, Code::W402) == 0);
}

TEST_CASE("a rule only about IPv6 neighbour discovery is reported: NDP is always allowed") {
  auto lint = [](std::vector<PortMatch> ports, Action action) {
    Module m;
    m.isolations.push_back({EndpointSelector{}, Direction::Egress, "", {}});
    Rule r;
    r.dir = Direction::Egress;
    r.action = action;
    r.ports = std::move(ports);
    m.add_rule(r);
    Diagnostics d;
    run_lints(m, d);
    return count(d, Code::W406);
  };
  PortMatch ns{Protocol::ICMPv6, 135, 135, {}, {}};
  PortMatch all_ndp{Protocol::ICMPv6, 133, 137, {}, {}};
  PortMatch echo{Protocol::ICMPv6, 128, 128, {}, {}};
  PortMatch wider{Protocol::ICMPv6, 130, 137, {}, {}};
  PortMatch v4{Protocol::ICMP, 135, 135, {}, {}};
  CHECK(lint({ns}, Action::Deny) == 1);
  CHECK(lint({ns, all_ndp}, Action::Allow) == 1);
  CHECK(lint({ns, echo}, Action::Deny) == 0);  // echo is policed: the rule acts
  CHECK(lint({wider}, Action::Allow) == 0);
  CHECK(lint({v4}, Action::Allow) == 0);       // ICMPv4 type 135 is not NDP
  CHECK(lint({}, Action::Deny) == 0);          // every port: acts on everything else
}
