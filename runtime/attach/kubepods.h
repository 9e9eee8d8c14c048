// Finds a pod's cgroup v2 directory under the kubelet's kubepods hierarchy from the pod's
// UID (metadata.uid), for both kubelet cgroup drivers:
//   systemd:  ROOT=…/kubepods.slice   ROOT/kubepods-pod<uid_>.slice           (Guaranteed)
//                                     ROOT/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice
//                                     ROOT/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice
//   cgroupfs: ROOT=…/kubepods         ROOT/pod<uid>, ROOT/burstable/pod<uid>, ROOT/besteffort/pod<uid>
// (<uid_> is the UID with '-' replaced by '_'). The driver follows from ROOT's name: a
// `.slice` root is systemd's. The result is always strictly below ROOT, never ROOT itself,
// its QoS parents or the cgroup root.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace moat::runtime::attach {

/// A Kubernetes UID as the kubelet names cgroups after it: 1-64 of [0-9a-z-]. Anything else
/// (a '/', "..") is refused before it becomes part of a path.
bool valid_pod_uid(const std::string& uid);

/// The three places (Guaranteed, Burstable, BestEffort) a pod with `uid` can have its
/// cgroup under `root`. Empty when the UID is not valid.
std::vector<std::string> kubepods_candidates(const std::string& root, const std::string& uid);

/// The kubepods root on this node: CGROUP2/kubepods.slice (systemd driver) if it exists,
/// else CGROUP2/kubepods (cgroupfs driver), else "".
std::string detect_kubepods_root(const std::string& cgroup2_mount);

/// The pod's cgroup: exactly one candidate must exist, be a cgroup v2 directory, and lie
/// below `root` after resolving symlinks. On failure `path` is empty and `problem` says why.
struct PodCgroup {
  std::string path;
  uint64_t id = 0;
  std::string problem;
};
PodCgroup find_pod_cgroup(const std::string& root, const std::string& uid);

} // namespace moat::runtime::attach
