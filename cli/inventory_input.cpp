// `--inventory PATH` (see inventory_input.h).
#include "cli/inventory_input.h"

#include <filesystem>

#include "frontend/frontend.h"
#include "frontend/kube_objects.h"
#include "frontend/read_input.h"

namespace moat::cli {

InventoryFiles read_inventory(const std::string& path, SourceManager& sm, const Diagnostics& like) {
  InventoryFiles read;
  read.read_diags = like.empty_like();
  std::error_code ec;
  read.directory = std::filesystem::is_directory(path, ec);
  if (read.directory)
    read.objects = read_kube_files({path}, sm);
  else  // read once, under the inventory's size bound, whichever of the two it turns out to be
    read.file = read_input_file(path, kDefaultMaxFileBytes, "inventory file", sm, read.read_diags);
  return read;
}

std::optional<CasesFile> parse_inventory(InventoryFiles&& read, const SourceManager& sm, Diagnostics& diags) {
  std::optional<KubeObjects> objs;
  if (read.directory) {
    objs = parse_kube_files(std::move(read.objects), sm, diags);
  } else {
    diags.append(std::move(read.read_diags));
    if (!read.file) return std::nullopt;
    bool is_objects = false;
    objs = read_kube_file(*read.file, sm, diags, is_objects);
    if (!is_objects) return parse_cases(*read.file, sm, diags);
  }
  if (!objs) return std::nullopt;
  CasesFile out;
  out.namespaces = std::move(objs->namespaces);
  out.endpoints = workload_endpoints(std::move(*objs));
  return out;
}

std::optional<CasesFile> load_inventory_file(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  return parse_inventory(read_inventory(path, sm, diags), sm, diags);
}

} // namespace moat::cli
