// Node-pool admission on a concrete node. What a pool admits anywhere is ir/scheduling.cpp
// (shared with the verifier); here a concrete node's labels and lasting taints decide too.
#include "runtime/nodepool.h"

#include <algorithm>
#include <optional>

namespace moat::runtime {

namespace {

/// Does the concrete node satisfy requirement r?
bool holds(const KubeNode& node, const NodeRequirement& r) {
  std::optional<std::string> have;
  if (r.key == "metadata.name") {
    have = node.name;
  } else if (auto it = node.labels.find(r.key); it != node.labels.end()) {
    have = it->second;
  }
  auto in = [&] { return have && std::find(r.values.begin(), r.values.end(), *have) != r.values.end(); };
  switch (r.op) {
  case NodeRequirement::Op::In: return in();
  case NodeRequirement::Op::NotIn: return !in();
  case NodeRequirement::Op::Exists: return have.has_value();
  case NodeRequirement::Op::DoesNotExist: return !have;
  case NodeRequirement::Op::Gt:
  case NodeRequirement::Op::Lt: return have && compare_numeric(r.op, *have, r.values);
  }
  return false;
}

} // namespace

const NodePool* find_pool(const std::vector<NodePool>& pools, const KubeNode& node) {
  std::string name = node.pool();
  if (name.empty()) return nullptr;
  for (const NodePool& p : pools)
    if (p.name == name) return &p;
  return nullptr;
}

Admission node_admits(const KubeNode& node, const NodePool* pool, const KubePod& pod) {
  Admission a;
  std::vector<Taint> lasting;
  for (const Taint& t : node.taints) {
    bool startup = pool && std::any_of(pool->startup_taints.begin(), pool->startup_taints.end(),
                                       [&](const Taint& s) { return s.key == t.key && s.effect == t.effect; });
    bool condition = t.key.rfind("node.kubernetes.io/", 0) == 0;
    if (!startup && !condition) lasting.push_back(t);
  }
  check_taints(lasting, pod.ep.sched, a, "node");
  check_node_selectors(pod.ep.sched, a, [&](const NodeRequirement& r) { return holds(node, r); });
  if (pool) {
    Admission p = pool_admits(*pool, pod.ep);
    for (auto& why : p.reasons)
      if (std::find(a.reasons.begin(), a.reasons.end(), why) == a.reasons.end()) a.reject(why);
  }
  return a;
}

NodePlan plan_node(const KubeNode& node, const std::vector<NodePool>& pools, const Inventory& inv,
                   Diagnostics& diags) {
  NodePlan plan;
  plan.pool_name = node.pool();
  plan.pool = find_pool(pools, node);
  if (!plan.pool_name.empty() && !plan.pool)
    diags.report(Code::W806, node.range,
                 "node " + node.name + " belongs to pool '" + plan.pool_name +
                     "', which the bundle does not define; only the node's own taints and labels decide");
  for (const KubePod& pod : inv.pods) {
    if (!pod.is_workload()) continue;
    if (!plan.pool || pool_admits(*plan.pool, pod.ep).admitted) plan.runnable.push_back(&pod);
    if (pod.ep.node != node.name) continue;
    plan.local.push_back(&pod);
    Admission a = node_admits(node, plan.pool, pod);
    if (!a.admitted) {
      std::string msg = "pod " + pod.ep.name + " runs on node " + node.name + " but ";
      msg += plan.pool ? "pool '" + plan.pool->name + "'" : std::string("the node");
      msg += " would not admit it: ";
      for (size_t i = 0; i < a.reasons.size(); ++i) msg += (i ? "; " : "") + a.reasons[i];
      diags.report(Code::W803, pod.ep.range, msg);
      plan.misfits.push_back({&pod, std::move(a)});
    }
  }
  return plan;
}

} // namespace moat::runtime
