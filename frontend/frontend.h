// Front ends: read policy sources (moat language, Kubernetes/Cilium/Karpenter YAML) into
// one ir::Module, reporting every mistake as a Diagnostic. Never throws, never crashes.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "frontend/kube_objects.h"
#include "ir/cni_profile.h"
#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat {

/// Default per-file size limit. `kubectl get networkpolicies -A -o yaml` of a cluster with
/// 100k policies is about 200 MB (1.5-2 KB per policy); 512 MiB leaves room for that and
/// for verbose CRDs while still refusing a runaway input before yaml-cpp expands it.
constexpr uint64_t kDefaultMaxFileBytes = uint64_t{512} << 20;

/// What the command line tells the loaders (every command that reads PATH...).
struct LoadOptions {
  /// fnmatch(3) globs; a file or directory is skipped when a glob matches its path relative
  /// to the directory being walked, or its basename. Paths named on the command line are
  /// never excluded.
  std::vector<std::string> exclude;
  uint64_t max_file_bytes = kDefaultMaxFileBytes;  // larger files: E003
  bool strict = false;   // every kind moat does not read is an error (E211)
  bool verbose = false;  // kinds with no policy meaning get an N005 note
  /// Warning and note codes switched off everywhere (--disable); load_paths hands them to
  /// the Diagnostics, so the lints that run after loading honour them too.
  std::vector<Code> disabled;
  /// Whose reading of NetworkPolicy the front end lowers (--cni; docs/CNI.md).
  CniProfile cni = kDefaultCniProfile;
  bool operator==(const LoadOptions&) const = default;
};

/// The objects read so far, by identity (group-qualified kind, namespace, name), so a
/// second object with the same identity is an error (E210) instead of a merge. Hashed:
/// identities share long prefixes ("NetworkPolicy.networking.k8s.io ns-1/..."), which an
/// ordered map compares again at every level of every lookup and merge.
struct SeenObjects {
  std::unordered_map<std::string, SourceRange> first;
  /// AdminNetworkPolicy priority -> the first policy read with it (name, where), for W220.
  std::map<int32_t, std::pair<std::string, SourceRange>> anp_priorities;
  bool operator==(const SeenObjects&) const = default;
};

/// Loads files or directories (recursively *.moat, *.yaml, *.yml, *.json, sorted) into
/// `out`; "-" reads standard input as YAML (named `<stdin>`). Unreadable files, non-UTF-8
/// text and oversize files are E00x errors.
void load_paths(const std::vector<std::string>& paths, SourceManager& sm, Module& out,
                Diagnostics& diags, const LoadOptions& opts = {});

/// Policy files read and registered in the SourceManager (FileIds handed out in load order)
/// but not parsed yet: load_paths in two steps, so a command can read all its inputs first
/// and parse them at the same time (moat check parses the inventory beside the policies).
/// Parsing only reads the SourceManager.
struct PolicyFiles {
  struct Input;  // one file, or what went wrong reading it
  std::vector<Input> inputs;
  PolicyFiles();
  PolicyFiles(PolicyFiles&&) noexcept;
  PolicyFiles& operator=(PolicyFiles&&) noexcept;
  ~PolicyFiles();
};
PolicyFiles read_policy_paths(const std::vector<std::string>& paths, SourceManager& sm, const LoadOptions& opts = {});
/// What load_paths does after reading: `diags` gets opts.disabled, then each file's
/// diagnostics in load order.
void parse_policy_files(PolicyFiles&& read, const SourceManager& sm, Module& out, Diagnostics& diags,
                        const LoadOptions& opts = {});

/// One of the two versions `moat diff` compares, read but not parsed: its files, the path
/// it was read from (files are matched by their name under it) and its options.
struct PolicyVersion {
  PolicyFiles files;
  std::string root;
  LoadOptions opts;
};
/// parse_policy_files for each version, with the files the versions share parsed once: a
/// YAML file of the new version with the same name under its root and the same bytes as
/// one of the old version (same options) takes a copy of the old file's part, its source
/// ranges moved to the new file (copy_part_to_file), when that part has no diagnostic.
/// `old_diags` and `new_diags` may be the same collector: the old version's come first.
void parse_policy_versions(PolicyVersion&& old_v, PolicyVersion&& new_v, const SourceManager& sm, Module& old_m,
                           Diagnostics& old_diags, Module& new_m, Diagnostics& new_diags);

/// Parses "512M", "2G", "64K", "1000" (bytes; suffixes are powers of 1024, case-insensitive,
/// an optional trailing 'B' or "iB"). nullopt when malformed or zero.
std::optional<uint64_t> parse_size(std::string_view text);

/// The moat language (grammar/Moat.g4): appends rules, isolations, pools, proofs, expects.
void parse_moat(FileId file, const SourceManager& sm, Module& out, Diagnostics& diags);

/// Multi-document YAML (JSON included): NetworkPolicy, CiliumNetworkPolicy,
/// CiliumClusterwideNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, NodePool
/// (karpenter.sh/v1), List of those. Namespaces, Pods
/// and workload controllers go to `kube` (frontend/kube_objects.h); without one, they are
/// added to `out` at the end of the file (add_kube_objects). Policy-like kinds moat does not
/// model: W212 (E211 with opts.strict); other kinds are skipped quietly (N005 with
/// opts.verbose). `seen` spans several files (load_paths); null: this file only.
void parse_yaml(FileId file, const SourceManager& sm, Module& out, Diagnostics& diags,
                const LoadOptions& opts = {}, SeenObjects* seen = nullptr, KubeObjects* kube = nullptr);

/// Adds what Kubernetes objects of the sources say to `out`: Namespace labels to
/// out.namespaces (merged with moat namespace blocks), one endpoint per workload to
/// out.cluster_workloads.
void add_kube_objects(KubeObjects& objs, Module& out, Diagnostics& diags);

} // namespace moat

namespace moat::yamlfe {
/// Levenshtein distance, for did-you-mean hints (frontend/yaml/yaml_util.cpp).
size_t edit_distance(std::string_view a, std::string_view b);
} // namespace moat::yamlfe
