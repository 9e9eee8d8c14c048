// `--inventory FILE` (see inventory_input.h).
#include "cli/inventory_input.h"

#include <fstream>
#include <sstream>

#include "runtime/inventory.h"

namespace moat::cli {

std::optional<CasesFile> load_inventory_file(const std::string& path, SourceManager& sm, Diagnostics& diags) {
  std::ifstream in(path, std::ios::binary);
  bool readable = in.is_open();
  std::ostringstream text;
  if (readable) text << in.rdbuf();
  // Unreadable files and cases files go to load_cases, which reports their mistakes.
  if (!readable || !is_kubernetes_objects(text.str())) return load_cases(path, sm, diags);
  auto inv = runtime::load_inventory({path}, sm, diags);
  if (!inv) return std::nullopt;
  CasesFile out;
  out.namespaces = inv->namespaces;
  out.endpoints = runtime::workload_endpoints(*inv);
  return out;
}

} // namespace moat::cli
