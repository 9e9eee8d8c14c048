// Metrics: text format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "runtime/agent/metrics.h"

#include <tuple>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "backend/bundle/datapath_abi.h"

namespace moat::runtime::agent {

namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

const char* special_name(uint32_t special) {
  switch (special) {
  case abi::kSpecialDefaultDeny: return "default-deny";
  case abi::kSpecialDefaultAllow: return "default-allow";
  case abi::kSpecialImplicit: return "implicit-allow";
  case abi::kSpecialEstablished: return "established";
  case abi::kSpecialUnknownLocal: return "unknown-local-endpoint";
  case abi::kSpecialMalformed: return "malformed";
  case abi::kSpecialFragment: return "orphan-fragment";
  case abi::kSpecialNonIp: return "non-ip";
  case abi::kSpecialSpoofed: return "spoofed";
  }
  return "special";
}

std::string render_metrics(const MetricsSnapshot& m) {
  std::string o;
  auto gauge = [&](const char* name, const char* help, double v) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
         std::to_string(v) + "\n";
  };
  gauge("moat_agent_ready", "1 when enforcement is in place on every attachable local pod", m.ready ? 1 : 0);
  gauge("moat_agent_generation", "active datapath generation", double(m.generation));
  gauge("moat_agent_attach_points", "local workload pods (each needs an attach point)", double(m.attach_points));
  gauge("moat_agent_unenforced_pods", "local pods whose attach point was not found or not attached (not ready)",
        double(m.unenforced_pods));
  gauge("moat_agent_apply_failed", "1 while the last map update failed (retried; not ready)", m.apply_failed ? 1 : 0);
  if (m.inventory.watched) {
    gauge("moat_inventory_stale", "1 while the watched inventory may be out of date (not ready; last good state enforced)",
          m.inventory.stale ? 1 : 0);
    gauge("moat_inventory_objects", "watched objects held (namespaces, pods, nodes)", double(m.inventory.objects));
    for (auto [name, help, v] : {std::tuple{"moat_inventory_relists_total", "complete LISTs of a watched resource", m.inventory.relists},
                                 std::tuple{"moat_inventory_events_total", "watch events applied", m.inventory.events},
                                 std::tuple{"moat_inventory_bookmarks_total", "watch bookmarks received", m.inventory.bookmarks},
                                 std::tuple{"moat_inventory_failures_total", "failed LISTs or watches (each resynced)", m.inventory.failures}})
      o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " + std::to_string(v) + "\n";
  }
  gauge("moat_fqdn_addresses", "addresses learned from DNS answers", double(m.fqdn_addresses));
  gauge("moat_bundle_serial", "serial of the loaded bundle (0: none)", double(m.bundle_serial));
  o += "# HELP moat_bundle_refused_total signed bundles refused as replays or rollbacks (older serial), serial "
       "conflicts or expired; the active generation keeps enforcing\n# TYPE moat_bundle_refused_total counter\n";
  for (const auto& [reason, n] : m.bundle_refused)
    o += "moat_bundle_refused_total{reason=\"" + escape(reason) + "\"} " + std::to_string(n) + "\n";
  o += "# HELP moat_agent_reloads_total generation swaps since start\n# TYPE moat_agent_reloads_total counter\n";
  o += "moat_agent_reloads_total " + std::to_string(m.reloads) + "\n";
  o += "# HELP moat_agent_updates_total in-place map updates since start\n# TYPE moat_agent_updates_total counter\n";
  o += "moat_agent_updates_total " + std::to_string(m.updates) + "\n";
  o += "# HELP moat_map_entries entries written to each datapath map\n# TYPE moat_map_entries gauge\n";
  for (const auto& [name, n] : m.maps) o += "moat_map_entries{map=\"" + escape(name) + "\"} " + std::to_string(n) + "\n";
  o += "# HELP moat_rule_packets_total packets decided by each rule\n# TYPE moat_rule_packets_total counter\n";
  for (const auto& c : m.counters)
    o += "moat_rule_packets_total{rule=\"" + escape(c.rule) + "\",origin=\"" + escape(c.origin) + "\"} " +
         std::to_string(c.packets) + "\n";
  o += "# HELP moat_rule_bytes_total bytes decided by each rule\n# TYPE moat_rule_bytes_total counter\n";
  for (const auto& c : m.counters)
    o += "moat_rule_bytes_total{rule=\"" + escape(c.rule) + "\",origin=\"" + escape(c.origin) + "\"} " +
         std::to_string(c.bytes) + "\n";
  o += "# HELP moat_dns_queries_total queries through the node-local DNS proxy\n# TYPE moat_dns_queries_total counter\n";
  o += "moat_dns_queries_total " + std::to_string(m.dns_queries) + "\n";
  o += "# HELP moat_dns_answers_total answers forwarded by the proxy\n# TYPE moat_dns_answers_total counter\n";
  o += "moat_dns_answers_total " + std::to_string(m.dns_answers) + "\n";
  o += "# HELP moat_dns_hold_seconds_total time answers were held while the ipcache was updated\n"
       "# TYPE moat_dns_hold_seconds_total counter\n";
  o += "moat_dns_hold_seconds_total " + std::to_string(double(m.dns_hold_ns) / 1e9) + "\n";
  o += "# HELP moat_dns_refused_total queries outside the client's DNS rules (answered REFUSED)\n"
       "# TYPE moat_dns_refused_total counter\n";
  o += "moat_dns_refused_total " + std::to_string(m.dns_refused) + "\n";
  o += "# HELP moat_dns_mismatched_total upstream replies that did not answer the query sent (ignored)\n"
       "# TYPE moat_dns_mismatched_total counter\n";
  o += "moat_dns_mismatched_total " + std::to_string(m.dns_mismatched) + "\n";
  o += "# HELP moat_dns_dropped_total queries and TCP connections over the proxy's bounds\n"
       "# TYPE moat_dns_dropped_total counter\n";
  o += "moat_dns_dropped_total " + std::to_string(m.dns_dropped) + "\n";
  o += "# HELP moat_fqdn_zombies expired FQDN addresses kept for live connections\n# TYPE moat_fqdn_zombies gauge\n";
  o += "moat_fqdn_zombies " + std::to_string(m.fqdn_zombies) + "\n";
  return o;
}

struct MetricsServer::Thread {
  std::thread t;
};

std::unique_ptr<MetricsServer> MetricsServer::start(const std::string& address, int port,
                                                    std::function<std::string()> render, std::string& error) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->render_ = std::move(render);
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a4;
  } else if (inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a6;
  } else {
    error = "metrics address '" + address + "' is not an IPv4 or IPv6 address";
    return nullptr;
  }
  std::string where = (ss.ss_family == AF_INET6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  s->fd_ = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s->fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s->fd_ < 0 || bind(s->fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(s->fd_, 16) != 0) {
    error = "cannot listen on " + where + ": " + std::strerror(errno);
    if (s->fd_ >= 0) close(s->fd_);
    s->fd_ = -1;
    return nullptr;
  }
  socklen_t got = sizeof ss;
  getsockname(s->fd_, reinterpret_cast<sockaddr*>(&ss), &got);
  s->port_ = ntohs(ss.ss_family == AF_INET6 ? a6->sin6_port : a4->sin_port);
  s->stop_fd_ = eventfd(0, EFD_CLOEXEC);
  s->thread_ = std::make_unique<Thread>();
  MetricsServer* self = s.get();
  s->thread_->t = std::thread([self] {
    for (;;) {
      pollfd p[2] = {{self->stop_fd_, POLLIN, 0}, {self->fd_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0 && errno != EINTR) return;
      if (p[0].revents) return;
      if (!(p[1].revents & POLLIN)) continue;
      int c = accept4(self->fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{2, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      char req[2048];
      ssize_t n = recv(c, req, sizeof req - 1, 0);
      if (n > 0) req[n] = '\0';
      std::string body, head;
      // Exactly the metrics path (a query string allowed): the endpoint serves nothing else.
      if (n > 0 && (std::strncmp(req, "GET /metrics ", 13) == 0 || std::strncmp(req, "GET /metrics?", 13) == 0)) {
        body = self->render_();
        head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n";
      } else {
        body = "not found\n";
        head = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n";
      }
      head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
      std::string out = head + body;
      size_t off = 0;
      while (off < out.size()) {
        ssize_t w = send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
      close(c);
    }
  });
  return s;
}

MetricsServer::~MetricsServer() {
  uint64_t one = 1;
  if (stop_fd_ >= 0 && write(stop_fd_, &one, sizeof one) < 0) { /* thread also ends on close */ }
  if (thread_ && thread_->t.joinable()) thread_->t.join();
  if (fd_ >= 0) close(fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

} // namespace moat::runtime::agent
