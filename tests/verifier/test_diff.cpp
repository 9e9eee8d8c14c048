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
