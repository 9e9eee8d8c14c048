// The node-local DNS proxy through which pods resolve names (the NodeLocal DNSCache model:
// kubelet's clusterDNS, or a pod's dnsConfig, points at the proxy's address). Each answer
// from the upstream server is handed to a callback *before* it is forwarded, and only
// forwarded once the callback returned — so the addresses it carries are in the ipcache
// before the client can use them (the race Cilium fixed by holding the answer).
// UDP and TCP (RFC 7766 length-prefixed) are both proxied; every wait is bounded.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/dns/dns_message.h"

namespace moat::runtime::dns {

struct ProxyOptions {
  std::vector<std::string> listen;  // "169.254.20.10:53", "[fd00::53]:53"
  std::string upstream;             // "10.96.0.10:53" or "[fd00::a]:53"
  int timeout_ms = 2000;            // per upstream exchange
  /// false: forward the answer first and learn after (models in-kernel snooping, which
  /// cannot hold the answer; only for measuring the race the hold removes).
  bool hold = true;
};

struct ProxyStats {
  std::atomic<uint64_t> queries{0};      // client queries received
  std::atomic<uint64_t> answers{0};      // answers forwarded to clients
  std::atomic<uint64_t> unparsable{0};   // upstream answers forwarded without learning
  std::atomic<uint64_t> timeouts{0};     // upstream did not answer in time
  std::atomic<uint64_t> hold_ns{0};      // total time answers were held for the callback
};

/// Called with every parsed upstream answer, on a proxy thread; must be thread-safe.
using OnAnswer = std::function<void(const Response&)>;

class DnsProxy {
public:
  /// Binds every listen address (IP_FREEBIND: the address may appear later) and starts
  /// serving; nullptr with `error` set on a bad address or a failed bind.
  static std::unique_ptr<DnsProxy> start(const ProxyOptions& opts, OnAnswer on_answer,
                                         std::string& error);
  ~DnsProxy();  // stops and waits (bounded by the timeout) for in-flight exchanges
  DnsProxy(const DnsProxy&) = delete;
  DnsProxy& operator=(const DnsProxy&) = delete;

  const ProxyStats& stats() const { return stats_; }

private:
  DnsProxy() = default;
  void serve_udp();
  void serve_tcp(int conn);
  void handle_answer(const uint8_t* data, size_t size);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  ProxyStats stats_;
  OnAnswer on_answer_;
};

/// Parses "ADDR:PORT" / "[V6]:PORT" / bare "ADDR" (port 53).
bool parse_host_port(const std::string& text, std::string& host, uint16_t& port);

} // namespace moat::runtime::dns
