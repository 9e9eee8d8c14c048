// Kubernetes NetworkPolicy: every field, the traps of its semantics (checked through the
// reference interpreter), and each validation error with its exact position.
#include "yaml_test_util.h"

using namespace moat;
using namespace moat::test;

namespace {

const std::string kHeader = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n";

} // namespace

TEST_CASE("podSelector alone selects pods of the policy's own namespace", "[k8s]") {
  auto p = parse(kHeader + R"(metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: web}}
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.rules.size() == 1);
  const Rule& r = p->m.rules[0];
  CHECK(r.origin == "NetworkPolicy prod/db");
  CHECK(r.peer.kind == Peer::Kind::Endpoints);
  REQUIRE(r.peer.endpoints.namespaces.reqs.size() == 1);
  CHECK(r.peer.endpoints.namespaces.reqs[0].key == kNamespaceNameLabel);
  CHECK(r.peer.endpoints.namespaces.reqs[0].values == std::vector<std::string>{"prod"});
  CHECK(r.range.line == 8);  // the peer item
  CHECK(r.range.col == 7);

  Endpoint db = pod("prod", {{"app", "db"}}, "10.0.0.1");
  Endpoint web_prod = pod("prod", {{"app", "web"}}, "10.0.0.2");
  Endpoint web_dev = pod("dev", {{"app", "web"}}, "10.0.0.3");
  CHECK(allowed(p->m, web_prod, db, 5432));
  CHECK_FALSE(allowed(p->m, web_dev, db, 5432));
}

TEST_CASE("namespaceSelector and podSelector: one item is AND and two items are OR", "[k8s]") {
  const std::string one_item = kHeader + R"(metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {matchLabels: {app: web}}
)";
  const std::string two_items = kHeader + R"(metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
    - podSelector: {matchLabels: {app: web}}
)";
  Endpoint db = pod("prod", {{"app", "db"}}, "10.0.0.1");
  Endpoint web_a = pod("a1", {{"app", "web"}}, "10.0.1.1", {{"team", "a"}});
  Endpoint other_a = pod("a1", {{"app", "batch"}}, "10.0.1.2", {{"team", "a"}});
  Endpoint web_prod = pod("prod", {{"app", "web"}}, "10.0.0.2");

  auto and_ = parse(one_item);
  INFO(and_->dump());
  REQUIRE(and_->m.rules.size() == 1);
  CHECK(allowed(and_->m, web_a, db, 80));
  CHECK_FALSE(allowed(and_->m, other_a, db, 80));
  CHECK_FALSE(allowed(and_->m, web_prod, db, 80));  // prod has no team=a

  auto or_ = parse(two_items);
  REQUIRE(or_->m.rules.size() == 2);
  CHECK(allowed(or_->m, web_a, db, 80));
  CHECK(allowed(or_->m, other_a, db, 80));
  CHECK(allowed(or_->m, web_prod, db, 80));
  // the namespaceSelector-only peer has no pod requirement and no own-namespace restriction
  CHECK(or_->m.rules[0].peer.endpoints.pods.empty());
  CHECK(or_->m.rules[0].peer.endpoints.namespaces.reqs[0].key == "team");
}

TEST_CASE("ingress: [{}] allows every source and port but ingress: [] allows none", "[k8s][trap]") {
  auto all = parse(kHeader + R"(metadata: {name: open}
spec:
  podSelector: {}
  ingress: [{}]
)");
  REQUIRE(all->m.rules.size() == 1);
  CHECK(all->m.rules[0].peer.kind == Peer::Kind::Any);
  CHECK(all->m.rules[0].ports.empty());
  CHECK(all->m.rules[0].origin == "NetworkPolicy default/open");  // namespace omitted: default
  Endpoint x = pod("default", {{"app", "x"}}, "10.0.0.1");
  Endpoint y = pod("other", {{"app", "y"}}, "10.0.9.1");
  CHECK(allowed(all->m, y, x, 1234));
  CHECK(allowed(all->m, external("203.0.113.9"), x, 22));

  auto none = parse(kHeader + R"(metadata: {name: closed}
spec:
  podSelector: {}
  ingress: []
)");
  CHECK(none->m.rules.empty());
  REQUIRE(none->m.isolations.size() == 1);
  CHECK(none->m.isolations[0].dir == Direction::Ingress);
  CHECK_FALSE(allowed(none->m, y, x, 1234));
}

TEST_CASE("policyTypes inference", "[k8s]") {
  auto dirs = [](const Parsed& p) {
    std::string s;
    for (const Isolation& i : p.m.isolations) s += to_string(i.dir) + std::string(" ");
    return s;
  };
  // omitted, no egress section: Ingress only
  CHECK(dirs(*parse(kHeader + "metadata: {name: a}\nspec:\n  podSelector: {}\n")) == "ingress ");
  // omitted, egress with an item: Ingress and Egress
  CHECK(dirs(*parse(kHeader + "metadata: {name: a}\nspec:\n  podSelector: {}\n  egress: [{}]\n")) == "ingress egress ");
  // omitted, egress: [] counts as absent (len(spec.Egress) == 0 in SetDefaults_NetworkPolicySpec)
  CHECK(dirs(*parse(kHeader + "metadata: {name: a}\nspec:\n  podSelector: {}\n  egress: []\n")) == "ingress ");
  // explicit Egress only: ingress is not isolated
  CHECK(dirs(*parse(kHeader + "metadata: {name: a}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n")) == "egress ");
  // no spec at all: every pod, ingress isolated
  CHECK(dirs(*parse(kHeader + "metadata: {name: a}\n")) == "ingress ");
  // bad entry
  auto bad = parse(kHeader + "metadata: {name: a}\nspec:\n  policyTypes: [Ingres]\n");
  CHECK(bad->has(Code::E202, 5, 17));
}

TEST_CASE("rules of a direction missing from policyTypes are dropped with a warning", "[k8s]") {
  auto p = parse(kHeader + R"(metadata: {name: a}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/8}
)");
  INFO(p->dump());
  CHECK_FALSE(p->d.has_errors());
  CHECK(p->m.rules.empty());
  CHECK(p->has(Code::W208, 7, 3));
}

TEST_CASE("ports: protocol default / named ports / endPort", "[k8s]") {
  auto p = parse(kHeader + R"(metadata: {name: a}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: 80
    - protocol: UDP
      port: 5000
      endPort: 5010
    - port: http
    - protocol: SCTP
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.rules.size() == 1);
  const auto& ports = p->m.rules[0].ports;
  REQUIRE(ports.size() == 4);
  CHECK(ports[0].proto == Protocol::TCP);
  CHECK((ports[0].lo == 80 && ports[0].hi == 80));
  CHECK(ports[1].proto == Protocol::UDP);
  CHECK((ports[1].lo == 5000 && ports[1].hi == 5010));
  CHECK(ports[2].name == "http");
  CHECK(ports[2].proto == Protocol::TCP);
  CHECK(ports[3].proto == Protocol::SCTP);
  CHECK((ports[3].lo == 0 && ports[3].hi == 65535));
  CHECK(p->m.rules[0].peer.kind == Peer::Kind::Any);
}

TEST_CASE("port and endPort errors point at the value", "[k8s][errors]") {
  auto port_rule = [](const std::string& port_item) {
    return parse(kHeader + "metadata: {name: a}\nspec:\n  ingress:\n  - ports:\n    - " + port_item + "\n");
  };
  // line 7 is the port item; its first key is at column 7
  CHECK(port_rule("{port: 80, endPort: 79}")->has(Code::E302, 7, 27));
  CHECK(port_rule("{port: http, endPort: 90}")->has(Code::E312, 7, 29));
  CHECK(port_rule("{endPort: 90}")->has(Code::E312, 7, 17));
  CHECK(port_rule("{port: 70000}")->has(Code::E303, 7, 14));
  CHECK(port_rule("{port: 0}")->has(Code::E303, 7, 14));
  CHECK(port_rule("{port: 80, endPort: 65536}")->has(Code::E303, 7, 27));
  CHECK(port_rule("{port: \"80\"}")->has(Code::E202, 7, 14));
  CHECK(port_rule("{port: Not_A_Name}")->has(Code::E303, 7, 14));
  CHECK(port_rule("{protocol: tcp, port: 80}")->has(Code::E305, 7, 18));
  CHECK(port_rule("{protocol: ICMP}")->has(Code::E305, 7, 18));
  auto ok = port_rule("{port: 80, endPort: 80}");
  CHECK_FALSE(ok->d.has_errors());
}

TEST_CASE("ipBlock with except and its errors", "[k8s]") {
  auto p = parse(kHeader + R"(metadata: {name: a}
spec:
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except: [172.17.1.0/24]
)");
  REQUIRE(p->m.rules.size() == 1);
  const Peer& peer = p->m.rules[0].peer;
  CHECK(peer.kind == Peer::Kind::Cidr);
  CHECK(peer.cidr.str() == "172.17.0.0/16");
  REQUIRE(peer.except.size() == 1);
  CHECK(peer.except[0].str() == "172.17.1.0/24");
  Endpoint x = pod("default", {{"app", "x"}}, "10.0.0.1");
  CHECK(allowed(p->m, external("172.17.2.3"), x, 80));
  CHECK_FALSE(allowed(p->m, external("172.17.1.3"), x, 80));
  CHECK_FALSE(allowed(p->m, external("172.18.0.1"), x, 80));

  auto block = [](const std::string& b) {
    return parse(kHeader + "metadata: {name: a}\nspec:\n  ingress:\n  - from:\n    - ipBlock: " + b + "\n");
  };
  CHECK(block("{cidr: 10.0.0.0/16, except: [10.1.0.0/24]}")->has(Code::E301, 7, 45));
  CHECK(block("{cidr: 10.0.0.0/16, except: [10.0.0.0/16]}")->has(Code::E301, 7, 45));
  CHECK(block("{cidr: 10.0.0.0/16, except: [fd00::/64]}")->has(Code::E301, 7, 45));
  CHECK(block("{cidr: 10.0.0.1}")->has(Code::E304, 7, 23));
  CHECK(block("{cidr: 10.0.0.0/33}")->has(Code::E304, 7, 23));
  CHECK(block("{cidr: A}")->has(Code::E304, 7, 23));
  CHECK(block("{except: [10.0.0.0/24]}")->has(Code::E204, 7, 16));
}

TEST_CASE("peer shape errors", "[k8s][errors]") {
  auto p = parse(kHeader + R"(metadata: {name: a}
spec:
  ingress:
  - from:
    - {}
    - podSelector: {}
      ipBlock: {cidr: 10.0.0.0/8}
)");
  CHECK(p->has(Code::E204, 7, 7));
  CHECK(p->has(Code::E206, 9, 7));
  CHECK(p->m.rules.empty());  // a broken rule item adds nothing
}

TEST_CASE("selector validation", "[k8s][errors]") {
  auto sel = [](const std::string& s) {
    return parse(kHeader + "metadata: {name: a}\nspec:\n  podSelector: " + s + "\n");
  };
  CHECK(sel("{matchExpressions: [{key: a, operator: In}]}")->has(Code::E310, 5, 55));
  CHECK(sel("{matchExpressions: [{key: a, operator: Exists, values: [x]}]}")->has(Code::E310, 5, 63));
  CHECK(sel("{matchExpressions: [{key: a, operator: Equals, values: [x]}]}")->has(Code::E310, 5, 55));
  CHECK(sel("{matchExpressions: [{key: a, operator: in, values: [x]}]}")->find(Code::E310)->message.find("'In'") !=
        std::string::npos);
  CHECK(sel("{matchLabels: {app@b: x}}")->has(Code::E306, 5, 31));
  CHECK(sel("{matchLabels: {app: $x}}")->has(Code::E306, 5, 36));
  CHECK(sel("{matchLabels: {enabled: true}}")->has(Code::E202, 5, 40));
  CHECK(sel("{matchLabels: {enabled: \"true\"}}")->d.all().empty());
  CHECK(sel("{matchLabels: {a: x}, matchExpression: []}")->has(Code::E203, 5, 38));

  auto ok = sel("{matchExpressions: [{key: tier, operator: NotIn, values: [b, a, a]}, {key: gpu, operator: DoesNotExist}]}");
  INFO(ok->dump());
  REQUIRE_FALSE(ok->d.has_errors());
  const LabelSelector& pods = ok->m.isolations[0].subject.pods;
  REQUIRE(pods.reqs.size() == 2);
  CHECK(pods.reqs[0].op == LabelRequirement::Op::NotIn);
  CHECK(pods.reqs[0].values == std::vector<std::string>{"a", "b"});  // sorted, deduplicated
  CHECK(pods.reqs[1].op == LabelRequirement::Op::DoesNotExist);
}

TEST_CASE("unknown fields get a did-you-mean", "[k8s][errors]") {
  auto p = parse(kHeader + R"(metadata: {name: a}
spec:
  podSelecter: {}
)");
  REQUIRE(p->has(Code::E203, 5, 3));
  CHECK(p->find(Code::E203)->message.find("did you mean 'podSelector'") != std::string::npos);
}

TEST_CASE("egress rules and the isolation ranges", "[k8s]") {
  auto p = parse(kHeader + R"(metadata: {name: dns, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Ingress, Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports:
    - {protocol: UDP, port: 53}
)");
  INFO(p->dump());
  REQUIRE(p->m.isolations.size() == 2);
  CHECK(p->m.isolations[0].range.line == 6);  // the policyTypes entry
  CHECK(p->m.isolations[0].range.col == 17);
  CHECK(p->m.isolations[1].range.col == 26);
  REQUIRE(p->m.rules.size() == 1);
  CHECK(p->m.rules[0].dir == Direction::Egress);
  Endpoint a = pod("x", {{"app", "a"}}, "10.0.0.1");
  Endpoint dns = pod("kube-system", {{"k8s-app", "kube-dns"}}, "10.0.0.53");
  CHECK(allowed(p->m, a, dns, 53, Protocol::UDP));
  CHECK_FALSE(allowed(p->m, a, dns, 53, Protocol::TCP));
  CHECK_FALSE(allowed(p->m, a, external("8.8.8.8"), 53, Protocol::UDP));
}
