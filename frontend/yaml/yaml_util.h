// Shared machinery of the YAML front ends: source ranges from yaml-cpp marks, typed field
// access that reports E202/E203/E204, and a budget against alias expansion. Internal to
// frontend/yaml; nothing here throws past the driver (parse_yaml.cpp catches yaml-cpp).
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frontend/frontend.h"
#include "ir/diagnostic.h"
#include "frontend/kube_objects.h"
#include "ir/ir.h"

namespace moat::yamlfe {

/// Per-document state shared by the kind parsers.
struct Ctx {
  FileId file;
  const SourceManager& sm;
  Module& out;
  Diagnostics& diags;
  KubeObjects* kube = nullptr;  // where Namespaces, Pods and workload controllers go
  uint32_t line_offset = 0;  // yaml-cpp marks are relative to the document chunk
  size_t visits = 0;         // nodes visited and rules made; aliases can make a small file look huge
  bool exhausted = false;
  /// Aliases (`*a`) share nodes, so rules = items x peers can explode. Without aliases a
  /// document cannot visit more nodes or make more rules than it has bytes, so the budget
  /// is a floor plus twice its size (set by the driver).
  size_t max_visits = 100'000;
  const LoadOptions* opts = nullptr;  // command-line switches (strict, verbose); null: defaults
  SeenObjects* seen = nullptr;        // object identities read so far (duplicates: E210)

  /// Counts `n` more visited nodes or rules; false (with one E201) once the budget is spent.
  bool spend(size_t n, const YAML::Node& at);
};

/// The range of `node` (1-based), spanning its first token on its line; `fallback` when
/// yaml-cpp has no mark for it (null values, zombie nodes).
SourceRange range_of(const Ctx& ctx, const YAML::Node& node, SourceRange fallback = {});
/// The range of a yaml-cpp mark (used for exceptions).
SourceRange range_of_mark(const Ctx& ctx, const YAML::Mark& mark);

/// "a mapping", "a list", "null", "the string 'x'" — for E202 messages.
std::string describe(const YAML::Node& node);
/// True when `node` is a scalar written without quotes or an explicit tag.
bool is_plain(const YAML::Node& node);
/// True when a plain scalar resolves to null/bool/int/float rather than a string in the
/// YAML the Kubernetes tools use (YAML 1.1 booleans such as `yes` included).
bool plain_is_non_string(const YAML::Node& node);
/// True when the node is absent or null (`key:` with no value, `~`, `null`).
bool is_null(const YAML::Node& node);

/// A YAML mapping checked against the fields its schema allows. A null node is an empty
/// mapping; any other non-mapping reports E202 and yields an invalid, empty view.
class Map {
public:
  Map(Ctx& ctx, const YAML::Node& node, std::string what, SourceRange fallback = {});

  bool valid() const { return valid_; }
  const std::string& what() const { return what_; }
  SourceRange range() const { return range_; }
  const YAML::Node& node() const { return node_; }
  bool empty() const { return entries_.empty(); }

  /// Present (possibly with a null value)?
  bool has(std::string_view key) const { return find(key) != nullptr; }
  /// The value, or an undefined node when absent.
  YAML::Node get(std::string_view key) const;
  /// Range of the key token (the mapping's range when absent).
  SourceRange key_range(std::string_view key) const;
  /// Range of the value, falling back to the key when the value has no mark.
  SourceRange value_range(std::string_view key) const;
  /// E203 for each key not in `known` (with a did-you-mean), E201 for duplicate keys.
  void check(std::initializer_list<std::string_view> known) const;
  /// W208 when `key` is present: Cilium/Kubernetes honour it, moat does not.
  bool unmodeled(std::string_view key, std::string_view consequence) const;
  /// E204 when `key` is absent or null; returns whether it is present.
  bool require(std::string_view key) const;

  struct Entry {
    std::string key;
    YAML::Node key_node, value;
  };
  const std::vector<Entry>& entries() const { return entries_; }

private:
  const Entry* find(std::string_view key) const;
  Ctx* ctx_;
  YAML::Node node_;
  std::string what_;
  SourceRange range_;
  std::vector<Entry> entries_;
  bool valid_ = true;
};

/// The items of a list field; null gives none; a non-list reports E202.
std::vector<YAML::Node> list_items(Ctx& ctx, const YAML::Node& node, std::string_view what,
                                   SourceRange fallback = {});
/// A scalar as text (E202 for maps/lists/null).
std::optional<std::string> scalar_string(Ctx& ctx, const YAML::Node& node, std::string_view what,
                                         SourceRange fallback = {});
/// A string field that Kubernetes types as string: also E202 for unquoted numbers/bools.
std::optional<std::string> strict_string(Ctx& ctx, const YAML::Node& node, std::string_view what,
                                         SourceRange fallback = {});
/// An integer scalar (decimal, optional sign); E202 otherwise.
std::optional<int64_t> scalar_int(Ctx& ctx, const YAML::Node& node, std::string_view what,
                                  SourceRange fallback = {});
/// true/false (and the YAML 1.1 spellings); E202 otherwise.
std::optional<bool> scalar_bool(Ctx& ctx, const YAML::Node& node, std::string_view what,
                                SourceRange fallback = {});
/// Parses decimal digits only (no sign, no spaces); nullopt when not a number.
std::optional<int64_t> parse_decimal(std::string_view text);

/// IANA service name as Kubernetes validates named ports: <= 15 chars of [a-z0-9-], at
/// least one letter, no leading/trailing/double '-'. Returns why not, or nullopt.
std::optional<std::string> check_port_name(std::string_view name);

/// A document of a YAML file; yaml-cpp marks in it count from `line_offset` (0-based), the
/// line its `---` chunk starts at.
struct Document {
  YAML::Node node;
  uint32_t line_offset;
};
/// Every document of a file, through the driver's guards against hostile input (nesting,
/// documents yaml-cpp would never finish reading: `YAML::LoadAll` loops forever on some).
/// nullopt, with an E201 at the first problem, when any of it is not readable YAML.
std::optional<std::vector<Document>> load_documents(FileId file, const SourceManager& sm, Diagnostics& diags);

/// Levenshtein distance, for did-you-mean hints.
size_t edit_distance(std::string_view a, std::string_view b);

} // namespace moat::yamlfe
