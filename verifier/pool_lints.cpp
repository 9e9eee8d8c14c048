// Node pool lints (W505, W506). A pool is a GPU pool when GPUs show in its limits, labels
// or requirements (nvidia.com/gpu, amd.com/gpu, karpenter.k8s.aws/instance-gpu-*, or an
// instance family or category of GPU instances such as g5, p4d, p5). Without a
// NoSchedule/NoExecute taint, any pod may land on such expensive nodes (and, for moat,
// share nodes with the GPU workloads it isolates); the startup taint does not count, it
// is lifted once the node is ready.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "ir/interp.h"
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
  if (!opts.inventory) return;
  for (const Endpoint& e : *opts.inventory) {
    if (e.kind != EndpointKind::Workload || gpus_requested(e) <= 0) continue;
    bool admitted = std::any_of(m.pools.begin(), m.pools.end(), [&](const NodePool& p) {
      return std::any_of(p.admits.begin(), p.admits.end(),
                         [&](const EndpointSelector& a) { return endpoint_selector_matches(a, e); });
    });
    if (admitted) continue;
    Diagnostic& d = diags.report(Code::W506, SourceRange{},
                                 fmt::format("{} requests {} GPU(s) but no node pool admits it: it will stay pending",
                                             describe_endpoint(e), gpus_requested(e)));
    for (const NodePool* p : gpu_pools) d.notes.push_back(DiagNote{p->range, "GPU pool '" + p->name + "' does not admit it"});
  }
}

} // namespace moat
