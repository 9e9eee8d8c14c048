// Markdown table cells for the outputs meant for pull-request comments (`moat list --format
// md`, `moat diff --format md`): a '|' would end the cell and a line break the row.
#pragma once
#include <string>

namespace moat::cli {

inline std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += "<br>";
    else
      out += c;
  }
  return out;
}

} // namespace moat::cli
