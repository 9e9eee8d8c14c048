// Goldens of verifier output (solver lints, proof verdicts with counterexamples and
// deciding rules, semantic diffs) for the examples and tests/golden/verifier/*.moat.
// Regenerate with UPDATE_GOLDENS=1.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "frontend/cases.h"
#include "frontend/frontend.h"
#include "ir/lint.h"
#include "verifier/verifier.h"

using namespace moat;

namespace {

std::string loc(const SourceManager& sm, const SourceRange& r) {
  if (!r.known()) return "<unknown>";
  std::string p = sm.path(r.file);
  return fmt::format("{}:{}:{}", p.substr(p.rfind('/') + 1), r.line, r.col);
}

std::string decision(const Module& m, const SourceManager& sm, const Decision& d) {
  std::string out = to_string(d.why);
  // Rule ids index the vector of the tier that decided (admin, policy or baseline).
  for (uint32_t id : d.rules) out += fmt::format(" #{}@{}", id, loc(sm, m.tier_rules(d.tier())[id].range));
  if (d.why == Decision::Why::NoAllow)
    for (uint32_t i : d.isolations) out += fmt::format(" iso@{}", loc(sm, m.isolations[i].range));
  return out;
}

std::string witness(const Module& m, const SourceManager& sm, const Witness& w, const Module* old = nullptr,
                    const Verdict* old_v = nullptr) {
  std::string out;
  out += "  src: " + describe_endpoint(w.src) + "\n";
  out += "  dst: " + (w.self ? std::string("itself") : describe_endpoint(w.dst)) + "\n";
  out += fmt::format("  flow: {}/{} {}\n", to_string(w.proto), w.port, w.verdict.allowed ? "allowed" : "denied");
  out += "  egress: " + decision(m, sm, w.verdict.egress) + "\n";
  out += "  ingress: " + decision(m, sm, w.verdict.ingress) + "\n";
  if (old && old_v) {
    out += "  old egress: " + decision(*old, sm, old_v->egress) + "\n";
    out += "  old ingress: " + decision(*old, sm, old_v->ingress) + "\n";
  }
  return out;
}

std::string check_report(const std::vector<std::string>& paths, const std::string& inventory = "") {
  SourceManager sm;
  Module m;
  Diagnostics diags;
  load_paths(paths, sm, m, diags);
  std::optional<CasesFile> inv;
  if (!inventory.empty()) inv = load_cases(inventory, sm, diags);
  REQUIRE_FALSE(diags.has_errors());
  VerifyOptions o;
  if (inv) o.inventory = &inv->endpoints;
  Diagnostics lints;
  REQUIRE(run_solver_lints(m, o, lints) == "");
  ProofReport proofs = run_proofs(m, o);
  REQUIRE(proofs.internal_error == "");
  std::string out = inv ? "scope: inventory\n" : "scope: every endpoint\n";
  out += "== solver lints\n";
  for (const Diagnostic& d : lints.all()) {
    out += fmt::format("{} {}: {}\n", code_name(d.code), loc(sm, d.range), d.message);
    for (const DiagNote& n : d.notes) out += fmt::format("  note {}: {}\n", loc(sm, n.range), n.message);
  }
  out += "== proofs\n";
  for (const ProofResult& r : proofs.results) {
    const Prove& p = m.proofs[r.index];
    out += fmt::format("{} {}: {}\n", loc(sm, p.range), to_string(r.status), p.text);
    if (!r.message.empty()) out += "  " + r.message + "\n";
    if (r.witness) out += witness(m, sm, *r.witness);
    if (r.workload) out += "  workload: " + describe_endpoint(*r.workload) + "\n";
  }
  return out;
}

/// `old_opts` / `new_opts`: how each version is loaded (a CNI migration loads one source
/// under two profiles); `inventory`: a cases file whose endpoints are the scope.
std::string diff_report(const std::string& old_path, const std::string& new_path, const LoadOptions& old_opts = {},
                        const LoadOptions& new_opts = {}, const std::string& inventory = "") {
  SourceManager sm;
  Module a, b;
  Diagnostics diags;
  load_paths({old_path}, sm, a, diags, old_opts);
  load_paths({new_path}, sm, b, diags, new_opts);
  std::optional<CasesFile> inv;
  if (!inventory.empty()) inv = load_cases(inventory, sm, diags);
  REQUIRE_FALSE(diags.has_errors());
  VerifyOptions o;
  o.max_cubes = 12;
  if (inv) o.inventory = &inv->endpoints;
  DiffReport r = semantic_diff(a, b, o);
  REQUIRE(r.internal_error == "");
  std::string out = fmt::format("diff: {}{}\n", to_string(r.status), r.truncated ? " (truncated)" : "");
  for (const DiffCube& c : r.cubes) {
    out += fmt::format("{} {} -> {} on {}\n", c.newly_allowed ? "+" : "-", c.src, c.dst, c.ports);
    out += witness(b, sm, c.witness, &a, &c.old_verdict);
  }
  return out;
}

void golden(const std::string& name, const std::string& actual) {
  std::string path = std::string(MOAT_SOURCE_DIR) + "/tests/golden/verifier/" + name;
  if (std::getenv("UPDATE_GOLDENS")) {
    std::ofstream(path) << actual;
    return;
  }
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream expected;
  expected << in.rdbuf();
  CHECK(actual == expected.str());
}

const std::string kSrc = MOAT_SOURCE_DIR;

} // namespace

TEST_CASE("golden: lints and failing proofs with counterexamples") {
  golden("findings.txt", check_report({kSrc + "/tests/golden/verifier/findings.moat"}));
}

TEST_CASE("golden: the ml-platform example, moat language") {
  golden("ml-platform.txt", check_report({kSrc + "/examples/ml-platform.moat"}));
}

TEST_CASE("golden: the ml-platform example, inventory scope (its cases file)") {
  golden("ml-platform-inventory.txt",
         check_report({kSrc + "/examples/ml-platform.moat"}, kSrc + "/examples/ml-platform.cases.yaml"));
}

TEST_CASE("golden: the ml-platform example, YAML") {
  golden("ml-platform-yaml.txt", check_report({kSrc + "/examples/ml-platform-yaml"}));
}

TEST_CASE("the moat and YAML versions of the example are equivalent") {
  // examples/ml-platform.moat and examples/ml-platform-yaml/ say the same thing in two
  // languages; a change to one that is not made to the other shows up here.
  CHECK(diff_report(kSrc + "/examples/ml-platform.moat", kSrc + "/examples/ml-platform-yaml") == "diff: proved\n");  // proved equivalent
}

TEST_CASE("golden: semantic diff of the example and an edited version") {
  golden("ml-platform-diff.txt",
         diff_report(kSrc + "/examples/ml-platform.moat", kSrc + "/tests/golden/verifier/ml-platform-v2.moat"));
}

TEST_CASE("golden: semantic diff of AdminNetworkPolicy nodes peers, cubes over node labels", "[anp]") {
  // The baseline's exporter Deny moves from zone a to zone b: flows to every possible node
  // change by its labels, and the cubes say which (remote-node {zone: a}, host {zone: a}, ...).
  const std::string v1 = kSrc + "/tests/e2e/ANP-05/policy.yaml", v2 = kSrc + "/tests/golden/verifier/anp-nodes-v2.yaml";
  golden("anp-nodes-diff.txt", diff_report(v1, v2));
}

TEST_CASE("golden: the AdminNetworkPolicy nodes diff over an inventory, a cube with no endpoint kind", "[anp]") {
  // Over the inventory a dst cube keeps only its node-label literal (every endpoint kind of
  // the inventory with those labels is in it): it reads as any endpoint with those labels,
  // not as a workload of any namespace (`*/{node-role notin [control-plane]}`).
  const std::string v1 = kSrc + "/tests/e2e/ANP-05/policy.yaml", v2 = kSrc + "/tests/golden/verifier/anp-nodes-v2.yaml";
  golden("anp-nodes-inventory-diff.txt", diff_report(v1, v2, {}, {}, kSrc + "/tests/e2e/ANP-05/cases.yaml"));
}

TEST_CASE("golden: a CNI migration, the same NetworkPolicy under calico then cilium", "[cni]") {
  LoadOptions calico, cilium;
  calico.cni = CniProfile::Calico;
  cilium.cni = CniProfile::Cilium;
  const std::string dir = kSrc + "/tests/golden/verifier/";
  // Over the cluster's pods: shop/web loses db/pg on 8080 (an ipBlock of the pod CIDR);
  // db/cache sits in the except and was never reachable.
  golden("cni-migration-diff.txt",
         diff_report(dir + "cni-pod-cidr.yaml", dir + "cni-pod-cidr.yaml", calico, cilium, dir + "cni-cluster.cases.yaml"));
  // No ipBlock covers a pod's address: the profiles agree.
  CHECK(diff_report(dir + "cni-external-only.yaml", dir + "cni-external-only.yaml", calico, cilium,
                    dir + "cni-cluster.cases.yaml") == "diff: proved\n");
  // Over every possible endpoint a pod may hold any address, so even the external range differs.
  CHECK(diff_report(dir + "cni-external-only.yaml", dir + "cni-external-only.yaml", calico, cilium) !=
        "diff: proved\n");
}
