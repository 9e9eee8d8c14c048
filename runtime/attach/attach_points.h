// Where each local pod is enforced, decided by the node alone: for tc, the host interface
// the node routes the pod's addresses out of (pod_interface.h); for cgroup_skb, the pod's
// cgroup under the kubepods hierarchy by its UID (kubepods.h; a static pod's mirror by the
// kubelet's UID for it, static_pods.h). Nothing a pod's owner writes (annotations, labels,
// names) decides it: the one annotation read, a mirror pod's, is checked against what the
// owner cannot forge. A pod whose attach point cannot be found, or
// whose attach point another pod claims too, gets a `problem` and an E810/E811 diagnostic;
// the agent then keeps the node not-ready instead of running the pod unenforced.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "runtime/inventory.h"
#include "runtime/inventory/terminating.h"

namespace moat::runtime::attach {

enum class AttachKind : uint8_t { Tc, Cgroup };

/// Agent flags: --attach, --kubepods-root, --attach-override.
struct AttachConfig {
  AttachKind kind = AttachKind::Tc;
  std::string kubepods_root;  // "" = autodetect under the cgroup v2 mount
  /// Test-only: "ns/pod" -> interface name, or cgroup directory (a value starting with '/').
  /// Still subject to the never-a-pod's checks below.
  std::map<std::string, std::string> overrides;
};

/// Parses one --attach-override "NS/POD=IFACE" or "NS/POD=/cgroup/dir".
bool parse_override(const std::string& text, AttachConfig& cfg, std::string& error);

/// One local workload pod and where it is enforced.
struct PodAttach {
  const KubePod* pod = nullptr;
  std::string iface;  // tc
  int ifindex = 0;
  std::string cgroup;  // cgroup_skb
  uint64_t cgroup_id = 0;
  std::string problem;  // "" when found
  /// Found, but another local pod claims the same interface or cgroup (E811): it keeps its
  /// attach point, so a dispatcher with no endpoint entry drops its traffic (fail closed),
  /// and it is not enforced as either pod.
  bool conflict = false;
};

/// Finds the attach point of every workload pod of `inv` placed on `node` (inventory
/// order); `live` is the inventory's live pod addresses. Problems are reported as E810 /
/// E811 at the pod's source range.
std::vector<PodAttach> find_attach_points(const KubeNode& node, const Inventory& inv,
                                          const inventory::LiveAddresses& live, const AttachConfig& cfg,
                                          Diagnostics& diags);

/// Interfaces and cgroups that belong to no pod: loopback and uplinks (default-route
/// interfaces); the cgroup v2 root, the kubepods root and its QoS parents. A dispatcher
/// found on one of them was put there by something other than this agent's discovery
/// (an older agent that obeyed pod annotations) and is removed.
bool never_pod_interface(int ifindex);
bool never_pod_cgroup(uint64_t cgroup_id, const AttachConfig& cfg);

} // namespace moat::runtime::attach
