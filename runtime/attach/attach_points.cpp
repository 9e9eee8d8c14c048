// Per-pod discovery, the test override, and the one-owner rule (an interface or cgroup that
// two pods resolve to is attached for neither: whose traffic it carries is unknown).
#include "runtime/attach/attach_points.h"

#include <net/if.h>

#include "runtime/attach/kubepods.h"
#include "runtime/attach/pod_interface.h"
#include "runtime/attach/static_pods.h"
#include "runtime/inventory/terminating.h"
#include "runtime/loader.h"

namespace moat::runtime::attach {

namespace {

std::string kubepods_root(const AttachConfig& cfg) {
  return cfg.kubepods_root.empty() ? detect_kubepods_root(cgroup2_mount()) : cfg.kubepods_root;
}

/// The override of one pod, checked like a discovered attach point would be.
void apply_override(const std::string& value, const AttachConfig& cfg, PodAttach& a) {
  if (value.front() == '/') {
    a.cgroup_id = cgroup_id_of(value);
    if (!a.cgroup_id) a.problem = "override cgroup " + value + " is not a cgroup v2 directory";
    else if (never_pod_cgroup(a.cgroup_id, cfg)) a.problem = "override cgroup " + value + " is no pod's cgroup";
    else a.cgroup = value;
    return;
  }
  int ifindex = static_cast<int>(if_nametoindex(value.c_str()));
  if (!ifindex) a.problem = "override interface " + value + " does not exist";
  else if (never_pod_interface(ifindex)) a.problem = "override interface " + value + " is the loopback or an uplink";
  else a.iface = value, a.ifindex = ifindex;
}

} // namespace

bool parse_override(const std::string& text, AttachConfig& cfg, std::string& error) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size() || text.find('/') > eq) {
    error = "--attach-override wants NS/POD=IFACE or NS/POD=/cgroup/dir, got '" + text + "'";
    return false;
  }
  cfg.overrides[text.substr(0, eq)] = text.substr(eq + 1);
  return true;
}

std::vector<PodAttach> find_attach_points(const KubeNode& node, const Inventory& inv,
                                          const inventory::LiveAddresses& live, const AttachConfig& cfg,
                                          Diagnostics& diags) {
  std::vector<PodAttach> out;
  std::string routing_error, root = kubepods_root(cfg);
  std::optional<RoutingView> view;
  std::set<std::string> api_uids;
  if (cfg.kind == AttachKind::Tc) view = read_routing(routing_error);
  else api_uids = api_pod_uids(inv);
  for (const KubePod& pod : inv.pods) {
    if (!pod.is_workload() || pod.ep.node != node.name) continue;
    // A terminating pod whose addresses are all a new pod's has no sandbox left here.
    std::vector<IpAddr> held = inventory::held_addresses(pod, live);
    if (pod.terminating && held.empty()) continue;
    PodAttach a;
    a.pod = &pod;
    if (auto o = cfg.overrides.find(pod.ep.name); o != cfg.overrides.end()) {
      apply_override(o->second, cfg, a);
    } else if (cfg.kind == AttachKind::Cgroup) {
      CgroupUid uid = cgroup_uid(pod, node, api_uids);
      PodCgroup cg = find_pod_cgroup(root, uid.uid);
      a.cgroup = cg.path;
      a.cgroup_id = cg.id;
      a.problem = cg.problem;
      if (!a.problem.empty() && !uid.note.empty()) a.problem += " (" + uid.note + ")";
    } else if (!view) {
      a.problem = routing_error;
    } else {
      InterfaceChoice c = find_pod_interface(held, *view);
      if (c.problem.empty()) a.iface = c.name, a.ifindex = c.ifindex;
      a.problem = c.problem;
    }
    out.push_back(std::move(a));
  }
  // One owner per attach point.
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = i + 1; j < out.size(); ++j) {
      PodAttach &x = out[i], &y = out[j];
      bool same = (x.ifindex && x.ifindex == y.ifindex) || (x.cgroup_id && x.cgroup_id == y.cgroup_id);
      if (!same) continue;
      std::string what = x.ifindex && x.ifindex == y.ifindex ? "interface " + x.iface : "cgroup " + x.cgroup;
      for (PodAttach* p : {&x, &y}) {
        const PodAttach* other = p == &x ? &y : &x;
        diags.report(Code::E811, p->pod->ep.range,
                     "pod " + p->pod->ep.name + ": " + what + " is claimed by pod " + other->pod->ep.name + " too");
        p->problem = what + " is claimed by more than one pod";
        p->conflict = true;
      }
    }
  // A terminating pod whose attach point is gone (the CNI deleted its veth, the kubelet its
  // cgroup) has nothing left to enforce: neither an error nor a reason to be not ready.
  std::erase_if(out, [](const PodAttach& a) { return a.pod->terminating && !a.problem.empty(); });
  for (PodAttach& a : out) {
    if (a.problem.empty() || a.conflict) continue;
    a.iface.clear(), a.ifindex = 0, a.cgroup.clear(), a.cgroup_id = 0;
    diags.report(Code::E810, a.pod->ep.range,
                 "pod " + a.pod->ep.name + " runs on this node but its attach point cannot be found: " + a.problem);
  }
  return out;
}

bool never_pod_interface(int ifindex) {
  std::string err;
  auto link = link_by_index(ifindex, err);
  auto routes = all_routes(err);
  if (!link) return false;  // gone: nothing to protect
  return attach::never_pod_interface(*link, routes ? *routes : std::vector<Route>{});
}

bool never_pod_cgroup(uint64_t id, const AttachConfig& cfg) {
  std::string mount = cgroup2_mount(), root = kubepods_root(cfg);
  std::vector<std::string> shared{mount};
  if (!root.empty()) {
    shared.push_back(root);
    for (const std::string& c : kubepods_candidates(root, "x"))  // the QoS parents
      if (size_t slash = c.find_last_of('/'); slash > root.size()) shared.push_back(c.substr(0, slash));
  }
  for (const std::string& p : shared)
    if (uint64_t sid = cgroup_id_of(p); sid && sid == id) return true;
  return false;
}

} // namespace moat::runtime::attach
