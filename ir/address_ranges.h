// The external address ranges a module's CIDR peers distinguish: the address space cut at
// the first and past-the-last address of every CIDR and `except` block that rules of one
// direction name, where the membership in some block (a CIDR minus its excepts) changes.
// Within one range every rule's CIDR peer matches all addresses or none, so one address
// stands for the range in the interpreter (`moat list`).
#pragma once
#include <string>
#include <vector>

#include "ir/ir.h"

namespace moat {

/// first..last inclusive, one address family.
struct AddressRange {
  IpAddr first, last;
  /// "10.0.0.0-10.255.255.255", "::-1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".
  std::string str() const;
};

/// The ranges that the CIDR peers of `dir` rules distinguish, in address order, IPv4
/// first. The whole IPv4 space is always covered; the IPv6 space when a rule of `dir`
/// names an IPv6 block, or when `ipv6` asks for it.
std::vector<AddressRange> distinguished_ranges(const Module& m, Direction dir, bool ipv6);

} // namespace moat
