// Writing a command's output file so that a reader sees the old file or the new one,
// never half of one (moat fmt --write, moat export -o).
#pragma once
#include <filesystem>
#include <string>

namespace moat::cli {

/// Writes `text` next to `path` and renames it over `path`, keeping the file's mode.
/// False (with `error` set, nothing left behind) when it cannot.
bool write_atomically(const std::filesystem::path& path, const std::string& text, std::string& error);

} // namespace moat::cli
