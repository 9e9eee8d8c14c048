#include "tests/moat_lang/moat_lang_helpers.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace moat::test {

std::unique_ptr<Parsed> parse(const std::string& text, const std::string& name) {
  auto p = std::make_unique<Parsed>();
  p->file = parse_more(*p, text, name);
  return p;
}

FileId parse_more(Parsed& p, const std::string& text, const std::string& name) {
  FileId f = p.sm.add(name, text);
  parse_moat(f, p.sm, p.module, p.diags);
  return f;
}

std::string diag_lines(const Parsed& p) {
  std::string out;
  for (const Diagnostic& d : p.diags.all()) {
    const SourceRange& r = d.range;
    out += fmt::format("{}:{}:{}-{}:{} {} {}\n", r.known() ? p.sm.path(r.file) : "?", r.line, r.col, r.end_line,
                       r.end_col, code_name(d.code), d.message);
    for (const DiagNote& n : d.notes)
      out += fmt::format("  note {}:{}: {}\n", n.range.line, n.range.col, n.message);
  }
  return out;
}

std::string first_diag(const Parsed& p) {
  if (p.diags.all().empty()) return "";
  const Diagnostic& d = p.diags.all().front();
  return fmt::format("{}:{} {}", d.range.line, d.range.col, code_name(d.code));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string check_golden(const std::string& name, const std::string& actual) {
  std::string path = std::string(MOAT_SOURCE_DIR) + "/tests/golden/moat_lang/" + name;
  const char* update = std::getenv("UPDATE_GOLDENS");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return "";
  }
  std::ifstream probe(path);
  if (!probe) return "golden file " + path + " is missing (run with UPDATE_GOLDENS=1)";
  std::string expected = read_text(path);
  if (expected == actual) return "";
  // Point at the first differing line; the full texts are in the failure output anyway.
  std::istringstream a(actual), e(expected);
  std::string la, le;
  for (int line = 1;; ++line) {
    bool ga = static_cast<bool>(std::getline(a, la)), ge = static_cast<bool>(std::getline(e, le));
    if (!ga && !ge) break;
    if (!ga || !ge || la != le)
      return fmt::format("{} differs at line {}:\n  expected: {}\n  actual:   {}", path, line, ge ? le : "<eof>",
                         ga ? la : "<eof>");
  }
  return path + " differs (line endings?)";
}

std::string input_path(const std::string& name) {
  return std::string(MOAT_SOURCE_DIR) + "/tests/moat_lang/inputs/" + name;
}

} // namespace moat::test
