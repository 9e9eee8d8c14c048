// The inventory scope of `moat check`, `diff` and `query` (`--inventory PATH`): a cases
// file (docs/CASES.md), or Kubernetes objects (a file or a directory of them: Namespaces,
// Pods, Deployments and the other workload kinds, e.g. `kubectl get ns,pods,deploy -A -o
// yaml` or a repository's manifests), read by the front end's Kubernetes reader
// (frontend/kube_objects.h) into one endpoint per workload.
#pragma once
#include <optional>
#include <string>

#include "frontend/cases.h"
#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat::cli {

/// Loads `path` as whichever of the two it is; nullopt with diagnostics when invalid.
std::optional<CasesFile> load_inventory_file(const std::string& path, SourceManager& sm, Diagnostics& diags);

} // namespace moat::cli
