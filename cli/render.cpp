#include "cli/render.h"

#include <cstdlib>
#include <unistd.h>

#include <fmt/format.h>

namespace moat::cli {

namespace {
const char* severity_word(Severity s) {
  switch (s) {
  case Severity::Error: return "error";
  case Severity::Warning: return "warning";
  case Severity::Note: return "note";
  }
  return "error";
}

const char* severity_color(Severity s) {
  switch (s) {
  case Severity::Error: return "\033[1;31m";
  case Severity::Warning: return "\033[1;35m";
  case Severity::Note: return "\033[1;36m";
  }
  return "";
}

/// The source line (tabs kept so the caret lines up) and a caret/underline below it.
void render_snippet(std::string& out, const SourceRange& r, const SourceManager& sm, bool color) {
  if (!r.known()) return;
  std::string_view line = sm.line_text(r.file, r.line);
  if (line.empty() && r.line == 0) return;
  // Keep printable output even for binary garbage: replace control bytes.
  std::string shown;
  size_t limit = std::min<size_t>(line.size(), 400);
  for (size_t i = 0; i < limit; ++i) {
    unsigned char c = line[i];
    shown += (c == '\t' || c >= 0x20) && c != 0x7f ? static_cast<char>(c) : '?';
  }
  if (line.size() > limit) shown += "...";
  out += fmt::format("{:>5} | {}\n", r.line, shown);
  std::string pad;
  for (uint32_t i = 1; i < r.col && i - 1 < shown.size(); ++i) pad += shown[i - 1] == '\t' ? '\t' : ' ';
  uint32_t len = 1;
  if (r.end_line == r.line && r.end_col > r.col) len = r.end_col - r.col;
  len = std::min<uint32_t>(len, 200);
  std::string marks = "^" + std::string(len - 1, '~');
  out += fmt::format("      | {}{}{}{}\n", pad, color ? "\033[1;32m" : "", marks, color ? "\033[0m" : "");
}
} // namespace

bool use_color(std::FILE* f) { return isatty(fileno(f)) && !std::getenv("NO_COLOR"); }

std::string render_diagnostic(const Diagnostic& d, const SourceManager& sm, bool color) {
  std::string out;
  std::string loc = d.range.known() ? sm.location(d.range) + ": " : std::string("moat: ");
  if (color)
    out += fmt::format("\033[1m{}\033[0m{}{}[{}]\033[0m: \033[1m{}\033[0m\n", loc,
                       severity_color(d.severity), severity_word(d.severity), code_name(d.code),
                       d.message);
  else
    out += fmt::format("{}{}[{}]: {}\n", loc, severity_word(d.severity), code_name(d.code), d.message);
  render_snippet(out, d.range, sm, color);
  for (const DiagNote& n : d.notes) {
    std::string nloc = n.range.known() ? sm.location(n.range) + ": " : std::string();
    out += fmt::format("{}note: {}\n", nloc, n.message);
    render_snippet(out, n.range, sm, color);
  }
  return out;
}

void print_diagnostics(const Diagnostics& diags, const SourceManager& sm, std::FILE* out) {
  bool color = use_color(out);
  for (const Diagnostic& d : diags.all()) std::fputs(render_diagnostic(d, sm, color).c_str(), out);
}

nlohmann::json diagnostic_json(const Diagnostic& d, const SourceManager& sm) {
  nlohmann::json j = {{"severity", severity_word(d.severity)},
                      {"code", std::string(code_name(d.code))},
                      {"message", d.message}};
  if (d.range.known())
    j["location"] = {{"file", sm.path(d.range.file)}, {"line", d.range.line}, {"column", d.range.col},
                     {"endLine", d.range.end_line}, {"endColumn", d.range.end_col}};
  for (const DiagNote& n : d.notes) {
    nlohmann::json nj = {{"message", n.message}};
    if (n.range.known())
      nj["location"] = {{"file", sm.path(n.range.file)}, {"line", n.range.line}, {"column", n.range.col}};
    j["notes"].push_back(nj);
  }
  return j;
}

} // namespace moat::cli
