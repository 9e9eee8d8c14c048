// Export a module, load the output back with the real front ends and prove the two
// equivalent with the verifier's semantic diff: the check every export test makes.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "export/export.h"
#include "ir/source.h"
#include "verifier/verifier.h"

namespace moat::testing {

struct Roundtrip {
  std::vector<Diagnostic> errors;  // the export's errors (then nothing else is set)
  std::vector<Diagnostic> warnings;
  std::string text;                // every exported file, concatenated
  std::string reload_errors;       // rendered diagnostics of loading the output back
  std::optional<DiffReport> diff;  // input vs reloaded output
  Module reloaded;
};

/// Exports `m` (whose sources are in `sm`) to `target`, writes the files to a fresh
/// temporary directory, loads that directory and diffs it against `m`.
Roundtrip roundtrip(const Module& m, const SourceManager& sm, exporter::Target target);

/// The codes of `diags`, in order ("E910", ...).
std::vector<std::string> codes(const std::vector<Diagnostic>& diags);

} // namespace moat::testing
