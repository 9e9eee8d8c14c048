// The reference interpreter (docs/LANGUAGE.md, Rule verdicts): given a Module and a concrete flow, which
// rules match and what each direction decides. Deliberately a direct, rule-by-rule reading
// of the semantics with no indexing or precomputation: it is the oracle the Z3 encoding and
// the compiled datapath are checked against, so it must be obviously right, not fast.
// (evaluate_among lets a caller that asks about many flows, `moat list`, name the rules it
// reads; the reading itself is the same code.)
#include "ir/interp.h"

#include <algorithm>
#include <optional>

#include "ir/fqdn.h"

namespace moat {

bool label_selector_matches(const LabelSelector& sel, const Labels& labels) {
  for (const LabelRequirement& req : sel.reqs) {
    auto it = labels.find(req.key);
    bool present = it != labels.end();
    auto listed = [&] {
      return present && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    };
    switch (req.op) {
    case LabelRequirement::Op::In:
      if (!listed()) return false;
      break;
    case LabelRequirement::Op::NotIn:
      // Kubernetes: NotIn also holds when the key is absent (labels.Selector semantics).
      if (listed()) return false;
      break;
    case LabelRequirement::Op::Exists:
      if (!present) return false;
      break;
    case LabelRequirement::Op::DoesNotExist:
      if (present) return false;
      break;
    }
  }
  return true;
}

bool endpoint_selector_matches(const EndpointSelector& sel, const Endpoint& ep) {
  if (ep.kind != EndpointKind::Workload) return false;
  if (!ep.ns.empty() && !ep.ns_labels.count(kNamespaceNameLabel)) {
    // The name label is always present on a namespace (as Kubernetes sets it), even if the caller
    // built the endpoint without it.
    Labels ns_labels = ep.ns_labels;
    ns_labels.emplace(kNamespaceNameLabel, ep.ns);
    return label_selector_matches(sel.namespaces, ns_labels) && label_selector_matches(sel.pods, ep.labels);
  }
  return label_selector_matches(sel.namespaces, ep.ns_labels) && label_selector_matches(sel.pods, ep.labels);
}

bool fqdn_matches(const FqdnMatch& m, std::string_view name) {
  return m.pattern ? fqdn_pattern_matches(m.value, name) : fqdn_name_matches(m.value, name);
}

namespace {

bool cidr_matches(const Peer& peer, const Endpoint& remote, size_t addr) {
  // Cilium's default: CIDR identities are never assigned to cluster endpoints. An
  // AdminNetworkPolicy `networks` peer matches any address, cluster ones included (its API doc).
  if (remote.kind != EndpointKind::External && !peer.cidr_any_address) return false;
  // One packet, one address: the flow's, not "any of the endpoint's" (ir.h Flow).
  if (addr >= remote.ips.size()) return false;
  const IpAddr& ip = remote.ips[addr];
  if (!peer.cidr.contains(ip)) return false;
  return std::none_of(peer.except.begin(), peer.except.end(), [&](const IpPrefix& e) { return e.contains(ip); });
}

bool entity_matches(Entity e, EndpointKind k) {
  switch (e) {
  case Entity::World: return k == EndpointKind::External;
  case Entity::Cluster:
    return k == EndpointKind::Workload || k == EndpointKind::Host || k == EndpointKind::RemoteNode ||
           k == EndpointKind::KubeApiserver;
  case Entity::Host: return k == EndpointKind::Host;
  case Entity::RemoteNode: return k == EndpointKind::RemoteNode;
  case Entity::KubeApiserver: return k == EndpointKind::KubeApiserver;
  case Entity::All: return true;
  // Endpoints moat does not model (init, health, unmanaged, ingress proxy): none match.
  case Entity::Init:
  case Entity::Health:
  case Entity::Unmanaged:
  case Entity::Ingress: return false;
  }
  return false;
}

/// Does a port entry's protocol cover the flow's protocol? Any = TCP/UDP/SCTP, never ICMP.
bool proto_covers(Protocol rule, Protocol flow) {
  if (rule == Protocol::Any)
    return flow == Protocol::TCP || flow == Protocol::UDP || flow == Protocol::SCTP;
  return rule == flow;
}

} // namespace

bool peer_matches(const Peer& peer, const Endpoint& remote, size_t addr) {
  switch (peer.kind) {
  case Peer::Kind::Any: return true;
  case Peer::Kind::Endpoints: return endpoint_selector_matches(peer.endpoints, remote);
  case Peer::Kind::Cidr: return cidr_matches(peer, remote, addr);
  case Peer::Kind::Entity: return entity_matches(peer.entity, remote.kind);
  case Peer::Kind::Nodes:
    // The API selects nodes by their labels and matches the addresses in their
    // status.addresses (network-policy-api AdminNetworkPolicyEgressPeer.Nodes): the node
    // endpoints, the local one included, whose Node labels the selector matches.
    return (remote.kind == EndpointKind::Host || remote.kind == EndpointKind::RemoteNode) &&
           label_selector_matches(peer.nodes, remote.labels);
  case Peer::Kind::Fqdn:
    if (remote.kind != EndpointKind::External) return false;
    return std::any_of(remote.dns_names.begin(), remote.dns_names.end(),
                       [&](const std::string& n) { return fqdn_matches(peer.fqdn, n); });
  }
  return false;
}

bool ports_match(const std::vector<PortMatch>& ports, Protocol proto, uint16_t port,
                 const Endpoint* owner) {
  if (ports.empty()) return true;
  for (const PortMatch& pm : ports) {
    if (!proto_covers(pm.proto, proto)) continue;
    if (pm.name.empty()) {
      if (port >= pm.lo && port <= pm.hi) return true;
      continue;
    }
    // A named port means "whatever container port of that name and protocol the
    // destination pod declares"; a pod that declares none is not matched (Kubernetes).
    if (!owner) continue;
    for (const NamedPort& np : owner->ports)
      if (np.name == pm.name && np.proto == proto && np.port == port) return true;
  }
  return false;
}

bool is_neighbour_discovery(Protocol proto, uint16_t port) {
  return proto == Protocol::ICMPv6 && port >= kNdpFirstType && port <= kNdpLastType;
}

bool rule_matches(const Rule& r, Direction dir, const Endpoint& local, const Endpoint& remote, Protocol proto,
                  uint16_t port, size_t remote_addr) {
  // Named ports belong to the destination: the remote end of an egress, the local end of an ingress.
  const Endpoint* port_owner = dir == Direction::Egress ? &remote : &local;
  return r.dir == dir && endpoint_selector_matches(r.subject, local) && peer_matches(r.peer, remote, remote_addr) &&
         ports_match(r.ports, proto, port, port_owner);
}

namespace {

/// Calls f(id) for each candidate id, or for every id below `all` when there is no list.
template <class F>
void for_each_id(const std::vector<uint32_t>* ids, size_t all, F&& f) {
  if (ids) {
    for (uint32_t id : *ids) f(id);
    return;
  }
  for (uint32_t id = 0; id < all; ++id) f(id);
}

/// A tier decided by its first matching rule (AdminNetworkPolicy, BaselineAdminNetworkPolicy):
/// the index of that rule in `rules`, or nullopt.
std::optional<uint32_t> first_match(const std::vector<Rule>& rules, Direction dir, const Endpoint& local,
                                    const Endpoint& remote, Protocol proto, uint16_t port, size_t remote_addr) {
  for (const Rule& r : rules)
    if (rule_matches(r, dir, local, remote, proto, port, remote_addr)) return r.id;
  return std::nullopt;
}

} // namespace

Decision decide_among(const Module& m, const Candidates& among, Direction dir, const Endpoint& local,
                      const Endpoint& remote, Protocol proto, uint16_t port, size_t remote_addr) {
  Decision d;
  if (local.kind != EndpointKind::Workload) return d;  // NotWorkload: no policy applies here
  // Tier 1, AdminNetworkPolicy: admin_rules are in evaluation order (priority, then rule
  // order), so the first match decides; Pass skips the rest of the tier.
  if (auto id = first_match(m.admin_rules, dir, local, remote, proto, port, remote_addr)) {
    const Rule& r = m.admin_rules[*id];
    if (r.action != Action::Pass) {
      d.allowed = r.action == Action::Allow;
      d.why = d.allowed ? Decision::Why::AdminAllowed : Decision::Why::AdminDenied;
      d.rules = {*id};
      return d;
    }
    d.passed = {*id};
  }
  // Tier 2, NetworkPolicy / Cilium / moat rules.
  std::vector<uint32_t> allows, denies;
  for_each_id(among.rules, m.rules.size(), [&](uint32_t id) {
    const Rule& r = m.rules[id];
    if (!rule_matches(r, dir, local, remote, proto, port, remote_addr)) return;
    // L7 constraints (http, dns) narrow what the proxy lets through *inside* an allowed
    // connection; at the connection level such a rule still allows (Cilium's semantics).
    (r.action == Action::Deny ? denies : allows).push_back(r.id);
  });
  if (!denies.empty()) {
    std::sort(denies.begin(), denies.end());
    d.allowed = false;
    d.why = Decision::Why::Denied;
    d.rules = std::move(denies);
    return d;
  }
  for_each_id(among.isolations, m.isolations.size(), [&](uint32_t i) {
    const Isolation& iso = m.isolations[i];
    if (iso.dir == dir && endpoint_selector_matches(iso.subject, local)) d.isolations.push_back(i);
  });
  std::sort(d.isolations.begin(), d.isolations.end());
  if (d.isolations.empty()) {
    // Tier 3, BaselineAdminNetworkPolicy: only where no policy of tier 2 isolates.
    if (auto id = first_match(m.baseline_rules, dir, local, remote, proto, port, remote_addr)) {
      d.allowed = m.baseline_rules[*id].action == Action::Allow;
      d.why = d.allowed ? Decision::Why::BaselineAllowed : Decision::Why::BaselineDenied;
      d.rules = {*id};
      return d;
    }
    d.allowed = true;
    d.why = Decision::Why::NotIsolated;
    return d;
  }
  if (!allows.empty()) {
    std::sort(allows.begin(), allows.end());
    d.allowed = true;
    d.why = Decision::Why::Allowed;
    d.rules = std::move(allows);
    return d;
  }
  d.allowed = false;
  d.why = Decision::Why::NoAllow;
  return d;
}

Decision decide(const Module& m, Direction dir, const Endpoint& local, const Endpoint& remote,
                Protocol proto, uint16_t port, size_t remote_addr) {
  return decide_among(m, Candidates{}, dir, local, remote, proto, port, remote_addr);
}

namespace {

/// Same node: equal names, or either is empty ("the one node" of a single-node test).
bool same_node(const Endpoint& a, const Endpoint& b) {
  return a.node.empty() || b.node.empty() || a.node == b.node;
}

/// Traffic always allowed, whatever the policies say (deny rules included): what
/// Kubernetes allows — a workload to itself, a node to its own pods (kubelet probes) — and
/// IPv6 neighbour discovery. NDP is IPv6's ARP: without it an isolated pod cannot resolve
/// its gateway, and ARP, not being IP, is never policed either. It is link-local by
/// construction: a receiver discards NDP whose hop limit is not 255 (RFC 4861 §6.1, §7.1),
/// so it never crosses a router (the datapath passes only hop limit 255, DATAPATH.md).
bool implicitly_allowed(const Endpoint& src, const Endpoint& dst, Protocol proto, uint16_t port) {
  if (is_neighbour_discovery(proto, port)) return true;
  if (&src == &dst) return true;
  if (!src.name.empty() && src.name == dst.name && src.kind == dst.kind) return true;
  return src.kind == EndpointKind::Host && dst.kind == EndpointKind::Workload && same_node(src, dst);
}

Decision implicit_half(const Endpoint& ep) {
  Decision d;
  if (ep.kind == EndpointKind::Workload) d.why = Decision::Why::Implicit;
  return d;
}

} // namespace

Verdict evaluate_among(const Module& m, const Flow& flow, const Candidates& egress, const Candidates& ingress) {
  Verdict v;
  if (!flow.src || !flow.dst) {
    // No endpoints, no flow: nothing can be allowed (fail closed).
    v.allowed = false;
    return v;
  }
  const Endpoint& src = *flow.src;
  const Endpoint& dst = *flow.dst;
  if (implicitly_allowed(src, dst, flow.proto, flow.port)) {
    v.egress = implicit_half(src);
    v.ingress = implicit_half(dst);
    v.allowed = true;
    return v;
  }
  v.egress = decide_among(m, egress, Direction::Egress, src, dst, flow.proto, flow.port, flow.dst_addr);
  v.ingress = decide_among(m, ingress, Direction::Ingress, dst, src, flow.proto, flow.port, flow.src_addr);
  v.allowed = v.egress.allowed && v.ingress.allowed;
  return v;
}

Verdict evaluate(const Module& m, const Flow& flow) { return evaluate_among(m, flow, Candidates{}, Candidates{}); }

const char* to_string(Decision::Why w) {
  switch (w) {
  case Decision::Why::NotWorkload: return "not-workload";
  case Decision::Why::Implicit: return "implicit";
  case Decision::Why::NotIsolated: return "not-isolated";
  case Decision::Why::Allowed: return "allowed";
  case Decision::Why::NoAllow: return "no-allow";
  case Decision::Why::Denied: return "denied";
  case Decision::Why::AdminAllowed: return "admin-allowed";
  case Decision::Why::AdminDenied: return "admin-denied";
  case Decision::Why::BaselineAllowed: return "baseline-allowed";
  case Decision::Why::BaselineDenied: return "baseline-denied";
  }
  return "?";
}

} // namespace moat
