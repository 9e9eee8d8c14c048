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
// Nothing here scans the whole module per rule: rules are compared with the rules of the
// namespaces their subject pins (rule_overlap.h), isolations come from a SubjectIndex, and
// in the inventory scope a query ranges only over the classes of endpoints its rule's
// subject and peer match (inventory_classes.h), which the interpreter also uses to settle
// most rules with a concrete sample and no query at all.
#include <algorithm>
#include <chrono>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "ir/interp.h"
#include "ir/label_index.h"
#include "ir/lint.h"
#include "ir/parallel.h"
#include "ir/printer.h"
#include "ir/selector_key.h"
#include "ir/subject_index.h"
#include "verifier/check_passes.h"
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
      : s_(s), m_(m), o_(o), diags_(d), f_(s.enc().flow("l")), region_(s.ctx().bool_val(true)),
        isolations_(o.indexes ? o.indexes->isolations : own_isolations_.emplace(isolation_index(m))),
        classes_(s.scope().classes()) {
    // The every-endpoint scope is one constraint for all queries; the inventory scope is
    // asserted per query, over the classes that query can touch.
    if (!classes_) s_.assume(s_.scope().flow(f_));
  }

  void run() {
    size_t first = diags_.all().size();
    // The rule-overlap candidates read only the module: worked out beside W503 (which
    // reports; they do not).
    std::vector<std::vector<uint32_t>> near_rules;
    parallel_for(2, [&](size_t i) {
      if (i == 0)
        vacuous_selectors();
      else
        near_rules = overlapping_rules(m_);
    });
    rules(near_rules);
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
  /// Inventory scope: the classes a rule's subject (local end) and peer (remote end) match,
  /// looked up once per rule.
  struct Ends {
    const std::vector<uint32_t>* locals = nullptr;
    const std::vector<uint32_t>* remotes = nullptr;
  };
  Encoder& enc() { return s_.enc(); }

  /// Rules and isolations of r's direction whose subject may select r's subjects: `cand`
  /// (the rules that may overlap r) and `isos` (the isolations of its namespaces).
  RuleFilter near(const Rule& r, const std::vector<uint32_t>& cand, const std::vector<uint32_t>& isos) {
    RuleFilter f;
    f.rule_ids = &cand;
    f.isolation_ids = &isos;
    const EndpointSelector* subject = &r.subject;
    Direction dir = r.dir;
    f.subject = [subject, dir](Direction d, const EndpointSelector& s) {
      return d == dir && selectors_may_overlap(*subject, s);
    };
    // The remote end matches r's peer in every query below: other peers must overlap it.
    const Peer* peer = &r.peer;
    f.peer = [peer, dir](Direction d, const Peer& p) { return d != dir || peers_may_overlap(*peer, p); };
    f.skip_rule = r.id;
    return f;
  }

  /// Inventory scope: the flows a query about rule r can be about (its subject's classes at
  /// the local end, its peer's at the remote end). Every query below conjoins r's match, so
  /// no other class can satisfy it.
  ///
  /// The queries only ask which of these rules' subjects, peers and ports (and which
  /// isolations) an end matches — never "self" — so two workload classes that match the same
  /// ones are interchangeable there: one of each kind is kept (10,000 rules over 100 classes
  /// each is otherwise 10,000 queries over 100-way disjunctions). Not with named ports,
  /// which read an end's port table, nor for external endpoints (CIDRs read addresses).
  z3::expr region(const Rule& r, const std::vector<uint32_t>& cand, const std::vector<uint32_t>& isos,
                  const Ends& ends) {
    if (!classes_) return s_.ctx().bool_val(true);
    std::vector<const Rule*> rules = {&r};
    for (uint32_t id : cand) rules.push_back(&m_.rules[id]);
    bool named = std::any_of(rules.begin(), rules.end(), [](const Rule* x) {
      return std::any_of(x->ports.begin(), x->ports.end(), [](const PortMatch& p) { return !p.name.empty(); });
    });
    auto distinct = [&](const std::vector<uint32_t>& classes, auto&& signature) {
      if (named) return classes;
      std::vector<uint32_t> out;
      std::set<std::vector<bool>> seen;
      for (uint32_t c : classes) {
        const Endpoint& e = classes_->representative(c);
        if (e.kind != EndpointKind::Workload || seen.insert(signature(e)).second) out.push_back(c);
      }
      return out;
    };
    std::vector<uint32_t> local = distinct(*ends.locals, [&](const Endpoint& e) {
      std::vector<bool> sig;
      for (const Rule* x : rules) sig.push_back(endpoint_selector_matches(x->subject, e));
      for (uint32_t i : isos) sig.push_back(endpoint_selector_matches(m_.isolations[i].subject, e));
      return sig;
    });
    std::vector<uint32_t> remote = distinct(*ends.remotes, [&](const Endpoint& e) {
      std::vector<bool> sig;
      for (const Rule* x : rules) sig.push_back(peer_matches(x->peer, e));
      return sig;
    });
    return r.dir == Direction::Egress ? s_.scope().flow(f_, local, remote) : s_.scope().flow(f_, remote, local);
  }

  bool sat(const z3::expr& q) { return s_.check(region_ && q).result == z3::sat; }
  bool unsat(const z3::expr& q) { return s_.check(region_ && q).result == z3::unsat; }

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
  /// A sample flow whose ends live elsewhere: inventory endpoints are read in place, not
  /// copied (100,000 rules would copy 200,000 label maps).
  struct SampleRef {
    const Endpoint* local = nullptr;
    const Endpoint* remote = nullptr;
    Protocol proto = Protocol::TCP;
    uint16_t port = 0;
    size_t addr = 0;
  };

  bool decides_a_sample(const Rule& r, const std::vector<uint32_t>& cand, const std::vector<uint32_t>& isos,
                        const Ends& ends, bool* sampled) {
    std::optional<SampleFlow> built;  // every-endpoint scope: the ends made for the sample
    std::optional<SampleRef> sample;
    if (classes_) sample = inventory_sample(r, ends);
    else if ((built = sample_flow(r, s_.domain())))
      sample = SampleRef{&built->local, &built->remote, built->proto, built->port, built->addr};
    if (!sample) return false;
    *sampled = true;
    const Endpoint& local = *sample->local;
    const Endpoint* owner = r.dir == Direction::Egress ? sample->remote : sample->local;
    for (uint32_t id : cand) {
      const Rule& o = m_.rules[id];
      if (o.action == Action::Allow && r.action == Action::Deny) continue;  // a deny wins anyway
      if (endpoint_selector_matches(o.subject, local) && peer_matches(o.peer, *sample->remote, sample->addr) &&
          ports_match(o.ports, sample->proto, sample->port, owner))
        return false;  // another rule of the deciding kind matches too
    }
    if (r.action == Action::Deny) return true;
    return std::any_of(isos.begin(), isos.end(), [&](uint32_t i) {
      const Isolation& iso = m_.isolations[i];
      return iso.dir == r.dir && endpoint_selector_matches(iso.subject, local);
    });
  }

  /// Inventory scope: a flow between two inventory endpoints that r matches, not one that is
  /// always allowed (a pod to itself), on r's first port; nullopt when r names a port by
  /// name or matches no such pair among the first few classes.
  std::optional<SampleRef> inventory_sample(const Rule& r, const Ends& ends) {
    const std::vector<uint32_t>& locals = *ends.locals;
    if (locals.empty()) return std::nullopt;
    const std::vector<uint32_t>& remotes = *ends.remotes;
    SampleRef out;
    out.proto = Protocol::TCP;
    out.port = 1;
    if (!r.ports.empty()) {
      const PortMatch& pm = r.ports.front();
      if (!pm.name.empty()) return std::nullopt;
      out.proto = pm.proto == Protocol::Any ? Protocol::TCP : pm.proto;
      out.port = pm.lo;
    }
    if (is_neighbour_discovery(out.proto, out.port)) return std::nullopt;
    const InventoryClasses& ic = *classes_;
    for (size_t li = 0; li < std::min<size_t>(locals.size(), 2); ++li) {
      const EndpointClass& lc = ic.classes()[locals[li]];
      for (size_t ri = 0; ri < std::min<size_t>(remotes.size(), 3); ++ri)
        for (const ClassPin& rp : ic.classes()[remotes[ri]].pins) {
          if (rp.ident == lc.pins.front().ident) continue;  // itself: always allowed
          const Endpoint& local = ic.inventory()[lc.pins.front().member];
          const Endpoint& remote = ic.inventory()[rp.member];
          size_t addr = rp.addr < 0 ? 0 : static_cast<size_t>(rp.addr);
          if (!peer_matches(r.peer, remote, addr)) continue;
          const Endpoint& src = r.dir == Direction::Egress ? local : remote;
          const Endpoint& dst = r.dir == Direction::Egress ? remote : local;
          if (src.kind == EndpointKind::Host && dst.kind == EndpointKind::Workload) continue;  // kubelet: implicit
          out.local = &local;
          out.remote = &remote;
          out.addr = addr;
          return out;
        }
    }
    return std::nullopt;
  }

  void rules(const std::vector<std::vector<uint32_t>>& near_rules) {
    std::unordered_map<std::string, bool> ever_isolated;  // by direction + subject
    RunClock* clock = o_.clock;
    if (clock) clock->phase("lints: rules", m_.rules.size());
    std::vector<const Rule*> late;  // rules the deadline left unchecked
    for (const Rule& r : m_.rules) {
      if (clock) {
        clock->step();
        if (clock->expired()) {
          late.push_back(&r);
          continue;
        }
      }
      const auto& cand = near_rules[r.id];
      std::vector<uint32_t> isos = isolations_.candidates(r.subject);
      bool sampled = false;
      Ends ends;
      if (classes_) ends = Ends{&classes_->matching(r.subject), &classes_->matching(r.peer)};
      if (decides_a_sample(r, cand, isos, ends, &sampled)) continue;
      // Inventory scope: a rule that matches no pair of endpoints is W503's (or says
      // nothing about this inventory): no query.
      if (classes_ && (ends.locals->empty() || ends.remotes->empty())) continue;
      region_ = region(r, cand, isos, ends);
      bool denies = std::any_of(cand.begin(), cand.end(), [&](uint32_t id) { return m_.rules[id].action == Action::Deny; });
      bool allows = std::any_of(cand.begin(), cand.end(), [&](uint32_t id) { return m_.rules[id].action == Action::Allow; });
      RuleFilter others = near(r, cand, isos);
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
      std::string key = std::string(to_string(r.dir)) + selector_key(r.subject);
      auto it = ever_isolated.find(key);
      if (it == ever_isolated.end()) {
        bool iso = classes_ ? some_class_isolated(r, isos, ends) : ever_isolated_symbolic(r, isos, others);
        it = ever_isolated.emplace(key, iso).first;
        bool w401 = std::none_of(isos.begin(), isos.end(), [&](uint32_t i) {
          const Isolation& x = m_.isolations[i];
          return x.dir == r.dir && selectors_may_overlap(x.subject, r.subject);
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
    region_ = s_.ctx().bool_val(true);
    report_late("W501/W502 (shadowed and redundant rules)", late);
  }

  /// W609 for checks the deadline did not let run: the first few by place, the rest counted.
  void report_late(const std::string& what, const std::vector<const Rule*>& late) {
    if (late.empty()) return;
    const size_t shown = 5;
    for (size_t i = 0; i < late.size() && i < shown; ++i)
      diags_.report(Code::W609, late[i]->range,
                    fmt::format("{} not checked for this rule: --deadline reached; unknown", what));
    if (late.size() > shown)
      diags_.report(Code::W609, {},
                    fmt::format("{} not checked for {} more rule(s): --deadline reached; unknown", what,
                                late.size() - shown));
  }
  void report_late(const std::string& what, size_t count, const char* items) {
    if (count == 0) return;
    diags_.report(Code::W609, {},
                  fmt::format("{} not checked for {} {}: --deadline reached; unknown", what, count, items));
  }

  /// Runs body(first, count) over items [0, total) in batches of `batch`, checking the
  /// deadline before each and stepping the progress line after it; returns how many items
  /// the deadline left unrun. A body that returns false stops the run (an internal error).
  template <class Body>
  size_t in_batches(size_t total, size_t batch, Body&& body) {
    size_t late = 0;
    for (size_t b = 0; b < total; b += batch) {
      size_t n = std::min(batch, total - b);
      if (o_.clock && o_.clock->expired()) {
        late += n;
        continue;
      }
      if (!body(b, n)) break;
      if (o_.clock) o_.clock->step(n);
    }
    return late;
  }

  /// Inventory scope: is some endpoint r applies to isolated in r's direction? (The
  /// interpreter on each class r's subject matches.)
  bool some_class_isolated(const Rule& r, const std::vector<uint32_t>& isos, const Ends& ends) {
    for (uint32_t c : *ends.locals)
      for (uint32_t i : isos) {
        const Isolation& x = m_.isolations[i];
        if (x.dir == r.dir && endpoint_selector_matches(x.subject, classes_->representative(c))) return true;
      }
    return false;
  }

  bool ever_isolated_symbolic(const Rule& r, const std::vector<uint32_t>& isos, const RuleFilter& others) {
    bool iso = std::any_of(isos.begin(), isos.end(), [&](uint32_t i) {
      const Isolation& x = m_.isolations[i];
      return x.dir == r.dir && selector_satisfiable(conjoin(r.subject, x.subject), s_.domain());
    });
    const SymEndpoint& local = Encoder::local(f_, r.dir);
    return iso || !unsat(enc().endpoint_selector(local, r.subject) && enc().isolated(m_, r.dir, local, others));
  }

  /// One query per distinct selector: can any endpoint in scope satisfy it? (Inventory
  /// scope: does any class match it — the index answers, no query, in parallel batches.)
  void vacuous_selectors() {
    struct Site {
      const EndpointSelector* sel;
      SourceRange range;
      const char* what;
      const NamedSelector* workload;  // what == "workload": which
    };
    std::vector<Site> sites;
    sites.reserve(2 * m_.rules.size() + m_.isolations.size() + m_.workloads.size());
    auto add = [&](const EndpointSelector& sel, SourceRange range, const char* what, const NamedSelector* w = nullptr) {
      if (sel.namespaces.empty() && sel.pods.empty()) return;
      sites.push_back(Site{&sel, sel.range.known() ? sel.range : range, what, w});
    };
    for (const Rule& r : m_.rules) {
      add(r.subject, r.range, "subject");
      if (r.peer.kind == Peer::Kind::Endpoints) add(r.peer.endpoints, r.peer.range.known() ? r.peer.range : r.range, "peer");
    }
    for (const Isolation& i : m_.isolations) add(i.subject, i.range, "isolated group");
    for (const NamedSelector& w : m_.workloads) add(w.selector, w.range, "workload", &w);
    for (const NodePool& p : m_.pools)
      for (const EndpointSelector& a : p.admits) add(a, p.range, "admitted group");
    // Each distinct selector once, in the order of its first site.
    std::vector<std::string> keys(sites.size());
    parallel_for_batched(sites.size(), 256, [&](size_t i) { keys[i] = selector_key(*sites[i].sel); });
    std::vector<size_t> distinct;
    {
      std::unordered_set<std::string_view> seen;
      seen.reserve(sites.size());
      for (size_t i = 0; i < sites.size(); ++i)
        if (seen.insert(keys[i]).second) distinct.push_back(i);
    }
    std::optional<SymEndpoint> e;
    if (!classes_) {
      e = enc().endpoint("v");
      s_.assume(s_.scope().endpoint(*e));  // once: re-adding it per query would re-encode it each time
    }
    if (o_.clock) o_.clock->phase("lints: selectors", distinct.size());
    auto report = [&](const Site& site) {
      std::string why = classes_ ? "no inventory endpoint matches it"
                                 : "its requirements contradict each other or the declared namespace labels";
      Peer as_peer;
      as_peer.kind = Peer::Kind::Endpoints;
      as_peer.endpoints = *site.sel;
      diags_.report(Code::W503, site.range,
                    fmt::format("{} {} can match no workload: {}",
                                site.workload ? "workload " + site.workload->ns + "/" + site.workload->name : site.what,
                                describe_peer(as_peer), why));
    };
    // Batches between deadline checks: the inventory scope matches a batch in parallel.
    size_t late = in_batches(distinct.size(), classes_ ? 4096 : 1, [&](size_t b, size_t n) {
      if (classes_) {
        std::vector<const EndpointSelector*> sels;
        std::vector<std::string> batch_keys;
        for (size_t j = b; j < b + n; ++j) {
          sels.push_back(sites[distinct[j]].sel);
          batch_keys.push_back(keys[distinct[j]]);
        }
        classes_->match_all(sels, batch_keys);
        for (size_t j = b; j < b + n; ++j) {
          const Site& site = sites[distinct[j]];
          if (classes_->matching(*site.sel, keys[distinct[j]]).empty()) report(site);
        }
      } else {
        // Plain cases need no query: an exact syntactic check; the solver confirms every
        // finding.
        const Site& site = sites[distinct[b]];
        if (!selector_satisfiable(*site.sel, s_.domain()) && unsat(enc().endpoint_selector(*e, *site.sel))) report(site);
      }
      return true;
    });
    report_late("W503 (selectors that match nothing)", late, "selector(s)");
  }

  /// Namespaces where some workloads are isolated in a direction but not all of them.
  void unisolated() {
    std::optional<SymEndpoint> e;
    if (!classes_) {
      e = enc().endpoint("u");
      s_.assume(s_.scope().endpoint(*e));
    }
    // Per direction, each namespace an isolation pins, in name order, with the first
    // isolation (in module order) that pins it: one pass over the isolations for both
    // directions, names read in place (a map of copies was most of this lint at 75,000
    // isolations).
    std::vector<std::pair<const std::string*, const Isolation*>> pinned[2];
    for (const Isolation& i : m_.isolations)
      if (const auto* names = pinned_namespaces(i.subject))
        for (const std::string& ns : *names) pinned[i.dir == Direction::Egress].emplace_back(&ns, &i);
    for (Direction dir : {Direction::Ingress, Direction::Egress}) {
      auto& spaces = pinned[dir == Direction::Egress];
      // Stable: among the isolations of one namespace the first stays first.
      std::stable_sort(spaces.begin(), spaces.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
      spaces.erase(std::unique(spaces.begin(), spaces.end(),
                               [](const auto& a, const auto& b) { return *a.first == *b.first; }),
                   spaces.end());
      if (o_.clock) o_.clock->phase(std::string("lints: partly isolated namespaces, ") + to_string(dir), spaces.size());
      // Batches between deadline checks: the inventory scope (the interpreter over classes,
      // no solver) looks at a batch's namespaces in parallel; findings keep namespace order.
      size_t late = in_batches(spaces.size(), classes_ ? 4096 : 1, [&](size_t b, size_t n) {
        std::vector<std::optional<Endpoint>> found(n);
        if (classes_) {
          parallel_for(n, [&](size_t j) {
            const std::string& ns = *spaces[b + j].first;
            found[j] = unisolated_class(ns, dir, isolations_.in_namespace(ns));
          });
        } else {
          const std::string& ns = *spaces[b].first;
          found[0] = unisolated_symbolic(*e, ns, dir, isolations_.in_namespace(ns));
          if (!error.empty()) return false;
        }
        for (size_t j = 0; j < n; ++j) {
          if (!found[j]) continue;
          diags_.report(
              Code::W504, spaces[b + j].second->range,
              fmt::format("in namespace {}, some workloads are isolated for {} but not all: {} is not, so all its {} "
                          "traffic is {}",
                          *spaces[b + j].first, to_string(dir), describe(*found[j]), to_string(dir),
                          m_.has_admin_tiers() ? "left to the AdminNetworkPolicy and BaselineAdminNetworkPolicy tiers "
                                                 "(allowed where they say nothing)"
                                               : "allowed"));
        }
        return true;
      });
      if (!error.empty()) return;
      report_late(std::string("W504 (partly isolated namespaces, ") + to_string(dir) + ")", late, "namespace(s)");
    }
  }

  /// Inventory scope: the first class of `ns` no isolation of `dir` selects.
  /// Reads only const state: W504 calls it for several namespaces at once.
  std::optional<Endpoint> unisolated_class(const std::string& ns, Direction dir, const std::vector<uint32_t>& isos) const {
    // Many isolations are looked up by the labels they pin: a namespace of 1,000 pods each
    // isolated by its own policy is otherwise 1,000 x 1,000 matches.
    const bool indexed = isos.size() > 16;
    LabelIndex by_labels;
    if (indexed)
      for (uint32_t i : isos)
        if (m_.isolations[i].dir == dir) by_labels.add(m_.isolations[i].subject, i);
    auto selects = [&](const Endpoint& w, uint32_t i) {
      return m_.isolations[i].dir == dir && endpoint_selector_matches(m_.isolations[i].subject, w);
    };
    for (uint32_t c : classes_->in_namespace(ns)) {
      const Endpoint& w = classes_->representative(c);
      std::vector<uint32_t> cand = indexed ? by_labels.candidates(w) : std::vector<uint32_t>{};
      const std::vector<uint32_t>& near = indexed ? cand : isos;
      if (std::none_of(near.begin(), near.end(), [&](uint32_t i) { return selects(w, i); })) return w;
    }
    return std::nullopt;
  }

  /// Every-endpoint scope: a workload of `ns` the isolations `isos` (those that may select
  /// in `ns`) leave unisolated in `dir`, checked against the interpreter.
  std::optional<Endpoint> unisolated_symbolic(const SymEndpoint& e, const std::string& ns, Direction dir,
                                              const std::vector<uint32_t>& isos) {
    // A namespace some isolation selects whole (no pod requirements, a namespace side every
    // workload of it satisfies) needs no query.
    auto declared = s_.domain().namespaces.find(ns);
    bool whole = std::any_of(isos.begin(), isos.end(), [&](uint32_t k) {
      const Isolation& i = m_.isolations[k];
      if (i.dir != dir || !i.subject.pods.empty()) return false;
      if (declared != s_.domain().namespaces.end()) return label_selector_matches(i.subject.namespaces, declared->second);
      return std::all_of(i.subject.namespaces.reqs.begin(), i.subject.namespaces.reqs.end(), [&](const LabelRequirement& r) {
        return r.key == kNamespaceNameLabel && r.op == LabelRequirement::Op::In &&
               std::find(r.values.begin(), r.values.end(), ns) != r.values.end();
      });
    });
    if (whole) return std::nullopt;
    RuleFilter only;
    only.isolation_ids = &isos;
    const KeyDomain& names = s_.domain().ns_keys[0];
    z3::expr in_ns = enc().is_kind(e, EndpointKind::Workload) && e.ns_has[0] &&
                     e.ns_val[0] == enc().bv(names.index_of(ns), names.bits());
    CheckOutcome o = s_.check(in_ns && !enc().isolated(m_, dir, e, only));
    if (o.result != z3::sat) return std::nullopt;
    Endpoint w = s_.scope().decode(*o.model, e, "w");
    if (std::any_of(m_.isolations.begin(), m_.isolations.end(),
                    [&](const Isolation& i) { return i.dir == dir && endpoint_selector_matches(i.subject, w); })) {
      error = fmt::format("the Z3 encoding and the interpreter disagree on whether {} is isolated", describe(w));
      return std::nullopt;
    }
    return w;
  }

  Session& s_;
  const Module& m_;
  const VerifyOptions& o_;
  Diagnostics& diags_;
  SymFlow f_;
  z3::expr region_;  // the inventory classes the current rule's queries range over
  std::optional<SubjectIndex> own_isolations_;  // when the caller passed no indexes
  const SubjectIndex& isolations_;
  InventoryClasses* classes_;
};

} // namespace
} // namespace verify

void run_pool_lints(const Module& m, const VerifyOptions& opts, Diagnostics& diags);

namespace verify {

std::string lint_in(Session& s, const Module& m, const VerifyOptions& opts, Diagnostics& diags) {
  try {
    Linter l(s, m, opts, diags);
    l.run();
    if (!l.error.empty()) return l.error;
    if (opts.clock && opts.clock->expired() && !m.pools.empty())
      diags.report(Code::W609, {}, "W505/W506 (node pool lints) not checked: --deadline reached; unknown");
    else
      run_pool_lints(m, opts, diags);
  } catch (const z3::exception& e) {
    return std::string("Z3: ") + e.msg();
  }
  return "";
}

} // namespace verify

} // namespace moat
