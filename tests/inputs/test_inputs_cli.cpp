// The input options through the real binary: `-` reads a pipe (diagnostics name
// `<stdin>`) for check, query, test, build and diff; --max-file-size, --strict, --verbose,
// --exclude; and the L7 condition `moat check` warns about and `moat query` / `moat test`
// print with the verdict.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/run_moat.h"

namespace {

using moat::testing::run_moat;
using moat::testing::run_moat_piped;

std::string read(const std::string& rel) {
  std::ifstream in(std::string(MOAT_SOURCE_DIR) + "/" + rel);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr const char* kBadName = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: Bad_Name, namespace: x}
spec: {}
)";

constexpr const char* kConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n";

} // namespace

TEST_CASE("moat check - reads a pipe, diagnostics name <stdin>", "[inputs][cli]") {
  auto ok = run_moat_piped(read("examples/ml-platform-yaml/kubeflow.yaml"), "check -", true);
  INFO(ok.out);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("1 file(s)") != std::string::npos);

  auto bad = run_moat_piped(kBadName, "check -", true);
  INFO(bad.out);
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("<stdin>:3:") != std::string::npos);
  CHECK(bad.out.find("error[E213]") != std::string::npos);

  SECTION("stdin and files together, JSON on stdin") {
    auto both = run_moat_piped(
        R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "j", "namespace": "x"}, "spec": {}})",
        "check examples/ml-platform-yaml/databases.yaml - --format json");
    INFO(both.out);
    CHECK(both.exit_code == 0);
    auto j = nlohmann::json::parse(both.out);
    CHECK(j.at("summary").at("files") == 2);
  }
}

TEST_CASE("query, test, build and diff read - too", "[inputs][cli]") {
  std::string l7 = read("tests/inputs/l7/policy.yaml");
  auto q = run_moat_piped(l7, "query - --from 'shop/app=admin' --to 'shop/app=api' --port 80/tcp");
  INFO(q.out);
  CHECK(q.exit_code == 0);
  CHECK(q.out.find("allow") != std::string::npos);

  auto t = run_moat_piped(l7, "test - --cases tests/inputs/l7/cases.yaml");
  INFO(t.out);
  CHECK(t.exit_code == 0);
  CHECK(t.out.find("3 passed, 0 failed") != std::string::npos);

  // build refuses L7 (E701), at <stdin>.
  auto b = run_moat_piped(l7, "build - -o /tmp/moat-never-written", true);
  INFO(b.out);
  CHECK(b.exit_code == 2);
  CHECK(b.out.find("<stdin>:") != std::string::npos);
  CHECK(b.out.find("E701") != std::string::npos);

  auto d = run_moat_piped(read("examples/ml-platform-yaml/databases.yaml"),
                          "diff examples/ml-platform-yaml/databases.yaml -");
  INFO(d.out);
  CHECK(d.exit_code == 0);
}

TEST_CASE("max-file-size refuses larger inputs (E003), files and pipes alike", "[inputs][cli]") {
  auto file = run_moat("check examples/ml-platform-yaml/kubeflow.yaml --max-file-size 1K", true);
  INFO(file.out);
  CHECK(file.exit_code == 2);
  CHECK(file.out.find("error[E003]") != std::string::npos);
  auto pipe = run_moat_piped(read("examples/ml-platform-yaml/kubeflow.yaml"), "check - --max-file-size 1k", true);
  INFO(pipe.out);
  CHECK(pipe.exit_code == 2);
  CHECK(pipe.out.find("<stdin>:1:1: error[E003]") != std::string::npos);
  auto roomy = run_moat("check examples/ml-platform-yaml/kubeflow.yaml --max-file-size 1M");
  CHECK(roomy.exit_code == 0);
  auto junk = run_moat("check examples/ml-platform-yaml/kubeflow.yaml --max-file-size lots", true);
  CHECK(junk.exit_code == 2);
  CHECK(junk.out.find("--max-file-size") != std::string::npos);
}

TEST_CASE("kinds with no policy meaning: quiet, --verbose notes them, --strict fails", "[inputs][cli]") {
  auto quiet = run_moat_piped(kConfigMap, "check - --format sarif");
  INFO(quiet.out);
  CHECK(quiet.exit_code == 0);
  auto sarif = nlohmann::json::parse(quiet.out);
  CHECK(sarif.at("runs").at(0).at("results").empty());

  auto noted = run_moat_piped(kConfigMap, "check - --verbose", true);
  INFO(noted.out);
  CHECK(noted.exit_code == 0);
  CHECK(noted.out.find("note[N005]") != std::string::npos);

  auto strict = run_moat_piped(kConfigMap, "check - --strict", true);
  INFO(strict.out);
  CHECK(strict.exit_code == 2);
  CHECK(strict.out.find("error[E211]") != std::string::npos);

  auto anp = run_moat_piped("apiVersion: policy.networking.k8s.io/v1beta1\nkind: AdminNetworkPolicy\n"
                            "metadata: {name: a}\nspec: {priority: 1}\n",
                            "check - --werror", true);
  INFO(anp.out);
  CHECK(anp.exit_code == 1);
  CHECK(anp.out.find("warning[W212]") != std::string::npos);
}

TEST_CASE("exclude on the command line skips files of a walked directory", "[inputs][cli]") {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/moat-exclude-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::ofstream(dir / "good.yaml") << read("examples/ml-platform-yaml/databases.yaml");
  fs::create_directories(dir / "broken");
  std::ofstream(dir / "broken" / "bad.yaml") << kBadName;
  auto all = run_moat("check '" + dir.string() + "'");
  auto skipped = run_moat("check '" + dir.string() + "' --exclude broken --exclude 'nothing-*'");
  // The glob takes one value: the PATH after it is still a PATH.
  auto before = run_moat("check --exclude broken '" + dir.string() + "'");
  fs::remove_all(dir);
  CHECK(all.exit_code == 2);
  CHECK(skipped.exit_code == 0);
  CHECK(before.exit_code == 0);
}

TEST_CASE("L7: check warns (W407), query and test print the HTTP condition with the verdict", "[inputs][cli][l7]") {
  auto check = run_moat("check tests/inputs/l7/policy.yaml", true);
  INFO(check.out);
  CHECK(check.exit_code == 0);
  CHECK(check.out.find("tests/inputs/l7/policy.yaml:19:17: warning[W407]") != std::string::npos);
  CHECK(run_moat("check tests/inputs/l7/policy.yaml --werror").exit_code == 1);

  auto q = run_moat("query tests/inputs/l7/policy.yaml --from 'shop/app=client' --to 'shop/app=api' --port 80/tcp");
  INFO(q.out);
  CHECK(q.exit_code == 0);
  CHECK(q.out.find("on tcp/80: allow, only HTTP GET /api/.*\n") != std::string::npos);
  auto admin = run_moat("query tests/inputs/l7/policy.yaml --from 'shop/app=admin' --to 'shop/app=api' --port 80/tcp");
  CHECK(admin.out.find("on tcp/80: allow\n") != std::string::npos);
  auto ports = run_moat("query tests/inputs/l7/policy.yaml --from 'shop/app=client' --to 'shop/app=api'");
  INFO(ports.out);
  CHECK(ports.out.find("allow tcp 80, only HTTP GET /api/.*\n") != std::string::npos);
  auto js = run_moat("query tests/inputs/l7/policy.yaml --from 'shop/app=client' --to 'shop/app=api' --port 80/tcp "
                     "--format json");
  CHECK(nlohmann::json::parse(js.out).at("l7") == "only HTTP GET /api/.*");

  auto t = run_moat("test tests/inputs/l7/policy.yaml --cases tests/inputs/l7/cases.yaml");
  INFO(t.out);
  CHECK(t.exit_code == 0);
  CHECK(t.out.find("PASS shop/client -> shop/api tcp/80: allow, only HTTP GET /api/.*\n") != std::string::npos);
  CHECK(t.out.find("PASS shop/admin -> shop/api tcp/80: allow\n") != std::string::npos);
}

TEST_CASE("AdminNetworkPolicy tiers on the command line: query names the tier, diff sees them, build refuses",
          "[inputs][cli][anp]") {
  const std::string anp = "tests/e2e/ANP-01/";
  auto q = run_moat("query " + anp + "policy.yaml --inventory " + anp +
                    "cases.yaml --from 'mon/app=prom' --to 'prod/app=web' --port 80/tcp");
  INFO(q.out);
  CHECK(q.out.find("denied by the BaselineAdminNetworkPolicy tier") != std::string::npos);
  CHECK(q.out.find("passed on by pass admin rule #0 from AdminNetworkPolicy pass-monitoring rule "
                   "'to-namespace-owners'") != std::string::npos);
  CHECK(q.out.find("deny baseline rule #0 from BaselineAdminNetworkPolicy default rule 'no-pod-to-pod'") !=
        std::string::npos);

  auto qj = run_moat("query " + anp + "policy.yaml --inventory " + anp +
                     "cases.yaml --from 'mon/app=prom' --to 'prod/app=web' --port 80/tcp --format json");
  INFO(qj.out);
  auto j = nlohmann::json::parse(qj.out);
  const auto& ingress = j.at("flow").at("ingress");
  CHECK(ingress.at("why") == "baseline-denied");
  CHECK(ingress.at("rules").at(0).at("tier") == "BaselineAdminNetworkPolicy");
  CHECK(ingress.at("passedBy").at("origin") == "AdminNetworkPolicy pass-monitoring rule 'to-namespace-owners'");

  // Only a BaselineAdminNetworkPolicy differs: the semantic diff must see it.
  char tmpl[] = "/tmp/moat-anp-diff-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/old.yaml") << "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                      "metadata: {name: web, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: web}}\n"
                                      "  ingress: [{}]\n";
  std::ofstream(dir + "/new.yaml") << "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                      "metadata: {name: web, namespace: prod}\nspec:\n  podSelector: {matchLabels: {app: web}}\n"
                                      "  ingress: [{}]\n---\napiVersion: policy.networking.k8s.io/v1alpha1\n"
                                      "kind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n"
                                      "  subject: {namespaces: {}}\n  egress: [{action: Deny, to: [{networks: [0.0.0.0/0]}]}]\n";
  auto d = run_moat("diff " + dir + "/old.yaml " + dir + "/new.yaml", true);
  INFO(d.out);
  CHECK(d.exit_code == 1);
  CHECK(d.out.find("newly denied:") != std::string::npos);
  CHECK(d.out.find("denied by the BaselineAdminNetworkPolicy tier") != std::string::npos);

  // The datapath enforces the tiers: the bundle carries them for the node to resolve.
  auto b = run_moat("build " + anp + "policy.yaml -o " + dir + "/bundle", true);
  INFO(b.out);
  CHECK(b.exit_code == 0);
  std::ifstream mf(dir + "/bundle/manifest.json");
  auto manifest = nlohmann::json::parse(mf);
  CHECK(manifest.at("admin_rules").size() == 7);
  CHECK(manifest.at("admin_rules").at(0).at("action") == "pass");
  CHECK(manifest.at("baseline_rules").size() == 1);
  std::filesystem::remove_all(dir);
}
