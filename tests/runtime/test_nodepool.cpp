// Node-pool admission: taints vs tolerations, nodeSelector / required node affinity vs the
// labels a pool's nodes can carry, the pool's `admits` list, and the node plan's reports.
#include <catch2/catch.hpp>

#include "runtime/nodepool.h"

using namespace moat;
using namespace moat::runtime;

namespace {

LabelRequirement req(std::string key, LabelRequirement::Op op, std::vector<std::string> vals = {}) {
  LabelRequirement r;
  r.key = std::move(key);
  r.op = op;
  r.values = std::move(vals);
  return r;
}

/// The `gpu` pool of docs/LANGUAGE.md (Node pools).
NodePool gpu_pool() {
  NodePool p;
  p.name = "gpu";
  p.requirements.push_back(req("node.kubernetes.io/instance-family", LabelRequirement::Op::In, {"g5", "p4d", "p5"}));
  p.requirements.push_back(req("karpenter.sh/capacity-type", LabelRequirement::Op::In, {"on-demand", "spot"}));
  p.taints.push_back({"nvidia.com/gpu", "true", "NoSchedule", {}});
  p.startup_taints.push_back({"moat.dev/agent-not-ready", "", "NoExecute", {}});
  p.labels["workload-type"] = "gpu";
  return p;
}

KubePod pod(std::string name) {
  KubePod p;
  p.ep.name = "kubeflow/" + name;
  p.ep.ns = "kubeflow";
  p.ep.ns_labels = {{kNamespaceNameLabel, "kubeflow"}};
  return p;
}

Toleration tol(std::string key, bool exists, std::string value = "", std::string effect = "") {
  return Toleration{std::move(key), std::move(value), std::move(effect), exists};
}

} // namespace

TEST_CASE("tolerations follow Kubernetes' matching rules") {
  Taint t{"nvidia.com/gpu", "true", "NoSchedule", {}};
  CHECK(tolerates(tol("nvidia.com/gpu", true), t));
  CHECK(tolerates(tol("nvidia.com/gpu", false, "true"), t));
  CHECK_FALSE(tolerates(tol("nvidia.com/gpu", false, "false"), t));
  CHECK(tolerates(tol("nvidia.com/gpu", true, "", "NoSchedule"), t));
  CHECK_FALSE(tolerates(tol("nvidia.com/gpu", true, "", "NoExecute"), t));
  CHECK(tolerates(tol("", true), t));            // operator Exists, no key: everything
  CHECK_FALSE(tolerates(tol("", false), t));     // Equal with no key tolerates nothing
  CHECK_FALSE(tolerates(tol("other", true), t));
}

TEST_CASE("a pool admits only pods that tolerate its taints, startup taints do not count") {
  NodePool p = gpu_pool();
  KubePod plain = pod("plain");
  Admission a = pool_admits(p, plain.ep);
  CHECK_FALSE(a.admitted);
  REQUIRE(a.reasons.size() == 1);
  CHECK(a.reasons[0] == "does not tolerate pool taint nvidia.com/gpu=true:NoSchedule");

  KubePod gpu = pod("trainer");
  gpu.ep.sched.tolerations.push_back(tol("nvidia.com/gpu", true, "", "NoSchedule"));
  CHECK(pool_admits(p, gpu.ep).admitted);

  p.taints.push_back({"soft", "", "PreferNoSchedule", {}});
  CHECK(pool_admits(p, gpu.ep).admitted);  // soft taints never block
}

TEST_CASE("node selectors must be satisfiable by the pool's labels and requirements") {
  NodePool p = gpu_pool();
  KubePod base = pod("t");
  base.ep.sched.tolerations.push_back(tol("", true));
  auto with_selector = [&](std::string k, std::string v) {
    KubePod x = base;
    x.ep.sched.node_selector[k] = v;
    return pool_admits(p, x.ep).admitted;
  };
  CHECK(with_selector("workload-type", "gpu"));                       // template label
  CHECK_FALSE(with_selector("workload-type", "cpu"));
  CHECK(with_selector("node.kubernetes.io/instance-family", "p5"));   // requirement In
  CHECK_FALSE(with_selector("node.kubernetes.io/instance-family", "c5"));
  CHECK(with_selector("karpenter.sh/nodepool", "gpu"));
  CHECK_FALSE(with_selector("karpenter.sh/nodepool", "default"));
  CHECK(with_selector("topology.kubernetes.io/zone", "us-west-2a"));  // well-known, free
  CHECK_FALSE(with_selector("team", "ml"));                           // no node of the pool has it

  p.requirements.push_back(req("karpenter.sh/capacity-type", LabelRequirement::Op::NotIn, {"spot"}));
  CHECK(with_selector("karpenter.sh/capacity-type", "on-demand"));
  CHECK_FALSE(with_selector("karpenter.sh/capacity-type", "spot"));
}

TEST_CASE("required node affinity: terms are ORed, expressions ANDed") {
  NodePool p = gpu_pool();
  KubePod x = pod("x");
  x.ep.sched.tolerations.push_back(tol("", true));
  using Op = NodeRequirement::Op;
  x.ep.sched.required_terms = {{{"node.kubernetes.io/instance-family", Op::In, {"c5", "m5"}}}};
  Admission a = pool_admits(p, x.ep);
  CHECK_FALSE(a.admitted);
  CHECK(a.reasons.at(0) == "required node affinity cannot be met (node.kubernetes.io/instance-family In [c5, m5])");

  x.ep.sched.required_terms.push_back({{"karpenter.sh/capacity-type", Op::In, {"spot"}}});
  CHECK(pool_admits(p, x.ep).admitted);

  x.ep.sched.required_terms = {{{"gpu-count", Op::Gt, {"4"}}}};
  CHECK_FALSE(pool_admits(p, x.ep).admitted);  // pool defines no such label
  p.requirements.push_back(req("gpu-count", LabelRequirement::Op::In, {"1", "8"}));
  CHECK(pool_admits(p, x.ep).admitted);
  x.ep.sched.required_terms = {{{"gpu-count", Op::Lt, {"1"}}}};
  CHECK_FALSE(pool_admits(p, x.ep).admitted);

  x.ep.sched.required_terms = {{{"workload-type", Op::DoesNotExist, {}}}};
  CHECK_FALSE(pool_admits(p, x.ep).admitted);
  x.ep.sched.required_terms = {{{"team", Op::DoesNotExist, {}}, {"workload-type", Op::NotIn, {"cpu"}}}};
  CHECK(pool_admits(p, x.ep).admitted);
}

TEST_CASE("a pool's admits list restricts it to the selected workloads") {
  NodePool p = gpu_pool();
  EndpointSelector training;
  training.namespaces.reqs.push_back(req(kNamespaceNameLabel, LabelRequirement::Op::In, {"kubeflow"}));
  training.pods.reqs.push_back(req("workload-type", LabelRequirement::Op::In, {"training"}));
  p.admits.push_back(training);
  KubePod x = pod("x");
  x.ep.sched.tolerations.push_back(tol("nvidia.com/gpu", true));
  CHECK_FALSE(pool_admits(p, x.ep).admitted);
  x.ep.labels["workload-type"] = "training";
  CHECK(pool_admits(p, x.ep).admitted);
}

TEST_CASE("node plan: local pods, misfits reported, startup taint ignored") {
  std::vector<NodePool> pools{gpu_pool()};
  KubeNode node;
  node.name = "n1";
  node.labels = {{kNodePoolLabel, "gpu"}, {"workload-type", "gpu"},
                 {"node.kubernetes.io/instance-family", "g5"}};
  node.taints = {{"nvidia.com/gpu", "true", "NoSchedule", {}},
                 {"moat.dev/agent-not-ready", "", "NoExecute", {}},
                 {"node.kubernetes.io/not-ready", "", "NoExecute", {}}};
  Inventory inv;
  KubePod trainer = pod("trainer");
  trainer.ep.node = "n1";
  trainer.ep.sched.tolerations.push_back(tol("nvidia.com/gpu", true));
  KubePod stray = pod("stray");  // placed here by hand, tolerates nothing
  stray.ep.node = "n1";
  KubePod elsewhere = pod("elsewhere");
  elsewhere.ep.node = "n2";
  elsewhere.ep.sched.tolerations.push_back(tol("", true));
  KubePod bare = pod("bare");
  bare.ep.node = "n1";
  bare.ep.sched.tolerations.push_back(tol("", true));
  KubePod host = pod("hostnet");
  host.ep.node = "n1";
  host.host_network = true;
  inv.pods = {trainer, stray, elsewhere, bare, host};

  Diagnostics diags;
  NodePlan plan = plan_node(node, pools, inv, diags);
  REQUIRE(plan.pool);
  CHECK(plan.pool->name == "gpu");
  CHECK(plan.runnable.size() == 3);  // trainer, elsewhere, bare (stray does not tolerate)
  CHECK(plan.local.size() == 3);     // trainer, stray, bare (host network is not a workload)
  REQUIRE(plan.misfits.size() == 1);
  CHECK(plan.misfits[0].pod->ep.name == "kubeflow/stray");
  int w803 = 0;
  for (const auto& d : diags.all()) w803 += d.code == Code::W803;
  CHECK(w803 == 1);
  CHECK(diags.all().size() == 1);  // attach points are not the plan's business any more

  node.labels[kNodePoolLabel] = "missing";
  Diagnostics d2;
  NodePlan p2 = plan_node(node, pools, inv, d2);
  CHECK_FALSE(p2.pool);
  CHECK(p2.pool_name == "missing");
  CHECK(d2.all().front().code == Code::W806);
  CHECK(p2.runnable.size() == 4);  // no pool: every workload could be placed somewhere
}
