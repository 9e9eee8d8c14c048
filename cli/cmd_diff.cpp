// moat diff OLD NEW: the semantic difference of two policy versions (files or
// directories): the flows newly allowed and newly denied, as rule-like cubes, each with a
// concrete flow replayed through the interpreter on both versions (as text, JSON, SARIF,
// JUnit, or Markdown for a pull-request comment); with workloads in the sources (or an
// --old-inventory), also the connections among them that appeared, vanished or changed
// (`moat list` of each version). Exit 0 equivalent (and no connection changed),
// 1 different (or undecided within --timeout), 2 bad input (also: an --inventory none of
// whose endpoints a policy selects, so nothing was compared), 3 internal error.
// --old-cni judges the old version under another CNI profile; with it, NEW may be omitted
// and the same sources are compared across the two profiles (a CNI migration, docs/CNI.md).
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/format_option.h"
#include "cli/diff_markdown.h"
#include "cli/load_options.h"
#include "cli/explain.h"
#include "cli/inventory_input.h"
#include "cli/leave_to_exit.h"
#include "cli/list_build.h"
#include "cli/render.h"
#include "cli/verify_report.h"
#include "frontend/frontend.h"

namespace moat::cli {

namespace {

struct DiffOptions {
  LoadOptions load;
  std::optional<CniProfile> old_cni;  // --old-cni; unset: load.cni for both versions
  std::string old_path, new_path, format = "text", old_inventory;
  size_t max_cubes = 32;
  VerifyCliOptions verify;
};

std::string cube_title(const DiffCube& c) {
  return fmt::format("{} -> {} on {}", c.src, c.dst, c.ports);
}

/// Where a cube comes from: the rules of the new version that decide its witness, else
/// those of the old version (a removed allow or deny).
std::vector<DiagNote> cube_notes(const Module& old_m, const Module& new_m, const DiffCube& c) {
  std::vector<DiagNote> out;
  auto add = [&](const Module& m, const Verdict& v, const char* version) {
    for (const Decision* d : {&v.egress, &v.ingress}) {
      const char* dir = d == &v.egress ? "egress" : "ingress";
      for (uint32_t id : d->rules)
        if (const Rule* r = decided_rule(m, *d, id))
          out.push_back(DiagNote{r->range, fmt::format("{}: {} {}{} rule #{}", version, dir, tier_prefix(d->tier()),
                                                       to_string(r->action), id)});
      if (d->why == Decision::Why::NoAllow)
        for (uint32_t i : d->isolations)
          if (i < m.isolations.size())
            out.push_back(DiagNote{m.isolations[i].range, fmt::format("{}: {} isolation, no allow", version, dir)});
    }
  };
  add(new_m, c.witness.verdict, "new");
  add(old_m, c.old_verdict, "old");
  return out;
}

std::string cube_detail(const Module& old_m, const Module& new_m, const SourceManager& sm, const DiffCube& c,
                        const std::string& indent) {
  std::string out = indent + "for example:\n" + witness_text(new_m, sm, c.witness, indent + "  ");
  out += indent + "  before (old version): " + (c.old_verdict.allowed ? "allowed" : "denied") + "\n";
  out += explain_verdict(old_m, sm, c.old_verdict, c.witness.src, c.witness.self ? c.witness.src : c.witness.dst,
                         indent + "  ");
  return out;
}

int run_diff(DiffOptions o) {
  if (o.new_path.empty()) {
    if (!o.old_cni) {
      std::fprintf(stderr, "moat diff: give OLD and NEW, or one PATH with --old-cni (docs/CNI.md)\n");
      return 2;
    }
    if (o.old_path == "-") {
      std::fprintf(stderr, "moat diff: --old-cni with one PATH reads it twice: standard input cannot be read twice\n");
      return 2;
    }
    o.new_path = o.old_path;  // one set of sources, two profiles
  }
  LoadOptions old_load = o.load;
  if (o.old_cni) old_load.cni = *o.old_cni;
  bool migration = old_load.cni != o.load.cni;
  // Each version's label says which profile judged it when the two differ.
  std::string old_label = o.old_path, new_label = o.new_path;
  if (migration) {
    old_label += fmt::format(" (--cni {})", to_string(old_load.cni));
    new_label += fmt::format(" (--cni {})", to_string(o.load.cni));
  }
  SourceManager sm;
  Module old_m, new_m;
  Diagnostics diags, old_diags;
  std::unique_ptr<RunClock> clock = o.verify.make_clock();
  clock->phase("reading both versions");
  // The same sources loaded twice would report each mistake twice: then only the new
  // load's diagnostics are shown (a profile changes meanings, never what is malformed).
  bool same_sources = o.old_path == o.new_path;
  // Both versions are read first (the old one's files get the lower FileIds, as before), so
  // the files they share can be parsed once.
  PolicyVersion old_v{read_policy_paths({o.old_path}, sm, old_load), o.old_path, old_load};
  PolicyVersion new_v{read_policy_paths({o.new_path}, sm, o.load), o.new_path, o.load};
  clock->phase("parsing both versions");
  // A collector per version: they are merged at the same time, each version's errors
  // counted against the limit on its own.
  parse_policy_versions(std::move(old_v), std::move(new_v), sm, old_m, old_diags, new_m, diags);
  std::optional<CasesFile> inv, old_inv;
  if (!o.verify.inventory.empty() || !o.old_inventory.empty()) clock->phase("loading the inventory");
  if (!o.verify.inventory.empty()) inv = load_inventory_file(o.verify.inventory, sm, diags);
  if (!o.old_inventory.empty()) old_inv = load_inventory_file(o.old_inventory, sm, diags);
  if (diags.has_errors() || old_diags.has_errors()) {
    if (same_sources) {
      print_diagnostics(diags.has_errors() ? diags : old_diags, sm, stderr);
    } else {
      old_diags.append(std::move(diags));  // the old version's first, as they were read
      print_diagnostics(old_diags, sm, stderr);
    }
    return 2;
  }
  VerifyOptions vo;
  vo.timeout_ms = o.verify.timeout_ms;
  vo.max_cubes = o.max_cubes;
  vo.clock = clock.get();
  if (inv) vo.inventory = &inv->endpoints;
  DiffReport r = semantic_diff(old_m, new_m, vo);
  clock->done();
  if (!r.internal_error.empty()) {
    std::fprintf(stderr, "moat diff: internal error: %s\n", r.internal_error.c_str());
    return 3;
  }
  if (inv && r.inventory_subjects == 0) {
    // Both versions allow everything between endpoints no policy selects: "equivalent"
    // would be vacuous (docs/SCOPES.md).
    Diagnostics none;
    none.report(Code::E608, {},
                fmt::format("none of the {} endpoint(s) of the inventory '{}' is selected by a policy of either "
                            "version: nothing was compared",
                            r.inventory_endpoints, o.verify.inventory));
    print_diagnostics(none, sm, stderr);
    return 2;
  }
  // Workloads in the versions' sources (or an --old-inventory): the connections among them
  // that appeared, vanished or changed, a workload's coming or going included (moat list).
  // Not for --inventory alone: listing a cluster's pods pairwise is a job of its own.
  std::vector<ConnChange> changes;
  bool compare_workloads = !old_m.cluster_workloads.empty() || !new_m.cluster_workloads.empty() || old_inv;
  if (compare_workloads) {
    clock->phase("listing the workloads' connections");
    const CasesFile* before_inv = old_inv ? &*old_inv : inv ? &*inv : nullptr;
    changes = conn_changes(build_conn_list(old_m, listed_workloads(old_m, before_inv), {}),
                           build_conn_list(new_m, listed_workloads(new_m, inv ? &*inv : nullptr), {}));
  }
  size_t plus = 0, minus = 0;
  for (const DiffCube& c : r.cubes) (c.newly_allowed ? plus : minus)++;
  std::string verdict = r.status == ProofStatus::Proved    ? "equivalent"
                        : r.status == ProofStatus::Unknown ? "unknown (" + r.message + ")"
                                                           : "different";
  if (o.format == "json") {
    nlohmann::json cubes = nlohmann::json::array();
    for (const DiffCube& c : r.cubes) {
      nlohmann::json w = witness_json(new_m, sm, c.witness);
      w["old"] = {{"allowed", c.old_verdict.allowed}};
      cubes.push_back({{"change", c.newly_allowed ? "newly allowed" : "newly denied"},
                       {"src", c.src}, {"dst", c.dst}, {"ports", c.ports}, {"witness", w}});
    }
    nlohmann::json j = {{"old", o.old_path}, {"new", o.new_path}, {"old_cni", to_string(old_load.cni)},
                        {"new_cni", to_string(o.load.cni)}, {"result", verdict},
                        {"equivalent", r.status == ProofStatus::Proved}, {"cubes", cubes}, {"truncated", r.truncated}};
    if (o.verify.timings) j["seconds"] = r.seconds;
    if (inv) j["inventory"] = {{"endpoints", r.inventory_endpoints}, {"selected", r.inventory_subjects}};
    if (compare_workloads) {
      j["connections"] = nlohmann::json::array();
      for (const ConnChange& c : changes)
        j["connections"].push_back({{"change", c.kind()}, {"src", c.src}, {"dst", c.dst},
                                    {"before", c.before.empty() ? "" : c.before.str()},
                                    {"after", c.after.empty() ? "" : c.after.str()}});
    }
    std::puts(j.dump(2).c_str());
  } else if (o.format == "sarif") {
    std::vector<SarifResult> results;
    for (const DiffCube& c : r.cubes) {
      SarifResult s;
      s.code = c.newly_allowed ? Code::W604 : Code::W605;
      s.severity = Severity::Warning;
      s.message = fmt::format("{}: {}", c.newly_allowed ? "newly allowed" : "newly denied", cube_title(c));
      s.related = cube_notes(old_m, new_m, c);
      // The result sits on the first deciding rule of the new version, else the old one.
      if (!s.related.empty()) s.range = s.related[0].range;
      s.fallback_uri = o.new_path;
      results.push_back(std::move(s));
    }
    // Connections among the workloads (moat list): a gain is W604, a loss W605, at the file
    // of the new version (a workload change has no rule to point at).
    for (const ConnChange& c : changes) {
      ConnSet both = c.before;
      both.add(c.after);
      for (bool gained : {true, false}) {
        if (both == (gained ? c.before : c.after)) continue;
        SarifResult s;
        s.code = gained ? Code::W604 : Code::W605;
        s.severity = Severity::Warning;
        s.message = fmt::format("connection among the workloads {}: {} => {} : {} (before: {})", c.kind(), c.src, c.dst,
                                c.after.empty() ? "none" : c.after.str(), c.before.empty() ? "none" : c.before.str());
        s.fallback_uri = o.new_path;
        results.push_back(std::move(s));
      }
    }
    std::puts(sarif_log(results, sm, {o.new_path}).dump(2).c_str());
  } else if (o.format == "md") {
    std::fputs(diff_markdown(old_m, new_m, sm, r, old_label, new_label, verdict).c_str(), stdout);
    if (compare_workloads) std::fputs(connection_changes_markdown(changes).c_str(), stdout);
  } else if (o.format == "junit") {
    std::vector<JunitCase> cases;
    for (bool allowed : {true, false}) {
      JunitCase jc;
      jc.classname = new_label;
      jc.name = allowed ? "no flow newly allowed" : "no flow newly denied";
      jc.seconds = r.seconds / 2;
      for (const DiffCube& c : r.cubes) {
        if (c.newly_allowed != allowed) continue;
        jc.failed = true;
        jc.detail += cube_title(c) + "\n" + cube_detail(old_m, new_m, sm, c, "  ");
      }
      if (jc.failed) jc.message = allowed ? fmt::format("{} cube(s) of flows newly allowed", plus)
                                          : fmt::format("{} cube(s) of flows newly denied", minus);
      if (r.status == ProofStatus::Unknown && !jc.failed) jc.error = true, jc.message = r.message;
      cases.push_back(std::move(jc));
    }
    if (compare_workloads) {
      JunitCase jc;
      jc.classname = new_label;
      jc.name = "no connection among the workloads changed";
      for (const ConnChange& c : changes)
        jc.detail += fmt::format("{} {} => {} : {} -> {}\n", c.kind(), c.src, c.dst,
                                 c.before.empty() ? "none" : c.before.str(), c.after.empty() ? "none" : c.after.str());
      jc.failed = !changes.empty();
      if (jc.failed) jc.message = fmt::format("{} connection(s) among the workloads changed", changes.size());
      cases.push_back(std::move(jc));
    }
    std::fputs(junit_document("moat diff", cases).c_str(), stdout);
  } else {
    bool color = use_color(stdout);
    for (const DiffCube& c : r.cubes) {
      const char* sign = c.newly_allowed ? "+" : "-";
      std::string head = fmt::format("{} {} {}", sign, c.newly_allowed ? "newly allowed:" : "newly denied: ", cube_title(c));
      if (color) head = fmt::format("{}{}\033[0m", c.newly_allowed ? "\033[32m" : "\033[31m", head);
      std::printf("%s\n", head.c_str());
      std::fputs(cube_detail(old_m, new_m, sm, c, "    ").c_str(), stdout);
    }
    if (r.truncated) std::printf("(more differences: raise --max-cubes to see them)\n");
    if (compare_workloads) {
      std::printf("connections among the workloads (moat list): %zu changed\n", changes.size());
      for (const ConnChange& c : changes) {
        if (c.before.empty()) std::printf("+ %s => %s : %s\n", c.src.c_str(), c.dst.c_str(), c.after.str().c_str());
        else if (c.after.empty()) std::printf("- %s => %s : %s\n", c.src.c_str(), c.dst.c_str(), c.before.str().c_str());
        else std::printf("~ %s => %s : %s -> %s\n", c.src.c_str(), c.dst.c_str(), c.before.str().c_str(), c.after.str().c_str());
      }
    }
    std::string scope = inv ? fmt::format(", over {} inventory endpoint(s), {} selected by a policy", r.inventory_endpoints,
                                          r.inventory_subjects)
                            : std::string();
    if (compare_workloads) scope += fmt::format("; {} connection(s) among the workloads changed", changes.size());
    std::string profiles = migration ? fmt::format(" from --cni {} to --cni {}", to_string(old_load.cni), to_string(o.load.cni))
                                     : std::string();
    std::printf("moat diff: %s%s: %zu cube(s) newly allowed, %zu newly denied%s (%.2fs)\n", verdict.c_str(),
                profiles.c_str(), plus, minus, scope.c_str(), r.seconds);
  }
  leave_to_exit(old_m);
  leave_to_exit(new_m);
  leave_to_exit(inv);
  leave_to_exit(old_inv);
  leave_to_exit(sm);
  return r.status == ProofStatus::Proved && changes.empty() ? 0 : 1;
}

} // namespace

void add_diff_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DiffOptions>();
  CLI::App* cmd = app.add_subcommand("diff", "Semantic difference of two policy versions, with witnesses");
  cmd->add_option("old", opts->old_path, "The old version (file or directory)")->required();
  cmd->add_option("new", opts->new_path,
                  "The new version (file or directory; - reads YAML from standard input); omitted with --old-cni: "
                  "OLD again, judged under two profiles");
  add_load_options(cmd, opts->load);
  add_cni_option(cmd, "--old-cni", [opts](CniProfile p) { opts->old_cni = p; },
                 "Judge the old version as this CNI enforces it (default: --cni); `--old-cni calico --cni cilium "
                 "PATH`: the flows that change when the cluster moves from Calico to Cilium");
  add_format_option(cmd, opts->format, {"text", "json", "sarif", "junit", "md"});
  cmd->add_option("--max-cubes", opts->max_cubes, "Cubes listed per direction")->capture_default_str();
  cmd->add_option("--timeout", opts->verify.timeout_ms, "Solver time limit per query in ms (0: none)")
      ->capture_default_str();
  cmd->add_option("--inventory", opts->verify.inventory,
                  "Cases file, or Kubernetes Pods and Namespaces (List YAML/JSON), whose endpoints are the "
                  "scope (default: every possible endpoint)");
  cmd->add_option("--old-inventory", opts->old_inventory,
                  "The old version's workloads (cases file or Kubernetes objects), to compare the connections "
                  "among workloads across a workload change (default: --inventory)");
  add_run_clock_options(cmd, opts->verify);
  cmd->callback([opts, &exit_code] { exit_code = run_diff(*opts); });
}

} // namespace moat::cli
