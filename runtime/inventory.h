// The agent's cluster inputs: its own Node and the cluster's Namespaces, Pods and workload
// controllers, read by the front end's Kubernetes reader (frontend/kube_objects.h). This
// header only gives them the runtime's names; the agent enforces per pod (KubePod: its
// addresses and attach point), the verifier reasons per workload (workload_endpoints).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "frontend/kube_objects.h"

namespace moat::runtime {

using moat::KubeNode;
using moat::KubePod;
using moat::load_node;
using moat::parse_node;
using moat::workload_endpoints;
using Inventory = moat::KubeObjects;

/// Reads Namespaces, Pods and workload controllers from each file in `paths` (items of any
/// List kind, several documents) and resolves them. A pod whose namespace is missing gets
/// one with only its name label (W804); a malformed object is skipped (W807). nullopt only
/// when a file is unreadable or not YAML.
inline std::optional<Inventory> load_inventory(const std::vector<std::string>& paths, SourceManager& sm,
                                               Diagnostics& diags) {
  return load_kube_objects(paths, sm, diags);
}

/// Parses text already registered in `sm` (tests); resolve_namespaces completes it.
inline bool parse_inventory(FileId file, const SourceManager& sm, Inventory& out, Diagnostics& diags) {
  return parse_kube_objects(file, sm, out, diags);
}
inline void resolve_namespaces(Inventory& inv, Diagnostics& diags) { resolve_kube_objects(inv, diags); }

} // namespace moat::runtime
