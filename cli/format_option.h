// The output-format option every command with more than one output format shares:
// `-o FORMAT` / `--format FORMAT`, and `--json` kept as an alias where it existed first.
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace moat::cli {

/// Adds `-o,--format` with these choices (the first is the default) writing into `format`.
inline CLI::Option* add_format_option(CLI::App* cmd, std::string& format, const std::vector<std::string>& choices) {
  format = choices.front();
  return cmd->add_option("-o,--format", format, "Output format")->check(CLI::IsMember(choices))->capture_default_str();
}

/// `--json`: the older spelling of `--format json`.
inline void add_json_alias(CLI::App* cmd, std::string& format) {
  cmd->add_flag_callback("--json", [&format] { format = "json"; }, "Same as --format json");
}

} // namespace moat::cli
