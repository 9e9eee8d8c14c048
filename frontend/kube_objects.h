// The one reader of Kubernetes cluster objects: Namespaces, Nodes, Pods and the workload
// controllers (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
// CronJob), from policy paths (parse_yaml hands them here), `--inventory` files and the
// agent's inventory. A List, a typed list (PodList, ...), single objects or several YAML
// documents; JSON is accepted as YAML. Every object keeps the source range it came from.
// A malformed object is skipped with a W807 warning at its mistake and the rest applies
// (a malformed Node is an E801 error: the agent cannot run without its own Node). Never
// throws.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "ir/scheduling.h"

namespace moat {

/// A Kubernetes Node: the agent's view of the machine it runs on.
struct KubeNode {
  std::string name;
  std::string uid;                // metadata.uid ("" when absent: files written by hand)
  Labels labels;
  std::vector<Taint> taints;
  std::vector<IpAddr> addresses;  // status.addresses of type InternalIP / ExternalIP
  std::string pool() const;       // the karpenter.sh/nodepool label, or ""
  SourceRange range;
  bool operator==(const KubeNode&) const = default;
};

/// metadata.ownerReferences entry with controller: true.
struct KubeOwner {
  std::string kind, name;
  std::string uid;  // the owner's metadata.uid, as the reference claims it
  bool present() const { return !kind.empty(); }
  bool operator==(const KubeOwner&) const = default;
};

/// A pod: the endpoint the policy sees (with what decides where it may run) plus its state.
struct KubePod {
  Endpoint ep;  // name "ns/pod", ns, ns_labels, labels, ips, ports, node, iface, cgroup,
                // resources, sched, range (the pod object)
  std::string uid;            // metadata.uid ("" when absent)
  /// The kubernetes.io/config.mirror annotation ("" when absent): on a mirror pod, the UID
  /// the kubelet runs the static pod under (its cgroup's name). Written by whoever creates
  /// the pod, so runtime/attach believes it only under the conditions in kubepods.h.
  std::string mirror_of;
  std::string phase;          // status.phase ("" when absent)
  bool host_network = false;  // spec.hostNetwork: the pod is the host, not a workload
  bool terminating = false;   // metadata.deletionTimestamp set: being deleted (its sandbox
                              // may be gone and its addresses another pod's already)
  KubeOwner owner;            // its controller, if any
  std::string workload;       // the workload it belongs to, "ns/name[Kind]" (set by resolve)
  /// Pods that hold no network identity: finished, or sharing the host's network.
  bool is_workload() const { return !host_network && phase != "Succeeded" && phase != "Failed"; }
  bool operator==(const KubePod&) const = default;
};

/// A workload controller (Deployment, StatefulSet, DaemonSet, ReplicaSet,
/// ReplicationController, Job, CronJob): its pod template as an endpoint.
struct KubeController {
  std::string kind, name, ns;
  Endpoint ep;                // from the pod template; name "ns/name[Kind]"
  bool host_network = false;  // the template's pods are the host
  KubeOwner owner;            // e.g. the Deployment of a ReplicaSet, the CronJob of a Job
  bool operator==(const KubeController&) const = default;
};

struct KubeObjects {
  std::map<std::string, Labels> namespaces;  // name -> labels (kNamespaceNameLabel added)
  std::vector<KubePod> pods;                 // in file order
  std::vector<KubeController> controllers;   // in file order
  std::vector<KubeNode> nodes;               // Node objects found among the items
  /// The API server's addresses: the `default/kubernetes` Service's endpoints. Only the
  /// agent's watched inventory fills them (runtime/inventory/); files leave them empty.
  std::vector<IpAddr> kube_apiserver;
  const KubePod* find_pod(const std::string& qualified) const;
  bool operator==(const KubeObjects&) const = default;
};

/// Appends `from` to `into` as reading `from`'s file after `into`'s would: a later Namespace
/// of the same name replaces the earlier one's labels; pods, controllers, nodes and API
/// server addresses follow the earlier ones. Leaves `from` empty.
void append_kube_objects(KubeObjects&& from, KubeObjects& into);

/// "ns/name[Kind]", the way np-guard/netpol-analyzer names workloads.
std::string workload_name(const std::string& ns, const std::string& name, const std::string& kind);

/// Kinds this reader takes from a policy path: the workload kinds, Pod, Namespace, and the
/// typed lists of those (PodList, DeploymentList, NamespaceList, ...).
bool is_kube_object_kind(std::string_view kind);

/// Parses text already registered in `sm`; false only when the YAML itself is unreadable
/// (E201). Malformed objects are skipped with W807.
bool parse_kube_objects(FileId file, const SourceManager& sm, KubeObjects& out, Diagnostics& diags);

/// Fills ns_labels of every pod and controller from objs.namespaces (a namespace without a
/// Namespace object gets only its name label, with one W804 per such namespace when
/// `warn_missing_namespaces`) and each pod's workload.
void resolve_kube_objects(KubeObjects& objs, Diagnostics& diags, bool warn_missing_namespaces = true);

/// One endpoint per workload that holds a network identity, as the verifier's inventory
/// scope and `moat query` take them, named "ns/name[Kind]": a controller not owned by
/// another one in `objs` (its template labels; its pods' addresses), else the pods grouped
/// by their top owner (a ReplicaSet owned by a Deployment counts as the Deployment, a Job
/// owned by a CronJob as the CronJob; without the ReplicaSet object the ReplicaSet is the
/// workload, as netpol-analyzer names it), else the bare pod ("ns/p[Pod]").
/// Call resolve_kube_objects first.
std::vector<Endpoint> workload_endpoints(const KubeObjects& objs);
/// The same, moving the endpoints out of `objs` (left valid but unspecified) instead of copying.
std::vector<Endpoint> workload_endpoints(KubeObjects&& objs);

/// Reads the one Node in `path`. Errors (E001 unreadable, E201 bad YAML, E801 bad object,
/// E802 none or several Nodes) go to `diags`.
std::optional<KubeNode> load_node(const std::string& path, SourceManager& sm, Diagnostics& diags);
std::optional<KubeNode> parse_node(FileId file, const SourceManager& sm, Diagnostics& diags);

/// One `--inventory` file already read into `sm` (UTF-8 checked), which may be Kubernetes
/// objects or another inventory format (a cases file). It is objects when its first document
/// is a map with a top-level kind, apiVersion or items, or, when no document of it parses,
/// when its text begins with one of those keys (`kubectl get -o json` cut short): then they
/// are read and resolved as load_kube_objects reads a file (nullopt, with E201 where the
/// text breaks, when it does not parse) and `is_objects` is set. Otherwise nothing is
/// reported and `is_objects` stays false. The file is parsed once.
std::optional<KubeObjects> read_kube_file(FileId file, const SourceManager& sm, Diagnostics& diags, bool& is_objects);

/// Reads each file in `paths` (a directory: its *.yaml, *.yml, *.json files, recursively,
/// sorted) and resolves the result; nullopt when a file is unreadable or not YAML.
std::optional<KubeObjects> load_kube_objects(const std::vector<std::string>& paths, SourceManager& sm,
                                             Diagnostics& diags);

} // namespace moat
