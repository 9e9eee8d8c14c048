// SARIF 2.1.0 writer (see format_sarif.h). Reference: OASIS SARIF 2.1.0, sections 3.13
// (sarifLog), 3.19 (tool.driver), 3.27 (result), 3.28 (location), 3.30 (region), and
// GitHub's "SARIF support for code scanning" (required: ruleId, message.text, a location
// with artifactLocation.uri and region.startLine; partialFingerprints used for tracking).
#include "cli/format_sarif.h"

#include <cctype>
#include <filesystem>
#include <map>

#include <fmt/format.h>

namespace moat::cli {

namespace {

const char* level(Severity s) {
  switch (s) {
  case Severity::Error: return "error";
  case Severity::Warning: return "warning";
  case Severity::Note: return "note";
  }
  return "error";
}

nlohmann::json physical_location(const SourceRange& r, const SourceManager& sm, const std::string& fallback) {
  nlohmann::json region = {{"startLine", 1}, {"startColumn", 1}};
  std::string uri = fallback;
  if (r.known()) {
    uri = sarif_uri(sm.path(r.file));
    region = {{"startLine", std::max<uint32_t>(r.line, 1)}, {"startColumn", std::max<uint32_t>(r.col, 1)}};
    if (r.end_line >= r.line && r.end_line > 0) {
      region["endLine"] = r.end_line;
      if (r.end_col > 0 && (r.end_line > r.line || r.end_col > r.col)) region["endColumn"] = r.end_col;
    }
  }
  return {{"artifactLocation", {{"uri", uri}, {"uriBaseId", "%SRCROOT%"}}}, {"region", region}};
}

/// Drops what changes when unrelated parts of a policy change: rule numbers ("#12") and
/// source positions ("file:3:7"), and collapses whitespace.
std::string normalize(const std::string& msg) {
  std::string out;
  for (size_t i = 0; i < msg.size(); ++i) {
    char c = msg[i];
    if ((c == '#' || c == ':') && i + 1 < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i + 1]))) {
      ++i;
      while (i + 1 < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i + 1]))) ++i;
      out += c == '#' ? "#N" : ":N";
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

std::string sarif_uri(const std::string& path) {
  namespace fs = std::filesystem;
  std::string p = path;
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::path(path), ec);
  fs::path cwd = fs::current_path(ec);
  if (!ec && !abs.empty()) {
    fs::path rel = abs.lexically_relative(cwd);
    if (!rel.empty() && rel.native().rfind("..", 0) != 0) p = rel.generic_string();
    else if (fs::path(path).is_absolute()) p = abs.generic_string();
  }
  // RFC 3986: keep unreserved characters and '/', percent-encode the rest.
  std::string out;
  for (unsigned char c : p) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  if (!out.empty() && out[0] == '/') out = "file://" + out;
  return out;
}

std::string sarif_fingerprint(const SarifResult& r, const std::string& uri) {
  std::string key = std::string(code_name(r.code)) + "\n" + uri + "\n" + normalize(r.message);
  uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bit: stable across platforms and runs
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

SarifResult sarif_result(const Diagnostic& d) {
  return SarifResult{d.code, d.severity, d.message, d.range, d.notes, ""};
}

nlohmann::json sarif_log(const std::vector<SarifResult>& results, const SourceManager& sm,
                         const std::vector<std::string>& inputs) {
  std::string fallback = inputs.empty() ? std::string(".") : sarif_uri(inputs[0]);
  nlohmann::json rules = nlohmann::json::array();
  std::map<Code, size_t> index;
  for (Code c : all_codes()) {
    index[c] = rules.size();
    std::string id(code_name(c));
    rules.push_back({{"id", id},
                     {"name", id},
                     {"shortDescription", {{"text", std::string(code_summary(c))}}},
                     {"fullDescription", {{"text", std::string(code_summary(c))}}},
                     {"defaultConfiguration", {{"level", level(code_severity(c))}}},
                     {"properties", {{"tags", {"network-policy", "moat"}}}}});
  }
  nlohmann::json out = nlohmann::json::array();
  for (const SarifResult& r : results) {
    nlohmann::json loc = physical_location(r.range, sm, r.fallback_uri.empty() ? fallback : sarif_uri(r.fallback_uri));
    std::string uri = loc["artifactLocation"]["uri"];
    nlohmann::json res = {{"ruleId", std::string(code_name(r.code))},
                          {"ruleIndex", index[r.code]},
                          {"level", level(r.severity)},
                          {"message", {{"text", r.message}}},
                          {"locations", {{{"physicalLocation", loc}}}},
                          {"partialFingerprints", {{"moatFingerprint/v1", sarif_fingerprint(r, uri)}}}};
    nlohmann::json related = nlohmann::json::array();
    for (const DiagNote& n : r.related) {
      if (!n.range.known()) continue;
      related.push_back({{"id", related.size()},
                         {"physicalLocation", physical_location(n.range, sm, fallback)},
                         {"message", {{"text", n.message}}}});
    }
    if (!related.empty()) res["relatedLocations"] = related;
    out.push_back(res);
  }
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs",
           {{{"tool",
              {{"driver",
                {{"name", "moat"},
                 {"semanticVersion", "0.1.0"},
                 {"rules", rules}}}}},
             {"results", out}}}}};
}

} // namespace moat::cli
