// Front ends: read policy sources (moat language, Kubernetes/Cilium/Karpenter YAML) into
// one ir::Module, reporting every mistake as a Diagnostic. Never throws, never crashes.
#pragma once
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat {

/// Loads files or directories (recursively *.moat, *.yaml, *.yml, sorted) into `out`.
/// Unreadable files, non-UTF-8 text and oversize files are E00x errors.
void load_paths(const std::vector<std::string>& paths, SourceManager& sm, Module& out,
                Diagnostics& diags);

/// The moat language (grammar/Moat.g4): appends rules, isolations, pools, proofs, expects.
void parse_moat(FileId file, const SourceManager& sm, Module& out, Diagnostics& diags);

/// Multi-document YAML: NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy,
/// NodePool (karpenter.sh/v1), List of those. Other kinds: N005 note and skipped.
void parse_yaml(FileId file, const SourceManager& sm, Module& out, Diagnostics& diags);

} // namespace moat
