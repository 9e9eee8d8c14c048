// Each `moat` subcommand lives in its own cmd_NAME.cpp and registers itself here.
// A command's callback stores its exit code in `exit_code` (docs/DIAGNOSTICS.md: 0 ok,
// 1 findings / failed proofs or expectations, 2 bad input or usage, 3 internal error).
#pragma once
#include <CLI/CLI.hpp>

namespace moat::cli {

void add_check_command(CLI::App& app, int& exit_code);
void add_diff_command(CLI::App& app, int& exit_code);
void add_query_command(CLI::App& app, int& exit_code);
void add_test_command(CLI::App& app, int& exit_code);
void add_build_command(CLI::App& app, int& exit_code);
void add_keygen_command(CLI::App& app, int& exit_code);
void add_sign_command(CLI::App& app, int& exit_code);
void add_fmt_command(CLI::App& app, int& exit_code);
void add_agent_command(CLI::App& app, int& exit_code);
void add_status_command(CLI::App& app, int& exit_code);
void add_observe_command(CLI::App& app, int& exit_code);
void add_list_command(CLI::App& app, int& exit_code);
void add_export_command(CLI::App& app, int& exit_code);

} // namespace moat::cli
