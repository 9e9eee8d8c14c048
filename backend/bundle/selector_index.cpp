// WorkloadIndex and SubjectIndex: candidate sets by namespace name and namespace labels.
#include "backend/bundle/selector_index.h"

#include <algorithm>

#include "ir/interp.h"

namespace moat::bundle {

namespace {

/// The namespace names `s` requires (its first `name In [...]` requirement), or null when
/// it accepts namespaces of any name.
const std::vector<std::string>* required_names(const EndpointSelector& s) {
  for (const LabelRequirement& r : s.namespaces.reqs)
    if (r.key == kNamespaceNameLabel && r.op == LabelRequirement::Op::In) return &r.values;
  return nullptr;
}

/// Each value once (In lists are sorted, but a hand-made manifest may repeat one).
template <typename F>
void for_each_name(const std::vector<std::string>& names, F&& f) {
  for (size_t i = 0; i < names.size(); ++i)
    if (i == 0 || names[i] != names[i - 1]) f(names[i]);
}

} // namespace

const std::string& effective_namespace_name(const Endpoint& e) {
  auto it = e.ns_labels.find(kNamespaceNameLabel);
  return it != e.ns_labels.end() ? it->second : e.ns;
}

void WorkloadIndex::add(size_t item, const Endpoint& e) {
  if (e.kind != EndpointKind::Workload) return;
  // The labels endpoint_selector_matches sees: it adds the name label an endpoint lacks.
  const Labels* labels = &e.ns_labels;
  Labels completed;
  if (!e.ns.empty() && !e.ns_labels.count(kNamespaceNameLabel)) {
    completed = e.ns_labels;
    completed.emplace(kNamespaceNameLabel, e.ns);
    labels = &completed;
  }
  std::vector<size_t>& named = by_name_[effective_namespace_name(e)];
  auto same = std::find_if(named.begin(), named.end(), [&](size_t g) { return *groups_[g].ns_labels == *labels; });
  size_t g = same != named.end() ? *same : groups_.size();
  if (g == groups_.size()) {
    if (labels == &completed) labels = &completed_.emplace_back(std::move(completed));
    named.push_back(g);
    groups_.push_back({labels, {}});
  }
  groups_[g].items.push_back(item);
}

std::vector<size_t> WorkloadIndex::candidates(const EndpointSelector& s) const {
  std::vector<size_t> out;
  auto take = [&](size_t g) {
    const Group& group = groups_[g];
    if (label_selector_matches(s.namespaces, *group.ns_labels))
      out.insert(out.end(), group.items.begin(), group.items.end());
  };
  if (const std::vector<std::string>* names = required_names(s)) {
    for_each_name(*names, [&](const std::string& n) {
      if (auto it = by_name_.find(n); it != by_name_.end())
        for (size_t g : it->second) take(g);
    });
  } else {
    for (size_t g = 0; g < groups_.size(); ++g) take(g);
  }
  return out;
}

SubjectIndex::SubjectIndex(const std::vector<const Endpoint*>& workloads) {
  for (const Endpoint* e : workloads) by_name_[effective_namespace_name(*e)];
}

void SubjectIndex::add(size_t item, const EndpointSelector& s) {
  const std::vector<std::string>* names = required_names(s);
  if (!names) {
    any_namespace_.push_back(item);
    return;
  }
  for_each_name(*names, [&](const std::string& n) {
    if (auto it = by_name_.find(n); it != by_name_.end()) it->second.push_back(item);
  });
}

std::vector<size_t> SubjectIndex::candidates(const Endpoint& e) const {
  if (e.kind != EndpointKind::Workload) return {};
  auto it = by_name_.find(effective_namespace_name(e));
  if (it == by_name_.end()) return any_namespace_;
  std::vector<size_t> out;
  out.reserve(it->second.size() + any_namespace_.size());
  std::merge(it->second.begin(), it->second.end(), any_namespace_.begin(), any_namespace_.end(),
             std::back_inserter(out));
  return out;
}

} // namespace moat::bundle
