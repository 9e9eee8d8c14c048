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
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "ir/lint.h"
#include "ir/printer.h"
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
      if (seen.emplace(static_cast<int>(d.code), d.range.file, d.range.line, d.range.col, d.message).second)
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

  /// Up to three rules of `action` in r's direction that share flows with r.
  void add_overlapping(Diagnostic& d, const Rule& r, Action action, const char* what) {
    z3::expr mr = enc().rule_match(r, f_);
    size_t n = 0;
    for (const Rule& o : m_.rules) {
      if (n == 3) break;
      if (o.id == r.id || o.dir != r.dir || o.action != action || !selectors_may_overlap(o.subject, r.subject)) continue;
      if (!sat(mr && enc().rule_match(o, f_))) continue;
      d.notes.push_back(DiagNote{o.range, fmt::format("{} by {}", what, rule_name(o))});
      ++n;
    }
  }

  void rules() {
    for (const Rule& r : m_.rules) {
      z3::expr mr = enc().rule_match(r, f_);
      if (unsat(mr)) continue;  // matches nothing: W503 says why
      RuleFilter others = near(r, true);
      z3::expr deny_others = enc().any_rule(m_, r.dir, Action::Deny, f_, others);
      z3::expr allow_others = enc().any_rule(m_, r.dir, Action::Allow, f_, others);
      z3::expr iso = enc().isolated(m_, r.dir, Encoder::local(f_, r.dir), others);
      if (r.action == Action::Allow) {
        if (unsat(mr && !deny_others)) {
          Diagnostic& d = diags_.report(Code::W501, r.range,
                                        fmt::format("this allow never takes effect: deny rules match every {} flow it "
                                                    "matches, and deny always wins",
                                                    to_string(r.dir)));
          add_overlapping(d, r, Action::Deny, "shadowed");
          continue;
        }
        // Never isolated at all is W401's finding (when it is plain from the syntax).
        if (unsat(mr && !deny_others && iso)) {
          bool syntactic = std::none_of(m_.isolations.begin(), m_.isolations.end(), [&](const Isolation& i) {
            return i.dir == r.dir && selectors_may_overlap(i.subject, r.subject);
          });
          if (!syntactic)
            diags_.report(Code::W502, r.range,
                          fmt::format("this allow changes nothing: no isolation ever selects the workloads it applies "
                                      "to for {}",
                                      to_string(r.dir)));
          continue;
        }
        if (unsat(mr && !deny_others && iso && !allow_others)) {
          Diagnostic& d = diags_.report(Code::W502, r.range,
                                        "redundant allow: other allow rules already allow every flow it allows");
          add_overlapping(d, r, Action::Allow, "covered");
        }
      } else if (unsat(mr && !deny_others)) {
        Diagnostic& d =
            diags_.report(Code::W502, r.range, "redundant deny: other deny rules already deny every flow it denies");
        add_overlapping(d, r, Action::Deny, "covered");
      }
    }
  }

  /// One query per distinct selector: can any endpoint in scope satisfy it?
  void vacuous_selectors() {
    std::set<std::string> seen;
    SymEndpoint e = enc().endpoint("v");
    z3::expr in_scope = s_.scope().endpoint(e);
    auto check = [&](const EndpointSelector& sel, SourceRange range, const std::string& what) {
      if (sel.namespaces.empty() && sel.pods.empty()) return;
      if (!seen.insert(print_endpoint_selector(sel)).second) return;
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
    for (Direction dir : {Direction::Ingress, Direction::Egress}) {
      std::map<std::string, const Isolation*> by_ns;
      for (const Isolation& i : m_.isolations) {
        if (i.dir != dir) continue;
        for (const LabelRequirement& r : i.subject.namespaces.reqs)
          if (r.key == kNamespaceNameLabel && r.op == LabelRequirement::Op::In)
            for (const std::string& ns : r.values) by_ns.emplace(ns, &i);
      }
      SymEndpoint e = enc().endpoint("u");
      z3::expr in_scope = s_.scope().endpoint(e);
      z3::expr iso = enc().isolated(m_, dir, e);
      const KeyDomain& names = s_.domain().ns_keys[0];
      for (const auto& [ns, first] : by_ns) {
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
