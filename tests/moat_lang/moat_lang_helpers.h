// Helpers shared by the moat language tests: parse a string as a .moat file, summarize
// diagnostics as "file:line:col CODE message", read and compare golden files.
#pragma once
#include <memory>
#include <string>

#include "frontend/frontend.h"
#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat::test {

struct Parsed {
  SourceManager sm;
  Module module;
  Diagnostics diags;
  FileId file = kNoFile;
};

/// Parses `text` as the moat file `name` (appending to a fresh module).
std::unique_ptr<Parsed> parse(const std::string& text, const std::string& name = "t.moat");
/// Parses one more file into an existing result (cross-file declarations).
FileId parse_more(Parsed& p, const std::string& text, const std::string& name);
/// One line per diagnostic: "t.moat:3:5-3:9 E102 message"; notes indented below.
std::string diag_lines(const Parsed& p);
/// The first diagnostic as "line:col CODE", or "" when there is none.
std::string first_diag(const Parsed& p);
std::string read_text(const std::string& path);
/// Compares `actual` with the golden file (path relative to tests/golden/moat_lang/);
/// rewrites the file instead when UPDATE_GOLDENS=1. Returns "" or a description of the diff.
std::string check_golden(const std::string& name, const std::string& actual);
/// A moat source for the inputs directory tests/moat_lang/inputs/NAME.
std::string input_path(const std::string& name);

} // namespace moat::test
