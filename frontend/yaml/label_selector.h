// Kubernetes label maps and label selectors (matchLabels + matchExpressions) as both
// Kubernetes and Cilium write them, validated the way the API server validates them.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "frontend/yaml/yaml_util.h"

namespace moat::yamlfe {

/// Cilium keys may carry a source prefix (`k8s:app`, `reserved:host`); Kubernetes keys may not.
enum class LabelFlavor { Kubernetes, Cilium };

/// Splits a Cilium key into (source, key): "k8s:app" -> ("k8s", "app"); "app" -> ("", "app").
/// Only known Cilium label sources count as a prefix.
std::pair<std::string, std::string> split_label_source(std::string_view key);

/// A label map (matchLabels, template labels). Keys and values are validated (E306) and must
/// be strings (E202). Entries are kept in source order; nullopt if any entry was invalid.
struct LabelEntry {
  std::string key, value;
  SourceRange range;
};
std::optional<std::vector<LabelEntry>> parse_label_map(Ctx& ctx, const doc::Node& node, std::string_view what,
                                                       LabelFlavor flavor, SourceRange fallback);

/// {matchLabels, matchExpressions}: matchLabels become In with one value; expressions are
/// checked for operator and values (E310). Keys are returned as written (with any source
/// prefix). nullopt when the selector is invalid (diagnostics reported).
std::optional<LabelSelector> parse_label_selector(Ctx& ctx, const doc::Node& node, std::string_view what,
                                                  LabelFlavor flavor, SourceRange fallback);

} // namespace moat::yamlfe
