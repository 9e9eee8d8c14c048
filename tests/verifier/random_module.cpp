// Random policies for the differential tests (see random_module.h).
#include "random_module.h"

#include <algorithm>
#include <map>

#include "ir/fqdn.h"

namespace moat::testing {

namespace {
const std::vector<std::string> kPodKeys = {"app", "tier", "team"};
const std::vector<std::string> kNsKeys = {"team", "env"};
const std::vector<std::string> kNodeKeys = {"zone", "app"};
const std::vector<std::string> kValues = {"a", "b", "c"};
const std::vector<std::string> kNamespaces = {"x", "y", "z"};
const std::vector<std::string> kPortNames = {"http", "dns", "metrics"};
const std::vector<std::string> kPrefixes = {"10.0.0.0/8",   "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32",
                                            "192.168.0.0/16", "0.0.0.0/0", "8.8.8.0/24",  "2001:db8::/32",
                                            "2001:db8:1::/48", "::/0",      "2001:db8:1::5/128"};
const std::vector<std::string> kAddrs = {"10.1.2.3", "10.1.2.4", "10.1.9.9", "10.200.0.1", "192.168.1.1",
                                         "8.8.8.8",  "1.1.1.1",  "2001:db8::1", "2001:db8:1::5", "2001:db8:1::6",
                                         "2a00::1"};
const std::vector<std::pair<bool, std::string>> kFqdns = {
    {false, "api.example.com"}, {true, "*.example.com"},   {true, "**.example.com"}, {true, "*"},
    {true, "*.s3.*.amazonaws.com"}, {false, "s3.us-east-1.amazonaws.com"}, {true, "a*b.example.com"},
    {true, "**.amazonaws.com"}, {false, "Example.COM."}, {true, "api-*.example.com"}};
const std::vector<std::string> kNames = {
    "api.example.com", "example.com", "a.b.example.com", "ab.example.com", "axxb.example.com",
    "bkt.s3.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com", "a.b.s3.us-east-1.amazonaws.com",
    "api-v1.example.com", "other.org", "API.Example.Com.", "x.amazonaws.com"};
} // namespace

LabelSelector RandomModules::label_selector(bool ns) {
  LabelSelector s;
  size_t n = pick(3);
  for (size_t i = 0; i < n; ++i) {
    LabelRequirement r;
    if (ns && chance(0.4))
      r.key = kNamespaceNameLabel;
    else
      r.key = ns ? kNsKeys[pick(kNsKeys.size())] : kPodKeys[pick(kPodKeys.size())];
    const auto& vals = r.key == kNamespaceNameLabel ? kNamespaces : kValues;
    r.op = static_cast<LabelRequirement::Op>(pick(4));
    if (r.op == LabelRequirement::Op::In || r.op == LabelRequirement::Op::NotIn) {
      size_t k = 1 + pick(2);
      for (size_t j = 0; j < k; ++j) r.values.push_back(vals[pick(vals.size())]);
      std::sort(r.values.begin(), r.values.end());
      r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
    }
    s.reqs.push_back(r);
  }
  return s;
}

LabelSelector RandomModules::node_selector() {
  LabelSelector s;
  size_t n = 1 + pick(2);
  for (size_t i = 0; i < n; ++i) {
    LabelRequirement r;
    r.key = kNodeKeys[pick(kNodeKeys.size())];
    r.op = static_cast<LabelRequirement::Op>(pick(4));
    if (r.op == LabelRequirement::Op::In || r.op == LabelRequirement::Op::NotIn) {
      size_t k = 1 + pick(2);
      for (size_t j = 0; j < k; ++j) r.values.push_back(kValues[pick(kValues.size())]);
      std::sort(r.values.begin(), r.values.end());
      r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
    }
    s.reqs.push_back(r);
  }
  return s;
}

EndpointSelector RandomModules::selector() { return EndpointSelector{label_selector(true), label_selector(false), {}}; }

IpPrefix RandomModules::prefix() { return *IpPrefix::parse(kPrefixes[pick(kPrefixes.size())]); }

FqdnMatch RandomModules::fqdn() {
  const auto& [pattern, v] = kFqdns[pick(kFqdns.size())];
  return FqdnMatch{pattern, canonical_fqdn(v), {}};
}

Peer RandomModules::peer(bool) {
  Peer p;
  p.kind = static_cast<Peer::Kind>(pick(5));
  switch (p.kind) {
  case Peer::Kind::Any: break;
  case Peer::Kind::Endpoints: p.endpoints = selector(); break;
  case Peer::Kind::Cidr:
    p.cidr = prefix();
    for (const std::string& s : kPrefixes) {
      IpPrefix e = *IpPrefix::parse(s);
      if (p.cidr.contains(e) && e.len > p.cidr.len && chance(0.3)) p.except.push_back(e);
    }
    break;
  case Peer::Kind::Entity: p.entity = static_cast<Entity>(pick(7)); break;
  case Peer::Kind::Fqdn: p.fqdn = fqdn(); break;
  }
  return p;
}

std::vector<PortMatch> RandomModules::ports() {
  std::vector<PortMatch> out;
  if (chance(0.3)) return out;
  size_t n = 1 + pick(2);
  static const Protocol protos[] = {Protocol::Any, Protocol::TCP, Protocol::UDP, Protocol::SCTP, Protocol::ICMP,
                                    Protocol::ICMPv6};
  for (size_t i = 0; i < n; ++i) {
    PortMatch pm;
    pm.proto = protos[pick(6)];
    bool icmp = pm.proto == Protocol::ICMP || pm.proto == Protocol::ICMPv6;
    if (!icmp && chance(0.2)) {
      pm.name = kPortNames[pick(kPortNames.size())];
    } else if (icmp) {
      // ICMPv6 types around neighbour discovery (133..137, always allowed) now and then.
      bool ndp = pm.proto == Protocol::ICMPv6 && chance(0.3);
      pm.lo = static_cast<uint16_t>(ndp ? 128 + pick(10) : pick(4) * 3);
      pm.hi = chance(0.5) ? pm.lo : static_cast<uint16_t>(pm.lo + pick(10));
    } else {
      static const uint16_t edges[] = {1, 53, 80, 443, 1024, 8080, 65535};
      pm.lo = edges[pick(7)];
      pm.hi = chance(0.5) ? pm.lo : std::max<uint16_t>(pm.lo, edges[pick(7)]);
    }
    out.push_back(pm);
  }
  return out;
}

Module RandomModules::module(size_t rules, size_t isolations) {
  Module m;
  // Some namespaces are declared with labels; others exist only in selectors.
  if (chance(0.5)) m.namespaces["x"] = {{"team", "a"}, {kNamespaceNameLabel, "x"}};
  if (chance(0.5)) m.namespaces["y"] = {{"team", "b"}, {"env", "c"}, {kNamespaceNameLabel, "y"}};
  for (size_t i = 0; i < rules; ++i) {
    Rule r;
    r.subject = selector();
    r.dir = chance(0.5) ? Direction::Ingress : Direction::Egress;
    r.action = chance(0.25) ? Action::Deny : Action::Allow;
    r.peer = peer();
    r.ports = ports();
    m.add_rule(r);
  }
  for (size_t i = 0; i < isolations; ++i) {
    Isolation iso;
    iso.subject = selector();
    iso.dir = chance(0.5) ? Direction::Ingress : Direction::Egress;
    m.isolations.push_back(iso);
  }
  return m;
}

void RandomModules::add_tiers(Module& m, size_t admin, size_t baseline) {
  auto rule = [&](Tier tier) {
    Rule r;
    r.tier = tier;
    r.subject = selector();
    r.dir = chance(0.5) ? Direction::Ingress : Direction::Egress;
    size_t a = pick(tier == Tier::Admin ? 3 : 2);
    r.action = a == 0 ? Action::Allow : a == 1 ? Action::Deny : Action::Pass;
    r.peer = peer();
    if (r.peer.kind == Peer::Kind::Cidr) r.peer.cidr_any_address = chance(0.5);
    r.ports = ports();
    r.priority = tier == Tier::Admin ? static_cast<int32_t>(pick(3)) : 0;
    return r;
  };
  for (size_t i = 0; i < admin; ++i) m.admin_rules.push_back(rule(Tier::Admin));
  std::stable_sort(m.admin_rules.begin(), m.admin_rules.end(),
                   [](const Rule& a, const Rule& b) { return a.priority < b.priority; });
  for (size_t i = 0; i < m.admin_rules.size(); ++i) m.admin_rules[i].id = static_cast<uint32_t>(i);
  for (size_t i = 0; i < baseline; ++i) {
    m.baseline_rules.push_back(rule(Tier::Baseline));
    m.baseline_rules.back().id = static_cast<uint32_t>(i);
  }
}

// The knobs below run after module() so that module() draws what it always drew: seeds that
// other tests depend on keep their policies.
void RandomModules::add_any_address_cidrs(Module& m, double p) {
  for (Rule& r : m.rules)
    if (r.peer.kind == Peer::Kind::Cidr && chance(p)) r.peer.cidr_any_address = true;
}

void RandomModules::add_port_ranges(Module& m, double p) {
  static const Protocol protos[] = {Protocol::Any, Protocol::TCP, Protocol::UDP, Protocol::SCTP};
  for (Rule& r : m.rules) {
    // A rule without ports covers every port already: a range would narrow it.
    if (r.ports.empty() || !chance(p)) continue;
    PortMatch pm;
    pm.proto = protos[pick(4)];
    pm.lo = static_cast<uint16_t>(1 + pick(65535));
    // Short, medium and long ranges: a few prefixes to a dozen.
    static const size_t widths[] = {1, 16, 300, 5000, 40000};
    size_t hi = pm.lo + pick(widths[pick(5)]);
    pm.hi = static_cast<uint16_t>(std::min<size_t>(hi, 65535));
    r.ports.push_back(pm);
  }
}

void RandomModules::add_denies(Module& m, double p) {
  for (Rule& r : m.rules)
    if (r.action == Action::Allow && chance(p)) r.action = Action::Deny;
}

void RandomModules::add_node_peers(Module& m, double p) {
  for (std::vector<Rule>* tier : {&m.admin_rules, &m.baseline_rules})
    for (Rule& r : *tier) {
      if (r.dir != Direction::Egress || !chance(p)) continue;
      r.peer = Peer{};
      r.peer.kind = Peer::Kind::Nodes;
      r.peer.nodes = node_selector();
      // A nodes peer has no named ports (E225): numbered ports only.
      r.ports.erase(std::remove_if(r.ports.begin(), r.ports.end(), [](const PortMatch& pm) { return !pm.name.empty(); }),
                    r.ports.end());
    }
}

void RandomModules::add_node_labels(std::vector<Endpoint>& eps) {
  for (Endpoint& e : eps) {
    if (e.kind != EndpointKind::Host && e.kind != EndpointKind::RemoteNode) continue;
    for (const std::string& key : kNodeKeys)
      if (chance(0.7)) e.labels[key] = chance(0.85) ? kValues[pick(kValues.size())] : "zz";
  }
}

std::vector<std::string> RandomModules::dns_names() {
  std::vector<std::string> out;
  size_t n = pick(3);
  for (size_t i = 0; i < n; ++i) out.push_back(kNames[pick(kNames.size())]);
  return out;
}

std::vector<Endpoint> RandomModules::endpoints(const Module& m, size_t n) {
  std::vector<Endpoint> out;
  static const std::vector<std::string> nodes = {"", "n1", "n2"};
  // One label set per namespace: pods of a namespace share its labels.
  std::map<std::string, Labels> ns_labels = m.namespaces;
  for (const std::string& ns : {std::string("x"), std::string("y"), std::string("z"), std::string("w")}) {
    if (ns_labels.count(ns)) continue;
    Labels& l = ns_labels[ns];
    for (const std::string& key : kNsKeys)
      if (chance(0.5)) l[key] = kValues[pick(kValues.size())];
    l[kNamespaceNameLabel] = ns;
  }
  for (size_t i = 0; i < n; ++i) {
    Endpoint e;
    e.name = "e" + std::to_string(i);
    size_t k = pick(10);
    e.kind = k < 5 ? EndpointKind::Workload
                   : k < 8 ? EndpointKind::External : static_cast<EndpointKind>(1 + pick(3));
    e.node = nodes[pick(nodes.size())];
    if (e.kind == EndpointKind::Workload) {
      e.ns = chance(0.85) ? kNamespaces[pick(kNamespaces.size())] : "w";
      e.ns_labels = ns_labels[e.ns];
      e.ns_labels[kNamespaceNameLabel] = e.ns;
      for (const std::string& key : kPodKeys)
        if (chance(0.6)) e.labels[key] = chance(0.85) ? kValues[pick(kValues.size())] : "zz";
      for (const std::string& pn : kPortNames)
        if (chance(0.4)) {
          static const Protocol protos[] = {Protocol::TCP, Protocol::UDP, Protocol::SCTP};
          static const uint16_t nums[] = {53, 80, 443, 8080, 9090};
          e.ports.push_back(NamedPort{pn, protos[pick(3)], nums[pick(5)]});
        }
    }
    e.ips.push_back(*IpAddr::parse(kAddrs[pick(kAddrs.size())]));
    if (e.kind == EndpointKind::External) e.dns_names = dns_names();
    out.push_back(e);
  }
  return out;
}

void RandomModules::add_addresses(std::vector<Endpoint>& eps, double p) {
  // 10.1.2.100.. and 2001:db8:1::100..: inside several pool prefixes, used by no pool address.
  size_t next = 0;
  auto fresh = [&](bool v6) {
    ++next;
    return *IpAddr::parse(v6 ? "2001:db8:1::" + std::to_string(100 + next) : "10.1.2." + std::to_string(100 + next));
  };
  for (Endpoint& e : eps) {
    if (e.ips.empty() || !chance(p)) continue;
    if (e.kind == EndpointKind::Workload) {
      bool v6 = !e.ips[0].v6;
      if (std::none_of(e.ips.begin(), e.ips.end(), [&](const IpAddr& ip) { return ip.v6 == v6; }))
        e.ips.push_back(fresh(v6));
    } else if (e.kind == EndpointKind::External) {
      e.ips.push_back(fresh(chance(0.5)));
    }
  }
}

size_t RandomModules::flow_address(const Endpoint& e) {
  return e.kind == EndpointKind::External && e.ips.size() > 1 ? pick(e.ips.size()) : 0;
}

std::pair<Protocol, uint16_t> RandomModules::proto_port(const Module& m, const Endpoint& dst) {
  static const Protocol protos[] = {Protocol::TCP, Protocol::UDP, Protocol::SCTP, Protocol::ICMP, Protocol::ICMPv6};
  Protocol p = protos[pick(5)];
  bool icmp = p == Protocol::ICMP || p == Protocol::ICMPv6;
  std::vector<uint16_t> candidates;
  for (const std::vector<Rule>* tier : {&m.rules, &m.admin_rules, &m.baseline_rules})
    for (const Rule& r : *tier)
      for (const PortMatch& pm : r.ports) {
        candidates.push_back(pm.lo);
        candidates.push_back(pm.hi);
        if (pm.lo > 0) candidates.push_back(pm.lo - 1);
        if (pm.hi < 65535) candidates.push_back(pm.hi + 1);
      }
  for (const NamedPort& np : dst.ports) candidates.push_back(np.port);
  uint16_t port = candidates.empty() || chance(0.2) ? static_cast<uint16_t>(1 + pick(65535))
                                                     : candidates[pick(candidates.size())];
  if (icmp) port = static_cast<uint16_t>(port % 256);
  // Neighbour discovery (ICMPv6 133..137) is always allowed: make sure flows exercise it.
  if (p == Protocol::ICMPv6 && chance(0.2)) port = static_cast<uint16_t>(133 + pick(5));
  if (!icmp && port == 0) port = 1;
  return {p, port};
}

} // namespace moat::testing
