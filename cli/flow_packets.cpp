// The packets a question about two endpoints stands for (flow_packets.h).
#include "cli/flow_packets.h"

namespace moat::cli {

namespace {

/// The addresses of `e` a packet may carry: every address of an external endpoint that
/// stands for several hosts, else the first address of each family.
std::vector<size_t> candidates(const Endpoint* e) {
  std::vector<size_t> out;
  if (!e) return out;
  bool several = e->kind == EndpointKind::External && e->ips.size() > 1;
  bool seen[2] = {false, false};
  for (size_t i = 0; i < e->ips.size(); ++i) {
    if (!several && seen[e->ips[i].v6]) continue;
    seen[e->ips[i].v6] = true;
    out.push_back(i);
  }
  return out;
}

} // namespace

std::vector<std::pair<size_t, size_t>> packet_addresses(const Endpoint* from, const Endpoint* to,
                                                        std::optional<Protocol> proto) {
  std::vector<size_t> fa = candidates(from), ta = candidates(to);
  auto family_ok = [&](bool v6) {
    return !(proto == Protocol::ICMP && v6) && !(proto == Protocol::ICMPv6 && !v6);
  };
  std::vector<std::pair<size_t, size_t>> out;
  if (fa.empty() && ta.empty()) return {{0, 0}};
  if (fa.empty()) {
    for (size_t b : ta)
      if (family_ok(to->ips[b].v6)) out.emplace_back(0, b);
  } else if (ta.empty()) {
    for (size_t a : fa)
      if (family_ok(from->ips[a].v6)) out.emplace_back(a, 0);
  } else {
    for (size_t a : fa)
      for (size_t b : ta)
        if (from->ips[a].v6 == to->ips[b].v6 && family_ok(from->ips[a].v6)) out.emplace_back(a, b);
  }
  if (out.empty()) out.emplace_back(0, 0);
  return out;
}

} // namespace moat::cli
