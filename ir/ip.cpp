#include "ir/ip.h"

#include <arpa/inet.h>

namespace moat {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  std::string s(text);
  IpAddr a;
  if (s.find(':') != std::string::npos) {
    a.v6 = true;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  return a;
}

IpAddr IpAddr::v4(uint32_t h) {
  IpAddr a;
  a.bytes[0] = h >> 24;
  a.bytes[1] = h >> 16;
  a.bytes[2] = h >> 8;
  a.bytes[3] = h;
  return a;
}

uint32_t IpAddr::v4_host_order() const {
  return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | bytes[3];
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  unsigned len = addr->bits();
  if (slash != std::string_view::npos) {
    std::string_view l = text.substr(slash + 1);
    if (l.empty() || l.size() > 3) return std::nullopt;
    len = 0;
    for (char c : l) {
      if (c < '0' || c > '9') return std::nullopt;
      len = len * 10 + (c - '0');
    }
    if (len > addr->bits()) return std::nullopt;
  }
  IpPrefix p{*addr, static_cast<uint8_t>(len)};
  for (unsigned i = len; i < addr->bits(); ++i) p.addr.bytes[i / 8] &= ~(1u << (7 - i % 8));
  return p;
}

bool IpPrefix::contains(const IpAddr& a) const {
  if (a.v6 != addr.v6) return false;
  for (unsigned i = 0; i < len; ++i)
    if (a.bit(i) != addr.bit(i)) return false;
  return true;
}

std::string IpPrefix::str() const { return addr.str() + "/" + std::to_string(len); }

} // namespace moat
