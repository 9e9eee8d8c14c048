// Semantic diff of two policy versions (verifier/README.md): both are encoded over one symbolic
// flow; "newly allowed" is allowed_new ∧ ¬allowed_old, "newly denied" the converse. Each
// is enumerated as cubes: find a witness, replay it through the interpreter on both
// versions, grow it into the largest rule-like cube still entirely inside the difference,
// block the cube, repeat (SecGuru / NCA). Unsat everywhere proves equivalence.
//
// Scaling: a flow whose verdict changed is matched (at its local end) by a rule or an
// isolation that one version has and the other lacks — every other rule is the same in
// both, so is every other verdict input. The difference is therefore searched per changed
// item, inside the region that item matches, with only the rules whose subject may
// overlap that region's ends encoded. A one-line change to a 10k-rule policy then costs
// queries over a handful of rules, not over 20k.
//
// A changed isolation (or a rule whose peer is any endpoint) does not bound its region's far
// end. There the search for flows version V allows is narrowed to V's allow rules: when the
// local end is certainly isolated in V, such a flow matches one of them, so the far end is
// one of their peers (diff_far_end.h) and only the other direction's rules and isolations
// that may select those peers are encoded. Both the rules encoded and the interpreter's
// replay read them through per-namespace indexes (version_index.h), never the whole module.
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include "ir/interp.h"
#include "ir/parallel.h"
#include "verifier/cube.h"
#include "verifier/diff_changes.h"
#include "verifier/diff_far_end.h"

namespace moat {

namespace {

using verify::Session;
using verify::SymFlow;

/// A rule or isolation that only one version has.
struct Changed {
  const Rule* rule = nullptr;
  const Isolation* isolation = nullptr;
};

/// The part of the flow space item `c` can influence, and the rules that are exact inside
/// it: per version, the candidates (through the version's index) of the region's local
/// end and of its far end.
struct Region {
  z3::expr where;
  verify::RuleFilter filter;
  /// Inventory scope: the classes the region's ends can be (asserted while the region is
  /// searched, so that cubes generalize relative to the inventory); true otherwise.
  z3::expr scope;
  /// The version searched for allowed flows allows none here: no query needed.
  bool empty = false;
  /// The far end may be any workload: every rule of its direction may matter (no ids).
  bool far_free = false;
  std::vector<uint32_t> rule_ids[2], isolation_ids[2];  // [0] old, [1] new

  /// An upper bound of the rules and isolations encoded in the region's queries.
  size_t encoded(const Module& old_m, const Module& new_m) const {
    if (far_free)
      return old_m.rules.size() + new_m.rules.size() + old_m.isolations.size() + new_m.isolations.size();
    return rule_ids[0].size() + rule_ids[1].size() + isolation_ids[0].size() + isolation_ids[1].size();
  }

  verify::RuleFilter filter_for(int version) const {
    verify::RuleFilter out = filter;
    if (far_free) return out;
    out.rule_ids = &rule_ids[version];
    out.isolation_ids = &isolation_ids[version];
    out.group_ids = true;
    return out;
  }
};

/// Inventory scope: the flows whose local end (in `dir`) is one of `local` and whose remote
/// end is one of `remote`.
z3::expr inventory_region(Session& s, const SymFlow& f, Direction dir, const std::vector<uint32_t>& local,
                          const std::vector<uint32_t>& remote) {
  return dir == Direction::Egress ? s.scope().flow(f, local, remote) : s.scope().flow(f, remote, local);
}

/// Regions with more rules and isolations than this generalize cubes on their own solver.
constexpr size_t kOwnSolverItems = 200;

Direction opposite(Direction d) { return d == Direction::Egress ? Direction::Ingress : Direction::Egress; }

/// Only the far direction's items that `keep` accepts are encoded.
void narrow_far(verify::RuleFilter& filter, Direction far, std::function<bool(const EndpointSelector&)> keep) {
  auto inner = filter.subject;
  filter.subject = [inner, far, keep = std::move(keep)](Direction d, const EndpointSelector& sel) {
    if (inner && !inner(d, sel)) return false;
    return d != far || keep(sel);
  };
}

/// The region of item `c` in which the flows that `allowing` (the version whose allowed
/// flows are searched) allows are looked for. A rule with a workload peer bounds the far
/// end itself; otherwise the far end is narrowed to the peers of `allowing`'s allow rules
/// when the local end is certainly isolated there (diff_far_end.h): a flow that version
/// allows matches one of them, so no flow of the difference is lost.
Region region_of(Session& s, const SymFlow& f, const Changed& c, const verify::VersionIndex* versions[2],
                 int allowing) {
  verify::Encoder& enc = s.enc();
  verify::InventoryClasses* classes = s.scope().classes();
  Direction dir = c.isolation ? c.isolation->dir : c.rule->dir;
  const EndpointSelector& local = c.isolation ? c.isolation->subject : c.rule->subject;
  const EndpointSelector* remote = c.rule ? verify::workload_selector(c.rule->peer) : nullptr;
  Region out{c.rule ? enc.rule_match(*c.rule, f) : enc.endpoint_selector(verify::Encoder::local(f, dir), local),
             dir == Direction::Egress ? verify::overlap_filter(&local, remote) : verify::overlap_filter(remote, &local),
             s.ctx().bool_val(true)};
  std::vector<uint32_t> local_classes, remote_classes;
  if (classes) {
    local_classes = classes->matching(local);
    remote_classes = c.rule ? classes->matching(c.rule->peer) : classes->all();
  }
  // The selectors whose candidates are encoded: the local end's, and the far end's.
  std::vector<const EndpointSelector*> ends = {&local};
  if (remote) {
    ends.push_back(remote);
  } else if (c.rule && verify::external_only(c.rule->peer)) {
    // The far end is not a workload: its direction has no rules to consult at all.
    narrow_far(out.filter, opposite(dir), [](const EndpointSelector&) { return false; });
  } else {
    verify::FarEnd far = verify::far_end(*versions[allowing], dir, local);
    out.far_free = far.free;
    if (!far.free) {
      if (far.peers.empty()) {
        out.empty = true;
        return out;
      }
      auto set = std::make_shared<verify::SelectorSet>();
      z3::expr_vector alts(s.ctx());
      std::vector<uint32_t> narrowed;
      for (const Peer* p : far.peers) {
        alts.push_back(enc.peer(verify::Encoder::remote(f, dir), *p));
        if (const EndpointSelector* w = verify::workload_selector(*p)) {
          set->add(*w);
          ends.push_back(w);
        }
        if (classes) {
          const std::vector<uint32_t>& m = classes->matching(*p);
          narrowed.insert(narrowed.end(), m.begin(), m.end());
        }
      }
      out.where = out.where && z3::mk_or(alts);
      narrow_far(out.filter, opposite(dir), [set](const EndpointSelector& sel) { return set->may_overlap(sel); });
      std::sort(narrowed.begin(), narrowed.end());
      narrowed.erase(std::unique(narrowed.begin(), narrowed.end()), narrowed.end());
      remote_classes = std::move(narrowed);
    }
  }
  if (!out.far_free)
    for (int v = 0; v < 2; ++v) {
      out.rule_ids[v] = versions[v]->rule_candidates(ends);
      out.isolation_ids[v] = versions[v]->isolation_candidates(ends);
    }
  if (classes) out.scope = inventory_region(s, f, dir, local_classes, remote_classes);
  return out;
}

/// The CIDR blocks of both versions' peers (and their excepts), sorted, each once: the
/// address blocks a cube's address literal is widened to.
std::vector<IpPrefix> cidr_prefixes(const Module& old_m, const Module& new_m) {
  std::vector<IpPrefix> out;
  for (const Module* m : {&old_m, &new_m})
    for (const std::vector<Rule>* tier : {&m->admin_rules, &m->rules, &m->baseline_rules})
      for (const Rule& r : *tier)
        if (r.peer.kind == Peer::Kind::Cidr) {
          out.push_back(r.peer.cidr);
          out.insert(out.end(), r.peer.except.begin(), r.peer.except.end());
        }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace

DiffReport semantic_diff(const Module& old_m, const Module& new_m, const VerifyOptions& opts) {
  DiffReport report;
  auto t0 = std::chrono::steady_clock::now();
  try {
    // Until the first changed rule: the two versions' vocabulary (the solver's domain), the
    // changed items, the per-namespace indexes, the CIDR blocks and the Z3 context.
    if (opts.clock) opts.clock->phase("diff: preparing");
    // Independent passes over the two versions, on the machine's cores (results kept apart,
    // so nothing depends on scheduling; the longest first). The domain reads every item of
    // the new version but, of the old one, only the changed items' labels (added once
    // they are known): the old version's other items are the new one's too.
    std::string error;
    verify::DomainBuilder vocabulary;
    std::optional<verify::VersionIndex> old_index, new_index;
    verify::ChangedItems changed;
    std::vector<IpPrefix> prefixes;
    std::unique_ptr<Session> s;
    parallel_for(7, [&](size_t task) {
      switch (task) {
      case 0:
        vocabulary.add_except_rules(old_m);
        vocabulary.add(new_m);
        break;
      case 1: changed.rules = verify::changed_rules(old_m, new_m); break;
      case 2: old_index.emplace(old_m); break;
      case 3: new_index.emplace(new_m); break;
      case 4: changed.isolations = verify::changed_isolations(old_m, new_m); break;
      case 5: prefixes = cidr_prefixes(old_m, new_m); break;
      case 6: s = Session::open(); break;
      }
    });
    verify::add_changed(vocabulary, changed);
    if (!s->start(vocabulary, {}, opts.inventory, opts.timeout_ms, &error)) {
      report.internal_error = error;
      return report;
    }
    verify::InventoryClasses* classes = s->scope().classes();
    if (classes) {
      // Over an inventory no policy selects, both versions allow everything: "equivalent"
      // would be true and useless. The CLI refuses it; count what is compared: the classes
      // some subject selects, of the new version and of the old version's changed items
      // (its other items are the new one's too).
      report.inventory_endpoints = opts.inventory->size();
      std::vector<char> selected(classes->classes().size(), 0);
      auto mark = [&](const EndpointSelector& sel) { classes->mark_matching(sel, selected); };
      for (const std::vector<Rule>* tier : {&new_m.admin_rules, &new_m.rules, &new_m.baseline_rules})
        for (const Rule& r : *tier) mark(r.subject);
      for (const Isolation& i : new_m.isolations) mark(i.subject);
      for (const Rule* r : changed.rules) mark(r->subject);
      for (const Isolation* i : changed.isolations) mark(i->subject);
      for (size_t c = 0; c < selected.size(); ++c)
        if (selected[c]) report.inventory_subjects += classes->classes()[c].size;
    }
    s->set_clock(opts.clock);
    SymFlow f = s->enc().flow("d");
    // The every-endpoint scope holds for every query; the inventory scope is asserted per
    // changed item, over the classes its region can touch.
    if (!classes) s->assume(s->scope().flow(f));

    std::vector<Changed> items;
    for (const Rule* r : changed.rules) items.push_back(Changed{r, nullptr});
    for (const Isolation* i : changed.isolations) items.push_back(Changed{nullptr, i});

    const verify::VersionIndex* versions[2] = {&*old_index, &*new_index};
    bool unknown = false;
    if (opts.clock) opts.clock->phase("diff: changed rules", 2 * items.size());
    for (bool newly_allowed : {true, false}) {
      z3::expr_vector blocked(s->ctx());
      size_t found = 0;
      for (const Changed& item : items) {
        if (report.truncated) break;
        if (opts.clock) {
          opts.clock->step();
          if (opts.clock->expired()) {
            // What was not searched may hide differences: never "equivalent".
            unknown = true;
            report.message = "--deadline reached before every changed rule was compared";
            break;
          }
        }
        Region region = region_of(*s, f, item, versions, newly_allowed ? 1 : 0);
        if (region.empty) continue;
        z3::expr a_old = s->enc().allowed(old_m, f, region.filter_for(0));
        z3::expr a_new = s->enc().allowed(new_m, f, region.filter_for(1));
        z3::expr target = region.where && (newly_allowed ? (a_new && !a_old) : (a_old && !a_new));
        // A cube's dozens of queries each re-read the target: over many rules, generalize on
        // a solver of the cube's own with the target asserted once. (Small targets stay on
        // the session's solver, whose models — the witnesses — follow its query history.)
        bool large = region.encoded(old_m, new_m) > kOwnSolverItems;
        s->enter(region.scope);
        struct Leave {
          Session& s;
          ~Leave() { s.leave(); }
        } leave{*s};
        while (true) {
          z3::expr q = target;
          for (unsigned i = 0; i < blocked.size(); ++i) q = q && !blocked[i];
          verify::CheckOutcome o = s->check_readable(q, f);
          if (o.result == z3::unsat) break;
          if (o.result == z3::unknown) {
            unknown = true;
            report.message = verify::unknown_reason(o);
            break;
          }
          if (found == opts.max_cubes) {
            report.truncated = true;
            break;
          }
          DiffCube cube;
          cube.newly_allowed = newly_allowed;
          auto w = verify::replay(new_m, s->scope(), *o.model, f, a_new, &report.internal_error, &*new_index);
          if (!w) return report;
          auto old_v = verify::replay_on(old_m, *w, *o.model, a_old, &report.internal_error, &*old_index);
          if (!old_v) return report;
          cube.witness = std::move(*w);
          cube.old_verdict = *old_v;
          verify::Cube c = verify::Cube::point(*s, f, *o.model);
          c.generalize(*s, f, target, prefixes, large);
          cube.src = c.end_text(s->domain(), 0);
          cube.dst = c.end_text(s->domain(), 1);
          cube.ports = c.ports_text();
          blocked.push_back(c.expr(*s, f));
          report.cubes.push_back(std::move(cube));
          ++found;
        }
      }
    }
    if (!report.cubes.empty()) report.status = ProofStatus::Failed;
    else report.status = unknown ? ProofStatus::Unknown : ProofStatus::Proved;
  } catch (const z3::exception& e) {
    report.internal_error = std::string("Z3: ") + e.msg();
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

} // namespace moat
