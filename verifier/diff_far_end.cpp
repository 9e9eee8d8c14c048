// The far end of a diff region (see diff_far_end.h).
#include "verifier/diff_far_end.h"

#include <algorithm>
#include <unordered_set>

#include "ir/lint.h"
#include "ir/printer.h"

namespace moat::verify {

namespace {

using Op = LabelRequirement::Op;

bool subset(const std::vector<std::string>& small, const std::vector<std::string>& big) {
  return std::includes(big.begin(), big.end(), small.begin(), small.end());
}

bool disjoint(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const std::string& x : a)
    if (std::binary_search(b.begin(), b.end(), x)) return false;
  return true;
}

/// Does every label set satisfying `b` satisfy `a` (same key)? Values are sorted (ir.h).
bool implies(const LabelRequirement& b, const LabelRequirement& a) {
  switch (a.op) {
  case Op::In: return b.op == Op::In && subset(b.values, a.values);
  case Op::Exists: return b.op == Op::In || b.op == Op::Exists;
  case Op::DoesNotExist: return b.op == Op::DoesNotExist || (b.op == Op::In && b.values.empty());
  case Op::NotIn:
    return b.op == Op::DoesNotExist || (b.op == Op::In && disjoint(b.values, a.values)) ||
           (b.op == Op::NotIn && subset(a.values, b.values));
  }
  return false;
}

bool labels_cover(const LabelSelector& a, const LabelSelector& b) {
  for (const LabelRequirement& ra : a.reqs) {
    bool follows = false;
    for (const LabelRequirement& rb : b.reqs)
      if (rb.key == ra.key && implies(rb, ra)) {
        follows = true;
        break;
      }
    if (!follows) return false;
  }
  return true;
}

} // namespace

bool external_only(const Peer& p) {
  return (p.kind == Peer::Kind::Cidr && !p.cidr_any_address) || p.kind == Peer::Kind::Fqdn || p.kind == Peer::Kind::Nodes ||
         (p.kind == Peer::Kind::Entity && p.entity != Entity::All && p.entity != Entity::Cluster);
}

bool selector_covers(const EndpointSelector& a, const EndpointSelector& b) {
  return labels_cover(a.namespaces, b.namespaces) && labels_cover(a.pods, b.pods);
}

FarEnd far_end(const VersionIndex& v, Direction dir, const EndpointSelector& local) {
  FarEnd out;
  // Certainly isolated: then the version allows a flow of the region only through an allow
  // rule that matches it (ir/interp.cpp decide: the baseline tier is not consulted for an
  // isolated endpoint; an admin Allow decides first).
  bool isolated = false;
  for (uint32_t i : v.isolations.candidates(local)) {
    const Isolation& iso = v.m.isolations[i];
    if (iso.dir == dir && selector_covers(iso.subject, local)) {
      isolated = true;
      break;
    }
  }
  if (!isolated) return out;
  std::unordered_set<std::string> seen;  // a peer many rules share is one alternative
  auto add = [&](const Rule& r) {
    if (r.dir != dir || r.action != Action::Allow || !selectors_may_overlap(r.subject, local)) return true;
    if (r.peer.kind != Peer::Kind::Endpoints && !external_only(r.peer)) return false;
    if (seen.insert(print_peer(r.peer)).second) out.peers.push_back(&r.peer);
    return true;
  };
  for (const Rule& r : v.m.admin_rules)
    if (!add(r)) return out;
  for (uint32_t i : v.rules.candidates(local))
    if (!add(v.m.rules[i])) return out;
  out.free = false;
  return out;
}

void SelectorSet::add(const EndpointSelector& s) {
  all_.push_back(&s);
  const auto* ns = pinned_namespaces(s);
  if (!ns) {
    anywhere_.push_back(&s);
    return;
  }
  for (const std::string& n : *ns) by_ns_[n].push_back(&s);
}

bool SelectorSet::may_overlap(const EndpointSelector& subject) const {
  auto any = [&](const std::vector<const EndpointSelector*>& v) {
    for (const EndpointSelector* s : v)
      if (selectors_may_overlap(*s, subject)) return true;
    return false;
  };
  const auto* ns = pinned_namespaces(subject);
  if (!ns) return any(all_);
  if (any(anywhere_)) return true;
  for (const std::string& n : *ns)
    if (auto it = by_ns_.find(n); it != by_ns_.end() && any(it->second)) return true;
  return false;
}

} // namespace moat::verify
