// IPv4/IPv6 addresses and prefixes, with parsing and containment.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moat {

/// An IPv4 or IPv6 address; v4 uses bytes[0..3] (network order), the rest zero.
struct IpAddr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  static std::optional<IpAddr> parse(std::string_view text);
  static IpAddr v4(uint32_t host_order);
  unsigned bits() const { return v6 ? 128 : 32; }
  uint32_t v4_host_order() const;
  bool bit(unsigned i) const { return (bytes[i / 8] >> (7 - i % 8)) & 1; }
  std::string str() const;
  auto operator<=>(const IpAddr&) const = default;
};

/// addr/len with the host bits cleared.
struct IpPrefix {
  IpAddr addr;
  uint8_t len = 0;
  /// Parses "a.b.c.d/n", "x::/n" or a bare address (full length). Rejects bad lengths.
  static std::optional<IpPrefix> parse(std::string_view text);
  bool contains(const IpAddr& a) const;
  bool contains(const IpPrefix& p) const { return p.addr.v6 == addr.v6 && p.len >= len && contains(p.addr); }
  std::string str() const;
  auto operator<=>(const IpPrefix&) const = default;
};

} // namespace moat
