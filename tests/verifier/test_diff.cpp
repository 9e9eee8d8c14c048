// Semantic diff: equivalent versions are proved equivalent (however they are written), and
// every reported cube's witness really changed verdict between the versions.
#include <catch2/catch.hpp>

#include <algorithm>

#include "ir/interp.h"
#include "random_module.h"
#include "verifier/verifier.h"

using namespace moat;

namespace {

Rule egress_cidr(const std::string& ns, const std::string& cidr, std::vector<std::string> except, PortMatch pm) {
  Rule r;
  r.dir = Direction::Egress;
  r.subject.namespaces.reqs.push_back({kNamespaceNameLabel, LabelRequirement::Op::In, {ns}, {}});
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.cidr = *IpPrefix::parse(cidr);
  for (const std::string& e : except) r.peer.except.push_back(*IpPrefix::parse(e));
  r.ports = {pm};
  return r;
}

Module isolated_ns(const std::string& ns) {
  Module m;
  Isolation iso;
  iso.dir = Direction::Egress;
  iso.subject.namespaces.reqs.push_back({kNamespaceNameLabel, LabelRequirement::Op::In, {ns}, {}});
  m.isolations.push_back(iso);
  return m;
}

} // namespace

TEST_CASE("diff: a version is equivalent to itself, reordered, and with a rule split in two") {
  for (uint64_t seed = 1; seed <= 15; ++seed) {
    testing::RandomModules gen(seed);
    Module a = gen.module(8 + gen.pick(8), 1 + gen.pick(3));
    INFO("seed " << seed);
    DiffReport same = semantic_diff(a, a, VerifyOptions{});
    REQUIRE(same.internal_error == "");
    CHECK(same.status == ProofStatus::Proved);

    Module b = a;
    std::reverse(b.rules.begin(), b.rules.end());
    for (uint32_t i = 0; i < b.rules.size(); ++i) b.rules[i].id = i;
    DiffReport reordered = semantic_diff(a, b, VerifyOptions{});
    REQUIRE(reordered.internal_error == "");
    CHECK(reordered.status == ProofStatus::Proved);
  }
  // tcp 80..90 written as 80..85 + 86..90: different text, same meaning.
  Module a = isolated_ns("x");
  a.add_rule(egress_cidr("x", "10.0.0.0/8", {}, PortMatch{Protocol::TCP, 80, 90, "", {}}));
  Module b = isolated_ns("x");
  b.add_rule(egress_cidr("x", "10.0.0.0/8", {}, PortMatch{Protocol::TCP, 80, 85, "", {}}));
  b.add_rule(egress_cidr("x", "10.0.0.0/8", {}, PortMatch{Protocol::TCP, 86, 90, "", {}}));
  DiffReport split = semantic_diff(a, b, VerifyOptions{});
  REQUIRE(split.internal_error == "");
  CHECK(split.status == ProofStatus::Proved);
}

TEST_CASE("diff: a removed CIDR rule shows as one cube in the rule's own terms") {
  Module a = isolated_ns("x");
  a.add_rule(egress_cidr("x", "10.0.0.0/16", {"10.0.128.0/17"}, PortMatch{Protocol::TCP, 443, 443, "", {}}));
  Module b = isolated_ns("x");
  DiffReport r = semantic_diff(a, b, VerifyOptions{});
  REQUIRE(r.internal_error == "");
  REQUIRE(r.status == ProofStatus::Failed);
  REQUIRE(r.cubes.size() == 1);
  const DiffCube& c = r.cubes[0];
  CHECK_FALSE(c.newly_allowed);
  CHECK(c.src == "x/*");
  CHECK(c.dst == "cidr 10.0.0.0/16 except 10.0.128.0/17");
  CHECK(c.ports == "tcp 443");
  CHECK(c.old_verdict.allowed);
  CHECK_FALSE(c.witness.verdict.allowed);
}

TEST_CASE("diff: every cube's witness changed verdict, changed verdicts are never called equivalent") {
  size_t differing = 0;
  for (uint64_t seed = 100; seed < 130; ++seed) {
    testing::RandomModules gen(seed);
    Module a = gen.module(6 + gen.pick(10), 1 + gen.pick(3));
    Module b = a;
    Rule& r = b.rules[gen.pick(b.rules.size())];
    switch (gen.pick(4)) {
    case 0: r.ports = gen.ports(); break;
    case 1: r.peer = gen.peer(); break;
    case 2: r.action = r.action == Action::Allow ? Action::Deny : Action::Allow; break;
    default: r.subject = gen.selector(); break;
    }
    VerifyOptions o;
    o.max_cubes = 8;
    DiffReport d = semantic_diff(a, b, o);
    INFO("seed " << seed);
    REQUIRE(d.internal_error == "");
    REQUIRE(d.status != ProofStatus::Unknown);
    for (const DiffCube& c : d.cubes) {
      CHECK(c.witness.verdict.allowed == c.newly_allowed);
      CHECK(c.old_verdict.allowed == !c.newly_allowed);
    }
    // Random flows whose verdicts differ must not exist when the diff says equivalent.
    std::vector<Endpoint> eps = gen.endpoints(a, 12);
    bool differs = false;
    for (int k = 0; k < 300 && !differs; ++k) {
      size_t s = gen.pick(eps.size()), t = gen.pick(eps.size());
      auto [proto, port] = gen.proto_port(a, eps[t]);
      Flow f{&eps[s], &eps[t], proto, port};
      differs = evaluate(a, f).allowed != evaluate(b, f).allowed;
    }
    if (differs) {
      ++differing;
      CHECK(d.status == ProofStatus::Failed);
    }
  }
  CHECK(differing >= 3);
}

namespace {

EndpointSelector in_ns(const std::string& ns, std::vector<std::pair<std::string, std::string>> pod = {}) {
  EndpointSelector s;
  s.namespaces.reqs.push_back({kNamespaceNameLabel, LabelRequirement::Op::In, {ns}, {}});
  for (auto& [k, v] : pod) s.pods.reqs.push_back({k, LabelRequirement::Op::In, {v}, {}});
  return s;
}

void isolate(Module& m, const EndpointSelector& s, Direction d) {
  Isolation iso;
  iso.subject = s;
  iso.dir = d;
  m.isolations.push_back(iso);
}

void allow(Module& m, Direction d, const EndpointSelector& subject, const EndpointSelector& peer,
           std::vector<PortMatch> ports = {}) {
  Rule r;
  r.dir = d;
  r.subject = subject;
  r.peer.kind = Peer::Kind::Endpoints;
  r.peer.endpoints = peer;
  r.ports = std::move(ports);
  m.add_rule(r);
}

/// bench/scale's xlarge shape in small: per namespace a default deny both ways, and apps a
/// and b each let talk to themselves.
Module small_namespaces(int n) {
  Module m;
  for (int i = 0; i < n; ++i) {
    std::string ns = "ns" + std::to_string(i);
    isolate(m, in_ns(ns), Direction::Ingress);
    isolate(m, in_ns(ns), Direction::Egress);
    for (const char* app : {"a", "b"}) {
      EndpointSelector s = in_ns(ns, {{"app", app}});
      isolate(m, s, Direction::Ingress);
      isolate(m, s, Direction::Egress);
      allow(m, Direction::Ingress, s, s);
      allow(m, Direction::Egress, s, s);
    }
  }
  return m;
}

} // namespace

TEST_CASE("diff: a changed isolation's far end is narrowed to the allow rules' peers, no difference lost") {
  // bench/scale's change: ns0's self-a policy now only isolates ingress of all of ns0 and
  // admits tcp/9090 from ns0. a's egress is then denied by the default deny: a -> a is
  // newly denied on every protocol, and nothing is newly allowed (the far end, ns0/{app: a},
  // is found through the old version's egress rule, not by encoding every namespace).
  Module before = small_namespaces(4);
  Module after = small_namespaces(4);
  // self-a of ns0 is rules 0, 1 and isolations 2, 3 (see small_namespaces).
  after.rules.erase(after.rules.begin(), after.rules.begin() + 2);
  for (uint32_t i = 0; i < after.rules.size(); ++i) after.rules[i].id = i;
  after.isolations.erase(after.isolations.begin() + 2, after.isolations.begin() + 4);
  isolate(after, in_ns("ns0"), Direction::Ingress);
  allow(after, Direction::Ingress, in_ns("ns0"), in_ns("ns0"), {PortMatch{Protocol::TCP, 9090, 9090, "", {}}});
  DiffReport r = semantic_diff(before, after, VerifyOptions{});
  REQUIRE(r.internal_error == "");
  REQUIRE(r.status == ProofStatus::Failed);
  CHECK_FALSE(r.truncated);
  CHECK(r.cubes.size() == 6);  // tcp, udp, sctp, icmp, icmpv6 on both sides of neighbour discovery
  for (const DiffCube& c : r.cubes) {
    CHECK_FALSE(c.newly_allowed);
    CHECK(c.src == "ns0/{app: a}");
    CHECK(c.dst == "ns0/{app: a}");
  }
}

TEST_CASE("diff: a difference decided at the far end (the other direction's rules) is still found") {
  // b's policy changes (an isolation and its allow rule): b/{app: y} newly admits tcp/9090
  // from ns a. Whether a flow from a gets there is decided at the far end, by a's egress:
  // only a/{app: x} may leave, and only towards b.
  auto versions = [](bool a_egress) {
    Module old_m, new_m;
    for (Module* m : {&old_m, &new_m}) {
      isolate(*m, in_ns("a"), Direction::Egress);
      if (a_egress) allow(*m, Direction::Egress, in_ns("a", {{"app", "x"}}), in_ns("b"));
    }
    isolate(old_m, in_ns("b", {{"app", "y"}}), Direction::Ingress);
    allow(old_m, Direction::Ingress, in_ns("b", {{"app", "y"}}), in_ns("b"));
    isolate(new_m, in_ns("b"), Direction::Ingress);
    allow(new_m, Direction::Ingress, in_ns("b"), in_ns("a"), {PortMatch{Protocol::TCP, 9090, 9090, "", {}}});
    return std::pair{old_m, new_m};
  };
  VerifyOptions o;
  o.max_cubes = 64;
  {
    auto [old_m, new_m] = versions(true);
    DiffReport r = semantic_diff(old_m, new_m, o);
    REQUIRE(r.internal_error == "");
    REQUIRE(r.status == ProofStatus::Failed);
    std::vector<const DiffCube*> allowed;
    for (const DiffCube& c : r.cubes)
      if (c.newly_allowed) allowed.push_back(&c);
    REQUIRE(allowed.size() == 1);
    CHECK(allowed[0]->src == "a/{app: x}");
    CHECK(allowed[0]->dst == "b/{app: y}");
    CHECK(allowed[0]->ports == "tcp 9090");
  }
  {
    // a may not leave at all: the same change at b allows nothing new.
    auto [old_m, new_m] = versions(false);
    DiffReport r = semantic_diff(old_m, new_m, o);
    REQUIRE(r.internal_error == "");
    for (const DiffCube& c : r.cubes) CHECK_FALSE(c.newly_allowed);
  }
}

TEST_CASE("diff: changed isolations over whole namespaces never hide a changed verdict") {
  // Random versions whose isolations cover whole namespaces (the far-end narrowing applies)
  // and change: every flow the interpreter sees change must be found, also when the
  // inventory holds just its two ends.
  size_t differing = 0;
  for (uint64_t seed = 300; seed < 330; ++seed) {
    testing::RandomModules gen(seed);
    Module a = gen.module(6 + gen.pick(10), 1 + gen.pick(2));
    for (const char* ns : {"x", "y"})
      if (gen.chance(0.7)) isolate(a, in_ns(ns), gen.chance(0.5) ? Direction::Ingress : Direction::Egress);
    Module b = a;
    switch (gen.pick(3)) {
    case 0: b.isolations.erase(b.isolations.begin() + static_cast<long>(gen.pick(b.isolations.size()))); break;
    case 1: isolate(b, in_ns(gen.chance(0.5) ? "x" : "y"), gen.chance(0.5) ? Direction::Ingress : Direction::Egress); break;
    default: b.isolations[gen.pick(b.isolations.size())].subject = gen.selector(); break;
    }
    if (gen.chance(0.5)) b.rules[gen.pick(b.rules.size())].peer = gen.peer();
    VerifyOptions o;
    o.max_cubes = 8;
    DiffReport d = semantic_diff(a, b, o);
    INFO("seed " << seed);
    REQUIRE(d.internal_error == "");
    REQUIRE(d.status != ProofStatus::Unknown);
    for (const DiffCube& c : d.cubes) {
      CHECK(c.witness.verdict.allowed == c.newly_allowed);
      CHECK(c.old_verdict.allowed == !c.newly_allowed);
    }
    std::vector<Endpoint> eps = gen.endpoints(a, 12);
    int checked = 0;
    for (int k = 0; k < 300 && checked < 3; ++k) {
      size_t s = gen.pick(eps.size()), t = gen.pick(eps.size());
      if (s == t) continue;
      auto [proto, port] = gen.proto_port(a, eps[t]);
      Flow f{&eps[s], &eps[t], proto, port};
      if (evaluate(a, f).allowed == evaluate(b, f).allowed) continue;
      ++checked;
      CHECK(d.status == ProofStatus::Failed);
      if (eps[s].ips.size() > 1 || eps[t].ips.size() > 1) continue;  // one host per end
      std::vector<Endpoint> two = {eps[s], eps[t]};
      VerifyOptions io = o;
      io.inventory = &two;
      DiffReport local = semantic_diff(a, b, io);
      INFO("flow " << eps[s].name << " -> " << eps[t].name << " " << to_string(proto) << "/" << port);
      REQUIRE(local.internal_error == "");
      CHECK(local.status == ProofStatus::Failed);
    }
    if (checked) ++differing;
  }
  CHECK(differing >= 5);
}

TEST_CASE("diff: a changed isolation under a baseline deny is found through the far end's peers") {
  // The only change: b becomes isolated for ingress. Before, the baseline tier decided b's
  // ingress (pod-to-pod denied) and the allow rule from a did not apply; after, the allow
  // rule does. No rule changed, so only the isolation's region — narrowed at its far end to
  // the allow rule's peer, a — holds the newly allowed flows.
  Module old_m;
  allow(old_m, Direction::Ingress, in_ns("b"), in_ns("a"), {PortMatch{Protocol::TCP, 80, 80, "", {}}});
  Rule deny;
  deny.tier = Tier::Baseline;
  deny.dir = Direction::Ingress;
  deny.action = Action::Deny;
  deny.peer.kind = Peer::Kind::Endpoints;
  deny.id = 0;
  old_m.baseline_rules.push_back(deny);
  Module new_m = old_m;
  isolate(new_m, in_ns("b"), Direction::Ingress);
  DiffReport r = semantic_diff(old_m, new_m, VerifyOptions{});
  REQUIRE(r.internal_error == "");
  REQUIRE(r.status == ProofStatus::Failed);
  std::vector<const DiffCube*> allowed;
  for (const DiffCube& c : r.cubes)
    if (c.newly_allowed) allowed.push_back(&c);
  REQUIRE(allowed.size() == 1);
  CHECK(allowed[0]->src == "a/*");
  CHECK(allowed[0]->dst == "b/*");
  CHECK(allowed[0]->ports == "tcp 80");
}
