// The mirror-pod rules of static_pods.h.
#include "runtime/attach/static_pods.h"

#include "runtime/attach/kubepods.h"

namespace moat::runtime::attach {

CgroupUid cgroup_uid(const KubePod& pod, const KubeNode& node, const std::set<std::string>& api_uids) {
  CgroupUid out{pod.uid, ""};
  if (pod.mirror_of.empty()) return out;
  const std::string claim = "its kubernetes.io/config.mirror annotation ('" + pod.mirror_of.substr(0, 64) + "')";
  if (pod.owner.kind != "Node" || pod.owner.name != node.name)
    out.note = claim + " is ignored: the pod is not owned by Node " + node.name + ", as the kubelet's mirror pods are";
  else if (!node.uid.empty() && pod.owner.uid != node.uid)
    out.note = claim + " is ignored: its owner reference does not carry Node " + node.name + "'s uid";
  else if (!valid_pod_uid(pod.mirror_of))
    out.note = claim + " is ignored: not a Kubernetes UID";
  else if (api_uids.count(pod.mirror_of))
    out.note = claim + " is ignored: it names the metadata.uid of a pod in the API, never a static pod's";
  else
    out.uid = pod.mirror_of;
  return out;
}

std::set<std::string> api_pod_uids(const Inventory& inv) {
  std::set<std::string> out;
  for (const KubePod& p : inv.pods)
    if (!p.uid.empty()) out.insert(p.uid);
  return out;
}

} // namespace moat::runtime::attach
