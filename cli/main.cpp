// moat: parse, lint, prove, compile and enforce network isolation policies.
#include <cstdio>
#include <exception>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/suggest.h"

int main(int argc, char** argv) {
  using moat::cli::usage_hint;
  // Named, so usage lines say `moat` whatever path it was run from.
  CLI::App app{"moat: network isolation policies, proved and compiled to eBPF", "moat"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  app.set_version_flag("--version", moat::cli::version_text, "Print the version, commit and library versions");
  int exit_code = 0;
  moat::cli::add_check_command(app, exit_code);
  moat::cli::add_diff_command(app, exit_code);
  moat::cli::add_list_command(app, exit_code);
  moat::cli::add_query_command(app, exit_code);
  moat::cli::add_test_command(app, exit_code);
  moat::cli::add_build_command(app, exit_code);
  moat::cli::add_keygen_command(app, exit_code);
  moat::cli::add_sign_command(app, exit_code);
  moat::cli::add_export_command(app, exit_code);
  moat::cli::add_fmt_command(app, exit_code);
  moat::cli::add_agent_command(app, exit_code);
  moat::cli::add_status_command(app, exit_code);
  moat::cli::add_observe_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (auto hint = usage_hint(app, argc, argv)) {
      std::fprintf(stderr, "moat: %s\nRun with --help for more information.\n", hint->c_str());
      return 2;
    }
    app.exit(e);
    return 2;  // usage error
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moat: internal error: %s\n", e.what());
    return 3;
  }
  return exit_code;
}
