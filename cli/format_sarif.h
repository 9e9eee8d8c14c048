// SARIF 2.1.0 output (`--format sarif` of check, diff and test), shaped for GitHub code
// scanning: tool.driver.rules has one rule per diagnostic code, every result has a physical
// location (artifactLocation.uri relative to the checkout + region startLine/startColumn)
// and a partialFingerprints entry that survives unrelated edits (code + file + message with
// rule numbers and locations removed).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat::cli {

/// One SARIF result: a diagnostic, a failed proof, a diff cube or a failed expectation.
struct SarifResult {
  Code code = Code::E601;
  Severity severity = Severity::Error;
  std::string message;
  SourceRange range;
  std::vector<DiagNote> related;  // relatedLocations (deciding rules, shadowing denies)
  std::string fallback_uri;       // used when `range` is unknown (e.g. the file diffed)
};

SarifResult sarif_result(const Diagnostic& d);

/// The whole log, one run. `inputs` are the paths given on the command line (a result
/// without a location points at the first).
nlohmann::json sarif_log(const std::vector<SarifResult>& results, const SourceManager& sm,
                         const std::vector<std::string>& inputs);

/// The fingerprint SARIF consumers use to track a result across commits.
std::string sarif_fingerprint(const SarifResult& r, const std::string& uri);

/// A path as SARIF wants it: relative to the working directory when inside it, '/'
/// separators, percent-encoded where needed.
std::string sarif_uri(const std::string& path);

} // namespace moat::cli
