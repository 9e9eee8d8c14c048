// The canonical text of a moat source (`moat fmt`): one statement per line, two-space
// indentation inside blocks, normalized spacing, comments kept. Idempotent.
#pragma once
#include <optional>
#include <string>

#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat {

/// Formats one file; nullopt (with diagnostics) when it does not parse. Only syntax is
/// checked: a file with unknown names still formats.
std::optional<std::string> format_moat(FileId file, const SourceManager& sm, Diagnostics& diags);

} // namespace moat
