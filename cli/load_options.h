// The input options of every command that reads policy sources (PATH...): which files a
// directory walk skips, the size limit, how kinds moat does not read are reported, and
// which CNI's reading of NetworkPolicy applies.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "frontend/frontend.h"

namespace moat::cli {

/// Adds --exclude GLOB (repeatable), --max-file-size SIZE, --disable CODE, --cni PROFILE, --strict and (unless the command
/// has its own, which then also sets o.verbose) --verbose to `cmd`, writing into `o` (which
/// must outlive the parse).
void add_load_options(CLI::App* cmd, LoadOptions& o, bool add_verbose = true);

/// Adds an option `name` PROFILE (cilium, calico, kubernetes; docs/CNI.md) that calls `set`
/// with the profile; any other value is a usage error. --cni is one, `moat diff --old-cni` another.
void add_cni_option(CLI::App* cmd, const std::string& name, std::function<void(CniProfile)> set,
                    const std::string& help);

} // namespace moat::cli
