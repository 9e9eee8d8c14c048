// plan_datapath: which lookups each direction's code needs, read off the IR.
#include "backend/bundle/plan.h"

namespace moat::bundle {

bool peer_is_universal(const Peer& peer) {
  return peer.kind == Peer::Kind::Any || (peer.kind == Peer::Kind::Entity && peer.entity == Entity::All);
}

namespace {
bool has_named_port(const Rule& r) {
  for (const PortMatch& p : r.ports)
    if (!p.name.empty()) return true;
  return false;
}
} // namespace

DatapathPlan plan_datapath(const Module& m) {
  DatapathPlan plan;
  plan.rule_count = static_cast<uint32_t>(m.rules.size());
  for (const Rule& r : m.rules) {
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
