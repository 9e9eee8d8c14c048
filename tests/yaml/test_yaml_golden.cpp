// Golden IR printouts of the YAML front ends for a handful of corpus files and the YAML
// example: what each file lowers to, and the diagnostics it gets. UPDATE_GOLDENS=1 rewrites.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/frontend.h"
#include "ir/printer.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

/// The *.yaml / *.yml files under `dir`, sorted as load_paths walks them.
std::vector<std::string> yaml_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// `alone`: each path is a collection of alternative examples (a dozen NodePools all named
/// `default`), so each file is loaded by itself; otherwise the paths are one set of inputs.
std::string render(const std::vector<std::string>& paths, bool alone) {
  SourceManager sm;
  Module m;
  Diagnostics d;
  if (alone) {
    for (const std::string& dir : paths)
      for (const std::string& f : yaml_files(dir)) load_paths({f}, sm, m, d);
  } else {
    load_paths(paths, sm, m, d);
  }
  std::string out;
  for (const Diagnostic& x : d.all()) {
    if (x.code == Code::N005) continue;  // skipped Deployments etc. are noise here
    std::string loc = sm.location(x.range);
    size_t slash = loc.rfind('/');
    if (slash != std::string::npos) loc = loc.substr(slash + 1);
    const char* sev = x.severity == Severity::Error ? "error" : x.severity == Severity::Warning ? "warning" : "note";
    out += loc + ": " + sev + "[" + std::string(code_name(x.code)) + "]: " + x.message + "\n";
  }
  out += print_module(m, sm);
  return out;
}

void check_golden(const std::string& name, const std::vector<std::string>& paths, bool alone = true) {
  fs::path golden = fs::path(MOAT_SOURCE_DIR) / "tests/golden/yaml" / (name + ".txt");
  std::string actual = render(paths, alone);
  if (std::getenv("UPDATE_GOLDENS")) {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden) << actual;
    SUCCEED("updated " << golden);
    return;
  }
  std::ifstream in(golden);
  REQUIRE(in.good());
  std::stringstream expected;
  expected << in.rdbuf();
  CHECK(actual == expected.str());
}

std::string corpus(const std::string& rel) { return std::string(MOAT_CORPUS_DIR) + "/" + rel; }

} // namespace

TEST_CASE("golden: ML platform YAML example", "[golden]") {
  check_golden("ml-platform-yaml", {std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform-yaml"}, false);
}

TEST_CASE("golden: Kubernetes NetworkPolicy examples", "[golden]") {
  check_golden("k8s-website-networking", {corpus("kubernetes__website/content/en/examples/service/networking")});
}

TEST_CASE("golden: Cilium examples", "[golden]") {
  check_golden("cilium-l3-l4", {corpus("cilium__cilium/examples/policies/l3"), corpus("cilium__cilium/examples/policies/l4")});
  check_golden("cilium-kubernetes", {corpus("cilium__cilium/examples/policies/kubernetes")});
}

TEST_CASE("golden: AdminNetworkPolicy tiers (moat's truth table and netpol-analyzer's cases)", "[golden][anp]") {
  check_golden("anp-tiers", {std::string(MOAT_SOURCE_DIR) + "/tests/e2e/ANP-01",
                             corpus("np-guard__netpol-analyzer/tests/anp_banp_blog_demo")});
}

TEST_CASE("golden: Karpenter NodePools", "[golden]") {
  check_golden("karpenter-gpu", {corpus("aws-samples__karpenter-blueprints/blueprints/nvidia-gpu-workload"),
                                 corpus("aws__karpenter-provider-aws/examples/v1")});
}

TEST_CASE("golden: invalid NetworkPolicies", "[golden]") {
  check_golden("np-guard-bad-netpols", {corpus("np-guard__netpol-analyzer/tests/bad_netpols")});
}

TEST_CASE("golden: Kubernetes workloads (one endpoint per workload, every kind)", "[golden]") {
  check_golden("workloads-all-kinds", {std::string(MOAT_SOURCE_DIR) + "/tests/workloads/data/all-kinds.yaml"}, false);
  check_golden("workloads-shop", {std::string(MOAT_SOURCE_DIR) + "/tests/workloads/data/shop/cluster",
                                  std::string(MOAT_SOURCE_DIR) + "/tests/workloads/data/shop/v2"}, false);
  check_golden("netpol-analyzer-named-ports",
               {corpus("np-guard__netpol-analyzer/tests/netpol_named_port_test")});
}
