// Which addresses a pod being deleted still holds: between the CNI tearing down a pod's
// sandbox and the kubelet deleting its object (seconds, or minutes when a volume does not
// unmount) the object lingers with `metadata.deletionTimestamp` and its old addresses,
// which the IPAM may already have given to a new pod. A live pod's claim wins.
#pragma once
#include <set>
#include <vector>

#include "runtime/inventory.h"

namespace moat::runtime::inventory {

/// The addresses of every workload pod that is not being deleted.
std::set<IpAddr> live_pod_addresses(const Inventory& inv);

/// The addresses `pod` is identified by: all of them for a live pod; for a terminating one,
/// those no live pod (`live`, from live_pod_addresses) claims too.
std::vector<IpAddr> held_addresses(const KubePod& pod, const std::set<IpAddr>& live);

} // namespace moat::runtime::inventory
