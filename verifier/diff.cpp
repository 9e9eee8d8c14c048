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
#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "ir/interp.h"
#include "ir/printer.h"
#include "verifier/cube.h"

namespace moat {

namespace {

using verify::Session;
using verify::SymFlow;

std::string rule_key(const Rule& r) {
  return fmt::format("{} {} {} | {} | {}", to_string(r.dir), to_string(r.action), print_endpoint_selector(r.subject),
                     print_peer(r.peer), print_ports(r.ports));
}

/// Admin and baseline rules are first-match: their place in the tier is part of what they
/// mean, so a rule that moved counts as changed.
std::string tier_rule_key(const Rule& r) {
  return fmt::format("{} #{} priority {} {}", to_string(r.tier), r.id, r.priority, rule_key(r));
}

std::string isolation_key(const Isolation& i) {
  return fmt::format("{} {}", to_string(i.dir), print_endpoint_selector(i.subject));
}

/// A rule or isolation that only one version has.
struct Changed {
  const Rule* rule = nullptr;
  const Isolation* isolation = nullptr;
};

template <class T, class Key>
void changed_items(const std::vector<T>& a, const std::vector<T>& b, Key key, std::vector<const T*>& out) {
  std::map<std::string, long> count;
  for (const T& x : b) ++count[key(x)];
  for (const T& x : a) {
    auto it = count.find(key(x));
    if (it != count.end() && it->second > 0) --it->second;
    else out.push_back(&x);
  }
}

/// Peers that can only be non-workloads: a rule with such a peer constrains the far end
/// to have no policy of its own in that direction.
bool external_only(const Peer& p) {
  return (p.kind == Peer::Kind::Cidr && !p.cidr_any_address) || p.kind == Peer::Kind::Fqdn || p.kind == Peer::Kind::Nodes ||
         (p.kind == Peer::Kind::Entity && p.entity != Entity::All && p.entity != Entity::Cluster);
}

/// The part of the flow space item `c` can influence, and the rule filter that is exact
/// inside it.
struct Region {
  z3::expr where;
  verify::RuleFilter filter;
  /// Inventory scope: the classes the region's ends can be (asserted while the region is
  /// searched, so that cubes generalize relative to the inventory); true otherwise.
  z3::expr scope;
};

/// Inventory scope: the flows whose local end (in `dir`) is one of `local` and whose remote
/// end is one of `remote`.
z3::expr inventory_region(Session& s, const SymFlow& f, Direction dir, const std::vector<uint32_t>& local,
                          const std::vector<uint32_t>& remote) {
  return dir == Direction::Egress ? s.scope().flow(f, local, remote) : s.scope().flow(f, remote, local);
}

Region region_of(Session& s, const SymFlow& f, const Changed& c) {
  verify::Encoder& enc = s.enc();
  verify::InventoryClasses* classes = s.scope().classes();
  if (c.isolation) {
    const Isolation& iso = *c.isolation;
    const EndpointSelector* sel = &iso.subject;
    z3::expr where = enc.endpoint_selector(verify::Encoder::local(f, iso.dir), iso.subject);
    z3::expr scope = classes ? inventory_region(s, f, iso.dir, classes->matching(iso.subject), classes->all())
                             : s.ctx().bool_val(true);
    return Region{where,
                  iso.dir == Direction::Egress ? verify::overlap_filter(sel, nullptr) : verify::overlap_filter(nullptr, sel),
                  scope};
  }
  const Rule& r = *c.rule;
  const EndpointSelector* local = &r.subject;
  const EndpointSelector* remote = verify::workload_selector(r.peer);
  verify::RuleFilter filter = r.dir == Direction::Egress ? verify::overlap_filter(local, remote)
                                                         : verify::overlap_filter(remote, local);
  if (external_only(r.peer)) {
    // The far end is not a workload: its direction has no rules to consult at all.
    Direction far = r.dir == Direction::Egress ? Direction::Ingress : Direction::Egress;
    auto inner = filter.subject;
    filter.subject = [inner, far](Direction d, const EndpointSelector& sel) {
      return d != far && (!inner || inner(d, sel));
    };
  }
  z3::expr scope = classes ? inventory_region(s, f, r.dir, classes->matching(r.subject), classes->matching(r.peer))
                           : s.ctx().bool_val(true);
  return Region{enc.rule_match(r, f), filter, scope};
}

} // namespace

DiffReport semantic_diff(const Module& old_m, const Module& new_m, const VerifyOptions& opts) {
  DiffReport report;
  auto t0 = std::chrono::steady_clock::now();
  try {
    std::string error;
    auto s = Session::make({&old_m, &new_m}, {}, opts.inventory, opts.timeout_ms, &error);
    if (!s) {
      report.internal_error = error;
      return report;
    }
    verify::InventoryClasses* classes = s->scope().classes();
    if (classes) {
      // Over an inventory no policy selects, both versions allow everything: "equivalent"
      // would be true and useless. The CLI refuses it; count what is compared (per class
      // of each distinct subject, through the index).
      report.inventory_endpoints = opts.inventory->size();
      std::vector<char> selected(classes->classes().size(), 0);
      auto mark = [&](const EndpointSelector& sel) {
        for (uint32_t c : classes->matching(sel)) selected[c] = 1;
      };
      for (const Module* m : {&old_m, &new_m}) {
        for (const std::vector<Rule>* tier : {&m->admin_rules, &m->rules, &m->baseline_rules})
          for (const Rule& r : *tier) mark(r.subject);
        for (const Isolation& i : m->isolations) mark(i.subject);
      }
      for (size_t c = 0; c < selected.size(); ++c)
        if (selected[c]) report.inventory_subjects += classes->classes()[c].size;
    }
    s->set_clock(opts.clock);
    SymFlow f = s->enc().flow("d");
    // The every-endpoint scope holds for every query; the inventory scope is asserted per
    // changed item, over the classes its region can touch.
    if (!classes) s->assume(s->scope().flow(f));
    std::vector<IpPrefix> prefixes;
    for (const Module* m : {&old_m, &new_m})
      for (const std::vector<Rule>* tier : {&m->admin_rules, &m->rules, &m->baseline_rules})
        for (const Rule& r : *tier)
          if (r.peer.kind == Peer::Kind::Cidr) {
            prefixes.push_back(r.peer.cidr);
            prefixes.insert(prefixes.end(), r.peer.except.begin(), r.peer.except.end());
          }
    std::sort(prefixes.begin(), prefixes.end());
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());

    std::vector<const Rule*> rules;
    changed_items(old_m.rules, new_m.rules, rule_key, rules);
    changed_items(new_m.rules, old_m.rules, rule_key, rules);
    changed_items(old_m.admin_rules, new_m.admin_rules, tier_rule_key, rules);
    changed_items(new_m.admin_rules, old_m.admin_rules, tier_rule_key, rules);
    changed_items(old_m.baseline_rules, new_m.baseline_rules, tier_rule_key, rules);
    changed_items(new_m.baseline_rules, old_m.baseline_rules, tier_rule_key, rules);
    std::vector<const Isolation*> isos;
    changed_items(old_m.isolations, new_m.isolations, isolation_key, isos);
    changed_items(new_m.isolations, old_m.isolations, isolation_key, isos);
    std::vector<Changed> items;
    for (const Rule* r : rules) items.push_back(Changed{r, nullptr});
    for (const Isolation* i : isos) items.push_back(Changed{nullptr, i});

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
        Region region = region_of(*s, f, item);
        z3::expr a_old = s->enc().allowed(old_m, f, region.filter);
        z3::expr a_new = s->enc().allowed(new_m, f, region.filter);
        z3::expr target = region.where && (newly_allowed ? (a_new && !a_old) : (a_old && !a_new));
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
          auto w = verify::replay(new_m, s->scope(), *o.model, f, a_new, &report.internal_error);
          if (!w) return report;
          auto old_v = verify::replay_on(old_m, *w, *o.model, a_old, &report.internal_error);
          if (!old_v) return report;
          cube.witness = std::move(*w);
          cube.old_verdict = *old_v;
          verify::Cube c = verify::Cube::point(*s, f, *o.model);
          c.generalize(*s, f, target, prefixes);
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
