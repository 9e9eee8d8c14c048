// W420 (see cni_lint.h). Only NetworkPolicy rules: a Cilium policy's toCIDR means the same
// under every profile that reads it, and the moat language has no profile.
#include "ir/cni_lint.h"

#include <fmt/format.h>

#include "ir/interp.h"

namespace moat {

void lint_ip_blocks_over_workloads(const Module& m, const std::vector<Endpoint>& endpoints, Diagnostics& diags) {
  for (const Rule& r : m.rules) {
    if (r.peer.kind != Peer::Kind::Cidr || r.source != RuleSource::NetworkPolicy) continue;
    // The interpreter's reading of the ipBlock as the permissive profiles have it: which
    // workload addresses it would match (its `except` honoured).
    Peer any_address = r.peer;
    any_address.cidr_any_address = true;
    const Endpoint* first = nullptr;
    const IpAddr* addr = nullptr;
    size_t count = 0;
    for (const Endpoint& ep : endpoints) {
      if (ep.kind != EndpointKind::Workload) continue;
      for (size_t i = 0; i < ep.ips.size(); ++i) {
        if (!peer_matches(any_address, ep, i)) continue;
        if (!first) first = &ep, addr = &ep.ips[i];
        ++count;
        break;
      }
    }
    if (!first) continue;
    std::string who = fmt::format("workload {} ({}){}", first->name, addr->str(),
                                  count > 1 ? fmt::format(" and {} more", count - 1) : std::string());
    diags.report(Code::W420, r.peer.range.known() ? r.peer.range : r.range,
                 r.peer.cidr_any_address
                     ? fmt::format("ipBlock {} matches {} by address, as Calico and the upstream API read it; "
                                   "under --cni cilium it would not (docs/CNI.md)",
                                   r.peer.cidr.str(), who)
                     : fmt::format("ipBlock {} covers {} but does not match it under --cni cilium; Calico and the "
                                   "upstream API would (--cni calico, docs/CNI.md): select pods with podSelector",
                                   r.peer.cidr.str(), who));
  }
}

} // namespace moat
