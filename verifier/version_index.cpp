// Per-namespace index of one module (see version_index.h).
#include "verifier/version_index.h"

#include <algorithm>
#include <set>
#include <string>

namespace moat::verify {

VersionIndex::VersionIndex(const Module& module) : m(module), isolations(isolation_index(module)) {
  for (size_t i = 0; i < m.rules.size(); ++i) rules.add(m.rules[i].subject, static_cast<uint32_t>(i));
}

namespace {
/// The candidates of each selector, through the distinct namespaces they pin (a thousand
/// peers of one namespace read its bucket once).
std::vector<uint32_t> union_of(const SubjectIndex& idx, const std::vector<const EndpointSelector*>& sels) {
  std::set<std::string> namespaces;
  for (const EndpointSelector* s : sels) {
    const auto* ns = pinned_namespaces(*s);
    if (!ns) return idx.candidates(*s);  // every item
    namespaces.insert(ns->begin(), ns->end());
  }
  if (namespaces.size() == 1) return idx.in_namespace(*namespaces.begin());
  std::vector<uint32_t> out;
  for (const std::string& n : namespaces) {
    std::vector<uint32_t> c = idx.in_namespace(n);
    out.insert(out.end(), c.begin(), c.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
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
