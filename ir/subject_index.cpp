// Subject buckets by pinned namespace (see subject_index.h).
#include "ir/subject_index.h"

#include <algorithm>
#include <string_view>

#include "ir/parallel.h"

namespace moat {

const std::vector<std::string>* pinned_namespaces(const EndpointSelector& s) {
  // A view of known length: most keys differ in length, so no byte is compared (a diff asks
  // this of every subject of two cluster-sized versions).
  constexpr std::string_view name_label = kNamespaceNameLabel;
  for (const LabelRequirement& r : s.namespaces.reqs)
    if (r.op == LabelRequirement::Op::In && std::string_view(r.key) == name_label) return &r.values;
  return nullptr;
}

void SubjectIndex::add(const EndpointSelector& subject, uint32_t id) {
  all_.add(subject, id);
  const auto* ns = pinned_namespaces(subject);
  if (!ns) {
    anywhere_.add(subject, id);
    return;
  }
  for (const std::string& n : *ns) by_ns_[n].add(subject, id);
}

namespace {
void sort_unique(std::vector<uint32_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}
} // namespace

std::vector<uint32_t> SubjectIndex::candidates(const EndpointSelector& s) const {
  const auto* ns = pinned_namespaces(s);
  if (!ns) return all_.candidates(s);
  std::vector<uint32_t> out = anywhere_.candidates(s);
  for (const std::string& n : *ns)
    if (auto it = by_ns_.find(n); it != by_ns_.end()) {
      std::vector<uint32_t> here = it->second.candidates(s);
      out.insert(out.end(), here.begin(), here.end());
    }
  sort_unique(out);
  return out;
}

std::vector<uint32_t> SubjectIndex::candidates(const Endpoint& e) const {
  std::vector<uint32_t> out = anywhere_.candidates(e);
  // The namespace name as the interpreter's matcher reads it: the name label, else ns.
  auto name = e.ns_labels.find(kNamespaceNameLabel);
  if (auto it = by_ns_.find(name != e.ns_labels.end() ? name->second : e.ns); it != by_ns_.end()) {
    std::vector<uint32_t> here = it->second.candidates(e);
    out.insert(out.end(), here.begin(), here.end());
  }
  sort_unique(out);
  return out;
}

std::vector<uint32_t> SubjectIndex::in_namespace(const std::string& ns) const {
  std::vector<uint32_t> out = anywhere_.ids();
  if (auto it = by_ns_.find(ns); it != by_ns_.end()) out.insert(out.end(), it->second.ids().begin(), it->second.ids().end());
  sort_unique(out);
  return out;
}

SubjectIndex isolation_index(const Module& m) {
  SubjectIndex idx;
  for (size_t i = 0; i < m.isolations.size(); ++i) idx.add(m.isolations[i].subject, static_cast<uint32_t>(i));
  return idx;
}

SubjectIndex rule_index(const Module& m) {
  SubjectIndex idx;
  for (const Rule& r : m.rules) idx.add(r.subject, r.id);
  return idx;
}

ModuleIndexes::ModuleIndexes(const Module& m) {
  parallel_for(2, [&](size_t i) {
    if (i == 0) rules = rule_index(m);
    else isolations = isolation_index(m);
  });
}

} // namespace moat
