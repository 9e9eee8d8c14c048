// A diff's solver domain is built from the new version whole and, of the old version, only
// the changed items' labels (verifier/diff_changes.h add_changed). It must equal the domain
// of both versions read whole, value for value and in the same order: a value missing from
// it is a wrong answer (an endpoint the encoding cannot express), and a different order a
// different encoding (other witnesses).
#include <catch2/catch.hpp>

#include "random_module.h"
#include "verifier/diff_changes.h"
#include "verifier/domain.h"

using namespace moat;

namespace {

void same_keys(const std::vector<verify::KeyDomain>& a, const std::vector<verify::KeyDomain>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("key " << a[i].key);
    CHECK(a[i].key == b[i].key);
    CHECK(a[i].values == b[i].values);
    CHECK(a[i].fresh == b[i].fresh);
  }
}

void same_domain(const verify::Domain& a, const verify::Domain& b) {
  same_keys(a.ns_keys, b.ns_keys);
  same_keys(a.pod_keys, b.pod_keys);
  REQUIRE(a.fqdns.size() == b.fqdns.size());
  for (size_t i = 0; i < a.fqdns.size(); ++i) {
    CHECK(a.fqdns[i].pattern == b.fqdns[i].pattern);
    CHECK(a.fqdns[i].value == b.fqdns[i].value);
  }
  REQUIRE(a.names.classes.size() == b.names.classes.size());
  for (size_t i = 0; i < a.names.classes.size(); ++i) {
    CHECK(a.names.classes[i].matches == b.names.classes[i].matches);
    CHECK(a.names.classes[i].example == b.names.classes[i].example);
  }
  CHECK(a.port_names == b.port_names);
  CHECK(a.namespaces == b.namespaces);
  CHECK(a.cluster_addresses == b.cluster_addresses);
}

/// A label value no random selector uses, so that only the item carrying it adds it.
EndpointSelector unique_selector(uint64_t seed, const char* side) {
  EndpointSelector s;
  s.namespaces.reqs.push_back({kNamespaceNameLabel, LabelRequirement::Op::In, {std::string(side) + "-ns"}, {}});
  s.pods.reqs.push_back({std::string(side) + "-key-" + std::to_string(seed % 3), LabelRequirement::Op::In,
                         {std::string(side) + "-value"}, {}});
  return s;
}

} // namespace

TEST_CASE("diff: the domain of the new version and the changed items is both versions' whole domain") {
  size_t old_only_values = 0;
  for (uint64_t seed = 300; seed < 360; ++seed) {
    testing::RandomModules gen(seed);
    Module a = gen.module(10 + gen.pick(20), 2 + gen.pick(4));
    gen.add_tiers(a, gen.pick(4), gen.pick(3));
    gen.add_node_peers(a, 0.3);
    gen.add_any_address_cidrs(a, 0.2);
    // Items only the old version has, with labels, names and ports nothing else uses.
    Rule gone = a.rules[gen.pick(a.rules.size())];
    gone.subject = unique_selector(seed, "old");
    gone.ports = {PortMatch{Protocol::TCP, 0, 0, "old-port", {}}};
    if (gen.chance(0.5)) {
      gone.peer.kind = Peer::Kind::Fqdn;
      gone.peer.fqdn = FqdnMatch{true, "*.only.old.example", {}};
    }
    a.add_rule(gone);
    Isolation gone_iso;
    gone_iso.subject = unique_selector(seed + 1, "old-iso");
    a.isolations.push_back(gone_iso);

    Module b = a;
    b.rules.pop_back();
    b.isolations.pop_back();
    // And edits of every kind in the middle: changed, removed, added items.
    for (int k = 0, n = 1 + static_cast<int>(gen.pick(4)); k < n; ++k) {
      Rule& r = b.rules[gen.pick(b.rules.size())];
      switch (gen.pick(5)) {
      case 0: r.ports = gen.ports(); break;
      case 1: r.peer = gen.peer(); break;
      case 2: r.subject = gen.selector(); break;
      case 3: b.rules.erase(b.rules.begin() + static_cast<long>(gen.pick(b.rules.size()))); break;
      default: {
        Rule added = r;
        added.subject = unique_selector(seed, "new");
        b.add_rule(added);
      }
      }
    }
    if (gen.chance(0.3)) b.namespaces["z"] = {{"team", "new"}, {kNamespaceNameLabel, "z"}};
    std::vector<Endpoint> inventory = gen.endpoints(b, 6);
    std::vector<const Endpoint*> extra;
    for (const Endpoint& e : inventory) extra.push_back(&e);

    std::string error;
    auto whole = verify::build_domain({&a, &b}, extra, &error);
    REQUIRE(whole);
    verify::DomainBuilder builder;
    builder.add_except_rules(a);
    builder.add(b);
    verify::ChangedItems changed{verify::changed_rules(a, b), verify::changed_isolations(a, b)};
    verify::add_changed(builder, changed);
    auto narrow = builder.build(extra, &error);
    REQUIRE(narrow);
    INFO("seed " << seed);
    same_domain(*narrow, *whole);
    // The test is only worth something if the old-only items' values are in the domain.
    auto key = whole->pod_key("old-key-" + std::to_string(seed % 3));
    if (key && whole->pod_keys[*key].index_of("old-value") < whole->pod_keys[*key].values.size()) ++old_only_values;
  }
  CHECK(old_only_values == 60);
}
