// moat list PATH...: every connection the policies allow among the workloads of the inputs
// (and --inventory) and the external address ranges the policies distinguish, one entry per
// (source, destination) with its whole protocol/port set, in np-guard/netpol-analyzer's
// formats (docs/LIST.md). Verdicts are the interpreter's (ir/connectivity.h). Exit 0 listed,
// 2 bad input or usage, 3 Graphviz could not draw the SVG.
#include <set>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/format_option.h"
#include "cli/inventory_input.h"
#include "cli/list_build.h"
#include "cli/list_exposure.h"
#include "cli/list_formats.h"
#include "cli/list_graph.h"
#include "cli/load_options.h"
#include "cli/render.h"
#include "frontend/frontend.h"

namespace moat::cli {

namespace {

struct ListOptions {
  LoadOptions load;
  std::vector<std::string> paths;
  std::string inventory, format = "txt", focus_direction;
  std::vector<std::string> focus;
  bool explain = false, exposure = false, ipv6 = false;
};

/// Does --focus-workload FOCUS name WORKLOAD ("ns/name[Kind]"): the whole name, "ns/name"
/// or "name"?
bool focus_matches(const std::string& focus, const std::string& workload) {
  if (focus == workload) return true;
  std::string bare = workload.substr(0, workload.rfind('['));
  if (focus == bare) return true;
  size_t slash = bare.find('/');
  return slash != std::string::npos && focus == bare.substr(slash + 1);
}

int usage_error(Code code, const std::string& message) {
  Diagnostics d;
  d.report(code, {}, message);
  print_diagnostics(d, SourceManager{}, stderr);
  return 2;
}

int run_list(const ListOptions& o) {
  if (o.explain && o.format != "txt" && o.format != "text" && o.format != "json")
    return usage_error(
        Code::E901, fmt::format("--explain is printed as text or json only, not as --format {}", o.format));
  SourceManager sm;
  Module m;
  Diagnostics diags;
  load_paths(o.paths, sm, m, diags, o.load);
  std::optional<CasesFile> inv;
  if (!o.inventory.empty()) inv = load_inventory_file(o.inventory, sm, diags);
  if (diags.has_errors()) {
    print_diagnostics(diags, sm, stderr);
    return 2;
  }
  std::vector<const Endpoint*> workloads = listed_workloads(m, inv ? &*inv : nullptr);
  if (workloads.empty())
    diags.report(Code::W900, {},
                 "no Deployment, Pod or other workload in the inputs or --inventory: no connection "
                 "to list (workload manifests are read from the same paths as policies)");
  // The focused workloads, each name matching at least one.
  std::set<size_t> focused;
  for (const std::string& f : o.focus) {
    bool any = false;
    for (size_t i = 0; i < workloads.size(); ++i)
      if (focus_matches(f, workloads[i]->name)) focused.insert(i), any = true;
    if (!any) {
      print_diagnostics(diags, sm, stderr);
      return usage_error(Code::E900,
                         fmt::format("--focus-workload '{}' names no workload of the inputs", f));
    }
  }
  print_diagnostics(diags, sm, stderr);

  ListScope scope;
  scope.focused = focused;
  scope.egress = o.focus_direction != "ingress";
  scope.ingress = o.focus_direction != "egress";
  scope.explain = o.explain;
  scope.ipv6 = o.ipv6;
  ConnList l = build_conn_list(m, workloads, scope);
  if (o.exposure) {
    l.exposure = true;
    std::vector<const Endpoint*> exposed;
    for (size_t i = 0; i < workloads.size(); ++i)
      if (focused.empty() || focused.count(i)) exposed.push_back(workloads[i]);
    l.exposures = exposure_entries(m, exposed, scope.egress, scope.ingress);
  }

  if (o.format == "json") {
    std::fputs(list_json(l, o.explain, m, sm).c_str(), stdout);
  } else if (o.format == "csv") {
    std::fputs(list_csv(l).c_str(), stdout);
  } else if (o.format == "md") {
    std::fputs(list_md(l).c_str(), stdout);
  } else if (o.format == "dot") {
    std::fputs(list_dot(l).c_str(), stdout);
  } else if (o.format == "svg") {
    std::string error;
    auto svg = list_svg(l, error);
    if (!svg) {
      std::fprintf(stderr, "moat list: %s\n", error.c_str());
      return 3;
    }
    std::fputs(svg->c_str(), stdout);
  } else {
    std::fputs(list_text(l, o.explain, m, sm).c_str(), stdout);
  }
  return 0;
}

} // namespace

void add_list_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ListOptions>();
  CLI::App* cmd =
      app.add_subcommand("list", "Every allowed connection among the workloads and external ranges "
                                 "of the inputs (netpol-analyzer style)");
  cmd->add_option("paths", opts->paths,
                  "Policy and workload files or directories (- reads standard input)")
      ->required();
  add_load_options(cmd, opts->load);
  cmd->add_option("--inventory", opts->inventory,
                  "Cases file, or Kubernetes Pods, workloads and Namespaces, whose workloads are listed too");
  add_format_option(cmd, opts->format, {"txt", "text", "json", "csv", "md", "dot", "svg"});
  cmd->add_option("--focus-workload", opts->focus,
                  "Only connections of this workload (ns/name[Kind], ns/name or name; repeatable)");
  cmd->add_option("--focus-direction", opts->focus_direction,
                  "With --focus-workload: only its ingress or only its egress connections")
      ->check(CLI::IsMember({"ingress", "egress"}))
      ->needs("--focus-workload");
  cmd->add_flag(
      "--explain", opts->explain,
      "For every pair, denied ones included: each port set's verdict and the rules and isolations "
      "that decide it, at file:line");
  cmd->add_flag(
      "--exposure", opts->exposure,
      "Also which workloads endpoints that do not exist yet could reach or be reached from");
  cmd->add_flag("--ipv6", opts->ipv6,
                "List the IPv6 address space too when no policy names an IPv6 block");
  cmd->callback([opts, &exit_code] { exit_code = run_list(*opts); });
}

} // namespace moat::cli
