// Which addresses a pod being deleted still holds: between the CNI tearing down a pod's
// sandbox and the kubelet deleting its object (seconds, or minutes when a volume does not
// unmount) the object lingers with `metadata.deletionTimestamp` and its old addresses,
// which the IPAM may already have given to a new pod. A live pod's claim wins.
#pragma once
#include <vector>

#include "runtime/inventory.h"

namespace moat::runtime::inventory {

/// The addresses of every workload pod of one inventory version that is not being deleted.
/// Derived once per version (the cluster source keeps it next to the inventory: the attach
/// points, the desired state and the drop log's names all ask it), sorted for lookup.
class LiveAddresses {
public:
  LiveAddresses() = default;
  explicit LiveAddresses(const Inventory& inv);
  bool contains(const IpAddr& ip) const;
  size_t size() const { return sorted_.size(); }

private:
  std::vector<IpAddr> sorted_;  // distinct
};

/// The addresses `pod` is identified by: all of them for a live pod; for a terminating one,
/// those no live pod (`live`, of the same inventory) claims too.
std::vector<IpAddr> held_addresses(const KubePod& pod, const LiveAddresses& live);

} // namespace moat::runtime::inventory
