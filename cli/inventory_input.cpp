// `--inventory PATH` (see inventory_input.h).
#include "cli/inventory_input.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/kube_objects.h"

namespace moat::cli {

std::optional<CasesFile> load_inventory_file(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    bool readable = in.is_open();
    std::ostringstream text;
    if (readable) text << in.rdbuf();
    // Unreadable files and cases files go to load_cases, which reports their mistakes.
    if (!readable || !is_kubernetes_objects(text.str())) return load_cases(path, sm, diags);
  }
  auto objs = load_kube_objects({path}, sm, diags);
  if (!objs) return std::nullopt;
  CasesFile out;
  out.namespaces = objs->namespaces;
  out.endpoints = workload_endpoints(*objs);
  return out;
}

} // namespace moat::cli
