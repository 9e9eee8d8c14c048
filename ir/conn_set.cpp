// ConnSet (see conn_set.h): sorted, merged ranges per protocol and their netpol-analyzer text.
#include "ir/conn_set.h"

#include <algorithm>

#include <fmt/format.h>

#include "ir/interp.h"

namespace moat {

std::pair<uint16_t, uint16_t> port_domain(Protocol p) {
  if (p == Protocol::ICMP || p == Protocol::ICMPv6) return {0, 255};
  return {1, 65535}; // port 0 is no destination port (Kubernetes rejects it)
}

const char* protocol_name(Protocol p) {
  switch (p) {
  case Protocol::ICMP:
    return "ICMP";
  case Protocol::ICMPv6:
    return "ICMPv6";
  case Protocol::SCTP:
    return "SCTP";
  case Protocol::TCP:
    return "TCP";
  case Protocol::UDP:
    return "UDP";
  case Protocol::Any:
    break;
  }
  return "?";
}

size_t ConnSet::slot(Protocol p) {
  for (size_t i = 0; i < 5; ++i)
    if (kListedProtocols[i] == p) return i;
  return 0;
}

void ConnSet::add(Protocol p, uint16_t lo, uint16_t hi) {
  auto& v = by_proto_[slot(p)];
  v.emplace_back(lo, hi);
  std::sort(v.begin(), v.end());
  std::vector<std::pair<uint16_t, uint16_t>> merged;
  for (const auto& r : v) {
    if (!merged.empty() && uint32_t{r.first} <= uint32_t{merged.back().second} + 1)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  v = std::move(merged);
}

void ConnSet::add(const ConnSet& other) {
  for (Protocol p : kListedProtocols)
    for (const auto& [lo, hi] : other.ranges(p))
      add(p, lo, hi);
}

bool ConnSet::empty() const {
  return std::all_of(std::begin(by_proto_), std::end(by_proto_),
                     [](const auto& v) { return v.empty(); });
}

bool ConnSet::contains(Protocol p, uint16_t port) const {
  for (const auto& [lo, hi] : ranges(p))
    if (port >= lo && port <= hi) return true;
  return false;
}

const std::vector<std::pair<uint16_t, uint16_t>>& ConnSet::ranges(Protocol p) const {
  return by_proto_[slot(p)];
}

bool ConnSet::all() const {
  for (Protocol p : kListedProtocols) {
    auto [lo, hi] = port_domain(p);
    // Every port but neighbour discovery, whether or not those types were added.
    for (uint32_t port = lo; port <= hi;) {
      if (is_neighbour_discovery(p, static_cast<uint16_t>(port))) {
        ++port;
        continue;
      }
      auto it = std::find_if(ranges(p).begin(), ranges(p).end(),
                             [&](const auto& r) { return port >= r.first && port <= r.second; });
      if (it == ranges(p).end()) return false;
      port = uint32_t{it->second} + 1;
    }
  }
  return true;
}

std::string ConnSet::str() const {
  if (all()) return "All Connections";
  if (empty()) return "No Connections";
  std::string out;
  for (Protocol p : kListedProtocols) {
    const auto& v = ranges(p);
    if (v.empty()) continue;
    out += out.empty() ? "" : ",";
    out += protocol_name(p);
    out += ' ';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ',';
      out += v[i].first == v[i].second ? fmt::format("{}", v[i].first)
                                       : fmt::format("{}-{}", v[i].first, v[i].second);
    }
  }
  return out;
}

} // namespace moat
