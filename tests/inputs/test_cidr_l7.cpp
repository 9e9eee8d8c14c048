// CIDRs with host bits (W313, in the YAML kinds and the moat language alike, meaning the
// masked prefix), header constraints that are not modeled (W208), and the W407 lint that
// tells CI a rule with L7 constraints will not build.
#include <catch2/catch.hpp>

#include "ir/lint.h"
#include "tests/yaml/yaml_test_util.h"

using namespace moat;
using moat::test::parse;
using moat::test::Parsed;

namespace {

/// A .moat file's text through the moat-language front end.
std::unique_ptr<Parsed> parse_moat_text(const std::string& text) {
  auto p = std::make_unique<Parsed>();
  FileId f = p->sm.add("test.moat", text);
  parse_moat(f, p->sm, p->m, p->d);
  return p;
}

} // namespace

TEST_CASE("an ipBlock with host bits set is W313 and means the masked prefix", "[inputs][cidr]") {
  auto p = parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: x}\n"
                 "spec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.1/24\n"
                 "        except: [10.0.0.129/25]\n");
  INFO(p->dump());
  CHECK(!p->d.has_errors());
  auto w = p->with(Code::W313);
  REQUIRE(w.size() == 2);
  CHECK(w[0]->range.line == 9);
  CHECK(w[0]->message.find("10.0.0.0/24") != std::string::npos);
  CHECK(w[1]->range.line == 10);
  CHECK(w[1]->message.find("10.0.0.128/25") != std::string::npos);
  REQUIRE(p->m.rules.size() == 1);
  CHECK(p->m.rules[0].peer.cidr.str() == "10.0.0.0/24");
  CHECK(p->m.rules[0].peer.except.at(0).str() == "10.0.0.128/25");

  SECTION("a clean prefix and a bare host address are not warned about") {
    auto clean = parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: x}\n"
                       "spec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/24}\n"
                       "    - ipBlock: {cidr: 10.0.0.7/32}\n    - ipBlock: {cidr: 'fd00::/8'}\n");
    INFO(clean->dump());
    CHECK(clean->d.all().empty());
  }
}

TEST_CASE("Cilium CIDRs with host bits are W313 too (toCIDR, toCIDRSet and except)", "[inputs][cidr]") {
  auto p = parse("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a, namespace: x}\nspec:\n"
                 "  endpointSelector: {}\n  egress:\n  - toCIDR: [192.168.1.5/16]\n"
                 "  - toCIDRSet: [{cidr: 'fd00::1/64', except: ['fd00::ff/120']}]\n");
  INFO(p->dump());
  CHECK(!p->d.has_errors());
  CHECK(p->with(Code::W313).size() == 3);
}

TEST_CASE("the moat language warns about host bits the same way", "[inputs][cidr]") {
  auto p = parse_moat_text("namespace x {\n  default deny;\n  peer office = cidr 10.1.2.3/16 except 10.1.200.1/24;\n"
                 "  allow office -> * on tcp 443;\n}\n");
  INFO(p->dump());
  CHECK(!p->d.has_errors());
  auto w = p->with(Code::W313);
  REQUIRE(w.size() == 2);
  CHECK(w[0]->range.line == 3);
  CHECK(w[0]->message.find("10.1.0.0/16") != std::string::npos);
}

namespace {

constexpr const char* kL7 = R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}, {matchLabels: {app: batch}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          path: /api/.*
          headers: ["X-Team: shop"]
        - method: POST
          path: /api/orders
          headerMatches:
          - {name: X-Token, value: abc}
)";

} // namespace

TEST_CASE("HTTP header constraints are W208: kept, not modeled", "[inputs][l7]") {
  auto p = parse(kL7);
  INFO(p->dump());
  CHECK(!p->d.has_errors());
  auto w = p->with(Code::W208);
  REQUIRE(w.size() == 2);
  CHECK(w[0]->range.line == 14);
  CHECK(w[0]->message.find("header") != std::string::npos);
  CHECK(w[1]->range.line == 17);
}

TEST_CASE("W407: a rule with L7 constraints warns that `moat build` will refuse it, once per section",
          "[inputs][l7]") {
  auto p = parse(kL7);
  REQUIRE(!p->d.has_errors());
  REQUIRE(p->m.rules.size() == 2);  // one per peer, sharing the http section
  Diagnostics lints;
  run_lints(p->m, lints);
  std::vector<const Diagnostic*> w;
  for (const Diagnostic& d : lints.all())
    if (d.code == Code::W407) w.push_back(&d);
  REQUIRE(w.size() == 1);
  CHECK(w[0]->severity == Severity::Warning);
  CHECK(w[0]->range.line == 12);
  CHECK(w[0]->message.find("moat build") != std::string::npos);

  SECTION("no L7, no W407") {
    auto plain = parse("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a, namespace: x}\n"
                       "spec:\n  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{}]\n"
                       "    toPorts: [{ports: [{port: '80'}]}]\n");
    Diagnostics none;
    run_lints(plain->m, none);
    for (const Diagnostic& d : none.all()) CHECK(d.code != Code::W407);
  }
}
