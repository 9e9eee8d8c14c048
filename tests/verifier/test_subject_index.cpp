// The shared subject indexes (ir/subject_index.h rule_index, ModuleIndexes) and the proofs
// that encode only the candidates they give: on a many-namespace module every proof must
// say what the interpreter says on every pair of the inventory.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "ir/interp.h"
#include "ir/subject_index.h"
#include "random_module.h"
#include "verifier/verifier.h"

using namespace moat;

namespace {

LabelRequirement in(std::string key, std::vector<std::string> values) {
  return LabelRequirement{std::move(key), LabelRequirement::Op::In, std::move(values), {}};
}

/// `namespace ns` (empty: any) and app In [app] (empty: any app).
EndpointSelector pods(const std::string& ns, const std::string& app) {
  EndpointSelector s;
  if (!ns.empty()) s.namespaces.reqs.push_back(in(kNamespaceNameLabel, {ns}));
  if (!app.empty()) s.pods.reqs.push_back(in("app", {app}));
  return s;
}

const std::vector<std::string> kApps = {"a", "b", "c"};

/// `spaces` namespaces, each with random isolations and rules whose subjects pin it and
/// whose peers pin it, a neighbour, or no namespace; plus a few rules pinned to no
/// namespace (they are candidates of every end).
Module many_namespaces(testing::RandomModules& gen, size_t spaces) {
  Module m;
  auto ns = [](size_t i) { return "ns" + std::to_string(i); };
  auto app = [&] { return gen.chance(0.3) ? std::string() : kApps[gen.pick(kApps.size())]; };
  auto rule = [&](EndpointSelector subject, Direction dir, EndpointSelector peer) {
    Rule r;
    r.subject = std::move(subject);
    r.dir = dir;
    r.action = gen.chance(0.15) ? Action::Deny : Action::Allow;
    r.peer.kind = Peer::Kind::Endpoints;
    r.peer.endpoints = std::move(peer);
    if (gen.chance(0.7)) r.ports.push_back(PortMatch{Protocol::TCP, gen.chance(0.5) ? uint16_t(80) : uint16_t(443),
                                                     gen.chance(0.5) ? uint16_t(80) : uint16_t(443), "", {}});
    if (!r.ports.empty() && r.ports[0].lo > r.ports[0].hi) std::swap(r.ports[0].lo, r.ports[0].hi);
    m.add_rule(r);
  };
  for (size_t i = 0; i < spaces; ++i) {
    for (Direction d : {Direction::Ingress, Direction::Egress})
      if (gen.chance(0.6)) m.isolations.push_back(Isolation{pods(ns(i), app()), d, "", {}});
    for (size_t k = gen.pick(5); k > 0; --k) {
      size_t far = gen.chance(0.5) ? i : (i + 1 + gen.pick(2)) % spaces;
      rule(pods(ns(i), app()), gen.chance(0.5) ? Direction::Ingress : Direction::Egress,
           pods(gen.chance(0.2) ? "" : ns(far), app()));
    }
  }
  for (int k = 0; k < 3; ++k)
    rule(pods("", kApps[gen.pick(kApps.size())]), gen.chance(0.5) ? Direction::Ingress : Direction::Egress,
         pods(ns(gen.pick(spaces)), app()));
  return m;
}

/// One pod of each app in each namespace, and a second pod of app a (another identity).
std::vector<Endpoint> inventory(size_t spaces) {
  std::vector<Endpoint> inv;
  for (size_t i = 0; i < spaces; ++i)
    for (std::string a : {"a", "b", "c", "a"}) {
      Endpoint e;
      e.kind = EndpointKind::Workload;
      e.ns = "ns" + std::to_string(i);
      e.ns_labels = {{kNamespaceNameLabel, e.ns}};
      e.labels = {{"app", a}};
      e.name = e.ns + "/" + a + std::to_string(inv.size());
      e.ips = {*IpAddr::parse("10." + std::to_string(i / 200) + "." + std::to_string(i % 200) + "." +
                              std::to_string(inv.size() % 250 + 1))};
      inv.push_back(e);
    }
  return inv;
}

Peer group(const std::string& ns, const std::string& app) {
  Peer p;
  p.kind = Peer::Kind::Endpoints;
  p.endpoints = pods(ns, app);
  return p;
}

} // namespace

TEST_CASE("rule_index and ModuleIndexes: the candidates hold every item whose subject selects the workload") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    testing::RandomModules gen(seed);
    Module m = gen.module(40, 8);
    std::vector<Endpoint> eps = gen.endpoints(m, 30);
    SubjectIndex rules = rule_index(m);
    SubjectIndex isolations = isolation_index(m);
    ModuleIndexes both(m);
    INFO("seed " << seed);
    for (const Endpoint& e : eps) {
      if (e.kind != EndpointKind::Workload) continue;
      std::vector<uint32_t> c = rules.candidates(e);
      CHECK(both.rules.candidates(e) == c);
      CHECK(both.isolations.candidates(e) == isolations.candidates(e));
      for (const Rule& r : m.rules)
        if (endpoint_selector_matches(r.subject, e)) CHECK(std::binary_search(c.begin(), c.end(), r.id));
      std::vector<uint32_t> ci = isolations.candidates(e);
      for (size_t i = 0; i < m.isolations.size(); ++i)
        if (endpoint_selector_matches(m.isolations[i].subject, e))
          CHECK(std::binary_search(ci.begin(), ci.end(), static_cast<uint32_t>(i)));
    }
  }
}

TEST_CASE("proofs over a many-namespace module encode the ends' candidate rules and agree with the interpreter") {
  const size_t spaces = 30;
  size_t proved = 0, failed = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    testing::RandomModules gen(seed);
    Module m = many_namespaces(gen, spaces);
    std::vector<Endpoint> inv = inventory(spaces);
    for (int k = 0; k < 8; ++k) {
      Prove p;
      std::string a = "ns" + std::to_string(gen.pick(spaces)), b = "ns" + std::to_string(gen.pick(spaces));
      if (k % 2 == 0) {
        p.kind = Prove::Kind::Isolated;
        p.subjects = {group(a, kApps[gen.pick(3)]), group(b, kApps[gen.pick(3)])};
      } else {
        p.kind = Prove::Kind::Reachable;
        p.subjects = {group(b, kApps[gen.pick(3)])};
        p.peers.push_back(PeerPorts{group(a, kApps[gen.pick(3)]), {PortMatch{Protocol::TCP, 80, 80, "", {}}}, {}});
      }
      m.proofs.push_back(p);
    }
    VerifyOptions o;
    o.inventory = &inv;
    ProofReport rep = run_proofs(m, o);
    INFO("seed " << seed);
    REQUIRE(rep.internal_error == "");
    REQUIRE(rep.results.size() == m.proofs.size());
    for (const ProofResult& r : rep.results) {
      const Prove& p = m.proofs[r.index];
      REQUIRE(r.status != ProofStatus::Unknown);
      // The interpreter on every pair: rules match tcp/80, tcp/443 or every port (tcp/9999).
      bool holds = true;
      if (p.kind == Prove::Kind::Isolated) {
        for (size_t s = 0; s < inv.size(); ++s)
          for (size_t d = 0; d < inv.size(); ++d) {  // a pod to itself too: `isolated` counts it
            bool ab = peer_matches(p.subjects[0], inv[s]) && peer_matches(p.subjects[1], inv[d]);
            bool ba = peer_matches(p.subjects[1], inv[s]) && peer_matches(p.subjects[0], inv[d]);
            if (!ab && !ba) continue;
            for (uint16_t port : {80, 443, 9999})
              if (evaluate(m, Flow{&inv[s], &inv[d], Protocol::TCP, port}).allowed) holds = false;
          }
      } else {
        for (size_t s = 0; s < inv.size(); ++s)
          for (size_t d = 0; d < inv.size(); ++d)
            if (s != d && peer_matches(p.peers[0].peer, inv[s]) && peer_matches(p.subjects[0], inv[d]) &&
                !evaluate(m, Flow{&inv[s], &inv[d], Protocol::TCP, 80}).allowed)
              holds = false;
      }
      INFO("kind " << static_cast<int>(p.kind) << " proof " << r.index << ": " << r.message);
      CHECK((r.status == ProofStatus::Proved) == holds);
      (holds ? proved : failed)++;
    }
  }
  // Both answers occur, so neither can pass by always giving it.
  CHECK(proved > 10);
  CHECK(failed > 10);
}
