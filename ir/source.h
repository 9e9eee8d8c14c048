// Source files and ranges: every IR node points back to the text it came from.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moat {

using FileId = uint32_t;
constexpr FileId kNoFile = UINT32_MAX;

/// A half-open span of a source file; lines and columns are 1-based (columns in bytes).
/// A default-constructed range is "unknown" (file == kNoFile).
struct SourceRange {
  FileId file = kNoFile;
  uint32_t line = 0, col = 0;
  uint32_t end_line = 0, end_col = 0;
  bool known() const { return file != kNoFile; }
  static SourceRange at(FileId f, uint32_t line, uint32_t col, uint32_t len = 1) {
    return SourceRange{f, line, col, line, col + (len ? len : 1)};
  }
  bool operator==(const SourceRange&) const = default;
};

/// Owns the text of every loaded file; hands out FileIds and the text of a line.
class SourceManager {
public:
  FileId add(std::string path, std::string text);
  /// Puts new text in an existing entry, so that a long-lived reader (the agent's watched
  /// inventory: one entry per live object, reused) does not add one per change.
  void replace(FileId id, std::string path, std::string text);
  const std::string& path(FileId id) const { return files_.at(id).path; }
  const std::string& text(FileId id) const { return files_.at(id).text; }
  /// The text of 1-based line `line` without its newline ("" when out of range).
  std::string_view line_text(FileId id, uint32_t line) const;
  /// "path:line:col" for a known range, "<unknown>" otherwise.
  std::string location(const SourceRange& r) const;
  size_t size() const { return files_.size(); }

private:
  struct File {
    std::string path, text;
    std::vector<uint32_t> line_starts;
  };
  std::vector<File> files_;
};

} // namespace moat
