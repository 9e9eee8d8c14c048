// Per-namespace index of one module, label postings on demand (see version_index.h).
#include "verifier/version_index.h"

#include <algorithm>
#include <set>
#include <string>


namespace moat::verify {

namespace {

void sort_unique(std::vector<uint32_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

template <class T>
std::vector<const EndpointSelector*> subjects_of(const std::vector<T>& items) {
  std::vector<const EndpointSelector*> out;
  out.reserve(items.size());
  for (const T& x : items) out.push_back(&x.subject);
  return out;
}

} // namespace

LazySubjectIndex::LazySubjectIndex(std::vector<const EndpointSelector*> subjects) : subjects_(std::move(subjects)) {
  all_.ids.reserve(subjects_.size());
  // The bucket of the last namespace filed: a policy's items come one after the other and
  // pin the same namespace, so most items are filed without a hash lookup.
  std::string_view last_ns;
  std::vector<uint32_t>* last_ids = nullptr;
  for (uint32_t id = 0; id < subjects_.size(); ++id) {
    all_.ids.push_back(id);
    const auto* ns = pinned_namespaces(*subjects_[id]);
    if (!ns) {
      anywhere_.ids.push_back(id);
      continue;
    }
    // A subject pinning one namespace twice files its id once (as SubjectIndex's postings do).
    for (const std::string& n : *ns) {
      if (!last_ids || n != last_ns) {
        last_ids = &by_ns_[n].ids;  // unordered_map: the vector stays where it is
        last_ns = n;
      }
      std::vector<uint32_t>& ids = *last_ids;
      if (ids.empty() || ids.back() != id) ids.push_back(id);
    }
  }
}

const LabelIndex& LazySubjectIndex::labels(const Bucket& b) const {
  if (!b.labels) {
    b.labels = std::make_unique<LabelIndex>();
    for (uint32_t id : b.ids) b.labels->add(*subjects_[id], id);
  }
  return *b.labels;
}

std::vector<uint32_t> LazySubjectIndex::candidates(const EndpointSelector& s) const {
  const auto* ns = pinned_namespaces(s);
  if (!ns) return labels(all_).candidates(s);
  std::vector<uint32_t> out = labels(anywhere_).candidates(s);
  for (const std::string& n : *ns)
    if (auto it = by_ns_.find(n); it != by_ns_.end()) {
      std::vector<uint32_t> here = labels(it->second).candidates(s);
      out.insert(out.end(), here.begin(), here.end());
    }
  sort_unique(out);
  return out;
}

std::vector<uint32_t> LazySubjectIndex::in_namespace(std::string_view ns) const {
  std::vector<uint32_t> out = anywhere_.ids;
  if (auto it = by_ns_.find(ns); it != by_ns_.end()) out.insert(out.end(), it->second.ids.begin(), it->second.ids.end());
  sort_unique(out);
  return out;
}

VersionIndex::VersionIndex(const Module& module)
    : m(module), rules(subjects_of(module.rules)), isolations(subjects_of(module.isolations)) {}

namespace {
/// The candidates of each selector, through the distinct namespaces they pin (a thousand
/// peers of one namespace read its bucket once).
std::vector<uint32_t> union_of(const LazySubjectIndex& idx, const std::vector<const EndpointSelector*>& sels) {
  std::set<std::string_view> namespaces;
  for (const EndpointSelector* s : sels) {
    const auto* ns = pinned_namespaces(*s);
    if (!ns) return idx.candidates(*s);  // every item
    namespaces.insert(ns->begin(), ns->end());
  }
  if (namespaces.size() == 1) return idx.in_namespace(*namespaces.begin());
  std::vector<uint32_t> out;
  for (std::string_view n : namespaces) {
    std::vector<uint32_t> c = idx.in_namespace(n);
    out.insert(out.end(), c.begin(), c.end());
  }
  sort_unique(out);
  return out;
}

} // namespace

std::vector<uint32_t> VersionIndex::rule_candidates(const std::vector<const EndpointSelector*>& sels) const {
  return union_of(rules, sels);
}

std::vector<uint32_t> VersionIndex::isolation_candidates(const std::vector<const EndpointSelector*>& sels) const {
  return union_of(isolations, sels);
}

Verdict VersionIndex::evaluate(const Flow& flow) const {
  // Candidates must hold every rule and isolation whose subject selects the local end
  // (ir/interp.h): those pin the end's namespace or pin none. Non-workloads have no policy.
  auto at = [&](const Endpoint& e, std::vector<uint32_t>& r, std::vector<uint32_t>& i) {
    if (e.kind != EndpointKind::Workload) return Candidates{&r, &i};
    r = rules.in_namespace(e.ns);
    i = isolations.in_namespace(e.ns);
    return Candidates{&r, &i};
  };
  std::vector<uint32_t> er, ei, ir, ii;
  Candidates egress = at(*flow.src, er, ei), ingress = at(*flow.dst, ir, ii);
  return evaluate_among(m, flow, egress, ingress);
}

} // namespace moat::verify
