// yaml-cpp emitter helpers shared by the Kubernetes and Cilium writers: scalars quoted
// whenever a plain scalar could be read back as something else, label selectors, and the
// Namespace objects that carry the namespace labels the policies' selectors look at.
#pragma once
#include <functional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "ir/ir.h"

namespace moat::exporter {

/// Emits `s` plain when it reads back as the same string, double-quoted otherwise
/// ("80", "true", "", "a: b").
void emit_string(YAML::Emitter& out, const std::string& s);

/// A CIDR, plain (`10.0.0.0/8`) unless it starts with ':' (`"::/0"`), which a plain scalar
/// may not.
void emit_prefix(YAML::Emitter& out, const IpPrefix& p);

/// matchLabels (single-value `in` requirements, first per key) and matchExpressions (the
/// rest), with each key passed through `key_of`. An empty list emits `{}`.
void emit_label_selector(YAML::Emitter& out, const std::vector<LabelRequirement>& reqs,
                         const std::function<std::string(const std::string&)>& key_of);

/// One `v1 Namespace` document per namespace the module knows, with its labels (the name
/// label is implied and left out), in name order. Empty when there are none.
std::string namespace_documents(const Module& m);

/// Closes an object's inner map (`spec`, `metadata`) and the object itself, and returns
/// the text of the document, with the `---` separator in front.
std::string close_document(YAML::Emitter& out);

} // namespace moat::exporter
