// Port cells: the (protocol, port) space cut into intervals over which the set of matching
// rules is constant, each resolved to one verdict (a deny wins, lowest rule id recorded),
// then written as LPM port prefixes (single ports: exact entries). Used by map_contents.cpp for one (local, remote, dir).
#pragma once
#include <cstdint>
#include <vector>

#include "ir/ir.h"

namespace moat::bundle {

/// One policy entry before encoding: `proto` 0 with port_bits 0 = every protocol and port.
struct PortEntry {
  uint8_t proto = 0;
  uint16_t port = 0;       // first port of the prefix
  uint8_t port_bits = 0;   // prefix length over the 16 port bits (0 = every port)
  bool all_protocols = false;
  bool allow = false;
  uint32_t rule = 0;
};

/// The entries that make (proto, port) lookups return the reference verdict (ir/interp.h) of
/// `primary ∪ secondary` wherever some `primary` rule matches — and nothing elsewhere, so
/// the datapath falls through to the next, less specific lookup. Named ports resolve
/// against `owner` (the destination workload; may be null). Matching is decided by
/// ports_match() of the reference interpreter on one port per interval.
std::vector<PortEntry> port_entries(const std::vector<const Rule*>& primary,
                                    const std::vector<const Rule*>& secondary, const Endpoint* owner);

/// The ports (inclusive intervals) of `pm` for protocol `proto`, named ports resolved
/// against `owner`.
std::vector<std::pair<uint32_t, uint32_t>> port_intervals(const PortMatch& pm, Protocol proto,
                                                          const Endpoint* owner);

/// [lo, hi] (inclusive) as the fewest aligned prefixes over 16 bits: {first port, bits}.
std::vector<std::pair<uint16_t, uint8_t>> port_prefixes(uint32_t lo, uint32_t hi);

} // namespace moat::bundle
