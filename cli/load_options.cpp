// --exclude, --max-file-size, --disable, --cni, --strict, --verbose (see load_options.h).
#include "cli/load_options.h"

namespace moat::cli {

namespace {
std::vector<std::string> split_codes(const std::string& list) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= list.size()) {
    size_t end = list.find(',', i);
    if (end == std::string::npos) end = list.size();
    if (end > i) out.push_back(list.substr(i, end - i));
    i = end + 1;
  }
  return out;
}
} // namespace

void add_cni_option(CLI::App* cmd, const std::string& name, std::function<void(CniProfile)> set,
                    const std::string& help) {
  cmd->add_option_function<std::string>(
         name,
         [name, set = std::move(set)](const std::string& value) {
           std::optional<CniProfile> p = parse_cni_profile(value);
           if (!p) throw CLI::ValidationError(name, "'" + value + "' is not a CNI profile (cilium, calico or kubernetes)");
           set(*p);
         },
         help)
      ->type_name("PROFILE");
}

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
  cmd->add_option_function<std::vector<std::string>>(
         "--disable",
         [&o](const std::vector<std::string>& names) {
           for (const std::string& list : names)
             for (const std::string& name : split_codes(list)) {
               std::optional<Code> code = code_by_name(name);
               if (!code) throw CLI::ValidationError("--disable", "'" + name + "' is not a moat diagnostic code (docs/DIAGNOSTICS.md)");
               if (code_severity(*code) == Severity::Error)
                 throw CLI::ValidationError("--disable", name + " is an error; only warnings and notes can be switched off");
               o.disabled.push_back(*code);
             }
         },
         "Switch these warning or note codes off (W504 or W504,W501; repeatable); per object: the "
         "annotation moat.dev/disable")
      ->type_name("CODE")
      ->allow_extra_args(false);
  add_cni_option(cmd, "--cni", [&o](CniProfile p) { o.cni = p; },
                 std::string("Judge NetworkPolicy as this CNI enforces it: cilium, calico or kubernetes (default ") +
                     to_string(kDefaultCniProfile) + "; docs/CNI.md)");
  cmd->add_flag("--strict", o.strict, "Every object kind moat does not read is an error");
  if (add_verbose) cmd->add_flag("--verbose", o.verbose, "Also note the objects skipped because they have no policy meaning");
}

} // namespace moat::cli
