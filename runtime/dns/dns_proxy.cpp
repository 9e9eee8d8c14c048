// DNS proxy: one poll loop for UDP (client sockets, one connected upstream socket per query
// in flight, answers held for their ticket) and a fixed pool of TCP workers fed by a
// bounded queue of accepted connections. The answer callback runs before the answer is
// sent back, on the thread that received it; the hold itself never blocks the UDP loop.
#include "runtime/net_util.h"
#include "runtime/dns/dns_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace moat::runtime::dns {

namespace {

using Clock = std::chrono::steady_clock;
using runtime::now_ms;
using runtime::wait_fd;

bool make_addr(const std::string& host, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  return runtime::make_sockaddr(host, port, ss, len);
}

bool read_full(int fd, uint8_t* buf, size_t n, int64_t deadline) {
  size_t got = 0;
  while (got < n) {
    if (!wait_fd(fd, POLLIN, deadline)) return false;
    ssize_t r = recv(fd, buf + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

bool write_full(int fd, const uint8_t* buf, size_t n, int64_t deadline) {
  size_t sent = 0;
  while (sent < n) {
    if (!wait_fd(fd, POLLOUT, deadline)) return false;
    ssize_t r = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
    if (r <= 0) return false;
    sent += static_cast<size_t>(r);
  }
  return true;
}

/// Reads one length-prefixed DNS message (RFC 7766) from a TCP stream.
bool read_tcp_message(int fd, std::vector<uint8_t>& msg, int64_t deadline) {
  uint8_t len[2];
  if (!read_full(fd, len, 2, deadline)) return false;
  msg.resize(size_t(len[0]) << 8 | len[1]);
  return msg.empty() || read_full(fd, msg.data(), msg.size(), deadline);
}

bool write_tcp_message(int fd, const std::vector<uint8_t>& msg, int64_t deadline) {
  uint8_t len[2] = {uint8_t(msg.size() >> 8), uint8_t(msg.size())};
  return write_full(fd, len, 2, deadline) && write_full(fd, msg.data(), msg.size(), deadline);
}

uint16_t random_id() {
  uint16_t id = 0;
  if (getrandom(&id, sizeof id, 0) != sizeof id) id = static_cast<uint16_t>(Clock::now().time_since_epoch().count());
  return id;
}

void set_id(std::vector<uint8_t>& msg, uint16_t id) {
  if (msg.size() < 2) return;
  msg[0] = static_cast<uint8_t>(id >> 8);
  msg[1] = static_cast<uint8_t>(id);
}

IpAddr ip_of(const sockaddr_storage& ss) {
  IpAddr ip;
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
      // An IPv4 client of a dual-stack socket: the pod's IPv4 address, as its DNS rules know it.
      std::memcpy(ip.bytes.data(), reinterpret_cast<const uint8_t*>(&a.sin6_addr) + 12, 4);
      return ip;
    }
    ip.v6 = true;
    std::memcpy(ip.bytes.data(), &a.sin6_addr, 16);
  } else {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    std::memcpy(ip.bytes.data(), &a.sin_addr, 4);
  }
  return ip;
}

uint16_t port_of(const sockaddr_storage& ss) {
  return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(ss).sin6_port
                                        : reinterpret_cast<const sockaddr_in&>(ss).sin_port);
}

/// Is `from` exactly the upstream (address and port)? A connected UDP socket already
/// filters this in the kernel; checked again so the guarantee does not rest on that alone.
bool same_endpoint(const sockaddr_storage& from, const sockaddr_storage& up) {
  return from.ss_family == up.ss_family && port_of(from) == port_of(up) && ip_of(from) == ip_of(up);
}

} // namespace

bool parse_host_port(const std::string& text, std::string& host, uint16_t& port) {
  port = 53;
  std::string rest;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    host = text;  // bare IPv6 address
  } else {
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string::npos) rest = text.substr(colon);
  }
  if (!rest.empty()) {
    if (rest[0] != ':' || rest.size() < 2) return false;
    char* end = nullptr;
    long p = std::strtol(rest.c_str() + 1, &end, 10);
    if (*end || p < 1 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  }
  sockaddr_storage ss;
  socklen_t len;
  return make_addr(host, port, ss, len);
}

struct DnsProxy::Impl {
  ProxyOptions opts;
  sockaddr_storage upstream{};
  socklen_t upstream_len = 0;
  std::vector<int> udp, tcp;  // listening sockets
  int stop_fd = -1;
  int wake_fd = -1;  // release() pokes the UDP loop
  std::thread loop;
  std::vector<std::thread> workers;
  std::mutex mu;  // the TCP connection queue
  std::condition_variable cv;
  std::deque<std::pair<int, IpAddr>> conns;
  std::mutex hold_mu;  // TCP workers waiting for their ticket
  std::condition_variable hold_cv;
  std::atomic<uint64_t> released{0};
  std::atomic<bool> stopping{false};

  struct Pending {
    int fd;           // connected upstream socket
    int client_sock;  // listening socket the query came in on
    sockaddr_storage client;
    socklen_t client_len;
    IpAddr client_ip;
    Response query;        // as the client sent it (its ID)
    uint16_t upstream_id;  // the ID it went upstream with
    int64_t deadline;
  };
  std::vector<Pending> pending;
  struct Held {
    uint64_t ticket;
    int client_sock;
    sockaddr_storage client;
    socklen_t client_len;
    std::vector<uint8_t> answer;
    Clock::time_point since;
    int64_t deadline;
  };
  std::vector<Held> held;
};

/// What screen() decided about a client query.
struct DnsProxy::Exchange {
  bool forward = false;
  std::vector<uint8_t> reply;  // sent back instead when not forwarded (empty: drop)
};

std::unique_ptr<DnsProxy> DnsProxy::start(const ProxyOptions& opts, OnQuery on_query, OnAnswer on_answer,
                                          std::string& error) {
  std::unique_ptr<DnsProxy> p(new DnsProxy());
  p->impl_ = std::make_unique<Impl>();
  p->on_query_ = std::move(on_query);
  p->on_answer_ = std::move(on_answer);
  Impl& im = *p->impl_;
  im.opts = opts;
  std::string host;
  uint16_t port;
  if (!parse_host_port(opts.upstream, host, port) || !make_addr(host, port, im.upstream, im.upstream_len)) {
    error = "bad DNS upstream '" + opts.upstream + "'";
    return nullptr;
  }
  if (opts.listen.empty()) {
    error = "the DNS proxy needs at least one listen address";
    return nullptr;
  }
  for (const std::string& l : opts.listen) {
    sockaddr_storage ss;
    socklen_t len;
    if (!parse_host_port(l, host, port) || !make_addr(host, port, ss, len)) {
      error = "bad DNS listen address '" + l + "'";
      return nullptr;
    }
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
      int fd = socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      // The proxy address may be configured after the agent starts (or be link-local).
      if (ss.ss_family == AF_INET) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
      else setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
          (type == SOCK_STREAM && listen(fd, 128) != 0)) {
        error = "cannot listen on " + l + ": " + std::strerror(errno);
        if (fd >= 0) close(fd);
        return nullptr;
      }
      (type == SOCK_DGRAM ? im.udp : im.tcp).push_back(fd);
    }
  }
  im.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  im.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (im.stop_fd < 0 || im.wake_fd < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    return nullptr;
  }
  DnsProxy* self = p.get();
  // Threads are created up front: a failure here is an error, never a crash mid-service.
  try {
    for (int i = 0; i < std::max(1, opts.tcp_workers); ++i) im.workers.emplace_back([self] { self->tcp_worker(); });
    im.loop = std::thread([self] { self->serve_udp(); });
  } catch (const std::system_error& e) {
    error = std::string("cannot start DNS proxy threads: ") + e.what();
    return nullptr;  // the destructor stops the workers already running
  }
  return p;
}

DnsProxy::~DnsProxy() {
  if (!impl_) return;
  Impl& im = *impl_;
  im.stopping = true;
  uint64_t one = 1;
  if (im.stop_fd >= 0 && write(im.stop_fd, &one, sizeof one) < 0) { /* the loop also polls with a timeout */ }
  if (im.loop.joinable()) im.loop.join();
  {
    std::lock_guard lk(im.mu);
    im.cv.notify_all();
  }
  {
    std::lock_guard lk(im.hold_mu);
    im.hold_cv.notify_all();
  }
  for (auto& w : im.workers) w.join();  // each is bounded by its current deadline
  for (auto& [c, ip] : im.conns) close(c);
  for (auto& pd : im.pending) close(pd.fd);
  for (int fd : im.udp) close(fd);
  for (int fd : im.tcp) close(fd);
  if (im.stop_fd >= 0) close(im.stop_fd);
  if (im.wake_fd >= 0) close(im.wake_fd);
}

void DnsProxy::release(uint64_t ticket) {
  Impl& im = *impl_;
  uint64_t cur = im.released.load();
  while (cur < ticket && !im.released.compare_exchange_weak(cur, ticket)) {}
  uint64_t one = 1;
  if (write(im.wake_fd, &one, sizeof one) < 0) { /* already poked */ }
  std::lock_guard lk(im.hold_mu);
  im.hold_cv.notify_all();
}

bool DnsProxy::released(uint64_t ticket) const { return impl_->released.load() >= ticket; }

std::optional<std::vector<uint8_t>> DnsProxy::screen(const IpAddr& client, const uint8_t* data, size_t size,
                                                     Response& q) {
  auto parsed = parse_message(data, size);
  if (!parsed) {
    ++stats_.unparsable;
    return std::vector<uint8_t>{};  // nothing to answer to
  }
  q = std::move(*parsed);
  if (q.is_response || q.qdcount != 1) {
    ++stats_.unparsable;
    return error_reply(data, q, kRcodeFormErr);
  }
  if (on_query_ && !on_query_(client, q)) {
    ++stats_.refused;
    return error_reply(data, q, kRcodeRefused);
  }
  return std::nullopt;
}

std::optional<uint64_t> DnsProxy::accept_answer(const IpAddr& client, const Response& q, uint16_t upstream_id,
                                                std::vector<uint8_t>& reply, std::optional<Response>& later) {
  auto a = parse_message(reply.data(), reply.size());
  if (!a) {
    ++stats_.unparsable;
    return std::nullopt;
  }
  Response sent = q;
  sent.id = upstream_id;
  if (!answers_query(sent, *a)) {
    ++stats_.mismatched;
    return std::nullopt;
  }
  set_id(reply, q.id);
  a->id = q.id;
  if (!impl_->opts.hold) {
    later = std::move(a);  // learn-after-forward: the caller learns once it was sent
    return 0;
  }
  return on_answer_(client, *a);  // the addresses enter the ipcache by this ticket
}

void DnsProxy::serve_udp() {
  Impl& im = *impl_;
  std::vector<uint8_t> buf(65536);
  auto send_held = [&](Impl::Held& h) {
    ++stats_.answers;  // counted before the client can see it (tests read it right after)
    stats_.hold_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - h.since).count();
    sendto(h.client_sock, h.answer.data(), h.answer.size(), 0, reinterpret_cast<sockaddr*>(&h.client), h.client_len);
  };
  while (!im.stopping) {
    std::vector<pollfd> fds;
    fds.push_back({im.stop_fd, POLLIN, 0});
    fds.push_back({im.wake_fd, POLLIN, 0});
    for (int fd : im.udp) fds.push_back({fd, POLLIN, 0});
    for (int fd : im.tcp) fds.push_back({fd, POLLIN, 0});
    size_t first_pending = fds.size();
    for (const auto& pd : im.pending) fds.push_back({pd.fd, POLLIN, 0});
    int64_t wait = 500;
    for (const auto& pd : im.pending) wait = std::min<int64_t>(wait, std::max<int64_t>(0, pd.deadline - now_ms()));
    for (const auto& h : im.held) wait = std::min<int64_t>(wait, std::max<int64_t>(0, h.deadline - now_ms()));
    if (poll(fds.data(), fds.size(), static_cast<int>(wait)) < 0 && errno != EINTR) break;
    if (fds[0].revents) break;
    if (fds[1].revents) {
      uint64_t v;
      if (read(im.wake_fd, &v, sizeof v) < 0) { /* nothing pending */ }
    }
    size_t i = 2;
    for (int lfd : im.udp) {
      if (!(fds[i++].revents & POLLIN)) continue;
      Impl::Pending pd{};
      pd.client_sock = lfd;
      pd.client_len = sizeof pd.client;
      ssize_t n = recvfrom(lfd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&pd.client), &pd.client_len);
      if (n <= 0) continue;
      ++stats_.queries;
      if (im.pending.size() + im.held.size() >= im.opts.max_pending) {
        ++stats_.dropped;  // the client's resolver retries
        continue;
      }
      pd.client_ip = ip_of(pd.client);
      if (auto reply = screen(pd.client_ip, buf.data(), static_cast<size_t>(n), pd.query)) {
        if (!reply->empty())
          sendto(lfd, reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&pd.client), pd.client_len);
        continue;
      }
      pd.fd = socket(im.upstream.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (pd.fd < 0) continue;
      pd.upstream_id = random_id();
      std::vector<uint8_t> out(buf.begin(), buf.begin() + n);
      set_id(out, pd.upstream_id);
      if (connect(pd.fd, reinterpret_cast<sockaddr*>(&im.upstream), im.upstream_len) != 0 ||
          send(pd.fd, out.data(), out.size(), 0) != n) {
        close(pd.fd);
        continue;
      }
      pd.deadline = now_ms() + im.opts.timeout_ms;
      im.pending.push_back(std::move(pd));
    }
    for (int lfd : im.tcp) {
      if (!(fds[i++].revents & POLLIN)) continue;
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      int c = accept4(lfd, reinterpret_cast<sockaddr*>(&from), &fl, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) continue;
      std::lock_guard lk(im.mu);
      if (im.conns.size() >= im.opts.tcp_backlog) {
        ++stats_.dropped;
        close(c);
        continue;
      }
      im.conns.emplace_back(c, ip_of(from));
      im.cv.notify_one();
    }
    // Upstream replies (indexes in fds line up with the pending list as it was polled).
    std::vector<Impl::Pending> still;
    size_t polled = fds.size() - first_pending;
    for (size_t k = 0; k < im.pending.size(); ++k) {
      Impl::Pending& pd = im.pending[k];
      bool done = false;
      if (k < polled && (fds[first_pending + k].revents & POLLIN)) {
        sockaddr_storage from{};
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(pd.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n > 0 && same_endpoint(from, im.upstream)) {
          std::vector<uint8_t> answer(buf.begin(), buf.begin() + n);
          auto t0 = Clock::now();
          std::optional<Response> later;
          if (auto ticket = accept_answer(pd.client_ip, pd.query, pd.upstream_id, answer, later)) {
            // Anything else (wrong ID or question, not parsable) is ignored and the real
            // answer still awaited: a spoofer must not get to cancel the query either.
            Impl::Held h{*ticket, pd.client_sock, pd.client, pd.client_len, std::move(answer), t0,
                         now_ms() + im.opts.timeout_ms};
            if (released(h.ticket)) send_held(h);
            else im.held.push_back(std::move(h));
            if (later) on_answer_(pd.client_ip, *later);
            done = true;
          }
        } else if (n > 0) {
          ++stats_.mismatched;
        }
      }
      if (!done && now_ms() >= pd.deadline) {
        ++stats_.timeouts;  // the client's resolver retries
        done = true;
      }
      if (done) close(pd.fd);
      else still.push_back(std::move(pd));
    }
    im.pending = std::move(still);
    // Held answers whose addresses are in the ipcache now; those never released in time are
    // dropped, not sent (the client's resolver retries; nothing leaves before its entries).
    std::vector<Impl::Held> waiting;
    for (Impl::Held& h : im.held) {
      if (released(h.ticket)) send_held(h);
      else if (now_ms() >= h.deadline) ++stats_.timeouts;
      else waiting.push_back(std::move(h));
    }
    im.held = std::move(waiting);
  }
}

void DnsProxy::tcp_worker() {
  Impl& im = *impl_;
  for (;;) {
    std::pair<int, IpAddr> conn;
    {
      std::unique_lock lk(im.mu);
      im.cv.wait(lk, [&] { return im.stopping || !im.conns.empty(); });
      if (im.stopping) return;
      conn = im.conns.front();
      im.conns.pop_front();
    }
    serve_tcp(conn.first, conn.second);
  }
}

void DnsProxy::serve_tcp(int conn, const IpAddr& client) {
  Impl& im = *impl_;
  std::vector<uint8_t> query, answer;
  // RFC 7766: a client may send several queries on one connection; serve them in order.
  // Each must arrive whole within the idle timeout, so a silent client frees its worker.
  while (!im.stopping) {
    if (!read_tcp_message(conn, query, now_ms() + im.opts.tcp_idle_ms)) break;
    ++stats_.queries;
    Response q;
    if (auto reply = screen(client, query.data(), query.size(), q)) {
      if (reply->empty() || !write_tcp_message(conn, *reply, now_ms() + im.opts.timeout_ms)) break;
      continue;
    }
    int64_t deadline = now_ms() + im.opts.timeout_ms;
    uint16_t upstream_id = random_id();
    set_id(query, upstream_id);
    int up = socket(im.upstream.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    bool ok = up >= 0;
    if (ok) {
      int r = connect(up, reinterpret_cast<sockaddr*>(&im.upstream), im.upstream_len);
      ok = (r == 0 || errno == EINPROGRESS) && wait_fd(up, POLLOUT, deadline);
      int err = 0;
      socklen_t el = sizeof err;
      if (ok) ok = getsockopt(up, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0;
      ok = ok && write_tcp_message(up, query, deadline) && read_tcp_message(up, answer, deadline);
    }
    if (up >= 0) close(up);
    if (!ok) {
      ++stats_.timeouts;
      break;
    }
    auto t0 = Clock::now();
    std::optional<Response> later;
    auto ticket = accept_answer(client, q, upstream_id, answer, later);
    if (!ticket) break;  // not the answer to this query: the client retries
    if (!released(*ticket)) {
      std::unique_lock lk(im.hold_mu);
      if (!im.hold_cv.wait_until(lk, Clock::now() + std::chrono::milliseconds(im.opts.timeout_ms),
                                 [&] { return im.stopping || released(*ticket); }) ||
          !released(*ticket)) {
        ++stats_.timeouts;
        break;
      }
    }
    stats_.hold_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    ++stats_.answers;
    if (!write_tcp_message(conn, answer, now_ms() + im.opts.timeout_ms)) break;
    if (later) on_answer_(client, *later);
  }
  close(conn);
}

} // namespace moat::runtime::dns
