// Prometheus text exposition of the agent's state on 127.0.0.1:PORT/metrics: readiness,
// generation, map fill, per-rule packet and byte counters (labelled with the rule's origin),
// DNS proxy activity. A minimal HTTP/1.0 responder; every read and write is bounded.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/inventory/cluster_source.h"

namespace moat::runtime::agent {

struct MetricsSnapshot {
  bool ready = false;
  uint64_t generation = 0, reloads = 0, updates = 0;
  std::vector<std::pair<std::string, size_t>> maps;
  struct Counter {
    std::string rule;    // rule id, or a special slot name ("default-deny", ...)
    std::string origin;  // "NetworkPolicy x/allow-web" ("" for special slots)
    uint64_t packets = 0, bytes = 0;
  };
  std::vector<Counter> counters;
  size_t attach_points = 0, fqdn_addresses = 0;
  size_t unenforced_pods = 0;  // local pods whose attach point was not found or not attached
  bool apply_failed = false;   // the last map update failed
  uint64_t bundle_serial = 0;  // the loaded bundle's serial
  std::vector<std::pair<std::string, uint64_t>> bundle_refused;  // signed bundles refused, by reason
  uint64_t dns_queries = 0, dns_answers = 0, dns_hold_ns = 0;
  uint64_t dns_refused = 0, dns_mismatched = 0, dns_dropped = 0;  // see dns::ProxyStats
  uint64_t fqdn_zombies = 0;
  inventory::SourceHealth inventory;  // the watched inventory (watched == false: files)
};

/// The name of a counter slot after the rules (abi::Special): "default-deny", ...
const char* special_name(uint32_t special);

std::string render_metrics(const MetricsSnapshot& m);

class MetricsServer {
public:
  /// Serves `render()` at GET /metrics (every other request: 404) on address:port from a
  /// background thread. `address` is an IPv4 or IPv6 literal: 127.0.0.1 keeps the metrics on
  /// the node; the node's own address lets in-cluster Prometheus scrape them (deploy/).
  /// Port 0 picks a free port (bound_port() says which).
  static std::unique_ptr<MetricsServer> start(const std::string& address, int port,
                                              std::function<std::string()> render, std::string& error);
  int bound_port() const { return port_; }
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

private:
  MetricsServer() = default;
  int fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::function<std::string()> render_;
  struct Thread;
  std::unique_ptr<Thread> thread_;
};

} // namespace moat::runtime::agent
