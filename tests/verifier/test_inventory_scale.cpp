// The inventory scope at scale: classes of endpoints the solver cannot tell apart, the
// selector index that finds them, and proofs over classes that still speak about concrete
// pods (checked against the interpreter on every pair of the inventory).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "ir/interp.h"
#include "random_module.h"
#include "verifier/domain.h"
#include "verifier/inventory_classes.h"
#include "verifier/verifier.h"

using namespace moat;

namespace {

/// Random endpoints plus look-alikes: copies with another name (same class, another
/// identity) and copies with the same name (same class, same identity: "self").
std::vector<Endpoint> inventory_with_clones(testing::RandomModules& gen, const Module& m, size_t n) {
  std::vector<Endpoint> inv = gen.endpoints(m, n);
  size_t base = inv.size();
  for (size_t i = 0; i < base; i += 2) {
    Endpoint other = inv[i];
    other.name = inv[i].name + "-other";
    inv.push_back(other);
    if (i % 4 == 0) inv.push_back(inv[i]);  // a second pod of one workload
  }
  // Endpoints whose namespace is known only from the name label, or only from `ns`.
  for (size_t i = 1; i < base; i += 5) {
    Endpoint by_label = inv[i];
    by_label.name += "-by-label";
    by_label.ns_labels[kNamespaceNameLabel] = by_label.ns;
    by_label.ns.clear();
    inv.push_back(by_label);
    Endpoint by_ns = inv[i];
    by_ns.name += "-by-ns";
    by_ns.ns_labels.erase(kNamespaceNameLabel);
    inv.push_back(by_ns);
  }
  return inv;
}

/// Runs m's proofs over `inv` and hands each decided one (vacuous ones skipped; none may be
/// unknown) to on_failed(prove, witness) or on_proved(prove).
template <typename Failed, typename Proved>
void each_decided_proof(const Module& m, const std::vector<Endpoint>& inv, Failed&& on_failed, Proved&& on_proved) {
  VerifyOptions o;
  o.inventory = &inv;
  ProofReport rep = run_proofs(m, o);
  REQUIRE(rep.internal_error == "");
  for (const ProofResult& r : rep.results) {
    if (r.vacuous) continue;
    REQUIRE(r.status != ProofStatus::Unknown);
    const Prove& p = m.proofs[r.index];
    if (r.status == ProofStatus::Failed) {
      REQUIRE(r.witness);
      on_failed(p, *r.witness);
    } else {
      on_proved(p);
    }
  }
}

/// The result of m's one proof over `inv`.
ProofResult only_result(const Module& m, const std::vector<Endpoint>& inv) {
  VerifyOptions o;
  o.inventory = &inv;
  ProofReport rep = run_proofs(m, o);
  REQUIRE(rep.internal_error == "");
  REQUIRE(rep.results.size() == 1);
  return rep.results[0];
}

EndpointSelector ns_only(const std::string& ns) {
  EndpointSelector s;
  s.namespaces.reqs.push_back(LabelRequirement{kNamespaceNameLabel, LabelRequirement::Op::In, {ns}, {}});
  return s;
}

} // namespace

TEST_CASE("inventory classes: the index finds exactly the classes the interpreter matches") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    testing::RandomModules gen(seed);
    Module m = gen.module(12, 3);
    std::vector<Endpoint> inv = inventory_with_clones(gen, m, 16);
    std::string error;
    std::vector<const Endpoint*> extra;
    for (const Endpoint& e : inv) extra.push_back(&e);
    auto d = verify::build_domain({&m}, extra, &error);
    REQUIRE(d);
    verify::InventoryClasses ic(inv, *d);
    INFO("seed " << seed);
    // Every member of a class is matched by the selectors of the module exactly when its
    // representative is (the class hides nothing a selector can see).
    for (size_t i = 0; i < inv.size(); ++i) {
      const Endpoint& rep = ic.representative(ic.class_of(i));
      for (const Rule& r : m.rules) {
        CHECK(endpoint_selector_matches(r.subject, inv[i]) == endpoint_selector_matches(r.subject, rep));
        if (r.peer.kind == Peer::Kind::Endpoints)
          CHECK(peer_matches(r.peer, inv[i]) == peer_matches(r.peer, rep));
      }
    }
    for (int k = 0; k < 40; ++k) {
      EndpointSelector sel = gen.selector();
      std::set<uint32_t> expect;
      for (size_t i = 0; i < inv.size(); ++i)
        if (endpoint_selector_matches(sel, inv[i])) expect.insert(ic.class_of(i));
      const std::vector<uint32_t>& got = ic.matching(sel);
      CHECK(std::set<uint32_t>(got.begin(), got.end()) == expect);
    }
    // Two pins exactly when a class holds two identities.
    for (uint32_t c = 0; c < ic.classes().size(); ++c) {
      std::set<unsigned> idents;
      for (size_t i = 0; i < inv.size(); ++i)
        if (ic.class_of(i) == c) idents.insert(ic.ident(i));
      if (ic.representative(c).kind == EndpointKind::Workload)
        CHECK(ic.classes()[c].pins.size() == std::min<size_t>(2, idents.size()));
    }
  }
}

TEST_CASE("inventory scope: proofs over classes agree with the interpreter on every pair") {
  size_t failed = 0, proved = 0;
  for (uint64_t seed = 100; seed < 160; ++seed) {
    testing::RandomModules gen(seed);
    Module m = gen.module(3 + gen.pick(12), gen.pick(4));
    // Every workload isolated for ingress, so that some proofs hold and are checked too.
    m.isolations.push_back(Isolation{{}, Direction::Ingress, "", {}});
    for (int i = 0; i < 6; ++i) {
      Prove p;
      p.kind = Prove::Kind::Isolated;
      for (int k = 0; k < 2; ++k) {
        Peer g;
        g.kind = Peer::Kind::Endpoints;
        g.endpoints = gen.selector();
        p.subjects.push_back(k == 0 && gen.chance(0.3) ? gen.peer() : g);
      }
      m.proofs.push_back(p);
    }
    std::vector<Endpoint> inv = inventory_with_clones(gen, m, 12);
    INFO("seed " << seed);
    std::set<std::string> names;
    for (const Endpoint& e : inv) names.insert(e.name);
    auto on_failed = [&](const Prove&, const Witness& w) {
      ++failed;
      // A counterexample names concrete pods of the inventory, not a class.
      CHECK(names.count(w.src.name) == 1);
      CHECK(names.count((w.self ? w.src : w.dst).name) == 1);
      CHECK(w.verdict.allowed);
    };
    each_decided_proof(m, inv, on_failed, [&](const Prove& p) {
      ++proved;
      for (const Endpoint& s : inv)
        for (const Endpoint& d : inv) {
          if (!(peer_matches(p.subjects[0], s) && peer_matches(p.subjects[1], d)) &&
              !(peer_matches(p.subjects[1], s) && peer_matches(p.subjects[0], d)))
            continue;
          for (int k = 0; k < 8; ++k) {
            auto [proto, port] = gen.proto_port(m, d);
            if (is_neighbour_discovery(proto, port)) continue;
            INFO("proved " << p.text << " but " << s.name << " -> " << d.name << " " << to_string(proto) << "/" << port);
            CHECK_FALSE(evaluate(m, Flow{&s, &d, proto, port}).allowed);
          }
        }
    });
  }
  CHECK(failed > 5);
  CHECK(proved >= 3);
}

TEST_CASE("inventory scope: 70000 endpoints keep distinct identities") {
  // Identities were 16-bit: endpoint 65,536 was "the same endpoint" as endpoint 0 to the
  // solver, so traffic between them was implicitly allowed (self) and the proof broke.
  Module m;
  for (Direction dir : {Direction::Ingress, Direction::Egress}) m.isolations.push_back(Isolation{{}, dir, "", {}});
  std::vector<Endpoint> inv;
  const size_t n = 70000;
  inv.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Endpoint e;
    e.name = "ns" + std::to_string(i) + "/pod";
    e.ns = "ns" + std::to_string(i);
    e.ns_labels = {{kNamespaceNameLabel, e.ns}};
    e.labels = {{"app", "a"}};
    inv.push_back(std::move(e));
  }
  Prove p;
  p.kind = Prove::Kind::Isolated;
  for (size_t i : {size_t(0), size_t(65536)}) {
    Peer g;
    g.kind = Peer::Kind::Endpoints;
    g.endpoints = ns_only("ns" + std::to_string(i));
    p.subjects.push_back(g);
  }
  m.proofs = {p};
  CHECK(only_result(m, inv).status == ProofStatus::Proved);
}

TEST_CASE("inventory scope: every W501 or W502 finding is a rule whose removal changes no verdict on any inventory pair") {
  size_t findings = 0;
  for (uint64_t seed = 300; seed < 360; ++seed) {
    testing::RandomModules gen(seed);
    Module m = gen.module(4 + gen.pick(14), 1 + gen.pick(3));
    for (Rule& r : m.rules) r.range = SourceRange::at(0, r.id + 1, 1);  // a finding's line names its rule
    std::vector<Endpoint> inv = inventory_with_clones(gen, m, 10);
    VerifyOptions o;
    o.inventory = &inv;
    Diagnostics d;
    INFO("seed " << seed);
    REQUIRE(run_solver_lints(m, o, d) == "");
    for (const Diagnostic& diag : d.all()) {
      if (diag.code != Code::W501 && diag.code != Code::W502) continue;
      ++findings;
      size_t id = diag.range.line - 1;
      REQUIRE(id < m.rules.size());
      Module without = m;
      without.rules.erase(without.rules.begin() + static_cast<long>(id));
      for (size_t i = 0; i < without.rules.size(); ++i) without.rules[i].id = static_cast<uint32_t>(i);
      for (const Endpoint& s : inv)
        for (const Endpoint& t : inv)
          for (int k = 0; k < 6; ++k) {
            auto [proto, port] = gen.proto_port(m, t);
            INFO(diag.message << ": rule " << id << ", " << s.name << " -> " << t.name << " " << to_string(proto) << "/"
                              << port);
            CHECK(evaluate(m, Flow{&s, &t, proto, port}).allowed == evaluate(without, Flow{&s, &t, proto, port}).allowed);
          }
    }
  }
  CHECK(findings > 5);
}

TEST_CASE("inventory scope: within proofs over the far end's kept classes agree with the interpreter on every pair") {
  // `within` keeps one far-end class per way the query can read it (prove.cpp
  // remote_classes): a proof that holds must hold for every concrete pair.
  size_t failed = 0, proved = 0;
  auto unnamed = [](std::vector<PortMatch>& ports) {
    ports.erase(std::remove_if(ports.begin(), ports.end(), [](const PortMatch& p) { return !p.name.empty(); }),
                ports.end());
  };
  for (uint64_t seed = 300; seed < 380; ++seed) {
    testing::RandomModules gen(seed);
    Module m = gen.module(3 + gen.pick(12), gen.pick(4));
    m.isolations.push_back(Isolation{{}, gen.chance(0.5) ? Direction::Ingress : Direction::Egress, "", {}});
    // Without named ports (with them every class is kept), most of the time.
    if (gen.chance(0.8))
      for (Rule& r : m.rules) unnamed(r.ports);
    for (int i = 0; i < 4; ++i) {
      Prove p;
      p.kind = gen.chance(0.5) ? Prove::Kind::EgressWithin : Prove::Kind::IngressWithin;
      Peer subject;
      subject.kind = Peer::Kind::Endpoints;
      subject.endpoints = gen.selector();
      p.subjects.push_back(subject);
      for (size_t k = 0, n = gen.pick(3); k < n; ++k) {
        PeerPorts pp{gen.peer(), gen.ports(), {}};
        unnamed(pp.ports);
        p.peers.push_back(pp);
      }
      m.proofs.push_back(p);
    }
    std::vector<Endpoint> inv = inventory_with_clones(gen, m, 30);
    INFO("seed " << seed);
    auto on_failed = [&](const Prove&, const Witness& w) {
      ++failed;
      CHECK(w.verdict.allowed);
    };
    each_decided_proof(m, inv, on_failed, [&](const Prove& p) {
      ++proved;
      bool egress = p.kind == Prove::Kind::EgressWithin;
      for (const Endpoint& local : inv)
        for (const Endpoint& far : inv) {
          if (!peer_matches(p.subjects[0], local) || (local.name == far.name && local.kind == far.kind)) continue;
          const Endpoint& src = egress ? local : far;
          const Endpoint& dst = egress ? far : local;
          if (src.kind == EndpointKind::Host && dst.kind == EndpointKind::Workload) continue;  // kubelet: implicit
          for (int k = 0; k < 6; ++k) {
            auto [proto, port] = gen.proto_port(m, dst);
            if (is_neighbour_discovery(proto, port) || !evaluate(m, Flow{&src, &dst, proto, port}).allowed) continue;
            bool inside = std::any_of(p.peers.begin(), p.peers.end(), [&](const PeerPorts& pp) {
              return peer_matches(pp.peer, far) && ports_match(pp.ports, proto, port, &dst);
            });
            INFO("proved " << (egress ? "egress" : "ingress") << " within, but " << src.name << " -> " << dst.name
                           << " " << to_string(proto) << "/" << port);
            CHECK(inside);
          }
        }
    });
  }
  CHECK(failed > 5);
  CHECK(proved >= 3);
}

TEST_CASE("inventory scope: within finds the one far pod outside the allowed set among look-alikes") {
  // The far end's classes are kept one per way the query reads them: a pod the statement's
  // peer leaves out must not be folded into one it covers, though every rule reads both alike.
  Module m;
  EndpointSelector web = ns_only("x");
  web.pods.reqs.push_back(LabelRequirement{"app", LabelRequirement::Op::In, {"web"}, {}});
  m.isolations.push_back(Isolation{web, Direction::Ingress, "", {}});
  Rule r;
  r.dir = Direction::Ingress;
  r.subject = web;
  r.peer.kind = Peer::Kind::Endpoints;
  r.peer.endpoints.pods.reqs.push_back(LabelRequirement{"tier", LabelRequirement::Op::In, {"front"}, {}});
  m.add_rule(r);
  Prove p;
  p.kind = Prove::Kind::IngressWithin;
  p.subjects.push_back(Peer{});
  p.subjects[0].kind = Peer::Kind::Endpoints;
  p.subjects[0].endpoints = web;
  PeerPorts inside;
  inside.peer.kind = Peer::Kind::Endpoints;
  inside.peer.endpoints.pods.reqs.push_back(LabelRequirement{"app", LabelRequirement::Op::In, {"a"}, {}});
  p.peers.push_back(inside);
  m.proofs.push_back(p);
  auto pod = [](const std::string& name, Labels labels) {
    Endpoint e;
    e.name = "x/" + name;
    e.kind = EndpointKind::Workload;
    e.ns = "x";
    e.ns_labels = {{kNamespaceNameLabel, "x"}};
    e.labels = std::move(labels);
    return e;
  };
  std::vector<Endpoint> inv = {pod("web", {{"app", "web"}}), pod("a", {{"app", "a"}, {"tier", "front"}}),
                               pod("b", {{"app", "b"}, {"tier", "front"}})};
  ProofResult result = only_result(m, inv);
  CHECK(result.status == ProofStatus::Failed);
  REQUIRE(result.witness);
  CHECK(result.witness->src.name == "x/b");
}
