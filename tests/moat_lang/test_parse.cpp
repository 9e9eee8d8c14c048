// Every construct of the moat language parses and lands in the IR with the right shape.
#include <catch2/catch.hpp>

#include "ir/printer.h"
#include "tests/moat_lang/moat_lang_helpers.h"

using namespace moat;
using moat::test::diag_lines;
using moat::test::parse;

namespace {
const NamedSelector* workload(const Module& m, const std::string& ns, const std::string& name) {
  for (const NamedSelector& w : m.workloads)
    if (w.ns == ns && w.name == name) return &w;
  return nullptr;
}
const NamedPeer* peer(const Module& m, const std::string& ns, const std::string& name) {
  for (const NamedPeer& p : m.peers)
    if (p.ns == ns && p.name == name) return &p;
  return nullptr;
}
} // namespace

TEST_CASE("selectors: equality, in, notin, exists, not exists, quoted values, dotted keys") {
  auto p = parse(R"(namespace ns-1 {
  workload w = { app: web, tier in [b, a, b], env notin [dev], app.kubernetes.io/name, !legacy, v: "1.0" };
})");
  REQUIRE(diag_lines(*p) == "");
  const NamedSelector* w = workload(p->module, "ns-1", "w");
  REQUIRE(w);
  CHECK(print_endpoint_selector(w->selector) ==
        "ns{kubernetes.io/metadata.name: ns-1} pod{app: web, tier in [a, b], env notin [dev], "
        "app.kubernetes.io/name, !legacy, v: 1.0}");
  CHECK(w->selector.pods.reqs[0].range.line == 2);
  CHECK(w->selector.pods.reqs[0].range.col == 18);
}

TEST_CASE("peer forms: cidr with except (v4 and v6), entities, fqdn names and patterns, dns") {
  auto p = parse(R"(namespace a {
  peer lb = cidr 10.0.0.0/16 except 10.0.128.0/17, 10.0.64.0/18;
  peer v6 = cidr fd00::/8 except fd00:1::/32;
  peer host1 = cidr 192.168.1.7;
  peer w = world;
  peer c = cluster;
  peer h = host;
  peer rn = remote-node;
  peer api = kube-apiserver;
  peer everything = all;
  peer s3 = fqdn "*.S3.*.amazonaws.com.";
  peer exact = fqdn "api.example.com";
  peer resolver = dns;
})");
  REQUIRE(diag_lines(*p) == "");
  CHECK(print_peer(peer(p->module, "a", "lb")->peer) == "cidr 10.0.0.0/16 except 10.0.128.0/17, 10.0.64.0/18");
  CHECK(print_peer(peer(p->module, "a", "v6")->peer) == "cidr fd00::/8 except fd00:1::/32");
  CHECK(print_peer(peer(p->module, "a", "host1")->peer) == "cidr 192.168.1.7/32");
  CHECK(peer(p->module, "a", "w")->peer.entity == Entity::World);
  CHECK(peer(p->module, "a", "c")->peer.entity == Entity::Cluster);
  CHECK(peer(p->module, "a", "h")->peer.entity == Entity::Host);
  CHECK(peer(p->module, "a", "rn")->peer.entity == Entity::RemoteNode);
  CHECK(peer(p->module, "a", "api")->peer.entity == Entity::KubeApiserver);
  CHECK(peer(p->module, "a", "everything")->peer.entity == Entity::All);
  const FqdnMatch& s3 = peer(p->module, "a", "s3")->peer.fqdn;
  CHECK(s3.pattern);
  CHECK(s3.value == "*.s3.*.amazonaws.com");  // lower-cased, trailing dot removed
  CHECK_FALSE(peer(p->module, "a", "exact")->peer.fqdn.pattern);
  CHECK(print_peer(peer(p->module, "a", "resolver")->peer) ==
        "endpoints ns{kubernetes.io/metadata.name: kube-system} pod{k8s-app: kube-dns}");
}

TEST_CASE("workload forms: *, ns/{...}, namespace {labels}/{...}, namespace NAME, references") {
  auto p = parse(R"(namespace a {
  workload all-here = *;
  workload there = b/{ app: x };
  workload ml = namespace { team: ml }/{ app: y };
  workload ml-all = namespace { team: ml };
  workload whole-b = namespace b;
  workload alias = b/db;
}
namespace b {
  workload db = { app: db };
})");
  REQUIRE(diag_lines(*p) == "");
  CHECK(print_endpoint_selector(workload(p->module, "a", "all-here")->selector) ==
        "ns{kubernetes.io/metadata.name: a} pod{}");
  CHECK(print_endpoint_selector(workload(p->module, "a", "there")->selector) ==
        "ns{kubernetes.io/metadata.name: b} pod{app: x}");
  CHECK(print_endpoint_selector(workload(p->module, "a", "ml")->selector) == "ns{team: ml} pod{app: y}");
  CHECK(print_endpoint_selector(workload(p->module, "a", "ml-all")->selector) == "ns{team: ml} pod{}");
  CHECK(print_endpoint_selector(workload(p->module, "a", "whole-b")->selector) ==
        "ns{kubernetes.io/metadata.name: b} pod{}");
  // A reference to a workload of another namespace keeps that namespace's scope.
  CHECK(print_endpoint_selector(workload(p->module, "a", "alias")->selector) ==
        "ns{kubernetes.io/metadata.name: b} pod{app: db}");
}

TEST_CASE("ports: single, range, several protocols, icmp type, sctp, named, any, bare continuation") {
  auto p = parse(R"(namespace a {
  workload x = { app: x };
  allow x -> x on tcp 443;
  allow x -> x on tcp 29400..29600;
  allow x -> x on udp 53, tcp 53;
  allow x -> x on icmp 8;
  allow x -> x on sctp 9;
  allow x -> x on tcp http;
  allow x -> x on any 80;
  allow x -> x on tcp 80, 443, udp 5000..5010;
  allow x -> x on TCP;
  allow x -> x on icmpv6;
})");
  REQUIRE(diag_lines(*p) == "");
  std::vector<std::string> ports;
  for (const Rule& r : p->module.rules)
    if (r.dir == Direction::Egress) ports.push_back(print_ports(r.ports));
  CHECK(ports == std::vector<std::string>{"tcp 443", "tcp 29400..29600", "udp 53, tcp 53", "icmp 8", "sctp 9",
                                          "tcp http", "any 80", "tcp 80, tcp 443, udp 5000..5010", "tcp 0..65535",
                                          "icmpv6 0..255"});
}

TEST_CASE("default deny in both directions or one, namespace labels are recorded") {
  auto p = parse(R"(namespace a { default deny; label team = ml; }
namespace b { default deny ingress; }
namespace c { default deny egress; })");
  REQUIRE(diag_lines(*p) == "");
  REQUIRE(p->module.isolations.size() == 4);
  CHECK(p->module.isolations[0].dir == Direction::Ingress);
  CHECK(p->module.isolations[1].dir == Direction::Egress);
  CHECK(print_endpoint_selector(p->module.isolations[0].subject) == "ns{kubernetes.io/metadata.name: a} pod{}");
  CHECK(p->module.isolations[2].dir == Direction::Ingress);
  CHECK(print_endpoint_selector(p->module.isolations[2].subject) == "ns{kubernetes.io/metadata.name: b} pod{}");
  CHECK(p->module.isolations[3].dir == Direction::Egress);
  CHECK(p->module.isolations[0].origin == "moat a");
  CHECK(p->module.namespaces.at("a") == Labels{{"kubernetes.io/metadata.name", "a"}, {"team", "ml"}});
  CHECK(p->module.namespaces.at("c") == Labels{{"kubernetes.io/metadata.name", "c"}});
}

TEST_CASE("nodepool: requirements, taints, startup taints, labels, limits, admits") {
  auto p = parse(R"(namespace kubeflow { workload training = { workload-type: training }; }
nodepool gpu {
  require node.kubernetes.io/instance-family in [g5, p4d, p5];
  require karpenter.sh/capacity-type notin [spot];
  require topology.kubernetes.io/zone;
  taint nvidia.com/gpu=true:NoSchedule;
  startup-taint moat.dev/agent-not-ready:NoExecute;
  label workload-type = gpu;
  limits { cpu: 500, memory: 2000Gi, nvidia.com/gpu: 100 }
  admits kubeflow/training, kubeflow/{ app: notebook };
})");
  REQUIRE(diag_lines(*p) == "");
  REQUIRE(p->module.pools.size() == 1);
  const NodePool& pool = p->module.pools[0];
  CHECK(pool.name == "gpu");
  REQUIRE(pool.requirements.size() == 3);
  CHECK(pool.requirements[0].key == "node.kubernetes.io/instance-family");
  CHECK(pool.requirements[0].values == std::vector<std::string>{"g5", "p4d", "p5"});
  CHECK(pool.requirements[1].op == LabelRequirement::Op::NotIn);
  CHECK(pool.requirements[2].op == LabelRequirement::Op::Exists);
  REQUIRE(pool.taints.size() == 1);
  CHECK(pool.taints[0].key == "nvidia.com/gpu");
  CHECK(pool.taints[0].value == "true");
  CHECK(pool.taints[0].effect == "NoSchedule");
  REQUIRE(pool.startup_taints.size() == 1);
  CHECK(pool.startup_taints[0].key == "moat.dev/agent-not-ready");
  CHECK(pool.startup_taints[0].value == "");
  CHECK(pool.startup_taints[0].effect == "NoExecute");
  CHECK(pool.labels == Labels{{"workload-type", "gpu"}});
  CHECK(pool.limits == std::map<std::string, std::string>{{"cpu", "500"}, {"memory", "2000Gi"}, {"nvidia.com/gpu", "100"}});
  REQUIRE(pool.admits.size() == 2);
  CHECK(print_endpoint_selector(pool.admits[0]) ==
        "ns{kubernetes.io/metadata.name: kubeflow} pod{workload-type: training}");
  CHECK(print_endpoint_selector(pool.admits[1]) == "ns{kubernetes.io/metadata.name: kubeflow} pod{app: notebook}");
}

TEST_CASE("prove statements of every kind keep their text and peers") {
  auto p = parse(R"(namespace k {
  workload t = { app: t };
  peer alb = cidr 10.0.0.0/16;
}
prove isolated namespace tenant-a, namespace tenant-b;
prove k/t reachable from k/alb on tcp 8080;
prove k/t egress within { dns, fqdn "*.amazonaws.com" on tcp 443, k/t };
prove k/t ingress within { k/alb on tcp 8080 };
prove nodepool gpu admits k/t;
)");
  REQUIRE(diag_lines(*p) == "");
  const auto& pr = p->module.proofs;
  REQUIRE(pr.size() == 5);
  CHECK(pr[0].kind == Prove::Kind::Isolated);
  CHECK(pr[0].subjects.size() == 2);
  CHECK(print_peer(pr[0].subjects[1]) == "endpoints ns{kubernetes.io/metadata.name: tenant-b} pod{}");
  CHECK(pr[0].text == "prove isolated namespace tenant-a, namespace tenant-b;");
  CHECK(pr[1].kind == Prove::Kind::Reachable);
  REQUIRE(pr[1].peers.size() == 1);
  CHECK(print_peer(pr[1].peers[0].peer) == "cidr 10.0.0.0/16");
  CHECK(print_ports(pr[1].peers[0].ports) == "tcp 8080");
  CHECK(pr[2].kind == Prove::Kind::EgressWithin);
  REQUIRE(pr[2].peers.size() == 3);
  CHECK(print_ports(pr[2].peers[0].ports) == "udp 53, tcp 53");  // dns brings its ports
  CHECK(print_peer(pr[2].peers[1].peer) == "fqdn pattern \"*.amazonaws.com\"");
  CHECK(print_ports(pr[2].peers[2].ports) == "all-ports");
  CHECK(pr[3].kind == Prove::Kind::IngressWithin);
  CHECK(pr[4].kind == Prove::Kind::PoolAdmits);
  CHECK(pr[4].pool == "gpu");
  CHECK(pr[4].range.line == 9);
}

TEST_CASE("expect: workload, IP and DNS-name ends become concrete endpoints") {
  auto p = parse(R"(namespace kubeflow {
  label team = ml;
  workload training = { workload-type: training, gpu, tier in [b, a], !legacy };
}
expect kubeflow/training -> "BKT.s3.us-east-1.amazonaws.com." on tcp 443: allow;
expect kubeflow/training -> 8.8.8.8 on udp 53: deny;
expect 2001:db8::1 -> kubeflow/training on icmp 8: deny;
expect host -> kubeflow/training on tcp 10250: allow;
)");
  REQUIRE(diag_lines(*p) == "");
  const auto& ex = p->module.expects;
  REQUIRE(ex.size() == 4);
  const Endpoint& t = ex[0].from;
  CHECK(t.kind == EndpointKind::Workload);
  CHECK(t.name == "kubeflow/training");
  CHECK(t.ns == "kubeflow");
  CHECK(t.ns_labels == Labels{{"kubernetes.io/metadata.name", "kubeflow"}, {"team", "ml"}});
  CHECK(t.labels == Labels{{"workload-type", "training"}, {"gpu", "x"}, {"tier", "a"}});
  const Endpoint& s3 = ex[0].to;
  CHECK(s3.kind == EndpointKind::External);
  CHECK(s3.dns_names == std::vector<std::string>{"bkt.s3.us-east-1.amazonaws.com"});
  REQUIRE(s3.ips.size() == 1);
  CHECK(IpPrefix::parse("198.18.0.0/15")->contains(s3.ips[0]));
  CHECK(ex[0].proto == Protocol::TCP);
  CHECK(ex[0].port == 443);
  CHECK(ex[0].allow);
  CHECK(ex[0].text == "expect kubeflow/training -> \"BKT.s3.us-east-1.amazonaws.com.\" on tcp 443: allow;");
  CHECK(ex[1].to.ips[0].str() == "8.8.8.8");
  CHECK(ex[1].proto == Protocol::UDP);
  CHECK_FALSE(ex[1].allow);
  CHECK(ex[2].from.ips[0].str() == "2001:db8::1");
  CHECK(ex[2].proto == Protocol::ICMP);
  CHECK(ex[2].port == 8);
  CHECK(ex[3].from.kind == EndpointKind::Host);
}

TEST_CASE("the same DNS name always gets the same synthetic address") {
  auto a = parse("expect 1.2.3.4 -> \"x.example.com\" on tcp 1: deny;");
  auto b = parse("expect 5.6.7.8 -> \"X.example.com.\" on tcp 2: allow;");
  REQUIRE(a->module.expects.size() == 1);
  REQUIRE(b->module.expects.size() == 1);
  CHECK(a->module.expects[0].to.ips == b->module.expects[0].to.ips);
}

TEST_CASE("keywords are ordinary words in label keys, values and namespace names, comments anywhere") {
  auto p = parse(R"(/* leading
   block comment */
namespace default { // the default namespace
  workload w = { host: all, deny: "tcp", in: on };  /* trailing */
  allow w -> default/{ namespace: x } on tcp 80;
})");
  REQUIRE(diag_lines(*p) == "");
  CHECK(print_endpoint_selector(p->module.workloads[0].selector) ==
        "ns{kubernetes.io/metadata.name: default} pod{host: all, deny: tcp, in: on}");
  CHECK(p->module.rules.size() == 2);
}
