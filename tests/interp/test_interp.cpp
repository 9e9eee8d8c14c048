// The reference interpreter on hand-built Modules: selectors, peers, ports, and the
// per-direction and per-connection verdict rules of docs/LANGUAGE.md (Rule verdicts).
#include <catch2/catch.hpp>

#include "ir/interp.h"

using namespace moat;

namespace {

using Op = LabelRequirement::Op;

LabelRequirement req(std::string key, Op op, std::vector<std::string> values = {}) {
  return LabelRequirement{std::move(key), op, std::move(values), {}};
}
LabelSelector sel(std::vector<LabelRequirement> reqs) { return LabelSelector{std::move(reqs), {}}; }
LabelSelector match(const Labels& labels) {
  LabelSelector s;
  for (const auto& [k, v] : labels) s.reqs.push_back(req(k, Op::In, {v}));
  return s;
}
EndpointSelector in_ns(const std::string& ns, const Labels& pods = {}) {
  return EndpointSelector{match({{kNamespaceNameLabel, ns}}), match(pods), {}};
}

Endpoint workload(const std::string& ns, const std::string& pod, const std::string& ip,
                  std::vector<NamedPort> ports = {}) {
  Endpoint e;
  e.name = ns + "/" + pod;
  e.kind = EndpointKind::Workload;
  e.ns = ns;
  e.ns_labels = {{kNamespaceNameLabel, ns}, {"ns", ns}};
  e.labels = {{"pod", pod}};
  e.ips = {*IpAddr::parse(ip)};
  e.ports = std::move(ports);
  return e;
}
Endpoint external(const std::string& name, const std::string& ip, std::vector<std::string> dns = {}) {
  Endpoint e;
  e.name = name;
  e.kind = EndpointKind::External;
  e.ips = {*IpAddr::parse(ip)};
  e.dns_names = std::move(dns);
  return e;
}
Endpoint entity(const std::string& name, EndpointKind kind, const std::string& node = "") {
  Endpoint e;
  e.name = name;
  e.kind = kind;
  e.ips = {*IpAddr::parse("172.18.0.1")};
  e.node = node;
  return e;
}

Peer any_peer() { return Peer{}; }
Peer endpoints_peer(EndpointSelector s) {
  Peer p;
  p.kind = Peer::Kind::Endpoints;
  p.endpoints = std::move(s);
  return p;
}
Peer cidr_peer(const std::string& cidr, std::vector<std::string> except = {}) {
  Peer p;
  p.kind = Peer::Kind::Cidr;
  p.cidr = *IpPrefix::parse(cidr);
  for (const auto& e : except) p.except.push_back(*IpPrefix::parse(e));
  return p;
}
Peer entity_peer(Entity e) {
  Peer p;
  p.kind = Peer::Kind::Entity;
  p.entity = e;
  return p;
}
Peer fqdn_peer(const std::string& v, bool pattern) {
  Peer p;
  p.kind = Peer::Kind::Fqdn;
  p.fqdn = FqdnMatch{pattern, v, {}};
  return p;
}
PortMatch port(Protocol proto, uint16_t lo, uint16_t hi = 0) {
  PortMatch pm;
  pm.proto = proto;
  pm.lo = lo;
  pm.hi = hi ? hi : lo;
  return pm;
}
PortMatch named(const std::string& name, Protocol proto = Protocol::TCP) {
  PortMatch pm;
  pm.proto = proto;
  pm.name = name;
  return pm;
}

uint32_t add(Module& m, EndpointSelector subject, Direction dir, Action action, Peer peer,
             std::vector<PortMatch> ports = {}) {
  Rule r;
  r.subject = std::move(subject);
  r.dir = dir;
  r.action = action;
  r.peer = std::move(peer);
  r.ports = std::move(ports);
  r.origin = "test rule";
  return m.add_rule(std::move(r));
}
void isolate(Module& m, EndpointSelector subject, Direction dir) {
  m.isolations.push_back(Isolation{std::move(subject), dir, "test isolation", {}});
}

Verdict flow(const Module& m, const Endpoint& s, const Endpoint& d, Protocol p = Protocol::TCP, uint16_t port = 80) {
  return evaluate(m, Flow{&s, &d, p, port});
}

} // namespace

TEST_CASE("label selectors: In, NotIn, Exists, DoesNotExist", "[interp][selector]") {
  Labels l = {{"app", "web"}, {"tier", "front"}};
  CHECK(label_selector_matches(sel({}), l));
  CHECK(label_selector_matches(sel({}), {}));
  CHECK(label_selector_matches(sel({req("app", Op::In, {"api", "web"})}), l));
  CHECK_FALSE(label_selector_matches(sel({req("app", Op::In, {"api"})}), l));
  CHECK_FALSE(label_selector_matches(sel({req("missing", Op::In, {"x"})}), l));
  CHECK_FALSE(label_selector_matches(sel({req("app", Op::NotIn, {"web"})}), l));
  CHECK(label_selector_matches(sel({req("app", Op::NotIn, {"api"})}), l));
  CHECK(label_selector_matches(sel({req("missing", Op::NotIn, {"x"})}), l));  // absent key: NotIn holds
  CHECK(label_selector_matches(sel({req("tier", Op::Exists)}), l));
  CHECK_FALSE(label_selector_matches(sel({req("missing", Op::Exists)}), l));
  CHECK(label_selector_matches(sel({req("missing", Op::DoesNotExist)}), l));
  CHECK_FALSE(label_selector_matches(sel({req("app", Op::DoesNotExist)}), l));
  // A conjunction: every requirement must hold.
  CHECK_FALSE(label_selector_matches(sel({req("app", Op::In, {"web"}), req("tier", Op::In, {"back"})}), l));
  CHECK(label_selector_matches(sel({req("app", Op::In, {"web"}), req("tier", Op::Exists)}), l));
}

TEST_CASE("endpoint selectors match workloads only: namespace labels AND pod labels", "[interp][selector]") {
  Endpoint xa = workload("x", "a", "10.244.0.1");
  Endpoint ya = workload("y", "a", "10.244.0.2");
  CHECK(endpoint_selector_matches(in_ns("x", {{"pod", "a"}}), xa));
  CHECK_FALSE(endpoint_selector_matches(in_ns("x", {{"pod", "a"}}), ya));
  CHECK_FALSE(endpoint_selector_matches(in_ns("x", {{"pod", "b"}}), xa));
  EndpointSelector everything{};
  CHECK(endpoint_selector_matches(everything, xa));
  CHECK_FALSE(endpoint_selector_matches(everything, external("w", "1.1.1.1")));
  CHECK_FALSE(endpoint_selector_matches(everything, entity("h", EndpointKind::Host)));
  CHECK_FALSE(endpoint_selector_matches(everything, entity("api", EndpointKind::KubeApiserver)));
  // The namespace name label is implied even when a caller forgot it.
  Endpoint bare = xa;
  bare.ns_labels.clear();
  CHECK(endpoint_selector_matches(in_ns("x"), bare));
}

TEST_CASE("peers: any, entities, CIDR with except, FQDN", "[interp][peer]") {
  Endpoint xa = workload("x", "a", "10.244.0.1");
  Endpoint web = external("web", "192.0.2.10", {"api.example.com"});
  Endpoint host = entity("host", EndpointKind::Host);
  Endpoint remote = entity("remote", EndpointKind::RemoteNode);
  Endpoint api = entity("api", EndpointKind::KubeApiserver);
  for (const Endpoint* e : {&xa, &web, &host, &remote, &api}) {
    CHECK(peer_matches(any_peer(), *e));
    CHECK(peer_matches(entity_peer(Entity::All), *e));
    for (Entity none : {Entity::Init, Entity::Health, Entity::Unmanaged, Entity::Ingress})
      CHECK_FALSE(peer_matches(entity_peer(none), *e));
  }
  CHECK(peer_matches(entity_peer(Entity::World), web));
  for (const Endpoint* e : {&xa, &host, &remote, &api}) {
    CHECK_FALSE(peer_matches(entity_peer(Entity::World), *e));
    CHECK(peer_matches(entity_peer(Entity::Cluster), *e));
  }
  CHECK_FALSE(peer_matches(entity_peer(Entity::Cluster), web));
  CHECK(peer_matches(entity_peer(Entity::Host), host));
  CHECK_FALSE(peer_matches(entity_peer(Entity::Host), remote));
  CHECK(peer_matches(entity_peer(Entity::RemoteNode), remote));
  CHECK_FALSE(peer_matches(entity_peer(Entity::RemoteNode), host));
  CHECK(peer_matches(entity_peer(Entity::KubeApiserver), api));
  CHECK_FALSE(peer_matches(entity_peer(Entity::KubeApiserver), xa));

  // CIDR: external endpoints only, any IP inside the CIDR and outside every except.
  CHECK(peer_matches(cidr_peer("192.0.2.0/24"), web));
  CHECK_FALSE(peer_matches(cidr_peer("192.0.2.0/24", {"192.0.2.0/28"}), web));
  CHECK(peer_matches(cidr_peer("192.0.2.0/24", {"192.0.2.0/29", "192.0.2.128/25"}), web));
  CHECK_FALSE(peer_matches(cidr_peer("198.51.100.0/24"), web));
  CHECK_FALSE(peer_matches(cidr_peer("10.0.0.0/8"), xa));  // a pod IP inside the CIDR still isn't matched
  CHECK_FALSE(peer_matches(cidr_peer("0.0.0.0/0"), host));
  // An endpoint with several addresses is several hosts: a CIDR sees one address at a time
  // (the flow's; the first by default), never "any of them".
  Endpoint dual = external("dual", "203.0.113.5");
  dual.ips.push_back(*IpAddr::parse("2001:db8::5"));
  CHECK_FALSE(peer_matches(cidr_peer("2001:db8::/32"), dual));
  CHECK(peer_matches(cidr_peer("2001:db8::/32"), dual, 1));
  CHECK(peer_matches(cidr_peer("203.0.113.0/24"), dual, 0));
  CHECK(peer_matches(cidr_peer("203.0.113.0/24", {"203.0.113.5/32"}), dual) == false);
  CHECK_FALSE(peer_matches(cidr_peer("203.0.113.0/24"), dual, 1));
  CHECK(peer_matches(cidr_peer("::/0"), dual, 1));
  CHECK_FALSE(peer_matches(cidr_peer("::/0"), dual, 0));
  CHECK_FALSE(peer_matches(cidr_peer("0.0.0.0/0"), dual, 2));  // no such address
  CHECK_FALSE(peer_matches(cidr_peer("::/0"), web));  // an IPv4-only endpoint is not in ::/0

  // FQDN: external endpoints with a matching DNS name.
  CHECK(peer_matches(fqdn_peer("api.example.com", false), web));
  CHECK(peer_matches(fqdn_peer("*.example.com", true), web));
  CHECK_FALSE(peer_matches(fqdn_peer("*.example.org", true), web));
  CHECK_FALSE(peer_matches(fqdn_peer("*", true), xa));
  CHECK_FALSE(peer_matches(fqdn_peer("*", true), external("nodns", "192.0.2.1")));
}

TEST_CASE("ports: empty, ranges, Any, ICMP, named", "[interp][ports]") {
  Endpoint server = workload("x", "a", "10.244.0.1",
                             {{"http", Protocol::TCP, 8080}, {"dns", Protocol::UDP, 53}, {"sig", Protocol::SCTP, 9000}});
  CHECK(ports_match({}, Protocol::ICMP, 8, nullptr));
  CHECK(ports_match({}, Protocol::UDP, 9999, nullptr));
  CHECK(ports_match({port(Protocol::TCP, 80)}, Protocol::TCP, 80, nullptr));
  CHECK_FALSE(ports_match({port(Protocol::TCP, 80)}, Protocol::UDP, 80, nullptr));
  CHECK_FALSE(ports_match({port(Protocol::TCP, 80)}, Protocol::TCP, 81, nullptr));
  CHECK(ports_match({port(Protocol::TCP, 1000, 2000)}, Protocol::TCP, 1000, nullptr));
  CHECK(ports_match({port(Protocol::TCP, 1000, 2000)}, Protocol::TCP, 2000, nullptr));
  CHECK_FALSE(ports_match({port(Protocol::TCP, 1000, 2000)}, Protocol::TCP, 2001, nullptr));
  CHECK_FALSE(ports_match({port(Protocol::TCP, 1000, 2000)}, Protocol::TCP, 999, nullptr));
  CHECK(ports_match({port(Protocol::UDP, 1, 65535)}, Protocol::UDP, 65535, nullptr));
  // Any = TCP, UDP or SCTP on the range; never ICMP.
  for (Protocol p : {Protocol::TCP, Protocol::UDP, Protocol::SCTP})
    CHECK(ports_match({port(Protocol::Any, 53)}, p, 53, nullptr));
  CHECK_FALSE(ports_match({port(Protocol::Any, 0, 65535)}, Protocol::ICMP, 8, nullptr));
  CHECK_FALSE(ports_match({port(Protocol::Any, 0, 65535)}, Protocol::ICMPv6, 128, nullptr));
  // ICMP: lo..hi is the type.
  CHECK(ports_match({port(Protocol::ICMP, 8)}, Protocol::ICMP, 8, nullptr));
  CHECK_FALSE(ports_match({port(Protocol::ICMP, 8)}, Protocol::ICMP, 0, nullptr));
  CHECK_FALSE(ports_match({port(Protocol::ICMP, 8)}, Protocol::ICMPv6, 8, nullptr));
  CHECK(ports_match({port(Protocol::ICMP, 0, 255)}, Protocol::ICMP, 13, nullptr));
  CHECK(ports_match({port(Protocol::ICMPv6, 128)}, Protocol::ICMPv6, 128, nullptr));
  // Several entries: any of them.
  CHECK(ports_match({port(Protocol::TCP, 80), port(Protocol::UDP, 53)}, Protocol::UDP, 53, nullptr));
  // Named ports: same name, same protocol, and the flow's port is that container port.
  CHECK(ports_match({named("http")}, Protocol::TCP, 8080, &server));
  CHECK_FALSE(ports_match({named("http")}, Protocol::TCP, 80, &server));
  CHECK_FALSE(ports_match({named("http")}, Protocol::UDP, 8080, &server));
  CHECK_FALSE(ports_match({named("http", Protocol::UDP)}, Protocol::UDP, 8080, &server));
  CHECK(ports_match({named("dns", Protocol::UDP)}, Protocol::UDP, 53, &server));
  CHECK_FALSE(ports_match({named("dns")}, Protocol::UDP, 53, &server));  // named port says TCP
  CHECK(ports_match({named("sig", Protocol::Any)}, Protocol::SCTP, 9000, &server));
  CHECK_FALSE(ports_match({named("nope")}, Protocol::TCP, 8080, &server));
  CHECK_FALSE(ports_match({named("http")}, Protocol::TCP, 8080, nullptr));
}

TEST_CASE("a direction is allowed unless isolated, isolated needs an allow", "[interp][decide]") {
  Module m;
  Endpoint xa = workload("x", "a", "10.244.0.1"), xb = workload("x", "b", "10.244.0.2");
  Endpoint ya = workload("y", "a", "10.244.0.3");
  Decision d = decide(m, Direction::Ingress, xa, ya, Protocol::TCP, 80);
  CHECK(d.allowed);
  CHECK(d.why == Decision::Why::NotIsolated);

  // An allow without isolation changes nothing (and is what the linter warns about).
  uint32_t r0 = add(m, in_ns("x", {{"pod", "a"}}), Direction::Ingress, Action::Allow,
                    endpoints_peer(in_ns("x", {{"pod", "b"}})), {port(Protocol::TCP, 80)});
  CHECK(decide(m, Direction::Ingress, xa, ya, Protocol::TCP, 80).why == Decision::Why::NotIsolated);

  isolate(m, in_ns("x"), Direction::Ingress);
  d = decide(m, Direction::Ingress, xa, ya, Protocol::TCP, 80);
  CHECK_FALSE(d.allowed);
  CHECK(d.why == Decision::Why::NoAllow);
  CHECK(d.isolations == std::vector<uint32_t>{0});
  d = decide(m, Direction::Ingress, xa, xb, Protocol::TCP, 80);
  CHECK(d.allowed);
  CHECK(d.why == Decision::Why::Allowed);
  CHECK(d.rules == std::vector<uint32_t>{r0});
  CHECK_FALSE(decide(m, Direction::Ingress, xa, xb, Protocol::TCP, 81).allowed);
  // The isolation is ingress only: egress stays open.
  CHECK(decide(m, Direction::Egress, xa, ya, Protocol::TCP, 80).why == Decision::Why::NotIsolated);
  // Other namespaces are not isolated.
  CHECK(decide(m, Direction::Ingress, ya, xa, Protocol::TCP, 80).why == Decision::Why::NotIsolated);
  // Non-workloads have no policy.
  Endpoint w = external("w", "192.0.2.1");
  CHECK(decide(m, Direction::Ingress, w, xa, Protocol::TCP, 80).why == Decision::Why::NotWorkload);
}

TEST_CASE("deny wins over any allow and lists every matching deny", "[interp][decide]") {
  Module m;
  Endpoint xa = workload("x", "a", "10.244.0.1"), ya = workload("y", "a", "10.244.0.3");
  isolate(m, in_ns("x"), Direction::Egress);
  uint32_t allow = add(m, in_ns("x"), Direction::Egress, Action::Allow, any_peer());
  uint32_t deny1 = add(m, in_ns("x", {{"pod", "a"}}), Direction::Egress, Action::Deny,
                       endpoints_peer(in_ns("y")), {port(Protocol::TCP, 80)});
  uint32_t deny2 = add(m, in_ns("x"), Direction::Egress, Action::Deny, entity_peer(Entity::Cluster),
                       {port(Protocol::Any, 1, 1024)});
  add(m, in_ns("x"), Direction::Egress, Action::Deny, entity_peer(Entity::World));  // does not match ya
  Decision d = decide(m, Direction::Egress, xa, ya, Protocol::TCP, 80);
  CHECK_FALSE(d.allowed);
  CHECK(d.why == Decision::Why::Denied);
  CHECK(d.rules == std::vector<uint32_t>{deny1, deny2});
  d = decide(m, Direction::Egress, xa, ya, Protocol::TCP, 8080);
  CHECK(d.allowed);
  CHECK(d.rules == std::vector<uint32_t>{allow});
  // A deny applies even where nothing is isolated.
  Module open;
  add(open, in_ns("x"), Direction::Ingress, Action::Deny, any_peer(), {port(Protocol::UDP, 53)});
  CHECK_FALSE(decide(open, Direction::Ingress, xa, ya, Protocol::UDP, 53).allowed);
  CHECK(decide(open, Direction::Ingress, xa, ya, Protocol::TCP, 53).allowed);
}

TEST_CASE("a connection needs both halves", "[interp][evaluate]") {
  Module m;
  Endpoint xa = workload("x", "a", "10.244.0.1"), ya = workload("y", "a", "10.244.0.3");
  Endpoint w = external("w", "192.0.2.1");
  isolate(m, in_ns("x"), Direction::Egress);
  isolate(m, in_ns("y"), Direction::Ingress);
  CHECK_FALSE(flow(m, xa, ya).allowed);
  uint32_t e = add(m, in_ns("x"), Direction::Egress, Action::Allow, endpoints_peer(in_ns("y")));
  Verdict v = flow(m, xa, ya);
  CHECK_FALSE(v.allowed);  // egress allowed, ingress still closed
  CHECK(v.egress.allowed);
  CHECK(v.egress.rules == std::vector<uint32_t>{e});
  CHECK(v.ingress.why == Decision::Why::NoAllow);
  uint32_t i = add(m, in_ns("y"), Direction::Ingress, Action::Allow, endpoints_peer(in_ns("x")));
  v = flow(m, xa, ya);
  CHECK(v.allowed);
  CHECK(v.ingress.rules == std::vector<uint32_t>{i});
  // Reverse direction: y's egress is open, x's ingress is open.
  v = flow(m, ya, xa);
  CHECK(v.allowed);
  CHECK(v.egress.why == Decision::Why::NotIsolated);
  // External sources have no egress half; external destinations no ingress half.
  v = flow(m, w, ya);
  CHECK(v.egress.why == Decision::Why::NotWorkload);
  CHECK_FALSE(v.allowed);  // y's ingress isolated, selector peers never match externals
  v = flow(m, xa, w);
  CHECK(v.ingress.why == Decision::Why::NotWorkload);
  CHECK_FALSE(v.allowed);
  add(m, in_ns("x"), Direction::Egress, Action::Allow, cidr_peer("192.0.2.0/24"), {port(Protocol::TCP, 443)});
  CHECK(flow(m, xa, w, Protocol::TCP, 443).allowed);
  CHECK_FALSE(flow(m, xa, w, Protocol::TCP, 80).allowed);
}

TEST_CASE("a flow's verdict is per address: each end uses the address the flow names", "[interp][evaluate]") {
  // One CIDR rule covering one of two addresses of an external endpoint: allowed to that
  // address, denied to the other (as the packet to each would be), both ways.
  Module m;
  EndpointSelector x = in_ns("x");
  isolate(m, x, Direction::Egress);
  isolate(m, x, Direction::Ingress);
  add(m, x, Direction::Egress, Action::Allow, cidr_peer("52.0.0.0/24"));
  add(m, x, Direction::Ingress, Action::Allow, cidr_peer("52.0.0.0/24"));
  Endpoint a = workload("x", "a", "10.244.0.1");
  Endpoint cdn = external("cdn", "52.1.0.10");
  cdn.ips.insert(cdn.ips.begin(), *IpAddr::parse("52.0.0.10"));
  CHECK(evaluate(m, Flow{&a, &cdn, Protocol::TCP, 443, 0, 0}).allowed);
  CHECK_FALSE(evaluate(m, Flow{&a, &cdn, Protocol::TCP, 443, 0, 1}).allowed);
  CHECK(evaluate(m, Flow{&cdn, &a, Protocol::TCP, 443, 0, 0}).allowed);
  CHECK_FALSE(evaluate(m, Flow{&cdn, &a, Protocol::TCP, 443, 1, 0}).allowed);
  CHECK(flow(m, a, cdn, Protocol::TCP, 443).allowed);  // default: the first address
  // A deny CIDR likewise denies only the address it covers.
  add(m, x, Direction::Egress, Action::Deny, cidr_peer("52.0.0.10/32"));
  CHECK_FALSE(evaluate(m, Flow{&a, &cdn, Protocol::TCP, 443, 0, 0}).allowed);
  add(m, x, Direction::Egress, Action::Allow, cidr_peer("52.1.0.0/24"));
  CHECK(evaluate(m, Flow{&a, &cdn, Protocol::TCP, 443, 0, 1}).allowed);
}

TEST_CASE("egress named ports resolve against the destination, ingress against the local pod", "[interp][ports]") {
  Module m;
  Endpoint xa = workload("x", "a", "10.244.0.1", {{"serve-80-tcp", Protocol::TCP, 80}});
  Endpoint ya = workload("y", "a", "10.244.0.3", {{"serve-81-tcp", Protocol::TCP, 81}});
  isolate(m, in_ns("x"), Direction::Egress);
  add(m, in_ns("x"), Direction::Egress, Action::Allow, any_peer(), {named("serve-81-tcp")});
  CHECK(flow(m, xa, ya, Protocol::TCP, 81).allowed);       // ya declares serve-81-tcp
  CHECK_FALSE(flow(m, xa, ya, Protocol::TCP, 80).allowed);
  Module in;
  isolate(in, in_ns("y"), Direction::Ingress);
  add(in, in_ns("y"), Direction::Ingress, Action::Allow, any_peer(), {named("serve-81-tcp")});
  CHECK(flow(in, xa, ya, Protocol::TCP, 81).allowed);
  Module in2;
  isolate(in2, in_ns("y"), Direction::Ingress);
  // The source declaring the name does not count: the destination (ya) has no serve-80-tcp.
  add(in2, in_ns("y"), Direction::Ingress, Action::Allow, any_peer(), {named("serve-80-tcp")});
  CHECK_FALSE(flow(in2, xa, ya, Protocol::TCP, 80).allowed);
}

TEST_CASE("self traffic and host to local workloads are always allowed", "[interp][evaluate]") {
  Module m;
  Endpoint xa = workload("x", "a", "10.244.0.1");
  isolate(m, EndpointSelector{}, Direction::Ingress);
  isolate(m, EndpointSelector{}, Direction::Egress);
  add(m, EndpointSelector{}, Direction::Ingress, Action::Deny, any_peer());
  add(m, EndpointSelector{}, Direction::Egress, Action::Deny, any_peer());
  Verdict v = flow(m, xa, xa);
  CHECK(v.allowed);
  CHECK(v.egress.why == Decision::Why::Implicit);
  CHECK(v.ingress.why == Decision::Why::Implicit);
  Endpoint copy = xa;  // same name, another object: still the same endpoint
  CHECK(flow(m, xa, copy).allowed);

  Endpoint host = entity("host", EndpointKind::Host);
  v = flow(m, host, xa);
  CHECK(v.allowed);
  CHECK(v.egress.why == Decision::Why::NotWorkload);
  CHECK(v.ingress.why == Decision::Why::Implicit);
  // A node is not local to pods on another node; and the reverse direction is policed.
  Endpoint other_host = entity("host2", EndpointKind::Host, "node-2");
  Endpoint pod_on_1 = xa;
  pod_on_1.node = "node-1";
  CHECK_FALSE(flow(m, other_host, pod_on_1).allowed);
  other_host.node = "node-1";
  CHECK(flow(m, other_host, pod_on_1).allowed);
  CHECK_FALSE(flow(m, xa, host).allowed);
  Endpoint remote = entity("remote", EndpointKind::RemoteNode);
  CHECK_FALSE(flow(m, remote, xa).allowed);
  Endpoint xb = workload("x", "b", "10.244.0.2");
  CHECK_FALSE(flow(m, xa, xb).allowed);
  CHECK_FALSE(evaluate(m, Flow{nullptr, &xa, Protocol::TCP, 80}).allowed);
}

TEST_CASE("IPv6 neighbour discovery is always allowed, both ways, deny rules included", "[interp][evaluate]") {
  Module m;
  Endpoint xa = workload("x", "a", "fd00::1"), xb = workload("x", "b", "fd00::2");
  Endpoint world = external("internet", "2001:db8::9");
  Endpoint host = entity("host", EndpointKind::Host);
  isolate(m, EndpointSelector{}, Direction::Ingress);
  isolate(m, EndpointSelector{}, Direction::Egress);
  // A deny on every ICMPv6 type, both directions: deny wins everywhere except NDP.
  add(m, EndpointSelector{}, Direction::Egress, Action::Deny, any_peer(), {PortMatch{Protocol::ICMPv6, 0, 255, {}, {}}});
  add(m, EndpointSelector{}, Direction::Ingress, Action::Deny, any_peer(), {PortMatch{Protocol::ICMPv6, 0, 255, {}, {}}});
  for (uint16_t type = 133; type <= 137; ++type) {
    INFO("icmpv6 type " << type);
    CHECK(is_neighbour_discovery(Protocol::ICMPv6, type));
    Verdict v = flow(m, xa, xb, Protocol::ICMPv6, type);
    CHECK(v.allowed);
    CHECK(v.egress.why == Decision::Why::Implicit);
    CHECK(v.ingress.why == Decision::Why::Implicit);
    CHECK(v.egress.rules.empty());
    CHECK(flow(m, xb, xa, Protocol::ICMPv6, type).allowed);
    CHECK(flow(m, xa, host, Protocol::ICMPv6, type).allowed);
    CHECK(flow(m, world, xa, Protocol::ICMPv6, type).allowed);
  }
  // Other ICMPv6 types, and ICMPv4 with the same numbers, are policed as before.
  for (uint16_t type : {128, 129, 132, 138}) {
    Verdict v = flow(m, xa, xb, Protocol::ICMPv6, type);
    CHECK_FALSE(v.allowed);
    CHECK(v.egress.why == Decision::Why::Denied);
  }
  CHECK_FALSE(is_neighbour_discovery(Protocol::ICMP, 135));
  Module isolated_only;
  isolate(isolated_only, EndpointSelector{}, Direction::Egress);
  CHECK_FALSE(flow(isolated_only, xa, xb, Protocol::ICMP, 135).allowed);
  CHECK_FALSE(flow(isolated_only, xa, xb, Protocol::ICMPv6, 128).allowed);
  CHECK(flow(isolated_only, xa, xb, Protocol::ICMPv6, 135).allowed);
}

TEST_CASE("Kubernetes peer shapes: AND in one item, OR in two", "[interp][evaluate]") {
  // E2E-05/06 in miniature: namespace NotIn [x] AND pod=b versus (NotIn [x]) OR (x/pod=b).
  Endpoint xa = workload("x", "a", "10.0.0.1"), xb = workload("x", "b", "10.0.0.2");
  Endpoint yb = workload("y", "b", "10.0.0.3"), yc = workload("y", "c", "10.0.0.4");
  LabelSelector not_x = sel({req(kNamespaceNameLabel, Op::NotIn, {"x"})});
  Module and_m;
  isolate(and_m, in_ns("x", {{"pod", "a"}}), Direction::Ingress);
  add(and_m, in_ns("x", {{"pod", "a"}}), Direction::Ingress, Action::Allow,
      endpoints_peer(EndpointSelector{not_x, match({{"pod", "b"}}), {}}));
  CHECK(flow(and_m, yb, xa).allowed);
  CHECK_FALSE(flow(and_m, yc, xa).allowed);
  CHECK_FALSE(flow(and_m, xb, xa).allowed);
  Module or_m;
  isolate(or_m, in_ns("x", {{"pod", "a"}}), Direction::Ingress);
  add(or_m, in_ns("x", {{"pod", "a"}}), Direction::Ingress, Action::Allow, endpoints_peer(EndpointSelector{not_x, {}, {}}));
  add(or_m, in_ns("x", {{"pod", "a"}}), Direction::Ingress, Action::Allow, endpoints_peer(in_ns("x", {{"pod", "b"}})));
  CHECK(flow(or_m, yb, xa).allowed);
  CHECK(flow(or_m, yc, xa).allowed);
  CHECK(flow(or_m, xb, xa).allowed);
  Endpoint xc = workload("x", "c", "10.0.0.5");
  CHECK_FALSE(flow(or_m, xc, xa).allowed);
}

TEST_CASE("Why names are stable", "[interp]") {
  CHECK(std::string(to_string(Decision::Why::NoAllow)) == "no-allow");
  CHECK(std::string(to_string(Decision::Why::Denied)) == "denied");
  CHECK(std::string(to_string(Decision::Why::Implicit)) == "implicit");
}
