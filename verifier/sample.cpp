// Sample flows from a rule's own terms (see sample.h). Every sample is checked with the
// interpreter's matchers, so a sample that misses its rule is simply not used.
#include "verifier/sample.h"

#include "ir/interp.h"

namespace moat::verify {

namespace {

Labels labels_for(const LabelSelector& s) {
  Labels out;
  for (const LabelRequirement& r : s.reqs) {
    if (r.op == LabelRequirement::Op::In && !r.values.empty() && !out.count(r.key)) out[r.key] = r.values[0];
    if (r.op == LabelRequirement::Op::Exists && !out.count(r.key)) out[r.key] = "sample";
  }
  return out;
}

std::optional<Endpoint> workload_for(const EndpointSelector& s, const Domain& d, const char* name) {
  Endpoint e;
  e.name = name;
  e.kind = EndpointKind::Workload;
  Labels ns = labels_for(s.namespaces);
  e.ns = ns.count(kNamespaceNameLabel) ? ns[kNamespaceNameLabel] : "sample-ns";
  auto declared = d.namespaces.find(e.ns);
  e.ns_labels = declared != d.namespaces.end() ? declared->second : ns;
  e.ns_labels[kNamespaceNameLabel] = e.ns;
  e.labels = labels_for(s.pods);
  if (!endpoint_selector_matches(s, e)) return std::nullopt;
  return e;
}

std::optional<Endpoint> remote_for(const Peer& p, const Domain& d) {
  Endpoint e;
  e.name = "sample-remote";
  switch (p.kind) {
  case Peer::Kind::Any:
    e.kind = EndpointKind::External;
    e.ips.push_back(*IpAddr::parse("203.0.113.77"));
    break;
  case Peer::Kind::Endpoints: return workload_for(p.endpoints, d, "sample-remote");
  case Peer::Kind::Cidr: {
    e.kind = EndpointKind::External;
    IpAddr a = p.cidr.addr;
    // The first few addresses of the block, skipping excepted ones.
    for (int k = 0; k < 4; ++k) {
      e.ips = {a};
      if (peer_matches(p, e)) return e;
      for (int i = 15; i >= 0; --i)
        if (++a.bytes[i] != 0) break;
    }
    return std::nullopt;
  }
  case Peer::Kind::Entity:
    switch (p.entity) {
    case Entity::World:
    case Entity::All: e.kind = EndpointKind::External, e.ips.push_back(*IpAddr::parse("203.0.113.77")); break;
    case Entity::Host: e.kind = EndpointKind::Host; break;
    case Entity::RemoteNode:
    case Entity::Cluster: e.kind = EndpointKind::RemoteNode; break;
    case Entity::KubeApiserver: e.kind = EndpointKind::KubeApiserver; break;
    default: return std::nullopt;
    }
    e.node = "sample-node";
    break;
  case Peer::Kind::Nodes:
    e.kind = EndpointKind::RemoteNode;
    e.node = "sample-node";
    e.labels = labels_for(p.nodes);
    break;
  case Peer::Kind::Fqdn: {
    e.kind = EndpointKind::External;
    e.ips.push_back(*IpAddr::parse("203.0.113.77"));
    std::string name;
    std::string v = p.fqdn.value;
    if (p.fqdn.pattern && v.rfind("**.", 0) == 0) v = "a." + v.substr(3);
    for (char c : v) name += (p.fqdn.pattern && c == '*') ? std::string("a") : std::string(1, c);
    e.dns_names.push_back(name);
    break;
  }
  }
  if (!peer_matches(p, e)) return std::nullopt;
  return e;
}

} // namespace

std::optional<SampleFlow> sample_flow(const Rule& r, const Domain& d) {
  auto local = workload_for(r.subject, d, "sample-local");
  auto remote = local ? remote_for(r.peer, d) : std::nullopt;
  if (!local || !remote) return std::nullopt;
  SampleFlow s{*local, *remote, Protocol::TCP, 80};
  if (!r.ports.empty()) {
    const PortMatch& pm = r.ports[0];
    s.proto = pm.proto == Protocol::Any ? Protocol::TCP : pm.proto;
    s.port = pm.lo;
    if (!pm.name.empty()) {
      // The destination declares the named port.
      Endpoint& owner = r.dir == Direction::Egress ? s.remote : s.local;
      if (owner.kind != EndpointKind::Workload) return std::nullopt;
      owner.ports.push_back(NamedPort{pm.name, s.proto, 8080});
      s.port = 8080;
    }
  }
  bool icmp = s.proto == Protocol::ICMP || s.proto == Protocol::ICMPv6;
  if (!icmp && s.port == 0) s.port = 1;
  const Endpoint* owner = r.dir == Direction::Egress ? &s.remote : &s.local;
  if (!ports_match(r.ports, s.proto, s.port, owner)) return std::nullopt;
  return s;
}

} // namespace moat::verify
