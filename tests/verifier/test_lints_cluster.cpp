// The lints on a cluster-shaped module (many namespaces, each default deny with a policy per
// app, and one crowded namespace of 1,500 policies), with one mistake of each kind planted
// in its own namespace: the indexes that keep the lints linear at cluster scale
// (ir/label_index.h, ir/subject_index.h, verifier/rule_overlap.h, the inventory classes)
// must still lead every lint to exactly the planted findings, in both scopes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "ir/lint.h"
#include "verifier/verifier.h"

using namespace moat;

namespace {

using Op = LabelRequirement::Op;

EndpointSelector pods_of(const std::string& ns, std::vector<LabelRequirement> pods = {}) {
  EndpointSelector s;
  s.namespaces.reqs.push_back({kNamespaceNameLabel, Op::In, {ns}, {}});
  s.pods.reqs = std::move(pods);
  return s;
}
LabelRequirement is(const std::string& key, const std::string& value) { return {key, Op::In, {value}, {}}; }
std::string app(size_t j) { return "a" + std::to_string(j); }

struct Cluster {
  Module m;
  std::vector<Endpoint> inventory;
  uint32_t next_line = 1;
  // Planted findings, by code: the lines they must be reported at.
  std::set<uint32_t> w401, w402, w501, w502, w503_every, w503_inventory, w504;

  SourceRange at() { return SourceRange::at(0, next_line++, 1); }
  uint32_t isolate(const EndpointSelector& s, Direction dir) {
    SourceRange r = at();
    m.isolations.push_back(Isolation{s, dir, "", r});
    return r.line;
  }
  uint32_t rule(Direction dir, Action a, const EndpointSelector& subject, const EndpointSelector& peer, uint16_t port) {
    Rule r;
    r.dir = dir;
    r.action = a;
    r.subject = subject;
    r.peer.kind = Peer::Kind::Endpoints;
    r.peer.endpoints = peer;
    r.ports = {PortMatch{Protocol::TCP, port, port, "", {}}};
    r.range = at();
    m.add_rule(r);
    return r.range.line;
  }
  void pod(const std::string& ns, const std::string& name, Labels labels) {
    Endpoint e;
    e.name = ns + "/" + name;
    e.kind = EndpointKind::Workload;
    e.ns = ns;
    e.ns_labels = m.namespaces[ns];
    e.labels = std::move(labels);
    e.ips = {*IpAddr::parse("10.9." + std::to_string(inventory.size() / 250) + "." + std::to_string(inventory.size() % 250 + 1))};
    inventory.push_back(e);
  }
};

/// 120 namespaces of 11 apps (app j admits ingress from app j+1 on tcp 80+j, and app j+1
/// may send it), one namespace `big` where 1,500 policies each admit one tier to one app,
/// and the planted mistakes.
Cluster cluster() {
  Cluster c;
  for (size_t i = 0; i < 120; ++i) {
    std::string ns = "ns" + std::to_string(i);
    c.m.namespaces[ns] = {{kNamespaceNameLabel, ns}, {"team", "t" + std::to_string(i % 10)}};
    for (size_t j = 0; j <= 10; ++j) c.pod(ns, "p" + std::to_string(j), {{"app", app(j)}, {"tier", "front"}});
    if (i == 71) {
      // W504: ingress isolation per app only, and a stray workload none of them selects.
      uint32_t first = c.isolate(pods_of(ns, {is("app", app(0))}), Direction::Ingress);
      // More apps here: enough isolations that W504 looks them up by label.
      for (size_t j = 1; j <= 40; ++j) c.isolate(pods_of(ns, {is("app", app(j))}), Direction::Ingress);
      for (size_t j = 11; j <= 40; ++j) c.pod(ns, "p" + std::to_string(j), {{"app", app(j)}, {"tier", "front"}});
      c.w504.insert(first);
      c.pod(ns, "stray", {{"app", "stray"}});
    } else {
      c.isolate(pods_of(ns), Direction::Ingress);
    }
    if (i != 83) c.isolate(pods_of(ns), Direction::Egress);  // W401: ns83's egress allows isolate nothing
    for (size_t j = 0; j < 10; ++j) {
      c.rule(Direction::Ingress, Action::Allow, pods_of(ns, {is("app", app(j))}), pods_of(ns, {is("app", app(j + 1))}),
             static_cast<uint16_t>(80 + j));
      uint32_t egress = c.rule(Direction::Egress, Action::Allow, pods_of(ns, {is("app", app(j + 1))}),
                               pods_of(ns, {is("app", app(j))}), static_cast<uint16_t>(80 + j));
      if (i == 83) c.w401.insert(egress);
    }
  }
  c.m.namespaces["big"] = {{kNamespaceNameLabel, "big"}, {"team", "t0"}};
  c.isolate(pods_of("big"), Direction::Ingress);
  for (size_t j = 0; j < 1500; ++j) {
    std::string tier = "t" + std::to_string(j % 10);
    c.pod("big", "p" + std::to_string(j), {{"app", app(j)}, {"tier", tier}});
    c.rule(Direction::Ingress, Action::Allow, pods_of("big", {is("app", app(j))}), pods_of("big", {is("tier", tier)}),
           static_cast<uint16_t>(1000 + j));
  }
  c.pod("big", "extra", {{"app", app(5)}, {"tier", "t0"}});

  // W502: an allow inside an existing one (its peer narrower), in a small and in the big
  // namespace. (A back-tier pod keeps the wider one of ns37 needed over the inventory too.)
  c.pod("ns37", "back", {{"app", app(4)}, {"tier", "back"}});
  c.w502.insert(c.rule(Direction::Ingress, Action::Allow, pods_of("ns37", {is("app", app(3))}),
                       pods_of("ns37", {is("app", app(4)), is("tier", "front")}), 83));
  c.w502.insert(c.rule(Direction::Ingress, Action::Allow, pods_of("big", {is("app", app(700))}),
                       pods_of("big", {is("tier", "t0"), is("app", app(5))}), 1700));
  // W501: a deny of every ns53 pod on tcp 82 shadows the allow of app 2 from app 3 there.
  c.rule(Direction::Ingress, Action::Deny, pods_of("ns53", {is("app", app(2))}), pods_of("ns53"), 82);
  for (const Rule& r : c.m.rules)
    if (r.action == Action::Allow && r.dir == Direction::Ingress && r.subject.namespaces.reqs[0].values[0] == "ns53" &&
        r.ports[0].lo == 82)
      c.w501.insert(r.range.line);
  // W503: a subject that contradicts itself (both scopes), one no inventory pod matches.
  uint32_t contradiction = c.rule(Direction::Ingress, Action::Allow,
                                  pods_of("ns61", {is("app", app(1)), {"app", Op::NotIn, {app(1)}, {}}}),
                                  pods_of("ns61"), 9000);
  c.w503_every.insert(contradiction);
  c.w503_inventory.insert(contradiction);
  c.w503_inventory.insert(
      c.rule(Direction::Ingress, Action::Allow, pods_of("ns62", {is("app", "ghost")}), pods_of("ns62"), 9000));
  // W402: an FQDN egress allow in an egress-isolated namespace with no DNS allow.
  Rule fqdn;
  fqdn.dir = Direction::Egress;
  fqdn.subject = pods_of("ns89", {is("app", app(1))});
  fqdn.peer.kind = Peer::Kind::Fqdn;
  fqdn.peer.fqdn.value = "api.example.com";
  fqdn.ports = {PortMatch{Protocol::TCP, 443, 443, "", {}}};
  fqdn.range = c.at();
  c.m.add_rule(fqdn);
  c.w402.insert(fqdn.range.line);
  return c;
}

std::set<uint32_t> lines(const Diagnostics& d, Code code) {
  std::set<uint32_t> out;
  for (const Diagnostic& x : d.all())
    if (x.code == code) out.insert(x.range.line);
  return out;
}

} // namespace

TEST_CASE("lints at cluster scale: the syntactic lints find the planted W401 and W402") {
  Cluster c = cluster();
  Diagnostics d;
  run_lints(c.m, d);
  CHECK(lines(d, Code::W401) == c.w401);
  CHECK(lines(d, Code::W402) == c.w402);
  CHECK(c.w401.size() == 10);
}

TEST_CASE("lints at cluster scale: the solver lints find exactly the planted findings, every endpoint and inventory") {
  Cluster c = cluster();
  for (bool scoped : {false, true}) {
    INFO((scoped ? "inventory scope" : "every-endpoint scope"));
    Diagnostics d;
    VerifyOptions o;
    if (scoped) o.inventory = &c.inventory;
    REQUIRE(run_solver_lints(c.m, o, d) == "");
    CHECK(lines(d, Code::W501) == c.w501);
    CHECK(lines(d, Code::W502) == c.w502);
    CHECK(lines(d, Code::W503) == (scoped ? c.w503_inventory : c.w503_every));
    CHECK(lines(d, Code::W504) == c.w504);
  }
}
