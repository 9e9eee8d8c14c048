// Lowering semantics: connection rules into halves and twins, namespace scoping of names
// and selectors, dns expansion, which ends get a half, cross-file declarations.
#include <catch2/catch.hpp>

#include "ir/interp.h"
#include "ir/printer.h"
#include "tests/moat_lang/moat_lang_helpers.h"

using namespace moat;
using moat::test::diag_lines;
using moat::test::parse;

namespace {
std::string half(const Rule& r) {
  return std::string(to_string(r.action)) + " " + to_string(r.dir) + " at " + print_endpoint_selector(r.subject) +
         " peer " + print_peer(r.peer) + " ports " + print_ports(r.ports);
}
} // namespace

TEST_CASE("a rule between two workloads yields both halves, twinned") {
  auto p = parse(R"(namespace kubeflow {
  workload training = { workload-type: training };
  allow training -> training on tcp 29400..29600;
})");
  REQUIRE(diag_lines(*p) == "");
  const auto& rules = p->module.rules;
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].dir == Direction::Egress);
  CHECK(rules[1].dir == Direction::Ingress);
  CHECK(rules[0].twin == 1);
  CHECK(rules[1].twin == 0);
  CHECK(rules[0].id == 0);
  CHECK(rules[1].id == 1);
  CHECK(rules[0].origin == "moat kubeflow");
  CHECK(rules[0].range.line == 3);
  CHECK(rules[0].range.col == 3);
  CHECK(half(rules[0]) ==
        "allow egress at ns{kubernetes.io/metadata.name: kubeflow} pod{workload-type: training} peer endpoints "
        "ns{kubernetes.io/metadata.name: kubeflow} pod{workload-type: training} ports tcp 29400..29600");
}

TEST_CASE("non-workload sources get only the ingress half, non-workload destinations only the egress half") {
  auto p = parse(R"(namespace k {
  workload inference = { app: inference };
  peer alb = cidr 10.0.0.0/16 except 10.0.128.0/17;
  allow alb -> inference on tcp 8080;
  allow inference -> world on tcp 443;
  allow inference -> fqdn "api.example.com" on tcp 443;
  allow host -> inference;
  deny inference -> cidr 169.254.169.254/32;
})");
  REQUIRE(diag_lines(*p) == "");
  const auto& rules = p->module.rules;
  REQUIRE(rules.size() == 5);
  CHECK(half(rules[0]) ==
        "allow ingress at ns{kubernetes.io/metadata.name: k} pod{app: inference} peer cidr 10.0.0.0/16 except "
        "10.0.128.0/17 ports tcp 8080");
  CHECK(rules[0].twin == -1);
  CHECK(half(rules[1]) == "allow egress at ns{kubernetes.io/metadata.name: k} pod{app: inference} peer entity world "
                          "ports tcp 443");
  CHECK(rules[2].peer.kind == Peer::Kind::Fqdn);
  CHECK(rules[2].dir == Direction::Egress);
  CHECK(rules[3].dir == Direction::Ingress);
  CHECK(rules[3].peer.entity == Entity::Host);
  CHECK(rules[3].ports.empty());
  CHECK(rules[4].action == Action::Deny);
  CHECK(rules[4].dir == Direction::Egress);
}

TEST_CASE("several peers on either side: one pair of halves per combination") {
  auto p = parse(R"(namespace k {
  workload a = { app: a };
  workload b = { app: b };
  allow a, b -> b, world on tcp 80;
})");
  REQUIRE(diag_lines(*p) == "");
  // a->b: 2 halves, a->world: 1, b->b: 2, b->world: 1
  CHECK(p->module.rules.size() == 6);
  int twins = 0;
  for (const Rule& r : p->module.rules) twins += r.twin >= 0;
  CHECK(twins == 4);
}

TEST_CASE("dns expands to kube-dns on udp/tcp 53 and narrows explicit ports") {
  auto p = parse(R"(namespace k {
  workload a = { app: a };
  allow a -> dns;
  allow a -> dns on udp 53;
  allow a -> dns on any 1..100;
})");
  REQUIRE(diag_lines(*p) == "");
  const auto& rules = p->module.rules;
  REQUIRE(rules.size() == 3);  // kube-dns gets no ingress half: it is not in the policy's scope
  for (const Rule& r : rules) {
    CHECK(r.dir == Direction::Egress);
    CHECK(print_peer(r.peer) == "endpoints ns{kubernetes.io/metadata.name: kube-system} pod{k8s-app: kube-dns}");
  }
  CHECK(print_ports(rules[0].ports) == "udp 53, tcp 53");
  CHECK(print_ports(rules[1].ports) == "udp 53");
  CHECK(print_ports(rules[2].ports) == "udp 53, tcp 53");
}

TEST_CASE("names resolve in the current namespace first, then at cluster scope, ns/name elsewhere") {
  auto p = parse(R"(peer corp = cidr 192.0.2.0/24;
namespace a {
  workload web = { app: web };
  allow corp -> web on tcp 443;
  allow web -> b/web on tcp 80;
}
namespace b {
  workload web = { app: web-b };
})");
  REQUIRE(diag_lines(*p) == "");
  const auto& rules = p->module.rules;
  REQUIRE(rules.size() == 3);
  CHECK(print_peer(rules[0].peer) == "cidr 192.0.2.0/24");
  CHECK(print_endpoint_selector(rules[0].subject) == "ns{kubernetes.io/metadata.name: a} pod{app: web}");
  CHECK(print_peer(rules[1].peer) == "endpoints ns{kubernetes.io/metadata.name: b} pod{app: web-b}");
  CHECK(print_endpoint_selector(rules[2].subject) == "ns{kubernetes.io/metadata.name: b} pod{app: web-b}");
  CHECK(print_peer(rules[2].peer) == "endpoints ns{kubernetes.io/metadata.name: a} pod{app: web}");
  // The ingress half is at b/web although the statement is in namespace a.
  CHECK(rules[2].origin == "moat a");
}

TEST_CASE("declarations may come after their use and may refer to each other") {
  auto p = parse(R"(namespace a {
  allow api -> backends on tcp 80;
  workload api = frontends;
  workload frontends = { tier: front };
  workload backends = { tier: back };
})");
  REQUIRE(diag_lines(*p) == "");
  REQUIRE(p->module.rules.size() == 2);
  CHECK(print_endpoint_selector(p->module.rules[0].subject) == "ns{kubernetes.io/metadata.name: a} pod{tier: front}");
}

TEST_CASE("cluster scope: * is every workload, default deny isolates every workload") {
  auto p = parse(R"(default deny egress;
allow * -> dns;
)");
  REQUIRE(diag_lines(*p) == "");
  REQUIRE(p->module.isolations.size() == 1);
  CHECK(print_endpoint_selector(p->module.isolations[0].subject) == "ns{} pod{}");
  CHECK(p->module.isolations[0].origin == "moat cluster");
  REQUIRE(p->module.rules.size() == 1);
  CHECK(print_endpoint_selector(p->module.rules[0].subject) == "ns{} pod{}");
}

TEST_CASE("declarations of an earlier file are visible by name, duplicates across files are errors") {
  auto p = parse("namespace db { workload pg = { app: postgres }; peer resolver = dns; }", "a.moat");
  test::parse_more(*p, "namespace web { workload w = { app: w }; allow w -> db/pg on tcp 5432; allow w -> db/resolver; }",
                   "b.moat");
  REQUIRE(diag_lines(*p) == "");
  const auto& rules = p->module.rules;
  REQUIRE(rules.size() == 3);
  CHECK(print_endpoint_selector(rules[1].subject) == "ns{kubernetes.io/metadata.name: db} pod{app: postgres}");
  CHECK(print_ports(rules[2].ports) == "udp 53, tcp 53");
  test::parse_more(*p, "namespace db { workload pg = { app: other }; }", "c.moat");
  CHECK(test::first_diag(*p) == "1:25 E103");
}

TEST_CASE("the interpreter agrees with the halves: both sides of the ML example") {
  auto p = parse(test::read_text(std::string(MOAT_SOURCE_DIR) + "/examples/ml-platform.moat"), "ml-platform.moat");
  REQUIRE(diag_lines(*p) == "");
  REQUIRE(p->module.expects.size() >= 5);
  for (const Expect& e : p->module.expects) {
    Flow f{&e.from, &e.to, e.proto, e.port};
    INFO(e.text);
    CHECK(evaluate(p->module, f).allowed == e.allow);
  }
}
