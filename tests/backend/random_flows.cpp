// Endpoints for the datapath differential tests (see random_flows.h).
#include "random_flows.h"

#include <cstdlib>
#include <set>

namespace moat::test {

std::vector<Endpoint> datapath_endpoints(testing::RandomModules& gen, const Module& m, size_t n) {
  std::vector<Endpoint> out;
  std::set<IpAddr> used;
  uint32_t extra = 0;
  for (Endpoint e : gen.endpoints(m, n)) {
    e.node.clear();
    bool clash = false;
    for (const IpAddr& ip : e.ips) clash |= used.count(ip) > 0;
    if (clash) continue;
    // Every other workload gets a second address of its family (198.18.0.0/15, 2001:2::/48:
    // benchmarking ranges no generated endpoint uses), so that self traffic from one of a
    // workload's addresses to another is exercised. Chosen by position, not by the
    // generator, so the seeds keep their policies and flows.
    if (e.kind == EndpointKind::Workload && !e.ips.empty() && out.size() % 2 == 1) {
      ++extra;
      e.ips.push_back(*IpAddr::parse(e.ips[0].v6 ? "2001:2::" + std::to_string(extra)
                                                 : "198.18.0." + std::to_string(extra)));
    }
    for (const IpAddr& ip : e.ips) used.insert(ip);
    out.push_back(std::move(e));
  }
  return out;
}

uint64_t differential_seed() {
  const char* s = std::getenv("MOAT_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 20240611;
}

} // namespace moat::test
