// compute_map_contents against the reference interpreter, through the datapath model:
// random policies (selectors, CIDRs with except, entities, FQDNs, named ports, ranges,
// denies) x random flows. A mismatch prints the seed; MOAT_SEED=N reproduces it.
#include <catch2/catch.hpp>

#include <set>

#include "backend/bundle/map_contents.h"
#include "backend/bundle/plan.h"
#include "datapath_model.h"
#include "ir/interp.h"
#include "random_flows.h"

using namespace moat;

namespace {

bundle::MapContents contents_for(const Module& m, const std::vector<Endpoint>& eps) {
  std::vector<bundle::LocalAttachment> locals;
  for (size_t i = 0; i < eps.size(); ++i)
    if (eps[i].kind == EndpointKind::Workload) locals.push_back({i, static_cast<uint32_t>(i + 1), 0});
  bundle::IdentityAllocator ids;
  return bundle::compute_map_contents(m, eps, locals, ids);
}

template <class K, class V>
bool unique_keys(const std::vector<std::pair<K, V>>& entries) {
  std::set<std::string> keys;
  for (const auto& [k, v] : entries)
    if (!keys.insert(std::string(reinterpret_cast<const char*>(&k), sizeof(K))).second) return false;
  return true;
}

} // namespace

TEST_CASE("map contents: model of the datapath == interpreter on random policies", "[backend][differential]") {
  uint64_t base = test::differential_seed();
  size_t flows = 0, skipped = 0, ndp = 0;
  for (uint64_t round = 0; round < 500; ++round) {
    uint64_t seed = base + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(1 + gen.pick(12), gen.pick(4));
    std::vector<Endpoint> eps = test::datapath_endpoints(gen, m, 12);
    bundle::DatapathPlan plan = bundle::plan_datapath(m);
    bundle::MapContents c = contents_for(m, eps);
    // Each key once: the kernel keeps the last write of a key, the model the first.
    REQUIRE(unique_keys(c.ipcache));
    REQUIRE(unique_keys(c.hosts));
    REQUIRE(unique_keys(c.policy));
    REQUIRE(unique_keys(c.policy_exact));
    // The plan's lookups find every entry: no LPM entries where the plan has no LPM lookup.
    for (const auto& [k, v] : c.policy) REQUIRE(plan[static_cast<Direction>(k.dir)].port_prefixes);
    for (const auto& [k, v] : c.policy_exact) REQUIRE(plan[static_cast<Direction>(k.dir)].exact_ports);
    if (!plan.ipcache_prefixes) REQUIRE(c.ipcache.empty());
    REQUIRE(unique_keys(c.endpoints));
    for (int i = 0; i < 60; ++i) {
      size_t s = gen.pick(eps.size()), d = gen.pick(eps.size());
      auto [proto, port] = gen.proto_port(m, eps[d]);
      auto model = test::model_connection(c, plan, eps, s, d, proto, port);
      if (!model) {
        ++skipped;
        continue;
      }
      Verdict v = evaluate(m, Flow{&eps[s], &eps[d], proto, port});
      INFO("MOAT_SEED=" << seed << " (round base) flow " << eps[s].name << " -> " << eps[d].name << " "
                        << to_string(proto) << "/" << port);
      REQUIRE(*model == v.allowed);
      ++flows;
      ndp += is_neighbour_discovery(proto, port);
    }
  }
  CHECK(flows > 10000);  // the generator must keep producing checkable flows
  CHECK(ndp > 100);      // including IPv6 neighbour discovery, always allowed
  WARN("checked " << flows << " flows (" << ndp << " neighbour discovery; " << skipped
                   << " without a common address family)");
}

TEST_CASE("map contents: identities are shared by equal label sets, CIDR classes cover prefixes", "[backend]") {
  Module m;
  Rule r;
  r.dir = Direction::Egress;
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.cidr = *IpPrefix::parse("10.0.0.0/8");
  r.peer.except = {*IpPrefix::parse("10.1.0.0/16")};
  m.add_rule(r);
  std::vector<Endpoint> eps(3);
  for (int i = 0; i < 2; ++i) {
    eps[i].name = "w" + std::to_string(i);
    eps[i].ns = "x";
    eps[i].labels = {{"app", "web"}};
    eps[i].ips = {*IpAddr::parse(i ? "192.168.0.2" : "192.168.0.1")};
  }
  eps[2].name = "ext";
  eps[2].kind = EndpointKind::External;
  eps[2].ips = {*IpAddr::parse("10.1.2.3")};
  bundle::IdentityAllocator ids;
  bundle::MapContents c = bundle::compute_map_contents(m, eps, {{0, 7, 0}}, ids);
  REQUIRE(c.endpoint_identity.size() == 3);
  CHECK(c.endpoint_identity[0] == c.endpoint_identity[1]);
  CHECK(c.endpoint_identity[0] >= abi::kFirstWorkloadIdentity);
  CHECK(c.endpoint_identity[2] >= abi::kFirstExternalIdentity);
  // 3 addresses (hash) + 2 CIDR classes (10/8 and 10.1/16, LPM).
  CHECK(c.hosts.size() == 3);
  CHECK(c.ipcache.size() == 2);
  // Recomputing with the same allocator keeps every number.
  bundle::MapContents again = bundle::compute_map_contents(m, eps, {{0, 7, 0}}, ids);
  CHECK(again.endpoint_identity == c.endpoint_identity);
  REQUIRE(c.endpoints.size() == 1);
  CHECK(c.endpoints[0].first.id == 7);
}

TEST_CASE("map contents: an external endpoint with several addresses is several hosts", "[backend]") {
  // A CIDR rule that covers one of the two addresses: the ipcache must tell them apart, as
  // the interpreter does with one address per flow (ir.h Flow).
  Module m;
  Rule r;
  r.dir = Direction::Egress;
  r.subject.namespaces.reqs.push_back({kNamespaceNameLabel, LabelRequirement::Op::In, {"x"}, {}});
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.cidr = *IpPrefix::parse("52.0.0.0/24");
  r.ports = {PortMatch{Protocol::TCP, 443, 443, "", {}}};
  m.add_rule(r);
  Isolation iso;
  iso.subject = r.subject;
  iso.dir = Direction::Egress;
  m.isolations.push_back(iso);
  std::vector<Endpoint> eps(2);
  eps[0].name = "x/a";
  eps[0].ns = "x";
  eps[0].ns_labels = {{kNamespaceNameLabel, "x"}};
  eps[0].ips = {*IpAddr::parse("10.244.0.1")};
  eps[1].name = "cdn";
  eps[1].kind = EndpointKind::External;
  eps[1].ips = {*IpAddr::parse("52.0.0.10"), *IpAddr::parse("52.1.0.10")};
  bundle::MapContents c = contents_for(m, eps);
  bundle::DatapathPlan plan = bundle::plan_datapath(m);
  REQUIRE(c.endpoints.size() == 1);
  for (size_t addr = 0; addr < 2; ++addr) {
    INFO("address " << eps[1].ips[addr].str());
    Verdict v = evaluate(m, Flow{&eps[0], &eps[1], Protocol::TCP, 443, 0, addr});
    CHECK(v.allowed == (addr == 0));
    CHECK(test::model_direction(c, plan, c.endpoints[0].second, Direction::Egress, eps[0].ips[0], eps[1].ips[addr],
                                Protocol::TCP, 443) == v.allowed);
  }
}

TEST_CASE("map contents: the endpoint value carries its own addresses and conntrack id", "[backend]") {
  Module m;
  Isolation iso;  // everything egress-isolated, no rule: only self traffic leaves
  iso.subject.pods.reqs.push_back({"app", LabelRequirement::Op::In, {"same"}, {}});
  iso.dir = Direction::Egress;
  m.isolations.push_back(iso);
  std::vector<Endpoint> eps(2);
  for (Endpoint& e : eps) e.ns = "x", e.ns_labels = {{kNamespaceNameLabel, "x"}}, e.labels = {{"app", "same"}};
  eps[0].name = "x/a";
  eps[0].ips = {*IpAddr::parse("10.244.0.1"), *IpAddr::parse("fd00::1"), *IpAddr::parse("10.244.0.11")};
  eps[1].name = "x/b";  // same labels, same identity: another pod all the same
  eps[1].ips = {*IpAddr::parse("10.244.0.2")};
  bundle::IdentityAllocator ids;
  bundle::MapContents c = bundle::compute_map_contents(m, eps, {{0, 5, 77}, {1, 6, 0}}, ids);
  REQUIRE(c.endpoints.size() == 3);
  const abi::EndpointValue& tc = c.endpoints[0].second;
  const abi::EndpointValue& cg = c.endpoints[1].second;
  const abi::EndpointValue& b = c.endpoints[2].second;
  CHECK(tc.identity == b.identity);
  CHECK(tc.addr_count == 3);
  CHECK(tc.addr_family[0] == abi::kFamilyV4);
  CHECK(tc.addr_family[1] == abi::kFamilyV6);
  CHECK(tc.addrs[2][3] == 11);
  CHECK(tc.addrs[2][4] == 0);  // IPv4: the rest of the slot is zero, as in FlowTuple
  // Each attachment has its own id: an entry made at one never answers at another.
  CHECK(tc.conntrack_id == (uint64_t{abi::kEndpointKindIfindex} << 56 | 5));
  CHECK(cg.conntrack_id == (uint64_t{abi::kEndpointKindCgroup} << 56 | 77));
  CHECK(b.conntrack_id != tc.conntrack_id);
  // The model: a's other address is self, b's address is not, and b cannot send as a.
  bundle::DatapathPlan plan = bundle::plan_datapath(m);
  CHECK(test::model_direction(c, plan, tc, Direction::Egress, eps[0].ips[0], eps[0].ips[2], Protocol::TCP, 80));
  CHECK(evaluate(m, Flow{&eps[0], &eps[0], Protocol::TCP, 80}).allowed);
  CHECK_FALSE(test::model_direction(c, plan, tc, Direction::Egress, eps[0].ips[0], eps[1].ips[0], Protocol::TCP, 80));
  CHECK_FALSE(evaluate(m, Flow{&eps[0], &eps[1], Protocol::TCP, 80}).allowed);
  CHECK_FALSE(test::model_direction(c, plan, b, Direction::Egress, eps[0].ips[0], eps[1].ips[0], Protocol::TCP, 80));
}
