// Reads the routing state of the caller's network namespace over a raw NETLINK_ROUTE
// socket: the FIB entry the kernel would use for one address (RTM_GETROUTE with
// RTM_F_FIB_MATCH, as `ip route get fibmatch`), every route of every table (a dump), and one
// link's name, flags and kind. Read-only; nothing is changed. No library: these are three
// request kinds with fixed layouts, and libbpf's own tc code already speaks raw netlink.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/ip.h"

namespace moat::runtime::attach {

/// One route as the kernel reports it (a FIB entry, not the looked-up address).
struct Route {
  IpPrefix dst;              // destination prefix (0.0.0.0/0 or ::/0 for a default route)
  uint8_t type = 0;          // RTN_UNICAST, RTN_LOCAL, ...
  uint32_t table = 0;
  int oif = 0;               // output interface (0: none, or several next hops)
  bool gateway = false;      // RTA_GATEWAY / RTA_VIA present: routed through a next hop
  std::vector<int> nexthop_oifs;  // RTA_MULTIPATH next hops' interfaces
  /// Every interface this route sends packets out of.
  std::vector<int> oifs() const;
};

/// A network interface.
struct Link {
  int ifindex = 0;
  std::string name;
  unsigned flags = 0;  // IFF_* (IFF_LOOPBACK, IFF_UP, ...)
  std::string kind;    // IFLA_INFO_KIND: "veth", "netkit", "bridge", "" for physical NICs
};

/// The FIB entry the kernel picks for packets to `addr` (policy rules included). nullopt
/// with `error` when there is no route (unreachable) or netlink fails.
std::optional<Route> route_for(const IpAddr& addr, std::string& error);
/// Every route of every table, both families.
std::optional<std::vector<Route>> all_routes(std::string& error);
/// The interface `ifindex`; nullopt when it does not exist.
std::optional<Link> link_by_index(int ifindex, std::string& error);

} // namespace moat::runtime::attach
