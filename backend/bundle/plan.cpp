// plan_datapath: which lookups each direction's code needs, read off the IR.
#include "backend/bundle/plan.h"

namespace moat::bundle {

bool peer_is_universal(const Peer& peer) {
  return peer.kind == Peer::Kind::Any || (peer.kind == Peer::Kind::Entity && peer.entity == Entity::All);
}

bool has_named_port(const Rule& r) {
  for (const PortMatch& p : r.ports)
    if (!p.name.empty()) return true;
  return false;
}

uint32_t datapath_rule_count(const Module& m) {
  return static_cast<uint32_t>(m.rules.size() + m.admin_rules.size() + m.baseline_rules.size());
}

uint32_t datapath_rule(const Module& m, Tier tier, uint32_t id) {
  switch (tier) {
  case Tier::Policy: return id;
  case Tier::Admin: return static_cast<uint32_t>(m.rules.size()) + id;
  case Tier::Baseline: return static_cast<uint32_t>(m.rules.size() + m.admin_rules.size()) + id;
  }
  return id;
}

std::pair<Tier, uint32_t> tier_of_datapath_rule(const Module& m, uint32_t rule) {
  if (rule < m.rules.size()) return {Tier::Policy, rule};
  rule -= static_cast<uint32_t>(m.rules.size());
  if (rule < m.admin_rules.size()) return {Tier::Admin, rule};
  return {Tier::Baseline, rule - static_cast<uint32_t>(m.admin_rules.size())};
}

DatapathPlan plan_datapath(const Module& m) {
  DatapathPlan plan;
  plan.rule_count = datapath_rule_count(m);
  std::vector<const Rule*> all;
  for (Tier t : {Tier::Policy, Tier::Admin, Tier::Baseline})
    for (const Rule& r : m.tier_rules(t)) all.push_back(&r);
  for (const Rule* rule : all) {
    const Rule& r = *rule;
    DirectionPlan& d = plan.dir[static_cast<int>(r.dir)];
    d.enabled = true;
    // An egress named port resolves against the remote workload, so even a rule whose peer
    // matches everything needs per-remote entries.
    bool per_remote = !peer_is_universal(r.peer) || (r.dir == Direction::Egress && has_named_port(r));
    (per_remote ? d.specific_lookup : d.any_lookup) = true;
    if (r.ports.empty()) d.port_prefixes = true;
    for (const PortMatch& pm : r.ports) {
      if (pm.name.empty() && pm.lo < pm.hi) d.port_prefixes = true;
      d.exact_ports = true;  // single ports, named ports, and the /16 edges of ranges
    }
    if (r.peer.kind == Peer::Kind::Cidr) {
      if (r.peer.cidr.len < r.peer.cidr.addr.bits()) plan.ipcache_prefixes = true;
      for (const IpPrefix& e : r.peer.except)
        if (e.len < e.addr.bits()) plan.ipcache_prefixes = true;
    }
  }
  for (const Isolation& iso : m.isolations) plan.dir[static_cast<int>(iso.dir)].enabled = true;
  for (int i = 0; i < 2; ++i) {
    DirectionPlan& d = plan.dir[i];
    // Ingress needs the remote identity for the host check even without per-remote rules.
    d.ipcache = d.specific_lookup || (i == static_cast<int>(Direction::Ingress) && d.enabled);
    d.ct_write = d.enabled || plan.dir[1 - i].enabled;
  }
  return plan;
}

} // namespace moat::bundle
