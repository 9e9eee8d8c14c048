// The agent's pure parts: persisted state and status survive a JSON round trip (a restarted
// agent and `moat status` read what was written), and derive() turns the inputs into the
// endpoints and local attachments the node needs (host and remote-node addresses, the DNS
// proxy's addresses as the upstream, misfits enforced or dropped).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>

#include "runtime/agent/desired.h"
#include "runtime/agent/state.h"

using namespace moat;
using namespace moat::runtime;
using namespace moat::runtime::agent;

TEST_CASE("persisted state and status round-trip through JSON") {
  PersistedState p;
  p.generation = 7;
  p.bundle_sha = "abc";
  p.object = "gpu";
  p.node = "n1";
  p.highest_serial = 1700000200;  // replay protection: must survive a restart
  p.highest_serial_sha = "def";
  p.attach.push_back({"x/a", "veth1", 12, "", 0, true, ""});
  p.attach.push_back({"x/b", "", 0, "/sys/fs/cgroup/x", 4242, false, "cgroup missing"});
  auto q = persisted_from_json(to_json(p));
  REQUIRE(q);
  CHECK(q->generation == 7);
  CHECK(q->object == "gpu");
  CHECK(q->highest_serial == 1700000200);
  CHECK(q->highest_serial_sha == "def");
  REQUIRE(q->attach.size() == 2);
  CHECK(q->attach[0].ifindex == 12);
  CHECK(q->attach[1].cgroup_id == 4242);
  CHECK(q->attach[1].problem == "cgroup missing");
  CHECK_FALSE(persisted_from_json("not json"));
  CHECK_FALSE(persisted_from_json("{\"generation\": \"seven\"}"));

  Status s;
  s.ready = true;
  s.node = "n1";
  s.pool = "gpu";
  s.startup_taint = "moat.dev/agent-not-ready:NoExecute";
  s.generation = 3;
  s.policy = 99;
  s.misfits.push_back({"x/c", {"does not tolerate pool taint a:NoSchedule"}, false});
  s.errors = {"bundle: gone"};
  s.dns_hold_ms_avg = 0.25;
  s.bundle_serial = 1700000200;
  s.bundle_not_after = 1800000000;
  s.highest_serial = 1700000300;
  s.refused_bundles = 2;
  auto t = status_from_json(to_json(s));
  REQUIRE(t);
  CHECK(t->ready);
  CHECK(t->startup_taint == s.startup_taint);
  CHECK(t->policy == 99);
  REQUIRE(t->misfits.size() == 1);
  CHECK_FALSE(t->misfits[0].enforced);
  CHECK(t->errors == s.errors);
  CHECK(t->dns_hold_ms_avg == Approx(0.25));
  CHECK(t->bundle_serial == 1700000200);
  CHECK(t->bundle_not_after == 1800000000);
  CHECK(t->highest_serial == 1700000300);
  CHECK(t->refused_bundles == 2);
}

TEST_CASE("status files are replaced atomically") {
  std::string dir = "/tmp/moat-test-state-" + std::to_string(getpid());
  REQUIRE(system(("mkdir -p " + dir).c_str()) == 0);
  std::string err;
  REQUIRE(write_file_atomic(dir + "/s.json", "one", err));
  REQUIRE(write_file_atomic(dir + "/s.json", "two", err));
  CHECK(*read_file(dir + "/s.json") == "two");
  CHECK_FALSE(write_file_atomic("/nonexistent-dir/s.json", "x", err));
  CHECK_FALSE(err.empty());
  CHECK(system(("rm -rf " + dir).c_str()) == 0);
}

namespace {

KubePod pod(std::string ns, std::string name, std::string node, const char* ip) {
  KubePod p;
  p.ep.name = ns + "/" + name;
  p.ep.ns = ns;
  p.ep.ns_labels = {{kNamespaceNameLabel, ns}};
  p.ep.node = std::move(node);
  p.ep.ips = {*IpAddr::parse(ip)};
  return p;
}

/// A node with one address and nothing else.
KubeNode node_n1() {
  KubeNode n;
  n.name = "n1";
  n.addresses = {*IpAddr::parse("10.0.0.1")};
  return n;
}

} // namespace

TEST_CASE("derive: endpoints, local attachments, host, remote nodes, DNS proxy, misfits") {
  bundle::Manifest m;
  bundle::PoolEntry pool;
  pool.name = "gpu";
  pool.object = "default";
  pool.taints.push_back({"nvidia.com/gpu", "true", "NoSchedule", {}});
  pool.startup_taints.push_back({"moat.dev/agent-not-ready", "", "NoExecute", {}});
  m.pools.push_back(pool);

  KubeNode node;
  node.name = "n1";
  node.labels[kNodePoolLabel] = "gpu";
  node.addresses = {*IpAddr::parse("10.0.0.1")};
  node.taints.push_back({"moat.dev/agent-not-ready", "", "NoExecute", {}});
  KubeNode other;
  other.name = "n2";
  other.addresses = {*IpAddr::parse("10.0.0.2")};

  Inventory inv;
  inv.nodes = {node, other};
  KubePod gpu = pod("ml", "trainer", "n1", "10.1.0.1");
  gpu.ep.sched.tolerations.push_back({"nvidia.com/gpu", "", "", true});
  KubePod stray = pod("ml", "stray", "n1", "10.1.0.2");  // tolerates nothing
  KubePod ghost = pod("ml", "ghost", "n1", "10.1.0.3");
  ghost.ep.sched.tolerations.push_back({"", "", "", true});
  KubePod dns = pod("kube-system", "coredns", "n2", "10.2.0.10");
  inv.pods = {gpu, stray, ghost, dns};
  // Attach points as runtime/attach found them: ghost's could not be found.
  std::vector<attach::PodAttach> found(3);
  found[0] = {&inv.pods[0], "veth-t", 7, "", 0, ""};
  found[1] = {&inv.pods[1], "", 0, "/sys/fs/cgroup/kubepods.slice/x", 42, ""};
  found[2] = {&inv.pods[2], "", 0, "", 0, "route to 10.1.0.3: none"};

  ProxyAddresses proxy;
  proxy.listen = {*IpAddr::parse("169.254.20.10")};
  proxy.upstream = *IpAddr::parse("10.2.0.10");
  Endpoint learned;
  learned.kind = EndpointKind::External;
  learned.name = "fqdn:10.9.9.9";
  learned.ips = {*IpAddr::parse("10.9.9.9")};
  learned.dns_names = {"api.example.test"};

  Diagnostics diags;
  Desired d = derive(m, node, inv, inventory::LiveAddresses(inv), found, {learned}, proxy, MisfitPolicy::Enforce, diags);
  REQUIRE(d.plan.pool);
  CHECK(d.startup_taint == "moat.dev/agent-not-ready:NoExecute");
  CHECK(d.node_has_startup_taint);
  // 4 workloads + host + remote node + learned address.
  REQUIRE(d.endpoints.size() == 7);
  CHECK(d.endpoints[3]->ips.size() == 2);  // coredns answers on the proxy address too
  CHECK(d.endpoints[3]->ips[1].str() == "169.254.20.10");
  CHECK(d.endpoints[4]->kind == EndpointKind::Host);
  CHECK(d.endpoints[4]->ips[0].str() == "10.0.0.1");
  CHECK(d.endpoints[5]->kind == EndpointKind::RemoteNode);
  CHECK(d.endpoints[6]->dns_names[0] == "api.example.test");
  // trainer on its interface, stray on its cgroup; ghost's attach point was not found: it
  // keeps a record (with the problem, so the node is not ready) and no endpoint entry.
  REQUIRE(d.attach.size() == 3);
  CHECK(d.attach[0].ifindex == 7);
  CHECK(d.attach[0].iface == "veth-t");
  CHECK(d.attach[1].cgroup_id == 42);
  CHECK(d.attach[2].ifindex == 0);
  CHECK(d.attach[2].problem == "route to 10.1.0.3: none");
  REQUIRE(d.locals.size() == 2);
  CHECK(d.locals[0].ifindex == 7);
  CHECK(d.locals[1].cgroup_id == 42);
  REQUIRE(d.misfits.size() == 1);
  CHECK(d.misfits[0].pod == "ml/stray");
  CHECK(d.misfits[0].enforced);

  Diagnostics d2;
  Desired dropped = derive(m, node, inv, inventory::LiveAddresses(inv), found, {}, proxy, MisfitPolicy::Drop, d2);
  CHECK(dropped.locals.size() == 1);  // the misfit is left out of the endpoint map
  CHECK(dropped.attach.size() == 3);  // but its traffic still meets the dispatcher
  CHECK_FALSE(dropped.misfits[0].enforced);
}

TEST_CASE("derive: a DNS proxy in front of the kube-dns ClusterIP answers as the kube-dns pods") {
  // The deploy/ set-ups: the proxy forwards to a Service address (kube-dns's ClusterIP, or
  // NodeLocal DNSCache's 169.254.20.10), which is no pod's address. `allow x -> dns` means
  // the kube-dns pods, so the proxy must carry their identity, not an external one.
  bundle::Manifest m;
  KubeNode node = node_n1();
  Inventory inv;
  inv.nodes = {node};
  KubePod client = pod("ml", "trainer", "n1", "10.1.0.1");
  KubePod impostor = pod("ml", "fake-dns", "n1", "10.1.0.2");  // the label, but not kube-system
  impostor.ep.labels = {{"k8s-app", "kube-dns"}};
  KubePod coredns = pod("kube-system", "coredns", "n2", "10.2.0.10");
  coredns.ep.labels = {{"k8s-app", "kube-dns"}};
  inv.pods = {client, impostor, coredns};

  ProxyAddresses proxy;
  proxy.listen = {*IpAddr::parse("169.254.20.10")};
  proxy.upstream = *IpAddr::parse("10.96.0.10");
  Diagnostics diags;
  Desired d = derive(m, node, inv, inventory::LiveAddresses(inv), {}, {}, proxy, MisfitPolicy::Enforce, diags);
  auto named = [&](const std::string& name) {
    auto it = std::find_if(d.endpoints.begin(), d.endpoints.end(), [&](const Endpoint* e) { return e->name == name; });
    return it == d.endpoints.end() ? nullptr : *it;
  };
  REQUIRE(named("kube-system/coredns"));
  CHECK(named("kube-system/coredns")->ips.size() == 2);
  CHECK(named("kube-system/coredns")->ips.back().str() == "169.254.20.10");
  CHECK(named("ml/fake-dns")->ips.size() == 1);
  CHECK_FALSE(named("dns-upstream:10.96.0.10"));  // no external endpoint for the proxy

  // No kube-dns pod in the inventory: the upstream is outside the cluster, as before.
  inv.pods = {client, impostor};
  Desired outside = derive(m, node, inv, inventory::LiveAddresses(inv), {}, {}, proxy, MisfitPolicy::Enforce, diags);
  CHECK(outside.endpoints.back()->name == "dns-upstream:10.96.0.10");
  CHECK(outside.endpoints.back()->ips.size() == 2);
}

TEST_CASE("derive: a terminating pod gives its old address to the live pod and needs no attach point") {
  // A drain in the kubelet's order: the CNI deleted old's veth and the IPAM gave its address
  // to fresh, while old's object still lingers with a deletionTimestamp. Listed first, old
  // would win the address (one identity per address, the first endpoint wins).
  bundle::Manifest m;
  KubeNode node = node_n1();
  Inventory inv;
  inv.nodes = {node};
  KubePod old = pod("back", "db-0", "n1", "10.1.0.2");
  old.terminating = true;
  KubePod fresh = pod("front", "cache", "n1", "10.1.0.2");
  KubePod leaving = pod("back", "db-1", "n2", "10.2.0.7");  // terminating elsewhere, address unclaimed
  leaving.terminating = true;
  inv.pods = {old, fresh, leaving};
  // find_attach_points leaves old out: its sandbox is gone.
  std::vector<attach::PodAttach> found(1);
  found[0] = {&inv.pods[1], "veth-c", 9, "", 0, ""};
  Diagnostics diags;
  Desired d = derive(m, node, inv, inventory::LiveAddresses(inv), found, {}, {}, MisfitPolicy::Enforce, diags);
  REQUIRE(d.endpoints.size() >= 3);
  CHECK(d.endpoints[0]->name == "back/db-0");
  CHECK(d.endpoints[0]->ips.empty());
  REQUIRE(d.endpoints[1]->ips.size() == 1);
  CHECK(d.endpoints[1]->ips[0].str() == "10.1.0.2");
  REQUIRE(d.endpoints[2]->ips.size() == 1);  // a terminating pod keeps what nobody else claims
  CHECK(d.endpoints[2]->ips[0].str() == "10.2.0.7");
  // A live pod's endpoint is the inventory's own (a cluster's endpoints are not copied on
  // every reconcile); the terminating ones, whose addresses are cut down, are not.
  CHECK(d.endpoints[1] == &inv.pods[1].ep);
  CHECK(d.endpoints[0] != &inv.pods[0].ep);
  REQUIRE(d.attach.size() == 1);  // no record for old: nothing to attach, no reason to be not ready
  CHECK(d.attach[0].pod == "front/cache");
  CHECK(d.attach[0].problem.empty());
  REQUIRE(d.locals.size() == 1);
  CHECK(d.locals[0].ifindex == 9);
}
