// Endpoints for the datapath differential tests (see random_flows.h).
#include "random_flows.h"

#include <cstdlib>
#include <set>

namespace moat::test {

std::vector<Endpoint> datapath_endpoints(testing::RandomModules& gen, const Module& m, size_t n) {
  std::vector<Endpoint> out;
  std::set<IpAddr> used;
  for (Endpoint e : gen.endpoints(m, n)) {
    e.node.clear();
    bool clash = false;
    for (const IpAddr& ip : e.ips) clash |= used.count(ip) > 0;
    if (clash) continue;
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
