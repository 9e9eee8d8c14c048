// Raw NETLINK_ROUTE requests. Each call opens its own socket (the agent asks a few times per
// reconcile, never per packet), sends one request and reads until the answer is complete.
#include "runtime/attach/route_netlink.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace moat::runtime::attach {

namespace {

/// A connected NETLINK_ROUTE socket, closed on scope exit.
class Socket {
public:
  Socket() {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) return;
    // Bounded: a kernel that does not answer must not stall the agent's loop.
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;  // full error messages are not needed; strict checking keeps dumps exact
    setsockopt(fd_, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  }
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

private:
  int fd_ = -1;
};

/// Sends `req` and hands every answer message to `on_msg` until the answer ends (one
/// message for a plain request, NLMSG_DONE for a dump). False with `error` on failure,
/// including an NLMSG_ERROR answer (its errno in the text).
template <typename F>
bool transact(void* req, uint32_t len, bool dump, F on_msg, std::string& error) {
  Socket s;
  if (s.fd() < 0) {
    error = std::string("netlink socket: ") + std::strerror(errno);
    return false;
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(s.fd(), req, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    error = std::string("netlink send: ") + std::strerror(errno);
    return false;
  }
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = recv(s.fd(), buf.data(), buf.size(), 0);
    if (n < 0) {
      error = std::string("netlink receive: ") + std::strerror(errno);
      return false;
    }
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return true;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return true;  // an acknowledgement
        error = std::strerror(-e->error);
        return false;
      }
      on_msg(h);
      if (!dump) return true;
    }
  }
}

/// One request: header, fixed body, room for a few attributes.
template <typename Body>
struct Request {
  nlmsghdr h{};
  Body body{};
  char attrs[64]{};
  Request(uint16_t type, uint16_t flags) {
    h.nlmsg_len = NLMSG_LENGTH(sizeof(Body));
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
  }
};

IpAddr addr_from(const void* data, bool v6) {
  IpAddr a;
  a.v6 = v6;
  std::memcpy(a.bytes.data(), data, v6 ? 16 : 4);
  return a;
}

Route parse_route(nlmsghdr* h) {
  auto* rt = static_cast<rtmsg*>(NLMSG_DATA(h));
  Route r;
  bool v6 = rt->rtm_family == AF_INET6;
  r.dst.addr.v6 = v6;
  r.dst.len = rt->rtm_dst_len;
  r.type = rt->rtm_type;
  r.table = rt->rtm_table;
  int len = static_cast<int>(RTM_PAYLOAD(h));
  for (auto* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    switch (a->rta_type) {
    case RTA_DST:
      if (RTA_PAYLOAD(a) >= (v6 ? 16u : 4u)) r.dst.addr = addr_from(RTA_DATA(a), v6);
      break;
    case RTA_OIF: std::memcpy(&r.oif, RTA_DATA(a), sizeof(int)); break;
    case RTA_TABLE: std::memcpy(&r.table, RTA_DATA(a), sizeof(uint32_t)); break;
    case RTA_GATEWAY:
    case RTA_VIA: r.gateway = true; break;
    case RTA_MULTIPATH: {
      auto* nh = static_cast<rtnexthop*>(RTA_DATA(a));
      int left = static_cast<int>(RTA_PAYLOAD(a));
      while (left >= static_cast<int>(sizeof(rtnexthop)) && nh->rtnh_len >= sizeof(rtnexthop) &&
             nh->rtnh_len <= left) {
        r.nexthop_oifs.push_back(nh->rtnh_ifindex);
        int attrs = nh->rtnh_len - static_cast<int>(RTNH_ALIGN(sizeof(rtnexthop)));
        for (auto* na = RTNH_DATA(nh); RTA_OK(na, attrs); na = RTA_NEXT(na, attrs))
          if (na->rta_type == RTA_GATEWAY || na->rta_type == RTA_VIA) r.gateway = true;
        left -= RTNH_ALIGN(nh->rtnh_len);
        nh = RTNH_NEXT(nh);
      }
      break;
    }
    default: break;
    }
  }
  return r;
}

} // namespace

std::vector<int> Route::oifs() const {
  std::vector<int> out = nexthop_oifs;
  if (oif) out.push_back(oif);
  return out;
}

std::optional<Route> route_for(const IpAddr& addr, std::string& error) {
  static_assert(offsetof(Request<rtmsg>, attrs) == NLMSG_ALIGN(NLMSG_LENGTH(sizeof(rtmsg))), "attributes follow the body");
  Request<rtmsg> req(RTM_GETROUTE, NLM_F_REQUEST);
  req.body.rtm_family = addr.v6 ? AF_INET6 : AF_INET;
  req.body.rtm_dst_len = static_cast<unsigned char>(addr.bits());
  // The matching FIB entry (its real prefix and type), not a cloned per-address answer.
  req.body.rtm_flags = RTM_F_FIB_MATCH;
  auto* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.h.nlmsg_len));
  size_t n = addr.v6 ? 16 : 4;
  a->rta_type = RTA_DST;
  a->rta_len = static_cast<unsigned short>(RTA_LENGTH(n));
  std::memcpy(RTA_DATA(a), addr.bytes.data(), n);
  req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
  std::optional<Route> out;
  std::string err;
  if (!transact(&req, req.h.nlmsg_len, false, [&](nlmsghdr* h) {
        if (h->nlmsg_type == RTM_NEWROUTE) out = parse_route(h);
      }, err)) {
    error = "no route to " + addr.str() + ": " + err;
    return std::nullopt;
  }
  if (!out) error = "no route to " + addr.str() + ": empty netlink answer";
  return out;
}

std::optional<std::vector<Route>> all_routes(std::string& error) {
  std::vector<Route> out;
  for (unsigned char family : {AF_INET, AF_INET6}) {
    Request<rtmsg> req(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
    req.body.rtm_family = family;  // table 0: every table
    std::string err;
    if (!transact(&req, req.h.nlmsg_len, true, [&](nlmsghdr* h) {
          if (h->nlmsg_type == RTM_NEWROUTE) out.push_back(parse_route(h));
        }, err)) {
      error = "cannot list routes: " + err;
      return std::nullopt;
    }
  }
  return out;
}

std::optional<Link> link_by_index(int ifindex, std::string& error) {
  Request<ifinfomsg> req(RTM_GETLINK, NLM_F_REQUEST);
  req.body.ifi_family = AF_UNSPEC;
  req.body.ifi_index = ifindex;
  std::optional<Link> out;
  std::string err;
  bool ok = transact(&req, req.h.nlmsg_len, false, [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return;
    auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
    Link l;
    l.ifindex = ifi->ifi_index;
    l.flags = ifi->ifi_flags;
    int len = static_cast<int>(IFLA_PAYLOAD(h));
    for (auto* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == IFLA_IFNAME) {
        l.name.assign(static_cast<const char*>(RTA_DATA(a)), strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
      } else if (a->rta_type == IFLA_LINKINFO) {
        int ilen = static_cast<int>(RTA_PAYLOAD(a));
        for (auto* i = static_cast<rtattr*>(RTA_DATA(a)); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
          if (i->rta_type == IFLA_INFO_KIND)
            l.kind.assign(static_cast<const char*>(RTA_DATA(i)), strnlen(static_cast<const char*>(RTA_DATA(i)), RTA_PAYLOAD(i)));
      }
    }
    out = std::move(l);
  }, err);
  if (!ok || !out) {
    error = "interface index " + std::to_string(ifindex) + ": " + (ok ? "no answer" : err);
    return std::nullopt;
  }
  return out;
}

} // namespace moat::runtime::attach
