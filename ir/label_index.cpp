// Label postings (see label_index.h). Two selectors that pin one key to disjoint value sets
// cannot overlap (ir/lint.h selectors_may_overlap says the same), so the items that may
// overlap S are, for any key S pins: the items filed under S's values, plus the items that
// pin nothing on that key. The key with the fewest such items answers.
#include "ir/label_index.h"

#include <algorithm>
#include <iterator>

namespace moat {

namespace {
/// The namespace name is left out: every caller already files items by the namespaces they
/// pin (ir/subject_index.h, verifier/rule_overlap.cpp), so inside one of its buckets the
/// name tells no item apart.
bool is_namespace_name(char side, const LabelRequirement& r) { return side == 'n' && r.key == kNamespaceNameLabel; }

/// Appends `id` unless it is already the last entry (an item pins a key or value once).
void append_once(std::vector<uint32_t>& v, uint32_t id) {
  if (v.empty() || v.back() != id) v.push_back(id);
}
} // namespace

void LabelIndex::file(const LabelSelector& s, char side, uint32_t id) {
  for (const LabelRequirement& r : s.reqs) {
    if (r.op != LabelRequirement::Op::In || is_namespace_name(side, r)) continue;
    Postings& p = keys_[side + r.key];
    append_once(p.with, id);
    for (const std::string& v : r.values) append_once(p.by_value[v], id);
  }
}

void LabelIndex::add(const EndpointSelector& s, uint32_t id) {
  ids_.push_back(id);
  file(s.namespaces, 'n', id);
  file(s.pods, 'p', id);
}

LabelIndex::Choice LabelIndex::best(const EndpointSelector& s) const {
  Choice out;
  out.cost = ids_.size();
  auto consider = [&](const LabelSelector& sel, char side) {
    for (const LabelRequirement& r : sel.reqs) {
      if (r.op != LabelRequirement::Op::In) continue;
      auto it = keys_.find(side + r.key);
      if (it == keys_.end()) continue;  // no item pins the key: every item is a candidate
      const Postings& p = it->second;
      size_t cost = ids_.size() - p.with.size();
      for (const std::string& v : r.values)
        if (auto hit = p.by_value.find(v); hit != p.by_value.end()) cost += hit->second.size();
      if (cost < out.cost) out = Choice{&p, &r.values, cost};
    }
  };
  consider(s.namespaces, 'n');
  consider(s.pods, 'p');
  // Less than halving the items is not worth a posting walk; it also keeps the lists of
  // items without the key (built on first use) to keys that most items pin.
  if (out.cost * 2 > ids_.size()) return Choice{nullptr, nullptr, ids_.size()};
  return out;
}

std::vector<uint32_t> LabelIndex::candidates(const EndpointSelector& s) const {
  Choice c = best(s);
  if (!c.key) return ids_;
  const Postings& p = *c.key;
  if (p.without_for != ids_.size()) {
    p.without.clear();
    std::set_difference(ids_.begin(), ids_.end(), p.with.begin(), p.with.end(), std::back_inserter(p.without));
    p.without_for = ids_.size();
  }
  std::vector<uint32_t> out = p.without;
  for (const std::string& v : *c.values)
    if (auto hit = p.by_value.find(v); hit != p.by_value.end()) out.insert(out.end(), hit->second.begin(), hit->second.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint32_t> LabelIndex::candidates(const Endpoint& e) const {
  // A selector pinning each of e's labels to its value: an item that pins one of those keys
  // to other values cannot select e.
  EndpointSelector only_e;
  for (const auto& [k, v] : e.ns_labels) only_e.namespaces.reqs.push_back({k, LabelRequirement::Op::In, {v}, {}});
  for (const auto& [k, v] : e.labels) only_e.pods.reqs.push_back({k, LabelRequirement::Op::In, {v}, {}});
  return candidates(only_e);
}

} // namespace moat
