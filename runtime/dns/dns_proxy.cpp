// DNS proxy: one poll loop for UDP (client sockets, one connected upstream socket per query
// in flight) and one short-lived thread per TCP connection. The answer callback runs before
// the answer is sent back, on the thread that received it.
#include "runtime/net_util.h"
#include "runtime/dns/dns_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
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
  std::thread loop;
  // TCP workers: counted so the destructor can wait for them (each is bounded by the timeout).
  std::mutex mu;
  std::condition_variable cv;
  int workers = 0;
  std::atomic<bool> stopping{false};

  struct Pending {
    int fd;           // connected upstream socket
    int client_sock;  // listening socket the query came in on
    sockaddr_storage client;
    socklen_t client_len;
    int64_t deadline;
  };
  std::vector<Pending> pending;
};

std::unique_ptr<DnsProxy> DnsProxy::start(const ProxyOptions& opts, OnAnswer on_answer, std::string& error) {
  std::unique_ptr<DnsProxy> p(new DnsProxy());
  p->impl_ = std::make_unique<Impl>();
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
  DnsProxy* self = p.get();
  im.loop = std::thread([self] { self->serve_udp(); });
  return p;
}

DnsProxy::~DnsProxy() {
  if (!impl_) return;
  Impl& im = *impl_;
  im.stopping = true;
  uint64_t one = 1;
  if (write(im.stop_fd, &one, sizeof one) < 0) { /* the loop also polls with a timeout */ }
  if (im.loop.joinable()) im.loop.join();
  {
    std::unique_lock lk(im.mu);
    im.cv.wait_for(lk, std::chrono::milliseconds(im.opts.timeout_ms * 3), [&] { return im.workers == 0; });
  }
  for (auto& pd : im.pending) close(pd.fd);
  for (int fd : im.udp) close(fd);
  for (int fd : im.tcp) close(fd);
  close(im.stop_fd);
}

void DnsProxy::handle_answer(const uint8_t* data, size_t size) {
  auto resp = parse_message(data, size);
  if (!resp) {
    ++stats_.unparsable;
    return;
  }
  auto t0 = Clock::now();
  on_answer_(*resp);  // the addresses enter the ipcache here, before the client sees them
  stats_.hold_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

void DnsProxy::serve_udp() {
  Impl& im = *impl_;
  uint8_t buf[65536];
  while (!im.stopping) {
    std::vector<pollfd> fds;
    fds.push_back({im.stop_fd, POLLIN, 0});
    for (int fd : im.udp) fds.push_back({fd, POLLIN, 0});
    for (int fd : im.tcp) fds.push_back({fd, POLLIN, 0});
    for (const auto& pd : im.pending) fds.push_back({pd.fd, POLLIN, 0});
    int64_t wait = 500;
    for (const auto& pd : im.pending) wait = std::min<int64_t>(wait, std::max<int64_t>(0, pd.deadline - now_ms()));
    if (poll(fds.data(), fds.size(), static_cast<int>(wait)) < 0 && errno != EINTR) break;
    if (fds[0].revents) break;
    size_t i = 1;
    for (int lfd : im.udp) {
      if (fds[i++].revents & POLLIN) {
        Impl::Pending pd{};
        pd.client_sock = lfd;
        pd.client_len = sizeof pd.client;
        ssize_t n = recvfrom(lfd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&pd.client), &pd.client_len);
        if (n <= 0) continue;
        ++stats_.queries;
        pd.fd = socket(im.upstream.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (pd.fd < 0) continue;
        if (connect(pd.fd, reinterpret_cast<sockaddr*>(&im.upstream), im.upstream_len) != 0 ||
            send(pd.fd, buf, n, 0) != n) {
          close(pd.fd);
          continue;
        }
        pd.deadline = now_ms() + im.opts.timeout_ms;
        im.pending.push_back(pd);
      }
    }
    for (int lfd : im.tcp) {
      if (fds[i++].revents & POLLIN) {
        int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) continue;
        std::lock_guard lk(im.mu);
        ++im.workers;
        std::thread([this, c] { serve_tcp(c); }).detach();
      }
    }
    // Upstream answers (indexes in fds line up with the pending list as it was polled).
    std::vector<Impl::Pending> still;
    size_t polled = fds.size() - i;
    for (size_t k = 0; k < im.pending.size(); ++k) {
      Impl::Pending& pd = im.pending[k];
      bool ready = k < polled && (fds[i + k].revents & POLLIN);
      if (ready) {
        ssize_t n = recv(pd.fd, buf, sizeof buf, 0);
        if (n > 0) {
          if (im.opts.hold) handle_answer(buf, static_cast<size_t>(n));
          ++stats_.answers;  // counted before the client can see it (tests read it right after)
          sendto(pd.client_sock, buf, n, 0, reinterpret_cast<sockaddr*>(&pd.client), pd.client_len);
          if (!im.opts.hold) handle_answer(buf, static_cast<size_t>(n));
        }
        close(pd.fd);
      } else if (now_ms() >= pd.deadline) {
        ++stats_.timeouts;
        close(pd.fd);  // the client's resolver retries
      } else {
        still.push_back(pd);
      }
    }
    im.pending = std::move(still);
  }
}

void DnsProxy::serve_tcp(int conn) {
  Impl& im = *impl_;
  std::vector<uint8_t> query, answer;
  // RFC 7766: a client may send several queries on one connection; serve them in order.
  while (!im.stopping) {
    int64_t deadline = now_ms() + im.opts.timeout_ms;
    if (!read_tcp_message(conn, query, deadline)) break;
    ++stats_.queries;
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
    if (im.opts.hold) handle_answer(answer.data(), answer.size());
    ++stats_.answers;
    if (!write_tcp_message(conn, answer, now_ms() + im.opts.timeout_ms)) break;
    if (!im.opts.hold) handle_answer(answer.data(), answer.size());
  }
  close(conn);
  std::lock_guard lk(im.mu);
  --im.workers;
  im.cv.notify_all();
}

} // namespace moat::runtime::dns
