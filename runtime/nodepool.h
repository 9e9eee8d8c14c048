// Node-pool admission on a concrete node: which workloads a Karpenter NodePool (or a moat
// `nodepool` block) lets run on its nodes (ir/scheduling.h pool_admits, shared with the
// verifier), and which of the pods already placed on this node it would not have admitted.
// The agent uses the answer to decide which local endpoints and which policy entries a node
// needs, and reports the misfits.
#pragma once
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "ir/scheduling.h"
#include "runtime/inventory.h"

namespace moat::runtime {

/// The pool named by the node's karpenter.sh/nodepool label, or nullptr.
const NodePool* find_pool(const std::vector<NodePool>& pools, const KubeNode& node);

/// Could `pod` run on this concrete node? Its labels and taints decide, except the pool's
/// startup taints and node.kubernetes.io/* condition taints, which are transient. When the
/// node has a pool, pool_admits (ir/scheduling.h) must hold too.
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
};

/// Plans the node and reports W803 (misfit) and W806 (unknown pool). Where local pods are
/// enforced is runtime/attach's business.
NodePlan plan_node(const KubeNode& node, const std::vector<NodePool>& pools,
                   const Inventory& inv, Diagnostics& diags);

} // namespace moat::runtime
