// Shared file gates for inputs that are not policy paths (frontend/read_input.h).
#include "frontend/read_input.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/utf8.h"

namespace moat {

std::optional<FileId> read_input_file(const std::string& path, uint64_t max_bytes, const std::string& what,
                                      SourceManager& sm, Diagnostics& diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    FileId f = sm.add(path, "");
    diags.report(Code::E001, SourceRange::at(f, 1, 1), "cannot read " + what + " '" + path + "'");
    return std::nullopt;
  }
  std::error_code ec;
  if (uintmax_t size = std::filesystem::file_size(path, ec); !ec && size > max_bytes) {
    FileId f = sm.add(path, "");
    diags.report(Code::E003, SourceRange::at(f, 1, 1),
                 "'" + path + "' is " + std::to_string(size) + " bytes; " + what + "s are limited to " +
                     std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  FileId f = sm.add(path, buf.str());
  if (!check_utf8(f, sm, diags)) return std::nullopt;
  return f;
}

} // namespace moat
