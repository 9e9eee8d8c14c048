// The connectivity cases file of docs/CASES.md (`moat test --cases FILE`).
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
  /// The address each end uses (ir.h Flow::src_addr / dst_addr). A cases file names
  /// endpoints, not addresses: `moat test` runs a case once per address of an external
  /// end with several, and the expectation must hold at every one.
  size_t from_addr = 0, to_addr = 0;
};

struct CasesFile {
  std::map<std::string, Labels> namespaces;  // with kNamespaceNameLabel added
  std::vector<Endpoint> endpoints;           // workloads get ns_labels filled, IPs assigned
  std::vector<Case> cases;
  const Endpoint* find(const std::string& name) const;
};

/// Is `text` Kubernetes objects (a top-level `kind`, `apiVersion` or `items`: a List,
/// PodList, NamespaceList, or single objects) rather than a cases file? Text that is not
/// valid YAML is not (load_cases then reports why).
bool is_kubernetes_objects(const std::string& text);

/// Parses a cases file; nullopt (with diagnostics) when it is invalid.
std::optional<CasesFile> load_cases(const std::string& path, SourceManager& sm,
                                    Diagnostics& diags);

/// Parses a cases file already read into `sm` (`--inventory` reads a file before it knows
/// which kind of inventory it is).
std::optional<CasesFile> parse_cases(FileId file, const SourceManager& sm, Diagnostics& diags);

/// Adds `ep` to `cf` (e.g. the ends of a moat `expect` statement) and returns the name it is
/// known by: its own, or that name plus "#N" when a different endpoint already has it. An
/// endpoint without IPs gets one the way load_cases assigns them (workloads from
/// 10.244.0.0/16, host / remote-node / kube-apiserver from 172.18.0.0/16, external
/// endpoints from 198.51.100.0/24), skipping addresses already in use.
std::string add_endpoint(CasesFile& cf, Endpoint ep);

} // namespace moat
