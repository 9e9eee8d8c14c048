// The interface rules. Each refusal says which rule failed, so an operator can see whether
// the CNI's layout or something on the node is to blame.
#include "runtime/attach/pod_interface.h"

#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>

namespace moat::runtime::attach {

namespace {

/// Link-local prefixes every interface carries (fe80::/64 on each IPv6 link); they never
/// route a pod's address, so they do not count as "routing something else".
bool link_local(const IpPrefix& p) {
  if (p.addr.v6) return p.len >= 10 && p.addr.bytes[0] == 0xfe && (p.addr.bytes[1] & 0xc0) == 0x80;
  return p.len >= 16 && p.addr.bytes[0] == 169 && p.addr.bytes[1] == 254;
}

bool uses(const Route& r, int ifindex) {
  auto o = r.oifs();
  return std::find(o.begin(), o.end(), ifindex) != o.end();
}

} // namespace

bool never_pod_interface(const Link& link, const std::vector<Route>& routes) {
  if (link.flags & IFF_LOOPBACK) return true;
  return std::any_of(routes.begin(), routes.end(), [&](const Route& r) {
    return r.dst.len == 0 && r.type == RTN_UNICAST && uses(r, link.ifindex);
  });
}

InterfaceChoice choose_pod_interface(const std::vector<AddressRoute>& lookups, const RoutingView& view) {
  InterfaceChoice c;
  if (lookups.empty()) {
    c.problem = "the pod has no IP address yet";
    return c;
  }
  for (const AddressRoute& l : lookups) {
    std::string at = "route to " + l.addr.str();
    if (!l.route) {
      c.problem = l.lookup_error.empty() ? at + ": none" : l.lookup_error;
      return c;
    }
    const Route& r = *l.route;
    if (r.type != RTN_UNICAST) {
      c.problem = at + " is not a unicast route (type " + std::to_string(r.type) + ")";
      return c;
    }
    if (r.dst.len != l.addr.bits() || r.dst.addr != l.addr) {
      c.problem = at + " is " + r.dst.str() + ", not a host route: the interface it leaves through serves more than this pod";
      return c;
    }
    if (r.gateway || !r.nexthop_oifs.empty() || r.oif <= 0) {
      c.problem = at + " goes through a gateway or several next hops, not straight to the pod's link";
      return c;
    }
    if (c.ifindex && c.ifindex != r.oif) {
      c.problem = "the pod's addresses route through different interfaces (index " + std::to_string(c.ifindex) +
                  " and " + std::to_string(r.oif) + ")";
      return c;
    }
    c.ifindex = r.oif;
  }
  auto it = view.links.find(c.ifindex);
  if (it == view.links.end()) {
    c.problem = "interface index " + std::to_string(c.ifindex) + " does not exist";
    c.ifindex = 0;
    return c;
  }
  const Link& link = it->second;
  c.name = link.name;
  auto refuse = [&](const std::string& why) {
    c.problem = "interface " + link.name + " " + why;
    c.ifindex = 0;
    return c;
  };
  if (never_pod_interface(link, view.routes)) return refuse("is the loopback or a default route's interface (an uplink)");
  if (link.kind != "veth" && link.kind != "netkit")
    return refuse("is a " + (link.kind.empty() ? std::string("physical or unknown") : link.kind) +
                  " device, not a pod's veth/netkit link");
  for (const Route& r : view.routes) {
    if (r.type != RTN_UNICAST || !uses(r, link.ifindex) || link_local(r.dst)) continue;
    bool own = std::any_of(lookups.begin(), lookups.end(), [&](const AddressRoute& l) {
      return r.dst.len == l.addr.bits() && r.dst.addr == l.addr;
    });
    if (!own) return refuse("also routes " + r.dst.str() + " (not only this pod)");
  }
  return c;
}

InterfaceChoice find_pod_interface(const std::vector<IpAddr>& addrs, RoutingView& view) {
  std::vector<AddressRoute> lookups;
  for (const IpAddr& a : addrs) {
    AddressRoute l{a, std::nullopt, {}};
    l.route = route_for(a, l.lookup_error);
    if (l.route && l.route->oif > 0 && !view.links.count(l.route->oif)) {
      std::string ignored;
      if (auto link = link_by_index(l.route->oif, ignored)) view.links[link->ifindex] = *link;
    }
    lookups.push_back(std::move(l));
  }
  return choose_pod_interface(lookups, view);
}

std::optional<RoutingView> read_routing(std::string& error) {
  auto routes = all_routes(error);
  if (!routes) return std::nullopt;
  RoutingView v;
  v.routes = std::move(*routes);
  return v;
}

} // namespace moat::runtime::attach
