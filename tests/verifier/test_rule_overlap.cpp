// The lints' overlap prefilter (verifier/rule_overlap.*): its indexed search must find
// exactly the pairs a plain all-pairs comparison finds, on seeded random policies whose
// CIDRs, selectors and ports collide often.
#include <catch2/catch.hpp>

#include "tests/verifier/random_module.h"
#include "verifier/rule_overlap.h"

using namespace moat;

namespace {

/// All pairs, the obvious way: what the index must reproduce.
std::vector<std::vector<uint32_t>> all_pairs(const Module& m) {
  std::vector<std::vector<uint32_t>> out(m.rules.size());
  for (const Rule& a : m.rules)
    for (const Rule& b : m.rules)
      if (a.id != b.id && verify::rules_may_overlap(a, b)) out[a.id].push_back(b.id);
  return out;
}

} // namespace

TEST_CASE("rule overlap: the index finds exactly the overlapping pairs") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    testing::RandomModules gen(seed);
    Module m = gen.module(60, 4);
    INFO("seed " << seed);
    CHECK(verify::overlapping_rules(m) == all_pairs(m));
  }
}

TEST_CASE("rule overlap: CIDR peers that match pod addresses meet selector peers") {
  // Under --cni calico|kubernetes an ipBlock matches pods too (cidr_any_address): its rule
  // may share a flow with a rule whose peer selects workloads, so the index must offer it.
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    testing::RandomModules gen(seed);
    Module m = gen.module(60, 4);
    gen.add_any_address_cidrs(m, 0.5);
    INFO("seed " << seed);
    CHECK(verify::overlapping_rules(m) == all_pairs(m));
  }
}

TEST_CASE("rule overlap: nested and disjoint CIDR peers") {
  Module m;
  auto cidr_rule = [&](const char* text) {
    Rule r;
    r.dir = Direction::Egress;
    r.peer.kind = Peer::Kind::Cidr;
    r.peer.cidr = *IpPrefix::parse(text);
    m.add_rule(r);
  };
  cidr_rule("10.0.0.0/8");     // 0: contains 1, 2
  cidr_rule("10.1.0.0/16");    // 1: inside 0, contains 2
  cidr_rule("10.1.2.3/32");    // 2
  cidr_rule("192.168.0.0/16"); // 3: disjoint from all
  cidr_rule("0.0.0.0/0");      // 4: contains every v4 prefix
  cidr_rule("::/0");           // 5: another family
  auto out = verify::overlapping_rules(m);
  CHECK(out[0] == std::vector<uint32_t>{1, 2, 4});
  CHECK(out[1] == std::vector<uint32_t>{0, 2, 4});
  CHECK(out[2] == std::vector<uint32_t>{0, 1, 4});
  CHECK(out[3] == std::vector<uint32_t>{4});
  CHECK(out[4] == std::vector<uint32_t>{0, 1, 2, 3});
  CHECK(out[5].empty());
  CHECK(out == all_pairs(m));
}

TEST_CASE("rule overlap: crowded namespaces, each rule for its own app, through the label postings") {
  // The shape the label postings exist for (a namespace of many policies, each for one app
  // and from one peer app): random modules whose subjects and peers mostly pin an app out
  // of many, so the index narrows by subject or by peer, checked against all pairs.
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    testing::RandomModules gen(seed);
    Module m = gen.module(400, 0);
    for (Rule& r : m.rules) {
      auto app = [&] { return LabelRequirement{"app", LabelRequirement::Op::In, {"app" + std::to_string(gen.pick(40))}, {}}; };
      if (gen.chance(0.8)) r.subject.pods.reqs.push_back(app());
      if (r.peer.kind == Peer::Kind::Endpoints && gen.chance(0.8)) r.peer.endpoints.pods.reqs.push_back(app());
    }
    INFO("seed " << seed);
    CHECK(verify::overlapping_rules(m) == all_pairs(m));
  }
}
