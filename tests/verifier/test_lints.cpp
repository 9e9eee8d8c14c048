// Solver lints (W5xx): each fires on the mistake it names, and stays quiet on the
// look-alike that is not one.
#include <catch2/catch.hpp>

#include <algorithm>

#include "verifier/verifier.h"

using namespace moat;

namespace {

LabelRequirement req(const std::string& k, LabelRequirement::Op op, std::vector<std::string> v = {}) {
  return LabelRequirement{k, op, std::move(v), {}};
}

EndpointSelector in_ns(const std::string& ns, std::vector<LabelRequirement> pods = {}) {
  EndpointSelector s;
  s.namespaces.reqs.push_back(req(kNamespaceNameLabel, LabelRequirement::Op::In, {ns}));
  s.pods.reqs = std::move(pods);
  return s;
}

Rule to_cidr(Action a, const std::string& cidr, std::vector<PortMatch> ports, SourceRange at) {
  Rule r;
  r.dir = Direction::Egress;
  r.action = a;
  r.subject = in_ns("x");
  r.peer.kind = Peer::Kind::Cidr;
  r.peer.cidr = *IpPrefix::parse(cidr);
  r.ports = std::move(ports);
  r.range = at;
  return r;
}

SourceRange line(uint32_t l) { return SourceRange::at(0, l, 1); }

Module isolated_x() {
  Module m;
  m.isolations.push_back(Isolation{in_ns("x"), Direction::Egress, "", line(1)});
  m.isolations.push_back(Isolation{in_ns("x"), Direction::Ingress, "", line(1)});
  return m;
}

std::vector<const Diagnostic*> with_code(const Diagnostics& d, Code c) {
  std::vector<const Diagnostic*> out;
  for (const Diagnostic& x : d.all())
    if (x.code == c) out.push_back(&x);
  return out;
}

Diagnostics lint(const Module& m, const std::vector<Endpoint>* inventory = nullptr) {
  Diagnostics d;
  VerifyOptions o;
  o.inventory = inventory;
  REQUIRE(run_solver_lints(m, o, d) == "");
  return d;
}

const PortMatch kTcp443{Protocol::TCP, 443, 443, "", {}};

} // namespace

TEST_CASE("W501: an allow that deny rules cover entirely, with a note at the deny") {
  Module m = isolated_x();
  m.add_rule(to_cidr(Action::Allow, "10.1.0.0/16", {kTcp443}, line(10)));
  m.add_rule(to_cidr(Action::Deny, "10.0.0.0/8", {}, line(11)));
  m.add_rule(to_cidr(Action::Allow, "8.8.8.0/24", {kTcp443}, line(12)));  // not covered
  Diagnostics d = lint(m);
  auto w = with_code(d, Code::W501);
  REQUIRE(w.size() == 1);
  CHECK(w[0]->range.line == 10);
  REQUIRE(w[0]->notes.size() == 1);
  CHECK(w[0]->notes[0].range.line == 11);
}

TEST_CASE("W502: allows covered by allows, denies covered by denies, a deny that repeats the default is kept") {
  Module m = isolated_x();
  m.add_rule(to_cidr(Action::Allow, "10.0.0.0/8", {kTcp443}, line(10)));
  m.add_rule(to_cidr(Action::Allow, "10.1.0.0/16", {kTcp443}, line(11)));  // inside the first
  m.add_rule(to_cidr(Action::Deny, "1.0.0.0/8", {}, line(12)));
  m.add_rule(to_cidr(Action::Deny, "1.2.0.0/16", {kTcp443}, line(13)));    // inside the deny above
  m.add_rule(to_cidr(Action::Deny, "9.9.9.9/32", {kTcp443}, line(14)));    // only the default deny: a guard
  Diagnostics d = lint(m);
  auto w = with_code(d, Code::W502);
  std::vector<uint32_t> lines;
  for (const Diagnostic* x : w) lines.push_back(x->range.line);
  std::sort(lines.begin(), lines.end());
  CHECK(lines == std::vector<uint32_t>{11, 13});
  CHECK(with_code(d, Code::W501).empty());
}

TEST_CASE("W503: contradictory selectors and selectors the declared namespace labels exclude") {
  Module m = isolated_x();
  m.namespaces["x"] = {{kNamespaceNameLabel, "x"}, {"team", "a"}};
  Rule r = to_cidr(Action::Allow, "10.0.0.0/8", {kTcp443}, line(10));
  r.subject = in_ns("x", {req("app", LabelRequirement::Op::In, {"web"}), req("app", LabelRequirement::Op::NotIn, {"web"})});
  m.add_rule(r);
  Rule s = to_cidr(Action::Allow, "10.0.0.0/8", {kTcp443}, line(11));
  s.subject.namespaces.reqs.push_back(req("team", LabelRequirement::Op::In, {"b"}));  // x is team a
  m.add_rule(s);
  Rule ok = to_cidr(Action::Allow, "10.0.0.0/8", {kTcp443}, line(12));
  ok.subject.namespaces.reqs.push_back(req("team", LabelRequirement::Op::In, {"a"}));
  m.add_rule(ok);
  Diagnostics d = lint(m);
  auto w = with_code(d, Code::W503);
  std::vector<uint32_t> lines;
  for (const Diagnostic* x : w) lines.push_back(x->range.line);
  std::sort(lines.begin(), lines.end());
  CHECK(lines == std::vector<uint32_t>{10, 11});
}

TEST_CASE("W503 in the inventory scope: a selector no inventory endpoint matches") {
  Module m = isolated_x();
  Rule r = to_cidr(Action::Allow, "10.0.0.0/8", {kTcp443}, line(10));
  r.subject = in_ns("x", {req("app", LabelRequirement::Op::In, {"ghost"})});
  m.add_rule(r);
  Endpoint e;
  e.name = "x/web";
  e.ns = "x";
  e.ns_labels = {{kNamespaceNameLabel, "x"}};
  e.labels = {{"app", "web"}};
  std::vector<Endpoint> inv = {e};
  Diagnostics every = lint(m);
  CHECK(with_code(every, Code::W503).empty());
  Diagnostics scoped = lint(m, &inv);
  auto w = with_code(scoped, Code::W503);
  REQUIRE(w.size() == 1);
  CHECK(w[0]->message.find("inventory") != std::string::npos);
}

TEST_CASE("W504: a namespace where only some workloads are isolated") {
  Module m;
  m.isolations.push_back(Isolation{in_ns("x", {req("app", LabelRequirement::Op::In, {"web"})}), Direction::Ingress, "", line(3)});
  m.isolations.push_back(Isolation{in_ns("y"), Direction::Ingress, "", line(4)});  // all of y
  Diagnostics d = lint(m);
  auto w = with_code(d, Code::W504);
  REQUIRE(w.size() == 1);
  CHECK(w[0]->range.line == 3);
  INFO(w[0]->message);
  CHECK(w[0]->message.find("namespace x") != std::string::npos);
}

TEST_CASE("W505/W506: GPU pools need a taint, GPU workloads need a pool that admits them") {
  Module m;
  NodePool gpu;
  gpu.name = "gpu";
  gpu.limits["nvidia.com/gpu"] = "8";
  gpu.range = line(20);
  gpu.admits.push_back(in_ns("ml", {req("app", LabelRequirement::Op::In, {"trainer"})}));
  NodePool family;
  family.name = "g5";
  family.requirements.push_back(req("node.kubernetes.io/instance-family", LabelRequirement::Op::In, {"g5", "p4d"}));
  family.taints.push_back(Taint{"nvidia.com/gpu", "true", "NoSchedule", {}});
  family.range = line(30);
  NodePool cpu;
  cpu.name = "cpu";
  cpu.limits["cpu"] = "100";
  cpu.range = line(40);
  m.pools = {gpu, family, cpu};
  Diagnostics pools = lint(m);
  auto w = with_code(pools, Code::W505);
  REQUIRE(w.size() == 1);
  CHECK(w[0]->range.line == 20);

  Endpoint trainer, stray;
  trainer.name = "ml/trainer";
  trainer.ns = "ml";
  trainer.ns_labels = {{kNamespaceNameLabel, "ml"}};
  trainer.labels = {{"app", "trainer"}};
  trainer.resources["nvidia.com/gpu"] = "1";
  stray = trainer;
  stray.name = "ml/stray";
  stray.labels = {{"app", "stray"}};
  stray.range = line(50);
  // Tolerates the g5 pool's taint: admitted there, although `gpu` does not list it.
  Endpoint tolerant = stray;
  tolerant.name = "ml/tolerant";
  tolerant.sched.tolerations.push_back(Toleration{"nvidia.com/gpu", "", "NoSchedule", true});
  // Tolerates, but asks for nodes no GPU pool launches.
  Endpoint picky = tolerant;
  picky.name = "ml/picky";
  picky.range = line(52);
  picky.sched.node_selector["node.kubernetes.io/instance-family"] = "c5";
  Endpoint cpu_only = stray;  // no GPU request: never W506
  cpu_only.name = "ml/cpu";
  cpu_only.resources = {{"cpu", "4"}};
  std::vector<Endpoint> inv = {trainer, stray, tolerant, picky, cpu_only};
  Diagnostics gpus = lint(m, &inv);
  auto g = with_code(gpus, Code::W506);
  REQUIRE(g.size() == 2);
  INFO(g[0]->message);
  CHECK(g[0]->message.find("ml/stray") != std::string::npos);
  CHECK(g[0]->message.find("nvidia.com/gpu: 1") != std::string::npos);
  CHECK(g[0]->range.line == 50);  // where the endpoint was defined
  // One note per GPU pool, with the first reason it refuses.
  REQUIRE(g[0]->notes.size() == 2);
  CHECK(g[0]->notes[0].range.line == 20);
  CHECK(g[0]->notes[0].message == "GPU pool 'gpu' does not admit it: not among the workloads the pool admits");
  CHECK(g[0]->notes[1].range.line == 30);
  CHECK(g[0]->notes[1].message ==
        "GPU pool 'g5' does not admit it: does not tolerate pool taint nvidia.com/gpu=true:NoSchedule");
  CHECK(g[1]->range.line == 52);
  CHECK(g[1]->notes.at(1).message ==
        "GPU pool 'g5' does not admit it: nodeSelector node.kubernetes.io/instance-family=c5 cannot be met");

  // Sources without node pools say nothing about provisioning: no W506 then.
  Module no_pools;
  CHECK(with_code(lint(no_pools, &inv), Code::W506).empty());
  // Pools but none with GPUs: every GPU workload is stuck.
  Module cpu_pools;
  cpu_pools.pools = {cpu};
  Diagnostics stuck = lint(cpu_pools, &inv);
  auto c = with_code(stuck, Code::W506);
  REQUIRE(c.size() == 4);
  CHECK(c[0]->message.find("no node pool provides GPUs") != std::string::npos);
}

TEST_CASE("prove nodepool P admits W over an inventory uses the scheduler's rules") {
  // In the inventory scope a workload must tolerate the pool's taints and select its nodes,
  // exactly as W506 and the agent decide; the every-endpoint scope reads `admits` only.
  Module m;
  NodePool gpu;
  gpu.name = "gpu";
  gpu.taints.push_back(Taint{"nvidia.com/gpu", "true", "NoSchedule", {}});
  gpu.admits.push_back(in_ns("ml"));
  m.pools = {gpu};
  Prove p;
  p.kind = Prove::Kind::PoolAdmits;
  p.pool = "gpu";
  Peer ml;
  ml.kind = Peer::Kind::Endpoints;
  ml.endpoints = in_ns("ml");
  p.subjects = {ml};
  m.proofs = {p};

  VerifyOptions every;
  ProofReport r = run_proofs(m, every);
  REQUIRE(r.results.size() == 1);
  CHECK(r.results[0].status == ProofStatus::Proved);  // `admits ml/*` covers every ml workload

  Endpoint ok;
  ok.name = "ml/ok";
  ok.ns = "ml";
  ok.ns_labels = {{kNamespaceNameLabel, "ml"}};
  ok.sched.tolerations.push_back(Toleration{"nvidia.com/gpu", "true", "", false});
  Endpoint other = ok;  // another namespace: not W
  other.name = "web/x";
  other.ns = "web";
  other.ns_labels = {{kNamespaceNameLabel, "web"}};
  other.sched.tolerations.clear();
  std::vector<Endpoint> inv = {ok, other};
  VerifyOptions scoped;
  scoped.inventory = &inv;
  r = run_proofs(m, scoped);
  CHECK(r.results.at(0).status == ProofStatus::Proved);

  Endpoint bare = ok;
  bare.name = "ml/bare";
  bare.sched.tolerations.clear();
  inv.push_back(bare);
  r = run_proofs(m, scoped);
  REQUIRE(r.results.at(0).status == ProofStatus::Failed);
  INFO(r.results[0].message);
  CHECK(r.results[0].message.find("ml/bare does not tolerate pool taint nvidia.com/gpu=true:NoSchedule") !=
        std::string::npos);
  REQUIRE(r.results[0].workload);
  CHECK(r.results[0].workload->name == "ml/bare");
}
