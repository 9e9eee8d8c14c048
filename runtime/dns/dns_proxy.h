// The node-local DNS proxy through which pods resolve names (the NodeLocal DNSCache model:
// kubelet's clusterDNS, or a pod's dnsConfig, points at the proxy's address). It trusts
// nothing it did not ask for: each query goes upstream under a fresh random ID from its own
// socket, and only a reply from the upstream's address and port, with that ID and the
// query's question, counts as the answer. A query the client's DNS rules do not allow gets
// REFUSED without going upstream. Each answer is handed to a callback *before* it is
// forwarded, and only forwarded once the addresses it taught are in the ipcache (the race
// Cilium fixed by holding the answer); other answers do not wait meanwhile.
// UDP and TCP (RFC 7766 length-prefixed) are both proxied; every wait, queue and worker
// count is bounded.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
  size_t max_pending = 1024;  // UDP queries waiting for upstream or for their hold; more are dropped
  int tcp_workers = 8;        // threads serving DNS-over-TCP connections
  size_t tcp_backlog = 64;    // accepted connections waiting for a worker; more are closed
  int tcp_idle_ms = 5000;     // a TCP client must send each whole query within this
};

struct ProxyStats {
  std::atomic<uint64_t> queries{0};      // client queries received
  std::atomic<uint64_t> answers{0};      // answers forwarded to clients
  std::atomic<uint64_t> refused{0};      // queries outside the client's DNS rules (REFUSED)
  std::atomic<uint64_t> mismatched{0};   // upstream replies that did not answer the query sent
  std::atomic<uint64_t> unparsable{0};   // client queries or upstream replies that did not parse
  std::atomic<uint64_t> dropped{0};      // queries / connections over a bound
  std::atomic<uint64_t> timeouts{0};     // upstream did not answer in time
  std::atomic<uint64_t> hold_ns{0};      // total time answers were held for the callback
};

/// Decides a client's query: true forwards it, false answers REFUSED. Runs on a proxy
/// thread; must be thread-safe and quick.
using OnQuery = std::function<bool(const IpAddr& client, const Response& query)>;
/// Called with every verified upstream answer (with the client's own ID), on a proxy
/// thread; must be thread-safe and must not block. Returns 0 when the answer may go out
/// now, else a ticket: the answer is held until release() was called with a ticket >= it.
using OnAnswer = std::function<uint64_t(const IpAddr& client, const Response& answer)>;

class DnsProxy {
public:
  /// Binds every listen address (IP_FREEBIND: the address may appear later) and starts
  /// serving; nullptr with `error` set on a bad address or a failed bind.
  static std::unique_ptr<DnsProxy> start(const ProxyOptions& opts, OnQuery on_query, OnAnswer on_answer,
                                         std::string& error);
  ~DnsProxy();  // stops and waits (bounded by the timeouts) for in-flight exchanges
  DnsProxy(const DnsProxy&) = delete;
  DnsProxy& operator=(const DnsProxy&) = delete;

  /// Every answer held with a ticket <= `ticket` may go out now (any thread).
  void release(uint64_t ticket);
  const ProxyStats& stats() const { return stats_; }

private:
  DnsProxy() = default;
  struct Impl;
  struct Exchange;
  void serve_udp();
  void tcp_worker();
  void serve_tcp(int conn, const IpAddr& client);
  /// Checks a client query: nullopt to forward (`q` parsed), else the reply to send now.
  std::optional<std::vector<uint8_t>> screen(const IpAddr& client, const uint8_t* data, size_t size, Response& q);
  /// Verifies `reply` answers `q` (sent upstream as `upstream_id`), restores the client's
  /// ID in place and runs the callback; the ticket to wait for, or nullopt to discard it.
  /// Without the hold, the callback is left to the caller (`later`), after the send.
  std::optional<uint64_t> accept_answer(const IpAddr& client, const Response& q, uint16_t upstream_id,
                                        std::vector<uint8_t>& reply, std::optional<Response>& later);
  bool released(uint64_t ticket) const;

  std::unique_ptr<Impl> impl_;
  ProxyStats stats_;
  OnQuery on_query_;
  OnAnswer on_answer_;
};

/// Parses "ADDR:PORT" / "[V6]:PORT" / bare "ADDR" (port 53).
bool parse_host_port(const std::string& text, std::string& host, uint16_t& port);

} // namespace moat::runtime::dns
