// FQDN name and pattern matching (docs/LANGUAGE.md), without regular expressions: names are
// compared label by label, and a '*' inside a label is matched by a small NFA over the
// label's characters, so matching time is linear in the name for a fixed pattern.
#pragma once
#include <string>
#include <string_view>

namespace moat {

/// Lower-cases and strips one trailing dot: the canonical form both sides are compared in.
std::string canonical_fqdn(std::string_view name);

/// matchName: exact, case-insensitive, trailing dot ignored.
bool fqdn_name_matches(std::string_view match_name, std::string_view name);

/// matchPattern: '*' matches [-a-zA-Z0-9_]* within one label; a lone '*' matches every
/// name; a leading "**." matches one or more whole labels. Case-insensitive, trailing dot
/// ignored on both sides.
bool fqdn_pattern_matches(std::string_view pattern, std::string_view name);

} // namespace moat
