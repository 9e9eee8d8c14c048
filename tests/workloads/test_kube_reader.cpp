// The Kubernetes object reader (frontend/kube_objects.h): every workload kind gives one
// endpoint from its pod template, pods group under their controller and are named as
// netpol-analyzer names them, quantities parse as Kubernetes parses them, and a malformed
// object is skipped (W807) while the rest of the inventory applies.
#include <catch2/catch.hpp>

#include "frontend/frontend.h"
#include "frontend/k8s/quantity.h"
#include "frontend/kube_objects.h"

using namespace moat;

namespace {

bool has_code(const Diagnostics& d, Code c) {
  for (const auto& x : d.all())
    if (x.code == c) return true;
  return false;
}

KubeObjects read(const std::string& text, Diagnostics& diags, SourceManager& sm) {
  KubeObjects objs;
  REQUIRE(parse_kube_objects(sm.add("inline.yaml", text), sm, objs, diags));
  resolve_kube_objects(objs, diags);
  return objs;
}

const Endpoint* named(const std::vector<Endpoint>& eps, const std::string& name) {
  for (const Endpoint& e : eps)
    if (e.name == name) return &e;
  return nullptr;
}

/// A controller of `kind` in namespace shop whose template has labels {app: NAME}, a named
/// port, a toleration, a nodeSelector and a GPU request.
std::string controller(const std::string& kind, const std::string& name) {
  std::string pod_template = R"(
    metadata: {labels: {app: )" + name + R"(}}
    spec:
      nodeSelector: {pool: gpu}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
      containers:
        - name: main
          ports: [{name: web, containerPort: 8080}]
          resources: {limits: {nvidia.com/gpu: "2"}})";
  std::string spec = kind == "CronJob" ? "  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:" +
                                             [&] {
                                               std::string t;
                                               for (char c : pod_template) t += c == '\n' ? std::string("\n    ") : std::string(1, c);
                                               return t;
                                             }()
                                       : "  template:" + pod_template;
  return "---\nkind: " + kind + "\nmetadata: {name: " + name + ", namespace: shop}\nspec:\n" + spec + "\n";
}

} // namespace

TEST_CASE("every workload kind: one endpoint from its pod template, named ns/name[Kind]", "[workloads]") {
  const char* kinds[] = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"};
  for (const char* kind : kinds) {
    INFO(kind);
    SourceManager sm;
    Diagnostics diags;
    std::string text = "kind: Namespace\nmetadata: {name: shop, labels: {team: web}}\n" + controller(kind, "w");
    KubeObjects objs = read(text, diags, sm);
    CHECK(diags.all().empty());
    std::vector<Endpoint> eps = workload_endpoints(objs);
    REQUIRE(eps.size() == 1);
    const Endpoint& e = eps[0];
    CHECK(e.name == std::string("shop/w[") + kind + "]");
    CHECK(e.kind == EndpointKind::Workload);
    CHECK(e.ns == "shop");
    CHECK(e.labels == Labels{{"app", "w"}});
    CHECK(e.ns_labels.at("team") == "web");  // from the Namespace object
    CHECK(e.ns_labels.at(kNamespaceNameLabel) == "shop");
    REQUIRE(e.ports.size() == 1);
    CHECK(e.ports[0].name == "web");
    CHECK(e.ports[0].port == 8080);
    CHECK(e.sched.node_selector.at("pool") == "gpu");
    REQUIRE(e.sched.tolerations.size() == 1);
    CHECK(e.sched.tolerations[0].exists);
    CHECK(e.resources.at("nvidia.com/gpu") == "2");
    CHECK(e.range.line == 4);  // the controller object, after the Namespace document
  }
}

TEST_CASE("pods group under their controller, bare pods are ns/p[Pod]", "[workloads]") {
  SourceManager sm;
  Diagnostics diags;
  KubeObjects objs = read(R"(
kind: List
items:
  - kind: Deployment
    metadata: {name: cart, namespace: shop}
    spec: {template: {metadata: {labels: {app: cart}}, spec: {containers: [{name: c}]}}}
  - kind: ReplicaSet
    metadata:
      name: cart-5d8f
      namespace: shop
      ownerReferences: [{kind: Deployment, name: cart, controller: true}]
    spec: {template: {metadata: {labels: {app: cart, pod-template-hash: 5d8f}}}}
  - kind: Pod
    metadata:
      name: cart-5d8f-abcde
      namespace: shop
      uid: 0d3c1f4e-1111-2222-3333-444455556666
      labels: {app: cart, pod-template-hash: 5d8f}
      ownerReferences: [{kind: ReplicaSet, name: cart-5d8f, controller: true}]
    status: {podIP: 10.1.0.5}
  - kind: Pod
    metadata:
      name: cart-5d8f-fghij
      namespace: shop
      labels: {app: cart, pod-template-hash: 5d8f}
      ownerReferences: [{kind: ReplicaSet, name: cart-5d8f, controller: true}]
    status: {podIP: 10.1.0.6}
  - kind: Pod
    metadata:
      name: api-7c9d-xyz
      namespace: shop
      labels: {app: api, pod-template-hash: 7c9d}
      ownerReferences: [{kind: ReplicaSet, name: api-7c9d, controller: true}]
  - kind: Pod
    metadata:
      name: old-rs-1
      namespace: shop
      labels: {app: old, pod-template-hash: "3833961177"}
      ownerReferences: [{kind: ReplicaSet, name: old-rs-7d77fb55cc, controller: true}]
  - kind: Job
    metadata:
      name: report-28000000
      namespace: shop
      ownerReferences: [{kind: CronJob, name: report, controller: true}]
    spec: {template: {metadata: {labels: {job: report}}}}
  - kind: Pod
    metadata:
      name: report-28000000-q
      namespace: shop
      labels: {job: report}
      ownerReferences: [{kind: Job, name: report-28000000, controller: true}]
  - kind: Pod
    metadata:
      name: cart-77aa-zz
      namespace: shop
      labels: {app: cart, pod-template-hash: 77aa}
      ownerReferences: [{kind: ReplicaSet, name: cart-77aa, controller: true}]
    status: {podIP: 10.1.0.7}
  - kind: Pod
    metadata:
      name: debug
      namespace: shop
      labels: {app: debug}
      ownerReferences: [{kind: Node, name: n1, controller: false}]
  - kind: Pod
    metadata: {name: web-0, namespace: shop, labels: {app: web}}
    spec: {hostNetwork: true}
)",
                          diags, sm);
  REQUIRE(objs.pods.size() == 8);
  CHECK(objs.pods[0].uid == "0d3c1f4e-1111-2222-3333-444455556666");
  CHECK(objs.pods[0].ep.name == "shop/cart-5d8f-abcde");  // the agent still enforces per pod
  CHECK(objs.pods[0].workload == "shop/cart[Deployment]");
  // ReplicaSet absent: it is the workload, as netpol-analyzer's goldens name it.
  CHECK(objs.pods[2].workload == "shop/api-7c9d[ReplicaSet]");
  CHECK(objs.pods[3].workload == "shop/old-rs-7d77fb55cc[ReplicaSet]");
  CHECK(objs.pods[4].workload == "shop/report[CronJob]");
  // A ReplicaSet absent but its Deployment present: the hash says whose it is.
  CHECK(objs.pods[5].workload == "shop/cart[Deployment]");
  CHECK(objs.pods[6].workload == "shop/debug[Pod]");  // a non-controller owner does not group
  std::vector<Endpoint> eps = workload_endpoints(objs);
  std::vector<std::string> names;
  for (const Endpoint& e : eps) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"shop/cart[Deployment]", "shop/report[CronJob]", "shop/api-7c9d[ReplicaSet]",
                                          "shop/old-rs-7d77fb55cc[ReplicaSet]", "shop/debug[Pod]"});
  const Endpoint* cart = named(eps, "shop/cart[Deployment]");
  REQUIRE(cart);
  CHECK(cart->labels == Labels{{"app", "cart"}});  // the Deployment's template, not a ReplicaSet's
  REQUIRE(cart->ips.size() == 3);                  // its pods' addresses
  CHECK(cart->ips[2].str() == "10.1.0.7");
  CHECK(named(eps, "shop/report[CronJob]")->labels.at("job") == "report");  // the Job's template stands in
}

TEST_CASE("resource quantities parse as Kubernetes parses them", "[workloads][quantity]") {
  struct Q {
    const char* text;
    long long milli;
  };
  const Q good[] = {{"1", 1000},       {"1k", 1000000},     {"500m", 500},      {"2Gi", 2147483648000LL},
                    {"1e3", 1000000},  {"1E3", 1000000},    {".5", 500},        {"0.5Ki", 512000},
                    {"+2", 2000},      {"-1", -1000},       {"1000u", 1},       {"3M", 3000000000LL},
                    {"1.5", 1500},     {"2e-3", 2}};
  for (const Q& q : good) {
    INFO(q.text);
    auto v = parse_quantity(q.text);
    REQUIRE(v);
    CHECK(static_cast<long long>(v->milli) == q.milli);
  }
  CHECK(parse_quantity("1Ei")->milli == (static_cast<__int128>(1) << 60) * 1000);
  CHECK(parse_quantity("1k")->whole());
  CHECK_FALSE(parse_quantity("500m")->whole());
  for (const char* bad : {"", "k", "1kb", "1e", "1e+", "lots", "1.2.3", "1 k", "1e99", "5n"}) {
    INFO(bad);
    CHECK_FALSE(parse_quantity(bad));
  }
}

TEST_CASE("a pod asking for `1k` GPUs is read, a malformed pod is skipped and the new pod applies",
          "[workloads][quantity]") {
  SourceManager sm;
  Diagnostics diags;
  KubeObjects objs = read(R"(
kind: PodList
items:
  - metadata: {name: big, namespace: ml}
    spec: {containers: [{name: c, resources: {requests: {example.com/fpga: 1k, nvidia.com/gpu: 1e1}}}]}
  - metadata: {name: broken, namespace: ml}
    spec: {containers: [{name: c, resources: {requests: {nvidia.com/gpu: 500m}}}]}
  - metadata: {name: fresh, namespace: ml, labels: {app: fresh}}
    status: {podIP: 10.9.0.7}
)",
                          diags, sm);
  REQUIRE(objs.pods.size() == 2);
  CHECK(objs.pods[0].ep.resources.at("example.com/fpga") == "1000");
  CHECK(objs.pods[0].ep.resources.at("nvidia.com/gpu") == "10");
  CHECK(objs.pods[1].ep.name == "ml/fresh");
  CHECK_FALSE(diags.has_errors());
  REQUIRE(has_code(diags, Code::W807));
  for (const Diagnostic& d : diags.all())
    if (d.code == Code::W807) {
      CHECK(d.range.line == 7);  // the requests of the broken pod
      CHECK(d.message.find("whole number") != std::string::npos);
    }
}

TEST_CASE("malformed objects are W807 at the mistake, skipped, a malformed Node is E801", "[workloads]") {
  struct Bad {
    const char* text;
    uint32_t line;
  };
  // Pod-level mistakes are tests/runtime/test_inventory.cpp's; these are the controllers'.
  const Bad cases[] = {
      {"kind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n", 3},
      {"kind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: [x]}\n", 3},
      {"kind: Deployment\nmetadata: {name: d, ownerReferences: [{kind: X, controller: true}]}\nspec: {}\n", 2},
      {"kind: StatefulSet\nmetadata: {name: s}\nspec: {template: {metadata: {labels: {'bad key!': x}}}}\n", 3},
      {"kind: DaemonSet\nmetadata: {name: s}\nspec: {template: {spec: {containers: [{resources: {limits: {example.com/x: lots}}}]}}}\n", 3},
  };
  for (const Bad& b : cases) {
    INFO(b.text);
    SourceManager sm;
    Diagnostics diags;
    KubeObjects objs = read(b.text, diags, sm);
    CHECK(objs.controllers.empty());
    CHECK_FALSE(diags.has_errors());
    REQUIRE_FALSE(diags.all().empty());
    CHECK(diags.all().front().code == Code::W807);
    CHECK(diags.all().front().range.line == b.line);
  }
  SourceManager sm;
  Diagnostics diags;
  CHECK_FALSE(parse_node(sm.add("n.yaml", "kind: Node\nmetadata: {name: n}\nspec: {taints: [{effect: Sometimes}]}\n"), sm, diags));
  CHECK(has_code(diags, Code::E801));
  CHECK(has_code(diags, Code::E802));
}

TEST_CASE("policy paths read workloads and Namespaces next to the NetworkPolicies", "[workloads]") {
  SourceManager sm;
  Module m;
  Diagnostics diags;
  load_paths({std::string(MOAT_SOURCE_DIR) + "/tests/workloads/data/shop/cluster",
              std::string(MOAT_SOURCE_DIR) + "/tests/workloads/data/shop/v2"},
             sm, m, diags);
  CHECK_FALSE(diags.has_errors());
  for (const Diagnostic& d : diags.all()) CHECK(d.code != Code::N005);  // nothing skipped as unknown
  REQUIRE(m.cluster_workloads.size() == 2);
  CHECK(m.cluster_workloads[0].name == "shop/cart[Deployment]");
  CHECK(m.cluster_workloads[1].name == "payments/payments[Deployment]");
  CHECK(m.cluster_workloads[1].ns_labels.at("pci") == "true");
  CHECK(m.namespaces.at("payments").at("team") == "payments");  // declared: the verifier pins them
  CHECK(m.rules.size() == 3);  // cart egress: dns and payments; payments ingress: cart
}

TEST_CASE("each document of an inventory file is read on its own, mistakes at their line in the file", "[workloads]") {
  // The reader loads one `---` document at a time: lines must still count from the file.
  std::string text = "kind: Namespace\nmetadata: {name: shop}\n";
  for (int i = 0; i < 3; ++i) text += "---\nkind: Pod\nmetadata: {name: p" + std::to_string(i) + ", namespace: shop}\n";
  text += "---\nkind: Pod\nmetadata:\n  name: bad\n  namespace: shop\n  labels: {'no spaces': x}\n";  // lines 12-17
  SourceManager sm;
  Diagnostics diags;
  KubeObjects objs = read(text, diags, sm);
  CHECK(objs.pods.size() == 3);
  REQUIRE(diags.all().size() == 1);
  CHECK(diags.all().front().code == Code::W807);
  CHECK(diags.all().front().range.line == 17);

  // A syntax error in a later document: E201 at its line, and nothing of the file is read.
  SourceManager sm2;
  Diagnostics d2;
  KubeObjects none;
  CHECK_FALSE(parse_kube_objects(sm2.add("broken.yaml", text + "---\nkind: Pod\nmetadata: {name: [}\n"), sm2, none, d2));
  REQUIRE(d2.all().size() == 1);
  CHECK(d2.all().front().code == Code::E201);
  CHECK(d2.all().front().range.line == 20);
}

TEST_CASE("thousands of pods group under their workloads, first controller of a name wins", "[workloads]") {
  // workload_endpoints and resolve_kube_objects look workloads up by name (once linear
  // scans, quadratic in the pods): the grouping must not depend on how they are found.
  std::string text = "kind: Namespace\nmetadata: {name: shop}\n";
  for (int w = 0; w < 300; ++w) {
    std::string rs = "web" + std::to_string(w) + "-5d8f";
    text += "---\nkind: Deployment\nmetadata: {name: web" + std::to_string(w) +
            ", namespace: shop}\nspec: {template: {metadata: {labels: {app: web" + std::to_string(w) + "}}}}\n";
    for (int p = 0; p < 4; ++p)
      text += "---\nkind: Pod\nmetadata: {name: " + rs + "-" + std::to_string(p) +
              ", namespace: shop, labels: {app: web" + std::to_string(w) +
              ", pod-template-hash: 5d8f}, ownerReferences: [{kind: ReplicaSet, name: " + rs +
              ", controller: true}]}\nstatus: {podIPs: [{ip: 10.1." + std::to_string(w / 50) + "." + std::to_string(w % 50 * 4 + p) +
              "}]}\n";
  }
  // A second Deployment named web0 (another file's copy): the first one's template stands.
  text += "---\nkind: Deployment\nmetadata: {name: web0, namespace: shop}\nspec: {template: {metadata: {labels: {app: other}}}}\n";
  text += "---\nkind: Pod\nmetadata: {name: lone, namespace: shop}\nstatus: {podIP: 10.2.0.1}\n";
  SourceManager sm;
  Diagnostics diags;
  KubeObjects objs = read(text, diags, sm);
  CHECK(diags.all().empty());
  std::vector<Endpoint> eps = workload_endpoints(objs);
  CHECK(eps.size() == 301);
  const Endpoint* web0 = named(eps, "shop/web0[Deployment]");
  REQUIRE(web0);
  CHECK(web0->labels.at("app") == "web0");
  CHECK(web0->ips.size() == 4);
  const Endpoint* web299 = named(eps, "shop/web299[Deployment]");
  REQUIRE(web299);
  CHECK(web299->ips.size() == 4);
  for (const KubePod& p : objs.pods)
    if (p.ep.name != "shop/lone") CHECK(p.workload.rfind("shop/web", 0) == 0);
  CHECK(named(eps, "shop/lone[Pod]"));
}
