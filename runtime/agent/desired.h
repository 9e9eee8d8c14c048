// From the agent's inputs (manifest, Node, inventory, learned names) to what the node must
// enforce: every endpoint it should know (cluster workloads, this host, remote nodes, DNS-
// learned addresses), which of them are local and where their packets are seen, and the
// node plan (pool, admitted workloads, misfits). Pure computation; no BPF, and the attach
// points come in already found (runtime/attach).
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "backend/bundle/manifest.h"
#include "backend/bundle/map_contents.h"
#include "ir/diagnostic.h"
#include "runtime/agent/state.h"
#include "runtime/attach/attach_points.h"
#include "runtime/inventory.h"
#include "runtime/inventory/terminating.h"
#include "runtime/nodepool.h"

namespace moat::runtime::agent {

/// What to do with a local pod the node's pool would not admit.
enum class MisfitPolicy : uint8_t {
  Enforce,  // enforce its own policy anyway (and report it)
  Drop,     // leave it out of the endpoint map: the datapath drops its traffic (fail closed)
};

/// The DNS proxy's addresses answer as the upstream server: packets to them must get the
/// upstream's identity, so a policy allowing DNS to kube-dns allows the proxy too. An
/// upstream that is no pod's address (the kube-dns ClusterIP, NodeLocal DNSCache) stands
/// for kube-dns: the proxy takes the kube-dns pods' identity (runtime/agent/desired.cpp).
struct ProxyAddresses {
  std::vector<IpAddr> listen;
  std::optional<IpAddr> upstream;
};

struct Desired {
  /// Every endpoint the node should know, in the order identities are allocated: a pod's
  /// own endpoint in the inventory given (not a copy: a cluster has 100,000 of them), or
  /// one in `made` (a terminating pod's held addresses, the DNS proxy's owner, the host,
  /// the nodes, learned addresses). Valid while that inventory is; derive again when it
  /// changes.
  std::vector<const Endpoint*> endpoints;
  std::deque<Endpoint> made;  // never moves its elements
  std::vector<bundle::LocalAttachment> locals;
  std::vector<AttachRecord> attach;   // one per local workload pod (found or not)
  std::vector<NodePool> pools;        // from the manifest
  NodePlan plan;                      // points into `pools` and the inventory given
  std::vector<MisfitRecord> misfits;
  /// FQDN-learned addresses kept only for live connections (dns::FqdnCache zombies): their
  /// hosts entries are marked so that no new flow gets their identity (mark_zombies).
  std::vector<IpAddr> zombies;
  std::string startup_taint;          // "key[=value]:Effect" the agent lifts, or ""
  bool node_has_startup_taint = false;

  /// Keeps `e` in `made` and lists it last in `endpoints`.
  void add(Endpoint e) { endpoints.push_back(&made.emplace_back(std::move(e))); }

  Desired() = default;
  Desired(Desired&&) = default;
  Desired& operator=(Desired&&) = default;
  Desired(const Desired&) = delete;  // `endpoints` would point into the original's `made`
  Desired& operator=(const Desired&) = delete;
};

/// The manifest's pool entries as IR node pools (admission works on ir::NodePool).
std::vector<NodePool> pools_of(const bundle::Manifest& m);

/// Computes the desired state. `live` is the inventory's live pod addresses; `found` holds
/// the local pods' attach points (attach::find_attach_points on the same inventory); a pod
/// whose attach point was not found is kept with its `problem` (the node is not ready) and
/// looked for again later.
Desired derive(const bundle::Manifest& manifest, const KubeNode& node, const Inventory& inv,
               const inventory::LiveAddresses& live,
               const std::vector<attach::PodAttach>& found, const std::vector<Endpoint>& learned,
               const ProxyAddresses& proxy, MisfitPolicy misfits, Diagnostics& diags);

} // namespace moat::runtime::agent
