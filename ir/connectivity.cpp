// Connectivity (see connectivity.h): per-endpoint candidate rules, then per pair the
// interpreter at one port per piece of each protocol's port space.
#include "ir/connectivity.h"

#include <algorithm>
#include <set>

#include "ir/subject_index.h"

namespace moat {

namespace {

/// What the interpreter reads of an endpoint, as a string: equal strings, equal verdicts
/// (the node and the attach points matter only to the host and the datapath, and a
/// workload's addresses only when some peer's CIDR matches pod addresses too: an
/// AdminNetworkPolicy's `networks`).
std::string class_key(const Endpoint& e, bool workload_addresses) {
  std::string k = std::to_string(static_cast<int>(e.kind)) + '\0' + e.ns + '\0';
  for (const auto* labels : {&e.ns_labels, &e.labels}) {
    for (const auto& [key, value] : *labels)
      k += key + '=' + value + '\0';
    k += '\1';
  }
  for (const NamedPort& p : e.ports)
    k += p.name + '/' + std::to_string(static_cast<int>(p.proto)) + '/' + std::to_string(p.port) +
         '\0';
  k += '\1';
  if (e.kind != EndpointKind::Workload || workload_addresses)
    for (const IpAddr& a : e.ips)
      k += a.str() + '\0';
  k += '\1';
  for (const std::string& n : e.dns_names)
    k += n + '\0';
  return k;
}

bool any_cidr_matches_pods(const Module& m) {
  for (const std::vector<Rule>* tier : {&m.admin_rules, &m.baseline_rules, &m.rules})
    for (const Rule& r : *tier)
      if (r.peer.kind == Peer::Kind::Cidr && r.peer.cidr_any_address) return true;
  return false;
}

} // namespace

Connectivity::Connectivity(const Module& m, std::vector<const Endpoint*> endpoints)
    : m_(m), eps_(std::move(endpoints)), local_(eps_.size()), class_(eps_.size()) {
  std::unordered_map<std::string, uint32_t> classes;
  bool workload_addresses = any_cidr_matches_pods(m);
  for (size_t i = 0; i < eps_.size(); ++i) {
    auto [it, added] = classes.emplace(class_key(*eps_[i], workload_addresses),
                                       static_cast<uint32_t>(class_first_.size()));
    if (added) class_first_.push_back(i);
    class_[i] = it->second;
  }
  SubjectIndex rules;
  for (const Rule& r : m.rules)
    rules.add(r.subject, r.id);
  SubjectIndex isolations = isolation_index(m);
  for (size_t i = 0; i < eps_.size(); ++i) {
    const Endpoint& ep = *eps_[i];
    // No policy applies at other ends; one endpoint of each class is asked about.
    if (ep.kind != EndpointKind::Workload || class_first_[class_[i]] != i) continue;
    Local& l = local_[i];
    for (uint32_t id : rules.in_namespace(ep.ns)) {
      const Rule& r = m.rules[id];
      if (!endpoint_selector_matches(r.subject, ep)) continue;
      (r.dir == Direction::Egress ? l.egress_rules : l.ingress_rules).push_back(id);
    }
    for (uint32_t id : isolations.in_namespace(ep.ns)) {
      const Isolation& iso = m.isolations[id];
      if (!endpoint_selector_matches(iso.subject, ep)) continue;
      (iso.dir == Direction::Egress ? l.egress_isolations : l.ingress_isolations).push_back(id);
    }
  }
}

namespace {

bool covers(Protocol rule, Protocol p) {
  if (rule == Protocol::Any) return p == Protocol::TCP || p == Protocol::UDP || p == Protocol::SCTP;
  return rule == p;
}

/// The first port of every piece of `p`'s domain that no rule edge crosses.
std::vector<uint32_t> piece_starts(const Module& m, const std::vector<uint32_t>& rules, Protocol p,
                                   const Endpoint& port_owner) {
  auto [lo, hi] = port_domain(p);
  std::set<uint32_t> cuts = {lo};
  auto cut = [&](uint32_t a, uint32_t b) {
    if (a > lo && a <= hi) cuts.insert(a);
    if (b + 1 > lo && b + 1 <= hi) cuts.insert(b + 1);
  };
  auto cut_rule = [&](const Rule& r) {
    for (const PortMatch& pm : r.ports) {
      if (!covers(pm.proto, p)) continue;
      if (pm.name.empty()) {
        cut(pm.lo, pm.hi);
        continue;
      }
      for (const NamedPort& np : port_owner.ports)
        if (np.name == pm.name && np.proto == p) cut(np.port, np.port);
    }
  };
  for (uint32_t id : rules) cut_rule(m.rules[id]);
  // The admin tiers are read whole by the interpreter (few rules, first match decides):
  // their port edges cut every pair's pieces.
  for (const std::vector<Rule>* tier : {&m.admin_rules, &m.baseline_rules})
    for (const Rule& r : *tier) cut_rule(r);
  if (p == Protocol::ICMPv6) cut(kNdpFirstType, kNdpLastType);
  return {cuts.begin(), cuts.end()};
}

bool same_reasons(const Decision& a, const Decision& b) {
  return a.allowed == b.allowed && a.why == b.why && a.rules == b.rules &&
         a.isolations == b.isolations;
}

} // namespace

const PairConnectivity& Connectivity::pair(size_t s, size_t d, bool with_segments) const {
  if (s == d) { // self traffic: implicitly allowed, never shared with the class
    static thread_local PairConnectivity self;
    self = compute(s, d, with_segments);
    return self;
  }
  // Two different endpoints of one class are not "the same workload" (the implicit self
  // allowance compares names), so all distinct pairs of classes a and b share verdicts:
  // those of the classes' first endpoints, or of this pair when a and b are one class.
  size_t cs = class_first_[class_[s]], cd = class_first_[class_[d]];
  uint64_t key = (uint64_t{class_[s]} << 32) | class_[d];
  auto& cache = cache_[with_segments ? 1 : 0];
  auto it = cache.find(key);
  if (it == cache.end())
    it =
        cache.emplace(key, cs == cd ? compute(s, d, with_segments) : compute(cs, cd, with_segments))
            .first;
  return it->second;
}

PairConnectivity Connectivity::compute(size_t s, size_t d, bool with_segments) const {
  const Endpoint& src = *eps_[s];
  const Endpoint& dst = *eps_[d];
  const Local& ls = local_[class_first_[class_[s]]];
  const Local& ld = local_[class_first_[class_[d]]];
  // Only the rules whose peer takes the other end can decide this pair.
  std::vector<uint32_t> egress, ingress, both;
  for (uint32_t id : ls.egress_rules)
    if (peer_matches(m_.rules[id].peer, dst)) egress.push_back(id);
  for (uint32_t id : ld.ingress_rules)
    if (peer_matches(m_.rules[id].peer, src)) ingress.push_back(id);
  both = egress;
  both.insert(both.end(), ingress.begin(), ingress.end());
  Candidates at_src{&egress, &ls.egress_isolations}, at_dst{&ingress, &ld.ingress_isolations};
  PairConnectivity out;
  for (Protocol p : kListedProtocols) {
    std::vector<uint32_t> starts = piece_starts(m_, both, p, dst);
    uint32_t domain_end = port_domain(p).second;
    for (size_t i = 0; i < starts.size(); ++i) {
      auto lo = static_cast<uint16_t>(starts[i]);
      auto hi = static_cast<uint16_t>(i + 1 < starts.size() ? starts[i + 1] - 1 : domain_end);
      if (is_neighbour_discovery(p, lo)) continue; // always allowed, never listed
      Verdict v = evaluate_among(m_, Flow{&src, &dst, p, lo}, at_src, at_dst);
      if (v.allowed) out.allowed.add(p, lo, hi);
      if (!with_segments) continue;
      auto seg = std::find_if(out.segments.begin(), out.segments.end(), [&](const ConnSegment& c) {
        return c.verdict.allowed == v.allowed && same_reasons(c.verdict.egress, v.egress) &&
               same_reasons(c.verdict.ingress, v.ingress);
      });
      if (seg == out.segments.end())
        seg = out.segments.insert(out.segments.end(), ConnSegment{{}, v});
      seg->conns.add(p, lo, hi);
    }
  }
  // Allowed ports first: what the entry lists, then why the rest is not.
  std::stable_partition(out.segments.begin(), out.segments.end(),
                        [](const ConnSegment& c) { return c.verdict.allowed; });
  return out;
}

} // namespace moat
