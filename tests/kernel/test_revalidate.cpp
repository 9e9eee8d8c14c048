// Conntrack revalidation in the kernel: an entry recorded under an older policy epoch is
// judged again by the current maps — in the original direction with the normal lookup, for
// a reply with the lookup its connection's first packet got here — and either takes the
// current epoch or is deleted with a `revoked` drop event; an entry of the current epoch
// passes without any policy lookup. A zombie FQDN address (hosts entry marked
// abi::kIdentityZombie) keeps its identity for revalidation but not for new flows; one marked
// as the node's own (abi::kIdentityNodeHost) reaches the workload as HOST does. Every case
// runs on tc and on cgroup_skb.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>

#include "backend/bundle/datapath_abi.h"
#include "backend/bundle/plan.h"
#include "ir/interp.h"
#include "kernel_env.h"
#include "runtime/flow_runner.h"

using namespace moat;
using runtime::PacketSpec;
using runtime::Program;

namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

struct Hooks {
  Program egress, ingress;
  const char* name;
};
const Hooks kHooks[] = {{Program::TcEgress, Program::TcIngress, "tc"},
                        {Program::CgroupEgress, Program::CgroupIngress, "cgroup_skb"}};

/// a (10.0.0.1) is isolated both ways; it may open TCP 80, UDP 53 and ICMP echo to anything
/// outside the cluster (with `fqdn`: only to the name api.example.test) and accept TCP 22
/// from anyone. The peer is 198.51.100.1, an address learned for api.example.test.
struct Net {
  Module m;
  std::vector<Endpoint> eps;
  std::unique_ptr<runtime::KernelFlowRunner> runner;
  std::string error;

  explicit Net(bool fqdn = false) {
    EndpointSelector a;
    a.pods.reqs.push_back({"app", LabelRequirement::Op::In, {"a"}, {}});
    m.isolations.push_back({a, Direction::Ingress, "t", {}});
    m.isolations.push_back({a, Direction::Egress, "t", {}});
    Rule out;
    out.subject = a;
    out.dir = Direction::Egress;
    out.peer.kind = Peer::Kind::Cidr;
    out.peer.cidr = *IpPrefix::parse("0.0.0.0/0");
    if (fqdn) {
      out.peer.kind = Peer::Kind::Fqdn;
      out.peer.fqdn.value = "api.example.test";
    }
    out.ports = {{Protocol::TCP, 80, 80, "", {}}, {Protocol::UDP, 53, 53, "", {}}, {Protocol::ICMP, 8, 8, "", {}}};
    m.add_rule(out);
    Rule in;
    in.subject = a;
    in.dir = Direction::Ingress;
    in.ports = {{Protocol::TCP, 22, 22, "", {}}};
    m.add_rule(in);
    eps = {test::workload("x", "a", {{"app", "a"}}, "10.0.0.1"),
           test::external("fqdn:198.51.100.1", "198.51.100.1", {"api.example.test"})};
    runner = runtime::KernelFlowRunner::create(test::compile_for(m), m, eps, {}, error);
    INFO(error);
    REQUIRE(runner);
  }
  runtime::Datapath& dp() { return runner->datapath(); }

  /// a's packet to the peer (proto, dport), or the peer's to a when `inbound`.
  PacketSpec packet(uint8_t proto, uint16_t dport, uint8_t flags, bool inbound = false) {
    PacketSpec s;
    s.src = ip("10.0.0.1");
    s.dst = ip("198.51.100.1");
    s.proto = proto;
    s.sport = 40000;
    s.dport = dport;
    s.tcp_flags = flags;
    if (inbound) std::swap(s.src, s.dst);
    return s;
  }
  bool run(Program p, const PacketSpec& s) {
    auto r = runner->run(p, eps[0], s, error);
    INFO(error);
    REQUIRE(r);
    return r->passed;
  }
  void start_clean() {
    REQUIRE(dp().apply(runner->contents(), error));  // the policy as compiled
    REQUIRE(dp().flush_conntrack(error));
    drain_events();
  }
  uint32_t epoch() {
    auto e = dp().epoch();
    REQUIRE(e);
    return *e;
  }
  /// The peer's hosts entry with its identity and the flag bits `bits` (kIdentityZombie,
  /// kIdentityNodeHost), or none.
  void set_host_bits(uint32_t bits) {
    for (const auto& [k, id] : runner->contents().hosts) {
      if (id != runner->contents().endpoint_identity.at(1)) continue;
      uint32_t v = id | bits;
      REQUIRE(bpf_map_update_elem(dp().map_fd(abi::kMapHosts), &k, &v, BPF_ANY) == 0);
    }
  }
  void set_zombie(bool zombie) { set_host_bits(zombie ? abi::kIdentityZombie : 0); }
  /// A policy change: the epoch moves on.
  void bump() { REQUIRE(dp().set_epoch(epoch() + 1, error)); }
  /// The current policy no longer allows anything in direction `d` (a stays isolated).
  void revoke_policy(Direction d) {
    for (const auto& [k, v] : runner->contents().policy_exact)
      if (k.dir == static_cast<uint8_t>(d)) bpf_map_delete_elem(dp().map_fd(abi::kMapPolicyExact), &k);
    for (const auto& [k, v] : runner->contents().policy)
      if (k.dir == static_cast<uint8_t>(d)) bpf_map_delete_elem(dp().map_fd(abi::kMapPolicy), &k);
  }
  std::vector<std::pair<abi::FlowTuple, abi::ConntrackValue>> conntrack() {
    std::vector<std::pair<abi::FlowTuple, abi::ConntrackValue>> out;
    int fd = dp().map_fd(abi::kMapConntrack);
    abi::FlowTuple key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      abi::ConntrackValue v{};
      if (bpf_map_lookup_elem(fd, &next, &v) == 0) out.emplace_back(next, v);
      key = next;
      prev = &key;
    }
    return out;
  }
  std::vector<abi::DropEvent> drain_events() {
    std::vector<abi::DropEvent> out;
    dp().poll_events([&](const abi::DropEvent& e) { out.push_back(e); }, 0, error);
    return out;
  }
  uint64_t slot_packets(uint32_t special) {
    runtime::Counters c = dp().read_counters(error);
    return c.slots.at(m.rules.size() + special).packets;
  }
};

} // namespace

TEST_CASE("kernel revalidate: an entry of the current epoch passes without a policy lookup", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (const Hooks& h : kHooks) {
    INFO(h.name);
    n.start_clean();
    n.bump();
    REQUIRE(n.run(h.egress, n.packet(6, 80, runtime::kTcpSyn)));
    auto ct = n.conntrack();
    REQUIRE(ct.size() == 1);
    CHECK(ct[0].second.epoch == n.epoch());
    // The policy no longer allows a's egress, but nobody said the policy changed: the
    // connection's later packets and replies are not looked up.
    n.revoke_policy(Direction::Egress);
    uint64_t established = n.slot_packets(abi::kSpecialEstablished);
    CHECK(n.run(h.egress, n.packet(6, 80, runtime::kTcpAck)));
    CHECK(n.run(h.ingress, runtime::reply_of(n.packet(6, 80, runtime::kTcpAck))));
    CHECK(n.slot_packets(abi::kSpecialEstablished) == established + 2);
    // A new connection does get the lookup, and is denied.
    PacketSpec other = n.packet(6, 80, runtime::kTcpSyn);
    other.sport = 40001;
    CHECK_FALSE(n.run(h.egress, other));
  }
}

TEST_CASE("kernel revalidate: original direction after a policy change", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (const Hooks& h : kHooks)
    for (uint8_t proto : {6, 17}) {
      uint16_t port = proto == 6 ? 80 : 53;
      INFO(h.name << " proto " << int(proto));
      n.start_clean();
      REQUIRE(n.run(h.egress, n.packet(proto, port, runtime::kTcpSyn)));
      uint32_t opened = n.epoch();

      // Still allowed by the new policy: passes, and the entry takes the new epoch.
      n.bump();
      CHECK(n.run(h.egress, n.packet(proto, port, runtime::kTcpAck)));
      auto ct = n.conntrack();
      REQUIRE(ct.size() == 1);
      CHECK(ct[0].second.epoch == n.epoch());
      CHECK(ct[0].second.epoch != opened);
      CHECK(ct[0].second.rule == 0);  // the egress rule allows it now

      // Denied by the new policy: dropped, forgotten, and the event says why.
      n.revoke_policy(Direction::Egress);
      n.bump();
      n.drain_events();
      CHECK_FALSE(n.run(h.egress, n.packet(proto, port, runtime::kTcpAck)));
      CHECK(n.conntrack().empty());
      auto events = n.drain_events();
      REQUIRE(events.size() == 1);
      CHECK(events[0].reason == abi::kDropReasonRevoked);
      CHECK(events[0].rule == abi::kSpecialRuleBase + abi::kSpecialDefaultDeny);
      CHECK(events[0].dir == static_cast<uint8_t>(Direction::Egress));
      CHECK(events[0].isolation == 1);  // a's egress isolation fact
      CHECK(events[0].dport == port);
      // The next packet is a new flow: denied by the policy itself.
      CHECK_FALSE(n.run(h.egress, n.packet(proto, port, runtime::kTcpAck)));
      events = n.drain_events();
      REQUIRE(events.size() == 1);
      CHECK(events[0].reason == abi::kDropReasonVerdict);
    }
}

TEST_CASE("kernel revalidate: a reply is judged with its connection's first lookup", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (const Hooks& h : kHooks)
    for (bool outbound : {true, false}) {
      // Outbound: a opened TCP 80 to the peer; the reply arrives at a's ingress, where it
      // would be denied as a new flow (only TCP 22 comes in). Inbound: the peer opened TCP
      // 22 to a; a's reply leaves through its egress, which allows only 80 and 53.
      INFO(h.name << (outbound ? " outbound connection" : " inbound connection"));
      Direction opened_in = outbound ? Direction::Egress : Direction::Ingress;
      Program first_hook = outbound ? h.egress : h.ingress;
      Program reply_hook = outbound ? h.ingress : h.egress;
      PacketSpec syn = n.packet(6, outbound ? 80 : 22, runtime::kTcpSyn, !outbound);
      PacketSpec reply = runtime::reply_of(syn);
      reply.tcp_flags = runtime::kTcpSyn | runtime::kTcpAck;
      n.start_clean();
      REQUIRE(n.run(first_hook, syn));

      n.bump();
      CHECK(n.run(reply_hook, reply));
      auto ct = n.conntrack();
      REQUIRE(ct.size() == 1);
      CHECK(ct[0].first.dir == static_cast<uint8_t>(opened_in));
      CHECK(ct[0].second.epoch == n.epoch());

      // The direction the connection was opened in no longer allows it: the reply is dropped
      // as revoked, and the event names that direction's isolation.
      n.revoke_policy(opened_in);
      n.bump();
      n.drain_events();
      CHECK_FALSE(n.run(reply_hook, reply));
      CHECK(n.conntrack().empty());
      auto events = n.drain_events();
      REQUIRE(events.size() == 1);
      CHECK(events[0].reason == abi::kDropReasonRevoked);
      CHECK(events[0].rule == abi::kSpecialRuleBase + abi::kSpecialDefaultDeny);
      CHECK(events[0].dir != static_cast<uint8_t>(opened_in));  // the reply's own direction
      CHECK(events[0].isolation == (outbound ? 1u : 0u));      // the judged direction's fact
    }
}

TEST_CASE("kernel revalidate: ICMP echo replies and entries from newer or older epochs", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n;
  for (const Hooks& h : kHooks) {
    INFO(h.name);
    // An entry recorded by a newer generation (this program is being replaced): trusted as
    // it is, even though this program's maps would deny it.
    n.start_clean();
    REQUIRE(n.run(h.egress, n.packet(17, 53, 0)));
    auto ct = n.conntrack();
    REQUIRE(ct.size() == 1);
    abi::ConntrackValue newer = ct[0].second;
    newer.epoch = n.epoch() + 5;
    REQUIRE(bpf_map_update_elem(n.dp().map_fd(abi::kMapConntrack), &ct[0].first, &newer, BPF_ANY) == 0);
    n.revoke_policy(Direction::Egress);
    CHECK(n.run(h.egress, n.packet(17, 53, 0)));
    CHECK(n.conntrack().at(0).second.epoch == newer.epoch);
    // An entry of an older moat (epoch 0, the old padding) is judged like any older one.
    abi::ConntrackValue old = ct[0].second;
    old.epoch = 0;
    REQUIRE(bpf_map_update_elem(n.dp().map_fd(abi::kMapConntrack), &ct[0].first, &old, BPF_ANY) == 0);
    REQUIRE(n.dp().set_epoch(7, n.error));
    CHECK_FALSE(n.run(h.egress, n.packet(17, 53, 0)));
    CHECK(n.conntrack().empty());

    // ICMP echo: the reply (type 0) finds its request (type 8, same identifier) and is judged
    // as that request was.
    n.start_clean();
    PacketSpec request = n.packet(1, 8, 0);
    REQUIRE(n.run(h.egress, request));
    n.bump();
    CHECK(n.run(h.ingress, runtime::reply_of(request)));
    CHECK(n.conntrack().at(0).second.epoch == n.epoch());
    n.revoke_policy(Direction::Egress);
    n.bump();
    n.drain_events();
    CHECK_FALSE(n.run(h.ingress, runtime::reply_of(request)));
    CHECK(n.conntrack().empty());
    auto events = n.drain_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == abi::kDropReasonRevoked);
  }
}

TEST_CASE("kernel revalidate: a zombie FQDN address keeps its connections, admits no new one", "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n(/*fqdn=*/true);
  REQUIRE(n.runner->contents().hosts.size() == 2);  // a and the learned address
  for (const Hooks& h : kHooks) {
    INFO(h.name);
    n.start_clean();
    REQUIRE(n.run(h.egress, n.packet(6, 80, runtime::kTcpSyn)));  // a live answer: allowed
    // The name expires while the connection lives: the agent marks the address a zombie,
    // which changes the maps, hence the epoch.
    n.set_zombie(true);
    n.bump();
    // The connection's packets are judged again with the address's identity: still allowed.
    CHECK(n.run(h.egress, n.packet(6, 80, runtime::kTcpAck)));
    CHECK(n.run(h.ingress, runtime::reply_of(n.packet(6, 80, runtime::kTcpAck))));
    CHECK(n.conntrack().at(0).second.epoch == n.epoch());
    // A new connection to the same address and port needs a live answer: it is WORLD now.
    PacketSpec other = n.packet(6, 80, runtime::kTcpSyn);
    other.sport = 40001;
    n.drain_events();
    CHECK_FALSE(n.run(h.egress, other));
    auto events = n.drain_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == abi::kDropReasonVerdict);
    CHECK(events[0].remote == abi::kIdentityWorld);
    // The agent's activity probe (an older epoch stamped on the entry) and a policy change
    // still judge the connection again; it survives both while the policy allows the name.
    n.bump();
    CHECK(n.run(h.egress, n.packet(6, 80, runtime::kTcpAck)));
    // ... and is revoked once the policy no longer allows it.
    n.revoke_policy(Direction::Egress);
    n.bump();
    n.drain_events();
    CHECK_FALSE(n.run(h.egress, n.packet(6, 80, runtime::kTcpAck)));
    CHECK(n.conntrack().empty());
    events = n.drain_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == abi::kDropReasonRevoked);
    // A live answer again: new connections are allowed again.
    n.set_zombie(false);
    REQUIRE(n.dp().apply(n.runner->contents(), n.error));
    n.bump();
    CHECK(n.run(h.egress, other));
  }
}

TEST_CASE("kernel revalidate: an AdminNetworkPolicy Deny loaded later cuts an established connection",
          "[kernel][anp]") {
  MOAT_REQUIRE_KERNEL();
  // Before: x/a may open TCP 80 to y/b (b is ingress-isolated, a NetworkPolicy-like allow).
  // After: the same, plus an admin Deny of a's egress to namespace y — the admin tier comes
  // first, so the open connection must be cut at its next packet and at its replies.
  EndpointSelector a, b;
  a.pods.reqs.push_back({"app", LabelRequirement::Op::In, {"a"}, {}});
  b.pods.reqs.push_back({"app", LabelRequirement::Op::In, {"b"}, {}});
  Module before;
  before.isolations.push_back({b, Direction::Ingress, "t", {}});
  Rule allow;
  allow.subject = b;
  allow.dir = Direction::Ingress;
  allow.peer.kind = Peer::Kind::Endpoints;
  allow.peer.endpoints = a;
  allow.ports = {{Protocol::TCP, 80, 80, "", {}}};
  before.add_rule(allow);
  Module after = before;
  Rule deny;
  deny.tier = Tier::Admin;
  deny.subject = a;
  deny.dir = Direction::Egress;
  deny.action = Action::Deny;
  deny.peer.kind = Peer::Kind::Endpoints;
  deny.peer.endpoints.namespaces.reqs.push_back({kNamespaceNameLabel, LabelRequirement::Op::In, {"y"}, {}});
  after.admin_rules.push_back(deny);

  std::vector<Endpoint> eps = {test::workload("x", "a", {{"app", "a"}}, "10.0.0.1"),
                               test::workload("y", "b", {{"app", "b"}}, "10.0.0.2")};
  std::string error;
  auto runner = runtime::KernelFlowRunner::create(test::compile_for(after), before, eps, {}, error);
  INFO(error);
  REQUIRE(runner);
  PacketSpec syn;
  syn.src = ip("10.0.0.1");
  syn.dst = ip("10.0.0.2");
  syn.proto = 6;
  syn.sport = 40000;
  syn.dport = 80;
  syn.tcp_flags = runtime::kTcpSyn;
  PacketSpec ack = syn;
  ack.tcp_flags = runtime::kTcpAck;
  auto run = [&](Program p, size_t local, const PacketSpec& s) {
    auto r = runner->run(p, eps[local], s, error);
    INFO(error);
    REQUIRE(r);
    return r->passed;
  };
  for (const Hooks& h : kHooks) {
    INFO(h.name);
    REQUIRE(runner->reload(before, error));
    REQUIRE(runner->datapath().flush_conntrack(error));
    // The connection opens under the old policy: a's egress (open) and b's ingress (allowed).
    REQUIRE(run(h.egress, 0, syn));
    REQUIRE(run(h.ingress, 1, syn));
    REQUIRE(run(h.egress, 0, ack));
    // The reload brings the admin Deny: the next packet at a's egress is revoked, with the
    // admin rule (datapath id: after the Policy tier's) named in the event.
    runner->datapath().poll_events([&](const abi::DropEvent&) {}, 0, error);
    REQUIRE(runner->reload(after, error));
    std::vector<abi::DropEvent> events;
    CHECK_FALSE(run(h.egress, 0, ack));
    runner->datapath().poll_events([&](const abi::DropEvent& e) { events.push_back(e); }, 0, error);
    REQUIRE(events.size() == 1);
    CHECK(events[0].reason == abi::kDropReasonRevoked);
    CHECK(events[0].rule == bundle::datapath_rule(after, Tier::Admin, 0));
    // And a new connection is denied by the admin tier at once.
    PacketSpec other = syn;
    other.sport = 40001;
    CHECK_FALSE(run(h.egress, 0, other));
    // b's ingress still admits a's port 80 (the deny is a's egress): the interpreter agrees.
    Verdict v = evaluate(after, Flow{&eps[0], &eps[1], Protocol::TCP, 80});
    CHECK_FALSE(v.allowed);
    CHECK(v.egress.why == Decision::Why::AdminDenied);
  }
}

// Not a revalidation: the hosts entry's node-host bit on a new flow, in the same setting.
TEST_CASE("kernel: an address marked as one of the node's own reaches an isolated workload (ingress only)",
          "[kernel]") {
  MOAT_REQUIRE_KERNEL();
  Net n(/*fqdn=*/true);
  for (const Hooks& h : kHooks) {
    INFO(h.name);
    n.start_clean();
    PacketSpec in = n.packet(6, 23, runtime::kTcpSyn, /*inbound=*/true);  // a accepts TCP 22 only
    CHECK_FALSE(n.run(h.ingress, in));
    // A `networks` peer gave one of the node's addresses an identity of its own: the node
    // still reaches its workloads (kubelet probes), as from HOST.
    n.set_host_bits(abi::kIdentityNodeHost);
    CHECK(n.run(h.ingress, in));
    // What the workload sends to that address is judged by policy: a may open TCP 80 only.
    CHECK(n.run(h.egress, n.packet(6, 80, runtime::kTcpSyn)));
    CHECK_FALSE(n.run(h.egress, n.packet(6, 81, runtime::kTcpSyn)));
  }
}
