// The connectivity cases file of DESIGN.md §8 (`moat test --cases FILE`).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat {

struct Case {
  std::string from, to;  // endpoint names
  Protocol proto = Protocol::TCP;
  uint16_t port = 0;
  bool allow = false;
  SourceRange range;
};

struct CasesFile {
  std::map<std::string, Labels> namespaces;  // with kNamespaceNameLabel added
  std::vector<Endpoint> endpoints;           // workloads get ns_labels filled, IPs assigned
  std::vector<Case> cases;
  const Endpoint* find(const std::string& name) const;
};

/// Parses a cases file; nullopt (with diagnostics) when it is invalid.
std::optional<CasesFile> load_cases(const std::string& path, SourceManager& sm,
                                    Diagnostics& diags);

} // namespace moat
