// Decides which host interface is a pod's own, from the routing table alone: the interface
// the node routes the pod's addresses out of, accepted only when it is shaped like a CNI's
// per-pod link (Calico cali*, Cilium lxc* with endpoint routes, AWS VPC CNI eni*): a veth
// (or netkit) device that carries a host route (/32, /128) to exactly this pod and routes
// nothing else. The pod cannot influence any of it: routes and links are the node's.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/attach/route_netlink.h"

namespace moat::runtime::attach {

/// One of the pod's addresses and the FIB entry the node uses for it (nullopt: no route).
struct AddressRoute {
  IpAddr addr;
  std::optional<Route> route;
  std::string lookup_error;
};

/// The routing facts the decision uses (read by `read_routing`, or made up by tests).
struct RoutingView {
  std::vector<Route> routes;  // every route of every table
  std::map<int, Link> links;  // the interfaces the decision looks at, by index
};

/// The verdict for one pod: its interface, or why none is acceptable.
struct InterfaceChoice {
  int ifindex = 0;
  std::string name;
  std::string problem;  // "" when accepted
};

/// True for interfaces that never belong to a pod: loopback, and every interface a
/// default route (of any table) leaves through — the node's uplinks.
bool never_pod_interface(const Link& link, const std::vector<Route>& routes);

/// Applies the rules (file comment) to a pod's addresses. Every address must resolve to the
/// same interface (a dual-stack pod split over two links is refused).
InterfaceChoice choose_pod_interface(const std::vector<AddressRoute>& lookups, const RoutingView& view);

/// Looks the addresses up in the caller's network namespace and decides.
InterfaceChoice find_pod_interface(const std::vector<IpAddr>& addrs, RoutingView& view);

/// Reads every route; links are added on demand by find_pod_interface.
std::optional<RoutingView> read_routing(std::string& error);

} // namespace moat::runtime::attach
