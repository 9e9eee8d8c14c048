// moat export --to kubernetes|cilium|moat PATH... [-o FILE|DIR]: the inputs (whatever
// `moat check` loads) written in another policy language (export/export.h, docs/EXPORT.md).
// What the target cannot express is an error at the rule and nothing is written. Output:
// standard output, one FILE, or a DIR with one file per source (STEM.yaml / STEM.moat),
// each replaced atomically. Exit 0 written, 2 bad input or inexpressible, 3 cannot write.
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/load_options.h"
#include "cli/render.h"
#include "cli/write_file.h"
#include "export/export.h"
#include "frontend/frontend.h"

namespace moat::cli {

namespace {

namespace fs = std::filesystem;

struct ExportOptions {
  LoadOptions load;
  std::vector<std::string> paths;
  std::string to;
  std::string out;
};

int write_output(const ExportOptions& o, exporter::Target target, const std::vector<exporter::ExportedFile>& files) {
  std::string all;
  for (const exporter::ExportedFile& f : files) all += f.text;
  if (o.out.empty()) {
    std::fwrite(all.data(), 1, all.size(), stdout);
    return 0;
  }
  std::error_code ec;
  bool to_dir = fs::is_directory(o.out, ec) || o.out.back() == '/';
  std::string error;
  if (!to_dir) {
    if (!write_atomically(o.out, all, error)) {
      std::fprintf(stderr, "moat export: cannot write '%s': %s\n", o.out.c_str(), error.c_str());
      return 3;
    }
    return 0;
  }
  fs::create_directories(o.out, ec);
  const char* ext = target == exporter::Target::Moat ? ".moat" : ".yaml";
  for (const exporter::ExportedFile& f : files) {
    fs::path path = fs::path(o.out) / (f.stem + ext);
    if (!write_atomically(path, f.text, error)) {
      std::fprintf(stderr, "moat export: cannot write '%s': %s\n", path.c_str(), error.c_str());
      return 3;
    }
  }
  return 0;
}

int run_export(const ExportOptions& o) {
  auto target = exporter::parse_target(o.to);
  if (!target) {
    std::fprintf(stderr, "moat export: --to must be kubernetes (k8s), cilium or moat, not '%s'\n", o.to.c_str());
    return 2;
  }
  SourceManager sm;
  Module module;
  Diagnostics diags;
  load_paths(o.paths, sm, module, diags, o.load);
  if (diags.has_errors()) {
    print_diagnostics(diags, sm, stderr);
    return 2;
  }
  std::vector<exporter::ExportedFile> files = exporter::export_module(module, sm, *target, diags);
  print_diagnostics(diags, sm, stderr);
  if (diags.has_errors()) return 2;
  return write_output(o, *target, files);
}

} // namespace

void add_export_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write the policies as Kubernetes NetworkPolicy, Cilium policy YAML or the moat language");
  cmd->add_option("paths", opts->paths, "Policy files or directories; - reads YAML from standard input")->required();
  cmd->add_option("--to", opts->to, "Target: kubernetes (k8s), cilium or moat")->required()->type_name("TARGET");
  cmd->add_option("-o,--output", opts->out,
                  "Write to FILE, or to DIR (an existing directory or a path ending in /) one file per source; "
                  "default: standard output")
      ->type_name("FILE|DIR");
  add_load_options(cmd, opts->load);
  cmd->callback([opts, &exit_code] { exit_code = run_export(*opts); });
}

} // namespace moat::cli
