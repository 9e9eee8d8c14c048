// Every file of examples/ (and the YAML example directory as a whole) exported to each
// target: either proved equivalent to its input, or refused with exactly the expected
// codes (the target cannot express deny rules, FQDN peers, ...).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "export_roundtrip.h"
#include "frontend/frontend.h"

namespace moat::testing {

namespace {

using exporter::Target;

struct Case {
  const char* path;
  Target target;
  std::vector<std::string> errors;  // empty: exported and equivalent
};

const char* name(Target t) { return t == Target::Kubernetes ? "kubernetes" : t == Target::Cilium ? "cilium" : "moat"; }

void check(const Case& c) {
  SourceManager sm;
  Module m;
  Diagnostics diags;
  load_paths({std::string(MOAT_SOURCE_DIR) + "/" + c.path}, sm, m, diags);
  REQUIRE_FALSE(diags.has_errors());
  Roundtrip r = roundtrip(m, sm, c.target);
  INFO(c.path << " --to " << name(c.target) << "\n" << r.text << r.reload_errors);
  for (const Diagnostic& d : r.errors) UNSCOPED_INFO(sm.location(d.range) << ": " << code_name(d.code) << ": " << d.message);
  CHECK(codes(r.errors) == c.errors);
  if (!c.errors.empty()) return;
  REQUIRE(r.reload_errors.empty());
  REQUIRE(r.diff);
  CHECK(r.diff->status == ProofStatus::Proved);
}

} // namespace

TEST_CASE("export: every example, to every target, is equivalent or refused at the rule", "[export]") {
  // The refusals, one by one: ml-platform.moat to NetworkPolicy has two FQDN peers (E911),
  // a deny (E910), and the databases rule from `namespace { team: ml }` notebooks whose
  // egress half sits on pods of any namespace labelled team=ml (E913) of which only
  // kubeflow is isolated for egress (E914). The Cilium YAML to NetworkPolicy: the DNS
  // rule of kubeflow (E912), the FQDN peers, the deny. To the moat language: a
  // `namespace` block would fix the labels of the undeclared namespaces kubeflow,
  // databases and platform while databases.yaml selects namespaces by label (E914),
  // the DNS rule (E912) and
  // egress or ingress halves whose other half would allow more (E915).
  const std::vector<Case> cases = {
      {"examples/ml-platform.moat", Target::Kubernetes, {"E911", "E911", "E910", "E914", "E913"}},
      {"examples/ml-platform.moat", Target::Cilium, {}},
      {"examples/ml-platform.moat", Target::Moat, {}},
      {"examples/ml-platform.cases.yaml", Target::Kubernetes, {}},  // no policy: nothing to write
      {"examples/ml-platform.cases.yaml", Target::Cilium, {}},
      {"examples/ml-platform.cases.yaml", Target::Moat, {}},
      {"examples/ml-platform.pods.yaml", Target::Kubernetes, {}},
      {"examples/ml-platform.pods.yaml", Target::Cilium, {}},
      {"examples/ml-platform.pods.yaml", Target::Moat, {}},
      {"examples/ml-platform-yaml", Target::Kubernetes, {"E912", "E911", "E911", "E910"}},
      {"examples/ml-platform-yaml", Target::Cilium, {}},
      {"examples/ml-platform-yaml", Target::Moat, {"E914", "E915", "E914", "E914", "E912", "E915", "E914"}},
      {"examples/ml-platform-yaml/databases.yaml", Target::Kubernetes, {}},
      {"examples/ml-platform-yaml/databases.yaml", Target::Cilium, {}},
      {"examples/ml-platform-yaml/databases.yaml", Target::Moat, {"E914"}},
      {"examples/ml-platform-yaml/gpu-nodepool.yaml", Target::Kubernetes, {}},
      {"examples/ml-platform-yaml/gpu-nodepool.yaml", Target::Cilium, {}},
      {"examples/ml-platform-yaml/gpu-nodepool.yaml", Target::Moat, {}},
      {"examples/ml-platform-yaml/kubeflow.yaml", Target::Kubernetes, {"E912", "E911", "E911", "E910"}},
      {"examples/ml-platform-yaml/kubeflow.yaml", Target::Cilium, {}},
      {"examples/ml-platform-yaml/kubeflow.yaml", Target::Moat, {"E912"}},
      {"examples/ml-platform-yaml/platform.yaml", Target::Kubernetes, {}},
      {"examples/ml-platform-yaml/platform.yaml", Target::Cilium, {}},
      {"examples/ml-platform-yaml/platform.yaml", Target::Moat, {}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.path << " --to " << name(c.target)) { check(c); }
  }
}

} // namespace moat::testing
