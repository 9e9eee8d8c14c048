// From a policy (the manifest's rules and isolations) and a set of concrete endpoints to
// the exact contents of the datapath's maps: identities, ipcache, local endpoints and the
// policy entries with deny precedence resolved (Cilium's mapstate idea).
//
// Identities: every endpoint is described by what the policy can see of it, and equal
// descriptions share an identity: workloads by namespace + namespace labels + pod labels +
// named ports; host / remote-node / kube-apiserver are reserved; a known external endpoint
// (an inventory or cases-file entry, an address learned from DNS) by its addresses and
// names; every other address by its *CIDR class* — the longest policy prefix covering it
// (all CIDR and except prefixes of the policy are in the ipcache, so every address under the
// same longest prefix is matched by the same CIDR peers); no prefix at all -> WORLD. A
// cluster address under a prefix of a `networks` peer (Peer::cidr_any_address) gets an
// address class identity: its endpoint's description plus the longest such prefix.
//
// Entries: for each local identity L, direction d and remote identity R that some rule
// (of any tier) with a non-universal peer matches, the (protocol, port) space is cut into
// the intervals where the set of matching rules is constant; each interval covered by some
// rule gets the tiered verdict (port_cells.h: first admin match, Policy deny, baseline where
// L is not isolated, Policy allow, else "the isolation flag decides"; datapath rule ids,
// plan.h) as LPM port prefixes keyed (L, R, d, proto, port). Rules whose peer matches
// everything go to (L, ANY, d, ...) the same way. The datapath looks up (L, R) then (L, ANY)
// and falls back to the isolation flag of L in d: the steps of ir/interp.cpp, decided by the
// same functions as the reference interpreter (ir/interp.h) evaluated on one representative
// endpoint per identity.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <string>
#include <vector>

#include "backend/bundle/datapath_abi.h"
#include "ir/ir.h"

namespace moat::bundle {

/// Stable identity numbers across recomputations (the agent keeps one for its lifetime,
/// so adding an endpoint never renumbers the others).
class IdentityAllocator {
public:
  /// The identity for a description key; allocates the next free number on first use.
  uint32_t get(const std::string& key, bool external);
  size_t size() const { return ids_.size(); }
  /// Forgets every key but `keep` (their numbers stay; forgotten numbers are not reused),
  /// so keys that come and go — an FQDN address's changing name set — do not pile up.
  void retain(const std::vector<std::string>& keep);

private:
  std::unordered_map<std::string, uint32_t> ids_;
  uint32_t next_workload_ = abi::kFirstWorkloadIdentity;
  uint32_t next_external_ = abi::kFirstExternalIdentity;
};

/// Where a local endpoint's packets are seen: a tc program on an interface or a
/// cgroup_skb program on a cgroup. Both may be set.
struct LocalAttachment {
  size_t endpoint = 0;   // index into the endpoints vector
  uint32_t ifindex = 0;  // 0: none
  uint64_t cgroup_id = 0;  // 0: none
};

/// One identity and its description key (what the policy can see of its endpoints).
struct IdentityInfo {
  uint32_t id = 0;
  std::string key;
  /// The name of the endpoint that stands for it (the agent tells its learned FQDN
  /// addresses apart by it; a name, not a copy of the endpoint).
  std::string name;
};

struct MapContents {
  std::vector<std::pair<abi::IpcacheKey, uint32_t>> hosts;    // full-length addresses (hash)
  std::vector<std::pair<abi::IpcacheKey, uint32_t>> ipcache;  // shorter prefixes (LPM)
  std::vector<std::pair<abi::EndpointKey, abi::EndpointValue>> endpoints;
  std::vector<std::pair<abi::PolicyKey, abi::PolicyValue>> policy_exact;  // one port (hash)
  std::vector<std::pair<abi::PolicyKey, abi::PolicyValue>> policy;        // port prefixes (LPM)
  std::vector<IdentityInfo> identities;   // sorted by id
  std::vector<uint32_t> endpoint_identity;  // parallel to the endpoints given (an external
                                            // with several addresses: its first address's)
};

/// Computes the maps for a node whose local endpoints are `locals` (indexes into
/// `endpoints`); policy entries are computed for the local identities only. `endpoints`
/// holds every endpoint the node should know (workloads of the cluster, host, remote
/// nodes, the API server, known external endpoints). Endpoints of kind Host map to the
/// reserved HOST identity (the host of the node the maps are for), remote nodes to
/// REMOTE_NODE, unless a `nodes` peer reads labels they carry: then each (kind, label set
/// under the keys such peers read) has an identity of its own; the host's addresses keep
/// kIdentityNodeHost either way.
MapContents compute_map_contents(const Module& policy, const std::vector<Endpoint>& endpoints,
                                 const std::vector<LocalAttachment>& locals, IdentityAllocator& ids);
/// The same over endpoints held elsewhere, not copied (the agent's desired state points
/// into its inventory); `locals` index `endpoints`, which must outlive the call.
MapContents compute_map_contents(const Module& policy, const std::vector<const Endpoint*>& endpoints,
                                 const std::vector<LocalAttachment>& locals, IdentityAllocator& ids);

/// Encoders shared with tests and the loader.
abi::IpcacheKey ipcache_key(const IpPrefix& prefix);
abi::PolicyKey policy_key(uint32_t local, uint32_t remote, Direction dir, uint8_t proto,
                          uint16_t port, uint32_t prefixlen);
abi::EndpointKey endpoint_key(uint32_t kind, uint64_t id);
/// The attachment's own number in conntrack keys: kind << 56 | id (unique per attachment,
/// stable while it exists; cgroup ids and ifindexes stay far below 2^56).
uint64_t endpoint_conntrack_id(const abi::EndpointKey& key);
/// The addresses the endpoint may send from: the first abi::kMaxEndpointAddrs of `ips`
/// (Kubernetes gives a pod at most one per family; further ones fail closed: dropped as
/// spoofed).
void set_endpoint_addresses(abi::EndpointValue& v, const std::vector<IpAddr>& ips);

} // namespace moat::bundle
