// The inventory scope of `moat check`, `diff` and `query` (`--inventory FILE`): a cases
// file (docs/CASES.md), or the Kubernetes objects the agent reads (a List / PodList /
// NamespaceList in YAML or JSON, e.g. `kubectl get pods,namespaces -A -o yaml`), whose pods
// become workload endpoints with their scheduling facts (runtime/inventory.h).
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
