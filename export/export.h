// moat export: a loaded ir::Module written as Kubernetes NetworkPolicy YAML, Cilium policy
// YAML or the moat language, such that loading the output gives a module with the same
// verdict for every flow. What a target cannot express is an error at the rule (E910-E915),
// never an approximation; when there is any error, nothing is returned.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat::exporter {

enum class Target { Kubernetes, Cilium, Moat };

/// "kubernetes" (or "k8s"), "cilium", "moat".
std::optional<Target> parse_target(std::string_view name);
const char* target_title(Target t);  // "a Kubernetes NetworkPolicy", ... for messages

/// The output for one source file: its stem (the file name without directory and
/// extension) and the text (multi-document YAML, or moat source).
struct ExportedFile {
  std::string stem;
  std::string text;
};

/// Translates `m` (loaded from sources registered in `sm`) to `target`. The files come in
/// the order of their sources; objects inside a file in the order their rules were read.
/// Errors and warnings go to `diags`; on any error the result is empty.
std::vector<ExportedFile> export_module(const Module& m, const SourceManager& sm, Target target, Diagnostics& diags);

} // namespace moat::exporter
