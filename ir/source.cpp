#include "ir/source.h"

#include <cstring>

namespace moat {

FileId SourceManager::add(std::string path, std::string text) {
  files_.emplace_back();
  replace(static_cast<FileId>(files_.size() - 1), std::move(path), std::move(text));
  return static_cast<FileId>(files_.size() - 1);
}

void SourceManager::replace(FileId id, std::string path, std::string text) {
  File f{std::move(path), std::move(text), {0}};
  // memchr, not a byte loop: the policies are read on one thread before anything is parsed.
  const char* begin = f.text.data();
  const char* end = begin + f.text.size();
  for (const char* p = begin; (p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr; ++p)
    f.line_starts.push_back(static_cast<uint32_t>(p - begin + 1));
  files_.at(id) = std::move(f);
}

std::string_view SourceManager::line_text(FileId id, uint32_t line) const {
  if (id >= files_.size()) return {};
  const File& f = files_[id];
  if (line == 0 || line > f.line_starts.size()) return {};
  uint32_t b = f.line_starts[line - 1];
  uint32_t e = line < f.line_starts.size() ? f.line_starts[line] : f.text.size();
  std::string_view s(f.text.data() + b, e - b);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string SourceManager::location(const SourceRange& r) const {
  if (!r.known() || r.file >= files_.size()) return "<unknown>";
  return files_[r.file].path + ":" + std::to_string(r.line) + ":" + std::to_string(r.col);
}

} // namespace moat
