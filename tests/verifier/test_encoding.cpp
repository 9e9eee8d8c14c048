// Units for the Z3 encoding: each case states the reference-semantics rule it pins down, and checks
// the solver's verdict (SmtEngine) and the interpreter's agree with the expected one.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include "frontend/frontend.h"

#include "ir/fqdn.h"
#include "ir/interp.h"
#include "verifier/domain.h"
#include "verifier/verifier.h"

using namespace moat;

namespace {

Endpoint workload(const std::string& ns, Labels labels, std::vector<NamedPort> ports = {}) {
  Endpoint e;
  e.name = ns + "/" + (labels.count("app") ? labels["app"] : "pod");
  e.kind = EndpointKind::Workload;
  e.ns = ns;
  e.ns_labels = {{kNamespaceNameLabel, ns}};
  e.labels = std::move(labels);
  e.ports = std::move(ports);
  return e;
}

Endpoint external(const std::string& ip, std::vector<std::string> names = {}) {
  Endpoint e;
  e.name = ip + (names.empty() ? "" : "/" + names[0]);
  e.kind = EndpointKind::External;
  e.ips.push_back(*IpAddr::parse(ip));
  e.dns_names = std::move(names);
  return e;
}

EndpointSelector sel(const std::string& ns, const std::string& key = "", const std::string& value = "") {
  EndpointSelector s;
  if (!ns.empty()) s.namespaces.reqs.push_back({kNamespaceNameLabel, LabelRequirement::Op::In, {ns}, {}});
  if (!key.empty()) s.pods.reqs.push_back({key, LabelRequirement::Op::In, {value}, {}});
  return s;
}

Peer fqdn_peer(const std::string& v, bool pattern) {
  Peer p;
  p.kind = Peer::Kind::Fqdn;
  p.fqdn = FqdnMatch{pattern, canonical_fqdn(v), {}};
  return p;
}

Peer cidr_peer(const std::string& c, std::vector<std::string> except = {}) {
  Peer p;
  p.kind = Peer::Kind::Cidr;
  p.cidr = *IpPrefix::parse(c);
  for (const std::string& e : except) p.except.push_back(*IpPrefix::parse(e));
  return p;
}

Rule rule(Direction d, Action a, EndpointSelector subject, Peer peer, std::vector<PortMatch> ports = {}) {
  Rule r;
  r.dir = d;
  r.action = a;
  r.subject = std::move(subject);
  r.peer = std::move(peer);
  r.ports = std::move(ports);
  return r;
}

/// Checks src -> dst under `m` with both engines against `expect`.
void expect_flow(const Module& m, const Endpoint& src, const Endpoint& dst, Protocol proto, uint16_t port,
                 bool expect) {
  std::vector<Endpoint> eps = {src, dst};
  SmtEngine smt(m, eps, VerifyOptions{});
  std::string error;
  auto z = smt.verdict(0, 1, proto, port, &error);
  Verdict v = evaluate(m, Flow{&eps[0], &eps[1], proto, port});
  INFO(src.name << " -> " << dst.name << " " << to_string(proto) << "/" << port << " " << error);
  REQUIRE(z.has_value());
  CHECK(v.allowed == expect);
  CHECK(*z == expect);
}

Module egress_only(Rule r) {
  Module m;
  m.isolations.push_back(Isolation{sel("x"), Direction::Egress, "", {}});
  m.add_rule(std::move(r));
  return m;
}

} // namespace

TEST_CASE("FQDN: '*' stays inside one label") {
  Module m = egress_only(rule(Direction::Egress, Action::Allow, sel("x"), fqdn_peer("*.s3.*.amazonaws.com", true)));
  Endpoint a = workload("x", {{"app", "a"}});
  expect_flow(m, a, external("52.0.0.1", {"bkt.s3.us-west-2.amazonaws.com"}), Protocol::TCP, 443, true);
  expect_flow(m, a, external("52.0.0.1", {"s3.us-west-2.amazonaws.com"}), Protocol::TCP, 443, false);
  expect_flow(m, a, external("52.0.0.1", {"a.b.s3.us-west-2.amazonaws.com"}), Protocol::TCP, 443, false);
  expect_flow(m, a, external("52.0.0.1"), Protocol::TCP, 443, false);  // no name at all
}

TEST_CASE("FQDN: a lone '*' matches every name, but not a nameless address") {
  Module m = egress_only(rule(Direction::Egress, Action::Allow, sel("x"), fqdn_peer("*", true)));
  Endpoint a = workload("x", {});
  expect_flow(m, a, external("1.2.3.4", {"anything.example"}), Protocol::UDP, 53, true);
  expect_flow(m, a, external("1.2.3.4", {"a"}), Protocol::TCP, 1, true);
  expect_flow(m, a, external("1.2.3.4"), Protocol::TCP, 1, false);
}

TEST_CASE("FQDN: leading '**.' matches one or more labels, not zero") {
  Module m = egress_only(rule(Direction::Egress, Action::Allow, sel("x"), fqdn_peer("**.example.com", true)));
  Endpoint a = workload("x", {});
  expect_flow(m, a, external("1.2.3.4", {"a.example.com"}), Protocol::TCP, 443, true);
  expect_flow(m, a, external("1.2.3.4", {"a.b.c.example.com"}), Protocol::TCP, 443, true);
  expect_flow(m, a, external("1.2.3.4", {"example.com"}), Protocol::TCP, 443, false);
  expect_flow(m, a, external("1.2.3.4", {"aexample.com"}), Protocol::TCP, 443, false);
}

TEST_CASE("FQDN: names are case-insensitive and the trailing dot is ignored") {
  Module m = egress_only(rule(Direction::Egress, Action::Allow, sel("x"), fqdn_peer("API.Example.COM.", false)));
  Endpoint a = workload("x", {});
  expect_flow(m, a, external("1.2.3.4", {"api.example.com"}), Protocol::TCP, 443, true);
  expect_flow(m, a, external("1.2.3.4", {"Api.Example.Com."}), Protocol::TCP, 443, true);
  expect_flow(m, a, external("1.2.3.4", {"www.api.example.com"}), Protocol::TCP, 443, false);
}

TEST_CASE("FQDN: a deny on one of an address's names wins over an allow on another") {
  Module m = egress_only(rule(Direction::Egress, Action::Allow, sel("x"), fqdn_peer("a.com", false)));
  m.add_rule(rule(Direction::Egress, Action::Deny, sel("x"), fqdn_peer("b.com", false)));
  Endpoint a = workload("x", {});
  expect_flow(m, a, external("1.2.3.4", {"a.com"}), Protocol::TCP, 443, true);
  expect_flow(m, a, external("1.2.3.4", {"a.com", "b.com"}), Protocol::TCP, 443, false);
}

TEST_CASE("FQDN partition: every valid name falls in a class with the same matches") {
  std::vector<FqdnMatch> ms;
  for (auto [p, v] : std::vector<std::pair<bool, std::string>>{
           {true, "*.s3.*.amazonaws.com"}, {true, "**.amazonaws.com"}, {false, "s3.us-east-1.amazonaws.com"},
           {true, "a*b.example.com"}, {true, "api-*.example.com"}, {true, "*.example.com"},
           {false, "api.example.com"}, {true, "*"}, {true, "**.b.*"}, {true, "x*"}})
    ms.push_back(FqdnMatch{p, v, {}});
  Module m;
  for (const FqdnMatch& f : ms) {
    Rule r;
    r.dir = Direction::Egress;
    r.peer.kind = Peer::Kind::Fqdn;
    r.peer.fqdn = f;
    m.add_rule(r);
  }
  std::string error;
  auto d = verify::build_domain({&m}, {}, &error);
  REQUIRE(d);
  // Each class's example realizes exactly its vector.
  for (const verify::NameClass& c : d->names.classes) {
    std::vector<uint32_t> vec;
    for (uint32_t i = 0; i < d->fqdns.size(); ++i)
      if (fqdn_matches(d->fqdns[i], c.example)) vec.push_back(i);
    CHECK(vec == c.matches);
  }
  // Random valid names built from the patterns' pieces all land in some class.
  const std::vector<std::string> pieces = {"a", "b", "ab", "axb", "s3", "us-east-1", "amazonaws", "com",
                                           "example", "api", "api-x", "x", "xy", "q_1"};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string name;
    size_t n = 1 + rng() % 5;
    for (size_t k = 0; k < n; ++k) name += (k ? "." : "") + pieces[rng() % pieces.size()];
    if (rng() % 2) name += ".amazonaws.com";
    else if (rng() % 2) name += ".example.com";
    bool any = false;
    for (const FqdnMatch& f : d->fqdns) any = any || fqdn_matches(f, name);
    INFO(name);
    CHECK(any == d->find_class(name).has_value());
  }
}

TEST_CASE("CIDR: except carves holes, and CIDRs never match cluster endpoints") {
  Module m = egress_only(
      rule(Direction::Egress, Action::Allow, sel("x"), cidr_peer("10.0.0.0/16", {"10.0.128.0/17", "10.0.5.5/32"})));
  Endpoint a = workload("x", {});
  expect_flow(m, a, external("10.0.1.1"), Protocol::TCP, 80, true);
  expect_flow(m, a, external("10.0.200.1"), Protocol::TCP, 80, false);
  expect_flow(m, a, external("10.0.5.5"), Protocol::TCP, 80, false);
  expect_flow(m, a, external("10.0.5.6"), Protocol::TCP, 80, true);
  expect_flow(m, a, external("10.1.0.1"), Protocol::TCP, 80, false);
  Endpoint pod = workload("y", {});
  pod.ips = {*IpAddr::parse("10.0.1.1")};
  expect_flow(m, a, pod, Protocol::TCP, 80, false);  // inside the CIDR, but a cluster endpoint
}

TEST_CASE("CIDR: IPv6 prefixes match IPv6 addresses only") {
  Module m = egress_only(rule(Direction::Egress, Action::Allow, sel("x"), cidr_peer("2001:db8::/33", {"2001:db8::1/128"})));
  Endpoint a = workload("x", {});
  expect_flow(m, a, external("2001:db8::2"), Protocol::TCP, 80, true);
  expect_flow(m, a, external("2001:db8::1"), Protocol::TCP, 80, false);
  expect_flow(m, a, external("2001:db8:8000::1"), Protocol::TCP, 80, false);
  expect_flow(m, a, external("32.1.13.184"), Protocol::TCP, 80, false);
}

TEST_CASE("CIDR: an any-address CIDR reads the address the flow uses, a dual-stack workload's second one too") {
  // ir.h Flow: one packet, one address at each end, `dst_addr` names it. Found by
  // bench/differential (MOAT_SEED=20261523 and three more seeds of the 100k run).
  Peer any = cidr_peer("10.0.0.0/16");
  any.cidr_any_address = true;
  Module m = egress_only(rule(Direction::Egress, Action::Allow, sel("x"), any));
  std::vector<Endpoint> eps = {workload("x", {}), workload("y", {})};
  eps[0].ips = {*IpAddr::parse("10.9.9.9")};
  eps[1].ips = {*IpAddr::parse("2001:db8::7"), *IpAddr::parse("10.0.1.1")};
  SmtEngine smt(m, eps, VerifyOptions{});
  for (size_t addr : {0, 1}) {
    bool expect = addr == 1;  // 10.0.1.1 is inside the CIDR, 2001:db8::7 is not
    std::string error;
    auto z = smt.verdict({0, 0}, {1, addr}, Protocol::TCP, 80, &error);
    Verdict v = evaluate(m, Flow{&eps[0], &eps[1], Protocol::TCP, 80, 0, addr});
    INFO("destination address " << eps[1].ips[addr].str() << " " << error);
    REQUIRE(z.has_value());
    CHECK(v.allowed == expect);
    CHECK(*z == expect);
  }
}

TEST_CASE("Ports: ranges are inclusive, ANY means TCP/UDP/SCTP, named ports resolve at the destination") {
  PortMatch range{Protocol::TCP, 8000, 8080, "", {}};
  PortMatch any{Protocol::Any, 53, 53, "", {}};
  PortMatch named{Protocol::TCP, 0, 65535, "http", {}};
  Module m;
  m.isolations.push_back(Isolation{sel("y"), Direction::Ingress, "", {}});
  m.add_rule(rule(Direction::Ingress, Action::Allow, sel("y"), Peer{}, {range, any, named}));
  Endpoint a = workload("x", {});
  Endpoint b = workload("y", {{"app", "b"}}, {NamedPort{"http", Protocol::TCP, 9090}});
  expect_flow(m, a, b, Protocol::TCP, 7999, false);
  expect_flow(m, a, b, Protocol::TCP, 8000, true);
  expect_flow(m, a, b, Protocol::TCP, 8080, true);
  expect_flow(m, a, b, Protocol::TCP, 8081, false);
  expect_flow(m, a, b, Protocol::UDP, 8000, false);
  expect_flow(m, a, b, Protocol::UDP, 53, true);
  expect_flow(m, a, b, Protocol::SCTP, 53, true);
  expect_flow(m, a, b, Protocol::ICMP, 53, false);
  expect_flow(m, a, b, Protocol::TCP, 9090, true);   // the named port
  expect_flow(m, a, b, Protocol::UDP, 9090, false);  // named port is TCP
}

TEST_CASE("Deny wins over allow, whatever the specificity, self and host traffic are implicit") {
  Module m;
  m.isolations.push_back(Isolation{sel("y"), Direction::Ingress, "", {}});
  m.add_rule(rule(Direction::Ingress, Action::Allow, sel("y", "app", "b"), Peer{}, {PortMatch{Protocol::TCP, 80, 80, "", {}}}));
  Peer from_x;
  from_x.kind = Peer::Kind::Endpoints;
  from_x.endpoints = sel("x");
  m.add_rule(rule(Direction::Ingress, Action::Deny, sel("y"), from_x));
  Endpoint a = workload("x", {});
  Endpoint c = workload("z", {});
  Endpoint b = workload("y", {{"app", "b"}});
  expect_flow(m, a, b, Protocol::TCP, 80, false);
  expect_flow(m, c, b, Protocol::TCP, 80, true);
  expect_flow(m, c, b, Protocol::TCP, 81, false);
  Endpoint host;
  host.name = "host";
  host.kind = EndpointKind::Host;
  expect_flow(m, host, b, Protocol::TCP, 81, true);  // kubelet probes: always allowed
  Endpoint remote = host;
  remote.name = "remote";
  remote.kind = EndpointKind::RemoteNode;
  expect_flow(m, remote, b, Protocol::TCP, 81, false);
}

TEST_CASE("Cilium namespace scoping: a namespaced policy's peer selectors stay in its namespace") {
  // Parsed by the YAML front end, decided by both engines. The clusterwide policy's peer
  // selector matches every namespace; the namespaced one only its own (Cilium semantics).
  std::string path = std::string(MOAT_BINARY_DIR) + "/test_verifier_cilium_scoping.yaml";
  {
    std::ofstream out(path);
    out << R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: api}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
)";
  }
  SourceManager sm;
  Module m;
  Diagnostics diags;
  load_paths({path}, sm, m, diags);
  REQUIRE_FALSE(diags.has_errors());
  Endpoint web_x = workload("x", {{"app", "web"}});
  Endpoint api_x = workload("x", {{"app", "api"}});
  Endpoint client_x = workload("x", {{"app", "client"}});
  Endpoint client_y = workload("y", {{"app", "client"}});
  client_y.name = "y/client";
  expect_flow(m, client_x, web_x, Protocol::TCP, 80, true);
  expect_flow(m, client_y, web_x, Protocol::TCP, 80, false);  // other namespace: not selected
  expect_flow(m, client_y, api_x, Protocol::TCP, 80, true);   // clusterwide: any namespace
  expect_flow(m, client_x, web_x, Protocol::TCP, 81, false);
}

TEST_CASE("IPv6 neighbour discovery is implicit: allowed whatever the rules, not a connection for isolation") {
  Module m;
  m.isolations.push_back(Isolation{sel("x"), Direction::Egress, "", {}});
  m.isolations.push_back(Isolation{sel("y"), Direction::Ingress, "", {}});
  m.add_rule(rule(Direction::Egress, Action::Deny, sel("x"), Peer{}, {PortMatch{Protocol::ICMPv6, 0, 255, "", {}}}));
  Endpoint a = workload("x", {});
  Endpoint b = workload("y", {{"app", "b"}});
  for (uint16_t type = 133; type <= 137; ++type) {
    expect_flow(m, a, b, Protocol::ICMPv6, type, true);
    expect_flow(m, b, a, Protocol::ICMPv6, type, true);
    expect_flow(m, a, external("2001:db8::1"), Protocol::ICMPv6, type, true);
  }
  expect_flow(m, a, b, Protocol::ICMPv6, 128, false);  // echo is policed (and denied here)
  expect_flow(m, a, b, Protocol::ICMPv6, 132, false);
  expect_flow(m, a, b, Protocol::ICMPv6, 138, false);
  expect_flow(m, a, b, Protocol::ICMP, 135, false);    // ICMPv4 type 135 is not NDP

  // Only NDP flows between x and y: isolated. Allow echo from x to y: no longer isolated,
  // and the counterexample is the echo, not NDP.
  Prove p;
  p.kind = Prove::Kind::Isolated;
  Peer px, py;
  px.kind = py.kind = Peer::Kind::Endpoints;
  px.endpoints = sel("x");
  py.endpoints = sel("y");
  p.subjects = {px, py};
  Module only_ndp = m;
  only_ndp.isolations.push_back(Isolation{sel("x"), Direction::Ingress, "", {}});
  only_ndp.isolations.push_back(Isolation{sel("y"), Direction::Egress, "", {}});
  only_ndp.proofs.push_back(p);
  ProofReport proved = run_proofs(only_ndp, VerifyOptions{});
  REQUIRE(proved.internal_error == "");
  REQUIRE(proved.results.size() == 1);
  CHECK(proved.results[0].status == ProofStatus::Proved);

  Module echo = only_ndp;
  echo.rules.clear();
  echo.add_rule(rule(Direction::Egress, Action::Allow, sel("x"), Peer{}, {PortMatch{Protocol::ICMPv6, 128, 137, "", {}}}));
  echo.add_rule(rule(Direction::Ingress, Action::Allow, sel("y"), Peer{}, {PortMatch{Protocol::ICMPv6, 128, 137, "", {}}}));
  ProofReport failed = run_proofs(echo, VerifyOptions{});
  REQUIRE(failed.internal_error == "");
  REQUIRE(failed.results.size() == 1);
  REQUIRE(failed.results[0].status == ProofStatus::Failed);
  REQUIRE(failed.results[0].witness);
  CHECK(failed.results[0].witness->proto == Protocol::ICMPv6);
  CHECK_FALSE(is_neighbour_discovery(failed.results[0].witness->proto, failed.results[0].witness->port));
}
