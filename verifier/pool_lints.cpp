// Node pool lints (W505, W506). A pool is a GPU pool when GPUs show in its limits, labels
// or requirements (nvidia.com/gpu, amd.com/gpu, karpenter.k8s.aws/instance-gpu-*, or an
// instance family or category of GPU instances such as g5, p4d, p5). Without a
// NoSchedule/NoExecute taint, any pod may land on such expensive nodes (and, for moat,
// share nodes with the GPU workloads it isolates); the startup taint does not count, it
// is lifted once the node is ready. W506: a workload (of --inventory, else of the sources) requesting GPUs (any
// extended resource whose name contains "gpu") that no GPU pool admits, by the scheduler's
// rules of ir/scheduling.h (taints tolerated, nodeSelector / affinity satisfiable, `admits`).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "ir/interp.h"
#include "ir/scheduling.h"
#include "verifier/verifier.h"

namespace moat {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool gpu_key(const std::string& key) { return lower(key).find("gpu") != std::string::npos; }

/// EC2 accelerated-computing families: g4dn, g5, g6e, p3, p4d, p5, ... (and category g/p).
bool gpu_family(const std::string& v) {
  std::string s = lower(v);
  return s.size() >= 2 && (s[0] == 'g' || s[0] == 'p') && std::isdigit(static_cast<unsigned char>(s[1]));
}

/// Where the pool says it has GPUs, or nullopt.
std::optional<std::pair<SourceRange, std::string>> gpu_evidence(const NodePool& p) {
  for (const auto& [k, v] : p.limits)
    if (gpu_key(k)) return std::make_pair(p.range, fmt::format("limits {}: {}", k, v));
  for (const auto& [k, v] : p.labels)
    if (gpu_key(k)) return std::make_pair(p.range, fmt::format("label {}={}", k, v));
  for (const LabelRequirement& r : p.requirements) {
    if (r.op == LabelRequirement::Op::NotIn || r.op == LabelRequirement::Op::DoesNotExist) continue;
    if (gpu_key(r.key)) return std::make_pair(r.range, "requirement on " + r.key);
    bool family = r.key == "node.kubernetes.io/instance-family" || r.key == "karpenter.k8s.aws/instance-family";
    bool category = r.key == "karpenter.k8s.aws/instance-category";
    for (const std::string& v : r.values)
      if ((family && gpu_family(v)) || (category && (v == "g" || v == "p")))
        return std::make_pair(r.range, fmt::format("requirement {} in [{}]", r.key, v));
  }
  return std::nullopt;
}

bool has_blocking_taint(const NodePool& p) {
  return std::any_of(p.taints.begin(), p.taints.end(),
                     [](const Taint& t) { return t.effect == "NoSchedule" || t.effect == "NoExecute"; });
}

/// Extended GPU resources requested by an inventory endpoint (0 when none).
long gpus_requested(const Endpoint& e) {
  long n = 0;
  for (const auto& [k, v] : e.resources)
    if (gpu_key(k)) n += std::strtol(v.c_str(), nullptr, 10);
  return n;
}

std::string gpu_request_text(const Endpoint& e) {
  std::string out;
  for (const auto& [k, v] : e.resources)
    if (gpu_key(k)) out += (out.empty() ? "" : ", ") + k + ": " + v;
  return out;
}

} // namespace

void run_pool_lints(const Module& m, const VerifyOptions& opts, Diagnostics& diags) {
  std::vector<const NodePool*> gpu_pools;
  for (const NodePool& p : m.pools) {
    auto ev = gpu_evidence(p);
    if (!ev) continue;
    gpu_pools.push_back(&p);
    if (has_blocking_taint(p)) continue;
    Diagnostic& d = diags.report(Code::W505, p.range,
                                 fmt::format("node pool '{}' provides GPUs but has no NoSchedule or NoExecute taint: "
                                             "any workload can be scheduled on its nodes (add e.g. "
                                             "`taint nvidia.com/gpu=true:NoSchedule`)",
                                             p.name));
    d.notes.push_back(DiagNote{ev->first, "GPUs: " + ev->second});
  }
  // W506 needs an inventory (what pods request, tolerate and select) and sources that
  // describe provisioning at all: without any node pool there is nothing to check against.
  // The workloads are the --inventory's, else those found among the sources (Deployments
  // and other Kubernetes workload objects next to the policies).
  const std::vector<Endpoint>* workloads = opts.inventory ? opts.inventory : &m.cluster_workloads;
  if (workloads->empty() || m.pools.empty()) return;
  for (const Endpoint& e : *workloads) {
    if (e.kind != EndpointKind::Workload || gpus_requested(e) <= 0) continue;
    // Admission is the scheduler's (ir/scheduling.h), the same the agent uses on a node.
    std::vector<Admission> why;
    bool admitted = false;
    for (const NodePool* p : gpu_pools) {
      why.push_back(pool_admits(*p, e));
      admitted = admitted || why.back().admitted;
    }
    if (admitted) continue;
    std::string msg = gpu_pools.empty()
                          ? fmt::format("{} requests {} but no node pool provides GPUs: it will stay pending",
                                        describe_endpoint(e), gpu_request_text(e))
                          : fmt::format("{} requests {} but no GPU node pool admits it: it will stay pending",
                                        describe_endpoint(e), gpu_request_text(e));
    Diagnostic& d = diags.report(Code::W506, e.range, msg);
    for (size_t i = 0; i < gpu_pools.size(); ++i)
      d.notes.push_back(DiagNote{gpu_pools[i]->range, fmt::format("GPU pool '{}' does not admit it: {}",
                                                                  gpu_pools[i]->name, why[i].reasons.front())});
  }
}

} // namespace moat
