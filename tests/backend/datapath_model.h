// A model of the generated datapath's decision, in C++, over the map contents the loader
// would write: the same lookups in the same order (neighbour discovery, local endpoint,
// the egress source check, self = the remote address is the endpoint's own, ipcache with longest prefix, host check, (local, remote) then (local, ANY) policy
// with longest port prefix, isolation flag). Lets the tests check compute_map_contents against the
// interpreter on thousands of random policies without a kernel; the kernel tests then
// check the real programs against the same oracle.
#pragma once
#include <optional>

#include "backend/bundle/map_contents.h"
#include "backend/bundle/plan.h"
#include "ir/ir.h"

namespace moat::test {

/// Verdict of one direction at the local endpoint whose map value is `local`.
bool model_direction(const bundle::MapContents& c, const bundle::DatapathPlan& plan, const abi::EndpointValue& local,
                     Direction dir, const IpAddr& local_ip, const IpAddr& remote_ip, Protocol proto, uint16_t port);

/// Connection verdict S -> D (egress at S if a workload, ingress at D if a workload), with
/// the family of the addresses chosen as the kernel engine does; nullopt when no common
/// family exists. `index_of_src/dst` index the endpoints given to compute_map_contents
/// (every workload local with ifindex = index + 1).
std::optional<bool> model_connection(const bundle::MapContents& c, const bundle::DatapathPlan& plan,
                                     const std::vector<Endpoint>& eps, size_t src, size_t dst, Protocol proto,
                                     uint16_t port);

} // namespace moat::test
