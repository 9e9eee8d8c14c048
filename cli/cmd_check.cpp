// moat check: parse every source, run the lints, report. Exit 0 clean, 1 findings
// (warnings with --werror), 2 bad input.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/format_option.h"
#include "cli/inventory_input.h"
#include "cli/leave_to_exit.h"
#include "cli/load_options.h"
#include "cli/render.h"
#include "cli/verify_report.h"
#include "frontend/frontend.h"
#include "ir/background.h"
#include "ir/lint.h"
#include "ir/printer.h"
#include "ir/subject_index.h"

namespace moat::cli {

namespace {
struct CheckOptions {
  LoadOptions load;
  std::vector<std::string> paths;
  std::string format = "text";
  bool werror = false;
  bool dump_ir = false;
  VerifyCliOptions verify;
};

int run_check(const CheckOptions& o) {
  SourceManager sm;
  Module module;
  Diagnostics diags;
  std::unique_ptr<RunClock> clock = o.verify.make_clock();
  clock->phase("loading policies");
  for (Code c : o.load.disabled) diags.disable(c);
  // Every input is read first (FileIds in the order of a serial run: the policies, then
  // the inventory); then the inventory is parsed beside the policies and their syntactic
  // lints. It is used only when the policies have no error, as a serial run would load it.
  PolicyFiles policies = read_policy_paths(o.paths, sm, o.load);
  std::optional<InventoryFiles> inventory_files;
  if (!o.verify.inventory.empty()) inventory_files = read_inventory(o.verify.inventory, sm, diags);
  std::optional<CasesFile> inventory;
  Diagnostics inventory_diags = diags.empty_like();
  Background inventory_load([&] {
    if (inventory_files) inventory = parse_inventory(std::move(*inventory_files), sm, inventory_diags);
  });
  parse_policy_files(std::move(policies), sm, module, diags, o.load);
  clock->phase("lints: syntactic");
  // The subject indexes once, for the syntactic lints, the solver lints and the proofs.
  std::optional<ModuleIndexes> indexes;
  if (!diags.has_errors()) run_lints(module, diags, &indexes.emplace(module));
  if (inventory_files) clock->phase("loading the inventory");
  inventory_load.join();
  CheckVerification verification;
  if (!diags.has_errors()) {
    diags.append(std::move(inventory_diags));
    verification = verify_for_check(module, std::move(inventory), diags, o.verify, clock.get(),
                                    indexes ? &*indexes : nullptr);
  }
  clock->done();
  if (o.dump_ir && !diags.has_errors()) std::fputs(print_module(module, sm).c_str(), stdout);
  int code = diags.has_errors() ? 2 : (o.werror && diags.warning_count() > 0) ? 1 : 0;
  if (!diags.has_errors()) code = std::max(code, verification_exit_code(verification));
  if (!verification.internal_error.empty())
    std::fprintf(stderr, "moat check: internal error: %s\n", verification.internal_error.c_str());
  if (o.format == "sarif" || o.format == "junit") {
    print_check_report(o.format, o.werror, module, sm, diags, verification, o.paths);
  } else if (o.format == "json") {
    nlohmann::json j = {{"diagnostics", nlohmann::json::array()}};
    for (const Diagnostic& d : diags.all()) j["diagnostics"].push_back(diagnostic_json(d, sm));
    j["summary"] = {{"files", sm.size()}, {"rules", module.rules.size()},
                    {"errors", diags.error_count()}, {"warnings", diags.warning_count()}};
    if (module.has_admin_tiers()) {
      j["summary"]["adminRules"] = module.admin_rules.size();
      j["summary"]["baselineRules"] = module.baseline_rules.size();
    }
    j["proofs"] = proofs_json(module, sm, verification.proofs, o.verify.timings);
    std::puts(j.dump(2).c_str());
  } else {
    print_diagnostics(diags, sm, stderr);
    std::fflush(stderr);
    std::fputs(proofs_text(module, sm, verification.proofs, use_color(stdout)).c_str(), stdout);
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n",
                 fmt::format("moat check: {} file(s), {} rule(s){}, {} error(s), {} warning(s)", sm.size(),
                             module.rules.size(),
                             module.has_admin_tiers()
                                 ? fmt::format(" + {} admin, {} baseline", module.admin_rules.size(),
                                               module.baseline_rules.size())
                                 : "",
                             diags.error_count(), diags.warning_count())
                     .c_str());
  }
  leave_to_exit(module);
  leave_to_exit(verification);
  leave_to_exit(indexes);
  leave_to_exit(sm);
  return code;
}
} // namespace

void add_check_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Parse, lint and prove policy sources");
  cmd->add_option("paths", opts->paths, "Policy files or directories; - reads YAML from standard input")->required();
  add_load_options(cmd, opts->load);
  add_format_option(cmd, opts->format, {"text", "json", "sarif", "junit"});
  add_verify_options(cmd, opts->verify);
  cmd->add_flag("--werror", opts->werror, "Treat warnings as findings (exit 1)");
  cmd->add_flag("--dump-ir", opts->dump_ir, "Print the IR after the front ends");
  cmd->callback([opts, &exit_code] { exit_code = run_check(*opts); });
}

} // namespace moat::cli
