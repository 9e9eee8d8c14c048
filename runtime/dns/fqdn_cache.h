// What the node has learned from DNS: for each answered address, the names it was answered
// for (only names some FQDN peer of the policy selects) and when each expires. The agent
// turns every address into an external endpoint carrying those names, so it gets the
// identity the policy gives those names. Everything is bounded: TTLs are capped, and so are
// addresses per name, names per address and addresses in all. An address whose names all
// expired while a tracked connection still uses it stays as a "zombie" (same names, same
// identity, marked so that the datapath admits no new connection to it) until that
// connection goes quiet or the zombie cap is hit; otherwise it leaves.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "runtime/dns/dns_message.h"

namespace moat::runtime::dns {

/// The name of a learned address's endpoint is this prefix + the address ("fqdn:ADDR").
inline constexpr const char* kLearnedEndpointPrefix = "fqdn:";

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

/// Bounds on what one answer (and all answers together) may teach.
struct LearnLimits {
  uint32_t min_ttl_s = 5;               // learned names live at least this long
  uint32_t max_ttl_s = 3600;            // ... and at most this long, whatever the answer says
  size_t max_addresses_per_name = 64;   // beyond: the soonest-expiring address of the name goes
  size_t max_names_per_address = 64;    // beyond: the soonest-expiring name of the address goes
  size_t max_addresses = 16384;         // beyond: the soonest-expiring address goes
  /// Names in this domain are never learned: CoreDNS `pods insecure` answers
  /// 1-2-3-4.ns.pod.cluster.local with 1.2.3.4 for any 1-2-3-4.
  std::string cluster_domain = "cluster.local";
};

/// Zombie bookkeeping: `in_use(ip, first)` tells whether a tracked connection still uses
/// `ip` (first: since any time; later: since the previous call) and is asked again every
/// `recheck_ms`; at most `max_zombies` addresses are kept this way.
struct ZombiePolicy {
  std::function<bool(const IpAddr&, bool first)> in_use;
  int64_t recheck_ms = 60000;
  size_t max_zombies = 4096;
};

/// The names of `rec` that `r` may teach: on the question's CNAME chain, outside the
/// cluster domain, selected by `sel` (empty when the response teaches nothing).
std::vector<std::string> learnable_names(const Response& r, const AddressRecord& rec, const FqdnSelectors& sel,
                                         const LearnLimits& lim);
/// Does `r` teach anything at all (a successful answer with a learnable address)?
bool teaches(const Response& r, const FqdnSelectors& sel, const LearnLimits& lim);

class FqdnCache {
public:
  /// Records that `ip` answers for `names` for `ttl_s` seconds (clamped to the limits).
  /// Returns true when the address gained a name or stopped being a zombie (the maps must
  /// change); a refresh of known live names only extends their expiry.
  bool learn(const IpAddr& ip, const std::vector<std::string>& names, uint32_t ttl_s, int64_t now_ms,
             const LearnLimits& lim = {});
  /// Learns every address of `r` (only those on the question's CNAME chain) whose names
  /// `sel` selects; returns true if the maps must change.
  bool learn(const Response& r, const FqdnSelectors& sel, const LearnLimits& lim, int64_t now_ms);
  /// Does the cache already hold everything `r` teaches, live for at least `margin_ms` more
  /// (a refresh: the answer need not wait for the maps)?
  bool knows(const Response& r, const FqdnSelectors& sel, const LearnLimits& lim, int64_t now_ms,
             int64_t margin_ms) const;
  /// Addresses expire() would ask `in_use` about at `now_ms` (every name expired; no zombie,
  /// or its check is due): the caller can gather what it needs before taking a lock.
  std::vector<IpAddr> zombie_candidates(int64_t now_ms) const;
  /// Forgets expired names; an address left without live names becomes a zombie when
  /// `z.in_use` says so (and the cap allows), else it goes. True when the maps must change:
  /// an address lost a name, went, or became a zombie.
  bool expire(int64_t now_ms, const ZombiePolicy& z = {});
  /// Drops names no selector of the (new) policy selects; true when something changed.
  bool retain(const FqdnSelectors& sel);
  /// The earliest time (ms) expire() has something to do, or nullopt when empty.
  std::optional<int64_t> next_expiry() const;

  /// One external endpoint per learned address (zombies included), named "fqdn:ADDR".
  std::vector<Endpoint> endpoints() const;
  /// The endpoint of one learned address (as endpoints() has it), if it is learned.
  std::optional<Endpoint> endpoint(const IpAddr& ip) const;
  size_t address_count() const { return entries_.size(); }
  size_t name_count() const;
  size_t zombie_count() const { return zombies_.size(); }
  bool is_zombie(const IpAddr& ip) const { return zombies_.count(ip) > 0; }
  /// The zombie addresses (their ipcache entries carry abi::kIdentityZombie).
  std::vector<IpAddr> zombie_addresses() const;

  /// JSON persistence so a restarted agent keeps what it learned (and when it expires).
  std::string to_json() const;
  static std::optional<FqdnCache> from_json(const std::string& text);

private:
  /// Forgets every (name, expiry) that `drop` picks, and addresses left without names.
  bool forget(const std::function<bool(const IpAddr&, const std::string&, int64_t)>& drop);
  void erase_name(const IpAddr& ip, const std::string& name);
  void erase_address(const IpAddr& ip);
  /// Applies the per-name, per-address and total caps after `ip` learned `names`.
  void enforce_caps(const IpAddr& ip, const std::vector<std::string>& names, const LearnLimits& lim);

  std::map<IpAddr, std::map<std::string, int64_t>> entries_;  // ip -> name -> expiry ms
  std::map<std::string, std::set<IpAddr>> by_name_;           // name -> addresses
  std::map<IpAddr, int64_t> zombies_;                         // ip -> next in-use check ms
};

} // namespace moat::runtime::dns
