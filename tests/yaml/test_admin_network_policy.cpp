// AdminNetworkPolicy and BaselineAdminNetworkPolicy: the tiers as the interpreter reads them
// (priority order, Pass, NetworkPolicy between the two, baseline only where nothing isolates),
// the peers and ports of the API, and each validation error with its position.
#include <set>

#include "ir/lint.h"
#include "yaml_test_util.h"

using namespace moat;
using namespace moat::test;

namespace {

const std::string kAnp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n";
const std::string kBanp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n";

std::string anp(const std::string& name, int priority, const std::string& ingress) {
  return kAnp + "metadata: {name: " + name + "}\nspec:\n  priority: " + std::to_string(priority) +
         "\n  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: prod}}}\n  ingress:\n" + ingress;
}

const std::string kFromDev = "    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: dev}}}]\n";

Decision ingress_at(const Module& m, const Endpoint& src, const Endpoint& dst, uint16_t port) {
  return evaluate(m, Flow{&src, &dst, Protocol::TCP, port}).ingress;
}

} // namespace

TEST_CASE("ANP: lower priority values decide first, whatever the document order", "[anp]") {
  auto p = parse(anp("allow-later", 20, "  - action: Allow\n" + kFromDev) + "---\n" +
                 anp("deny-first", 10, "  - action: Deny\n" + kFromDev));
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.admin_rules.size() == 2);
  CHECK(p->m.rules.empty());
  CHECK(p->m.admin_rules[0].priority == 10);
  CHECK(p->m.admin_rules[0].id == 0);
  CHECK(p->m.admin_rules[0].origin == "AdminNetworkPolicy deny-first");
  Endpoint db = pod("prod", {{"app", "db"}}, "10.0.0.1");
  Endpoint dev = pod("dev", {{"app", "web"}}, "10.0.0.2");
  Decision d = ingress_at(p->m, dev, db, 80);
  CHECK_FALSE(d.allowed);
  CHECK(d.why == Decision::Why::AdminDenied);
  CHECK(d.tier() == Tier::Admin);
  REQUIRE(d.rules == std::vector<uint32_t>{0});
  CHECK(decided_rule(p->m, d, 0)->origin == "AdminNetworkPolicy deny-first");
  // Subjects outside the ANP are untouched.
  Endpoint other = pod("qa", {{"app", "db"}}, "10.0.0.3");
  CHECK(allowed(p->m, dev, other, 80));
}

TEST_CASE("ANP: within one policy the first matching rule wins", "[anp]") {
  auto p = parse(anp("ordered", 5,
                     "  - action: Allow\n    from: [{namespaces: {}}]\n    ports: [{portNumber: {port: 53, protocol: UDP}}]\n"
                     "  - action: Deny\n    from: [{namespaces: {}}]\n"));
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  Endpoint db = pod("prod", {{"app", "db"}}, "10.0.0.1");
  Endpoint dev = pod("dev", {{"app", "web"}}, "10.0.0.2");
  CHECK(allowed(p->m, dev, db, 53, Protocol::UDP));
  CHECK_FALSE(allowed(p->m, dev, db, 53, Protocol::TCP));
  CHECK_FALSE(allowed(p->m, dev, db, 80));
}

TEST_CASE("ANP Pass hands the flow to NetworkPolicy, then to the baseline", "[anp]") {
  std::string policies = anp("pass-dev", 1, "  - action: Pass\n" + kFromDev) + "---\n" +
                         anp("deny-dev", 2, "  - action: Deny\n" + kFromDev) + "---\n" + kBanp +
                         "metadata: {name: default}\nspec:\n  subject: {namespaces: {}}\n  ingress:\n"
                         "  - {action: Deny, from: [{namespaces: {}}]}\n";
  auto no_np = parse(policies);
  INFO(no_np->dump());
  REQUIRE_FALSE(no_np->d.has_errors());
  Endpoint db = pod("prod", {{"app", "db"}}, "10.0.0.1");
  Endpoint dev = pod("dev", {{"app", "web"}}, "10.0.0.2");
  // Pass skips deny-dev (priority 2); no NetworkPolicy isolates db, so the baseline denies.
  Decision d = ingress_at(no_np->m, dev, db, 80);
  CHECK_FALSE(d.allowed);
  CHECK(d.why == Decision::Why::BaselineDenied);
  CHECK(d.passed == std::vector<uint32_t>{0});

  // A NetworkPolicy that isolates db and allows dev decides instead of the baseline.
  auto with_np = parse(policies + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                  "metadata: {name: web, namespace: prod}\nspec:\n  podSelector: {}\n  ingress:\n"
                                  "  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: dev}}}]\n");
  REQUIRE_FALSE(with_np->d.has_errors());
  d = ingress_at(with_np->m, dev, db, 80);
  CHECK(d.allowed);
  CHECK(d.why == Decision::Why::Allowed);
  // Isolated and not allowed by the NetworkPolicy: denied by it, the baseline is not asked.
  Endpoint qa = pod("qa", {{"app", "x"}}, "10.0.0.4");
  d = ingress_at(with_np->m, qa, db, 80);
  CHECK(d.why == Decision::Why::NoAllow);
}

TEST_CASE("ANP Allow overrides a NetworkPolicy and the baseline", "[anp]") {
  auto p = parse(anp("allow-dev", 3, "  - action: Allow\n" + kFromDev) +
                 "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                 "metadata: {name: deny-all, namespace: prod}\nspec: {podSelector: {}}\n");
  REQUIRE_FALSE(p->d.has_errors());
  Endpoint db = pod("prod", {{"app", "db"}}, "10.0.0.1");
  Endpoint dev = pod("dev", {{"app", "web"}}, "10.0.0.2");
  Endpoint qa = pod("qa", {{"app", "web"}}, "10.0.0.3");
  CHECK(ingress_at(p->m, dev, db, 80).why == Decision::Why::AdminAllowed);
  CHECK_FALSE(allowed(p->m, qa, db, 80));
}

TEST_CASE("BANP: Allow and Deny where no NetworkPolicy isolates", "[anp]") {
  auto p = parse(kBanp + R"(metadata: {name: default}
spec:
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {tier: db}}}}
  egress:
  - {name: dns, action: Allow, to: [{namespaces: {}}], ports: [{portNumber: {protocol: UDP, port: 53}}]}
  - {name: rest, action: Deny, to: [{networks: [0.0.0.0/0]}]}
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.baseline_rules.size() == 2);
  CHECK(p->m.baseline_rules[1].origin == "BaselineAdminNetworkPolicy default rule 'rest'");
  Endpoint db = pod("prod", {{"tier", "db"}}, "10.0.0.1");
  Endpoint web = pod("prod", {{"tier", "web"}}, "10.0.0.2");
  Endpoint dns = pod("kube-system", {{"k8s-app", "dns"}}, "10.0.0.53");
  Endpoint world = external("8.8.8.8");
  CHECK(allowed(p->m, db, dns, 53, Protocol::UDP));
  // networks match cluster addresses too (the API: pod-to-pod traffic is checked as well).
  Decision d = evaluate(p->m, Flow{&db, &dns, Protocol::TCP, 53}).egress;
  CHECK(d.why == Decision::Why::BaselineDenied);
  CHECK_FALSE(allowed(p->m, db, world, 443));
  CHECK(allowed(p->m, web, world, 443));
}

TEST_CASE("ANP peers: nodes {} are the node entities, domainNames are FQDN peers, named ports", "[anp]") {
  auto p = parse(kAnp + R"(metadata: {name: egress}
spec:
  priority: 0
  subject: {namespaces: {}}
  egress:
  - action: Allow
    to: [{domainNames: ["*.example.com", "api.example.org."]}]
  - action: Deny
    to: [{nodes: {}}]
  - action: Allow
    to: [{pods: {namespaceSelector: {}, podSelector: {}}}]
    ports: [{namedPort: metrics}, {portRange: {start: 8000, end: 8099}}]
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  const auto& r = p->m.admin_rules;
  REQUIRE(r.size() == 5);
  CHECK(r[0].peer.kind == Peer::Kind::Fqdn);
  CHECK(r[0].peer.fqdn.pattern);
  CHECK(r[0].peer.fqdn.value == "**.example.com");
  CHECK(r[1].peer.fqdn.value == "api.example.org");
  CHECK(r[2].peer.entity == Entity::Host);
  CHECK(r[3].peer.entity == Entity::RemoteNode);
  REQUIRE(r[4].ports.size() == 2);
  CHECK(r[4].ports[0].name == "metrics");
  CHECK(r[4].ports[0].proto == Protocol::Any);
  CHECK(r[4].ports[1].lo == 8000);
  CHECK(r[4].ports[1].hi == 8099);
  Endpoint web = pod("prod", {{"app", "web"}}, "10.0.0.1");
  Endpoint api = external("93.184.216.34", "www.example.com");
  CHECK(allowed(p->m, web, api, 443));
  Endpoint mon = pod("mon", {{"app", "prom"}}, "10.0.0.9");
  mon.ports.push_back(NamedPort{"metrics", Protocol::TCP, 9100});
  CHECK(evaluate(p->m, Flow{&web, &mon, Protocol::TCP, 9100}).egress.why == Decision::Why::AdminAllowed);
  CHECK(evaluate(p->m, Flow{&web, &mon, Protocol::TCP, 8050}).egress.why == Decision::Why::AdminAllowed);
  CHECK(evaluate(p->m, Flow{&web, &mon, Protocol::TCP, 9000}).egress.why == Decision::Why::NotIsolated);
  Endpoint remote_node;
  remote_node.name = "node-2";
  remote_node.kind = EndpointKind::RemoteNode;
  remote_node.ips.push_back(*IpAddr::parse("192.168.0.2"));
  CHECK(evaluate(p->m, Flow{&web, &remote_node, Protocol::TCP, 10250}).egress.why == Decision::Why::AdminDenied);
}

TEST_CASE("ANP and BANP validation, each error at its position", "[anp]") {
  auto bad_priority = parse(kAnp + "metadata: {name: a}\nspec:\n  priority: 1001\n  subject: {namespaces: {}}\n");
  CHECK(bad_priority->has(Code::E220, 5, 13));

  auto missing_priority = parse(kAnp + "metadata: {name: a}\nspec:\n  subject: {namespaces: {}}\n");
  CHECK(missing_priority->count(Code::E204) == 1);

  auto banp_name = parse(kBanp + "metadata: {name: cluster}\nspec:\n  subject: {namespaces: {}}\n");
  CHECK(banp_name->has(Code::E221, 3, 18));

  auto banp_pass = parse(kBanp + "metadata: {name: default}\nspec:\n  subject: {namespaces: {}}\n  ingress:\n"
                                 "  - {action: Pass, from: [{namespaces: {}}]}\n");
  INFO(banp_pass->dump());
  CHECK(banp_pass->has(Code::E224, 7, 14));
  CHECK(banp_pass->m.baseline_rules.empty());

  auto both = parse(kAnp + "metadata: {name: a}\nspec:\n  priority: 1\n  subject:\n    namespaces: {}\n"
                           "    pods: {namespaceSelector: {}, podSelector: {}}\n");
  CHECK(both->has(Code::E223, 8, 5));

  auto no_peer_field = parse(anp("a", 1, "  - action: Deny\n    from: [{}]\n"));
  CHECK(no_peer_field->count(Code::E223) == 1);

  auto empty_from = parse(anp("a", 1, "  - action: Deny\n    from: []\n"));
  CHECK(empty_from->count(Code::E204) == 1);

  std::string many;
  for (int i = 0; i < 101; ++i) many += "  - {action: Deny, from: [{namespaces: {}}]}\n";
  auto too_many = parse(anp("a", 1, many));
  CHECK(too_many->has(Code::E222, 7, 3));
  CHECK(too_many->m.admin_rules.empty());

  auto named_cidr = parse(kAnp + "metadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n"
                                 "  - action: Allow\n    to: [{networks: [10.0.0.0/8]}]\n    ports: [{namedPort: http}]\n");
  CHECK(named_cidr->has(Code::E225, 10, 5));

  auto node_ports = parse(kAnp + "metadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n"
                                  "  - action: Deny\n    to: [{nodes: {matchLabels: {role: cp}}}]\n"
                                  "    ports: [{namedPort: kubelet}]\n");
  CHECK(node_ports->count(Code::E225) == 1);
  auto node_bad_selector = parse(kAnp + "metadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n"
                                        "  egress:\n  - action: Deny\n    to: [{nodes: {matchExpressions: "
                                        "[{key: role, operator: In}]}}]\n");
  CHECK(node_bad_selector->d.has_errors());
  CHECK(node_bad_selector->m.admin_rules.empty());

  auto deny_domain = parse(kAnp + "metadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n"
                                  "  - action: Deny\n    to: [{domainNames: [example.com]}]\n");
  CHECK(deny_domain->count(Code::E227) == 1);
  auto bad_domain = parse(kAnp + "metadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n"
                                 "  - action: Allow\n    to: [{domainNames: [localhost]}]\n");
  CHECK(bad_domain->count(Code::E227) == 1);

  auto bad_range = parse(anp("a", 1, "  - action: Deny\n    from: [{namespaces: {}}]\n"
                                     "    ports: [{portRange: {start: 90, end: 80}}]\n"));
  CHECK(bad_range->count(Code::E302) == 1);
  auto bad_proto = parse(anp("a", 1, "  - action: Deny\n    from: [{namespaces: {}}]\n"
                                     "    ports: [{portNumber: {protocol: ICMP, port: 1}}]\n"));
  CHECK(bad_proto->count(Code::E305) == 1);
  auto ingress_networks = parse(anp("a", 1, "  - action: Deny\n    from: [{networks: [10.0.0.0/8]}]\n"));
  CHECK(ingress_networks->count(Code::E203) == 1);
}

TEST_CASE("ANP and BANP nodes peers select nodes by their Node labels, the local node included", "[anp]") {
  auto p = parse(kAnp + R"(metadata: {name: nodes}
spec:
  priority: 3
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: prod}}}
  egress:
  - action: Deny
    to: [{nodes: {matchLabels: {node-role.kubernetes.io/control-plane: ""}}}]
  - action: Allow
    to: [{nodes: {matchExpressions: [{key: zone, operator: In, values: [b, a]}]}}]
    ports: [{portNumber: {protocol: TCP, port: 10250}}]
---
)" + kBanp + R"(metadata: {name: default}
spec:
  subject: {namespaces: {}}
  egress:
  - action: Deny
    to: [{nodes: {matchExpressions: [{key: zone, operator: Exists}]}}]
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  REQUIRE(p->m.admin_rules.size() == 2);
  REQUIRE(p->m.baseline_rules.size() == 1);
  const Peer& cp = p->m.admin_rules[0].peer;
  REQUIRE(cp.kind == Peer::Kind::Nodes);
  REQUIRE(cp.nodes.reqs.size() == 1);
  CHECK(cp.nodes.reqs[0].key == "node-role.kubernetes.io/control-plane");
  CHECK(cp.nodes.reqs[0].values == std::vector<std::string>{""});
  CHECK(p->m.admin_rules[1].peer.nodes.reqs[0].values == std::vector<std::string>{"a", "b"});
  CHECK(p->m.admin_rules[0].source == RuleSource::AdminNetworkPolicy);
  CHECK(p->m.baseline_rules[0].source == RuleSource::BaselineAdminNetworkPolicy);
  CHECK(p->m.baseline_rules[0].peer.kind == Peer::Kind::Nodes);

  Endpoint web = pod("prod", {{"app", "web"}}, "10.0.0.1");
  auto node = [](EndpointKind k, Labels l, const char* ip) {
    Endpoint e;
    e.name = ip;
    e.kind = k;
    e.labels = std::move(l);
    e.ips = {*IpAddr::parse(ip)};
    return e;
  };
  Endpoint control = node(EndpointKind::RemoteNode, {{"node-role.kubernetes.io/control-plane", ""}, {"zone", "a"}},
                          "10.9.0.2");
  Endpoint worker = node(EndpointKind::RemoteNode, {{"zone", "b"}}, "10.9.0.3");
  Endpoint self = node(EndpointKind::Host, {{"zone", "a"}}, "10.9.0.1");
  Endpoint bare = node(EndpointKind::RemoteNode, {}, "10.9.0.4");
  // A pod with the node's labels is not a node.
  Endpoint lookalike = pod("prod", {{"node-role.kubernetes.io/control-plane", ""}, {"zone", "a"}}, "10.0.0.7");
  Decision d = evaluate(p->m, Flow{&web, &control, Protocol::TCP, 10250}).egress;
  CHECK(d.why == Decision::Why::AdminDenied);
  CHECK(d.rules == std::vector<uint32_t>{0});
  CHECK(evaluate(p->m, Flow{&web, &worker, Protocol::TCP, 10250}).egress.why == Decision::Why::AdminAllowed);
  CHECK(evaluate(p->m, Flow{&web, &self, Protocol::TCP, 10250}).egress.why == Decision::Why::AdminAllowed);
  Decision base = evaluate(p->m, Flow{&web, &worker, Protocol::TCP, 22}).egress;
  CHECK_FALSE(base.allowed);
  CHECK(base.tier() == Tier::Baseline);
  CHECK(allowed(p->m, web, bare, 22));
  CHECK(allowed(p->m, web, lookalike, 10250));
  // The node reaches its pods: ingress from the host is never judged by these rules.
  CHECK(allowed(p->m, self, web, 8080));
}

TEST_CASE("rules record the kind of object they came from", "[anp]") {
  auto p = parse(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: prod}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: cnp, namespace: prod}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: ccnp}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{}]}]
)");
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  std::set<RuleSource> seen;
  for (const Rule& r : p->m.rules) seen.insert(r.source);
  CHECK(seen == std::set<RuleSource>{RuleSource::NetworkPolicy, RuleSource::CiliumNetworkPolicy,
                                     RuleSource::CiliumClusterwideNetworkPolicy});
}

TEST_CASE("ANPs with equal priorities: W220, the first read goes first", "[anp]") {
  auto p = parse(anp("first", 7, "  - action: Deny\n" + kFromDev) + "---\n" +
                 anp("second", 7, "  - action: Allow\n" + kFromDev));
  INFO(p->dump());
  REQUIRE_FALSE(p->d.has_errors());
  const Diagnostic* w = p->find(Code::W220);
  REQUIRE(w);
  CHECK(w->range.line == 15);
  CHECK(w->message.find("moat applies first first") != std::string::npos);
  REQUIRE(w->notes.size() == 1);
  CHECK(w->notes[0].range.line == 5);
  Endpoint db = pod("prod", {{"app", "db"}}, "10.0.0.1");
  Endpoint dev = pod("dev", {{"app", "web"}}, "10.0.0.2");
  CHECK_FALSE(allowed(p->m, dev, db, 80));
}

TEST_CASE("ANP under an apiVersion moat does not read is still W212", "[anp]") {
  auto p = parse("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: AdminNetworkPolicy\nmetadata: {name: a}\n");
  CHECK(p->count(Code::W212) == 1);
}

TEST_CASE("W410: an admin rule an earlier port-less rule of its tier always decides first", "[anp][lint]") {
  auto p = parse(anp("early", 1, "  - action: Deny\n" + kFromDev) + "---\n" +
                 anp("late", 2, "  - action: Allow\n" + kFromDev +
                                    "  - action: Allow\n    from: [{namespaces: {}}]\n    ports: [{portNumber: {port: 80}}]\n"));
  REQUIRE_FALSE(p->d.has_errors());
  run_lints(p->m, p->d);
  INFO(p->dump());
  auto w = p->with(Code::W410);
  REQUIRE(w.size() == 1);  // the copy in `late`; the rule with another peer may still decide
  CHECK(w[0]->range.line == 19);
  CHECK(w[0]->message.find("AdminNetworkPolicy deny rule #0 (AdminNetworkPolicy early)") != std::string::npos);
}

/// A CiliumNetworkPolicy letting every pod of prod reach api.example.com (W402's subject).
const std::string kFqdnPolicy = R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: fqdn, namespace: prod}
spec:
  endpointSelector: {}
  egress:
  - toFQDNs: [{matchName: api.example.com}]
)";

TEST_CASE("W402: an AdminNetworkPolicy Allow to kube-dns lets FQDN egress resolve", "[anp][lint]") {
  std::string cnp = kFqdnPolicy;
  auto alone = parse(cnp);
  REQUIRE_FALSE(alone->d.has_errors());
  run_lints(alone->m, alone->d);
  CHECK(alone->count(Code::W402) == 1);
  auto with_anp = parse(cnp + "---\n" + kAnp + R"(metadata: {name: dns}
spec:
  priority: 1
  subject: {namespaces: {}}
  egress:
  - action: Allow
    to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]
    ports: [{portNumber: {protocol: UDP, port: 53}}]
)");
  INFO(with_anp->dump());
  REQUIRE_FALSE(with_anp->d.has_errors());
  run_lints(with_anp->m, with_anp->d);
  CHECK(with_anp->count(Code::W402) == 0);
}

TEST_CASE("W402: an AdminNetworkPolicy Deny of DNS shadows the NetworkPolicy allows of FQDN egress", "[anp][lint]") {
  // The subject may query kube-dns by its CiliumNetworkPolicy, but an admin Deny of udp/53
  // decides first: the FQDN rule can never learn an address.
  std::string cnp = kFqdnPolicy + R"(  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
    toPorts: [{ports: [{port: "53", protocol: UDP}]}]
)";
  auto alone = parse(cnp);
  INFO(alone->dump());
  REQUIRE_FALSE(alone->d.has_errors());
  run_lints(alone->m, alone->d);
  CHECK(alone->count(Code::W402) == 0);
  auto with_anp = parse(cnp + "---\n" + kAnp + R"(metadata: {name: no-dns}
spec:
  priority: 1
  subject: {namespaces: {}}
  egress:
  - action: Deny
    to: [{namespaces: {}}]
    ports: [{portNumber: {protocol: UDP, port: 53}}]
)");
  INFO(with_anp->dump());
  REQUIRE_FALSE(with_anp->d.has_errors());
  run_lints(with_anp->m, with_anp->d);
  auto w = with_anp->with(Code::W402);
  REQUIRE(w.size() == 1);
  CHECK(w[0]->message.find("AdminNetworkPolicy rule denies") != std::string::npos);
  CHECK(w[0]->notes.size() == 1);
}
