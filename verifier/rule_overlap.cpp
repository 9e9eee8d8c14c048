// Rule overlap candidates (see rule_overlap.h). Labels: two selectors that pin one key to
// disjoint values cannot overlap (ir/label_index.h). Prefixes either nest or are disjoint, so the
// CIDR peers that meet prefix P are P's ancestors (at most one per shorter length: found by
// exact lookup) and the prefixes whose address lies inside P (one contiguous run of the
// peers sorted by address).
#include "verifier/rule_overlap.h"

#include <algorithm>
#include <map>
#include <string>

#include "ir/label_index.h"
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
  case Peer::Kind::Cidr: return p.cidr_any_address;  // networks, ipBlocks under calico
  case Peer::Kind::Fqdn: return false;
  case Peer::Kind::Any:
  case Peer::Kind::Endpoints:
  case Peer::Kind::Nodes: return true;
  case Peer::Kind::Entity: return p.entity != Entity::World;
  }
  return true;
}

/// The rules of one namespace (or the unpinned ones), split by the endpoint kinds their
/// peers can match; CIDR peers indexed by prefix, workload-selector peers and every rule's
/// subject by the label values they pin.
struct Bucket {
  std::vector<uint32_t> external, cluster, both;     // other peers (cluster: any-address CIDRs too)
  LabelIndex selector_peers;                         // peers that select workloads
  LabelIndex subjects;                               // every rule here
  std::vector<std::pair<IpPrefix, uint32_t>> cidrs;  // sorted by prefix (address, then length)

  void add(const Rule& r) {
    subjects.add(r.subject, r.id);
    bool ext = may_match_external(r.peer), cl = may_match_cluster(r.peer);
    if (r.peer.kind == Peer::Kind::Cidr) {
      cidrs.emplace_back(r.peer.cidr, r.id);
      // It matches pods and nodes too: rules whose peers select them must meet it.
      if (cl) cluster.push_back(r.id);
    } else if (r.peer.kind == Peer::Kind::Endpoints) selector_peers.add(r.peer.endpoints, r.id);
    else (ext && cl ? both : ext ? external : cluster).push_back(r.id);
  }

  /// Calls visit(id) for the rules here whose subject and peer may meet `r`'s (a superset:
  /// the caller still checks each pair), through whichever side narrows them more: the
  /// subject's labels (many rules, each for its own app) or the peer's kind, labels or
  /// prefix (many rules for one app, each from its own peer).
  template <typename Visit>
  void each_near(const Rule& r, Visit&& visit) const {
    bool to_cluster = may_match_cluster(r.peer), to_external = may_match_external(r.peer);
    const EndpointSelector* peer_sel = r.peer.kind == Peer::Kind::Endpoints ? &r.peer.endpoints : nullptr;
    std::vector<uint32_t> near_cidrs;
    if (to_external && r.peer.kind == Peer::Kind::Cidr) nesting(r.peer.cidr, near_cidrs);
    size_t by_peer = both.size() +
                     (to_cluster ? cluster.size() + (peer_sel ? selector_peers.estimate(*peer_sel)
                                                              : selector_peers.ids().size())
                                 : 0) +
                     (to_external ? external.size() + (r.peer.kind == Peer::Kind::Cidr ? near_cidrs.size() : cidrs.size())
                                  : 0);
    if (subjects.estimate(r.subject) < by_peer) {
      for (uint32_t id : subjects.candidates(r.subject)) visit(id);
      return;
    }
    for (uint32_t id : both) visit(id);
    if (to_cluster) {
      for (uint32_t id : cluster) visit(id);
      for (uint32_t id : peer_sel ? selector_peers.candidates(*peer_sel) : selector_peers.ids()) visit(id);
    }
    if (!to_external) return;
    for (uint32_t id : external) visit(id);
    if (r.peer.kind == Peer::Kind::Cidr)
      for (uint32_t id : near_cidrs) visit(id);
    else
      for (const auto& e : cidrs) visit(e.second);
  }

  /// The CIDR peers here that nest with `mine` (inside it, equal, or around it).
  void nesting(const IpPrefix& mine, std::vector<uint32_t>& out) const {
    auto by_prefix = [](const std::pair<IpPrefix, uint32_t>& e, const IpPrefix& p) { return e.first < p; };
    // Inside (or equal to, or an ancestor sharing the address): a contiguous run.
    for (auto it = std::lower_bound(cidrs.begin(), cidrs.end(), IpPrefix{mine.addr, 0}, by_prefix);
         it != cidrs.end() && mine.contains(it->first.addr); ++it)
      out.push_back(it->second);
    // Ancestors with a smaller address: one exact prefix per shorter length.
    for (unsigned len = 0; len < mine.len; ++len) {
      IpPrefix up = mine;
      up.len = static_cast<uint8_t>(len);
      for (unsigned bit = len; bit < up.addr.bits(); ++bit)
        up.addr.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      if (up.addr == mine.addr) continue;  // already in the run above
      for (auto it = std::lower_bound(cidrs.begin(), cidrs.end(), up, by_prefix); it != cidrs.end() && it->first == up;
           ++it)
        out.push_back(it->second);
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
