// Seeded differential tests: the Z3 encoding against the reference interpreter on random
// policies. (1) concrete flows between random endpoints; (2) random `prove` statements in
// the every-endpoint scope, whose counterexamples the verifier replays (a disagreement
// is an internal error) and whose proofs are spot-checked on random concrete flows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

#include "ir/interp.h"
#include "random_module.h"
#include "verifier/verifier.h"

using namespace moat;

namespace {
uint64_t base_seed() {
  const char* s = std::getenv("MOAT_DIFF_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 20240611;
}
size_t rounds(size_t dflt) {
  const char* s = std::getenv("MOAT_DIFF_ROUNDS");
  return s ? std::strtoull(s, nullptr, 10) : dflt;
}

/// A random flow of `gen` judged by the interpreter and by Z3, which must agree.
struct Judged {
  size_t src, dst;
  Protocol proto;
  uint16_t port;
  Verdict v;
};
Judged judge_random_flow(testing::RandomModules& gen, const Module& m, const std::vector<Endpoint>& eps,
                         SmtEngine& smt, uint64_t seed) {
  size_t s = gen.pick(eps.size()), d = gen.pick(eps.size());
  auto [proto, port] = gen.proto_port(m, eps[d]);
  Verdict v = evaluate(m, Flow{&eps[s], &eps[d], proto, port});
  std::string error;
  auto z = smt.verdict(s, d, proto, port, &error);
  INFO("seed " << seed << " flow " << eps[s].name << " -> " << eps[d].name << " " << to_string(proto) << "/" << port
               << " " << error);
  REQUIRE(z.has_value());
  REQUIRE(*z == v.allowed);
  return {s, d, proto, port, std::move(v)};
}
} // namespace

TEST_CASE("differential: Z3 verdicts equal interpreter verdicts on random flows") {
  size_t flows = 0, allowed = 0, ndp = 0;
  for (size_t round = 0; round < rounds(40); ++round) {
    uint64_t seed = base_seed() + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(4 + gen.pick(20), gen.pick(5));
    std::vector<Endpoint> eps = gen.endpoints(m, 12);
    SmtEngine smt(m, eps, VerifyOptions{});
    for (int i = 0; i < 100; ++i) {
      Judged j = judge_random_flow(gen, m, eps, smt, seed);
      ++flows;
      allowed += j.v.allowed;
      ndp += is_neighbour_discovery(j.proto, j.port);
    }
  }
  // Both verdicts must be well represented, or the test proves little.
  CHECK(allowed > flows / 10);
  CHECK(allowed < flows * 9 / 10);
  CHECK(ndp > 20);  // IPv6 neighbour discovery, always allowed, is exercised too
}

TEST_CASE("differential: counterexamples of random proofs replay through the interpreter") {
  size_t failed = 0, proved = 0;
  for (size_t round = 0; round < rounds(40); ++round) {
    uint64_t seed = base_seed() * 7 + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(3 + gen.pick(15), gen.pick(4));
    for (int i = 0; i < 6; ++i) {
      Prove p;
      p.kind = static_cast<Prove::Kind>(gen.pick(4));
      p.subjects.push_back(gen.peer());
      if (p.kind == Prove::Kind::Isolated) p.subjects.push_back(gen.peer());
      else {
        size_t n = 1 + gen.pick(2);
        for (size_t k = 0; k < n; ++k) p.peers.push_back(PeerPorts{gen.peer(), gen.ports(), {}});
      }
      m.proofs.push_back(p);
    }
    ProofReport rep = run_proofs(m, VerifyOptions{});
    INFO("seed " << seed);
    REQUIRE(rep.internal_error == "");
    REQUIRE(rep.results.size() == m.proofs.size());
    std::vector<Endpoint> eps = gen.endpoints(m, 14);
    for (const ProofResult& r : rep.results) {
      const Prove& p = m.proofs[r.index];
      REQUIRE(r.status != ProofStatus::Unknown);
      if (r.status == ProofStatus::Failed) {
        ++failed;
        REQUIRE(r.witness);
        const Witness& w = *r.witness;
        const Endpoint& dst = w.self ? w.src : w.dst;
        // The witness really is what the proof forbids.
        switch (p.kind) {
        case Prove::Kind::Isolated:
          CHECK(w.verdict.allowed);
          CHECK_FALSE(is_neighbour_discovery(w.proto, w.port));
          CHECK(((peer_matches(p.subjects[0], w.src) && peer_matches(p.subjects[1], dst)) ||
                 (peer_matches(p.subjects[1], w.src) && peer_matches(p.subjects[0], dst))));
          break;
        case Prove::Kind::Reachable: CHECK_FALSE(w.verdict.allowed); CHECK(peer_matches(p.subjects[0], dst)); break;
        case Prove::Kind::EgressWithin: CHECK(w.verdict.allowed); CHECK(peer_matches(p.subjects[0], w.src)); break;
        case Prove::Kind::IngressWithin: CHECK(w.verdict.allowed); CHECK(peer_matches(p.subjects[0], dst)); break;
        default: break;
        }
        continue;
      }
      ++proved;
      // Spot-check a proof on random concrete flows.
      for (int k = 0; k < 60; ++k) {
        size_t s = gen.pick(eps.size()), d = gen.pick(eps.size());
        if (s == d) continue;
        auto [proto, port] = gen.proto_port(m, eps[d]);
        Verdict v = evaluate(m, Flow{&eps[s], &eps[d], proto, port});
        bool implicit = v.egress.why == Decision::Why::Implicit || v.ingress.why == Decision::Why::Implicit;
        INFO("proved " << p.text << " flow " << eps[s].name << " -> " << eps[d].name << " " << to_string(proto) << "/" << port);
        if (p.kind == Prove::Kind::Isolated) {
          // Neighbour discovery is always allowed and is not a connection isolation forbids.
          if (peer_matches(p.subjects[0], eps[s]) && peer_matches(p.subjects[1], eps[d]) &&
              !is_neighbour_discovery(proto, port))
            CHECK_FALSE(v.allowed);
        } else if (p.kind == Prove::Kind::Reachable) {
          for (const PeerPorts& pp : p.peers)
            if (peer_matches(p.subjects[0], eps[d]) && peer_matches(pp.peer, eps[s]) &&
                ports_match(pp.ports, proto, port, &eps[d]))
              CHECK(v.allowed);
        } else {
          bool egress = p.kind == Prove::Kind::EgressWithin;
          const Endpoint& local = egress ? eps[s] : eps[d];
          const Endpoint& remote = egress ? eps[d] : eps[s];
          if (!peer_matches(p.subjects[0], local) || !v.allowed || implicit) continue;
          bool inside = false;
          for (const PeerPorts& pp : p.peers)
            inside = inside || (peer_matches(pp.peer, remote) && ports_match(pp.ports, proto, port, &eps[d]));
          CHECK(inside);
        }
      }
    }
  }
  CHECK(failed > 10);
  CHECK(proved > 10);
}

TEST_CASE("differential: admin and baseline tiers, Z3 against the interpreter on random flows and proofs") {
  size_t flows = 0, allowed = 0, by_tier[3] = {0, 0, 0}, passed = 0, failed = 0;
  for (size_t round = 0; round < rounds(40); ++round) {
    uint64_t seed = base_seed() * 13 + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(2 + gen.pick(10), gen.pick(4));
    gen.add_tiers(m, 2 + gen.pick(8), gen.pick(5));
    std::vector<Endpoint> eps = gen.endpoints(m, 12);
    SmtEngine smt(m, eps, VerifyOptions{});
    for (int i = 0; i < 100; ++i) {
      Judged j = judge_random_flow(gen, m, eps, smt, seed);
      const Verdict& v = j.v;
      ++flows;
      allowed += v.allowed;
      for (const Decision* d : {&v.egress, &v.ingress}) {
        if (d->why != Decision::Why::Implicit && d->why != Decision::Why::NotWorkload)
          ++by_tier[static_cast<int>(d->tier())];
        passed += !d->passed.empty();
      }
    }
    // Counterexamples of proofs over the tiers replay through the interpreter (a
    // disagreement is an internal error).
    for (int i = 0; i < 4; ++i) {
      Prove p;
      p.kind = gen.chance(0.5) ? Prove::Kind::Isolated : Prove::Kind::Reachable;
      p.subjects.push_back(gen.peer());
      if (p.kind == Prove::Kind::Isolated) p.subjects.push_back(gen.peer());
      else p.peers.push_back(PeerPorts{gen.peer(), gen.ports(), {}});
      m.proofs.push_back(p);
    }
    ProofReport rep = run_proofs(m, VerifyOptions{});
    INFO("seed " << seed);
    REQUIRE(rep.internal_error == "");
    for (const ProofResult& r : rep.results) failed += r.status == ProofStatus::Failed;
  }
  CHECK(allowed > flows / 10);
  CHECK(allowed < flows * 9 / 10);
  // Every tier decides some flows, and Pass hands some down.
  CHECK(by_tier[static_cast<int>(Tier::Admin)] > 50);
  CHECK(by_tier[static_cast<int>(Tier::Policy)] > 50);
  CHECK(by_tier[static_cast<int>(Tier::Baseline)] > 20);
  CHECK(passed > 20);
  CHECK(failed > 10);
}

TEST_CASE("differential: any-address CIDRs, arbitrary port ranges and denies, Z3 against the interpreter") {
  // The kubernetes / calico meaning of ipBlock (CIDR peers that match pod and node
  // addresses), ranges whose edges are not well-known ports, more deny rules.
  size_t flows = 0, allowed = 0, cluster_by_cidr = 0, range_edges = 0, denied_by_rule = 0;
  for (size_t round = 0; round < rounds(40); ++round) {
    uint64_t seed = base_seed() * 17 + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(4 + gen.pick(12), gen.pick(5));
    gen.add_port_ranges(m, 0.5);
    gen.add_denies(m, 0.2);
    gen.add_any_address_cidrs(m, 0.8);
    std::vector<Endpoint> eps = gen.endpoints(m, 12);
    SmtEngine smt(m, eps, VerifyOptions{});
    for (int i = 0; i < 100; ++i) {
      auto [s, d, proto, port, v] = judge_random_flow(gen, m, eps, smt, seed);
      ++flows;
      allowed += v.allowed;
      denied_by_rule += v.egress.why == Decision::Why::Denied || v.ingress.why == Decision::Why::Denied;
      for (const Rule& r : m.rules) {
        // An any-address CIDR rule that applies to this flow with a workload or node peer.
        const Endpoint& local = r.dir == Direction::Egress ? eps[s] : eps[d];
        const Endpoint& remote = r.dir == Direction::Egress ? eps[d] : eps[s];
        cluster_by_cidr += r.peer.cidr_any_address && remote.kind != EndpointKind::External &&
                           local.kind == EndpointKind::Workload && endpoint_selector_matches(r.subject, local) &&
                           peer_matches(r.peer, remote) && ports_match(r.ports, proto, port, &eps[d]);
        for (const PortMatch& pm : r.ports)
          range_edges += pm.name.empty() && pm.lo != pm.hi && (port == pm.lo || port == pm.hi);
      }
    }
  }
  CHECK(allowed > flows / 10);
  CHECK(allowed < flows * 9 / 10);
  CHECK(cluster_by_cidr > 20);  // a CIDR rule decided for a workload or node peer
  CHECK(range_edges > 50);
  CHECK(denied_by_rule > 50);
}

TEST_CASE("differential: AdminNetworkPolicy nodes peers over node labels, Z3 against the interpreter") {
  // Egress to nodes by their labels: the host and remote nodes carry Node labels (one key
  // shared with pod labels), admin and baseline egress rules select them; half the flows
  // go to a node so that the nodes rules decide often.
  size_t flows = 0, allowed = 0, node_hits = 0, node_misses = 0, failed = 0;
  for (size_t round = 0; round < rounds(40); ++round) {
    uint64_t seed = base_seed() * 19 + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(2 + gen.pick(8), gen.pick(4));
    gen.add_tiers(m, 3 + gen.pick(6), gen.pick(4));
    gen.add_node_peers(m, 0.6);
    std::vector<Endpoint> eps = gen.endpoints(m, 14);
    gen.add_node_labels(eps);
    std::vector<size_t> nodes;
    for (size_t i = 0; i < eps.size(); ++i)
      if (eps[i].kind == EndpointKind::Host || eps[i].kind == EndpointKind::RemoteNode) nodes.push_back(i);
    SmtEngine smt(m, eps, VerifyOptions{});
    for (int i = 0; i < 100; ++i) {
      size_t s = gen.pick(eps.size());
      size_t d = !nodes.empty() && gen.chance(0.5) ? nodes[gen.pick(nodes.size())] : gen.pick(eps.size());
      auto [proto, port] = gen.proto_port(m, eps[d]);
      Verdict v = evaluate(m, Flow{&eps[s], &eps[d], proto, port});
      std::string error;
      auto z = smt.verdict(s, d, proto, port, &error);
      INFO("seed " << seed << " flow " << eps[s].name << " -> " << eps[d].name << " " << to_string(proto) << "/"
                   << port << " " << error);
      REQUIRE(z.has_value());
      REQUIRE(*z == v.allowed);
      ++flows;
      allowed += v.allowed;
      if (eps[s].kind != EndpointKind::Workload) continue;
      for (const std::vector<Rule>* tier : {&m.admin_rules, &m.baseline_rules})
        for (const Rule& r : *tier) {
          if (r.peer.kind != Peer::Kind::Nodes || !endpoint_selector_matches(r.subject, eps[s])) continue;
          bool node = eps[d].kind == EndpointKind::Host || eps[d].kind == EndpointKind::RemoteNode;
          if (node && peer_matches(r.peer, eps[d])) ++node_hits;
          else if (node) ++node_misses;
        }
    }
    // Counterexamples of proofs with nodes peers replay through the interpreter.
    for (int i = 0; i < 4; ++i) {
      Prove p;
      p.kind = Prove::Kind::Isolated;
      p.subjects.push_back(gen.peer());
      Peer to;
      to.kind = Peer::Kind::Nodes;
      to.nodes = m.admin_rules.empty() || m.admin_rules[0].peer.kind != Peer::Kind::Nodes ? LabelSelector{}
                                                                                        : m.admin_rules[0].peer.nodes;
      p.subjects.push_back(to);
      m.proofs.push_back(p);
    }
    ProofReport rep = run_proofs(m, VerifyOptions{});
    INFO("seed " << seed);
    REQUIRE(rep.internal_error == "");
    for (const ProofResult& r : rep.results) failed += r.status == ProofStatus::Failed;
  }
  CHECK(allowed > flows / 10);
  CHECK(allowed < flows * 9 / 10);
  CHECK(node_hits > 50);    // a nodes rule's selector matched the node the flow goes to
  CHECK(node_misses > 50);  // ... and did not
  CHECK(failed > 10);
}

TEST_CASE("timeouts give unknown, never a wrong verdict") {
  testing::RandomModules gen(77);
  Module m = gen.module(3000, 40);
  for (int i = 0; i < 8; ++i) {
    Prove p;
    p.kind = Prove::Kind::Isolated;
    for (int k = 0; k < 2; ++k) {
      Peer peer;
      peer.kind = Peer::Kind::Endpoints;
      peer.endpoints = gen.selector();
      p.subjects.push_back(peer);
    }
    m.proofs.push_back(p);
  }
  ProofReport full = run_proofs(m, VerifyOptions{});
  VerifyOptions o;
  o.timeout_ms = 1;
  ProofReport r = run_proofs(m, o);
  REQUIRE(r.internal_error == "");
  REQUIRE(r.results.size() == full.results.size());
  size_t unknown = 0;
  for (size_t i = 0; i < r.results.size(); ++i) {
    if (r.results[i].status == ProofStatus::Unknown) {
      ++unknown;
      CHECK(r.results[i].message.find("timeout") != std::string::npos);
    } else {
      CHECK(r.results[i].status == full.results[i].status);  // finished in time: the same answer
    }
  }
  CHECK(unknown > 0);
  if (unknown) CHECK(r.failed());  // unknown is not a pass
}

TEST_CASE("differential: Z3 on a many-namespace module encodes the ends' rules and still agrees with the interpreter") {
  // 3,000 namespaces, each with a default deny and app=a talking to itself on tcp/80 (6,001
  // rules), plus one rule pinned to no namespace. The engine encodes only the
  // rules whose subject may select one of its endpoints; verdicts must still equal the
  // interpreter's, and the explanation lists the matching rules (it used to give up past
  // 5,000 rules).
  auto req = [](std::string key, std::vector<std::string> values) {
    LabelRequirement r;
    r.key = std::move(key);
    r.values = std::move(values);
    return r;
  };
  auto in_ns = [&](const std::string& ns, std::vector<LabelRequirement> pods) {
    EndpointSelector s;
    s.namespaces.reqs.push_back(req(kNamespaceNameLabel, {ns}));
    s.pods.reqs = std::move(pods);
    return s;
  };
  Module m;
  for (int i = 0; i < 3000; ++i) {
    std::string ns = "ns" + std::to_string(i);
    for (Direction d : {Direction::Ingress, Direction::Egress}) {
      m.isolations.push_back(Isolation{in_ns(ns, {}), d, "NetworkPolicy " + ns + "/deny", {}});
      Rule r;
      r.subject = in_ns(ns, {req("app", {"a"})});
      r.dir = d;
      r.peer.kind = Peer::Kind::Endpoints;
      r.peer.endpoints = in_ns(ns, {req("app", {"a"})});
      r.ports.push_back(PortMatch{Protocol::TCP, 80, 80, "", {}});
      r.origin = "NetworkPolicy " + ns + "/self-a";
      m.add_rule(r);
    }
  }
  Rule monitor;  // any namespace: role=monitor pods accept tcp/9090 from anywhere
  monitor.subject.pods.reqs.push_back(req("role", {"monitor"}));
  monitor.origin = "moat monitor";
  monitor.ports.push_back(PortMatch{Protocol::TCP, 9090, 9090, "", {}});
  uint32_t monitor_id = m.add_rule(monitor);
  REQUIRE(m.rules.size() > 5000);

  std::vector<Endpoint> eps;
  int octet = 1;
  for (std::string ns : {"ns0", "ns7", "ns2999"})
    for (std::string app : {"a", "b"}) {
      Endpoint e;
      e.name = ns + "/" + app;
      e.ns = ns;
      e.ns_labels = {{kNamespaceNameLabel, ns}};
      e.labels = {{"app", app}};
      if (ns == "ns7" && app == "b") e.labels["role"] = "monitor";
      e.ips = {*IpAddr::parse("10.0.0." + std::to_string(octet++))};
      eps.push_back(e);
    }
  Endpoint a2 = eps[0];  // a second app=a pod in ns0: ns0/a -> ns0/a2 is allowed by rules
  a2.name = "ns0/a2";
  a2.ips = {*IpAddr::parse("10.0.0.99")};
  eps.push_back(a2);
  size_t by_rules = 0;
  SmtEngine smt(m, eps, VerifyOptions{});
  size_t allowed = 0;
  for (size_t s = 0; s < eps.size(); ++s)
    for (size_t d = 0; d < eps.size(); ++d)
      for (uint16_t port : {80, 443, 9090}) {
        Verdict v = evaluate(m, Flow{&eps[s], &eps[d], Protocol::TCP, port});
        std::string error;
        SmtEngine::Explanation why;
        auto z = smt.verdict(s, d, Protocol::TCP, port, &error, &why);
        INFO(eps[s].name << " -> " << eps[d].name << " tcp/" << port << " " << error);
        REQUIRE(z.has_value());
        REQUIRE(*z == v.allowed);
        allowed += v.allowed;
        if (v.allowed && s != d && port == 80) {
          // Allowed by the namespace's self-a rules: both halves name them.
          REQUIRE(why.egress_rules.size() == 1);
          REQUIRE(why.ingress_rules.size() == 1);
          CHECK(m.rules[why.egress_rules[0]].origin == "NetworkPolicy " + eps[s].ns + "/self-a");
          ++by_rules;
        }
        if (d == 3 && port == 9090)  // ns7/b is the monitor
          CHECK(std::find(why.ingress_rules.begin(), why.ingress_rules.end(), monitor_id) != why.ingress_rules.end());
      }
  CHECK(allowed > 3);
  CHECK(by_rules == 2);  // ns0/a <-> ns0/a2
}
