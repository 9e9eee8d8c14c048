// netprobe: the traffic tool of the network-namespace tests. Echo servers, one-shot TCP/UDP
// probes with a deadline, steady probe loops that count verdicts against an expectation,
// and a DNS lookup followed at once by a connection (the FQDN race). Every wait is bounded.
//
//   netprobe serve [--tcp PORT]... [--udp PORT]...
//   netprobe probe tcp|udp ADDR PORT [--timeout-ms N]                  exit 0 = answered
//   netprobe loop tcp|udp ADDR PORT --expect allow|deny --duration-ms N [--interval-ms N]
//                 [--timeout-ms N] [--stop-file PATH]                  exit 0 = no wrong verdict
//   netprobe stream ADDR PORT --duration-ms N [--interval-ms N] [--timeout-ms N] [--stop-file PATH]
//                                                                     one TCP connection, one message
//                                                                     per interval; exit 0 = all echoed
//   netprobe dns-connect SERVER NAME A|AAAA TCPPORT [--timeout-ms N]   exit 0 = lookup + connect,
//                 1 = resolved but the connection failed, 3 = no usable answer, 4 = REFUSED
//   netprobe dns-lookup SERVER NAME A|AAAA [--timeout-ms N]            exit codes as dns-connect
//   netprobe dns-flood SERVER SUFFIX COUNT [--window N]                COUNT lookups of random names
//                                                                     under SUFFIX, N in flight
//   netprobe dns-latency SERVER NAME COUNT                             COUNT lookups one by one;
//                                                                     prints p50 / p99 / max in ms
//   netprobe forge tcp|udp IFACE DSTMAC SRC SPORT DST DPORT            one Ethernet frame (TCP SYN or
//                                                                     UDP datagram, any source address,
//                                                                     checksums filled) sent on IFACE
//                                                                     through an AF_PACKET socket
//   probe, loop: [--sport N] binds the local port (to meet a forged flow's tuple)
#include "runtime/net_util.h"
#include "runtime/packets.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int usage_error(const char* what) {  // after a failed system call
  std::perror(what);
  return 2;
}

using Clock = std::chrono::steady_clock;
using moat::runtime::now_ms;
using moat::runtime::wait_fd;

bool parse_addr(const std::string& host, int port, sockaddr_storage& ss, socklen_t& len) {
  return moat::runtime::make_sockaddr(host, static_cast<uint16_t>(port), ss, len);
}

/// One request/echo exchange over TCP or UDP; true when the echo came back in time.
/// `sport` > 0: bound to that local port first.
bool probe(bool tcp, const std::string& host, int port, int timeout_ms, int sport = 0) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(host, port, ss, len)) return false;
  int fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (sport > 0) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage local{};
    socklen_t local_len;
    std::string any = ss.ss_family == AF_INET6 ? "::" : "0.0.0.0";
    if (!parse_addr(any, sport, local, local_len) || bind(fd, reinterpret_cast<sockaddr*>(&local), local_len) != 0) {
      std::perror("netprobe: bind");
      close(fd);
      return false;
    }
  }
  long deadline = now_ms() + timeout_ms;
  bool ok = false;
  const char msg[] = "moat-probe";
  char buf[64];
  int r = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  if (r == 0 || errno == EINPROGRESS) {
    if (tcp && r != 0 && wait_fd(fd, POLLOUT, deadline)) {
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
      r = err == 0 ? 0 : -1;
    }
    if (r == 0 && send(fd, msg, sizeof msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof msg) &&
        wait_fd(fd, POLLIN, deadline)) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      ok = n == static_cast<ssize_t>(sizeof msg) && std::memcmp(buf, msg, sizeof msg) == 0;
    }
  }
  if (tcp) {  // reset rather than linger in TIME_WAIT: loops open thousands of connections
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(fd);
  return ok;
}

int listen_on(bool tcp, int port) {
  int fd = socket(AF_INET6, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  int zero = 0, one = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // v4-mapped too
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  a.sin6_addr = in6addr_any;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || (tcp && listen(fd, 512) != 0)) {
    std::perror("netprobe: bind/listen");
    std::exit(2);
  }
  return fd;
}

int serve(const std::vector<int>& tcp_ports, const std::vector<int>& udp_ports) {
  std::vector<pollfd> fds;
  std::vector<bool> is_tcp;
  for (int p : tcp_ports) { fds.push_back({listen_on(true, p), POLLIN, 0}); is_tcp.push_back(true); }
  for (int p : udp_ports) { fds.push_back({listen_on(false, p), POLLIN, 0}); is_tcp.push_back(false); }
  std::printf("serving\n");
  std::fflush(stdout);
  char buf[2048];
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return 2;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (is_tcp[i]) {
        int c = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        // Echo on a thread of its own until the client closes (probes close after one
        // echo, streams keep going); a client silent for 2 s is dropped, so it cannot
        // stall the server.
        std::thread([c] {
          timeval tv{2, 0};
          setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
          char b[2048];
          ssize_t n;
          while ((n = recv(c, b, sizeof b, 0)) > 0)
            if (send(c, b, n, MSG_NOSIGNAL) != n) break;
          close(c);
        }).detach();
      } else {
        sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fds[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n > 0) sendto(fds[i].fd, buf, n, 0, reinterpret_cast<sockaddr*>(&from), fl);
      }
    }
  }
}

/// One long-lived TCP connection: message k ("seq NNNNNNNNNNN\n", 16 bytes) is sent at start + k *
/// interval and counts as echoed when its echo is back within `timeout_ms`. One line per
/// message, `SEND_UNIX_MS SEQ ok|lost`, then a summary. A connection cut by policy loses
/// every message from the cut on (TCP retransmits into the drop); one that survives loses
/// none. Exit 0 when every message was echoed in time.
int stream(const std::string& host, int port, int duration_ms, int interval_ms, int timeout_ms,
           const std::string& stop) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(host, port, ss, len)) return 2;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  long deadline = now_ms() + 2000;
  int r = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  if (r != 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline)) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    r = err == 0 ? 0 : -1;
  }
  if (r != 0) {
    std::printf("connect failed\n");
    return 1;
  }
  std::printf("connected\n");
  std::fflush(stdout);
  constexpr size_t kMsg = 16;
  struct Pending {
    long seq, sent_wall, sent;
  };
  std::vector<Pending> pending;  // sent, not yet echoed, oldest first
  std::string inbox;
  long next_seq = 0, ok = 0, lost = 0, sent_count = 0;
  long start = now_ms(), end = start + duration_ms;
  auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto report = [&](const Pending& p, bool echoed) {
    std::printf("%ld %ld %s\n", p.sent_wall, p.seq, echoed ? "ok" : "lost");
    std::fflush(stdout);
    (echoed ? ok : lost) += 1;
  };
  bool stopping = false;
  while (!stopping || !pending.empty()) {
    long now = now_ms();
    if (!stopping && (now >= end || (!stop.empty() && access(stop.c_str(), F_OK) == 0))) stopping = true;
    if (!stopping && now >= start + next_seq * interval_ms) {
      char msg[32];
      std::snprintf(msg, sizeof msg, "seq %011ld\n", next_seq % 100000000000L);  // kMsg bytes
      // A full send buffer (the connection is cut) is that message lost, not an error.
      send(fd, msg, kMsg, MSG_NOSIGNAL | MSG_DONTWAIT);
      pending.push_back({next_seq++, wall_ms(), now});
      ++sent_count;
    }
    // Messages past their deadline are lost; the rest wait for the echo.
    while (!pending.empty() && now_ms() > pending.front().sent + timeout_ms) {
      report(pending.front(), false);
      pending.erase(pending.begin());
    }
    long wake = stopping ? now_ms() + 10 : start + next_seq * interval_ms;
    if (!pending.empty()) wake = std::min(wake, pending.front().sent + timeout_ms + 1);
    if (wait_fd(fd, POLLIN, std::max(wake, now_ms()))) {
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) inbox.append(buf, static_cast<size_t>(n));
      else if (n == 0) stopping = true;  // the server closed (idle timeout): count the rest lost
    }
    while (inbox.size() >= kMsg) {
      long seq = std::strtol(inbox.c_str() + 4, nullptr, 10);
      inbox.erase(0, kMsg);
      // Echoes come back in order; an echo of a message already counted lost stays lost.
      while (!pending.empty() && pending.front().seq < seq) {
        report(pending.front(), false);
        pending.erase(pending.begin());
      }
      if (!pending.empty() && pending.front().seq == seq) {
        report(pending.front(), true);
        pending.erase(pending.begin());
      }
    }
  }
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  std::printf("sent=%ld ok=%ld lost=%ld\n", sent_count, ok, lost);
  return lost == 0 && ok > 0 ? 0 : 1;
}

/// Encodes a DNS query for `name` (type A=1 / AAAA=28), id 0x6d6f.
std::vector<uint8_t> dns_query(const std::string& name, uint16_t type) {
  std::vector<uint8_t> q = {0x6d, 0x6f, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    if (dot > start) {
      q.push_back(static_cast<uint8_t>(dot - start));
      q.insert(q.end(), name.begin() + start, name.begin() + dot);
    }
    start = dot + 1;
  }
  q.push_back(0);
  q.push_back(type >> 8);
  q.push_back(type & 0xff);
  q.push_back(0);
  q.push_back(1);
  return q;
}

/// Returns the first A/AAAA address in a DNS response, or "".
std::string first_address(const uint8_t* p, size_t n, uint16_t type) {
  if (n < 12) return "";
  size_t qd = p[4] << 8 | p[5], an = p[6] << 8 | p[7], off = 12;
  auto skip_name = [&](size_t& o) {
    while (o < n) {
      uint8_t l = p[o];
      if ((l & 0xc0) == 0xc0) { o += 2; return; }
      o += 1 + l;
      if (l == 0) return;
    }
  };
  for (size_t i = 0; i < qd; ++i) { skip_name(off); off += 4; }
  for (size_t i = 0; i < an && off < n; ++i) {
    skip_name(off);
    if (off + 10 > n) return "";
    uint16_t t = p[off] << 8 | p[off + 1];
    uint16_t rdlen = p[off + 8] << 8 | p[off + 9];
    off += 10;
    if (off + rdlen > n) return "";
    if (t == type && (rdlen == 4 || rdlen == 16)) {
      char text[INET6_ADDRSTRLEN];
      inet_ntop(rdlen == 4 ? AF_INET : AF_INET6, p + off, text, sizeof text);
      return text;
    }
    off += rdlen;
  }
  return "";
}

int dns_connect(const std::string& server, const std::string& name, const std::string& type, int tcp_port,
                int timeout_ms) {
  uint16_t t = type == "AAAA" ? 28 : 1;
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(server, 53, ss, len)) return 2;
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto q = dns_query(name, t);
  long deadline = now_ms() + timeout_ms;
  sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  uint8_t buf[1500];
  std::string addr;
  int rcode = -1;
  if (wait_fd(fd, POLLIN, deadline)) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) addr = first_address(buf, n, t);
    if (n >= 4) rcode = buf[3] & 0xf;
  }
  close(fd);
  if (addr.empty()) {
    // A negative check needs to tell "refused" and "no answer" from "resolved, then denied".
    std::printf("lookup %s failed (rcode %d)\n", name.c_str(), rcode);
    return rcode == 5 ? 4 : 3;
  }
  if (tcp_port <= 0) {
    std::printf("%s %s\n", name.c_str(), addr.c_str());
    return 0;
  }
  // Connect at once: the answer must already be usable (no sleep, no retry).
  bool ok = probe(true, addr, tcp_port, timeout_ms);
  std::printf("%s %s tcp/%d %s\n", name.c_str(), addr.c_str(), tcp_port, ok ? "ok" : "fail");
  return ok ? 0 : 1;
}

bool parse_mac(const std::string& text, uint8_t mac[6]) {
  unsigned v[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  return true;
}

/// Sends one hand-made frame on `iface` with an AF_PACKET socket: what a pod with the
/// default CAP_NET_RAW can do to forge any source address. The kernel's IP stack never sees
/// it, so only the datapath's source check stands between it and the node.
int forge(bool tcp, const std::string& iface, const std::string& dst_mac, const std::string& src, int sport,
          const std::string& dst, int dport) {
  moat::runtime::PacketSpec spec;
  auto s = moat::IpAddr::parse(src), d = moat::IpAddr::parse(dst);
  uint8_t mac[6];
  if (!s || !d || s->v6 != d->v6 || !parse_mac(dst_mac, mac)) {
    std::fprintf(stderr, "netprobe forge: bad address or MAC\n");
    return 2;
  }
  spec.src = *s;
  spec.dst = *d;
  spec.proto = tcp ? 6 : 17;
  spec.sport = static_cast<uint16_t>(sport);
  spec.dport = static_cast<uint16_t>(dport);
  spec.tcp_flags = moat::runtime::kTcpSyn;
  spec.payload = tcp ? 0 : 10;
  std::vector<uint8_t> frame = moat::runtime::build_packet(spec);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return usage_error("forge: AF_PACKET socket");
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    close(fd);
    return usage_error("forge: no such interface");
  }
  std::memcpy(frame.data(), mac, 6);
  std::memcpy(frame.data() + 6, ifr.ifr_hwaddr.sa_data, 6);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, mac, 6);
  ssize_t n = sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  close(fd);
  if (n != static_cast<ssize_t>(frame.size())) return usage_error("forge: sendto");
  std::printf("sent %zu bytes %s %s:%d -> %s:%d\n", frame.size(), tcp ? "tcp" : "udp", src.c_str(), sport,
              dst.c_str(), dport);
  return 0;
}

/// COUNT lookups of random names under `suffix` from one socket, `window` in flight.
int dns_flood(const std::string& server, const std::string& suffix, int count, int window) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(server, 53, ss, len)) return 2;
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::mt19937 rng(std::random_device{}());
  int sent = 0, answered = 0, in_flight = 0;
  long last_progress = now_ms();
  uint8_t buf[1500];
  while ((sent < count || in_flight > 0) && now_ms() - last_progress < 2000) {
    while (sent < count && in_flight < window) {
      auto q = dns_query("r" + std::to_string(rng()) + "." + suffix, 1);
      q[0] = static_cast<uint8_t>(sent >> 8);
      q[1] = static_cast<uint8_t>(sent);
      sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
      ++sent, ++in_flight;
    }
    if (!wait_fd(fd, POLLIN, now_ms() + 200)) {
      in_flight = 0;  // lost (dropped over a bound): send more
      continue;
    }
    if (recv(fd, buf, sizeof buf, 0) > 0) ++answered, --in_flight, last_progress = now_ms();
  }
  close(fd);
  std::printf("flood: %d/%d answered\n", answered, count);
  return 0;
}

/// COUNT lookups of `name`, one after the other; prints the latency percentiles.
int dns_latency(const std::string& server, const std::string& name, int count) {
  sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(server, 53, ss, len)) return 2;
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::vector<double> ms;
  uint8_t buf[1500];
  int lost = 0;
  for (int i = 0; i < count; ++i) {
    auto q = dns_query(name, 1);
    q[0] = static_cast<uint8_t>(i >> 8);
    q[1] = static_cast<uint8_t>(i);
    auto t0 = std::chrono::steady_clock::now();
    sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
    bool got = false;
    while (!got && wait_fd(fd, POLLIN, now_ms() + 1000)) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      got = n >= 2 && buf[0] == q[0] && buf[1] == q[1];
    }
    double d = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!got) ++lost, d = 1000;
    ms.push_back(d);
  }
  close(fd);
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))]; };
  std::printf("latency_ms p50=%.2f p99=%.2f max=%.2f lost=%d\n", pct(0.5), pct(0.99), ms.back(), lost);
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: netprobe serve|probe|loop|stream|dns-connect|dns-lookup|dns-flood|dns-latency|forge ... (see the source header)\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.empty()) return usage();
  auto opt = [&](const char* name, int def) {
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == name) return std::atoi(a[i + 1].c_str());
    return def;
  };
  auto opt_s = [&](const char* name) {
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == name) return a[i + 1];
    return std::string();
  };
  if (a[0] == "serve") {
    std::vector<int> tcp, udp;
    for (size_t i = 1; i + 1 < a.size(); i += 2) {
      if (a[i] == "--tcp") tcp.push_back(std::atoi(a[i + 1].c_str()));
      else if (a[i] == "--udp") udp.push_back(std::atoi(a[i + 1].c_str()));
      else return usage();
    }
    return serve(tcp, udp);
  }
  if (a[0] == "probe" && a.size() >= 4) {
    bool ok = probe(a[1] == "tcp", a[2], std::atoi(a[3].c_str()), opt("--timeout-ms", 1000), opt("--sport", 0));
    std::printf("%s\n", ok ? "ok" : "fail");
    return ok ? 0 : 1;
  }
  if (a[0] == "loop" && a.size() >= 4) {
    std::string expect = opt_s("--expect");
    if (expect != "allow" && expect != "deny") return usage();
    bool tcp = a[1] == "tcp";
    int port = std::atoi(a[3].c_str()), timeout = opt("--timeout-ms", 300);
    long end = now_ms() + opt("--duration-ms", 5000);
    int interval = opt("--interval-ms", 20);
    std::string stop = opt_s("--stop-file");
    long attempts = 0, ok = 0, wrong = 0;
    while (now_ms() < end && (stop.empty() || access(stop.c_str(), F_OK) != 0)) {
      bool r = probe(tcp, a[2], port, timeout, opt("--sport", 0));
      ++attempts;
      ok += r;
      if (r != (expect == "allow")) {
        ++wrong;
        std::fprintf(stderr, "wrong verdict at %ld ms: %s\n", now_ms(), r ? "allowed" : "dropped");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(interval));
    }
    std::printf("attempts=%ld ok=%ld fail=%ld wrong=%ld\n", attempts, ok, attempts - ok, wrong);
    return wrong == 0 && attempts > 0 ? 0 : 1;
  }
  if (a[0] == "stream" && a.size() >= 3)
    return stream(a[1], std::atoi(a[2].c_str()), opt("--duration-ms", 5000), opt("--interval-ms", 100),
                  opt("--timeout-ms", 1000), opt_s("--stop-file"));
  if (a[0] == "dns-connect" && a.size() >= 5)
    return dns_connect(a[1], a[2], a[3], std::atoi(a[4].c_str()), opt("--timeout-ms", 2000));
  if (a[0] == "forge" && a.size() >= 8)
    return forge(a[1] == "tcp", a[2], a[3], a[4], std::atoi(a[5].c_str()), a[6], std::atoi(a[7].c_str()));
  if (a[0] == "dns-lookup" && a.size() >= 4) return dns_connect(a[1], a[2], a[3], 0, opt("--timeout-ms", 2000));
  if (a[0] == "dns-flood" && a.size() >= 4)
    return dns_flood(a[1], a[2], std::atoi(a[3].c_str()), opt("--window", 64));
  if (a[0] == "dns-latency" && a.size() >= 4) return dns_latency(a[1], a[2], std::atoi(a[3].c_str()));
  return usage();
}
