// `moat check --inventory` end to end, through the real binary: a Kubernetes inventory (the
// agent's input) or a cases file is the scope, and W506 flags exactly the GPU pods no GPU
// pool admits — by the scheduler's rules (ir/scheduling.h), for the moat-language pool
// and for the Karpenter NodePool YAML alike — at the pod's line in the inventory.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/run_moat.h"

namespace {

using moat::testing::Run;
using moat::testing::run_moat;

std::vector<nlohmann::json> with_code(const nlohmann::json& report, const std::string& code) {
  std::vector<nlohmann::json> out;
  for (const auto& d : report.at("diagnostics"))
    if (d.at("code") == code) out.push_back(d);
  return out;
}

/// The line of the Pod object `name` in the example inventory (its `- apiVersion:` line).
int pod_line(const std::string& name) {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform.pods.yaml");
  std::string line;
  int n = 0, item = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find("- apiVersion:") != std::string::npos) item = n;
    if (line.find("name: " + name) != std::string::npos) return item;
  }
  return -1;
}

const char* kPods = "--inventory examples/ml-platform.pods.yaml";

} // namespace

TEST_CASE("moat check --inventory PODS: W506 for the GPU pod the moat pool does not admit", "[cli][inventory]") {
  Run r = run_moat(std::string("check --format json examples/ml-platform.moat ") + kPods);
  INFO(r.out);
  auto report = nlohmann::json::parse(r.out);
  auto w = with_code(report, "W506");
  REQUIRE(w.size() == 1);  // trainer-0 tolerates the taint; inference and postgres ask for no GPU
  const auto& d = w[0];
  CHECK(d.at("message").get<std::string>().find("kubeflow/finetune-0") != std::string::npos);
  CHECK(d.at("message").get<std::string>().find("nvidia.com/gpu: 1") != std::string::npos);
  CHECK(d.at("location").at("file") == "examples/ml-platform.pods.yaml");
  CHECK(d.at("location").at("line") == pod_line("finetune-0"));
  REQUIRE(d.at("notes").size() == 1);
  CHECK(d.at("notes")[0].at("message") ==
        "GPU pool 'gpu' does not admit it: does not tolerate pool taint nvidia.com/gpu=true:NoSchedule");
  CHECK(d.at("notes")[0].at("location").at("file") == "examples/ml-platform.moat");
  // The proof reads the same rules: finetune-0 is a training workload the pool refuses.
  bool found = false;
  for (const auto& p : report.at("proofs")) {
    if (p.at("statement").get<std::string>().find("nodepool gpu admits") == std::string::npos) continue;
    found = true;
    CHECK(p.at("status") == "failed");
    CHECK(p.dump().find("kubeflow/finetune-0[Pod] does not tolerate pool taint") != std::string::npos);
  }
  CHECK(found);
  // `reachable from kubeflow/alb` (a CIDR) is about endpoints the pod inventory lacks: E606,
  // an error, where it used to pass as proved without comparing anything.
  REQUIRE(with_code(report, "E606").size() == 1);
  CHECK(with_code(report, "E606")[0].at("location").at("line") == 61);
  CHECK(r.exit_code == 2);
}

TEST_CASE("moat check --inventory PODS: the Karpenter NodePool YAML admits by taints alone", "[cli][inventory]") {
  Run r = run_moat(std::string("check --format json examples/ml-platform-yaml ") + kPods);
  INFO(r.out);
  auto report = nlohmann::json::parse(r.out);
  auto w = with_code(report, "W506");
  REQUIRE(w.size() == 1);
  CHECK(w[0].at("message").get<std::string>().find("kubeflow/finetune-0") != std::string::npos);
  CHECK(w[0].at("location").at("line") == pod_line("finetune-0"));
  REQUIRE(w[0].at("notes").size() == 1);
  CHECK(w[0].at("notes")[0].at("location").at("file") == "examples/ml-platform-yaml/gpu-nodepool.yaml");
  CHECK(r.exit_code == 0);  // warnings only
  CHECK(run_moat(std::string("check --werror examples/ml-platform-yaml ") + kPods).exit_code == 1);
}

TEST_CASE("moat check --inventory CASES: workloads that tolerate the pool are not W506", "[cli][inventory]") {
  Run r = run_moat("check --format json examples/ml-platform.moat --inventory examples/ml-platform.cases.yaml");
  INFO(r.out);
  auto report = nlohmann::json::parse(r.out);
  CHECK(with_code(report, "W506").empty());
  CHECK(r.exit_code == 0);
}

TEST_CASE("moat check --inventory with a bad shape is exit 2 at the line, a bad object is skipped", "[cli][inventory]") {
  std::string path = std::string(MOAT_BINARY_DIR) + "/bad-inventory-cases.yaml";
  std::ofstream(path) << "endpoints:\n  - {name: a, namespace: n,\n     tolerations: [{key: x, operator: Maybe}]}\n";
  Run r = run_moat("check --format json examples/ml-platform.moat --inventory " + path);
  INFO(r.out);
  CHECK(r.exit_code == 2);
  auto report = nlohmann::json::parse(r.out);
  auto e = with_code(report, "E205");
  REQUIRE(e.size() == 1);
  CHECK(e[0].at("location").at("line") == 3);
  std::ofstream(path) << "apiVersion: v1\nkind: List\nitems:\n  - kind: Pod\n    metadata: {name: a}\n"
                         "    spec: {containers: [{name: c, resources: {limits: {nvidia.com/gpu: lots}}}]}\n";
  r = run_moat("check --format json examples/ml-platform.moat --inventory " + path);
  INFO(r.out);
  // A malformed object is skipped with a warning at its mistake; the rest would apply.
  report = nlohmann::json::parse(r.out);
  REQUIRE(with_code(report, "W807").size() == 1);
  CHECK(with_code(report, "W807")[0].at("location").at("line") == 6);
  CHECK(r.exit_code != 0);  // nothing is left: the proofs over it are vacuous (E606)
}

TEST_CASE("moat query answers per address for an endpoint with several", "[cli][inventory]") {
  // cdn is 52.0.0.10 (inside the policy's CIDR) and 52.1.0.10 (outside): two hosts, two
  // verdicts, and the flow counts as allowed only when it is at both (exit 1).
  const std::string base = "query tests/golden/interp/multi-address.yaml --inventory "
                           "tests/golden/interp/multi-address.cases.yaml ";
  Run r = run_moat(base + "--from x/web --to cdn --port 443/tcp");
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("-> 52.0.0.10 on tcp/443: allow\n") != std::string::npos);
  CHECK(r.out.find("-> 52.1.0.10 on tcp/443: deny\n") != std::string::npos);
  r = run_moat(base + "--from x/web --to 52.0.0.10 --port 443/tcp");  // one of the hosts
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("52.1.0.10") == std::string::npos);
  r = run_moat(base + "--from x/web --to cdn --port 443/tcp --format json");
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.at("addresses").size() == 2);
  CHECK(j["addresses"][0].at("flow").at("allowed") == true);
  CHECK(j["addresses"][1].at("flow").at("allowed") == false);
  CHECK(j["addresses"][1].at("to").at("ips")[0] == "52.1.0.10");
}

TEST_CASE("moat check --deadline: what did not run in time is unknown by name and never proved") {
  // A deadline that has passed before the first check: every lint and proof is late.
  auto r = run_moat("check examples/ml-platform.moat --deadline 0.000000001", true);
  INFO(r.out);
  CHECK(r.exit_code == 1);  // unknown proofs fail the run
  CHECK(r.out.find("warning[W609]: W501/W502 (shadowed and redundant rules) not checked for this rule") !=
        std::string::npos);
  CHECK(r.out.find("W503 (selectors that match nothing) not checked") != std::string::npos);
  CHECK(r.out.find("not run: --deadline reached") != std::string::npos);
  CHECK(r.out.find(" 0 proved") != std::string::npos);
  // A generous deadline changes nothing.
  auto ok = run_moat("check examples/ml-platform.moat --deadline 600", true);
  CHECK(ok.out.find("W609") == std::string::npos);
  CHECK(ok.exit_code == run_moat("check examples/ml-platform.moat", true).exit_code);
  // A diff cut short is never "equivalent".
  auto d = run_moat("diff examples/ml-platform.moat examples/ml-platform-yaml --deadline 0.000000001", true);
  INFO(d.out);
  CHECK(d.out.find("equivalent") == std::string::npos);
  CHECK(d.out.find("--deadline reached") != std::string::npos);
}

TEST_CASE("moat check --progress: progress lines on stderr only when asked for as stderr is not a terminal here") {
  auto quiet = run_moat("check examples/ml-platform.moat", true);
  CHECK(quiet.out.find("moat: proofs") == std::string::npos);
  auto shown = run_moat("check examples/ml-platform.moat --progress", true);
  CHECK(shown.out.find("moat: loading policies") != std::string::npos);
  CHECK(shown.out.find("moat: lints: rules") != std::string::npos);
  CHECK(shown.out.find("moat: proofs") != std::string::npos);
  // stdout (the report) never carries it.
  CHECK(run_moat("check examples/ml-platform.moat --progress", false).out.find("moat: proofs") == std::string::npos);
}

TEST_CASE("moat check --inventory with truncated kubectl JSON: E201 where it breaks, not a cases-file error",
          "[cli][inventory]") {
  // `kubectl get pods -o json` cut off mid-object: the file is Kubernetes objects, and the
  // break is a JSON syntax error at its place (it was E205 "invalid cases file", because text
  // that did not parse fell back to the cases-file reader).
  std::string whole = "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        {\n"
                      "            \"apiVersion\": \"v1\",\n            \"kind\": \"Pod\",\n"
                      "            \"metadata\": {\n                \"name\": \"web-1\",\n"
                      "                \"namespace\": \"shop\"\n            },\n"
                      "            \"status\": {\"podIP\": \"10.0.0.1\"}\n        },\n        {\n"
                      "            \"kind\": \"Pod\",\n            \"metadata\": {\n"
                      "                \"name\": \"web-2\",\n";
  for (const char* ext : {".json", ".yaml"}) {
    std::string path = std::string(MOAT_BINARY_DIR) + "/truncated-pods" + ext;
    std::ofstream(path) << whole.substr(0, whole.size() - 4);  // line 16 ends in `"web-`
    Run r = run_moat("check examples/ml-platform.moat --inventory " + path, true);
    INFO(r.out);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find(path + ":16:26: error[E201]: invalid YAML") != std::string::npos);
    CHECK(r.out.find("E205") == std::string::npos);
  }
  // A truncated cases file is still the cases file's error.
  std::string cases = std::string(MOAT_BINARY_DIR) + "/truncated-cases.json";
  std::ofstream(cases) << "{\"namespaces\": {\"shop\": {}},\n \"endpoints\": [{\"name\": \"a";
  Run r = run_moat("check examples/ml-platform.moat --inventory " + cases, true);
  INFO(r.out);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find(cases + ":2:") != std::string::npos);
  CHECK(r.out.find("error[E205]") != std::string::npos);
}
