// Rule overlap candidates (see rule_overlap.h). Prefixes either nest or are disjoint, so the
// CIDR peers that meet prefix P are P's ancestors (at most one per shorter length: found by
// exact lookup) and the prefixes whose address lies inside P (one contiguous run of the
// peers sorted by address).
#include "verifier/rule_overlap.h"

#include <algorithm>
#include <map>
#include <string>

#include "ir/lint.h"
#include "ir/subject_index.h"
#include "verifier/session.h"

namespace moat::verify {

namespace {

bool transport(Protocol p) { return p == Protocol::TCP || p == Protocol::UDP || p == Protocol::SCTP; }

bool ports_may_overlap(const std::vector<PortMatch>& a, const std::vector<PortMatch>& b) {
  if (a.empty() || b.empty()) return true;
  auto covers = [](Protocol x, Protocol y) {
    return x == y || (x == Protocol::Any && transport(y)) || (y == Protocol::Any && transport(x));
  };
  for (const PortMatch& x : a)
    for (const PortMatch& y : b) {
      if (!covers(x.proto, y.proto)) continue;
      if (!x.name.empty() || !y.name.empty() || (x.lo <= y.hi && y.lo <= x.hi)) return true;
    }
  return false;
}

/// Which endpoint kinds a peer can match: external addresses, cluster endpoints, or both.
bool may_match_external(const Peer& p) {
  switch (p.kind) {
  case Peer::Kind::Any:
  case Peer::Kind::Cidr:
  case Peer::Kind::Fqdn: return true;
  case Peer::Kind::Endpoints:
  case Peer::Kind::Nodes: return false;
  case Peer::Kind::Entity: return p.entity == Entity::World || p.entity == Entity::All;
  }
  return true;
}
bool may_match_cluster(const Peer& p) {
  switch (p.kind) {
  case Peer::Kind::Cidr:
  case Peer::Kind::Fqdn: return false;
  case Peer::Kind::Any:
  case Peer::Kind::Endpoints:
  case Peer::Kind::Nodes: return true;
  case Peer::Kind::Entity: return p.entity != Entity::World;
  }
  return true;
}

/// The rules of one namespace (or the unpinned ones), split by the endpoint kinds their
/// peers can match; CIDR peers indexed by prefix.
struct Bucket {
  std::vector<uint32_t> external, cluster, both;     // peers other than CIDRs
  std::vector<std::pair<IpPrefix, uint32_t>> cidrs;  // sorted by prefix (address, then length)

  void add(const Rule& r) {
    bool ext = may_match_external(r.peer), cl = may_match_cluster(r.peer);
    if (r.peer.kind == Peer::Kind::Cidr) cidrs.emplace_back(r.peer.cidr, r.id);
    else (ext && cl ? both : ext ? external : cluster).push_back(r.id);
  }

  /// Calls visit(id) for the rules here whose peer may meet `r`'s (a superset: the caller
  /// still checks each pair).
  template <typename Visit>
  void each_near(const Rule& r, Visit&& visit) const {
    for (uint32_t id : both) visit(id);
    if (may_match_cluster(r.peer))
      for (uint32_t id : cluster) visit(id);
    if (!may_match_external(r.peer)) return;
    for (uint32_t id : external) visit(id);
    if (r.peer.kind != Peer::Kind::Cidr) {
      for (const auto& e : cidrs) visit(e.second);
      return;
    }
    const IpPrefix& mine = r.peer.cidr;
    auto by_prefix = [](const std::pair<IpPrefix, uint32_t>& e, const IpPrefix& p) { return e.first < p; };
    // Inside (or equal to, or an ancestor sharing the address): a contiguous run.
    for (auto it = std::lower_bound(cidrs.begin(), cidrs.end(), IpPrefix{mine.addr, 0}, by_prefix);
         it != cidrs.end() && mine.contains(it->first.addr); ++it)
      visit(it->second);
    // Ancestors with a smaller address: one exact prefix per shorter length.
    for (unsigned len = 0; len < mine.len; ++len) {
      IpPrefix up = mine;
      up.len = static_cast<uint8_t>(len);
      for (unsigned bit = len; bit < up.addr.bits(); ++bit)
        up.addr.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      if (up.addr == mine.addr) continue;  // already in the run above
      for (auto it = std::lower_bound(cidrs.begin(), cidrs.end(), up, by_prefix); it != cidrs.end() && it->first == up;
           ++it)
        visit(it->second);
    }
  }
};

} // namespace

bool rules_may_overlap(const Rule& a, const Rule& b) {
  return a.dir == b.dir && selectors_may_overlap(a.subject, b.subject) && peers_may_overlap(a.peer, b.peer) &&
         ports_may_overlap(a.ports, b.ports);
}

std::vector<std::vector<uint32_t>> overlapping_rules(const Module& m) {
  std::map<std::string, Bucket> by_ns;
  Bucket anywhere;
  for (const Rule& r : m.rules) {
    const auto* ns = pinned_namespaces(r.subject);
    if (!ns) anywhere.add(r);
    else
      for (const std::string& n : *ns) by_ns[n].add(r);
  }
  for (auto& [n, b] : by_ns) std::sort(b.cidrs.begin(), b.cidrs.end());
  std::sort(anywhere.cidrs.begin(), anywhere.cidrs.end());

  std::vector<std::vector<uint32_t>> out(m.rules.size());
  std::vector<uint32_t> seen_for(m.rules.size(), UINT32_MAX);  // dedup: the rule last visited for
  for (const Rule& r : m.rules) {
    auto visit = [&](uint32_t id) {
      if (id == r.id || seen_for[id] == r.id) return;
      seen_for[id] = r.id;
      if (rules_may_overlap(r, m.rules[id])) out[r.id].push_back(id);
    };
    const auto* ns = pinned_namespaces(r.subject);
    anywhere.each_near(r, visit);
    if (!ns) {
      for (const auto& [n, b] : by_ns) b.each_near(r, visit);
    } else {
      for (const std::string& n : *ns)
        if (auto it = by_ns.find(n); it != by_ns.end()) it->second.each_near(r, visit);
    }
    std::sort(out[r.id].begin(), out[r.id].end());
  }
  return out;
}

} // namespace moat::verify
