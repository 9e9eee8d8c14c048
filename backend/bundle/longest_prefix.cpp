// LongestPrefix: distinct prefixes hashed by (family, length, masked address).
#include "backend/bundle/longest_prefix.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>

namespace moat::bundle {

LongestPrefix::LongestPrefix(std::vector<IpPrefix> prefixes) : prefixes_(std::move(prefixes)) {
  std::sort(prefixes_.begin(), prefixes_.end());
  prefixes_.erase(std::unique(prefixes_.begin(), prefixes_.end()), prefixes_.end());
  at_.reserve(prefixes_.size());
  for (size_t i = 0; i < prefixes_.size(); ++i) {
    const IpPrefix& p = prefixes_[i];
    at_.emplace(masked(p.addr, p.len), i);
    lengths_[p.addr.v6].push_back(p.len);
  }
  for (std::vector<uint8_t>& l : lengths_) {
    std::sort(l.begin(), l.end(), std::greater<>());
    l.erase(std::unique(l.begin(), l.end()), l.end());
  }
}

const IpPrefix* LongestPrefix::longest(const IpAddr& ip) const {
  for (uint8_t len : lengths_[ip.v6])
    if (auto it = at_.find(masked(ip, len)); it != at_.end()) return &prefixes_[it->second];
  return nullptr;
}

LongestPrefix::Key LongestPrefix::masked(const IpAddr& ip, unsigned len) {
  Key k{};
  k[0] = ip.v6;
  k[1] = static_cast<uint8_t>(len);
  std::memcpy(k.data() + 2, ip.bytes.data(), len / 8);
  if (len % 8) k[2 + len / 8] = static_cast<uint8_t>(ip.bytes[len / 8] & (0xff00 >> (len % 8)));
  return k;
}

size_t LongestPrefix::KeyHash::operator()(const Key& k) const {
  return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
}

} // namespace moat::bundle
