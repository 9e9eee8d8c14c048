// `--inventory PATH` (see inventory_input.h).
#include "cli/inventory_input.h"

#include <filesystem>

#include "frontend/frontend.h"
#include "frontend/kube_objects.h"
#include "frontend/read_input.h"

namespace moat::cli {

std::optional<CasesFile> load_inventory_file(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  std::optional<KubeObjects> objs;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    objs = load_kube_objects({path}, sm, diags);
  } else {
    // Read once, under the inventory's size bound, whichever of the two the file turns out to be.
    auto file = read_input_file(path, kDefaultMaxFileBytes, "inventory file", sm, diags);
    if (!file) return std::nullopt;
    bool is_objects = false;
    objs = read_kube_file(*file, sm, diags, is_objects);
    if (!is_objects) return parse_cases(*file, sm, diags);
  }
  if (!objs) return std::nullopt;
  CasesFile out;
  out.namespaces = std::move(objs->namespaces);
  out.endpoints = workload_endpoints(std::move(*objs));
  return out;
}

} // namespace moat::cli
