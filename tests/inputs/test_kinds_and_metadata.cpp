// Objects as the API server sees them: kinds moat does not read (policy-like: W212, or
// E211 with --strict; others quiet, N005 with --verbose), one object per identity (E210),
// DNS-1123 names (E213), and unknown metadata / spec / rule keys (E203 with did-you-mean).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/yaml/yaml_test_util.h"

using namespace moat;
using moat::test::parse_with;
using moat::test::Parsed;

namespace {

std::unique_ptr<Parsed> parse(const std::string& text, const LoadOptions& opts = {}) { return parse_with(text, opts); }

LoadOptions strict() {
  LoadOptions o;
  o.strict = true;
  return o;
}
LoadOptions verbose() {
  LoadOptions o;
  o.verbose = true;
  return o;
}

std::string np(const std::string& name, const std::string& ns, const std::string& api = "networking.k8s.io/v1") {
  return "apiVersion: " + api + "\nkind: NetworkPolicy\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
         "\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n";
}

// The admin tiers under an apiVersion moat does not read (v1alpha1 is read).
constexpr const char* kPolicyLike = R"(apiVersion: policy.networking.k8s.io/v1alpha2
kind: AdminNetworkPolicy
metadata: {name: deny-all}
spec: {priority: 10, subject: {namespaces: {}}}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: calico, namespace: x}
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: calico-global}
---
apiVersion: example.com/v1
kind: EgressPolicy
metadata: {name: e}
)";

constexpr const char* kNoPolicyMeaning = R"(apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: v1
kind: Service
metadata: {name: s}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
)";

constexpr const char* kWorkloads = R"(apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: x}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: x}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: j, namespace: x}
)";

} // namespace

TEST_CASE("policy-like kinds moat does not model are W212, E211 with strict", "[inputs][kinds]") {
  auto p = parse(kPolicyLike);
  INFO(p->dump());
  CHECK(p->count(Code::W212) == 5);
  CHECK(!p->d.has_errors());
  const Diagnostic* anp = p->find(Code::W212);
  REQUIRE(anp);
  CHECK(anp->range.line == 2);  // at the kind
  CHECK(anp->message.find("AdminNetworkPolicy") != std::string::npos);
  CHECK(anp->message.find("ignores it") != std::string::npos);

  auto s = parse(kPolicyLike, strict());
  CHECK(s->count(Code::E211) == 5);
  CHECK(s->count(Code::W212) == 0);
}

TEST_CASE("kinds with no policy meaning are quiet, noted with --verbose, errors with --strict", "[inputs][kinds]") {
  auto quiet = parse(kNoPolicyMeaning);
  INFO(quiet->dump());
  CHECK(quiet->d.all().empty());
  auto noted = parse(kNoPolicyMeaning, verbose());
  CHECK(noted->count(Code::N005) == 3);
  CHECK(!noted->d.has_errors());
  auto s = parse(kNoPolicyMeaning, strict());
  CHECK(s->count(Code::E211) == 3);
}

TEST_CASE("workload and Namespace kinds are known: never warned, even with --strict", "[inputs][kinds]") {
  auto p = parse(kWorkloads, strict());
  INFO(p->dump());
  // Read by the Kubernetes object reader (a controller without a pod template is its W807),
  // never reported as an unknown kind.
  CHECK(p->count(Code::W212) == 0);
  CHECK(p->count(Code::E211) == 0);
  CHECK_FALSE(p->d.has_errors());
}

TEST_CASE("a known kind under an apiVersion moat does not read is policy-like (W212)", "[inputs][kinds]") {
  auto p = parse(np("old", "x", "networking.k8s.io/v1beta1"));
  INFO(p->dump());
  CHECK(p->count(Code::W212) == 1);
  CHECK(p->m.rules.empty());
}

TEST_CASE("two objects with one identity are E210 at the second, with a note at the first", "[inputs][duplicates]") {
  auto p = parse(np("web", "x") + "---\n" + np("web", "x"));
  INFO(p->dump());
  REQUIRE(p->count(Code::E210) == 1);
  const Diagnostic* d = p->find(Code::E210);
  CHECK(d->range.line == 15);  // the second metadata.name
  REQUIRE(d->notes.size() == 1);
  CHECK(d->notes[0].range.line == 4);
  // The second object's rules are not merged in.
  CHECK(p->m.rules.size() == 1);

  SECTION("extensions/v1beta1 and networking.k8s.io/v1 are one resource") {
    auto q = parse(np("web", "x") + "---\n" + np("web", "x", "extensions/v1beta1"));
    CHECK(q->count(Code::E210) == 1);
  }
  SECTION("another namespace, another kind or another name is another object") {
    auto q = parse(np("web", "x") + "---\n" + np("web", "z") + "---\n" + np("web2", "x") +
                   "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web, namespace: x}\n"
                   "spec:\n  endpointSelector: {}\n  ingress: [{fromEntities: [world]}]\n");
    INFO(q->dump());
    CHECK(q->count(Code::E210) == 0);
    CHECK(!q->d.has_errors());
  }
  SECTION("an object without a namespace is in 'default'") {
    auto q = parse(np("web", "default") +
                   "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web}\nspec: {}\n");
    CHECK(q->count(Code::E210) == 1);
  }
  SECTION("cluster-scoped kinds ignore the namespace") {
    std::string ccnp = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c}\n"
                       "spec:\n  endpointSelector: {}\n  ingress: [{fromEntities: [world]}]\n";
    auto q = parse(ccnp + "---\n" + ccnp);
    CHECK(q->count(Code::E210) == 1);
  }
}

TEST_CASE("duplicates across files of one load are found too", "[inputs][duplicates]") {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/moat-dup-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::ofstream(dir / "a.yaml") << np("web", "x");
  std::ofstream(dir / "b.json")
      << R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": "x"}, "spec": {}})";
  SourceManager sm;
  Module m;
  Diagnostics d;
  load_paths({dir.string()}, sm, m, d);
  fs::remove_all(dir);
  REQUIRE(d.all().size() == 1);
  CHECK(d.all()[0].code == Code::E210);
  CHECK(sm.path(d.all()[0].range.file).find("b.json") != std::string::npos);
  REQUIRE(d.all()[0].notes.size() == 1);
  CHECK(sm.path(d.all()[0].notes[0].range.file).find("a.yaml") != std::string::npos);
}

TEST_CASE("metadata.name is a DNS-1123 subdomain, metadata.namespace a DNS-1123 label", "[inputs][names]") {
  CHECK(!parse(np("web.allow-80", "prod-1"))->d.has_errors());
  auto upper = parse(np("Web", "x"));
  REQUIRE(upper->count(Code::E213) == 1);
  CHECK(upper->find(Code::E213)->range.line == 4);
  CHECK(upper->find(Code::E213)->message.find("lower-case") != std::string::npos);
  CHECK(upper->m.rules.empty());
  CHECK(parse(np("web_allow", "x"))->count(Code::E213) == 1);
  CHECK(parse(np("-web", "x"))->count(Code::E213) == 1);
  CHECK(parse(np("web.", "x"))->count(Code::E213) == 1);
  CHECK(parse(np(std::string(254, 'a'), "x"))->count(Code::E213) == 1);
  CHECK(parse(np(std::string(253, 'a'), "x"))->count(Code::E213) == 1);  // one part longer than 63
  CHECK(parse(np(std::string(63, 'a') + "." + std::string(63, 'b'), "x"))->count(Code::E213) == 0);
  auto dotted_ns = parse(np("web", "prod.eu"));
  REQUIRE(dotted_ns->count(Code::E213) == 1);
  CHECK(dotted_ns->find(Code::E213)->range.line == 5);
  CHECK(parse(np("web", std::string(64, 'n')))->count(Code::E213) == 1);
}

TEST_CASE("unknown keys in metadata, spec and rule items are E203 with did-you-mean", "[inputs][fields]") {
  auto md = parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: a\n  lables: {app: a}\n"
                  "spec: {}\n");
  INFO(md->dump());
  REQUIRE(md->count(Code::E203) == 1);
  CHECK(md->find(Code::E203)->range.line == 5);
  CHECK(md->find(Code::E203)->message.find("did you mean 'labels'") != std::string::npos);

  auto known = parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: a\n  namespace: x\n"
                     "  labels: {app: a}\n  annotations: {note: x}\n  uid: 1\n  resourceVersion: \"7\"\n"
                     "  generation: 2\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\n  managedFields: []\nspec: {}\n");
  INFO(known->dump());
  CHECK(known->d.all().empty());

  auto spec = parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n"
                    "  podSelecter: {}\n");
  REQUIRE(spec->count(Code::E203) == 1);
  CHECK(spec->find(Code::E203)->message.find("did you mean 'podSelector'") != std::string::npos);

  auto rule = parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n"
                    "  podSelector: {}\n  ingress:\n  - form:\n    - podSelector: {}\n");
  REQUIRE(rule->count(Code::E203) == 1);
  CHECK(rule->find(Code::E203)->message.find("did you mean 'from'") != std::string::npos);

  auto cilium = parse("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a, namespace: x, "
                      "labelz: {}}\nspec:\n  endpointSelector: {}\n  ingress:\n  - fromEndpoint: [{}]\n");
  INFO(cilium->dump());
  CHECK(cilium->count(Code::E203) == 2);
}
