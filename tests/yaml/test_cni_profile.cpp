// CNI profiles in the front end (docs/CNI.md): what an ipBlock matches under cilium, calico
// and kubernetes, `except` under each, and Cilium's resources under a CNI that does not read them.
#include "yaml_test_util.h"

#include "ir/cni_profile.h"

using namespace moat;
using namespace moat::test;

namespace {

LoadOptions under(CniProfile p) {
  LoadOptions o;
  o.cni = p;
  return o;
}

/// x/a may send only to 10.244.0.0/16 minus 10.244.0.2/32 (upstream E2E-12 in miniature).
const char* kIpBlockEgress = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.244.0.0/16, except: [10.244.0.2/32]}
)";

const char* kCiliumPolicy = R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: x}
spec:
  endpointSelector: {matchLabels: {pod: a}}
  egress:
  - toCIDR: [10.244.0.0/16]
)";

} // namespace

TEST_CASE("cni profile names: parse and print round trip and anything else is refused", "[cni]") {
  for (CniProfile p : {CniProfile::Cilium, CniProfile::Calico, CniProfile::Kubernetes})
    CHECK(parse_cni_profile(to_string(p)) == p);
  CHECK_FALSE(parse_cni_profile("Cilium"));
  CHECK_FALSE(parse_cni_profile("flannel"));
  CHECK_FALSE(parse_cni_profile(""));
  CHECK(kDefaultCniProfile == CniProfile::Cilium);
  CHECK(LoadOptions{}.cni == CniProfile::Cilium);
}

TEST_CASE("ipBlock matches pod addresses under calico and kubernetes, never under cilium", "[cni]") {
  Endpoint a = pod("x", {{"pod", "a"}}, "10.244.0.1");
  Endpoint b = pod("x", {{"pod", "b"}}, "10.244.0.2");  // in except
  Endpoint c = pod("x", {{"pod", "c"}}, "10.244.0.3");
  Endpoint ext = external("10.244.7.7");                // an external host in the range
  Endpoint ext_except = external("10.244.0.2");
  for (CniProfile p : {CniProfile::Cilium, CniProfile::Calico, CniProfile::Kubernetes}) {
    INFO(to_string(p));
    auto parsed = parse_with(kIpBlockEgress, under(p));
    INFO(parsed->dump());
    REQUIRE_FALSE(parsed->d.has_errors());
    REQUIRE(parsed->m.rules.size() == 1);
    bool pods = p != CniProfile::Cilium;
    CHECK(parsed->m.rules[0].peer.cidr_any_address == pods);
    CHECK(allowed(parsed->m, a, c, 80) == pods);
    // except carves the address out under every profile, for pods and external hosts alike.
    CHECK_FALSE(allowed(parsed->m, a, b, 80));
    CHECK_FALSE(allowed(parsed->m, a, ext_except, 80));
    CHECK(allowed(parsed->m, a, ext, 80));
  }
}

TEST_CASE("ipBlock under calico also matches node addresses (ingress from a remote node)", "[cni]") {
  const char* ingress = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-nodes, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 192.168.0.0/24}
)";
  Endpoint node;
  node.name = "node-2";
  node.kind = EndpointKind::RemoteNode;
  node.ips.push_back(*IpAddr::parse("192.168.0.12"));
  Endpoint a = pod("x", {{"pod", "a"}}, "10.244.0.1");
  CHECK_FALSE(allowed(parse_with(ingress, under(CniProfile::Cilium))->m, node, a, 80));
  CHECK(allowed(parse_with(ingress, under(CniProfile::Calico))->m, node, a, 80));
}

TEST_CASE("Cilium policies: ignored with W240 under calico, Cilium's meaning under kubernetes", "[cni]") {
  auto calico = parse_with(kCiliumPolicy, under(CniProfile::Calico));
  INFO(calico->dump());
  CHECK_FALSE(calico->d.has_errors());
  CHECK(calico->m.rules.empty());
  CHECK(calico->m.isolations.empty());
  CHECK(calico->has(Code::W240, 2, 7));  // at the kind

  for (CniProfile p : {CniProfile::Cilium, CniProfile::Kubernetes}) {
    auto kept = parse_with(kCiliumPolicy, under(p));
    INFO(kept->dump());
    CHECK(kept->count(Code::W240) == 0);
    REQUIRE(kept->m.rules.size() == 1);
    CHECK_FALSE(kept->m.rules[0].peer.cidr_any_address);  // toCIDR: external addresses only
  }
}
