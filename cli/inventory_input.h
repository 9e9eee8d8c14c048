// The inventory scope of `moat check`, `diff` and `query` (`--inventory PATH`): a cases
// file (docs/CASES.md), or Kubernetes objects (a file or a directory of them: Namespaces,
// Pods, Deployments and the other workload kinds, e.g. `kubectl get ns,pods,deploy -A -o
// yaml` or a repository's manifests), read by the front end's Kubernetes reader
// (frontend/kube_objects.h) into one endpoint per workload.
#pragma once
#include <optional>
#include <string>

#include "frontend/cases.h"
#include "frontend/kube_files.h"
#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat::cli {

/// An inventory read into the SourceManager but not parsed yet (two steps, as
/// PolicyFiles: a command reads all its inputs first, then parses them at the same time).
struct InventoryFiles {
  bool directory = false;
  KubeFiles objects;           // a directory of Kubernetes objects
  std::optional<FileId> file;  // one file; nullopt when unreadable (read_diags says why)
  Diagnostics read_diags;
};
/// `like`: the Diagnostics the inventory will be parsed into (its switched-off codes).
InventoryFiles read_inventory(const std::string& path, SourceManager& sm, const Diagnostics& like);
/// Parses it as whichever of the two it is; nullopt with diagnostics when invalid.
std::optional<CasesFile> parse_inventory(InventoryFiles&& read, const SourceManager& sm, Diagnostics& diags);

/// read_inventory then parse_inventory.
std::optional<CasesFile> load_inventory_file(const std::string& path, SourceManager& sm, Diagnostics& diags);

} // namespace moat::cli
