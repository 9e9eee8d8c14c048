// --exclude, --max-file-size, --strict, --verbose (see load_options.h).
#include "cli/load_options.h"

namespace moat::cli {

void add_load_options(CLI::App* cmd, LoadOptions& o, bool add_verbose) {
  cmd->add_option("--exclude", o.exclude,
                  "Skip files and directories under a PATH directory whose path relative to it, or "
                  "whose name, matches GLOB (fnmatch); repeatable")
      ->type_name("GLOB")
      ->allow_extra_args(false);  // `--exclude vendor dir/`: dir/ stays a PATH
  cmd->add_option_function<std::string>(
         "--max-file-size",
         [&o](const std::string& text) {
           auto bytes = parse_size(text);
           if (!bytes) throw CLI::ValidationError("--max-file-size", "'" + text + "' is not a size such as 512M or 2G");
           o.max_file_bytes = *bytes;
         },
         "Refuse input files larger than SIZE (K, M, G: powers of 1024; default 512M)")
      ->type_name("SIZE");
  cmd->add_flag("--strict", o.strict, "Every object kind moat does not read is an error");
  if (add_verbose) cmd->add_flag("--verbose", o.verbose, "Also note the objects skipped because they have no policy meaning");
}

} // namespace moat::cli
