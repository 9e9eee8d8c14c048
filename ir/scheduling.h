// Where a workload may run: whether a node pool (a Karpenter NodePool or a moat `nodepool`)
// can take a workload, from the workload's scheduling inputs (Endpoint::sched: tolerations,
// nodeSelector, required node affinity) and the pool's taints, labels, requirements and
// `admits` list. This is reference semantics shared by the verifier (W506, `prove nodepool
// P admits W` over an inventory) and the runtime (which workloads a node needs); the
// runtime adds the checks that need a concrete node (runtime/nodepool.h).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace moat {

/// The node label Karpenter sets to the name of the NodePool that launched the node.
inline constexpr const char* kNodePoolLabel = "karpenter.sh/nodepool";

/// Why a workload may or may not run somewhere; `reasons` is empty when admitted, else
/// each says what refuses it, e.g. "does not tolerate pool taint nvidia.com/gpu=true:NoSchedule".
struct Admission {
  bool admitted = true;
  std::vector<std::string> reasons;
  void reject(std::string why) {
    admitted = false;
    reasons.push_back(std::move(why));
  }
};

/// Does toleration `t` tolerate taint `taint`? (Kubernetes' ToleratesTaint.)
bool tolerates(const Toleration& t, const Taint& taint);

/// Could workload `w` be scheduled onto some node that `pool` launches? Mirrors Karpenter's
/// scheduling simulation for the basics: the pool's taints (NoSchedule, NoExecute) must be
/// tolerated (startup taints are ignored, as Karpenter does), the nodeSelector and required
/// node affinity must be satisfiable by the labels the pool's nodes can carry (template
/// labels, requirements, well-known labels), and when the pool lists `admits` selectors
/// the workload must match one. Resource requests and pool limits are not compared.
Admission pool_admits(const NodePool& pool, const Endpoint& w);

/// Adds a reason to `out` for every NoSchedule / NoExecute taint of `taints` that `s` does
/// not tolerate; `where` names their owner in the reason ("pool", "node").
void check_taints(const std::vector<Taint>& taints, const Scheduling& s, Admission& out, const char* where);

/// Adds a reason to `out` when the nodeSelector or the required node affinity of `s` cannot
/// be met, `ok` deciding one requirement (on a pool: satisfiable; on a node: holds).
void check_node_selectors(const Scheduling& s, Admission& out,
                          const std::function<bool(const NodeRequirement&)>& ok);

/// Gt / Lt of a node requirement: both sides integers, `have` above (below) the one value.
bool compare_numeric(NodeRequirement::Op op, const std::string& have, const std::vector<std::string>& values);

/// "nvidia.com/gpu=true:NoSchedule".
std::string taint_text(const Taint& t);

} // namespace moat
