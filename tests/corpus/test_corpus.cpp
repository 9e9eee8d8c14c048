// The third-party corpus (tests/corpus/third_party): every YAML and JSON file either loads
// without errors or fails with exactly the diagnostics listed here. The listed files are
// fragments of documentation, unexpanded templates ({{ }}), or deliberately or historically
// invalid input; a JSON file whose top level is an array (Cilium's `cilium policy import`
// rule lists, tool outputs) is not a Kubernetes object and must fail with exactly E202.
// Anything else that fails is a front-end bug (or a new corpus file to look at).
#include <catch2/catch.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "frontend/frontend.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

/// Relative path -> the error codes it must produce (and no others).
const std::map<std::string, std::set<std::string>> kExpectedFailures = {
    // Markdown code blocks that are fragments, not objects.
    {"ahmetb__kubernetes-network-policy-recipes/08-allow-external-traffic__block2.fragment.yaml", {"E204"}},
    {"ahmetb__kubernetes-network-policy-recipes/09-allow-traffic-only-to-a-port__block2.fragment.yaml", {"E204"}},
    {"ahmetb__kubernetes-network-policy-recipes/09-allow-traffic-only-to-a-port__block3.fragment.yaml", {"E204"}},
    // `<<AZ>>` placeholders to fill in before applying.
    {"aws-samples__karpenter-blueprints/blueprints/reserved-capacity/migration-nodeclass-automode.yaml", {"E306"}},
    {"aws-samples__karpenter-blueprints/blueprints/reserved-capacity/migration-nodeclass.yaml", {"E306"}},
    {"aws-samples__karpenter-blueprints/blueprints/reserved-capacity/odcr-automode.yaml", {"E306"}},
    {"aws-samples__karpenter-blueprints/blueprints/reserved-capacity/odcr.yaml", {"E306"}},
    // Karpenter docs: partial NodePools (no template / no metadata), a reference listing
    // alternatives (`Gte`, `A | B | C`), and blocks that are not YAML.
    {"aws__karpenter-provider-aws/website_docs_inline/website__content__en__docs__concepts__disruption__codeblock1.yaml", {"E204"}},
    {"aws__karpenter-provider-aws/website_docs_inline/website__content__en__docs__concepts__disruption__codeblock2.yaml", {"E204"}},
    {"aws__karpenter-provider-aws/website_docs_inline/website__content__en__docs__concepts__scheduling__codeblock4.yaml", {"E204"}},
    {"aws__karpenter-provider-aws/website_docs_inline/website__content__en__docs__concepts__nodepools__codeblock1.yaml", {"E202", "E310"}},
    {"aws__karpenter-provider-aws/website_docs_inline/website__content__en__docs__concepts__nodeclasses__codeblock4.yaml", {"E201"}},
    {"aws__karpenter-provider-aws/website_docs_inline/website__content__en__docs__concepts__nodeclasses__codeblock5.yaml", {"E201"}},
    {"cilium__cilium/Documentation_inline/Documentation__operations__performance__scalability__report__codeblock1.yaml", {"E201"}},
    // cilium-cli connectivity manifests are Go templates ({{.ExternalTarget}}, ...).
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-l7-http-external-node.yaml", {"E303", "E308"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-l7-http-named-port.yaml", {"E308"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-l7-http-port-range.yaml", {"E308"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-l7-http.yaml", {"E308"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-l7-tls-port-range.yaml", {"E308"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-l7-tls.yaml", {"E308"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-node-local-dns.yaml", {"E303", "E308"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-tls-sni-double-wildcard.yaml", {"E201"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-to-cidr-cp-host-knp.yaml", {"E201"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-to-cidr-external-deny.yaml", {"E201"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-to-cidr-external-knp.yaml", {"E201"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-to-cidr-external.yaml", {"E201"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-to-cidr-k8s.yaml", {"E202"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-to-cidr-node-knp.yaml", {"E201"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-to-fqdns-port-ranges.yaml", {"E213"}},  // name has {{ }}
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/client-egress-to-fqdns.yaml", {"E213"}},  // name has {{ }}
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/deny-cidr.yaml", {"E201"}},
    {"cilium__cilium/cilium-cli/connectivity/builder/manifests/echo-ingress-from-cidr.yaml", {"E201"}},
    // Stale Cilium examples: `auth` (now `authentication`), a top-level `description`, an
    // `apiversion` typo, and lower-case `in` operators, all rejected by the CRD schema.
    {"cilium__cilium/examples/policies/auth/auth.yaml", {"E203"}},
    {"cilium__cilium/examples/policies/host/lock-down-dev-vms.yaml", {"E203"}},
    {"cilium__cilium/examples/policies/l3/entities/from_nodes.yaml", {"E203", "E204"}},
    {"cilium__cilium/examples/policies/l3/match-expressions/and-statement.yaml", {"E310"}},
    {"cilium__cilium/examples/policies/l3/match-expressions/or-statement.yaml", {"E310"}},
    // Two CiliumNetworkPolicies named default/echo-c (lines 859 and 1205): `kubectl apply`
    // keeps only the second, so reading both would verify a state no cluster is in.
    {"cilium__cilium/examples/kubernetes/connectivity-check/connectivity-check-proxy.yaml", {"E210"}},
    // `metadata.description` is not an ObjectMeta field (the API server drops or rejects it).
    {"cilium__cilium/examples/policies/kubernetes/clustermesh/cross-cluster-policy.yaml", {"E203"}},
    // netpol-analyzer's deliberately bad policies.
    {"np-guard__netpol-analyzer/tests/bad_netpols/subdir1/netpols.yaml", {"E304"}},  // cidr: A
    {"np-guard__netpol-analyzer/tests/bad_netpols/subdir2/netpols.yaml", {"E306"}},  // key app@b
    {"np-guard__netpol-analyzer/tests/bad_netpols/subdir3/netpols.yaml", {"E206"}},  // ipBlock + podSelector
    {"np-guard__netpol-analyzer/tests/bad_netpols/subdir4/netpols.yaml", {"E204"}},  // from: [{}]
    {"np-guard__netpol-analyzer/tests/bad_netpols/subdir7/resources.yaml", {"E306"}},  // value $backendservice
    // endPort 1 < port 10: the API server rejects it (netpol-analyzer reads it as empty).
    {"np-guard__netpol-analyzer/tests/np_test_with_empty_port_range/netpol.yaml", {"E302"}},
    // JSON objects that are not Kubernetes objects: `cilium endpoint get` output and
    // cyclonus probe results.
    {"cilium__cilium/Documentation_inline/Documentation__security__policy__troubleshooting__codeblock1.json", {"E204"}},
    {"mattfenwick__cyclonus/examples/probe-example.json", {"E204"}},
    {"mattfenwick__cyclonus/examples/probe.json", {"E204"}},
};

/// Does the file's first non-blank character open a JSON array?
bool is_json_array(const fs::path& path) {
  if (path.extension() != ".json") return false;
  std::ifstream in(path);
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  return c == '[';
}

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> out;
  fs::path root(MOAT_CORPUS_DIR);
  if (!fs::is_directory(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("every corpus YAML and JSON file loads or fails exactly as listed", "[corpus]") {
  std::vector<fs::path> files = corpus_files();
  INFO("corpus directory: " MOAT_CORPUS_DIR);
  REQUIRE(files.size() > 300);
  size_t loaded = 0, failed_as_expected = 0, json_arrays = 0, rules = 0, pools = 0;
  std::set<std::string> seen;
  for (const fs::path& path : files) {
    std::string rel = fs::relative(path, MOAT_CORPUS_DIR).string();
    SourceManager sm;
    Module m;
    Diagnostics d;
    load_paths({path.string()}, sm, m, d);
    std::set<std::string> codes;
    std::string all;
    for (const Diagnostic& x : d.all()) {
      CHECK(x.range.known());  // every diagnostic points somewhere
      CHECK(x.range.line >= 1);
      if (x.severity == Severity::Error) codes.insert(std::string(code_name(x.code)));
      all += sm.location(x.range) + ": " + std::string(code_name(x.code)) + " " + x.message + "\n";
    }
    INFO(rel << "\n" << all);
    auto it = kExpectedFailures.find(rel);
    if (is_json_array(path)) {
      CHECK(codes == std::set<std::string>{"E202"});
      ++json_arrays;
    } else if (it == kExpectedFailures.end()) {
      CHECK(codes.empty());
      if (codes.empty()) ++loaded;
    } else {
      seen.insert(rel);
      CHECK(codes == it->second);
      if (codes == it->second) ++failed_as_expected;
    }
    rules += m.rules.size();
    pools += m.pools.size();
  }
  for (const auto& [rel, codes] : kExpectedFailures) {
    INFO("listed but not in the corpus: " << rel);
    CHECK(seen.count(rel) == 1);
  }
  // The corpus is mostly policies: make sure they produced something.
  CHECK(rules > 500);
  CHECK(pools > 50);
  CHECK(json_arrays > 40);
  WARN(loaded << " files loaded cleanly, " << failed_as_expected << " failed as listed, " << json_arrays
              << " JSON arrays refused; " << rules << " rules, " << pools << " node pools");
}
