// From the objects read to what the rest of moat uses (see kube_objects.h): namespace labels
// for every pod and template, each pod's workload (its top controller), one endpoint per
// workload, and the Node file of the agent (kube_files.cpp reads inventory files).
#include <algorithm>
#include <iterator>
#include <type_traits>
#include <unordered_map>

#include "frontend/frontend.h"
#include "frontend/k8s/kube_reader.h"
#include "frontend/utf8.h"

namespace moat {

namespace {

struct Key {
  std::string ns, kind, name;
  bool operator==(const Key& o) const { return ns == o.ns && kind == o.kind && name == o.name; }
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    std::hash<std::string> h;
    return h(k.ns) ^ (h(k.kind) * 31) ^ (h(k.name) * 961);
  }
};

/// The controllers by identity: an inventory of a large cluster has tens of thousands of
/// pods, and a scan of every controller per pod made reading it quadratic.
class ControllerIndex {
public:
  explicit ControllerIndex(const KubeObjects& objs) {
    by_key_.reserve(objs.controllers.size());
    // The first of two controllers with one identity wins, as the linear scan did.
    for (const KubeController& c : objs.controllers) by_key_.emplace(Key{c.ns, c.kind, c.name}, &c);
  }
  const KubeController* find(const Key& k) const {
    auto it = by_key_.find(k);
    return it == by_key_.end() ? nullptr : it->second;
  }

private:
  std::unordered_map<Key, const KubeController*, KeyHash> by_key_;
};

/// Follows controller owner references up from `k` (a ReplicaSet to its Deployment, a Job to
/// its CronJob) as far as the objects say; references are namespace-local.
Key top_owner(const ControllerIndex& controllers, Key k) {
  for (int hops = 0; hops < 4; ++hops) {
    const KubeController* c = controllers.find(k);
    if (!c || !c->owner.present()) break;
    k = Key{k.ns, c->owner.kind, c->owner.name};
  }
  return k;
}

/// The workload a pod belongs to: its top controller. A ReplicaSet that is not among the
/// objects stays the workload (`ns/web-5d8f[ReplicaSet]`), as netpol-analyzer names it
/// (`moat query` still finds it by its Deployment's name), unless the Deployment it was made
/// for is among them: "web-5d8f" with the pod's pod-template-hash 5d8f is Deployment web's.
Key pod_workload(const ControllerIndex& controllers, const KubePod& p) {
  if (!p.owner.present()) return Key{p.ep.ns, "Pod", p.ep.name.substr(p.ep.ns.size() + 1)};
  Key k{p.ep.ns, p.owner.kind, p.owner.name};
  auto hash = p.ep.labels.find("pod-template-hash");
  if (k.kind == "ReplicaSet" && !controllers.find(k) && hash != p.ep.labels.end()) {
    std::string suffix = "-" + hash->second;
    if (k.name.size() > suffix.size() && k.name.compare(k.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      Key deployment{k.ns, "Deployment", k.name.substr(0, k.name.size() - suffix.size())};
      if (controllers.find(deployment)) return top_owner(controllers, deployment);
    }
  }
  return top_owner(controllers, k);
}

void add_ips(Endpoint& to, const std::vector<IpAddr>& ips) {
  for (const IpAddr& a : ips)
    if (std::find(to.ips.begin(), to.ips.end(), a) == to.ips.end()) to.ips.push_back(a);
}

} // namespace

std::string KubeNode::pool() const {
  auto it = labels.find(kNodePoolLabel);
  return it == labels.end() ? std::string() : it->second;
}

const KubePod* KubeObjects::find_pod(const std::string& qualified) const {
  for (const KubePod& p : pods)
    if (p.ep.name == qualified) return &p;
  return nullptr;
}

void append_kube_objects(KubeObjects&& from, KubeObjects& into) {
  for (auto& [name, labels] : from.namespaces) into.namespaces.insert_or_assign(name, std::move(labels));
  auto move_all = [](auto& src, auto& dst) {
    // The first file's vectors are taken whole; later ones are moved in after them.
    if (dst.empty() && dst.capacity() < src.size()) dst = std::move(src);
    else dst.insert(dst.end(), std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
  };
  move_all(from.pods, into.pods);
  move_all(from.controllers, into.controllers);
  move_all(from.nodes, into.nodes);
  move_all(from.kube_apiserver, into.kube_apiserver);
  from = KubeObjects();
}

std::string workload_name(const std::string& ns, const std::string& name, const std::string& kind) {
  return ns + "/" + name + "[" + kind + "]";
}

void resolve_kube_objects(KubeObjects& objs, Diagnostics& diags, bool warn_missing_namespaces) {
  // Once per namespace: the first object in it that finds it missing adds it.
  auto labels_of = [&](const std::string& ns, const Endpoint& ep, const char* what) -> const Labels& {
    auto it = objs.namespaces.find(ns);
    if (it != objs.namespaces.end()) return it->second;
    if (warn_missing_namespaces)
      diags.report(Code::W804, ep.range,
                   "namespace '" + ns + "' of " + what + " " + ep.name +
                       " is not in the inventory; assuming only its name label (add its Namespace object)");
    return objs.namespaces.emplace(ns, Labels{{kNamespaceNameLabel, ns}}).first->second;
  };
  for (KubeController& c : objs.controllers) c.ep.ns_labels = labels_of(c.ns, c.ep, "workload");
  ControllerIndex controllers(objs);
  for (KubePod& p : objs.pods) {
    p.ep.ns_labels = labels_of(p.ep.ns, p.ep, "pod");
    Key k = pod_workload(controllers, p);
    p.workload = workload_name(k.ns, k.name, k.kind);
  }
}

namespace {

/// workload_endpoints over `objs`: `Objs` const copies each endpoint it keeps, non-const
/// moves it out (an inventory of 100,000 pods is read once and not needed afterwards).
template <class Objs>
std::vector<Endpoint> collect_workloads(Objs& objs) {
  auto take = [](auto& ep) -> Endpoint {
    if constexpr (std::is_const_v<Objs>) return ep;
    else return std::move(ep);
  };
  std::vector<Endpoint> out;
  out.reserve(objs.controllers.size() + objs.pods.size());  // at most one each
  std::unordered_map<std::string, size_t> by_name;  // out's index (a scan per pod was quadratic)
  by_name.reserve(out.capacity());
  auto find = [&](const std::string& name) -> Endpoint* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &out[it->second];
  };
  auto add = [&](Endpoint ep) {
    by_name.emplace(ep.name, out.size());
    out.push_back(std::move(ep));
  };
  ControllerIndex controllers(objs);
  // Controllers first: the template is the workload's own description. A subordinate
  // (a ReplicaSet of a present Deployment) stands in only when its owner is absent.
  for (bool subordinates : {false, true})
    for (auto& c : objs.controllers) {
      if (c.host_network || c.owner.present() != subordinates) continue;
      Key top = top_owner(controllers, Key{c.ns, c.kind, c.name});
      std::string name = workload_name(top.ns, top.name, top.kind);
      if (find(name)) continue;
      Endpoint ep = take(c.ep);
      ep.name = std::move(name);
      add(std::move(ep));
    }
  for (auto& p : objs.pods) {
    if (!p.is_workload()) continue;
    if (Endpoint* have = find(p.workload)) {
      add_ips(*have, p.ep.ips);
      continue;
    }
    Endpoint ep = take(p.ep);
    ep.name = p.workload;
    add(std::move(ep));
  }
  return out;
}

} // namespace

std::vector<Endpoint> workload_endpoints(const KubeObjects& objs) { return collect_workloads(objs); }

std::vector<Endpoint> workload_endpoints(KubeObjects&& objs) { return collect_workloads(objs); }

void add_kube_objects(KubeObjects& objs, Module& out, Diagnostics& diags) {
  // Namespace objects declare labels as moat namespace blocks do; a namespace only named by
  // a workload stays undeclared (its labels unknown to the verifier), with its name label.
  for (const auto& [name, labels] : objs.namespaces)
    for (const auto& [k, v] : labels) out.namespaces[name][k] = v;
  for (const auto& [name, labels] : out.namespaces) {
    Labels& into = objs.namespaces[name];
    into.insert(labels.begin(), labels.end());
    into[kNamespaceNameLabel] = name;
  }
  resolve_kube_objects(objs, diags, false);
  for (Endpoint& e : workload_endpoints(objs)) out.cluster_workloads.push_back(std::move(e));
}

std::optional<KubeNode> parse_node(FileId file, const SourceManager& sm, Diagnostics& diags) {
  KubeObjects objs;
  if (!parse_kube_objects(file, sm, objs, diags)) return std::nullopt;
  if (objs.nodes.size() != 1) {
    diags.report(Code::E802, SourceRange::at(file, 1, 1),
                 "expected exactly one Node object, found " + std::to_string(objs.nodes.size()));
    return std::nullopt;
  }
  return objs.nodes.front();
}

std::optional<KubeNode> load_node(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  auto file = k8s::read_object_file(path, sm, diags);
  if (!file) return std::nullopt;
  return parse_node(*file, sm, diags);
}

} // namespace moat
