// W420 (see cni_lint.h). Only NetworkPolicy rules: a Cilium policy's toCIDR means the same
// under every profile that reads it, and the moat language has no profile.
#include "ir/cni_lint.h"

#include <algorithm>

#include <fmt/format.h>

namespace moat {

namespace {

/// The first address of `ep` inside the peer's CIDR and outside its excepts, or nullptr.
const IpAddr* covered_address(const Peer& p, const Endpoint& ep) {
  for (const IpAddr& ip : ep.ips)
    if (p.cidr.contains(ip) &&
        std::none_of(p.except.begin(), p.except.end(), [&](const IpPrefix& e) { return e.contains(ip); }))
      return &ip;
  return nullptr;
}

} // namespace

void lint_ip_blocks_over_workloads(const Module& m, const std::vector<Endpoint>& endpoints, Diagnostics& diags) {
  for (const Rule& r : m.rules) {
    if (r.peer.kind != Peer::Kind::Cidr || r.origin.rfind("NetworkPolicy ", 0) != 0) continue;
    const Endpoint* first = nullptr;
    const IpAddr* addr = nullptr;
    size_t count = 0;
    for (const Endpoint& ep : endpoints) {
      if (ep.kind != EndpointKind::Workload) continue;
      const IpAddr* a = covered_address(r.peer, ep);
      if (!a) continue;
      if (!first) first = &ep, addr = a;
      ++count;
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
