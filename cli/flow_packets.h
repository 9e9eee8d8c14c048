// The packets a question about two endpoints stands for: which of their addresses a packet
// between them may carry (ir.h Flow), shared by `moat test` and `moat query` so that both
// answer for every packet, not only for the ends' first addresses.
#pragma once
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "ir/ir.h"

namespace moat::cli {

/// The (source, destination) address indexes of every packet between `from` and `to`: one
/// per address family both ends have (a dual-stack workload sends IPv4 and IPv6; ICMP is
/// IPv4 only, ICMPv6 IPv6 only; `proto` nullopt: any protocol) and per host of an external
/// end with several addresses (several hosts). An end without addresses pairs with every
/// address of the other. Never empty: with no family in common it is {(0, 0)}, so that the
/// engines report why no packet can be built.
std::vector<std::pair<size_t, size_t>> packet_addresses(const Endpoint* from, const Endpoint* to,
                                                        std::optional<Protocol> proto);

} // namespace moat::cli
