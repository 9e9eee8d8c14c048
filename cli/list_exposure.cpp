// Exposure entries (see list_exposure.h): representatives built from rule peers, then one
// Connectivity over the workloads and all representatives at once.
#include "cli/list_exposure.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ir/printer.h"
#include "ir/subject_index.h"

namespace moat::cli {

namespace {

/// A namespace name no cluster can have (not DNS-1123): the representatives' "new namespace".
constexpr const char* kNewNamespace = "<new-namespace>";

/// Labels that satisfy `sel` when it can be satisfied by adding labels: In takes its first
/// value, Exists any value; NotIn and DoesNotExist hold for an absent key.
void satisfy(const LabelSelector& sel, Labels& labels) {
  for (const LabelRequirement& r : sel.reqs) {
    if (r.op == LabelRequirement::Op::In && !r.values.empty())
      labels.emplace(r.key, r.values.front());
    if (r.op == LabelRequirement::Op::Exists) labels.emplace(r.key, "x");
  }
}

/// netpol-analyzer's names for representative peers: "entire-cluster", "ns/[all pods]",
/// "[namespace with {...}]/[pod with {...}]".
std::string describe(const EndpointSelector& s) {
  const auto* pinned = pinned_namespaces(s);
  LabelSelector rest;
  for (const LabelRequirement& r : s.namespaces.reqs)
    if (&r.values != pinned) rest.reqs.push_back(r);
  if (!pinned && rest.empty() && s.pods.empty()) return "entire-cluster";
  std::string ns;
  if (pinned && pinned->size() == 1)
    ns = pinned->front();
  else if (pinned)
    ns = "[namespace in (" + fmt::format("{}", fmt::join(*pinned, ", ")) + ")]";
  if (!rest.empty())
    ns += (ns.empty() ? "" : " ") + std::string("[namespace with ") + print_selector(rest) + "]";
  if (ns.empty()) ns = "[all namespaces]";
  std::string pods = s.pods.empty() ? "[all pods]" : "[pod with " + print_selector(s.pods) + "]";
  return ns + "/" + pods;
}

/// The representative of `s`, or nullopt when adding labels cannot satisfy it.
std::optional<Endpoint> representative(const EndpointSelector& s) {
  Endpoint e;
  e.kind = EndpointKind::Workload;
  const auto* pinned = pinned_namespaces(s);
  e.ns = pinned && !pinned->empty() ? pinned->front() : kNewNamespace;
  e.ns_labels[kNamespaceNameLabel] = e.ns;
  satisfy(s.namespaces, e.ns_labels);
  satisfy(s.pods, e.labels);
  e.name = describe(s);
  if (!endpoint_selector_matches(s, e)) return std::nullopt;
  return e;
}

} // namespace

std::vector<ExposureEntry> exposure_entries(const Module& m,
                                            const std::vector<const Endpoint*>& workloads,
                                            bool egress, bool ingress) {
  // Representatives by name; which workloads' rules named each one in which direction.
  std::map<std::string, Endpoint> reps;
  EndpointSelector everything;
  reps.emplace("entire-cluster", *representative(everything));
  std::vector<std::vector<std::pair<std::string, bool>>> asked(workloads.size());
  // Every tier's peers: an admin Allow (or a baseline one) can expose a workload to
  // namespaces that do not exist yet as much as a NetworkPolicy can.
  const Tier tiers[] = {Tier::Admin, Tier::Policy, Tier::Baseline};
  std::vector<SubjectIndex> index(std::size(tiers));
  for (size_t t = 0; t < std::size(tiers); ++t)
    for (const Rule& r : m.tier_rules(tiers[t]))
      index[t].add(r.subject, r.id);
  for (size_t i = 0; i < workloads.size(); ++i) {
    const Endpoint& w = *workloads[i];
    asked[i].push_back({"entire-cluster", false});
    asked[i].push_back({"entire-cluster", true});
    for (size_t t = 0; t < std::size(tiers); ++t)
      for (uint32_t id : index[t].in_namespace(w.ns)) {
        const Rule& r = m.tier_rules(tiers[t])[id];
        if (r.peer.kind != Peer::Kind::Endpoints || !endpoint_selector_matches(r.subject, w))
          continue;
        auto rep = representative(r.peer.endpoints);
        if (!rep) continue;
        asked[i].push_back({rep->name, r.dir == Direction::Ingress});
        reps.emplace(rep->name, std::move(*rep));
      }
  }
  std::vector<const Endpoint*> ends = workloads;
  std::map<std::string, size_t> rep_index;
  for (const auto& [name, e] : reps)
    rep_index[name] = ends.size(), ends.push_back(&e);
  Connectivity conn(m, ends);
  std::vector<ExposureEntry> out;
  for (size_t i = 0; i < workloads.size(); ++i) {
    auto& a = asked[i];
    std::sort(a.begin(), a.end());
    a.erase(std::unique(a.begin(), a.end()), a.end());
    for (const auto& [name, in] : a) {
      if ((in && !ingress) || (!in && !egress)) continue;
      size_t r = rep_index.at(name);
      ConnSet c = in ? conn.pair(r, i, false).allowed : conn.pair(i, r, false).allowed;
      if (!c.empty()) out.push_back(ExposureEntry{workloads[i]->name, name, in, std::move(c)});
    }
  }
  std::sort(out.begin(), out.end(), [](const ExposureEntry& a, const ExposureEntry& b) {
    return std::tie(a.workload, a.peer) < std::tie(b.workload, b.peer);
  });
  return out;
}

} // namespace moat::cli
