// Shared machinery of the YAML/JSON front ends: source ranges from the document tree's
// marks (doc.h), typed field access that reports E202/E203/E204, and a budget against
// alias expansion. Internal to frontend/yaml; nothing here throws.
#pragma once
#include "frontend/yaml/doc.h"

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
  uint32_t line_offset = 0;  // marks are relative to the document's `---` chunk
  size_t visits = 0;         // nodes visited and rules made; aliases can make a small file look huge
  bool exhausted = false;
  /// Aliases (`*a`) share nodes, so rules = items x peers can explode. Without aliases a
  /// document cannot visit more nodes or make more rules than it has bytes, so the budget
  /// is a floor plus twice its size (set by the driver).
  size_t max_visits = 100'000;
  const LoadOptions* opts = nullptr;  // command-line switches (strict, verbose); null: defaults
  SeenObjects* seen = nullptr;        // object identities read so far (duplicates: E210)

  /// Counts `n` more visited nodes or rules; false (with one E201) once the budget is spent.
  bool spend(size_t n, const doc::Node& at);
};

/// The range of `node` (1-based), spanning its first token on its line; `fallback` when
/// it has no mark (an empty value, an undefined node).
SourceRange range_of(const Ctx& ctx, const doc::Node& node, SourceRange fallback = {});

/// "a mapping", "a list", "null", "the string 'x'" — for E202 messages.
std::string describe(const doc::Node& node);
/// True when `node` is a scalar written without quotes or an explicit tag.
bool is_plain(const doc::Node& node);
/// True when a plain scalar resolves to null/bool/int/float rather than a string in the
/// YAML the Kubernetes tools use (YAML 1.1 booleans such as `yes` included).
bool plain_is_non_string(const doc::Node& node);
/// True when the node is absent or null (`key:` with no value, `~`, `null`).
bool is_null(const doc::Node& node);

/// A YAML mapping checked against the fields its schema allows. A null node is an empty
/// mapping; any other non-mapping reports E202 and yields an invalid, empty view.
class Map {
public:
  Map(Ctx& ctx, const doc::Node& node, std::string what, SourceRange fallback = {});

  bool valid() const { return valid_; }
  const std::string& what() const { return what_; }
  SourceRange range() const { return range_; }
  const doc::Node& node() const { return node_; }
  bool empty() const { return entries_.empty(); }

  /// Present (possibly with a null value)?
  bool has(std::string_view key) const { return find(key) != nullptr; }
  /// The value, or an undefined node when absent.
  doc::Node get(std::string_view key) const;
  /// Range of the key token (the mapping's range when absent).
  SourceRange key_range(std::string_view key) const;
  /// Range of the value, falling back to the key when the value has no mark.
  SourceRange value_range(std::string_view key) const;
  /// E203 for each key not in `known` (with a did-you-mean). (Repeated keys are E201s of
  /// the tree builder; the first one is the entry.)
  void check(std::initializer_list<std::string_view> known) const;
  /// W208 when `key` is present: Cilium/Kubernetes honour it, moat does not.
  bool unmodeled(std::string_view key, std::string_view consequence) const;
  /// E204 when `key` is absent or null; returns whether it is present.
  bool require(std::string_view key) const;

  struct Entry {
    std::string key;
    doc::Node key_node, value;
  };
  const std::vector<Entry>& entries() const { return entries_; }

private:
  const Entry* find(std::string_view key) const;
  Ctx* ctx_;
  doc::Node node_;
  std::string what_;
  SourceRange range_;
  std::vector<Entry> entries_;
  bool valid_ = true;
};

/// The items of a list field; null gives none; a non-list reports E202.
std::vector<doc::Node> list_items(Ctx& ctx, const doc::Node& node, std::string_view what,
                                   SourceRange fallback = {});
/// A scalar as text (E202 for maps/lists/null).
std::optional<std::string> scalar_string(Ctx& ctx, const doc::Node& node, std::string_view what,
                                         SourceRange fallback = {});
/// A string field that Kubernetes types as string: also E202 for unquoted numbers/bools.
std::optional<std::string> strict_string(Ctx& ctx, const doc::Node& node, std::string_view what,
                                         SourceRange fallback = {});
/// An integer scalar (decimal, optional sign); E202 otherwise.
std::optional<int64_t> scalar_int(Ctx& ctx, const doc::Node& node, std::string_view what,
                                  SourceRange fallback = {});
/// true/false (and the YAML 1.1 spellings); E202 otherwise.
std::optional<bool> scalar_bool(Ctx& ctx, const doc::Node& node, std::string_view what,
                                SourceRange fallback = {});
/// Parses decimal digits only (no sign, no spaces); nullopt when not a number.
std::optional<int64_t> parse_decimal(std::string_view text);

/// IANA service name as Kubernetes validates named ports: <= 15 chars of [a-z0-9-], at
/// least one letter, no leading/trailing/double '-'. Returns why not, or nullopt.
std::optional<std::string> check_port_name(std::string_view name);

/// Levenshtein distance, for did-you-mean hints.
size_t edit_distance(std::string_view a, std::string_view b);

} // namespace moat::yamlfe
