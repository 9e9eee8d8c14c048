// Front ends: read policy sources (moat language, Kubernetes/Cilium/Karpenter YAML) into
// one ir::Module, reporting every mistake as a Diagnostic. Never throws, never crashes.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "frontend/kube_objects.h"
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
/// NodePool (karpenter.sh/v1), List of those. Namespaces, Pods and workload controllers go
/// to `kube` (frontend/kube_objects.h); without one, they are added to `out` at the end of
/// the file (add_kube_objects). Other kinds: N005 note and skipped.
void parse_yaml(FileId file, const SourceManager& sm, Module& out, Diagnostics& diags, KubeObjects* kube = nullptr);

/// Adds what Kubernetes objects of the sources say to `out`: Namespace labels to
/// out.namespaces (merged with moat namespace blocks), one endpoint per workload to
/// out.cluster_workloads.
void add_kube_objects(KubeObjects& objs, Module& out, Diagnostics& diags);

} // namespace moat

namespace moat::yamlfe {
/// Levenshtein distance, for did-you-mean hints (frontend/yaml/yaml_util.cpp).
size_t edit_distance(std::string_view a, std::string_view b);
} // namespace moat::yamlfe
