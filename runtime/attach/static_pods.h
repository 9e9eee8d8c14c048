// Which UID names a pod's cgroup under kubepods. For every pod the API server created it is
// metadata.uid, which the server assigns and nobody can choose. A static pod (a manifest the
// kubelet reads from its own disk) runs under the kubelet's own UID for it — the config hash,
// or the manifest's metadata.uid — and the API shows it as a *mirror pod* with a new,
// server-assigned metadata.uid and that kubelet UID in the annotation
// kubernetes.io/config.mirror.
//
// Annotations are written by whoever creates the pod, so the agent believes the mirror
// annotation only where the pod's creator could not have lied about it:
//   - the pod's controller owner reference is this Node (kind Node, this node's name and,
//     when the Node object carries one, its metadata.uid). The kubelet makes its mirror pods
//     so, and the NodeRestriction admission plugin lets a node create no other pods; a
//     tenant can write such a reference too, hence:
//   - the annotation names a valid UID that is no API pod's metadata.uid (it can never point
//     the agent at another API pod's cgroup), and
//   - the one-owner rule (attach_points.h) attaches a cgroup that two pods resolve to for
//     neither, so a forged mirror pod naming a real static pod's UID takes nothing over.
// A pod whose claim is not believed is looked up by its metadata.uid, as any pod; the
// kubelet never runs an API pod that carries the annotation, so it finds no cgroup and is
// reported (fail closed), until the kubelet deletes it as an orphaned mirror pod.
#pragma once
#include <set>
#include <string>

#include "runtime/inventory.h"

namespace moat::runtime::attach {

struct CgroupUid {
  std::string uid;   // the UID to look the cgroup up by
  std::string note;  // why a mirror annotation was not believed ("" when it was, or there is none)
};

/// `api_uids`: every pod's metadata.uid in the inventory (on any node).
CgroupUid cgroup_uid(const KubePod& pod, const KubeNode& node, const std::set<std::string>& api_uids);

/// The set `api_uids` for cgroup_uid.
std::set<std::string> api_pod_uids(const Inventory& inv);

} // namespace moat::runtime::attach
