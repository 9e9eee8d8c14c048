// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy: isolation rules from the Cilium
// docs, special labels, scoping, deny sections, L4/L7, and the validation errors.
#include "yaml_test_util.h"

using namespace moat;
using namespace moat::test;

namespace {

std::unique_ptr<Parsed> cnp(const std::string& spec, const std::string& ns = "app") {
  return parse("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: " + ns +
               "}\n" + spec);
}
std::unique_ptr<Parsed> ccnp(const std::string& spec) {
  return parse("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c}\n" + spec);
}

std::string iso_dirs(const Parsed& p) {
  std::string s;
  for (const Isolation& i : p.m.isolations) s += to_string(i.dir) + std::string(" ");
  return s;
}

} // namespace

TEST_CASE("a Cilium rule {} isolates and selects no peer", "[cilium][trap]") {
  auto p = cnp("spec:\n  endpointSelector: {}\n  ingress: [{}]\n");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  CHECK(p->m.rules.empty());
  CHECK(iso_dirs(*p) == "ingress ");
  Endpoint x = pod("app", {{"a", "x"}}, "10.0.0.1");
  Endpoint y = pod("app", {{"a", "y"}}, "10.0.0.2");
  CHECK_FALSE(allowed(p->m, y, x, 80));
  CHECK_FALSE(allowed(p->m, x, y, 80));  // every pod of app is isolated
  Endpoint z = pod("other", {{"a", "z"}}, "10.0.1.1");
  CHECK(allowed(p->m, x, z, 80));  // egress is not isolated, nor is the other namespace
}

TEST_CASE("ingress: [] does not isolate (Rule.Sanitize: len(Ingress) > 0)", "[cilium][trap]") {
  auto p = cnp("spec:\n  endpointSelector: {}\n  ingress: []\n  egress: []\n");
  CHECK(p->m.isolations.empty());
  CHECK(p->m.rules.empty());
}

TEST_CASE("a rule with only toPorts applies to every peer", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {matchLabels: {app: svc}}
  egress:
  - toPorts:
    - ports:
      - {port: "80", protocol: TCP}
)");
  INFO(p->dump());
  REQUIRE(p->m.rules.size() == 1);
  CHECK(p->m.rules[0].peer.kind == Peer::Kind::Any);
  Endpoint svc = pod("app", {{"app", "svc"}}, "10.0.0.1");
  CHECK(allowed(p->m, svc, external("1.1.1.1"), 80));
  CHECK_FALSE(allowed(p->m, svc, external("1.1.1.1"), 443));
}

TEST_CASE("an explicitly empty peer list selects nobody even with toPorts", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {}
  egress:
  - toEndpoints: []
    toPorts: [{ports: [{port: "80"}]}]
)");
  CHECK(p->m.rules.empty());
  CHECK(iso_dirs(*p) == "egress ");
}

TEST_CASE("fromEndpoints: [{}] is the policy's namespace or the whole cluster when clusterwide", "[cilium][trap]") {
  auto ns = cnp("spec:\n  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{}]\n");
  REQUIRE(ns->m.rules.size() == 1);
  const EndpointSelector& peer = ns->m.rules[0].peer.endpoints;
  REQUIRE(peer.namespaces.reqs.size() == 1);
  CHECK(peer.namespaces.reqs[0].values == std::vector<std::string>{"app"});
  CHECK(ns->m.rules[0].origin == "CiliumNetworkPolicy app/p");

  auto cw = ccnp("spec:\n  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{}]\n");
  REQUIRE(cw->m.rules.size() == 1);
  CHECK(cw->m.rules[0].peer.endpoints.namespaces.empty());
  CHECK(cw->m.rules[0].subject.namespaces.empty());
  CHECK(cw->m.rules[0].origin == "CiliumClusterwideNetworkPolicy c");

  Endpoint a = pod("app", {{"x", "1"}}, "10.0.0.1");
  Endpoint b = pod("other", {{"x", "2"}}, "10.0.1.1");
  CHECK_FALSE(allowed(ns->m, b, a, 80));
  CHECK(allowed(cw->m, b, a, 80));
  CHECK_FALSE(allowed(cw->m, external("1.2.3.4"), a, 80));  // endpoint selectors never match the world
}

TEST_CASE("Cilium special labels", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector:
    matchLabels: {k8s:app: api, any:tier: web}
  ingress:
  - fromEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: monitoring
        k8s:app: prometheus
    - matchLabels:
        io.cilium.k8s.namespace.labels.team: ml
    - matchExpressions:
      - {key: io.kubernetes.pod.namespace, operator: In, values: [a, b]}
    - matchLabels: {reserved:host: ""}
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.rules.size() == 4);
  const EndpointSelector& subject = p->m.rules[0].subject;
  REQUIRE(subject.pods.reqs.size() == 2);
  CHECK(subject.pods.reqs[0].key == "app");
  CHECK(subject.pods.reqs[1].key == "tier");
  CHECK(subject.namespaces.reqs[0].values == std::vector<std::string>{"app"});

  const EndpointSelector& prom = p->m.rules[0].peer.endpoints;
  REQUIRE(prom.namespaces.reqs.size() == 1);
  CHECK(prom.namespaces.reqs[0].key == kNamespaceNameLabel);
  CHECK(prom.namespaces.reqs[0].values == std::vector<std::string>{"monitoring"});
  CHECK(prom.pods.reqs[0].key == "app");

  // namespace labels do not name the namespace: the CNP's own namespace is still added
  const EndpointSelector& team = p->m.rules[1].peer.endpoints;
  REQUIRE(team.namespaces.reqs.size() == 2);
  CHECK(team.namespaces.reqs[0].values == std::vector<std::string>{"app"});
  CHECK(team.namespaces.reqs[1].key == "team");

  const EndpointSelector& ab = p->m.rules[2].peer.endpoints;
  REQUIRE(ab.namespaces.reqs.size() == 1);
  CHECK(ab.namespaces.reqs[0].values == std::vector<std::string>{"a", "b"});

  CHECK(p->m.rules[3].peer.kind == Peer::Kind::Entity);
  CHECK(p->m.rules[3].peer.entity == Entity::Host);
}

TEST_CASE("a namespaced policy's subject is always its own namespace", "[cilium]") {
  auto p = cnp("spec:\n  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: other}}\n  ingress: [{}]\n");
  REQUIRE(p->m.isolations.size() == 1);
  const LabelSelector& ns = p->m.isolations[0].subject.namespaces;
  REQUIRE(ns.reqs.size() == 1);
  CHECK(ns.reqs[0].values == std::vector<std::string>{"app"});
  CHECK(p->has(Code::W208, 5, 36));
}

TEST_CASE("deny-only rules isolate and deny wins over allow", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {matchLabels: {app: svc}}
  egressDeny:
  - toEntities: [world]
    toPorts: [{ports: [{port: "22", protocol: TCP}]}]
)");
  INFO(p->dump());
  CHECK(iso_dirs(*p) == "egress ");
  REQUIRE(p->m.rules.size() == 1);
  CHECK(p->m.rules[0].action == Action::Deny);
  Endpoint svc = pod("app", {{"app", "svc"}}, "10.0.0.1");
  CHECK_FALSE(allowed(p->m, svc, external("1.1.1.1"), 22));
  CHECK_FALSE(allowed(p->m, svc, external("1.1.1.1"), 443));  // isolated, nothing allowed

  auto both = parse("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a, namespace: app}\n"
                    "spec:\n  endpointSelector: {}\n  egress: [{toEntities: [all]}]\n"
                    "  egressDeny: [{toEntities: [world], toPorts: [{ports: [{port: \"22\"}]}]}]\n");
  CHECK(allowed(both->m, svc, external("1.1.1.1"), 443));
  CHECK_FALSE(allowed(both->m, svc, external("1.1.1.1"), 22));
}

TEST_CASE("enableDefaultDeny turns isolation off per direction", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: false}
  ingress: [{fromEntities: [cluster]}]
  egress: [{toEntities: [world]}]
)");
  CHECK(iso_dirs(*p) == "egress ");
  CHECK(p->m.rules.size() == 2);
  auto on = cnp("spec:\n  endpointSelector: {}\n  enableDefaultDeny: {egress: true}\n");
  CHECK(iso_dirs(*on) == "egress ");
  CHECK(cnp("spec:\n  endpointSelector: {}\n  enableDefaultDeny: {egress: maybe}\n")->has(Code::E202, 6, 31));
}

TEST_CASE("specs: a list of rules", "[cilium]") {
  auto p = cnp(R"(specs:
- endpointSelector: {matchLabels: {app: a}}
  ingress: [{fromEndpoints: [{matchLabels: {app: b}}]}]
- endpointSelector: {matchLabels: {app: b}}
  egress: [{toEndpoints: [{matchLabels: {app: a}}]}]
)");
  INFO(p->dump());
  REQUIRE(p->m.rules.size() == 2);
  CHECK(p->m.rules[0].dir == Direction::Ingress);
  CHECK(p->m.rules[1].dir == Direction::Egress);
  CHECK(iso_dirs(*p) == "ingress egress ");
  CHECK(cnp("metadata2: {}\n")->find(Code::E204) != nullptr);
}

TEST_CASE("toFQDNs mixed with other peers is E307 and two other peer kinds are E207", "[cilium][errors]") {
  auto fq = cnp(R"(spec:
  endpointSelector: {}
  egress:
  - toEndpoints: [{}]
    toFQDNs: [{matchName: example.com}]
)");
  CHECK(fq->has(Code::E307, 8, 5));
  CHECK(fq->m.rules.empty());
  auto two = cnp(R"(spec:
  endpointSelector: {}
  egress:
  - toEndpoints: [{}]
    toCIDR: [10.0.0.0/8]
)");
  CHECK(two->has(Code::E207, 8, 5));
  auto icmp = cnp(R"(spec:
  endpointSelector: {}
  egress:
  - toPorts: [{ports: [{port: "80"}]}]
    icmps: [{fields: [{type: 8}]}]
)");
  CHECK(icmp->has(Code::E207, 8, 5));
}

TEST_CASE("FQDN peers: validation and normalization", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {}
  egress:
  - toFQDNs:
    - matchName: API.Example.COM.
    - matchPattern: "*.s3.*.amazonaws.com"
)");
  REQUIRE(p->m.rules.size() == 2);
  CHECK(p->m.rules[0].peer.fqdn.value == "api.example.com");
  CHECK_FALSE(p->m.rules[0].peer.fqdn.pattern);
  CHECK(p->m.rules[1].peer.fqdn.pattern);
  Endpoint x = pod("app", {{"a", "x"}}, "10.0.0.1");
  CHECK(allowed(p->m, x, external("52.216.1.2", "bkt.s3.us-west-2.amazonaws.com"), 443));
  CHECK_FALSE(allowed(p->m, x, external("52.216.1.3", "s3.us-west-2.amazonaws.com"), 443));

  auto bad = cnp("spec:\n  endpointSelector: {}\n  egress:\n  - toFQDNs: [{matchName: \"a b.com\"}]\n");
  CHECK(bad->has(Code::E308, 7, 27));
  auto star = cnp("spec:\n  endpointSelector: {}\n  egress:\n  - toFQDNs: [{matchName: \"*.com\"}]\n");
  CHECK(star->find(Code::E308) != nullptr);  // '*' only in matchPattern
  auto both = cnp("spec:\n  endpointSelector: {}\n  egress:\n  - toFQDNs: [{matchName: a.com, matchPattern: b.com}]\n");
  CHECK(both->find(Code::E207) != nullptr);
}

TEST_CASE("entities and CIDR peers", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {}
  egress:
  - toEntities: [world, kube-apiserver, world-ipv6]
  - toCIDR: [192.0.2.1, 10.0.0.0/8]
  - toCIDRSet: [{cidr: 0.0.0.0/0, except: [10.0.0.0/8]}]
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.rules.size() == 6);
  CHECK(p->m.rules[0].peer.entity == Entity::World);
  CHECK(p->m.rules[1].peer.entity == Entity::KubeApiserver);
  CHECK(p->m.rules[2].peer.kind == Peer::Kind::Cidr);  // world-ipv6 = ::/0 outside the cluster
  CHECK(p->m.rules[2].peer.cidr.str() == "::/0");
  CHECK(p->m.rules[3].peer.cidr.str() == "192.0.2.1/32");
  CHECK(p->m.rules[5].peer.except.size() == 1);

  CHECK(cnp("spec:\n  endpointSelector: {}\n  egress:\n  - toEntities: [internet]\n")->has(Code::E311, 7, 18));
  CHECK(cnp("spec:\n  endpointSelector: {}\n  egress:\n  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [11.0.0.0/16]}]\n")
            ->has(Code::E301, 7, 45));
  CHECK(cnp("spec:\n  endpointSelector: {}\n  egress:\n  - toCIDRSet: [{cidr: 10.0.0.1}]\n")->has(Code::E304, 7, 24));
  CHECK(cnp("spec:\n  endpointSelector: {}\n  egress:\n  - toCIDR: [10.0.0.0/40]\n")->has(Code::E304, 7, 14));
}

TEST_CASE("toPorts: port 0 / ranges / names / ANY / ICMP", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {}
  ingress:
  - fromEntities: [cluster]
    toPorts:
    - ports:
      - {port: "0", protocol: TCP}
      - {port: "8000", endPort: 8100}
      - {port: HTTP-Alt, protocol: tcp}
  - fromEntities: [cluster]
    icmps:
    - fields:
      - {type: 8}
      - {type: EchoRequest, family: IPv6}
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.rules.size() == 2);
  const auto& ports = p->m.rules[0].ports;
  REQUIRE(ports.size() == 3);
  CHECK((ports[0].proto == Protocol::TCP && ports[0].lo == 0 && ports[0].hi == 65535));
  CHECK((ports[1].proto == Protocol::Any && ports[1].lo == 8000 && ports[1].hi == 8100));
  CHECK(ports[2].name == "http-alt");  // Cilium lower-cases port names
  const auto& icmp = p->m.rules[1].ports;
  REQUIRE(icmp.size() == 2);
  CHECK((icmp[0].proto == Protocol::ICMP && icmp[0].lo == 8));
  CHECK((icmp[1].proto == Protocol::ICMPv6 && icmp[1].lo == 128));

  auto e = [](const std::string& port) {
    return cnp("spec:\n  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [" + port + "]}]\n");
  };
  CHECK(e("{port: \"80\", endPort: 70}")->has(Code::E302, 7, 46));
  CHECK(e("{port: \"70000\"}")->has(Code::E303, 7, 31));
  CHECK(e("{port: \"0\", endPort: 70}")->has(Code::E312, 7, 45));
  CHECK(e("{port: \"80\", protocol: QUIC}")->has(Code::E305, 7, 47));
  CHECK(e("{protocol: TCP}")->has(Code::E204, 7, 24));
  CHECK(e("{port: \"80\", protocol: VRRP}")->has(Code::W208, 7, 47));
  CHECK(cnp("spec:\n  endpointSelector: {}\n  egress:\n  - icmps: [{fields: [{type: 256}]}]\n")->has(Code::E303, 7, 30));
  CHECK(cnp("spec:\n  endpointSelector: {}\n  egress:\n  - icmps: [{fields: [{type: Bogus}]}]\n")->has(Code::E305, 7, 30));
}

TEST_CASE("L7: dns and http rules become their own IR rules", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {}
  egress:
  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules:
        dns: [{matchPattern: "*"}, {matchName: Example.com}]
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http: [{method: GET, path: "/v1/.*", headers: ["X-Token: a"]}]
    - ports: [{port: "9090", protocol: TCP}]
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.rules.size() == 3);
  CHECK(p->m.rules[0].ports[0].lo == 9090);  // plain ports first
  CHECK(p->m.rules[1].dns.size() == 2);
  CHECK(p->m.rules[1].dns[1].value == "example.com");
  REQUIRE(p->m.rules[2].http.size() == 1);
  CHECK(p->m.rules[2].http[0].method == "GET");
  CHECK(p->m.rules[2].http[0].headers == std::vector<std::string>{"X-Token: a"});

  auto ingress_dns = cnp("spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"53\"}], rules: {dns: [{matchName: a.com}]}}]\n");
  CHECK(ingress_dns->find(Code::E207) != nullptr);
  auto deny_rules = cnp("spec:\n  endpointSelector: {}\n  egressDeny:\n  - toPorts: [{ports: [{port: \"53\"}], rules: {dns: []}}]\n");
  CHECK(deny_rules->has(Code::E203, 7, 39));
  auto kafka = cnp("spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: \"9092\"}], rules: {kafka: [{topic: t}]}}]\n");
  CHECK(kafka->find(Code::W208) != nullptr);
  CHECK_FALSE(kafka->d.has_errors());
}

TEST_CASE("unmodeled Cilium features warn instead of silently changing meaning", "[cilium]") {
  auto p = cnp(R"(spec:
  endpointSelector: {}
  ingress:
  - fromRequires: [{matchLabels: {env: prod}}]
  - fromNodes: [{matchLabels: {role: worker}}]
  egress:
  - toServices: [{k8sService: {serviceName: s, namespace: default}}]
)");
  INFO(p->dump());
  CHECK_FALSE(p->d.has_errors());
  CHECK(p->count(Code::W208) == 3);
  CHECK(p->m.rules.empty());
  CHECK(iso_dirs(*p) == "ingress egress ");  // the sections still isolate, as in Cilium
  auto host = ccnp("spec:\n  nodeSelector: {}\n  ingress: [{fromEntities: [world]}]\n");
  CHECK(host->m.rules.empty());
  CHECK(host->m.isolations.empty());
  CHECK(host->has(Code::W208, 5, 3));
}

TEST_CASE("Cilium structural errors", "[cilium][errors]") {
  CHECK(cnp("spec:\n  ingress: [{}]\n")->has(Code::E204, 5, 3));
  CHECK(ccnp("spec:\n  endpointSelector: {}\n  nodeSelector: {}\n")->has(Code::E207, 6, 3));
  CHECK(cnp("spec:\n  endpointSelector: {}\n  ingres: [{}]\n")->has(Code::E203, 6, 3));
  CHECK(cnp("spec:\n  endpointSelector: {}\n  ingress:\n  - fromEndpoint: [{}]\n")->has(Code::E203, 7, 5));
  CHECK(cnp("spec:\n  endpointSelector: {}\n  ingress: {fromEndpoints: []}\n")->has(Code::E202, 6, 12));
  CHECK(cnp("spec:\n  endpointSelector: {matchExpressions: [{key: a, operator: in, values: [b]}]}\n")->find(Code::E310) != nullptr);
}
