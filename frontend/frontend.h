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

/// The YAML front end's guards against hostile input, for other readers of YAML files
/// (the inventory): false, with an E201 at the problem, when the text nests deeper than
/// the YAML front end accepts or holds a document yaml-cpp would never finish reading
/// (`YAML::LoadAll` would loop forever). True means LoadAll may be called on the text.
bool yaml_loadable(FileId file, const SourceManager& sm, Diagnostics& diags);

} // namespace moat
