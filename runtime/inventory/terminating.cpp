// Addresses held by terminating pods (see the header).
#include "runtime/inventory/terminating.h"

namespace moat::runtime::inventory {

std::set<IpAddr> live_pod_addresses(const Inventory& inv) {
  std::set<IpAddr> out;
  for (const KubePod& p : inv.pods)
    if (p.is_workload() && !p.terminating) out.insert(p.ep.ips.begin(), p.ep.ips.end());
  return out;
}

std::vector<IpAddr> held_addresses(const KubePod& pod, const std::set<IpAddr>& live) {
  if (!pod.terminating) return pod.ep.ips;
  std::vector<IpAddr> out;
  for (const IpAddr& ip : pod.ep.ips)
    if (!live.count(ip)) out.push_back(ip);
  return out;
}

} // namespace moat::runtime::inventory
