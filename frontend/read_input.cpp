// Shared file gates for inputs that are not policy paths (frontend/read_input.h).
#include "frontend/read_input.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/utf8.h"

namespace moat {

bool read_file_text(const std::string& path, uint64_t size, std::string& text) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) return false;
  text.assign(static_cast<size_t>(size), '\0');
  // The size can change between the stat and the read: read what is there now, as a
  // stream to the end would.
  stream.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<size_t>(stream.gcount()));
  if (stream.gcount() == static_cast<std::streamsize>(size)) {
    std::stringstream rest;
    rest << stream.rdbuf();
    text += rest.str();
  }
  return !stream.bad();
}

std::optional<FileId> read_input_file(const std::string& path, uint64_t max_bytes, const std::string& what,
                                      SourceManager& sm, Diagnostics& diags) {
  auto cannot_read = [&] {
    FileId f = sm.add(path, "");
    diags.report(Code::E001, SourceRange::at(f, 1, 1), "cannot read " + what + " '" + path + "'");
    return std::nullopt;
  };
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) size = 0;  // not a regular file (a pipe, /dev/stdin): read to its end
  if (size > max_bytes) {
    FileId f = sm.add(path, "");
    diags.report(Code::E003, SourceRange::at(f, 1, 1),
                 "'" + path + "' is " + std::to_string(size) + " bytes; " + what + "s are limited to " +
                     std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  std::string text;
  if (!read_file_text(path, size, text)) return cannot_read();
  FileId f = sm.add(path, std::move(text));
  if (!check_utf8(f, sm, diags)) return std::nullopt;
  return f;
}

} // namespace moat
