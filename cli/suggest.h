// "Did you mean": the closest command or option name to a mistyped one, for usage errors.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace moat::cli {

/// Edit distance with adjacent transpositions counted as one edit ("chekc" -> "check": 1).
size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word`: within two edits (one for words of up to four
/// characters), or the only candidate that `word` is a prefix of. nullopt when none or a tie.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

/// Explains a usage error CLI11 reported for argv: an unknown subcommand or an option the
/// chosen subcommand does not have, with a suggestion. nullopt when it finds neither (the
/// caller then prints CLI11's own message).
std::optional<std::string> usage_hint(const CLI::App& app, int argc, const char* const* argv);

} // namespace moat::cli
