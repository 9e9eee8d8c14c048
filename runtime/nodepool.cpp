// Node-pool admission. A pool is a family of nodes; a label of those nodes is either fixed
// (template labels), constrained (requirements), always present with an unknown value
// (well-known labels Karpenter or the cloud sets), or absent (any other key). A pod's
// nodeSelector and required node affinity are satisfiable on the pool when each term can
// hold for some node of that family.
#include "runtime/nodepool.h"

#include <algorithm>
#include <optional>
#include <set>

#include "ir/interp.h"

namespace moat::runtime {

namespace {

/// Labels every node carries whatever the pool says (their values are chosen at launch).
bool well_known(const std::string& key) {
  static const std::set<std::string> kKeys = {
      "kubernetes.io/arch", "kubernetes.io/os", "kubernetes.io/hostname",
      "node.kubernetes.io/instance-type", "topology.kubernetes.io/zone",
      "topology.kubernetes.io/region", "karpenter.sh/capacity-type",
      "beta.kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type",
      "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region"};
  return kKeys.count(key) || key.rfind("karpenter.k8s.aws/", 0) == 0 ||
         key.rfind("karpenter.azure.com/", 0) == 0;
}

/// The values a label key can take on the pool's nodes.
struct Domain {
  bool may_be_absent = true;
  bool may_be_present = false;
  std::optional<std::set<std::string>> only;  // present values restricted to this set
  std::set<std::string> never;                // present values excluded

  bool allows(const std::string& v) const {
    return may_be_present && (!only || only->count(v)) && !never.count(v);
  }
  /// Some present value outside `vals`? Unbounded domains always have one.
  bool has_value_outside(const std::vector<std::string>& vals) const {
    if (!may_be_present) return false;
    if (!only) return true;
    for (const auto& v : *only)
      if (!never.count(v) && std::find(vals.begin(), vals.end(), v) == vals.end()) return true;
    return false;
  }
  template <class Pred>
  bool some_value(Pred pred) const {
    if (!may_be_present) return false;
    if (!only) return true;  // unknown values: assume one fits, as the scheduler would try
    for (const auto& v : *only)
      if (!never.count(v) && pred(v)) return true;
    return false;
  }
};

Domain domain_of(const NodePool& pool, const std::string& key) {
  Domain d;
  if (auto it = pool.labels.find(key); it != pool.labels.end()) {
    d.may_be_absent = false;
    d.may_be_present = true;
    d.only = std::set<std::string>{it->second};
    return d;
  }
  if (key == kNodePoolLabel) {
    d.may_be_absent = false;
    d.may_be_present = true;
    d.only = std::set<std::string>{pool.name};
    return d;
  }
  bool constrained = false;
  for (const LabelRequirement& r : pool.requirements) {
    if (r.key != key) continue;
    if (!constrained) {  // the first requirement on a key turns "unknown" into "defined"
      constrained = true;
      d.may_be_present = true;
      d.may_be_absent = !well_known(key);
    }
    switch (r.op) {
    case LabelRequirement::Op::In: {
      std::set<std::string> vals(r.values.begin(), r.values.end());
      if (d.only) {
        std::set<std::string> both;
        std::set_intersection(d.only->begin(), d.only->end(), vals.begin(), vals.end(),
                              std::inserter(both, both.end()));
        d.only = both;
      } else {
        d.only = vals;
      }
      d.may_be_absent = false;
      break;
    }
    case LabelRequirement::Op::NotIn: d.never.insert(r.values.begin(), r.values.end()); break;
    case LabelRequirement::Op::Exists: d.may_be_absent = false; break;
    case LabelRequirement::Op::DoesNotExist: d.may_be_present = false; break;
    }
  }
  if (!constrained && well_known(key)) {
    d.may_be_absent = false;
    d.may_be_present = true;
  }
  if (d.only && std::all_of(d.only->begin(), d.only->end(), [&](const std::string& v) { return d.never.count(v) > 0; }))
    d.may_be_present = false;  // every allowed value is excluded
  return d;
}

std::optional<long long> to_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end) return std::nullopt;
  return v;
}

const char* op_name(NodeRequirement::Op op) {
  switch (op) {
  case NodeRequirement::Op::In: return "In";
  case NodeRequirement::Op::NotIn: return "NotIn";
  case NodeRequirement::Op::Exists: return "Exists";
  case NodeRequirement::Op::DoesNotExist: return "DoesNotExist";
  case NodeRequirement::Op::Gt: return "Gt";
  case NodeRequirement::Op::Lt: return "Lt";
  }
  return "?";
}

std::string describe(const NodeRequirement& r) {
  std::string s = r.key + " " + op_name(r.op);
  if (!r.values.empty()) {
    s += " [";
    for (size_t i = 0; i < r.values.size(); ++i) s += (i ? ", " : "") + r.values[i];
    s += "]";
  }
  return s;
}

bool compare(NodeRequirement::Op op, const std::string& have, const std::vector<std::string>& vals) {
  if (vals.size() != 1) return false;
  auto a = to_int(have), b = to_int(vals[0]);
  if (!a || !b) return false;
  return op == NodeRequirement::Op::Gt ? *a > *b : *a < *b;
}

/// Can some node of the pool satisfy requirement r?
bool satisfiable(const NodePool& pool, const NodeRequirement& r) {
  if (r.key == "metadata.name") return true;  // any node name can be chosen
  Domain d = domain_of(pool, r.key);
  switch (r.op) {
  case NodeRequirement::Op::In:
    return std::any_of(r.values.begin(), r.values.end(), [&](const std::string& v) { return d.allows(v); });
  case NodeRequirement::Op::NotIn: return d.may_be_absent || d.has_value_outside(r.values);
  case NodeRequirement::Op::Exists: return d.may_be_present;
  case NodeRequirement::Op::DoesNotExist: return d.may_be_absent;
  case NodeRequirement::Op::Gt:
  case NodeRequirement::Op::Lt:
    return d.some_value([&](const std::string& v) { return compare(r.op, v, r.values); });
  }
  return false;
}

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
  case NodeRequirement::Op::Lt: return have && compare(r.op, *have, r.values);
  }
  return false;
}

std::string taint_str(const Taint& t) {
  return t.key + (t.value.empty() ? "" : "=" + t.value) + ":" + t.effect;
}

bool hard(const Taint& t) { return t.effect == "NoSchedule" || t.effect == "NoExecute"; }

void check_taints(const std::vector<Taint>& taints, const KubePod& pod, Admission& out,
                  const char* where) {
  for (const Taint& t : taints) {
    if (!hard(t)) continue;
    bool ok = std::any_of(pod.sched.tolerations.begin(), pod.sched.tolerations.end(),
                          [&](const Toleration& tol) { return tolerates(tol, t); });
    if (!ok) out.reject(std::string("does not tolerate ") + where + " taint " + taint_str(t));
  }
}

/// nodeSelector and required node affinity, with `ok(req)` deciding one requirement.
template <class Ok>
void check_selectors(const KubePod& pod, Admission& out, Ok ok) {
  for (const auto& [k, v] : pod.sched.node_selector) {
    NodeRequirement r{k, NodeRequirement::Op::In, {v}};
    if (!ok(r)) out.reject("nodeSelector " + k + "=" + v + " cannot be met");
  }
  if (pod.sched.required_terms.empty()) return;
  // Terms are ORed; a term holds when all its expressions do.
  std::string first_failure;
  for (const auto& term : pod.sched.required_terms) {
    auto bad = std::find_if(term.begin(), term.end(), [&](const NodeRequirement& r) { return !ok(r); });
    if (bad == term.end()) return;
    if (first_failure.empty()) first_failure = describe(*bad);
  }
  out.reject("required node affinity cannot be met (" + first_failure + ")");
}

} // namespace

bool tolerates(const Toleration& t, const Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (t.key.empty()) return t.exists;  // empty key + Exists tolerates everything
  if (t.key != taint.key) return false;
  return t.exists || t.value == taint.value;
}

const NodePool* find_pool(const std::vector<NodePool>& pools, const KubeNode& node) {
  std::string name = node.pool();
  if (name.empty()) return nullptr;
  for (const NodePool& p : pools)
    if (p.name == name) return &p;
  return nullptr;
}

Admission pool_admits(const NodePool& pool, const KubePod& pod) {
  Admission a;
  check_taints(pool.taints, pod, a, "pool");
  check_selectors(pod, a, [&](const NodeRequirement& r) { return satisfiable(pool, r); });
  if (!pool.admits.empty()) {
    bool listed = std::any_of(pool.admits.begin(), pool.admits.end(),
                              [&](const EndpointSelector& s) { return endpoint_selector_matches(s, pod.ep); });
    if (!listed) a.reject("not among the workloads the pool admits");
  }
  return a;
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
  check_taints(lasting, pod, a, "node");
  check_selectors(pod, a, [&](const NodeRequirement& r) { return holds(node, r); });
  if (pool) {
    Admission p = pool_admits(*pool, pod);
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
    if (!plan.pool || pool_admits(*plan.pool, pod).admitted) plan.runnable.push_back(&pod);
    if (pod.ep.node != node.name) continue;
    plan.local.push_back(&pod);
    Admission a = node_admits(node, plan.pool, pod);
    if (!a.admitted) {
      std::string msg = "pod " + pod.ep.name + " runs on node " + node.name + " but ";
      msg += plan.pool ? "pool '" + plan.pool->name + "'" : std::string("the node");
      msg += " would not admit it: ";
      for (size_t i = 0; i < a.reasons.size(); ++i) msg += (i ? "; " : "") + a.reasons[i];
      diags.report(Code::W803, pod.range, msg);
      plan.misfits.push_back({&pod, std::move(a)});
    }
    if (pod.ep.iface.empty() && pod.ep.cgroup.empty()) {
      diags.report(Code::W805, pod.range,
                   "pod " + pod.ep.name + " has neither a moat.dev/interface nor a moat.dev/cgroup "
                   "annotation; its traffic is not enforced on this node");
      plan.unattached.push_back(&pod);
    }
  }
  return plan;
}

} // namespace moat::runtime
