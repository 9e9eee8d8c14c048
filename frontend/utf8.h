// The UTF-8 check every front end applies before parsing (E002): strict RFC 3629, so text
// that passes is text every consumer accepts (ANTLR's converter, JSON output, terminals).
#pragma once
#include <cstddef>
#include <string_view>

#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat {

/// Byte offset of the first invalid UTF-8 sequence (or NUL) in `s`, or npos. Overlong
/// forms, surrogates and code points past U+10FFFF are invalid.
size_t first_invalid_utf8(std::string_view s);

/// Reports E002 at the first invalid byte of file `f` ("'PATH' is not UTF-8 text ...") and
/// returns false; true when the whole file is valid.
bool check_utf8(FileId f, const SourceManager& sm, Diagnostics& diags);

} // namespace moat
