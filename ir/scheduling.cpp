// Pool admission (see scheduling.h). A pool is a family of nodes; a label of those nodes is
// either fixed (template labels), constrained (requirements), always present with an
// unknown value (well-known labels Karpenter or the cloud sets), or absent (any other key).
// A workload's nodeSelector and required node affinity are satisfiable on the pool when each
// term can hold for some node of that family.
#include "ir/scheduling.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <set>

#include "ir/interp.h"

namespace moat {

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
    return d.some_value([&](const std::string& v) { return compare_numeric(r.op, v, r.values); });
  }
  return false;
}

bool hard(const Taint& t) { return t.effect == "NoSchedule" || t.effect == "NoExecute"; }

} // namespace

bool compare_numeric(NodeRequirement::Op op, const std::string& have, const std::vector<std::string>& values) {
  if (values.size() != 1) return false;
  auto a = to_int(have), b = to_int(values[0]);
  if (!a || !b) return false;
  return op == NodeRequirement::Op::Gt ? *a > *b : *a < *b;
}

std::string taint_text(const Taint& t) {
  return t.key + (t.value.empty() ? "" : "=" + t.value) + ":" + t.effect;
}

bool tolerates(const Toleration& t, const Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (t.key.empty()) return t.exists;  // empty key + Exists tolerates everything
  if (t.key != taint.key) return false;
  return t.exists || t.value == taint.value;
}

void check_taints(const std::vector<Taint>& taints, const Scheduling& s, Admission& out, const char* where) {
  for (const Taint& t : taints) {
    if (!hard(t)) continue;
    bool ok = std::any_of(s.tolerations.begin(), s.tolerations.end(),
                          [&](const Toleration& tol) { return tolerates(tol, t); });
    if (!ok) out.reject(std::string("does not tolerate ") + where + " taint " + taint_text(t));
  }
}

void check_node_selectors(const Scheduling& s, Admission& out,
                          const std::function<bool(const NodeRequirement&)>& ok) {
  for (const auto& [k, v] : s.node_selector) {
    NodeRequirement r{k, NodeRequirement::Op::In, {v}};
    if (!ok(r)) out.reject("nodeSelector " + k + "=" + v + " cannot be met");
  }
  if (s.required_terms.empty()) return;
  // Terms are ORed; a term holds when all its expressions do.
  std::string first_failure;
  for (const auto& term : s.required_terms) {
    auto bad = std::find_if(term.begin(), term.end(), [&](const NodeRequirement& r) { return !ok(r); });
    if (bad == term.end()) return;
    if (first_failure.empty()) first_failure = describe(*bad);
  }
  out.reject("required node affinity cannot be met (" + first_failure + ")");
}

Admission pool_admits(const NodePool& pool, const Endpoint& w) {
  Admission a;
  check_taints(pool.taints, w.sched, a, "pool");
  check_node_selectors(w.sched, a, [&](const NodeRequirement& r) { return satisfiable(pool, r); });
  if (!pool.admits.empty()) {
    bool listed = std::any_of(pool.admits.begin(), pool.admits.end(),
                              [&](const EndpointSelector& s) { return endpoint_selector_matches(s, w); });
    if (!listed) a.reject("not among the workloads the pool admits");
  }
  return a;
}

} // namespace moat
