// Synthetic policies of N rules for the benchmarks: one isolated workload `web`, and rule i
// an ingress allow (every 20th a deny) from a distinct /32 in 172.16.0.0/12 on TCP (every
// 4th UDP) port 1000 + i mod 50000 (every 10th a 100-port range). Every rule adds an
// ipcache prefix and policy entries, so map sizes grow with N while a packet's work should
// not. The same shape is written as Kubernetes NetworkPolicy YAML for the compile benchmark.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace moat::bench {

Module synthetic_policy(size_t rules);
/// The local workload `web` (10.0.0.1) the rules apply to.
Endpoint synthetic_web();
/// Rule i's source address, protocol and port.
IpAddr synthetic_source(size_t i);
Protocol synthetic_proto(size_t i);
uint16_t synthetic_port(size_t i);
bool synthetic_deny(size_t i);
/// The same policy as NetworkPolicy YAML (allows only: NetworkPolicy has no deny).
std::string synthetic_yaml(size_t rules);
/// The same policy in the moat language (with its denies).
std::string synthetic_moat(size_t rules);

} // namespace moat::bench
