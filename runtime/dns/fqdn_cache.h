// What the node has learned from DNS: for each answered address, the names it was answered
// for (only names some FQDN peer of the policy selects) and when each expires. The agent
// turns every address into an external endpoint carrying those names, so it gets the
// identity the policy gives those names; an address whose names all expired leaves the
// ipcache (established connections keep flowing through conntrack).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "runtime/dns/dns_message.h"

namespace moat::runtime::dns {

/// The FQDN peers of a policy: which names are worth learning.
class FqdnSelectors {
public:
  explicit FqdnSelectors(const Module& policy);
  bool selects(const std::string& name) const;
  bool empty() const { return matches_.empty(); }
  size_t size() const { return matches_.size(); }

private:
  std::vector<FqdnMatch> matches_;
};

class FqdnCache {
public:
  /// Records that `ip` answers for `names` for `ttl_s` seconds (at least `min_ttl_s`).
  /// Returns true when the address gained a name (the maps must change); a refresh of
  /// known names only extends their expiry.
  bool learn(const IpAddr& ip, const std::vector<std::string>& names, uint32_t ttl_s, int64_t now_ms);
  /// Learns every address of `r` whose names `sel` selects; returns true if the maps must change.
  bool learn(const Response& r, const FqdnSelectors& sel, uint32_t min_ttl_s, int64_t now_ms);
  /// Forgets expired names; true when some address lost a name.
  bool expire(int64_t now_ms);
  /// Drops names no selector of the (new) policy selects; true when something changed.
  bool retain(const FqdnSelectors& sel);
  /// The earliest expiry (ms), or nullopt when empty.
  std::optional<int64_t> next_expiry() const;

  /// One external endpoint per learned address, named "fqdn:ADDR", with its live names.
  std::vector<Endpoint> endpoints() const;
  size_t address_count() const { return entries_.size(); }
  size_t name_count() const;

  /// JSON persistence so a restarted agent keeps what it learned (and when it expires).
  std::string to_json() const;
  static std::optional<FqdnCache> from_json(const std::string& text);

private:
  /// Forgets every (name, expiry) that `drop` picks, and addresses left without names.
  bool forget(const std::function<bool(const std::string&, int64_t)>& drop);

  std::map<IpAddr, std::map<std::string, int64_t>> entries_;  // ip -> name -> expiry ms
};

} // namespace moat::runtime::dns
