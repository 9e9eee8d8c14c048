// Port cells: the (protocol, port) space cut into intervals over which the set of matching
// rules is constant, each resolved to one verdict as ir/interp.cpp decide_among resolves the
// tiers (first admin match; else a Policy deny wins; else the first baseline match where the
// local end is not isolated; else a Policy allow; else the isolation flag), then written as
// LPM port prefixes (single ports: exact entries). Used by map_contents.cpp for one (local, remote, dir).
#pragma once
#include <cstdint>
#include <vector>

#include "backend/bundle/datapath_abi.h"
#include "ir/ir.h"

namespace moat::bundle {

/// One policy entry before encoding: `proto` 0 with port_bits 0 = every protocol and port.
struct PortEntry {
  uint8_t proto = 0;
  uint16_t port = 0;       // first port of the prefix
  uint8_t port_bits = 0;   // prefix length over the 16 port bits (0 = every port)
  bool all_protocols = false;
  uint8_t action = abi::kActionDeny;  // abi::kAction*
  uint32_t rule = 0;                  // datapath rule id (plan.h datapath_rule)
};

/// What the cells of one (local, direction) need beyond the rules: whether the local identity
/// is isolated there (the baseline tier speaks only where it is not), and where the admin and
/// baseline tiers' ids start among the datapath rule ids (plan.h datapath_rule).
struct CellTiers {
  bool isolated = false;
  uint32_t admin_base = 0;
  uint32_t baseline_base = 0;
};

/// The entries that make (proto, port) lookups return the reference verdict (ir/interp.h) of
/// `primary ∪ secondary` (rules of any tier) wherever some `primary` rule matches — and
/// nothing elsewhere, so the datapath falls through to the next, less specific lookup. Named
/// ports resolve against `owner` (the destination workload; may be null). Matching is decided
/// by ports_match() of the reference interpreter on one port per interval.
std::vector<PortEntry> port_entries(const std::vector<const Rule*>& primary,
                                    const std::vector<const Rule*>& secondary, const Endpoint* owner,
                                    const CellTiers& tiers = {});

/// The ports (inclusive intervals) of `pm` for protocol `proto`, named ports resolved
/// against `owner`.
std::vector<std::pair<uint32_t, uint32_t>> port_intervals(const PortMatch& pm, Protocol proto,
                                                          const Endpoint* owner);

/// [lo, hi] (inclusive) as the fewest aligned prefixes over 16 bits: {first port, bits}.
std::vector<std::pair<uint16_t, uint8_t>> port_prefixes(uint32_t lo, uint32_t hi);

} // namespace moat::bundle
