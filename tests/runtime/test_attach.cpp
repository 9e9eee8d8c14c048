// runtime/attach: kubepods path construction (both cgroup drivers, every QoS class, hostile
// UIDs), the pod-interface rules on made-up routing tables (CNI-shaped host routes accepted;
// uplinks, loopback, shared subnets, bridges, split dual-stack refused), the checks a
// test override still has to pass, and static pods' mirror UIDs (believed only from the
// kubelet's own mirror pods; forged annotations change nothing).
#include <catch2/catch.hpp>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "runtime/attach/attach_points.h"
#include "runtime/attach/kubepods.h"
#include "runtime/attach/pod_interface.h"
#include "runtime/attach/static_pods.h"
#include "runtime/loader.h"

using namespace moat;
using namespace moat::runtime;
using namespace moat::runtime::attach;

namespace {

const std::string kUid = "0f3c6a2e-5b1d-4c8e-9a7f-2d4e6b8c0a1f";

Route route(const char* prefix, int oif, uint8_t type = RTN_UNICAST, bool gateway = false) {
  Route r;
  r.dst = *IpPrefix::parse(prefix);
  r.oif = oif;
  r.type = type;
  r.table = RT_TABLE_MAIN;
  r.gateway = gateway;
  return r;
}

Link link(int ifindex, const char* name, const char* kind, unsigned flags = IFF_UP) {
  return Link{ifindex, name, flags, kind};
}

/// A node with an uplink eth0 (default route, connected /24), lo, Calico-style veths
/// (cali-a: one dual-stack pod; cali-b: two pods' host routes) and a bridge.
RoutingView node_view() {
  RoutingView v;
  v.links = {{1, link(1, "lo", "", IFF_UP | IFF_LOOPBACK)}, {2, link(2, "eth0", "")},
             {10, link(10, "cali-a", "veth")},          {11, link(11, "cali-b", "veth")},
             {12, link(12, "br0", "bridge")},           {13, link(13, "lxc-c", "veth")}};
  v.routes = {route("0.0.0.0/0", 2, RTN_UNICAST, true), route("10.0.0.0/24", 2), route("10.0.0.9/32", 2),
              route("127.0.0.0/8", 1, RTN_LOCAL),        route("10.3.0.1/32", 1),
              route("10.1.0.5/32", 10),                  route("fd00::5/128", 10), route("fe80::/64", 10),
              route("10.1.0.6/32", 11),                  route("10.1.0.7/32", 11),
              route("10.2.0.0/24", 12),                  route("10.2.0.8/32", 12),
              route("fd00::c/128", 13)};
  return v;
}

/// What the kernel's FIB lookup would answer for `addr` in `v` (longest prefix, main table).
AddressRoute lookup(const RoutingView& v, const char* addr) {
  AddressRoute out{*IpAddr::parse(addr), std::nullopt, {}};
  for (const Route& r : v.routes)
    if (r.dst.addr.v6 == out.addr.v6 && r.dst.contains(out.addr) && (!out.route || r.dst.len > out.route->dst.len))
      out.route = r;
  if (!out.route) out.lookup_error = std::string("no route to ") + addr;
  return out;
}

InterfaceChoice choose(const RoutingView& v, std::initializer_list<const char*> addrs) {
  std::vector<AddressRoute> l;
  for (const char* a : addrs) l.push_back(lookup(v, a));
  return choose_pod_interface(l, v);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("attach: pod UIDs that may become part of a path") {
  CHECK(valid_pod_uid(kUid));
  CHECK(valid_pod_uid("abc123"));
  CHECK_FALSE(valid_pod_uid(""));
  CHECK_FALSE(valid_pod_uid("../.."));
  CHECK_FALSE(valid_pod_uid("a/b"));
  CHECK_FALSE(valid_pod_uid("ABC"));
  CHECK_FALSE(valid_pod_uid("a_b"));
  CHECK_FALSE(valid_pod_uid(std::string(65, 'a')));
  CHECK(kubepods_candidates("/sys/fs/cgroup/kubepods.slice", "../../x").empty());
  CHECK(kubepods_candidates("", kUid).empty());
}

TEST_CASE("attach: kubepods paths for the systemd and cgroupfs drivers, every QoS class") {
  auto sd = kubepods_candidates("/sys/fs/cgroup/kubepods.slice/", kUid);
  REQUIRE(sd.size() == 3);
  CHECK(sd[0] == "/sys/fs/cgroup/kubepods.slice/kubepods-pod0f3c6a2e_5b1d_4c8e_9a7f_2d4e6b8c0a1f.slice");
  CHECK(sd[1] == "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/"
                 "kubepods-burstable-pod0f3c6a2e_5b1d_4c8e_9a7f_2d4e6b8c0a1f.slice");
  CHECK(sd[2] == "/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/"
                 "kubepods-besteffort-pod0f3c6a2e_5b1d_4c8e_9a7f_2d4e6b8c0a1f.slice");
  auto fs = kubepods_candidates("/sys/fs/cgroup/kubepods", kUid);
  REQUIRE(fs.size() == 3);
  CHECK(fs[0] == "/sys/fs/cgroup/kubepods/pod" + kUid);
  CHECK(fs[1] == "/sys/fs/cgroup/kubepods/burstable/pod" + kUid);
  CHECK(fs[2] == "/sys/fs/cgroup/kubepods/besteffort/pod" + kUid);
}

TEST_CASE("attach: finding a pod's cgroup refuses missing, ambiguous and escaping paths") {
  char tmpl[] = "/tmp/moat-kubepods-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string base = tmpl, root = base + "/kubepods";
  REQUIRE(mkdir(root.c_str(), 0755) == 0);
  CHECK(has(find_pod_cgroup("", kUid).problem, "no kubepods cgroup hierarchy"));
  CHECK(has(find_pod_cgroup(root, "").problem, "no metadata.uid"));
  CHECK(has(find_pod_cgroup(root, "../x").problem, "not a Kubernetes UID"));
  CHECK(has(find_pod_cgroup(root, kUid).problem, "no cgroup for pod UID"));
  // A QoS directory that is a symlink out of the hierarchy (to the root cgroup, say).
  REQUIRE(mkdir((base + "/elsewhere").c_str(), 0755) == 0);
  REQUIRE(mkdir((base + "/elsewhere/pod" + kUid).c_str(), 0755) == 0);
  REQUIRE(symlink((base + "/elsewhere").c_str(), (root + "/burstable").c_str()) == 0);
  PodCgroup escaped = find_pod_cgroup(root, kUid);
  CHECK(escaped.path.empty());
  CHECK(has(escaped.problem, "does not lie below"));
  // Two QoS classes at once: which one holds the pod's processes is unknown.
  REQUIRE(mkdir((root + "/besteffort").c_str(), 0755) == 0);
  REQUIRE(mkdir((root + "/besteffort/pod" + kUid).c_str(), 0755) == 0);
  CHECK(has(find_pod_cgroup(root, kUid).problem, "two QoS classes"));
  CHECK(system(("rm -rf " + base).c_str()) == 0);
}

TEST_CASE("attach: a CNI-shaped per-pod link is accepted, dual-stack on one interface") {
  RoutingView v = node_view();
  InterfaceChoice c = choose(v, {"10.1.0.5", "fd00::5"});
  CHECK(c.problem.empty());
  CHECK(c.ifindex == 10);
  CHECK(c.name == "cali-a");
  CHECK(choose(v, {"fd00::c"}).name == "lxc-c");
}

TEST_CASE("attach: interfaces that are not a pod's own are refused") {
  RoutingView v = node_view();
  // Routed by the connected subnet of the uplink: not a host route.
  CHECK(has(choose(v, {"10.0.0.77"}).problem, "not a host route"));
  // Off-node addresses follow the default route.
  CHECK(has(choose(v, {"192.0.2.1"}).problem, "not a host route"));
  // A host route pointing out of the uplink (someone claims eth0).
  InterfaceChoice up = choose(v, {"10.0.0.9"});
  CHECK(up.ifindex == 0);
  CHECK(has(up.problem, "uplink"));
  // Loopback: a local route is not unicast; a unicast host route via lo is loopback.
  CHECK(has(choose(v, {"127.0.0.5"}).problem, "not a unicast route"));
  CHECK(has(choose(v, {"10.3.0.1"}).problem, "loopback"));
  // One veth carrying two pods' host routes serves more than this pod.
  CHECK(has(choose(v, {"10.1.0.6"}).problem, "also routes 10.1.0.7/32"));
  // A bridge port is shared by construction.
  CHECK(has(choose(v, {"10.2.0.8"}).problem, "bridge device"));
  // Dual stack split over two links.
  CHECK(has(choose(v, {"10.1.0.5", "fd00::c"}).problem, "different interfaces"));
  // Through a gateway.
  v.routes.push_back(route("10.9.0.1/32", 10, RTN_UNICAST, true));
  CHECK(has(choose(v, {"10.9.0.1"}).problem, "gateway"));
  // No address yet, no route at all, an interface that vanished.
  CHECK(has(choose_pod_interface({}, v).problem, "no IP address yet"));
  AddressRoute none{*IpAddr::parse("10.1.0.5"), std::nullopt, "no route to 10.1.0.5: Network is unreachable"};
  CHECK(has(choose_pod_interface({none}, v).problem, "unreachable"));
  v.links.erase(10);
  CHECK(has(choose(v, {"10.1.0.5"}).problem, "does not exist"));
}

TEST_CASE("attach: never a pod's interface: loopback and default-route interfaces") {
  RoutingView v = node_view();
  CHECK(never_pod_interface(v.links.at(1), v.routes));
  CHECK(never_pod_interface(v.links.at(2), v.routes));
  CHECK_FALSE(never_pod_interface(v.links.at(10), v.routes));
  // A multipath default route makes every next hop an uplink.
  Route ecmp = route("::/0", 0, RTN_UNICAST, true);
  ecmp.nexthop_oifs = {10, 11};
  v.routes.push_back(ecmp);
  CHECK(never_pod_interface(v.links.at(11), v.routes));
}

TEST_CASE("attach: the test override still refuses loopback and the cgroup root") {
  Inventory inv;
  KubePod a, b, c;
  a.ep.name = "ns/a", b.ep.name = "ns/b", c.ep.name = "ns/c";
  a.ep.node = b.ep.node = c.ep.node = "n1";
  inv.pods = {a, b, c};
  AttachConfig cfg;
  std::string err;
  CHECK_FALSE(parse_override("a=lo", cfg, err));  // not NS/POD
  CHECK_FALSE(parse_override("ns/a", cfg, err));
  REQUIRE(parse_override("ns/a=lo", cfg, err));
  REQUIRE(parse_override("ns/b=" + cgroup2_mount(), cfg, err));
  REQUIRE(parse_override("ns/c=moat-no-such-if0", cfg, err));
  Diagnostics diags;
  KubeNode n1;
  n1.name = "n1";
  auto found = find_attach_points(n1, inv, inventory::LiveAddresses(inv), cfg, diags);
  REQUIRE(found.size() == 3);
  CHECK(has(found[0].problem, "loopback"));
  CHECK(found[0].ifindex == 0);
  CHECK(has(found[1].problem, "no pod's cgroup"));
  CHECK(found[1].cgroup_id == 0);
  CHECK(has(found[2].problem, "does not exist"));
  CHECK(diags.all().size() == 3);
  for (const auto& d : diags.all()) CHECK(d.code == Code::E810);
}

namespace {

KubePod pod_on(const char* name, const char* node, const std::string& uid) {
  KubePod p;
  p.ep.name = name;
  p.ep.node = node;
  p.uid = uid;
  return p;
}

/// The kubelet's mirror of a static pod: owned by the Node, annotated with its static UID.
KubePod mirror(const char* name, const std::string& uid, const std::string& mirror_of, const std::string& node_uid) {
  KubePod p = pod_on(name, "n1", uid);
  p.mirror_of = mirror_of;
  p.owner = KubeOwner{"Node", "n1", node_uid};
  return p;
}

/// A cgroupfs-driver kubepods hierarchy in real cgroup v2 directories (cgroup ids are only
/// given to cgroups), removed again at the end.
struct KubepodsFixture {
  std::string base, root;
  std::vector<std::string> made;
  bool ok = false;
  KubepodsFixture() {
    base = cgroup2_mount() + "/moat-test-static-" + std::to_string(getpid());
    root = base + "/kubepods";
    ok = mk(base) && mk(root) && mk(root + "/burstable");
  }
  bool mk(const std::string& p) {
    if (mkdir(p.c_str(), 0755) != 0) return false;
    made.push_back(p);
    return true;
  }
  std::string pod(const std::string& uid) {
    std::string p = root + "/burstable/pod" + uid;
    return mk(p) ? p : std::string();
  }
  ~KubepodsFixture() {
    for (auto it = made.rbegin(); it != made.rend(); ++it) rmdir(it->c_str());
  }
};

bool cgroups_or_skip(const KubepodsFixture& f) {
  if (f.ok) return true;
  const char* req = std::getenv("MOAT_REQUIRE_KERNEL");
  if (req && std::string(req) == "1") FAIL("cannot make cgroups under " << cgroup2_mount() << " (root and cgroup v2 required)");
  WARN("SKIP: cannot make cgroups under " << cgroup2_mount());
  return false;
}

} // namespace

TEST_CASE("attach: the mirror annotation is believed only from the kubelet's own mirror pods") {
  KubeNode node;
  node.name = "n1";
  node.uid = "5b0c7e9a-1d2f-4e3a-8b6c-0a9d8e7f6c5b";
  const std::string victim = "3e1f0c2a-7b6d-4c5e-9f8a-1b2c3d4e5f60", hash = "6f1e2d3c4b5a69788796a5b4c3d2e1f0";
  std::set<std::string> api = {victim, "0aa1b2c3-0000-4000-8000-000000000001"};
  auto judge = [&](const KubePod& p) { return cgroup_uid(p, node, api); };
  KubePod plain = pod_on("ns/web", "n1", victim);
  CHECK(judge(plain).uid == victim);
  CHECK(judge(plain).note.empty());
  KubePod kubelet_made = mirror("kube-system/static-web-n1", "0aa1b2c3-0000-4000-8000-000000000001", hash, node.uid);
  CHECK(judge(kubelet_made).uid == hash);
  CHECK(judge(kubelet_made).note.empty());

  // Forged: no Node owner; another node's; this node's name with another uid; pointing at an
  // API pod's UID (even with a perfect owner reference); not a UID at all.
  KubePod tenant = pod_on("evil/a", "n1", "0aa1b2c3-0000-4000-8000-000000000002");
  tenant.mirror_of = victim;
  CHECK(judge(tenant).uid == tenant.uid);
  CHECK(has(judge(tenant).note, "not owned by Node n1"));
  KubePod other_node = mirror("evil/b", "0aa1b2c3-0000-4000-8000-000000000003", hash, node.uid);
  other_node.owner.name = "n2";
  CHECK(judge(other_node).uid == other_node.uid);
  KubePod wrong_uid = mirror("evil/c", "0aa1b2c3-0000-4000-8000-000000000004", hash, "not-the-node");
  CHECK(judge(wrong_uid).uid == wrong_uid.uid);
  CHECK(has(judge(wrong_uid).note, "does not carry Node n1's uid"));
  KubePod at_api_pod = mirror("evil/d", "0aa1b2c3-0000-4000-8000-000000000005", victim, node.uid);
  CHECK(judge(at_api_pod).uid == at_api_pod.uid);
  CHECK(has(judge(at_api_pod).note, "names the metadata.uid of a pod in the API"));
  KubePod path = mirror("evil/e", "0aa1b2c3-0000-4000-8000-000000000006", "../../..", node.uid);
  CHECK(judge(path).uid == path.uid);
  CHECK(has(judge(path).note, "not a Kubernetes UID"));
  // A Node object without a uid (a hand-written --node file): name and kind still count.
  node.uid.clear();
  CHECK(judge(wrong_uid).uid == hash);
}

TEST_CASE("attach: a static pod is enforced in its kubelet cgroup and forged mirror annotations change nothing") {
  KubepodsFixture f;
  if (!cgroups_or_skip(f)) return;
  KubeNode node;
  node.name = "n1";
  node.uid = "5b0c7e9a-1d2f-4e3a-8b6c-0a9d8e7f6c5b";
  const std::string victim_uid = "3e1f0c2a-7b6d-4c5e-9f8a-1b2c3d4e5f60", hash = "6f1e2d3c4b5a69788796a5b4c3d2e1f0";
  std::string victim_cg = f.pod(victim_uid), static_cg = f.pod(hash);
  REQUIRE(!victim_cg.empty());
  REQUIRE(!static_cg.empty());
  AttachConfig cfg;
  cfg.kind = AttachKind::Cgroup;
  cfg.kubepods_root = f.root;

  Inventory inv;
  inv.pods.push_back(pod_on("ns/victim", "n1", victim_uid));
  inv.pods.push_back(mirror("kube-system/static-web-n1", "0aa1b2c3-0000-4000-8000-000000000001", hash, node.uid));
  // The attacker's own pod, annotated to be the victim's "static pod"; and one that also
  // forges the Node owner reference (uid included).
  KubePod forged = pod_on("evil/a", "n1", "0aa1b2c3-0000-4000-8000-000000000002");
  forged.mirror_of = victim_uid;
  inv.pods.push_back(forged);
  inv.pods.push_back(mirror("evil/b", "0aa1b2c3-0000-4000-8000-000000000003", victim_uid, node.uid));

  Diagnostics diags;
  auto found = find_attach_points(node, inv, inventory::LiveAddresses(inv), cfg, diags);
  REQUIRE(found.size() == 4);
  INFO(found[0].problem << " | " << found[1].problem);
  CHECK(found[0].cgroup == victim_cg);  // the victim keeps its own cgroup, claimed by nobody else
  CHECK(found[0].cgroup_id == cgroup_id_of(victim_cg));
  CHECK(found[0].problem.empty());
  CHECK(found[1].cgroup == static_cg);  // the static pod: enforced in the kubelet's cgroup for it
  CHECK(found[1].cgroup_id == cgroup_id_of(static_cg));
  CHECK(found[1].problem.empty());
  for (size_t i : {2u, 3u}) {  // the forgers: no cgroup at all, reported
    CHECK(found[i].cgroup_id == 0);
    CHECK(has(found[i].problem, "no cgroup for pod UID " + inv.pods[i].uid));
    CHECK(has(found[i].problem, "kubernetes.io/config.mirror"));
  }
  CHECK(diags.all().size() == 2);
  for (const auto& d : diags.all()) CHECK(d.code == Code::E810);

  // A forged mirror pod naming the real static pod's UID (visible on its mirror): the
  // one-owner rule attaches that cgroup for neither, so the forger never gets it.
  inv.pods.push_back(mirror("evil/c", "0aa1b2c3-0000-4000-8000-000000000004", hash, node.uid));
  Diagnostics d2;
  found = find_attach_points(node, inv, inventory::LiveAddresses(inv), cfg, d2);
  REQUIRE(found.size() == 5);
  // Neither is enforced as itself; the shared cgroup keeps a dispatcher with no endpoint
  // entry behind it (the agent adds none for a conflict), so it drops: fail closed.
  CHECK(found[4].conflict);
  CHECK(found[1].conflict);
  CHECK(found[4].cgroup_id == cgroup_id_of(static_cg));
  CHECK(has(found[4].problem, "claimed by more than one pod"));
  CHECK(found[0].cgroup == victim_cg);
  CHECK_FALSE(found[0].conflict);
}

TEST_CASE("attach: a terminating pod whose attach point is gone is left out, without an error") {
  Inventory inv;
  KubePod gone, live, reused;
  gone.ep.name = "ns/gone", live.ep.name = "ns/live", reused.ep.name = "ns/old";
  gone.ep.node = live.ep.node = reused.ep.node = "n1";
  gone.terminating = reused.terminating = true;
  live.ep.ips = reused.ep.ips = {*IpAddr::parse("10.250.0.2")};  // old's address is live's now
  gone.ep.ips = {*IpAddr::parse("10.250.0.9")};
  inv.pods = {gone, live, reused};
  AttachConfig cfg;
  std::string err;
  REQUIRE(parse_override("ns/gone=moat-no-such-if0", cfg, err));  // its veth was deleted
  REQUIRE(parse_override("ns/live=moat-no-such-if1", cfg, err));
  Diagnostics diags;
  KubeNode n1;
  n1.name = "n1";
  auto found = find_attach_points(n1, inv, inventory::LiveAddresses(inv), cfg, diags);
  REQUIRE(found.size() == 1);  // only the live pod is looked for (and reported missing)
  CHECK(found[0].pod->ep.name == "ns/live");
  REQUIRE(diags.all().size() == 1);
  CHECK(diags.all()[0].code == Code::E810);
}
