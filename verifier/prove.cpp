// `prove` statements (docs/LANGUAGE.md, verifier/README.md): each is checked by asserting its negation and asking
// for a model. unsat: proved. sat: the model is a counterexample, decoded into concrete
// endpoints and replayed through the interpreter (which also names the deciding rules).
// unknown (timeout): reported as unknown, never as proved or failed.
#include <algorithm>
#include <chrono>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "ir/interp.h"
#include "ir/printer.h"
#include "ir/scheduling.h"
#include "ir/subject_index.h"
#include "verifier/check_passes.h"
#include "verifier/session.h"

namespace moat {

const char* to_string(ProofStatus s) {
  switch (s) {
  case ProofStatus::Proved: return "proved";
  case ProofStatus::Failed: return "failed";
  case ProofStatus::Unknown: return "unknown";
  }
  return "?";
}

bool ProofReport::failed() const {
  for (const ProofResult& r : results)
    if (r.status != ProofStatus::Proved) return true;
  return false;
}

namespace verify {
namespace {

std::string peer_text(const Peer& p) { return describe_peer(p); }

std::string flow_text(const Witness& w) {
  return fmt::format("{} -> {} on {} {}", describe(w.src), w.self ? "itself" : describe(w.dst), to_string(w.proto),
                     w.port);
}

class Prover {
public:
  Prover(Session& s, const Module& m, const ModuleIndexes* indexes)
      : s_(s), m_(m), f_(s.enc().flow("f")), indexes_(indexes) {
    // The inventory scope is asserted per query, over the classes its ends can be.
    if (!s_.scope().inventory()) s_.assume(s_.scope().flow(f_));
  }

  ProofResult prove(const Prove& p) {
    if (auto why = vacuous(p)) {
      ProofResult r;
      r.status = ProofStatus::Unknown;
      r.vacuous = true;
      r.message = "vacuous: " + *why;
      return r;
    }
    ProofResult r = prove_kind(p);
    const std::vector<Endpoint>* inv = s_.scope().endpoints();
    if (inv && (p.kind == Prove::Kind::EgressWithin || p.kind == Prove::Kind::IngressWithin))
      for (const PeerPorts& pp : p.peers)
        if (!matches_some(pp.peer)) r.unmatched_peers.push_back(peer_text(pp.peer));
    return r;
  }
  std::string error;

private:
  bool matches_some(const Peer& peer) { return !s_.scope().classes()->matching(peer).empty(); }

  /// Inventory scope: why the statement is about nothing (its subject, or a group whose
  /// flows it quantifies over, matches no endpoint), or nullopt.
  std::optional<std::string> vacuous(const Prove& p) {
    const std::vector<Endpoint>* inv = s_.scope().endpoints();
    if (!inv) return std::nullopt;
    for (const Peer& subject : p.subjects)
      if (!matches_some(subject))
        return fmt::format("{} matches no endpoint of the inventory ({} endpoints)", peer_text(subject), inv->size());
    if (p.kind == Prove::Kind::Reachable)
      for (const PeerPorts& pp : p.peers)
        if (!matches_some(pp.peer))
          return fmt::format("{} matches no endpoint of the inventory ({} endpoints)", peer_text(pp.peer), inv->size());
    return std::nullopt;
  }

  ProofResult prove_kind(const Prove& p) {
    switch (p.kind) {
    case Prove::Kind::Isolated: return isolated(p);
    case Prove::Kind::Reachable: return reachable(p);
    case Prove::Kind::EgressWithin: return within(p, Direction::Egress);
    case Prove::Kind::IngressWithin: return within(p, Direction::Ingress);
    case Prove::Kind::PoolAdmits: return pool_admits(p);
    }
    return {};
  }

  Encoder& enc() { return s_.enc(); }

  /// The rules and isolations a query between workloads of `src` and of `dst` reads:
  /// overlap_filter's, found through the subject indexes (the candidates of either end, a
  /// superset) instead of a scan of the module, so a proof about two groups of a
  /// 100,000-rule cluster encodes the few dozen rules of their namespaces. A rule no
  /// candidate of either end cannot select the end it is local to, so its term is false
  /// in every query here and leaving it out changes no answer. The filter points into
  /// near_rules_ / near_isolations_ until the next call.
  RuleFilter near(const EndpointSelector* src, const EndpointSelector* dst) {
    RuleFilter f = overlap_filter(src, dst);
    if (!src || !dst) return f;  // an end that is not a workload selector: every rule
    if (!indexes_) indexes_ = &own_indexes_.emplace(m_);
    auto both = [&](const SubjectIndex& idx, std::vector<uint32_t>& out) {
      out = idx.candidates(*src);
      std::vector<uint32_t> more = idx.candidates(*dst);
      out.insert(out.end(), more.begin(), more.end());
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    };
    both(indexes_->rules, near_rules_);
    both(indexes_->isolations, near_isolations_);
    f.rule_ids = &near_rules_;
    f.isolation_ids = &near_isolations_;
    f.group_ids = true;  // candidates depend on the subject only: its rules are in or out together
    return f;
  }

  /// The scope of one query: every endpoint, or (inventory) the classes of endpoints the
  /// source and destination peers can match (nullptr: any class).
  z3::expr ends(const Peer* src, const Peer* dst) {
    InventoryClasses* ic = s_.scope().classes();
    if (!ic) return s_.ctx().bool_val(true);
    return s_.scope().flow(f_, src ? ic->matching(*src) : ic->all(), dst ? ic->matching(*dst) : ic->all());
  }

  /// Fills `r` from a negated query: unsat proves, sat fails with a replayed witness.
  bool settle(ProofResult& r, const CheckOutcome& o, const z3::expr& allowed, const std::string& what) {
    if (o.result == z3::unsat) return false;
    if (o.result == z3::unknown) {
      r.status = ProofStatus::Unknown;
      r.message = unknown_reason(o);
      return true;
    }
    auto w = replay(m_, s_.scope(), *o.model, f_, allowed, &error);
    if (!w) return true;
    r.status = ProofStatus::Failed;
    r.message = what.empty() ? flow_text(*w) : what;
    r.witness = std::move(*w);
    return true;
  }

  ProofResult isolated(const Prove& p) {
    ProofResult r;
    r.status = ProofStatus::Proved;
    bool unknown = false;
    for (size_t i = 0; i < p.subjects.size(); ++i)
      for (size_t j = 0; j < p.subjects.size(); ++j) {
        if (i == j) continue;
        const Peer& a = p.subjects[i];
        const Peer& b = p.subjects[j];
        z3::expr allowed = enc().allowed(m_, f_, near(workload_selector(a), workload_selector(b)));
        // Neighbour discovery is link-layer plumbing no policy can stop (like ARP): it carries
        // no connection, so two groups that exchange only NDP are isolated.
        CheckOutcome o = s_.check_readable(ends(&a, &b) && enc().peer(f_.src, a) && enc().peer(f_.dst, b) && allowed &&
                                               !enc().neighbour_discovery(f_),
                                           f_);
        ProofResult one;
        if (!settle(one, o, allowed, fmt::format("{} can reach {}", peer_text(a), peer_text(b)))) continue;
        if (!error.empty()) return r;
        if (one.status == ProofStatus::Unknown) {
          unknown = true;
          r.message = one.message;
          continue;
        }
        return one;
      }
    if (unknown) r.status = ProofStatus::Unknown;
    return r;
  }

  ProofResult reachable(const Prove& p) {
    ProofResult r;
    r.status = ProofStatus::Proved;
    if (p.subjects.empty()) return r;
    const Peer& dst = p.subjects[0];
    bool unknown = false;
    std::vector<std::string> vacuous;
    for (const PeerPorts& pp : p.peers) {
      z3::expr in = ends(&pp.peer, &dst) && enc().peer(f_.dst, dst) && enc().peer(f_.src, pp.peer) &&
                    enc().ports(pp.ports, f_);
      z3::expr allowed = enc().allowed(m_, f_, near(workload_selector(pp.peer), workload_selector(dst)));
      CheckOutcome o = s_.check_readable(in && !allowed, f_);
      ProofResult one;
      if (settle(one, o, allowed, fmt::format("{} cannot reach {}", peer_text(pp.peer), peer_text(dst)))) {
        if (!error.empty()) return r;
        if (one.status == ProofStatus::Failed) return one;
        unknown = true;
        r.message = one.message;
        continue;
      }
      // A reachability claim about endpoints that cannot exist proves nothing: say so.
      if (s_.check(in).result == z3::unsat) vacuous.push_back(peer_text(pp.peer));
    }
    if (unknown) r.status = ProofStatus::Unknown;
    else if (!vacuous.empty())
      r.message = "vacuous: no flow from " + vacuous[0] + " to " + peer_text(dst) + " exists in this scope";
    return r;
  }

  ProofResult within(const Prove& p, Direction dir) {
    ProofResult r;
    r.status = ProofStatus::Proved;
    if (p.subjects.empty()) return r;
    const Peer& subject = p.subjects[0];
    const SymEndpoint& local = dir == Direction::Egress ? f_.src : f_.dst;
    const SymEndpoint& remote = dir == Direction::Egress ? f_.dst : f_.src;
    z3::expr_vector inside(s_.ctx());
    for (const PeerPorts& pp : p.peers) inside.push_back(enc().peer(remote, pp.peer) && enc().ports(pp.ports, f_));
    const EndpointSelector* sel = workload_selector(subject);
    z3::expr allowed = enc().allowed(m_, f_, dir == Direction::Egress ? overlap_filter(sel, nullptr)
                                                                      : overlap_filter(nullptr, sel));
    // Traffic no policy can stop (a pod to itself, its node's kubelet) is not a finding.
    InventoryClasses* ic = s_.scope().classes();
    z3::expr scope = s_.ctx().bool_val(true);
    if (ic && sel) {
      const std::vector<uint32_t>& locals = ic->matching(subject);
      std::vector<uint32_t> remotes = remote_classes(p, dir, *sel);
      scope = dir == Direction::Egress ? s_.scope().flow(f_, locals, remotes) : s_.scope().flow(f_, remotes, locals);
    } else {
      scope = dir == Direction::Egress ? ends(&subject, nullptr) : ends(nullptr, &subject);
    }
    z3::expr q = scope && enc().peer(local, subject) && allowed && !enc().implicit(f_) &&
                 !(inside.empty() ? s_.ctx().bool_val(false) : z3::mk_or(inside));
    CheckOutcome o = s_.check_readable(q, f_);
    settle(r, o, allowed,
           dir == Direction::Egress ? fmt::format("{} can send outside the allowed set", peer_text(subject))
                                    : fmt::format("{} can be reached from outside the allowed set", peer_text(subject)));
    return r;
  }

  /// Inventory scope, `within`: the classes the far end of a query about `subject` can be.
  /// Two workload classes that every term of the query reads alike are interchangeable
  /// there, so one of each kind is kept (otherwise every class of the cluster is one
  /// alternative of each query). The terms that read the far end: the peers of the rules of
  /// `dir` that may apply to the subject, the statement's peers, and, in the other
  /// direction, whether the far end is isolated and which rules (those whose peer may be
  /// the subject) apply to it. Every class is kept with named ports (they read a port
  /// table), with the admin tiers, when addresses tell workloads apart (`networks` peers),
  /// and for classes the subject matches (the far end may be the subject's own pod) or
  /// endpoints other than workloads.
  std::vector<uint32_t> remote_classes(const Prove& p, Direction dir, const EndpointSelector& subject) {
    InventoryClasses& ic = *s_.scope().classes();
    const std::vector<uint32_t>& all = ic.all();
    auto named = [](const std::vector<PortMatch>& ports) {
      return std::any_of(ports.begin(), ports.end(), [](const PortMatch& pm) { return !pm.name.empty(); });
    };
    if (m_.has_admin_tiers() || s_.domain().cluster_addresses ||
        std::any_of(m_.rules.begin(), m_.rules.end(), [&](const Rule& r) { return named(r.ports); }) ||
        std::any_of(p.peers.begin(), p.peers.end(), [&](const PeerPorts& pp) { return named(pp.ports); }))
      return all;
    // The rules the query's formula keeps (Encoder::allowed with this filter).
    RuleFilter filter = dir == Direction::Egress ? overlap_filter(&subject, nullptr) : overlap_filter(nullptr, &subject);
    Direction far = dir == Direction::Egress ? Direction::Ingress : Direction::Egress;
    std::vector<const Peer*> near_peers;
    SubjectIndex far_rules;
    for (const Rule& r : m_.rules) {
      if (!filter.accepts(r.dir, r.subject) || !filter.accepts_peer(r.dir, r.peer)) continue;
      if (r.dir == dir) near_peers.push_back(&r.peer);
      else far_rules.add(r.subject, r.id);
    }
    for (const PeerPorts& pp : p.peers) near_peers.push_back(&pp.peer);
    // Each class costs a match per near peer: past a few hundred, keep every class.
    if (near_peers.size() > 256) return all;
    SubjectIndex far_isolations;
    for (size_t i = 0; i < m_.isolations.size(); ++i)
      if (m_.isolations[i].dir == far) far_isolations.add(m_.isolations[i].subject, static_cast<uint32_t>(i));
    const std::vector<uint32_t>& own = ic.matching(subject);
    std::set<std::vector<uint32_t>> seen;
    std::vector<uint32_t> out;
    for (uint32_t c : all) {
      const Endpoint& e = ic.representative(c);
      if (e.kind != EndpointKind::Workload || std::binary_search(own.begin(), own.end(), c)) {
        out.push_back(c);
        continue;
      }
      // The signature: near peers matched (bits), isolated, then the far rules applying.
      std::vector<uint32_t> sig;
      for (size_t k = 0; k < near_peers.size(); ++k)
        if (peer_matches(*near_peers[k], e)) sig.push_back(static_cast<uint32_t>(k));
      std::vector<uint32_t> isos = far_isolations.candidates(e);
      sig.push_back(std::any_of(isos.begin(), isos.end(), [&](uint32_t i) {
                      return endpoint_selector_matches(m_.isolations[i].subject, e);
                    })
                        ? UINT32_MAX
                        : UINT32_MAX - 1);
      for (uint32_t id : far_rules.candidates(e))
        if (endpoint_selector_matches(m_.rules[id].subject, e)) sig.push_back(id);
      if (seen.insert(std::move(sig)).second) out.push_back(c);
    }
    return out;
  }

  ProofResult pool_admits(const Prove& p) {
    ProofResult r;
    const NodePool* pool = nullptr;
    for (const NodePool& np : m_.pools)
      if (np.name == p.pool) pool = &np;
    if (!pool) {
      r.status = ProofStatus::Failed;
      r.message = fmt::format("no node pool named '{}'", p.pool);
      return r;
    }
    r.status = ProofStatus::Proved;
    if (const std::vector<Endpoint>* inventory = s_.scope().endpoints()) return pool_admits_inventory(p, *pool, *inventory);
    SymEndpoint e = enc().endpoint("w");
    z3::expr_vector admitted(s_.ctx());
    for (const EndpointSelector& a : pool->admits) admitted.push_back(enc().endpoint_selector(e, a));
    z3::expr rejected = !(admitted.empty() ? s_.ctx().bool_val(false) : z3::mk_or(admitted));
    for (const Peer& subject : p.subjects) {
      CheckOutcome o = s_.check(s_.scope().endpoint(e) && enc().peer(e, subject) && rejected);
      if (o.result == z3::unknown) {
        r.status = ProofStatus::Unknown;
        r.message = unknown_reason(o);
        continue;
      }
      if (o.result != z3::sat) continue;
      Endpoint w = s_.scope().decode(*o.model, e, "w");
      // Replay: the interpreter must agree that this workload is selected and not admitted.
      bool selected = peer_matches(subject, w);
      bool admits = false;
      for (const EndpointSelector& a : pool->admits) admits = admits || endpoint_selector_matches(a, w);
      if (!selected || admits) {
        error = fmt::format("the Z3 encoding and the interpreter disagree on whether pool '{}' admits {}", p.pool,
                            describe(w));
        return r;
      }
      r.status = ProofStatus::Failed;
      r.message = fmt::format("pool '{}' does not admit every workload of {}", p.pool, peer_text(subject));
      r.workload = std::move(w);
      return r;
    }
    return r;
  }

  /// Over concrete endpoints the scheduler's own rules decide (ir/scheduling.h, as W506 and
  /// the agent): taints tolerated, nodeSelector / node affinity satisfiable, and `admits`.
  /// Symbolic workloads have no tolerations or node selectors to read, so the every-endpoint
  /// scope above can only hold them to the pool's `admits` list.
  ProofResult pool_admits_inventory(const Prove& p, const NodePool& pool, const std::vector<Endpoint>& inventory) {
    ProofResult r;
    r.status = ProofStatus::Proved;
    for (const Peer& subject : p.subjects)
      for (const Endpoint& w : inventory) {
        if (w.kind != EndpointKind::Workload || !peer_matches(subject, w)) continue;
        Admission a = moat::pool_admits(pool, w);
        if (a.admitted) continue;
        r.status = ProofStatus::Failed;
        r.message = fmt::format("pool '{}' does not admit every workload of {}: {} {}", p.pool, peer_text(subject),
                                w.name.empty() ? describe(w) : w.name, a.reasons.front());
        r.workload = w;
        return r;
      }
    return r;
  }

  Session& s_;
  const Module& m_;
  SymFlow f_;
  const ModuleIndexes* indexes_;             // the caller's, else own_indexes_ once needed
  std::optional<ModuleIndexes> own_indexes_;
  std::vector<uint32_t> near_rules_, near_isolations_;  // near()'s filter points here
};

} // namespace
} // namespace verify

namespace verify {

ProofReport prove_in(Session& s, const Module& m, const VerifyOptions& opts) {
  ProofReport report;
  try {
    Prover prover(s, m, opts.indexes);
    if (opts.clock) opts.clock->phase("proofs", m.proofs.size());
    for (size_t i = 0; i < m.proofs.size(); ++i) {
      auto t0 = std::chrono::steady_clock::now();
      if (opts.clock && opts.clock->expired()) {
        ProofResult r;
        r.index = i;
        r.status = ProofStatus::Unknown;
        r.message = "not run: --deadline reached";
        report.results.push_back(std::move(r));
        continue;
      }
      ProofResult r = prover.prove(m.proofs[i]);
      if (opts.clock) opts.clock->step();
      if (!prover.error.empty()) {
        report.internal_error = prover.error;
        return report;
      }
      r.index = i;
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      report.results.push_back(std::move(r));
    }
  } catch (const z3::exception& e) {
    report.internal_error = std::string("Z3: ") + e.msg();
  }
  return report;
}

} // namespace verify

} // namespace moat
