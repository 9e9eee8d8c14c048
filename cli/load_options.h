// The input options of every command that reads policy sources (PATH...): which files a
// directory walk skips, the size limit, how kinds moat does not read are reported, and
// which CNI's reading of NetworkPolicy applies.
#pragma once
#include <CLI/CLI.hpp>

#include "frontend/frontend.h"

namespace moat::cli {

/// Adds --exclude GLOB (repeatable), --max-file-size SIZE, --disable CODE, --cni PROFILE, --strict and (unless the command
/// has its own, which then also sets o.verbose) --verbose to `cmd`, writing into `o` (which
/// must outlive the parse).
void add_load_options(CLI::App* cmd, LoadOptions& o, bool add_verbose = true);

} // namespace moat::cli
