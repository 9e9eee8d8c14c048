// Rendering of diagnostics: text (file:line:col: error[CODE]: message, the line, a caret)
// and JSON. The only place diagnostics become text.
#pragma once
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "ir/diagnostic.h"
#include "ir/source.h"

namespace moat::cli {

/// True when `f` is a terminal and NO_COLOR is unset.
bool use_color(std::FILE* f);
std::string render_diagnostic(const Diagnostic& d, const SourceManager& sm, bool color);
/// Prints every diagnostic to `out`, in the order reported.
void print_diagnostics(const Diagnostics& diags, const SourceManager& sm, std::FILE* out);
nlohmann::json diagnostic_json(const Diagnostic& d, const SourceManager& sm);

} // namespace moat::cli
