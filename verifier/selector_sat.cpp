// Selector satisfiability by enumeration of the values that matter (see selector_sat.h).
#include "verifier/selector_sat.h"

#include <algorithm>
#include <map>
#include <set>

#include "ir/interp.h"

namespace moat::verify {

namespace {

using Op = LabelRequirement::Op;

/// Does one key's value (nullptr: absent) satisfy every requirement on that key?
bool key_ok(const std::vector<const LabelRequirement*>& reqs, const std::string* value) {
  for (const LabelRequirement* r : reqs) {
    bool listed = value && std::find(r->values.begin(), r->values.end(), *value) != r->values.end();
    switch (r->op) {
    case Op::In: if (!listed) return false; break;
    case Op::NotIn: if (listed) return false; break;
    case Op::Exists: if (!value) return false; break;
    case Op::DoesNotExist: if (value) return false; break;
    }
  }
  return true;
}

/// Some value of `key` (absent, a mentioned one, or one nobody mentions) satisfies `reqs`.
bool key_satisfiable(const std::vector<const LabelRequirement*>& reqs) {
  std::set<std::string> values;
  for (const LabelRequirement* r : reqs) values.insert(r->values.begin(), r->values.end());
  std::string fresh = "\x01unmentioned";
  if (key_ok(reqs, nullptr)) return true;
  if (key_ok(reqs, &fresh)) return true;
  return std::any_of(values.begin(), values.end(), [&](const std::string& v) { return key_ok(reqs, &v); });
}

/// Requirements grouped by key, optionally leaving one key out.
std::map<std::string, std::vector<const LabelRequirement*>> by_key(const LabelSelector& s, const char* skip = nullptr) {
  std::map<std::string, std::vector<const LabelRequirement*>> out;
  for (const LabelRequirement& r : s.reqs)
    if (!skip || r.key != skip) out[r.key].push_back(&r);
  return out;
}

} // namespace

EndpointSelector conjoin(const EndpointSelector& a, const EndpointSelector& b) {
  EndpointSelector out = a;
  out.namespaces.reqs.insert(out.namespaces.reqs.end(), b.namespaces.reqs.begin(), b.namespaces.reqs.end());
  out.pods.reqs.insert(out.pods.reqs.end(), b.pods.reqs.begin(), b.pods.reqs.end());
  return out;
}

bool selector_satisfiable(const EndpointSelector& s, const Domain& d) {
  for (const auto& [key, reqs] : by_key(s.pods))
    if (!key_satisfiable(reqs)) return false;
  std::vector<const LabelRequirement*> name_reqs;
  for (const LabelRequirement& r : s.namespaces.reqs)
    if (r.key == kNamespaceNameLabel) name_reqs.push_back(&r);
  // A declared namespace: its labels are fixed.
  for (const auto& [name, labels] : d.namespaces)
    if (label_selector_matches(s.namespaces, labels)) return true;
  // Any other namespace: a name the declarations do not take, any labels.
  auto others = by_key(s.namespaces, kNamespaceNameLabel);
  for (const auto& [key, reqs] : others)
    if (!key_satisfiable(reqs)) return false;
  std::set<std::string> candidates = {"\x01fresh"};
  for (const LabelRequirement* r : name_reqs) candidates.insert(r->values.begin(), r->values.end());
  return std::any_of(candidates.begin(), candidates.end(), [&](const std::string& n) {
    return !d.namespaces.count(n) && key_ok(name_reqs, &n);
  });
}

} // namespace moat::verify
