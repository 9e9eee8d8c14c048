// Desired state. The endpoint list is built in a fixed order (workloads in inventory order,
// host, the API server, remote nodes, learned addresses) so identity allocation is reproducible.
#include "runtime/agent/desired.h"

#include <algorithm>

#include "runtime/loader.h"

namespace moat::runtime::agent {

namespace {

/// The startup taint the agent is responsible for: a moat.dev/ startup taint of the pool,
/// else the first startup taint (the pool's author said nodes start tainted until ready).
const Taint* agent_taint(const NodePool* pool) {
  if (!pool || pool->startup_taints.empty()) return nullptr;
  for (const Taint& t : pool->startup_taints)
    if (t.key.rfind("moat.dev/", 0) == 0) return &t;
  return &pool->startup_taints.front();
}

bool has_ip(const Endpoint& e, const IpAddr& ip) {
  return std::find(e.ips.begin(), e.ips.end(), ip) != e.ips.end();
}

/// The pods the language's `dns` peer means (docs/LANGUAGE.md): kube-system's
/// {k8s-app: kube-dns}.
bool is_kube_dns(const Endpoint& e) {
  auto app = e.labels.find("k8s-app");
  return e.ns == "kube-system" && app != e.labels.end() && app->second == "kube-dns";
}

/// The workload whose identity the proxy's addresses take: the pod that has the upstream's
/// address, else — the upstream is a Service address (the kube-dns ClusterIP) or NodeLocal
/// DNSCache's link-local address, which front kube-dns — the first kube-dns pod, so that
/// `allow x -> dns` covers the proxy. Null: the upstream is outside the cluster.
const KubePod* proxy_owner(const Inventory& inv, const ProxyAddresses& proxy) {
  if (!proxy.upstream || proxy.listen.empty()) return nullptr;
  const KubePod* dns = nullptr;
  for (const KubePod& pod : inv.pods) {
    if (!pod.is_workload()) continue;
    if (has_ip(pod.ep, *proxy.upstream)) return &pod;
    if (!dns && is_kube_dns(pod.ep)) dns = &pod;
  }
  return dns;
}

} // namespace

std::vector<NodePool> pools_of(const bundle::Manifest& m) {
  std::vector<NodePool> out;
  for (const bundle::PoolEntry& p : m.pools) {
    NodePool np;
    np.name = p.name;
    np.requirements = p.requirements;
    np.labels = p.labels;
    np.taints = p.taints;
    np.startup_taints = p.startup_taints;
    np.admits = p.admits;
    out.push_back(std::move(np));
  }
  return out;
}

Desired derive(const bundle::Manifest& manifest, const KubeNode& node, const Inventory& inv,
               const inventory::LiveAddresses& live,
               const std::vector<attach::PodAttach>& found, const std::vector<Endpoint>& learned,
               const ProxyAddresses& proxy, MisfitPolicy misfit_policy, Diagnostics& diags) {
  Desired d;
  d.pools = pools_of(manifest);
  d.plan = plan_node(node, d.pools, inv, diags);
  if (const Taint* t = agent_taint(d.plan.pool)) {
    d.startup_taint = taint_text(*t);
    d.node_has_startup_taint = std::any_of(node.taints.begin(), node.taints.end(), [&](const Taint& n) {
      return n.key == t->key && n.effect == t->effect;
    });
  }

  // Every workload of the cluster is a possible peer; only local ones get policy entries.
  std::vector<const KubePod*> dropped;
  for (const auto& m : d.plan.misfits) {
    MisfitRecord rec{m.pod->ep.name, m.why.reasons, misfit_policy == MisfitPolicy::Enforce};
    d.misfits.push_back(rec);
    if (misfit_policy == MisfitPolicy::Drop) dropped.push_back(m.pod);
  }
  const KubePod* proxy_pod = proxy_owner(inv, proxy);
  d.endpoints.reserve(inv.pods.size() + inv.nodes.size() + 2 + learned.size());
  for (const KubePod& pod : inv.pods) {
    if (!pod.is_workload()) continue;
    size_t index = d.endpoints.size();
    // One identity per address (the first endpoint wins): a terminating pod must not keep
    // an address a new pod was given, whatever the order of the inventory.
    if (pod.terminating || &pod == proxy_pod) {
      Endpoint ep = pod.ep;
      if (pod.terminating) ep.ips = inventory::held_addresses(pod, live);
      if (&pod == proxy_pod) ep.ips.insert(ep.ips.end(), proxy.listen.begin(), proxy.listen.end());
      d.add(std::move(ep));
    } else {
      d.endpoints.push_back(&pod.ep);
    }
    if (pod.ep.node != node.name) continue;
    auto at = std::find_if(found.begin(), found.end(), [&](const attach::PodAttach& a) { return a.pod == &pod; });
    if (at == found.end() && pod.terminating) continue;  // its sandbox is gone (find_attach_points)
    AttachRecord rec;
    rec.pod = pod.ep.name;
    bundle::LocalAttachment la;
    la.endpoint = index;
    if (at == found.end()) {
      rec.problem = "attach point not looked up";
    } else {
      rec.iface = at->iface, rec.ifindex = at->ifindex, rec.cgroup = at->cgroup, rec.cgroup_id = at->cgroup_id;
      rec.problem = at->problem;
      rec.conflict = at->conflict;
      la.ifindex = static_cast<uint32_t>(at->ifindex);
      la.cgroup_id = at->cgroup_id;
    }
    bool is_dropped = std::find(dropped.begin(), dropped.end(), &pod) != dropped.end();
    if (!is_dropped && !rec.conflict && (la.ifindex || la.cgroup_id)) d.locals.push_back(la);
    else if (is_dropped && rec.problem.empty()) rec.problem = "not admitted by the node's pool: left out of the endpoint map (dropped)";
    // A dropped misfit keeps its attach record: the dispatcher must still see (and drop) it.
    d.attach.push_back(std::move(rec));
  }

  Endpoint host;
  host.kind = EndpointKind::Host;
  host.name = "host:" + node.name;
  host.node = node.name;
  host.ips = node.addresses;
  host.labels = node.labels;  // the Node's labels: `nodes` peers select by them
  d.add(std::move(host));
  // Before the remote nodes: an API server on a control-plane node shares the node's
  // address, and one identity per address means the more specific entity wins there (the
  // host keeps its own addresses: it must always reach its pods).
  if (!inv.kube_apiserver.empty()) {
    Endpoint api;
    api.kind = EndpointKind::KubeApiserver;
    api.name = "kube-apiserver";
    api.ips = inv.kube_apiserver;
    d.add(std::move(api));
  }
  for (const KubeNode& other : inv.nodes) {
    if (other.name == node.name || other.addresses.empty()) continue;
    Endpoint rn;
    rn.kind = EndpointKind::RemoteNode;
    rn.name = "node:" + other.name;
    rn.node = other.name;
    rn.ips = other.addresses;
    rn.labels = other.labels;
    d.add(std::move(rn));
  }
  if (proxy.upstream && !proxy.listen.empty() && !proxy_pod) {
    // The upstream is not a cluster pod: the proxy addresses stand for that external server.
    Endpoint up;
    up.kind = EndpointKind::External;
    up.name = "dns-upstream:" + proxy.upstream->str();
    up.ips = proxy.listen;
    up.ips.push_back(*proxy.upstream);
    d.add(std::move(up));
  }
  for (const Endpoint& e : learned) d.add(e);
  return d;
}

} // namespace moat::runtime::agent
