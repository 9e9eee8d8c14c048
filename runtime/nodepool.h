// Node-pool admission: which workloads a Karpenter NodePool (or a moat `nodepool` block)
// lets run on its nodes, and which of the pods already placed on this node it would not
// have admitted. The agent uses the answer to decide which local endpoints and which
// policy entries a node needs, and reports the misfits.
#pragma once
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "runtime/inventory.h"

namespace moat::runtime {

/// Why a pod may or may not run somewhere; `reasons` is empty when admitted.
struct Admission {
  bool admitted = true;
  std::vector<std::string> reasons;
  void reject(std::string why) {
    admitted = false;
    reasons.push_back(std::move(why));
  }
};

/// The pool named by the node's karpenter.sh/nodepool label, or nullptr.
const NodePool* find_pool(const std::vector<NodePool>& pools, const KubeNode& node);

/// Could `pod` be scheduled onto some node that `pool` launches? Mirrors Karpenter's
/// scheduling simulation for the basics: the pool's taints (NoSchedule, NoExecute) must be
/// tolerated (startup taints are ignored, as Karpenter does), the nodeSelector and required
/// node affinity must be satisfiable by the labels the pool's nodes can carry (template
/// labels, requirements, well-known labels), and when the pool lists `admits` selectors
/// the pod must match one.
Admission pool_admits(const NodePool& pool, const KubePod& pod);

/// Could `pod` run on this concrete node? Its labels and taints decide, except the pool's
/// startup taints and node.kubernetes.io/* condition taints, which are transient. When the
/// node has a pool, pool_admits must hold too.
Admission node_admits(const KubeNode& node, const NodePool* pool, const KubePod& pod);

/// What the node needs: its pool, the workloads that can run on it anywhere in the
/// cluster, and the workloads placed on it.
struct NodePlan {
  const NodePool* pool = nullptr;
  std::string pool_name;                 // the node's label value (even if not in the bundle)
  std::vector<const KubePod*> runnable;  // cluster-wide pods the pool admits
  std::vector<const KubePod*> local;     // workload pods with spec.nodeName == node
  struct Misfit {
    const KubePod* pod;
    Admission why;
  };
  std::vector<Misfit> misfits;           // local pods the node or pool does not admit
  std::vector<const KubePod*> unattached;  // local pods without interface / cgroup
};

/// Plans the node and reports W803 (misfit), W805 (no attach point), W806 (unknown pool).
NodePlan plan_node(const KubeNode& node, const std::vector<NodePool>& pools,
                   const Inventory& inv, Diagnostics& diags);

/// Does toleration `t` tolerate taint `taint`? (Kubernetes' ToleratesTaint.)
bool tolerates(const Toleration& t, const Taint& taint);

} // namespace moat::runtime
