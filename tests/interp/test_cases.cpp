// The cases file (docs/CASES.md): fields, defaults, assigned IPs, and E205 diagnostics that
// point at the offending text.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "frontend/cases.h"

using namespace moat;

namespace {

struct Loaded {
  SourceManager sm;
  Diagnostics diags;
  std::optional<CasesFile> cases;
};

std::unique_ptr<Loaded> load_text(const std::string& text) {
  static int n = 0;
  auto dir = std::filesystem::temp_directory_path() / ("moat-test-cases-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / ("cases" + std::to_string(n++) + ".yaml");
  std::ofstream(path) << text;
  auto l = std::make_unique<Loaded>();
  l->cases = load_cases(path.string(), l->sm, l->diags);
  std::filesystem::remove(path);
  return l;
}

const Diagnostic& first_error(const Loaded& l) {
  REQUIRE_FALSE(l.diags.all().empty());
  return l.diags.all().front();
}

} // namespace

TEST_CASE("the docs/CASES.md example loads", "[cases]") {
  auto l = load_text(R"(namespaces:
  x: {ns: x}
  y: {ns: y}
endpoints:
  - {name: x/a, namespace: x, labels: {pod: a}, ip: 10.0.1.1, ports: {http: 80/TCP}}
  - {name: y/b, namespace: y, labels: {pod: b}}
  - {name: s3, ip: 52.216.1.2, dns: bkt.s3.us-east-1.amazonaws.com}
  - {name: internet, ip: 203.0.113.9}
  - {name: apiserver, entity: kube-apiserver, ip: 10.96.0.1}
expect:
  - {from: x/a, to: y/b, port: 80, protocol: TCP, verdict: allow}
  - {from: x/a, to: s3, port: 443, verdict: deny}
)");
  INFO((l->diags.all().empty() ? "" : l->diags.all()[0].message));
  REQUIRE(l->cases);
  const CasesFile& cf = *l->cases;
  REQUIRE(cf.endpoints.size() == 5);
  REQUIRE(cf.cases.size() == 2);
  CHECK(cf.namespaces.at("x").at("ns") == "x");
  CHECK(cf.namespaces.at("x").at(kNamespaceNameLabel) == "x");
  const Endpoint* xa = cf.find("x/a");
  REQUIRE(xa);
  CHECK(xa->kind == EndpointKind::Workload);
  CHECK(xa->ns == "x");
  CHECK(xa->ns_labels.at("ns") == "x");
  CHECK(xa->labels.at("pod") == "a");
  CHECK(xa->ips.at(0).str() == "10.0.1.1");
  REQUIRE(xa->ports.size() == 1);
  CHECK(xa->ports[0].name == "http");
  CHECK(xa->ports[0].port == 80);
  CHECK(xa->ports[0].proto == Protocol::TCP);
  const Endpoint* yb = cf.find("y/b");
  REQUIRE(yb);
  CHECK(yb->ips.at(0).str() == "10.244.0.1");  // assigned
  const Endpoint* s3 = cf.find("s3");
  REQUIRE(s3);
  CHECK(s3->kind == EndpointKind::External);
  CHECK(s3->dns_names == std::vector<std::string>{"bkt.s3.us-east-1.amazonaws.com"});
  CHECK(cf.find("apiserver")->kind == EndpointKind::KubeApiserver);
  CHECK(cf.cases[0].allow);
  CHECK(cf.cases[0].proto == Protocol::TCP);
  CHECK(cf.cases[0].port == 80);
  CHECK_FALSE(cf.cases[1].allow);
  CHECK(cf.cases[1].proto == Protocol::TCP);  // default
  CHECK(cf.cases[1].range.line == 12);
  CHECK(cf.cases[1].range.col == 5);
  CHECK(cf.find("nope") == nullptr);
}

TEST_CASE("assigned IPs are deterministic and skip explicit ones", "[cases]") {
  auto l = load_text(R"(endpoints:
  - {name: a, namespace: n}
  - {name: b, namespace: n, ip: 10.244.0.2}
  - {name: c, namespace: n}
  - {name: d, namespace: n, ips: [10.1.0.1, "fd00::1"]}
  - {name: h, entity: host}
  - {name: e, dns: [Example.COM., www.example.com]}
expect: []
)");
  REQUIRE(l->cases);
  const CasesFile& cf = *l->cases;
  CHECK(cf.find("a")->ips.at(0).str() == "10.244.0.1");
  CHECK(cf.find("c")->ips.at(0).str() == "10.244.0.3");
  REQUIRE(cf.find("d")->ips.size() == 2);
  CHECK(cf.find("d")->ips[1].v6);
  CHECK(cf.find("h")->kind == EndpointKind::Host);
  CHECK(cf.find("h")->ips.size() == 1);
  CHECK(cf.find("e")->dns_names == std::vector<std::string>{"example.com", "www.example.com"});
  CHECK(cf.find("e")->ips.at(0).str() == "198.51.100.1");
  // Unlisted namespace: just the name label.
  CHECK(cf.find("a")->ns_labels == Labels{{kNamespaceNameLabel, "n"}});
  CHECK(cf.namespaces.count("n") == 0);
}

TEST_CASE("ICMP cases take the type as port, protocols and verdicts are checked", "[cases]") {
  auto l = load_text(R"(endpoints:
  - {name: a, namespace: n}
  - {name: b, namespace: n, ports: {dns: 53/UDP, metrics: 9090}}
expect:
  - {from: a, to: b, port: 8, protocol: ICMP, verdict: deny}
  - {from: a, to: b, port: 53, protocol: udp, verdict: allow}
)");
  REQUIRE(l->cases);
  CHECK(l->cases->cases[0].proto == Protocol::ICMP);
  CHECK(l->cases->cases[0].port == 8);
  CHECK(l->cases->cases[1].proto == Protocol::UDP);
  const auto& ports = l->cases->find("b")->ports;
  REQUIRE(ports.size() == 2);
  CHECK(ports[0].proto == Protocol::UDP);
  CHECK(ports[1].proto == Protocol::TCP);
  CHECK(ports[1].port == 9090);
}

TEST_CASE("an unknown endpoint name is E205 with a caret on the name", "[cases][errors]") {
  auto l = load_text(R"(endpoints:
  - {name: x/a, namespace: x}
expect:
  - {from: x/a, to: y/zz, port: 80, verdict: allow}
)");
  CHECK_FALSE(l->cases);
  const Diagnostic& d = first_error(*l);
  CHECK(d.code == Code::E205);
  CHECK(d.range.line == 4);
  CHECK(d.range.col == 21);
  CHECK(d.range.end_col == 21 + 4);
  CHECK(d.message.find("y/zz") != std::string::npos);
}

TEST_CASE("invalid cases files are E205 at the offending line", "[cases][errors]") {
  struct Bad {
    const char* text;
    uint32_t line;
    const char* needle;
  };
  const Bad bad[] = {
      {"expect: [{from: a, to: b, port: 80, verdict: allow}\n", 2, "invalid YAML"},
      {"", 1, "empty"},
      {"- a\n- b\n", 1, "map"},
      {"endpoints:\n  - {name: a, namespace: n}\nexpects: []\n", 3, "unknown field"},
      {"endpoints:\n  - {name: a, namespace: n, lables: {x: y}}\n", 2, "unknown endpoint field"},
      {"endpoints:\n  - {namespace: n}\n", 2, "no 'name'"},
      {"endpoints:\n  - {name: a, namespace: n}\n  - {name: a, namespace: m}\n", 3, "duplicate"},
      {"endpoints:\n  - {name: a, namespace: n, ip: 10.0.0.300}\n", 2, "not an IPv4"},
      {"endpoints:\n  - {name: a, entity: moon}\n", 2, "unknown entity"},
      {"endpoints:\n  - {name: a}\n", 2, "needs a 'namespace'"},
      {"endpoints:\n  - {name: a, ip: 1.2.3.4, labels: {a: b}}\n", 2, "only workloads"},
      {"endpoints:\n  - {name: a, namespace: n, ports: {http: 99999/TCP}}\n", 2, "1-65535"},
      {"endpoints:\n  - {name: a, namespace: n, ports: {http: 80/QUIC}}\n", 2, "unknown protocol"},
      {"endpoints:\n  - {name: a, namespace: n, labels: {'bad key!': x}}\n", 2, "label key"},
      {"endpoints:\n  - {name: a, namespace: n}\nexpect:\n  - {from: a, to: a, port: 80, verdict: maybe}\n", 4, "verdict"},
      {"endpoints:\n  - {name: a, namespace: n}\nexpect:\n  - {from: a, to: a, port: 0, verdict: allow}\n", 4, "1-65535"},
      {"endpoints:\n  - {name: a, namespace: n}\nexpect:\n  - {from: a, to: a, port: 300, protocol: ICMP, verdict: allow}\n", 4, "ICMP"},
      {"endpoints:\n  - {name: a, namespace: n}\nexpect:\n  - {from: a, to: a, port: 80, protocol: ANY, verdict: allow}\n", 4, "protocol"},
      {"endpoints:\n  - {name: a, namespace: n}\nexpect:\n  - {from: a, to: a, verdict: allow}\n", 4, "no 'port'"},
      {"endpoints:\n  - {name: a, namespace: n}\nexpect:\n  - {from: a, to: a, port: 80, verdict: allow, why: x}\n", 4, "unknown expectation field"},
      {"endpoints:\n  - {name: a, dns: 'bad name!'}\n", 2, "matchName"},
      {"endpoints:\n  - {name: a, namespace: n, resources: [1]}\n", 2, "map of resource name"},
      {"endpoints:\n  - {name: a, namespace: n,\n     resources: {nvidia.com/gpu: 0.5}}\n", 3, "whole units"},
      {"endpoints:\n  - {name: a, ip: 1.2.3.4, resources: {nvidia.com/gpu: 1}}\n", 2, "only workloads"},
      {"endpoints:\n  - {name: a, namespace: n, tolerations: {key: x}}\n", 2, "must be a list"},
      {"endpoints:\n  - {name: a, namespace: n,\n     tolerations: [{key: x, operator: Maybe}]}\n", 3, "Equal or Exists"},
      {"endpoints:\n  - {name: a, namespace: n, tolerations: [{key: x, effect: NoRun}]}\n", 2, "effect"},
      {"endpoints:\n  - {name: a, namespace: n, tolerations: [{key: x, operator: Exists, value: y}]}\n", 2, "no value"},
      {"endpoints:\n  - {name: a, namespace: n, tolerations: [{value: y}]}\n", 2, "without a key"},
      {"endpoints:\n  - {name: a, namespace: n, tolerations: [{key: x, seconds: 5}]}\n", 2, "unknown toleration field"},
      {"endpoints:\n  - {name: a, namespace: n, nodeSelector: [a]}\n", 2, "nodeSelector"},
  };
  for (const Bad& b : bad) {
    INFO(b.text);
    auto l = load_text(b.text);
    CHECK_FALSE(l->cases);
    const Diagnostic& d = first_error(*l);
    INFO(d.message);
    CHECK(d.code == Code::E205);
    CHECK(d.range.line == b.line);
    CHECK(d.message.find(b.needle) != std::string::npos);
  }
}

TEST_CASE("workloads carry resources, tolerations and a nodeSelector, and their line", "[cases]") {
  auto l = load_text(R"(endpoints:
  - {name: x/a, namespace: x}
  - name: ml/trainer
    namespace: ml
    resources: {nvidia.com/gpu: 2, cpu: 500m}
    tolerations:
      - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
      - {key: dedicated, value: ml}
      - {operator: Exists}
    nodeSelector: {workload-type: gpu}
)");
  INFO((l->diags.all().empty() ? "" : l->diags.all()[0].message));
  REQUIRE(l->cases);
  const Endpoint* a = l->cases->find("x/a");
  REQUIRE(a);
  CHECK(a->range.line == 2);
  CHECK(a->resources.empty());
  CHECK(a->sched.tolerations.empty());
  const Endpoint* t = l->cases->find("ml/trainer");
  REQUIRE(t);
  CHECK(t->range.line == 3);
  CHECK(t->resources.at("nvidia.com/gpu") == "2");
  CHECK(t->resources.at("cpu") == "500m");
  REQUIRE(t->sched.tolerations.size() == 3);
  CHECK(t->sched.tolerations[0].key == "nvidia.com/gpu");
  CHECK(t->sched.tolerations[0].exists);
  CHECK(t->sched.tolerations[0].effect == "NoSchedule");
  CHECK_FALSE(t->sched.tolerations[1].exists);  // operator defaults to Equal
  CHECK(t->sched.tolerations[1].value == "ml");
  CHECK(t->sched.tolerations[2].key.empty());
  CHECK(t->sched.tolerations[2].exists);
  CHECK(t->sched.node_selector.at("workload-type") == "gpu");
}

TEST_CASE("Kubernetes objects are told apart from cases files", "[cases]") {
  CHECK(is_kubernetes_objects("apiVersion: v1\nkind: List\nitems: []\n"));
  CHECK(is_kubernetes_objects("{\"kind\": \"PodList\", \"items\": []}"));
  CHECK(is_kubernetes_objects("---\nkind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b}\n"));
  CHECK_FALSE(is_kubernetes_objects("namespaces: {x: {}}\nendpoints: []\n"));
  CHECK_FALSE(is_kubernetes_objects("kind: [unclosed\n"));
  CHECK_FALSE(is_kubernetes_objects(""));
}

TEST_CASE("a missing cases file is E001", "[cases][errors]") {
  SourceManager sm;
  Diagnostics diags;
  CHECK_FALSE(load_cases("/nonexistent/moat/cases.yaml", sm, diags));
  REQUIRE(diags.has_errors());
  CHECK(diags.all()[0].code == Code::E001);
}

TEST_CASE("add_endpoint reuses equal endpoints and renames different ones", "[cases]") {
  CasesFile cf;
  Endpoint a;
  a.name = "x/a";
  a.ns = "x";
  a.labels = {{"pod", "a"}};
  CHECK(add_endpoint(cf, a) == "x/a");
  CHECK(cf.endpoints.back().ips.at(0).str() == "10.244.0.1");
  CHECK(cf.endpoints.back().ns_labels.at(kNamespaceNameLabel) == "x");
  CHECK(add_endpoint(cf, a) == "x/a");
  CHECK(cf.endpoints.size() == 1);
  Endpoint other = a;
  other.labels = {{"pod", "b"}};
  CHECK(add_endpoint(cf, other) == "x/a#2");
  CHECK(cf.endpoints.back().ips.at(0).str() == "10.244.0.2");
}

TEST_CASE("a cases file that is not UTF-8 text is E002 (fuzz/regressions)", "[cases][errors]") {
  // Found by fuzz_cases: the loader took any bytes, and they reached E205 messages.
  SourceManager sm;
  Diagnostics diags;
  auto cases = load_cases(std::string(MOAT_SOURCE_DIR) + "/fuzz/regressions/fuzz_cases/not-utf8.yaml", sm, diags);
  CHECK_FALSE(cases);
  REQUIRE(diags.all().size() == 1);
  CHECK(diags.all()[0].code == Code::E002);
  CHECK(diags.all()[0].range.line == 1);
  CHECK(diags.all()[0].range.col == 1);
  auto l = load_text("endpoints:\n- {name: a, namespace: x}\nexpect:\n- {from: a, to: a, port: 80, verdict: allow, \xED\xA0\x80: 1}\n");
  CHECK_FALSE(l->cases);
  CHECK(first_error(*l).code == Code::E002);
  CHECK(first_error(*l).range.line == 4);
}

TEST_CASE("a cases file over 16 MiB is E003, not read", "[cases][errors]") {
  auto path = std::filesystem::temp_directory_path() / ("moat-test-big-cases-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "endpoints: []\n";
  std::filesystem::resize_file(path, (16u << 20) + 1);  // sparse: nothing is written
  SourceManager sm;
  Diagnostics diags;
  auto cases = load_cases(path.string(), sm, diags);
  std::filesystem::remove(path);
  CHECK_FALSE(cases);
  REQUIRE(diags.all().size() == 1);
  CHECK(diags.all()[0].code == Code::E003);
}
