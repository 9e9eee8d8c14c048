// Addresses held by terminating pods (see the header).
#include "runtime/inventory/terminating.h"

#include <algorithm>

namespace moat::runtime::inventory {

LiveAddresses::LiveAddresses(const Inventory& inv) {
  for (const KubePod& p : inv.pods)
    if (p.is_workload() && !p.terminating) sorted_.insert(sorted_.end(), p.ep.ips.begin(), p.ep.ips.end());
  std::sort(sorted_.begin(), sorted_.end());
  sorted_.erase(std::unique(sorted_.begin(), sorted_.end()), sorted_.end());
}

bool LiveAddresses::contains(const IpAddr& ip) const { return std::binary_search(sorted_.begin(), sorted_.end(), ip); }

std::vector<IpAddr> held_addresses(const KubePod& pod, const LiveAddresses& live) {
  if (!pod.terminating) return pod.ep.ips;
  std::vector<IpAddr> out;
  for (const IpAddr& ip : pod.ep.ips)
    if (!live.contains(ip)) out.push_back(ip);
  return out;
}

} // namespace moat::runtime::inventory
