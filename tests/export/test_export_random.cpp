// Seeded random modules (tests/verifier/random_module.h), biased towards what the targets
// can say (subjects in one namespace, namespace-wide isolations), exported to each target.
// Every refusal must be E910-E915 at a rule or isolation; those are dropped and the export
// retried, and what is finally exported must be proved equivalent to what is left.
#include <algorithm>
#include <set>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "export_roundtrip.h"
#include "random_module.h"

namespace moat::testing {

namespace {

using exporter::Target;

/// Line of rule i: i + 1; of isolation k: kIsolationLine + k.
constexpr uint32_t kIsolationLine = 1000;

Module biased_module(RandomModules& gen) {
  Module m = gen.module(3 + gen.pick(6), 1 + gen.pick(3));
  static const char* namespaces[] = {"x", "y", "z"};
  auto one_namespace = [&](EndpointSelector& s) {
    s.namespaces.reqs = {LabelRequirement{kNamespaceNameLabel, LabelRequirement::Op::In, {namespaces[gen.pick(3)]}, {}}};
  };
  for (Rule& r : m.rules) {
    if (gen.chance(0.7)) one_namespace(r.subject);
    // Now and then the other half of the previous rule, so connection rules pair up.
    if (&r != &m.rules.front() && gen.chance(0.3)) {
      const Rule& prev = (&r)[-1];
      if (prev.peer.kind == Peer::Kind::Endpoints) {
        r.subject = prev.peer.endpoints;
        r.peer = prev.peer;
        r.peer.endpoints = prev.subject;
        r.dir = prev.dir == Direction::Ingress ? Direction::Egress : Direction::Ingress;
        r.action = prev.action;
        r.ports = prev.ports;
      }
    }
  }
  for (Isolation& i : m.isolations) {
    if (gen.chance(0.7)) {
      one_namespace(i.subject);
      i.subject.pods.reqs.clear();
    } else if (gen.chance(0.3)) {
      i.subject = EndpointSelector{};  // the whole cluster
    }
  }
  return m;
}

/// Gives every rule and isolation (and everything inside it) its own line of `file`.
void stamp(Module& m, FileId file) {
  auto at = [&](uint32_t line) { return SourceRange::at(file, line, 1); };
  for (size_t i = 0; i < m.rules.size(); ++i) {
    Rule& r = m.rules[i];
    r.range = r.subject.range = r.peer.range = r.peer.fqdn.range = at(static_cast<uint32_t>(i + 1));
    for (PortMatch& p : r.ports) p.range = r.range;
  }
  for (size_t k = 0; k < m.isolations.size(); ++k) m.isolations[k].range = at(kIsolationLine + static_cast<uint32_t>(k));
}

/// `m` without the rules and isolations on `lines` (rule ids renumbered, twins unset).
Module without(const Module& m, const std::set<uint32_t>& lines) {
  Module out;
  out.namespaces = m.namespaces;
  for (Rule r : m.rules)
    if (!lines.count(r.range.line)) {
      r.twin = -1;
      out.add_rule(std::move(r));
    }
  for (const Isolation& i : m.isolations)
    if (!lines.count(i.range.line)) out.isolations.push_back(i);
  return out;
}

const char* name(Target t) { return t == Target::Kubernetes ? "kubernetes" : t == Target::Cilium ? "cilium" : "moat"; }

} // namespace

TEST_CASE("export: seeded random modules are exported equivalently or refused at the rule", "[export][random]") {
  for (Target target : {Target::Kubernetes, Target::Cilium, Target::Moat}) {
    size_t exported_rules = 0, refused = 0, modules_exported = 0;
    for (uint64_t seed = 1; seed <= 100; ++seed) {
      RandomModules gen(seed * 7919 + static_cast<uint64_t>(target));
      SourceManager sm;
      FileId file = sm.add(fmt::format("random-{}.moat", seed), std::string(kIsolationLine + 20, '\n'));
      Module m = biased_module(gen);
      stamp(m, file);
      INFO("--to " << name(target) << ", seed " << seed);
      std::optional<Roundtrip> r;
      for (int round = 0; round < 64; ++round) {
        r = roundtrip(m, sm, target);
        if (r->errors.empty()) break;
        std::set<uint32_t> lines;
        for (const Diagnostic& d : r->errors) {
          INFO(code_name(d.code) << " at line " << d.range.line << ": " << d.message);
          CHECK(d.range.file == file);  // at a rule or an isolation, never unplaced
          CHECK((d.code >= Code::E910 && d.code <= Code::E915));
          lines.insert(d.range.line);
        }
        refused += lines.size();
        m = without(m, lines);
      }
      REQUIRE(r->errors.empty());
      INFO(r->text << r->reload_errors);
      REQUIRE(r->reload_errors.empty());
      REQUIRE(r->diff);
      CHECK(r->diff->status == ProofStatus::Proved);
      exported_rules += m.rules.size();
      modules_exported += !m.rules.empty();
    }
    // The bias must leave real work for every target, or the test proves nothing.
    INFO("--to " << name(target) << ": " << exported_rules << " rules exported, " << refused << " refused");
    CHECK(exported_rules >= 100);
    CHECK(modules_exported >= 40);
    CHECK(refused > 0);
  }
}

} // namespace moat::testing
