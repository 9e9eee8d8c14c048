// The longest of a fixed set of prefixes covering an address, found in one hash lookup per
// distinct prefix length (longest first) instead of a scan of every prefix: the agent asks
// it for every pod and node address of the cluster on every recomputation.
#pragma once
#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "ir/ip.h"

namespace moat::bundle {

class LongestPrefix {
public:
  /// The prefixes may repeat and come in any order (host bits cleared, as IpPrefix keeps them).
  explicit LongestPrefix(std::vector<IpPrefix> prefixes);
  /// The longest prefix containing `ip` (one of the distinct prefixes, stable while this
  /// object lives), or nullptr when none does.
  const IpPrefix* longest(const IpAddr& ip) const;
  bool empty() const { return prefixes_.empty(); }

private:
  /// Family byte, prefix length, then the address bytes masked to that length.
  using Key = std::array<uint8_t, 18>;
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  static Key masked(const IpAddr& ip, unsigned len);

  std::vector<IpPrefix> prefixes_;  // sorted, distinct
  std::array<std::vector<uint8_t>, 2> lengths_;  // per family (IPv4, IPv6): longest first
  std::unordered_map<Key, size_t, KeyHash> at_;   // key of a prefix -> index in prefixes_
};

} // namespace moat::bundle
