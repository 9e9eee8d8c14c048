// Indexes that narrow, without deciding, which workloads an endpoint selector can match
// and which selectors can match a workload, so that computing one node's maps does not
// test every rule against every identity (a cluster has 10^5 of each). Both narrow by the
// namespace: almost every Kubernetes selector requires `kubernetes.io/metadata.name In
// [...]` (a NetworkPolicy's own namespace, a pod-only peer), and the rest are tested
// once per namespace label set instead of once per workload. They only leave out what
// cannot match; the caller still asks the interpreter's endpoint_selector_matches.
#pragma once
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/ir.h"

namespace moat::bundle {

/// The value of the namespace-name label as endpoint_selector_matches sees it: the
/// namespace labels' own, else the endpoint's namespace; "" when it has neither.
const std::string& effective_namespace_name(const Endpoint& e);

/// Workload items (any numbering the caller chooses), grouped by namespace labels.
class WorkloadIndex {
public:
  /// Adds a workload endpoint (others are ignored); `e` must outlive the index.
  void add(size_t item, const Endpoint& e);
  /// Every item `s` may match (a superset of the matches), in no particular order.
  std::vector<size_t> candidates(const EndpointSelector& s) const;

private:
  struct Group {
    const Labels* ns_labels;  // as endpoint_selector_matches sees them (name label included):
                              // an endpoint's own, or one in completed_
    std::vector<size_t> items;
  };
  std::vector<Group> groups_;
  std::deque<Labels> completed_;  // label sets of endpoints that lack the name label
  // namespace name (viewed in the endpoints) -> groups (one, unless labels differ)
  std::unordered_map<std::string_view, std::vector<size_t>> by_name_;
};

/// Selectors (rule or isolation subjects, numbered by the caller) by the namespace names
/// they require, for workloads of a few namespaces only (one node's): a selector that
/// requires other namespaces is dropped as it is added, without being stored.
class SubjectIndex {
public:
  /// `workloads`: the only endpoints candidates() will be asked about (they must outlive
  /// the index).
  explicit SubjectIndex(const std::vector<const Endpoint*>& workloads);
  /// Items must be added in ascending order.
  void add(size_t item, const EndpointSelector& s);
  /// Every item whose selector may match the workload `e`, ascending.
  std::vector<size_t> candidates(const Endpoint& e) const;

private:
  std::unordered_map<std::string_view, std::vector<size_t>> by_name_;  // the workloads' namespaces
  std::vector<size_t> any_namespace_;
};

} // namespace moat::bundle
