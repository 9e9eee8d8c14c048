// Karpenter NodePool: every field lowered into ir::NodePool, and its validation errors.
#include "yaml_test_util.h"

using namespace moat;
using namespace moat::test;

namespace {

std::unique_ptr<Parsed> pool(const std::string& spec, const std::string& api = "karpenter.sh/v1") {
  return parse("apiVersion: " + api + "\nkind: NodePool\nmetadata: {name: gpu}\n" + spec);
}

} // namespace

TEST_CASE("a full NodePool", "[karpenter]") {
  auto p = pool(R"(spec:
  template:
    metadata:
      labels: {workload-type: gpu}
      annotations: {owner: ml}
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
      - {key: karpenter.k8s.aws/instance-family, operator: In, values: [p5, g5, g5]}
      - {key: karpenter.sh/capacity-type, operator: NotIn, values: [spot]}
      - {key: nvidia.com/gpu.present, operator: Exists}
      - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["2"], minValues: 1}
      taints:
      - {key: nvidia.com/gpu, value: "true", effect: NoSchedule}
      startupTaints:
      - {key: moat.dev/agent-not-ready, effect: NoExecute}
      expireAfter: 720h
  limits: {cpu: 1000, memory: 1000Gi, nvidia.com/gpu: 8}
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 1m
    budgets:
    - {nodes: "10%"}
    - {nodes: "0", schedule: "0 9 * * mon-fri", duration: 8h, reasons: [Drifted]}
  weight: 10
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.pools.size() == 1);
  const NodePool& np = p->m.pools[0];
  CHECK(np.name == "gpu");
  CHECK(np.range.line == 3);
  CHECK(np.labels.at("workload-type") == "gpu");
  REQUIRE(np.requirements.size() == 4);
  CHECK(np.requirements[0].values == std::vector<std::string>{"g5", "p5"});
  CHECK(np.requirements[1].op == LabelRequirement::Op::NotIn);
  CHECK(np.requirements[2].op == LabelRequirement::Op::Exists);
  CHECK(np.requirements[3].op == LabelRequirement::Op::Exists);  // Gt kept as Exists, with a note
  CHECK(p->count(Code::N209) == 1);
  REQUIRE(np.taints.size() == 1);
  CHECK((np.taints[0].key == "nvidia.com/gpu" && np.taints[0].value == "true" && np.taints[0].effect == "NoSchedule"));
  REQUIRE(np.startup_taints.size() == 1);
  CHECK(np.startup_taints[0].effect == "NoExecute");
  CHECK(np.limits.at("memory") == "1000Gi");
  CHECK(np.limits.at("nvidia.com/gpu") == "8");
  CHECK(np.disruption.at("consolidationPolicy") == "WhenEmptyOrUnderutilized");
  CHECK(np.disruption.at("budgets[0].nodes") == "10%");
  CHECK(np.disruption.at("budgets[1].reasons[0]") == "Drifted");
}

TEST_CASE("v1beta1 is accepted and other versions are skipped with W212", "[karpenter]") {
  auto beta = pool("spec:\n  template:\n    spec:\n      requirements: []\n", "karpenter.sh/v1beta1");
  CHECK(beta->m.pools.size() == 1);
  auto alpha = pool("spec: {}\n", "karpenter.sh/v1alpha5");
  CHECK(alpha->m.pools.empty());
  CHECK(alpha->has(Code::W212, 2, 7));
}

TEST_CASE("NodePool errors", "[karpenter][errors]") {
  auto t = [](const std::string& taint) {
    return pool("spec:\n  template:\n    spec:\n      taints:\n      - " + taint + "\n");
  };
  CHECK(t("{key: a, effect: NoSchedul}")->has(Code::E108, 8, 26));
  CHECK(t("{key: a}")->has(Code::E204, 8, 9));
  CHECK(t("{key: a b, effect: NoSchedule}")->has(Code::E306, 8, 15));
  auto r = [](const std::string& req) {
    return pool("spec:\n  template:\n    spec:\n      requirements:\n      - " + req + "\n");
  };
  CHECK(r("{key: a, operator: In}")->has(Code::E310, 8, 28));
  CHECK(r("{key: a, operator: Gte, values: [\"1\"]}")->has(Code::E310, 8, 28));
  CHECK(r("{key: a, operator: Gt, values: [x]}")->has(Code::E310, 8, 28));
  CHECK(r("{key: a, operator: DoesNotExist, values: [x]}")->has(Code::E310, 8, 42));
  CHECK(pool("spec:\n  template: {}\n  limit: {}\n")->has(Code::E203, 6, 3));
  CHECK(pool("spec:\n  disruption: {}\n")->has(Code::E204, 5, 3));
  auto failed = r("{key: a, operator: In}");
  CHECK(failed->m.pools.empty());  // an invalid pool is not half-added
}
