// compute_map_contents against the reference interpreter, through the datapath model:
// random policies (selectors, CIDRs with except, entities, FQDNs, named ports, ranges,
// denies) x random flows. A mismatch prints the seed; MOAT_SEED=N reproduces it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
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

/// What the loader and the program rely on in any map contents.
void require_loadable(const bundle::MapContents& c, const bundle::DatapathPlan& plan) {
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
    require_loadable(c, plan);
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

TEST_CASE("map contents: the admin and baseline tiers resolved into the entries == interpreter",
          "[backend][differential][anp]") {
  uint64_t base = test::differential_seed();
  size_t flows = 0, decided_by_tiers = 0;
  for (uint64_t round = 0; round < 500; ++round) {
    uint64_t seed = base + 7000 + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(gen.pick(8), gen.pick(4));
    gen.add_tiers(m, 1 + gen.pick(6), gen.pick(4));
    std::vector<Endpoint> eps = test::datapath_endpoints(gen, m, 12);
    bundle::DatapathPlan plan = bundle::plan_datapath(m);
    bundle::MapContents c = contents_for(m, eps);
    require_loadable(c, plan);
    // Every recorded rule id is a rule of some tier (or no rule: the isolation flag decides).
    for (const auto* list : {&c.policy, &c.policy_exact})
      for (const auto& [k, v] : *list)
        if (v.action != abi::kActionIsolation) REQUIRE(v.rule < bundle::datapath_rule_count(m));
    for (int i = 0; i < 60; ++i) {
      size_t s = gen.pick(eps.size()), d = gen.pick(eps.size());
      auto [proto, port] = gen.proto_port(m, eps[d]);
      auto model = test::model_connection(c, plan, eps, s, d, proto, port);
      if (!model) continue;
      Verdict v = evaluate(m, Flow{&eps[s], &eps[d], proto, port});
      INFO("MOAT_SEED=" << seed - 7000 << " (round base + 7000) flow " << eps[s].name << " -> " << eps[d].name << " "
                        << to_string(proto) << "/" << port);
      REQUIRE(*model == v.allowed);
      ++flows;
      decided_by_tiers += v.egress.tier() != Tier::Policy || v.ingress.tier() != Tier::Policy ||
                          !v.egress.passed.empty() || !v.ingress.passed.empty();
    }
  }
  CHECK(flows > 10000);
  CHECK(decided_by_tiers > 300);  // the tiers decide (or pass) a share of the flows
  WARN("checked " << flows << " flows, " << decided_by_tiers << " decided or passed by an admin or baseline rule");
}

namespace {

Endpoint pod(const std::string& name, const std::string& ns, Labels labels, const char* ip) {
  Endpoint e;
  e.name = name;
  e.ns = ns;
  e.labels = std::move(labels);
  e.ips = {*IpAddr::parse(ip)};
  return e;
}

EndpointSelector app(const std::string& value) {
  EndpointSelector s;
  s.pods.reqs.push_back({"app", LabelRequirement::Op::In, {value}, {}});
  return s;
}

Rule tier_rule(Tier tier, uint32_t id, EndpointSelector subject, Direction dir, Action action, Peer peer) {
  Rule r;
  r.tier = tier;
  r.id = id;
  r.subject = std::move(subject);
  r.dir = dir;
  r.action = action;
  r.peer = std::move(peer);
  return r;
}

Peer pods_peer(const std::string& value) {
  Peer p;
  p.kind = Peer::Kind::Endpoints;
  p.endpoints = app(value);
  return p;
}

/// The entry (L, R, dir) for every protocol and port, if any.
const abi::PolicyValue* all_ports_entry(const bundle::MapContents& c, uint32_t local, uint32_t remote, Direction dir) {
  for (const auto& [k, v] : c.policy)
    if (k.local == local && k.remote == remote && k.dir == static_cast<uint8_t>(dir) &&
        k.prefixlen == abi::kPolicyFixedBits)
      return &v;
  return nullptr;
}

} // namespace

TEST_CASE("map contents: admin Allow beats isolation, baseline Deny applies to non-isolated pods, Pass defers",
          "[backend][anp]") {
  Module m;
  m.isolations.push_back({app("db"), Direction::Ingress, "np", {}});  // db isolated, allows nothing
  m.admin_rules.push_back(tier_rule(Tier::Admin, 0, app("db"), Direction::Ingress, Action::Allow, pods_peer("backup")));
  m.admin_rules.push_back(tier_rule(Tier::Admin, 1, app("web"), Direction::Ingress, Action::Pass, pods_peer("backup")));
  m.baseline_rules.push_back(
      tier_rule(Tier::Baseline, 0, app("web"), Direction::Ingress, Action::Deny, pods_peer("client")));
  // A baseline Allow for db: db is isolated, so the baseline is never asked.
  m.baseline_rules.push_back(tier_rule(Tier::Baseline, 1, app("db"), Direction::Ingress, Action::Allow, pods_peer("client")));
  std::vector<Endpoint> eps = {pod("db", "x", {{"app", "db"}}, "10.0.0.1"), pod("web", "x", {{"app", "web"}}, "10.0.0.2"),
                               pod("backup", "x", {{"app", "backup"}}, "10.0.0.3"),
                               pod("client", "x", {{"app", "client"}}, "10.0.0.4")};
  bundle::MapContents c = contents_for(m, eps);
  uint32_t db = c.endpoint_identity[0], web = c.endpoint_identity[1], backup = c.endpoint_identity[2],
           client = c.endpoint_identity[3];

  const abi::PolicyValue* v = all_ports_entry(c, db, backup, Direction::Ingress);
  REQUIRE(v);
  CHECK(v->action == abi::kActionAllow);
  CHECK(v->rule == bundle::datapath_rule(m, Tier::Admin, 0));
  // db is isolated, so the baseline Allow does not apply: nothing decides, and with no
  // (L, ANY) entry that decides the isolation flag is reached without an entry.
  CHECK_FALSE(all_ports_entry(c, db, client, Direction::Ingress));
  v = all_ports_entry(c, web, client, Direction::Ingress);
  REQUIRE(v);
  CHECK(v->action == abi::kActionDeny);
  CHECK(v->rule == bundle::datapath_rule(m, Tier::Baseline, 0));
  CHECK_FALSE(all_ports_entry(c, web, backup, Direction::Ingress));  // passed, nothing below decides: web is open

  bundle::DatapathPlan plan = bundle::plan_datapath(m);
  CHECK(plan.rule_count == 4);  // no Policy rule, 2 admin, 2 baseline
  for (size_t s = 0; s < eps.size(); ++s)
    for (size_t d = 0; d < eps.size(); ++d) {
      auto model = test::model_connection(c, plan, eps, s, d, Protocol::TCP, 80);
      REQUIRE(model);
      INFO(eps[s].name << " -> " << eps[d].name);
      CHECK(*model == evaluate(m, Flow{&eps[s], &eps[d], Protocol::TCP, 80}).allowed);
    }
}

TEST_CASE("map contents: a networks peer tells apart pods with the same labels by address", "[backend][anp]") {
  Module m;
  Peer net;
  net.kind = Peer::Kind::Cidr;
  net.cidr = *IpPrefix::parse("10.4.0.0/24");
  net.cidr_any_address = true;
  m.admin_rules.push_back(tier_rule(Tier::Admin, 0, app("client"), Direction::Egress, Action::Deny, net));
  std::vector<Endpoint> eps = {pod("w1", "x", {{"app", "worker"}}, "10.4.0.10"),
                               pod("w2", "x", {{"app", "worker"}}, "10.4.1.10"),
                               pod("c", "x", {{"app", "client"}}, "10.5.0.10")};
  Endpoint host;
  host.name = "node";
  host.kind = EndpointKind::Host;
  host.ips = {*IpAddr::parse("10.4.0.1")};
  eps.push_back(host);
  bundle::MapContents c = contents_for(m, eps);
  // One label identity for both workers, but w1's address has an identity of its own.
  CHECK(c.endpoint_identity[0] == c.endpoint_identity[1]);
  auto host_value = [&](const char* ip) {
    abi::IpcacheKey k = bundle::ipcache_key(IpPrefix{*IpAddr::parse(ip), 32});
    for (const auto& [key, v] : c.hosts)
      if (std::memcmp(&key, &k, sizeof k) == 0) return v;
    FAIL("no hosts entry for " << ip);
    return 0u;
  };
  uint32_t w1 = host_value("10.4.0.10"), w2 = host_value("10.4.1.10"), node = host_value("10.4.0.1");
  CHECK(w2 == c.endpoint_identity[1]);
  CHECK(w1 != w2);
  CHECK(w1 >= abi::kFirstWorkloadIdentity);
  // The node's address: its own identity too, still marked as this node's (ingress passes).
  CHECK((node & abi::kIdentityNodeHost) != 0);
  CHECK((node & abi::kIdentityMask) != abi::kIdentityHost);
  bundle::DatapathPlan plan = bundle::plan_datapath(m);
  for (size_t d = 0; d < eps.size(); ++d) {
    auto model = test::model_connection(c, plan, eps, 2, d, Protocol::TCP, 80);
    REQUIRE(model);
    INFO("c -> " << eps[d].name);
    CHECK(*model == evaluate(m, Flow{&eps[2], &eps[d], Protocol::TCP, 80}).allowed);
    CHECK(*model == (d == 1 || d == 2));  // only w2 is outside the network (c to itself: self)
  }
  // Ingress from the node's address to a pod passes, whatever its identity.
  CHECK(*test::model_connection(c, plan, eps, 3, 0, Protocol::TCP, 80));
}

TEST_CASE("map contents: each cluster address's class is the longest of many nested networks prefixes",
          "[backend][anp]") {
  // 200 admin rules whose `networks` peers nest (/8 > /16 > /24 > /28, IPv4 and IPv6) and
  // repeat, with excepts: each pod address's identity names the longest prefix covering it,
  // as a scan of every rule's prefixes finds it.
  Module m;
  std::vector<IpPrefix> listed;
  for (uint32_t i = 0; i < 200; ++i) {
    Peer net;
    net.kind = Peer::Kind::Cidr;
    net.cidr_any_address = true;
    std::string v4 = i % 4 == 0 ? "10.0.0.0/8" : i % 4 == 1 ? "10." + std::to_string(i % 7) + ".0.0/16"
                   : i % 4 == 2 ? "10." + std::to_string(i % 7) + "." + std::to_string(i % 5) + ".0/24"
                                : "10." + std::to_string(i % 7) + "." + std::to_string(i % 5) + ".16/28";
    net.cidr = *IpPrefix::parse(i % 10 == 9 ? "fd00:" + std::to_string(i % 3) + "::/32" : v4);
    if (i % 6 == 0) net.except = {*IpPrefix::parse("10." + std::to_string(i % 7) + ".3.0/24")};
    listed.push_back(net.cidr);
    listed.insert(listed.end(), net.except.begin(), net.except.end());
    m.admin_rules.push_back(tier_rule(Tier::Admin, i, app("client"), Direction::Egress, Action::Deny, net));
  }
  std::vector<Endpoint> eps;
  for (int i = 0; i < 300; ++i) {
    std::string ip = i % 5 == 4 ? "fd00:" + std::to_string(i % 4) + "::" + std::to_string(i)
                                : "10." + std::to_string(i % 8) + "." + std::to_string(i % 6) + "." + std::to_string(i % 40);
    eps.push_back(pod("p" + std::to_string(i), "x", {{"app", i % 2 ? "client" : "worker"}}, ip.c_str()));
  }
  bundle::MapContents c = contents_for(m, eps);
  auto key_of = [&](uint32_t id) -> std::string {
    for (const bundle::IdentityInfo& info : c.identities)
      if (info.id == (id & abi::kIdentityMask)) return info.key;
    FAIL("no identity " << id);
    return "";
  };
  size_t classed = 0;
  for (const Endpoint& e : eps) {
    abi::IpcacheKey k = bundle::ipcache_key(IpPrefix{e.ips[0], static_cast<uint8_t>(e.ips[0].bits())});
    auto entry = std::find_if(c.hosts.begin(), c.hosts.end(),
                              [&](const auto& h) { return std::memcmp(&h.first, &k, sizeof k) == 0; });
    REQUIRE(entry != c.hosts.end());
    const IpPrefix* best = nullptr;
    for (const IpPrefix& p : listed)
      if (p.contains(e.ips[0]) && (!best || p.len > best->len)) best = &p;
    std::string key = key_of(entry->second);
    INFO(e.ips[0].str() << " has identity key " << key);
    if (best) {
      CHECK(key.ends_with("|@" + best->str()));
      ++classed;
    } else {
      CHECK(key.find("|@") == std::string::npos);
    }
  }
  CHECK(classed > 200);
  CHECK(classed < eps.size());  // fd00:3:: is under no prefix
}

TEST_CASE("map contents: remotes where no rule decides get no entries unless an (L, ANY) entry would decide",
          "[backend][anp]") {
  // The --anp scale shape in small: an admin Pass of every pod, a baseline Deny of every pod
  // (asked only where nothing isolates), an admin Deny of tcp/22 from one team. db is
  // isolated by a NetworkPolicy allowing web: from most pods nothing decides.
  auto every_pod = [] {
    Peer p;
    p.kind = Peer::Kind::Endpoints;  // empty selectors: every pod of every namespace
    return p;
  };
  auto rules = [&](bool deny_all_at_any) {
    Module m;
    m.isolations.push_back({app("db"), Direction::Ingress, "np", {}});
    Rule allow = tier_rule(Tier::Policy, 0, app("db"), Direction::Ingress, Action::Allow, pods_peer("web"));
    m.add_rule(allow);
    Rule ssh = tier_rule(Tier::Admin, 0, EndpointSelector{}, Direction::Ingress, Action::Deny, pods_peer("team"));
    ssh.ports = {PortMatch{Protocol::TCP, 22, 22, ""}};
    m.admin_rules.push_back(ssh);
    m.admin_rules.push_back(tier_rule(Tier::Admin, 1, EndpointSelector{}, Direction::Ingress, Action::Pass, every_pod()));
    m.baseline_rules.push_back(
        tier_rule(Tier::Baseline, 0, EndpointSelector{}, Direction::Ingress, Action::Deny, every_pod()));
    if (deny_all_at_any) {  // a peer matching everything: (L, ANY) entries that decide
      Peer all;  // Kind::Any
      Rule r = tier_rule(Tier::Policy, 1, app("db"), Direction::Ingress, Action::Deny, all);
      r.ports = {PortMatch{Protocol::UDP, 53, 53, ""}};
      m.add_rule(r);
    }
    return m;
  };
  std::vector<Endpoint> eps = {pod("db", "x", {{"app", "db"}}, "10.0.0.1"), pod("web", "x", {{"app", "web"}}, "10.0.0.2"),
                               pod("team", "y", {{"app", "team"}}, "10.0.0.3")};
  for (int i = 0; i < 100; ++i)
    eps.push_back(pod("p" + std::to_string(i), "z", {{"app", "p" + std::to_string(i)}}, ("10.0.1." + std::to_string(i)).c_str()));
  for (bool deny_all_at_any : {false, true}) {
    Module m = rules(deny_all_at_any);
    bundle::MapContents c = contents_for(m, eps);
    uint32_t db = c.endpoint_identity[0];
    size_t db_ingress = 0;
    for (const auto* entries : {&c.policy, &c.policy_exact})
      for (const auto& [k, v] : *entries)
        if (k.local == db && k.dir == static_cast<uint8_t>(Direction::Ingress) && k.remote != abi::kIdentityAny) ++db_ingress;
    INFO("a deciding (L, ANY) entry: " << deny_all_at_any << ", db's (L, R) ingress entries: " << db_ingress);
    if (deny_all_at_any) CHECK(db_ingress > eps.size());  // every remote keeps its cells: ANY would decide
    else CHECK(db_ingress < 40);                          // web's allow and team's tcp/22 deny cells only
    bundle::DatapathPlan plan = bundle::plan_datapath(m);
    require_loadable(c, plan);
    for (size_t s = 0; s < eps.size(); ++s)
      for (size_t d = 0; d < eps.size(); ++d)
        for (auto [proto, port] : {std::pair{Protocol::TCP, uint16_t{22}}, std::pair{Protocol::TCP, uint16_t{80}},
                                   std::pair{Protocol::UDP, uint16_t{53}}}) {
          auto model = test::model_connection(c, plan, eps, s, d, proto, port);
          REQUIRE(model);
          INFO(eps[s].name << " -> " << eps[d].name << " " << to_string(proto) << "/" << port);
          CHECK(*model == evaluate(m, Flow{&eps[s], &eps[d], proto, port}).allowed);
        }
  }
}

TEST_CASE("map contents: nodes peers tell nodes apart by their labels == interpreter", "[backend][differential][anp]") {
  // AdminNetworkPolicy `nodes` peers: remote nodes (and the host) with different labels need
  // identities of their own, or one REMOTE_NODE entry would decide for nodes the selector
  // tells apart.
  uint64_t base = test::differential_seed();
  size_t flows = 0, to_nodes = 0;
  for (uint64_t round = 0; round < 300; ++round) {
    uint64_t seed = base + 9000 + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(gen.pick(6), gen.pick(4));
    gen.add_tiers(m, 2 + gen.pick(6), gen.pick(4));
    gen.add_node_peers(m, 0.7);
    std::vector<Endpoint> eps = test::datapath_endpoints(gen, m, 14);
    gen.add_node_labels(eps);
    std::vector<size_t> nodes;
    for (size_t i = 0; i < eps.size(); ++i)
      if (eps[i].kind == EndpointKind::Host || eps[i].kind == EndpointKind::RemoteNode) nodes.push_back(i);
    bundle::DatapathPlan plan = bundle::plan_datapath(m);
    bundle::MapContents c = contents_for(m, eps);
    require_loadable(c, plan);
    for (int i = 0; i < 60; ++i) {
      size_t s = gen.pick(eps.size());
      size_t d = !nodes.empty() && gen.chance(0.6) ? nodes[gen.pick(nodes.size())] : gen.pick(eps.size());
      auto [proto, port] = gen.proto_port(m, eps[d]);
      auto model = test::model_connection(c, plan, eps, s, d, proto, port);
      if (!model) continue;
      Verdict v = evaluate(m, Flow{&eps[s], &eps[d], proto, port});
      INFO("MOAT_SEED=" << seed - 9000 << " (round base + 9000) flow " << eps[s].name << " -> " << eps[d].name << " "
                        << to_string(proto) << "/" << port);
      REQUIRE(*model == v.allowed);
      ++flows;
      to_nodes += eps[s].kind == EndpointKind::Workload &&
                  (eps[d].kind == EndpointKind::Host || eps[d].kind == EndpointKind::RemoteNode);
    }
  }
  CHECK(flows > 5000);
  CHECK(to_nodes > 1000);
}

TEST_CASE("map contents: remote nodes get identities per node label set, and the host stays this node's",
          "[backend][anp]") {
  Module m;
  Rule r;
  r.tier = Tier::Admin;
  r.dir = Direction::Egress;
  r.action = Action::Deny;
  r.peer.kind = Peer::Kind::Nodes;
  r.peer.nodes.reqs.push_back({"zone", LabelRequirement::Op::In, {"a"}, {}});
  m.admin_rules.push_back(r);
  auto node = [](const char* name, EndpointKind k, Labels l, const char* ip) {
    Endpoint e;
    e.name = name;
    e.kind = k;
    e.labels = std::move(l);
    e.ips = {*IpAddr::parse(ip)};
    return e;
  };
  std::vector<Endpoint> eps = {pod("x/c", "x", {{"app", "c"}}, "10.0.0.10"),
                               node("host", EndpointKind::Host, {{"zone", "a"}, {"os", "linux"}}, "10.9.0.1"),
                               node("n-a", EndpointKind::RemoteNode, {{"zone", "a"}, {"os", "linux"}}, "10.9.0.2"),
                               node("n-a2", EndpointKind::RemoteNode, {{"zone", "a"}, {"os", "bsd"}}, "10.9.0.3"),
                               node("n-b", EndpointKind::RemoteNode, {{"zone", "b"}}, "10.9.0.4"),
                               node("n-none", EndpointKind::RemoteNode, {{"os", "linux"}}, "10.9.0.5")};
  bundle::MapContents c = contents_for(m, eps);
  const std::vector<uint32_t>& id = c.endpoint_identity;
  CHECK(id[2] == id[3]);  // labels no nodes peer reads do not split identities
  CHECK(id[2] != id[4]);
  CHECK(id[4] != abi::kIdentityRemoteNode);
  CHECK(id[5] == abi::kIdentityRemoteNode);  // none of the keys: REMOTE_NODE as before
  CHECK(id[1] != abi::kIdentityHost);
  abi::IpcacheKey hk = bundle::ipcache_key(IpPrefix{*IpAddr::parse("10.9.0.1"), 32});
  bool marked = false;
  for (const auto& [key, v] : c.hosts)
    if (std::memcmp(&key, &hk, sizeof hk) == 0) marked = (v & abi::kIdentityNodeHost) != 0;
  CHECK(marked);  // the host's address still reaches its pods (kubelet probes)
  bundle::DatapathPlan plan = bundle::plan_datapath(m);
  for (size_t d = 1; d < eps.size(); ++d) {
    INFO("x/c -> " << eps[d].name);
    bool want = evaluate(m, Flow{&eps[0], &eps[d], Protocol::TCP, 22}).allowed;
    CHECK(want == (d >= 4));  // zone a (the local host included) is denied
    CHECK(*test::model_connection(c, plan, eps, 0, d, Protocol::TCP, 22) == want);
  }
  // The host to its pod: implicit, whatever the host's identity.
  CHECK(*test::model_connection(c, plan, eps, 1, 0, Protocol::TCP, 8080));
}
