// A set of connections between two ends: for each protocol moat models (TCP, UDP, SCTP by
// destination port 1-65535; ICMP and ICMPv6 by type 0-255), disjoint port ranges. Printed
// the way np-guard/netpol-analyzer prints connection sets (`TCP 80,UDP 53-60`,
// `All Connections`), so that its users' scripts read `moat list`.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ir/ir.h"

namespace moat {

/// The protocols a connection set spans, in the order they print (alphabetical, as
/// netpol-analyzer sorts its protocol strings).
inline constexpr Protocol kListedProtocols[] = {Protocol::ICMP, Protocol::ICMPv6, Protocol::SCTP,
                                                Protocol::TCP, Protocol::UDP};

/// The ports (ICMP: types) of `p` a connection set ranges over: 1-65535, or 0-255.
std::pair<uint16_t, uint16_t> port_domain(Protocol p);

/// "TCP", "ICMPv6": the protocol as connection sets print it.
const char* protocol_name(Protocol p);

class ConnSet {
public:
  /// Adds lo..hi of `p` (inclusive), merging with what touches it.
  void add(Protocol p, uint16_t lo, uint16_t hi);
  void add(const ConnSet& other);
  bool empty() const;
  /// Every port of every protocol, except ICMPv6 neighbour discovery (always allowed,
  /// never listed: it is link plumbing, like ARP).
  bool all() const;
  bool contains(Protocol p, uint16_t port) const;
  const std::vector<std::pair<uint16_t, uint16_t>>& ranges(Protocol p) const;
  /// "All Connections", "No Connections", or "ICMP 8,TCP 80,443,UDP 53-60".
  std::string str() const;
  bool operator==(const ConnSet&) const = default;

private:
  static size_t slot(Protocol p);
  std::vector<std::pair<uint16_t, uint16_t>> by_proto_[5];
};

} // namespace moat
