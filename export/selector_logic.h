// Structural facts about IR selectors that the exporters decide on: equality, one selector
// implying another, two selectors that no endpoint can both satisfy, and the one namespace
// a selector is confined to. All are syntactic and sound: "true" is always right, "false"
// may only mean "cannot tell", which the exporters turn into an error, never a guess.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace moat::exporter {

/// `s` without requirements every workload meets (the namespace name label exists: Cilium
/// writes "every namespace" that way).
EndpointSelector normalized(const EndpointSelector& s);

/// A canonical text of the selector (requirements sorted), for equality and map keys.
std::string canonical(const LabelSelector& s);
std::string canonical(const EndpointSelector& s);
bool same_selector(const EndpointSelector& a, const EndpointSelector& b);
bool same_ports(const std::vector<PortMatch>& a, const std::vector<PortMatch>& b);

/// Every endpoint `narrow` selects is selected by `broad`: each requirement of `broad`
/// appears in `narrow` (syntactically).
bool implies(const EndpointSelector& narrow, const EndpointSelector& broad);
/// No endpoint satisfies both (a key required with disjoint value sets, or required to
/// exist in one and to be absent in the other).
bool disjoint(const EndpointSelector& a, const EndpointSelector& b);

/// The namespace name when `ns` is exactly "kubernetes.io/metadata.name in [NAME]".
std::optional<std::string> single_namespace(const LabelSelector& ns);
/// The namespace names when `ns` is exactly "kubernetes.io/metadata.name in [A, B, ...]".
std::optional<std::vector<std::string>> namespace_list(const LabelSelector& ns);

/// disjoint(), or one of them names only declared namespaces whose labels the other's
/// namespace requirements reject (declared namespaces have exactly their declared labels).
bool disjoint_in(const Module& m, const EndpointSelector& a, const EndpointSelector& b);

/// Some isolation of `m` in `dir` covers every endpoint `subject` selects.
bool covered_by_isolation(const Module& m, const EndpointSelector& subject, Direction dir);
/// No isolation of `m` in `dir` selects any endpoint `subject` selects.
bool outside_isolations(const Module& m, const EndpointSelector& subject, Direction dir);

} // namespace moat::exporter
