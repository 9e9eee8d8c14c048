// Inventory and Node parsing: Kubernetes objects in YAML or JSON become endpoints with
// their scheduling facts; malformed objects become E8xx diagnostics, never crashes.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/inventory.h"
#include "runtime/inventory/cluster_source.h"
#include "runtime/inventory/terminating.h"

using namespace moat;
using namespace moat::runtime;

namespace {
const std::string kData = std::string(MOAT_SOURCE_DIR) + "/tests/runtime/data/";

bool has_code(const Diagnostics& d, Code c) {
  for (const auto& x : d.all())
    if (x.code == c) return true;
  return false;
}

std::optional<Inventory> parse_text(const std::string& text, Diagnostics& diags) {
  SourceManager sm;
  Inventory inv;
  if (!parse_inventory(sm.add("inline.yaml", text), sm, inv, diags)) return std::nullopt;
  resolve_namespaces(inv, diags);
  return inv;
}
} // namespace

TEST_CASE("a Node object gives labels, pool, taints and addresses") {
  SourceManager sm;
  Diagnostics diags;
  auto node = load_node(kData + "node-gpu.yaml", sm, diags);
  REQUIRE(node);
  CHECK(diags.all().empty());
  CHECK(node->name == "ip-10-1-2-3.ec2.internal");
  CHECK(node->pool() == "gpu");
  REQUIRE(node->taints.size() == 2);
  CHECK(node->taints[0].key == "nvidia.com/gpu");
  CHECK(node->taints[0].value == "true");
  CHECK(node->taints[1].effect == "NoExecute");
  CHECK(node->taints[1].range.line == 16);
  REQUIRE(node->addresses.size() == 1);  // Hostname is not an address
  CHECK(node->addresses[0].str() == "10.1.2.3");
}

TEST_CASE("a Node in JSON reads the same way") {
  SourceManager sm;
  Diagnostics diags;
  auto node = load_node(kData + "node-gpu.json", sm, diags);
  REQUIRE(node);
  CHECK(node->pool() == "gpu");
  CHECK(node->addresses.at(0).v6);
}

TEST_CASE("an inventory List gives namespaces, pods, UIDs, IPs and named ports (attach annotations ignored)") {
  SourceManager sm;
  Diagnostics diags;
  auto inv = load_inventory({kData + "inventory.yaml"}, sm, diags);
  REQUIRE(inv);
  CHECK_FALSE(diags.has_errors());
  REQUIRE(inv->namespaces.size() == 2);
  CHECK(inv->namespaces.at("kubeflow").at("team") == "ml");
  CHECK(inv->namespaces.at("web").at(kNamespaceNameLabel) == "web");
  REQUIRE(inv->pods.size() == 4);

  const KubePod* t = inv->find_pod("kubeflow/trainer-0");
  REQUIRE(t);
  CHECK(t->ep.ns_labels.at("team") == "ml");
  CHECK(t->ep.labels.at("workload-type") == "training");
  // Attach-point annotations are the pod owner's to write: ignored (runtime/attach finds
  // the attach point), while the UID that names the pod's cgroup is read.
  CHECK(t->ep.iface.empty());
  CHECK(t->ep.cgroup.empty());
  CHECK(t->uid == "0f3c6a2e-5b1d-4c8e-9a7f-2d4e6b8c0a1f");
  REQUIRE(t->ep.ips.size() == 2);  // podIP repeated in podIPs is kept once
  CHECK(t->ep.ips[0].str() == "10.199.1.10");
  CHECK(t->ep.ips[1].v6);
  REQUIRE(t->ep.ports.size() == 2);  // unnamed containerPort 5000 is not a named port
  CHECK(t->ep.ports[0].name == "allreduce");
  CHECK(t->ep.ports[0].port == 29400);
  CHECK(t->ep.ports[0].proto == Protocol::TCP);
  CHECK(t->ep.sched.node_selector.at("workload-type") == "gpu");
  REQUIRE(t->ep.sched.tolerations.size() == 1);
  CHECK(t->ep.sched.tolerations[0].exists);
  CHECK(t->is_workload());

  const KubePod* f = inv->find_pod("web/frontend-7d9");
  REQUIRE(f);
  CHECK(f->ep.cgroup.empty());  // moat.dev/cgroup annotation ignored
  CHECK(f->uid.empty());
  CHECK(f->ep.ports.at(1).proto == Protocol::UDP);

  const KubePod* b = inv->find_pod("kubeflow/batch-1");
  REQUIRE(b);
  REQUIRE(b->ep.sched.required_terms.size() == 2);
  CHECK(b->ep.sched.required_terms[0][0].values == std::vector<std::string>{"c5", "m5"});
  CHECK(b->ep.sched.tolerations[0].key.empty());

  CHECK_FALSE(inv->find_pod("web/done")->is_workload());
}

TEST_CASE("typed lists may omit each item's kind, and default namespace applies") {
  Diagnostics diags;
  auto inv = parse_text(R"(
kind: PodList
items:
  - metadata: {name: a}
    status: {podIPs: [{ip: "10.199.0.1"}]}
)", diags);
  REQUIRE(inv);
  REQUIRE(inv->pods.size() == 1);
  CHECK(inv->pods[0].ep.name == "default/a");
  CHECK(has_code(diags, Code::W804));  // no Namespace object for `default`
  CHECK(inv->pods[0].ep.ns_labels.at(kNamespaceNameLabel) == "default");
}

TEST_CASE("extended resources: the scheduler's effective request, limits standing in for requests") {
  Diagnostics diags;
  auto inv = parse_text(R"(
kind: PodList
items:
  - metadata: {name: train, namespace: ml}
    spec:
      containers:
        - {name: a, resources: {limits: {nvidia.com/gpu: "2", cpu: "4"}}}
        - {name: b, resources: {requests: {nvidia.com/gpu: "1", example.com/fpga: "1"}, limits: {nvidia.com/gpu: "1"}}}
      initContainers:
        - {name: warmup, resources: {requests: {nvidia.com/gpu: "4"}}}
  - metadata: {name: side, namespace: ml}
    spec:
      initContainers:
        - {name: proxy, restartPolicy: Always, resources: {requests: {nvidia.com/gpu: "1"}}}
        - {name: setup, resources: {requests: {nvidia.com/gpu: "2"}}}
      containers:
        - {name: main, resources: {requests: {nvidia.com/gpu: "1"}}}
  - metadata: {name: plain, namespace: ml}
    spec: {containers: [{name: c, resources: {requests: {cpu: 100m, memory: 1Gi, hugepages-2Mi: 1Gi}}}]}
    status: {phase: Pending}
  - metadata: {name: done, namespace: ml}
    spec: {containers: [{name: c}]}
    status: {phase: Succeeded}
)", diags);
  REQUIRE(inv);
  REQUIRE(inv->pods.size() == 4);
  // Containers sum (2 + 1); the init container alone needs 4, more than the sum.
  CHECK(inv->pods[0].ep.resources == std::map<std::string, std::string>{{"example.com/fpga", "1"}, {"nvidia.com/gpu", "4"}});
  // The sidecar runs beside everything: setup needs 1 + 2 = 3 at init, main 1 + 1 = 2 after.
  CHECK(inv->pods[1].ep.resources.at("nvidia.com/gpu") == "3");
  CHECK(inv->pods[2].ep.resources.empty());  // native resources are not extended ones
  CHECK(inv->pods[0].ep.range.line == 4);
  std::vector<Endpoint> eps = workload_endpoints(*inv);
  REQUIRE(eps.size() == 3);  // the finished pod holds no identity
  CHECK(eps[2].name == "ml/plain[Pod]");  // one endpoint per workload, named as netpol-analyzer does
  CHECK(eps[0].range.line == 4);
}

TEST_CASE("malformed objects are skipped with a warning at their mistake, and the rest of the inventory applies") {
  struct Bad {
    const char* text;
    uint32_t line;
  };
  // Each document is one malformed pod, followed by a good one that must still be read.
  const Bad cases[] = {
      {"kind: Pod\nmetadata: {name: a}\nstatus: {podIP: 10.1.1.300}\n", 3},
      {"kind: Pod\nmetadata: {name: a, labels: [x]}\n", 2},
      {"kind: Pod\nmetadata: {name: a, labels: {'bad key!': x}}\n", 2},
      {"kind: Pod\nmetadata: {name: a}\nspec: {tolerations: [{operator: Maybe}]}\n", 3},
      {"kind: Pod\nspec: {}\n", 1},
      {"kind: List\nitems: 5\n", 2},
      {"- just\n- a list\n", 1},
      {"kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n    - resources:\n        requests: {nvidia.com/gpu: 1.5}\n", 6},
      {"kind: Pod\nmetadata: {name: a}\nspec:\n  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: k, operator: Near}]}]}}}\n", 4},
  };
  for (const Bad& b : cases) {
    INFO(b.text);
    Diagnostics diags;
    auto inv = parse_text(std::string(b.text) + "---\nkind: Pod\nmetadata: {name: good, namespace: n}\n", diags);
    REQUIRE(inv);
    REQUIRE(inv->pods.size() == 1);
    CHECK(inv->pods[0].ep.name == "n/good");
    CHECK_FALSE(diags.has_errors());
    CHECK(diags.all().front().code == Code::W807);
    CHECK(diags.all().front().range.line == b.line);
  }
  Diagnostics diags;
  CHECK_FALSE(parse_text("kind: [Pod\n", diags));  // not YAML at all: the file is an error
  CHECK(has_code(diags, Code::E201));
  // A bad port entry loses only that port: the pod and its other ports stay.
  Diagnostics d2;
  auto inv = parse_text("kind: Pod\nmetadata: {name: a, namespace: n}\nspec:\n  containers: [{ports: "
                        "[{name: bad, containerPort: 70000}, {name: ok, containerPort: 80}]}]\n",
                        d2);
  REQUIRE(inv);
  REQUIRE(inv->pods.size() == 1);
  REQUIRE(inv->pods[0].ep.ports.size() == 1);
  CHECK(inv->pods[0].ep.ports[0].name == "ok");
  CHECK(d2.all().front().code == Code::W807);
  CHECK(d2.all().front().range.line == 4);
}

TEST_CASE("unknown kinds are skipped with a note, a node file needs exactly one Node") {
  Diagnostics diags;
  auto inv = parse_text("kind: ConfigMap\nmetadata: {name: x}\n---\nkind: Namespace\nmetadata: {name: n}\n", diags);
  REQUIRE(inv);
  CHECK(has_code(diags, Code::N005));
  CHECK(inv->namespaces.count("n"));

  SourceManager sm;
  Diagnostics d2;
  CHECK_FALSE(parse_node(sm.add("n.yaml", "kind: Namespace\nmetadata: {name: n}\n"), sm, d2));
  CHECK(has_code(d2, Code::E802));
  Diagnostics d3;
  CHECK_FALSE(load_node("/nonexistent/node.yaml", sm, d3));
  CHECK(has_code(d3, Code::E001));
}

TEST_CASE("hostile inventory files end in a diagnostic, not a hang or a blow-up") {
  struct Bad {
    std::string text;
    Code code;
  };
  // Lists of aliased Lists: 200 x 200 x 200 pods named in a few kilobytes.
  std::string bomb = "kind: List\nitems:\n- &l1 {kind: List, items: [&l0 {kind: List, items: [&p {kind: Pod, metadata: {name: p}}";
  for (int i = 0; i < 199; ++i) bomb += ", *p";
  bomb += "]}";
  for (int i = 0; i < 199; ++i) bomb += ", *l0";
  bomb += "]}\n";
  for (int i = 0; i < 199; ++i) bomb += "- *l1\n";
  const Bad cases[] = {
      {",a\n", Code::E201},                                           // yaml-cpp's LoadAll never returned
      {"kind: Pod\nmetadata: {name: p}\n---\n, x\n", Code::E201},     // ... also in a later document
      {"kind: \"\xff\"\nmetadata: {name: p}\n", Code::E002},          // not UTF-8 (quoted in messages)
      {std::string(5000, '[') + std::string(5000, ']') + "\n", Code::E201},  // nesting
      {bomb, Code::E801},
  };
  for (const Bad& b : cases) {
    INFO(b.text.substr(0, 60));
    Diagnostics diags;
    CHECK_FALSE(parse_text(b.text, diags));
    CHECK(has_code(diags, b.code));
    SourceManager sm;
    Diagnostics nd;
    CHECK_FALSE(parse_node(sm.add("n.yaml", b.text), sm, nd));
    CHECK(nd.has_errors());
  }
}

TEST_CASE("a pod with a deletionTimestamp is terminating") {
  Diagnostics diags;
  auto inv = parse_text(R"(kind: List
items:
  - {kind: Namespace, metadata: {name: back}}
  - kind: Pod
    metadata: {name: db-0, namespace: back, uid: u1, deletionTimestamp: "2026-01-01T00:00:00Z", deletionGracePeriodSeconds: 30}
    status: {phase: Running, podIPs: [{ip: 10.1.0.2}]}
  - kind: Pod
    metadata: {name: db-1, namespace: back, uid: u2, deletionTimestamp: null}
    status: {phase: Running, podIPs: [{ip: 10.1.0.3}]}
)", diags);
  REQUIRE(inv);
  CHECK_FALSE(diags.has_errors());
  REQUIRE(inv->find_pod("back/db-0"));
  CHECK(inv->find_pod("back/db-0")->terminating);
  CHECK(inv->find_pod("back/db-0")->is_workload());  // still running its grace period
  CHECK_FALSE(inv->find_pod("back/db-1")->terminating);
}

TEST_CASE("the cluster source derives the live pod addresses once per inventory version") {
  // The attach points, the desired state and the drop log's names take them from the source
  // instead of each collecting every pod address of the cluster on every reconcile.
  std::string dir = "/tmp/moat-live-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  auto write = [](const std::string& path, const std::string& text) { std::ofstream(path) << text; };
  write(dir + "/node.yaml", "kind: Node\nmetadata: {name: n1}\n");
  auto pods = [](bool old_terminating) {
    return std::string(R"(kind: List
items:
  - {kind: Namespace, metadata: {name: back}}
  - kind: Pod
    metadata: {name: db-0, namespace: back)") +
           (old_terminating ? ", deletionTimestamp: \"2026-01-01T00:00:00Z\"" : "") + R"(}
    spec: {nodeName: n1}
    status: {phase: Running, podIPs: [{ip: 10.1.0.2}]}
  - kind: Pod
    metadata: {name: agent, namespace: back}
    spec: {nodeName: n1, hostNetwork: true}
    status: {phase: Running, podIPs: [{ip: 10.0.0.1}]}
)";
  };
  write(dir + "/inventory.yaml", pods(false));
  std::string err;
  auto source = inventory::open_cluster_source(dir + "/node.yaml", {dir + "/inventory.yaml"}, {}, err);
  REQUIRE(source);
  REQUIRE(source->load({}));
  CHECK(source->live_addresses().contains(*IpAddr::parse("10.1.0.2")));
  CHECK_FALSE(source->live_addresses().contains(*IpAddr::parse("10.0.0.1")));  // the host's network
  CHECK(source->live_addresses().size() == 1);

  write(dir + "/inventory.yaml", pods(true));  // db-0 is being deleted now
  REQUIRE(source->poll({}) == inventory::ClusterSource::Poll::Changed);
  CHECK(source->live_addresses().size() == 0);
  CHECK(inventory::held_addresses(source->inventory()->pods[0], source->live_addresses()).size() == 1);
  std::filesystem::remove_all(dir);
}
