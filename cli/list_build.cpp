// build_conn_list and listed_workloads (see list_build.h).
#include "cli/list_build.h"

#include <algorithm>
#include <map>

#include "ir/address_ranges.h"

namespace moat::cli {

std::vector<const Endpoint*> listed_workloads(const Module& m, const CasesFile* inv) {
  std::map<std::string, const Endpoint*> by_name;
  if (inv)
    for (const Endpoint& e : inv->endpoints)
      if (e.kind == EndpointKind::Workload) by_name.emplace(e.name, &e);
  for (const Endpoint& e : m.cluster_workloads)
    by_name.emplace(e.name, &e);
  std::vector<const Endpoint*> out;
  for (const auto& [name, e] : by_name)
    out.push_back(e);
  return out;
}

namespace {

/// External endpoints standing for each range: the range's first address stands for all
/// of it (ir/address_ranges.h).
std::vector<Endpoint> range_endpoints(const std::vector<AddressRange>& ranges) {
  std::vector<Endpoint> out;
  for (const AddressRange& r : ranges) {
    Endpoint e;
    e.kind = EndpointKind::External;
    e.name = r.str() + "[External]";
    e.ips = {r.first};
    out.push_back(std::move(e));
  }
  return out;
}

} // namespace

ConnList build_conn_list(const Module& m, const std::vector<const Endpoint*>& workloads,
                         const ListScope& scope) {
  std::vector<Endpoint> sources =
      range_endpoints(distinguished_ranges(m, Direction::Ingress, scope.ipv6));
  std::vector<Endpoint> destinations =
      range_endpoints(distinguished_ranges(m, Direction::Egress, scope.ipv6));
  std::vector<const Endpoint*> ends = workloads;
  size_t first_source = ends.size();
  for (const Endpoint& e : sources)
    ends.push_back(&e);
  size_t first_destination = ends.size();
  for (const Endpoint& e : destinations)
    ends.push_back(&e);
  Connectivity conn(m, ends);

  ConnList l;
  for (const Endpoint* e : ends) {
    ListNode n;
    n.name = e->name;
    n.external = e->kind != EndpointKind::Workload;
    n.ns = e->ns;
    n.label = n.external ? e->name : e->name.substr(e->name.find('/') + 1);
    l.nodes.push_back(std::move(n));
  }
  auto wanted = [&](size_t s, size_t d) {
    if (scope.focused.empty()) return true;
    return (scope.egress && scope.focused.count(s)) || (scope.ingress && scope.focused.count(d));
  };
  auto add = [&](size_t s, size_t d) {
    if (!wanted(s, d)) return;
    PairConnectivity p = conn.pair(s, d, scope.explain);
    if (p.allowed.empty() && !scope.explain) return;
    l.entries.push_back(ListEntry{s, d, std::move(p.allowed), std::move(p.segments)});
  };
  // Workloads to workloads (never to themselves: that is always allowed), ranges to
  // workloads, workloads to ranges: sorted by source, then destination name.
  auto row = [&](size_t s) {  // every pair leaving workload s
    for (size_t d = 0; d < first_source; ++d)
      if (s != d) add(s, d);
    for (size_t d = first_destination; d < ends.size(); ++d)
      add(s, d);
  };
  auto column = [&](size_t d, bool skip_focused_rows) {  // every pair reaching workload d
    for (size_t s = 0; s < first_destination; ++s)
      if (s != d && !(skip_focused_rows && scope.focused.count(s))) add(s, d);
  };
  if (scope.focused.empty()) {
    for (size_t s = 0; s < first_source; ++s)
      row(s);
    for (size_t s = first_source; s < first_destination; ++s)
      for (size_t d = 0; d < first_source; ++d)
        add(s, d);
  } else {
    // A focus walks only its own rows and columns: 100,000 workloads are 10^10 pairs, of
    // which a focus on one needs 200,000. (A pair of two focused workloads is added once.)
    for (size_t f : scope.focused) {
      if (scope.egress) row(f);
      if (scope.ingress) column(f, scope.egress);
    }
  }
  std::sort(l.entries.begin(), l.entries.end(), [&](const ListEntry& a, const ListEntry& b) {
    return std::tie(l.nodes[a.src].name, l.nodes[a.dst].name) <
           std::tie(l.nodes[b.src].name, l.nodes[b.dst].name);
  });
  for (const ListEntry& e : l.entries)
    if (!e.conns.empty()) l.nodes[e.src].connected = l.nodes[e.dst].connected = true;
  return l;
}

std::vector<ConnChange> conn_changes(const ConnList& before, const ConnList& after) {
  std::map<std::pair<std::string, std::string>, ConnChange> by_pair;
  for (const ListEntry& e : before.entries) {
    ConnChange& c = by_pair[{before.nodes[e.src].name, before.nodes[e.dst].name}];
    c.src = before.nodes[e.src].name, c.dst = before.nodes[e.dst].name, c.before = e.conns;
  }
  for (const ListEntry& e : after.entries) {
    ConnChange& c = by_pair[{after.nodes[e.src].name, after.nodes[e.dst].name}];
    c.src = after.nodes[e.src].name, c.dst = after.nodes[e.dst].name, c.after = e.conns;
  }
  std::vector<ConnChange> out;
  for (auto& [pair, c] : by_pair)
    if (!(c.before == c.after)) out.push_back(std::move(c));
  return out;
}

} // namespace moat::cli
