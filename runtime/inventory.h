// Runtime inputs read from Kubernetes objects: the agent's own Node and the cluster's
// Namespaces and Pods (a `List`, `NamespaceList`, `PodList`, single objects, or several
// YAML documents; JSON is accepted as YAML). Every object keeps the source range it came
// from, so a report about a pod points at its line. Never throws: mistakes are E8xx
// diagnostics and a parse that fails returns nullopt.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "ir/scheduling.h"

namespace moat::runtime {

/// A Kubernetes Node: the agent's view of the machine it runs on.
struct KubeNode {
  std::string name;
  Labels labels;
  std::vector<Taint> taints;
  std::vector<IpAddr> addresses;  // status.addresses of type InternalIP / ExternalIP
  std::string pool() const;       // the karpenter.sh/nodepool label, or ""
  SourceRange range;
};

/// A pod: the endpoint the policy sees (with what decides where it may run) plus its state.
struct KubePod {
  Endpoint ep;  // name "ns/pod", ns, ns_labels, labels, ips, ports, node, iface, cgroup,
                // resources, sched, range (the pod object)
  std::string uid;            // metadata.uid: names the pod's kubepods cgroup (runtime/attach)
  std::string phase;          // status.phase ("" when absent)
  bool host_network = false;  // spec.hostNetwork: the pod is the host, not a workload
  /// Pods that hold no network identity: finished, or sharing the host's network.
  bool is_workload() const { return !host_network && phase != "Succeeded" && phase != "Failed"; }
};

struct Inventory {
  std::map<std::string, Labels> namespaces;  // name -> labels (kNamespaceNameLabel added)
  std::vector<KubePod> pods;                 // in file order; ns_labels filled
  std::vector<KubeNode> nodes;               // Node objects found among the items
  const KubePod* find_pod(const std::string& qualified) const;
};

/// Reads the one Node in `path`. Errors (E001 unreadable, E201 bad YAML, E801 bad object,
/// E802 none or several Nodes) go to `diags`.
std::optional<KubeNode> load_node(const std::string& path, SourceManager& sm,
                                  Diagnostics& diags);

/// Reads Namespaces and Pods from each file in `paths` (items of any List kind, several
/// documents). A pod whose namespace is missing gets one with only its name label (W804).
std::optional<Inventory> load_inventory(const std::vector<std::string>& paths,
                                        SourceManager& sm, Diagnostics& diags);

/// Parses text already registered in `sm` (used by load_* and by tests).
std::optional<KubeNode> parse_node(FileId file, const SourceManager& sm, Diagnostics& diags);
bool parse_inventory(FileId file, const SourceManager& sm, Inventory& out, Diagnostics& diags);
/// Fills ns_labels of every pod from out.namespaces (W804 for missing namespaces).
void resolve_namespaces(Inventory& inv, Diagnostics& diags);

/// The workload endpoints of an inventory (pods that hold a network identity, in file
/// order), as the verifier's inventory scope takes them (`moat check --inventory`).
std::vector<Endpoint> workload_endpoints(const Inventory& inv);

} // namespace moat::runtime
