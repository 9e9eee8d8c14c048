#include "frontend/utf8.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace moat {

namespace {

/// Whether the 8 bytes at `p` are ASCII without a NUL (the common case, skipped at once).
bool plain_ascii8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  constexpr uint64_t kHigh = 0x8080808080808080ULL, kOnes = 0x0101010101010101ULL;
  // A byte is >= 0x80 when its high bit is set; (w - ones) & ~w & high flags a zero byte.
  return ((w | ((w - kOnes) & ~w)) & kHigh) == 0;
}

} // namespace

size_t first_invalid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    if (i + 8 <= n && plain_ascii8(s.data() + i)) {
      i += 8;
      continue;
    }
    unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (c == 0 || len == 0 || i + len > n) return i;
    // Overlong 2-byte forms (C0, C1) and code points past U+10FFFF are invalid too; the
    // converter ANTLR uses throws on them.
    if (c == 0xC0 || c == 0xC1 || c > 0xF4) return i;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return i;
    if (len == 3) {
      unsigned char c1 = s[i + 1];
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return i;  // overlong, surrogates
    }
    if (len == 4) {
      unsigned char c1 = s[i + 1];
      if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

bool check_utf8(FileId f, const SourceManager& sm, Diagnostics& diags) {
  const std::string& text = sm.text(f);
  size_t bad = first_invalid_utf8(text);
  if (bad == std::string::npos) return true;
  uint32_t line = 1 + std::count(text.begin(), text.begin() + bad, '\n');
  size_t nl = text.rfind('\n', bad ? bad - 1 : 0);
  uint32_t col = static_cast<uint32_t>(bad - (nl == std::string::npos || bad == 0 ? 0 : nl + 1)) + 1;
  diags.report(Code::E002, SourceRange::at(f, line, col),
               "'" + sm.path(f) + "' is not UTF-8 text (invalid byte at offset " + std::to_string(bad) + ")");
  return false;
}

} // namespace moat
