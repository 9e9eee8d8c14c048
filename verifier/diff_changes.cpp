// Structural multiset difference of two versions' rules and isolations (see diff_changes.h).
#include "verifier/diff_changes.h"

#include <cstdint>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace moat::verify {

namespace {

/// Order-sensitive hash of the fields that make up an item's meaning.
struct Hasher {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(uint64_t v) { h = (h ^ v) * 0x100000001b3ull + (h >> 29); }
  void add(std::string_view s) { add(std::hash<std::string_view>{}(s)); }
  void add(const LabelSelector& s) {
    add(s.reqs.size());
    for (const LabelRequirement& r : s.reqs) {
      add(r.key);
      add(static_cast<uint64_t>(r.op));
      add(r.values.size());
      for (const std::string& v : r.values) add(v);
    }
  }
  void add(const EndpointSelector& s) {
    add(s.namespaces);
    add(s.pods);
  }
  void add(const IpPrefix& p) {
    add(p.len);
    add(std::string_view(reinterpret_cast<const char*>(p.addr.bytes.data()), p.addr.bytes.size()));
    add(p.addr.v6);
  }
  void add(const Peer& p) {
    add(static_cast<uint64_t>(p.kind));
    switch (p.kind) {
    case Peer::Kind::Any: break;
    case Peer::Kind::Endpoints: add(p.endpoints); break;
    case Peer::Kind::Cidr:
      add(p.cidr);
      add(p.except.size());
      for (const IpPrefix& e : p.except) add(e);
      add(p.cidr_any_address);
      break;
    case Peer::Kind::Entity: add(static_cast<uint64_t>(p.entity)); break;
    case Peer::Kind::Fqdn:
      add(p.fqdn.pattern);
      add(p.fqdn.value);
      break;
    case Peer::Kind::Nodes: add(p.nodes); break;
    }
  }
};

bool same(const LabelSelector& a, const LabelSelector& b) {
  if (a.reqs.size() != b.reqs.size()) return false;
  for (size_t i = 0; i < a.reqs.size(); ++i) {
    const LabelRequirement &x = a.reqs[i], &y = b.reqs[i];
    if (x.key != y.key || x.op != y.op || x.values != y.values) return false;
  }
  return true;
}

bool same(const EndpointSelector& a, const EndpointSelector& b) {
  return same(a.namespaces, b.namespaces) && same(a.pods, b.pods);
}

bool same(const Peer& a, const Peer& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
  case Peer::Kind::Any: return true;
  case Peer::Kind::Endpoints: return same(a.endpoints, b.endpoints);
  case Peer::Kind::Cidr: return a.cidr == b.cidr && a.except == b.except && a.cidr_any_address == b.cidr_any_address;
  case Peer::Kind::Entity: return a.entity == b.entity;
  case Peer::Kind::Fqdn: return a.fqdn.pattern == b.fqdn.pattern && a.fqdn.value == b.fqdn.value;
  case Peer::Kind::Nodes: return same(a.nodes, b.nodes);
  }
  return false;
}

bool same_ports(const std::vector<PortMatch>& a, const std::vector<PortMatch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].proto != b[i].proto || a[i].name != b[i].name ||
        (a[i].name.empty() && (a[i].lo != b[i].lo || a[i].hi != b[i].hi)))
      return false;
  return true;
}

/// Admin and baseline rules are first-match: their place in the tier is part of what they
/// mean, so a rule that moved counts as changed.
bool placed(const Rule& r) { return r.tier != Tier::Policy; }

uint64_t hash_of(const Rule& r) {
  Hasher h;
  h.add(static_cast<uint64_t>(r.dir));
  h.add(static_cast<uint64_t>(r.action));
  h.add(r.subject);
  h.add(r.peer);
  h.add(r.ports.size());
  for (const PortMatch& p : r.ports) {
    h.add(static_cast<uint64_t>(p.proto));
    if (p.name.empty()) h.add((uint64_t{p.lo} << 16) | p.hi);
    else h.add(p.name);
  }
  if (placed(r)) {
    h.add(static_cast<uint64_t>(r.tier));
    h.add(r.id);
    h.add(static_cast<uint64_t>(static_cast<int64_t>(r.priority)));
  }
  return h.h;
}

bool same(const Rule& a, const Rule& b) {
  if (a.dir != b.dir || a.action != b.action || !same(a.subject, b.subject) || !same(a.peer, b.peer) ||
      !same_ports(a.ports, b.ports))
    return false;
  return !placed(a) || (a.tier == b.tier && a.id == b.id && a.priority == b.priority);
}

uint64_t hash_of(const Isolation& i) {
  Hasher h;
  h.add(static_cast<uint64_t>(i.dir));
  h.add(i.subject);
  return h.h;
}

bool same(const Isolation& a, const Isolation& b) { return a.dir == b.dir && same(a.subject, b.subject); }

/// Appends the items of a[lo, a_hi) that b[lo, b_hi) lacks (counting repeats), in order.
template <class T>
void only_in(const std::vector<T>& a, size_t a_hi, const std::vector<T>& b, size_t b_hi, size_t lo,
             std::vector<const T*>& out) {
  std::unordered_map<uint64_t, std::vector<std::pair<const T*, long>>> count;
  count.reserve(b_hi - lo);
  for (size_t i = lo; i < b_hi; ++i) {
    const T& x = b[i];
    auto& bucket = count[hash_of(x)];
    bool found = false;
    for (auto& [y, n] : bucket)
      if (same(*y, x)) {
        ++n;
        found = true;
        break;
      }
    if (!found) bucket.emplace_back(&x, 1);
  }
  for (size_t i = lo; i < a_hi; ++i) {
    const T& x = a[i];
    bool matched = false;
    if (auto it = count.find(hash_of(x)); it != count.end())
      for (auto& [y, n] : it->second)
        if (n > 0 && same(*y, x)) {
          --n;
          matched = true;
          break;
        }
    if (!matched) out.push_back(&x);
  }
}

/// Old-only items, then new-only items. Two versions loaded from mostly the same files
/// agree item for item up to the first change and after the last one: those pairs cancel
/// in a multiset difference, so only the middle is hashed.
template <class T>
void both_ways(const std::vector<T>& old_v, const std::vector<T>& new_v, std::vector<const T*>& out) {
  size_t lo = 0, old_hi = old_v.size(), new_hi = new_v.size();
  while (lo < old_hi && lo < new_hi && same(old_v[lo], new_v[lo])) ++lo;
  while (old_hi > lo && new_hi > lo && same(old_v[old_hi - 1], new_v[new_hi - 1])) --old_hi, --new_hi;
  only_in(old_v, old_hi, new_v, new_hi, lo, out);
  only_in(new_v, new_hi, old_v, old_hi, lo, out);
}

} // namespace

void add_changed(DomainBuilder& b, const ChangedItems& changed) {
  for (const Rule* r : changed.rules) b.add(*r);
  for (const Isolation* i : changed.isolations) b.add(*i);
}

std::vector<const Rule*> changed_rules(const Module& old_m, const Module& new_m) {
  std::vector<const Rule*> out;
  both_ways(old_m.rules, new_m.rules, out);
  both_ways(old_m.admin_rules, new_m.admin_rules, out);
  both_ways(old_m.baseline_rules, new_m.baseline_rules, out);
  return out;
}

std::vector<const Isolation*> changed_isolations(const Module& old_m, const Module& new_m) {
  std::vector<const Isolation*> out;
  both_ways(old_m.isolations, new_m.isolations, out);
  return out;
}

} // namespace moat::verify
