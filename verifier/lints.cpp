// Lints that need the solver (W5xx). Each is a satisfiability question over the same
// encoding as the proofs, asked per rule or per selector with only the rules whose subject
// may overlap (so one query stays small however large the policy is):
//   W501 an allow every flow of which some deny also matches (deny wins: it never acts);
//   W502 a rule whose removal changes no verdict (an allow covered by other allows, a deny
//        covered by other denies; denies that only repeat a default deny are kept quiet,
//        they guard against future allows);
//   W503 a selector no endpoint can satisfy (contradictory requirements, a namespace whose
//        declared labels exclude it, or — inventory scope — no inventory endpoint);
//   W504 workloads no isolation captures, in a namespace where some are isolated;
//   W505/W506 node pools: GPU pools without a taint, GPU workloads no pool admits.
#include <chrono>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "ir/interp.h"
#include "ir/lint.h"
#include "ir/printer.h"
#include "verifier/rule_overlap.h"
#include "verifier/sample.h"
#include "verifier/selector_sat.h"
#include "verifier/session.h"

namespace moat {
namespace verify {
namespace {

using Clock = std::chrono::steady_clock;

std::string rule_name(const Rule& r) {
  return fmt::format("{} rule #{}{}", to_string(r.action), r.id, r.origin.empty() ? "" : " (" + r.origin + ")");
}

class Linter {
public:
  Linter(Session& s, const Module& m, const VerifyOptions& o, Diagnostics& d)
      : s_(s), m_(m), o_(o), diags_(d), f_(s.enc().flow("l")) {
    s_.assume(s_.scope().flow(f_));
  }

  void run() {
    size_t first = diags_.all().size();
    vacuous_selectors();
    if (m_.rules.size() <= o_.max_lint_rules) rules();
    unisolated();
    // Both halves of one connection rule share a source range: say it once.
    auto& all = diags_.all();
    std::set<std::tuple<int, uint32_t, uint32_t, uint32_t, std::string>> seen;
    std::vector<Diagnostic> kept(all.begin(), all.begin() + static_cast<long>(first));
    for (size_t i = first; i < all.size(); ++i) {
      const Diagnostic& d = all[i];
      if (!d.range.known() ||
          seen.emplace(static_cast<int>(d.code), d.range.file, d.range.line, d.range.col, d.message).second)
        kept.push_back(d);
    }
    all = std::move(kept);
  }
  std::string error;

private:
  Encoder& enc() { return s_.enc(); }

  /// Rules and isolations of r's direction whose subject may select r's subjects.
  RuleFilter near(const Rule& r, bool skip_self) {
    RuleFilter f;
    const EndpointSelector* subject = &r.subject;
    Direction dir = r.dir;
    f.subject = [subject, dir](Direction d, const EndpointSelector& s) {
      return d == dir && selectors_may_overlap(*subject, s);
    };
    // The remote end matches r's peer in every query below: other peers must overlap it.
    const Peer* peer = &r.peer;
    f.peer = [peer, dir](Direction d, const Peer& p) { return d != dir || peers_may_overlap(*peer, p); };
    if (skip_self) f.skip_rule = r.id;
    return f;
  }

  bool sat(const z3::expr& q, bool* unknown = nullptr) {
    CheckOutcome o = s_.check(q);
    if (o.result == z3::unknown && unknown) *unknown = true;
    return o.result == z3::sat;
  }
  bool unsat(const z3::expr& q) { return s_.check(q).result == z3::unsat; }

  /// Up to three rules of `action` among r's candidates that share flows with r.
  void add_overlapping(Diagnostic& d, const Rule& r, const std::vector<uint32_t>& cand, Action action, const char* what) {
    z3::expr mr = enc().rule_match(r, f_);
    size_t n = 0;
    for (uint32_t id : cand) {
      const Rule& o = m_.rules[id];
      if (n == 3) break;
      if (o.action != action) continue;
      if (!sat(mr && enc().rule_match(o, f_))) continue;
      d.notes.push_back(DiagNote{o.range, fmt::format("{} by {}", what, rule_name(o))});
      ++n;
    }
  }

  /// Does r alone decide a sample flow built from its own terms? Then it plainly matters
  /// (not shadowed, not redundant) and needs no query. Only `cand` (the rules that may
  /// overlap r) can match a flow r matches, so only they are replayed.
  bool decides_a_sample(const Rule& r, const std::vector<uint32_t>& cand, bool* sampled) {
    if (s_.scope().inventory()) return false;
    auto sample = sample_flow(r, s_.domain());
    if (!sample) return false;
    *sampled = true;
    const Endpoint* owner = r.dir == Direction::Egress ? &sample->remote : &sample->local;
    for (uint32_t id : cand) {
      const Rule& o = m_.rules[id];
      if (o.action == Action::Allow && r.action == Action::Deny) continue;  // a deny wins anyway
      if (endpoint_selector_matches(o.subject, sample->local) && peer_matches(o.peer, sample->remote) &&
          ports_match(o.ports, sample->proto, sample->port, owner))
        return false;  // another rule of the deciding kind matches too
    }
    if (r.action == Action::Deny) return true;
    return std::any_of(m_.isolations.begin(), m_.isolations.end(), [&](const Isolation& i) {
      return i.dir == r.dir && endpoint_selector_matches(i.subject, sample->local);
    });
  }

  void rules() {
    std::vector<std::vector<uint32_t>> near_rules = overlapping_rules(m_);
    std::map<std::string, bool> ever_isolated;  // by direction + subject
    for (const Rule& r : m_.rules) {
      const auto& cand = near_rules[r.id];
      bool sampled = false;
      if (decides_a_sample(r, cand, &sampled)) continue;
      bool denies = std::any_of(cand.begin(), cand.end(), [&](uint32_t id) { return m_.rules[id].action == Action::Deny; });
      bool allows = std::any_of(cand.begin(), cand.end(), [&](uint32_t id) { return m_.rules[id].action == Action::Allow; });
      RuleFilter others = near(r, true);
      z3::expr mr = enc().rule_match(r, f_);
      // A rule that matches nothing makes every question below vacuously true: W503's job.
      auto real = [&] { return sampled || !unsat(mr); };  // a sample flow matches r
      if (r.action == Action::Deny) {
        if (denies && unsat(mr && !enc().any_rule(m_, r.dir, Action::Deny, f_, others)) && real()) {
          Diagnostic& d =
              diags_.report(Code::W502, r.range, "redundant deny: other deny rules already deny every flow it denies");
          add_overlapping(d, r, cand, Action::Deny, "covered");
        }
        continue;
      }
      z3::expr deny_others = enc().any_rule(m_, r.dir, Action::Deny, f_, others);
      if (denies && unsat(mr && !deny_others) && real()) {
        Diagnostic& d = diags_.report(Code::W501, r.range,
                                      fmt::format("this allow never takes effect: deny rules match every {} flow it "
                                                  "matches, and deny always wins",
                                                  to_string(r.dir)));
        add_overlapping(d, r, cand, Action::Deny, "shadowed");
        continue;
      }
      // Never isolated at all: W401 says so when it is plain from the syntax; the solver
      // also sees declared namespace labels and contradictions across selectors.
      std::string key = std::string(to_string(r.dir)) + print_endpoint_selector(r.subject);
      auto it = ever_isolated.find(key);
      if (it == ever_isolated.end()) {
        const SymEndpoint& local = Encoder::local(f_, r.dir);
        bool iso = !s_.scope().inventory() &&
                   std::any_of(m_.isolations.begin(), m_.isolations.end(), [&](const Isolation& i) {
                     return i.dir == r.dir && selector_satisfiable(conjoin(r.subject, i.subject), s_.domain());
                   });
        if (!iso) iso = !unsat(enc().endpoint_selector(local, r.subject) && enc().isolated(m_, r.dir, local, others));
        it = ever_isolated.emplace(key, iso).first;
        bool w401 = std::none_of(m_.isolations.begin(), m_.isolations.end(), [&](const Isolation& i) {
          return i.dir == r.dir && selectors_may_overlap(i.subject, r.subject);
        });
        if (!iso && !w401 && real())
          diags_.report(Code::W502, r.range,
                        fmt::format("this allow changes nothing: no isolation ever selects the workloads it applies "
                                    "to for {}",
                                    to_string(r.dir)));
      }
      if (!it->second) continue;
      if (!allows) continue;
      z3::expr iso = enc().isolated(m_, r.dir, Encoder::local(f_, r.dir), others);
      z3::expr allow_others = enc().any_rule(m_, r.dir, Action::Allow, f_, others);
      if (unsat(mr && !deny_others && iso && !allow_others) && real()) {
        Diagnostic& d = diags_.report(Code::W502, r.range,
                                      "redundant allow: other allow rules already allow every flow it allows");
        add_overlapping(d, r, cand, Action::Allow, "covered");
      }
    }
  }

  /// One query per distinct selector: can any endpoint in scope satisfy it?
  void vacuous_selectors() {
    std::set<std::string> seen;
    SymEndpoint e = enc().endpoint("v");
    s_.assume(s_.scope().endpoint(e));  // once: re-adding it per query would re-encode it each time
    z3::expr in_scope = s_.ctx().bool_val(true);
    auto check = [&](const EndpointSelector& sel, SourceRange range, const std::string& what) {
      if (sel.namespaces.empty() && sel.pods.empty()) return;
      if (!seen.insert(print_endpoint_selector(sel)).second) return;
      // Plain cases need no query: an exact syntactic check (every endpoint), or the
      // inventory itself; the solver confirms every finding.
      if (!s_.scope().inventory() && selector_satisfiable(sel, s_.domain())) return;
      if (o_.inventory && std::any_of(o_.inventory->begin(), o_.inventory->end(),
                                      [&](const Endpoint& x) { return endpoint_selector_matches(sel, x); }))
        return;
      if (!unsat(in_scope && enc().endpoint_selector(e, sel))) return;
      std::string why = s_.scope().inventory() ? "no inventory endpoint matches it"
                                              : "its requirements contradict each other or the declared namespace labels";
      Peer as_peer;
      as_peer.kind = Peer::Kind::Endpoints;
      as_peer.endpoints = sel;
      diags_.report(Code::W503, sel.range.known() ? sel.range : range,
                    fmt::format("{} {} can match no workload: {}", what, describe_peer(as_peer), why));
    };
    for (const Rule& r : m_.rules) {
      check(r.subject, r.range, "subject");
      if (r.peer.kind == Peer::Kind::Endpoints) check(r.peer.endpoints, r.peer.range.known() ? r.peer.range : r.range, "peer");
    }
    for (const Isolation& i : m_.isolations) check(i.subject, i.range, "isolated group");
    for (const NamedSelector& w : m_.workloads) check(w.selector, w.range, "workload " + w.ns + "/" + w.name);
    for (const NodePool& p : m_.pools)
      for (const EndpointSelector& a : p.admits) check(a, a.range.known() ? a.range : p.range, "admitted group");
  }

  /// Namespaces where some workloads are isolated in a direction but not all of them.
  void unisolated() {
    SymEndpoint e = enc().endpoint("u");
    s_.assume(s_.scope().endpoint(e));
    for (Direction dir : {Direction::Ingress, Direction::Egress}) {
      std::map<std::string, const Isolation*> by_ns;
      for (const Isolation& i : m_.isolations) {
        if (i.dir != dir) continue;
        for (const LabelRequirement& r : i.subject.namespaces.reqs)
          if (r.key == kNamespaceNameLabel && r.op == LabelRequirement::Op::In)
            for (const std::string& ns : r.values) by_ns.emplace(ns, &i);
      }
      z3::expr in_scope = s_.ctx().bool_val(true);
      z3::expr iso = enc().isolated(m_, dir, e);
      const KeyDomain& names = s_.domain().ns_keys[0];
      // A namespace some isolation selects whole (no pod requirements, a namespace side every
      // workload of it satisfies) needs no query.
      auto whole = [&](const std::string& ns) {
        auto declared = s_.domain().namespaces.find(ns);
        return std::any_of(m_.isolations.begin(), m_.isolations.end(), [&](const Isolation& i) {
          if (i.dir != dir || !i.subject.pods.empty()) return false;
          if (declared != s_.domain().namespaces.end()) return label_selector_matches(i.subject.namespaces, declared->second);
          return std::all_of(i.subject.namespaces.reqs.begin(), i.subject.namespaces.reqs.end(), [&](const LabelRequirement& r) {
            return r.key == kNamespaceNameLabel && r.op == LabelRequirement::Op::In &&
                   std::find(r.values.begin(), r.values.end(), ns) != r.values.end();
          });
        });
      };
      for (const auto& [ns, first] : by_ns) {
        if (!s_.scope().inventory() && whole(ns)) continue;
        z3::expr in_ns = enc().is_kind(e, EndpointKind::Workload) && e.ns_has[0] &&
                         e.ns_val[0] == enc().bv(names.index_of(ns), names.bits());
        CheckOutcome o = s_.check(in_scope && in_ns && !iso);
        if (o.result != z3::sat) continue;
        Endpoint w = s_.scope().decode(*o.model, e, "w");
        if (std::any_of(m_.isolations.begin(), m_.isolations.end(),
                        [&](const Isolation& i) { return i.dir == dir && endpoint_selector_matches(i.subject, w); })) {
          error = fmt::format("the Z3 encoding and the interpreter disagree on whether {} is isolated", describe(w));
          return;
        }
        diags_.report(
            Code::W504, first->range,
            fmt::format("in namespace {}, some workloads are isolated for {} but not all: {} is not, so all its {} "
                        "traffic is allowed",
                        ns, to_string(dir), describe(w), to_string(dir)));
      }
    }
  }

  Session& s_;
  const Module& m_;
  const VerifyOptions& o_;
  Diagnostics& diags_;
  SymFlow f_;
};

} // namespace
} // namespace verify

void run_pool_lints(const Module& m, const VerifyOptions& opts, Diagnostics& diags);

std::string run_solver_lints(const Module& m, const VerifyOptions& opts, Diagnostics& diags) {
  try {
    std::string error;
    auto s = verify::Session::make({&m}, {}, opts.inventory, opts.timeout_ms, &error);
    if (!s) return error;
    verify::Linter l(*s, m, opts, diags);
    l.run();
    if (!l.error.empty()) return l.error;
    run_pool_lints(m, opts, diags);
  } catch (const z3::exception& e) {
    return std::string("Z3: ") + e.msg();
  }
  return "";
}

} // namespace moat
