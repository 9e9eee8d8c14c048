// The verifier's share of `moat check`, and how verifier results are shown (see
// verify_report.h).
#include "cli/verify_report.h"

#include <map>

#include <fmt/format.h>

#include "cli/explain.h"
#include "cli/inventory_input.h"
#include "cli/render.h"
#include "ir/cni_lint.h"
#include "verifier/check_run.h"

namespace moat::cli {

namespace {

const char* status_word(ProofStatus s) {
  switch (s) {
  case ProofStatus::Proved: return "proved";
  case ProofStatus::Failed: return "FAILED";
  case ProofStatus::Unknown: return "UNKNOWN";
  }
  return "?";
}

const char* status_color(ProofStatus s) {
  switch (s) {
  case ProofStatus::Proved: return "\033[1;32m";
  case ProofStatus::Failed: return "\033[1;31m";
  case ProofStatus::Unknown: return "\033[1;33m";
  }
  return "";
}

/// The deciding rules of a witness, as SARIF related locations.
std::vector<DiagNote> deciding_notes(const Module& m, const Witness& w) {
  std::vector<DiagNote> out;
  for (const Decision* d : {&w.verdict.egress, &w.verdict.ingress}) {
    const char* dir = d == &w.verdict.egress ? "egress" : "ingress";
    for (uint32_t id : d->rules)
      if (const Rule* r = decided_rule(m, *d, id))
        out.push_back(DiagNote{r->range, fmt::format("{} decided by {}{} rule #{}", dir, tier_prefix(d->tier()),
                                                     to_string(r->action), id)});
    if (d->why == Decision::Why::NoAllow)
      for (uint32_t i : d->isolations)
        if (i < m.isolations.size())
          out.push_back(DiagNote{m.isolations[i].range, fmt::format("{} isolated here, and no allow matched", dir)});
  }
  return out;
}

std::string result_detail(const Module& m, const SourceManager& sm, const ProofResult& r, const std::string& indent) {
  std::string out;
  if (!r.message.empty()) out += indent + r.message + "\n";
  if (r.witness) out += witness_text(m, sm, *r.witness, indent);
  if (r.workload) out += indent + "workload: " + describe_endpoint(*r.workload) + "\n";
  return out;
}

} // namespace

void add_verify_options(CLI::App* cmd, VerifyCliOptions& o) {
  cmd->add_option("--timeout", o.timeout_ms, "Solver time limit per query in ms (0: none); a query that hits it is 'unknown'")
      ->capture_default_str();
  cmd->add_option("--inventory", o.inventory,
                  "Cases file, or Kubernetes Pods and Namespaces (List YAML/JSON), whose endpoints are the "
                  "scope (default: every possible endpoint)");
  cmd->add_flag("--no-prove", o.no_prove, "Skip the prove statements");
  cmd->add_flag("--no-solver-lints", o.no_solver_lints, "Skip the lints that need the solver (W5xx)");
  add_run_clock_options(cmd, o);
}

void add_run_clock_options(CLI::App* cmd, VerifyCliOptions& o) {
  cmd->add_option("--deadline", o.deadline_s,
                  "Bound the whole run to this many seconds (0: none); what could not run in time is reported as "
                  "unknown, by name (W609, unknown proofs)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--timings", o.timings, "Include solver times in JSON output (without it, the same inputs give the same JSON)");
  cmd->add_flag("--progress", o.progress,
                "Show progress on stderr even when it is not a terminal (on a terminal it shows after about a second)");
}

std::unique_ptr<RunClock> VerifyCliOptions::make_clock() const {
  return std::make_unique<RunClock>(deadline_s, progress ? RunClock::Show::Always : RunClock::Show::Auto);
}

CheckVerification verify_for_check(const Module& m, std::optional<CasesFile> inventory, Diagnostics& diags,
                                   const VerifyCliOptions& o, RunClock* clock, const ModuleIndexes* indexes) {
  CheckVerification v;
  if (!o.inventory.empty()) {
    v.inventory = std::move(inventory);
    if (!v.inventory) return v;
    if (clock) clock->phase("lints: ipBlocks over workloads");
    lint_ip_blocks_over_workloads(m, v.inventory->endpoints, diags);  // W420
  }
  VerifyOptions vo;
  vo.timeout_ms = o.timeout_ms;
  vo.clock = clock;
  vo.indexes = indexes;
  if (v.inventory) vo.inventory = &v.inventory->endpoints;
  v.ran = true;
  // One session for the lints and the proofs: the domain and inventory classes once.
  v.proofs = run_lints_and_proofs(m, vo, o.no_solver_lints ? nullptr : &diags, !o.no_prove);
  v.internal_error = v.proofs.internal_error;
  // Over an inventory, a statement about endpoints it lacks proves nothing: an error at
  // the statement, so the run cannot pass on it (docs/SCOPES.md).
  for (const ProofResult& r : v.proofs.results) {
    const Prove& p = m.proofs[r.index];
    if (r.vacuous)
      diags.report(Code::E606, p.range,
                   fmt::format("`{}` proves nothing over the inventory: {}", p.text, r.message.substr(r.message.find(':') + 2)));
    for (const std::string& peer : r.unmatched_peers)
      diags.report(Code::W607, p.range, fmt::format("{} matches no endpoint of the inventory", peer));
  }
  return v;
}

int verification_exit_code(const CheckVerification& v) {
  if (!v.internal_error.empty()) return 3;
  return v.proofs.failed() ? 1 : 0;
}

std::string witness_text(const Module& m, const SourceManager& sm, const Witness& w, const std::string& indent) {
  std::string out;
  out += indent + "src:  " + describe_endpoint(w.src) + "\n";
  out += indent + "dst:  " + (w.self ? std::string("the same endpoint") : describe_endpoint(w.dst)) + "\n";
  out += indent + "flow: " + flow_text(w.proto, w.port) + ", " + (w.verdict.allowed ? "allowed" : "denied") + "\n";
  out += explain_verdict(m, sm, w.verdict, w.src, w.self ? w.src : w.dst, indent);
  return out;
}

nlohmann::json endpoint_json(const Endpoint& e) {
  nlohmann::json j = {{"kind", to_string(e.kind)}, {"text", describe_endpoint(e)}};
  if (!e.name.empty() && e.name != "src" && e.name != "dst" && e.name != "w") j["name"] = e.name;
  if (e.kind == EndpointKind::Workload) {
    j["namespace"] = e.ns;
    j["namespaceLabels"] = e.ns_labels;
    j["labels"] = e.labels;
    if (!e.ports.empty()) {
      nlohmann::json ports = nlohmann::json::object();
      for (const NamedPort& p : e.ports) ports[p.name] = fmt::format("{}/{}", p.port, to_string(p.proto));
      j["namedPorts"] = ports;
    }
  }
  if (!e.ips.empty()) {
    j["ips"] = nlohmann::json::array();
    for (const IpAddr& ip : e.ips) j["ips"].push_back(ip.str());
  }
  if (!e.dns_names.empty()) j["dnsNames"] = e.dns_names;
  if (!e.node.empty()) j["node"] = e.node;
  return j;
}

nlohmann::json decision_json(const Module& m, const SourceManager& sm, const Decision& d) {
  nlohmann::json rules = nlohmann::json::array();
  for (uint32_t id : d.rules)
    if (const Rule* r = decided_rule(m, d, id))
      rules.push_back({{"id", id}, {"tier", to_string(d.tier())}, {"action", to_string(r->action)},
                       {"origin", r->origin}, {"location", sm.location(r->range)}});
  nlohmann::json isos = nlohmann::json::array();
  for (uint32_t i : d.isolations)
    if (i < m.isolations.size())
      isos.push_back({{"origin", m.isolations[i].origin}, {"location", sm.location(m.isolations[i].range)}});
  nlohmann::json out{{"allowed", d.allowed}, {"why", to_string(d.why)}, {"rules", rules}, {"isolations", isos}};
  // The AdminNetworkPolicy Pass rule that handed the decision down, when there was one.
  for (uint32_t id : d.passed)
    if (id < m.admin_rules.size())
      out["passedBy"] = {{"id", id}, {"origin", m.admin_rules[id].origin},
                         {"location", sm.location(m.admin_rules[id].range)}};
  return out;
}

nlohmann::json witness_json(const Module& m, const SourceManager& sm, const Witness& w) {
  auto decision = [&](const Decision& d) { return decision_json(m, sm, d); };
  return {{"src", endpoint_json(w.src)},
          {"dst", w.self ? endpoint_json(w.src) : endpoint_json(w.dst)},
          {"self", w.self},
          {"protocol", to_string(w.proto)},
          {"port", w.port},
          {"allowed", w.verdict.allowed},
          {"egress", decision(w.verdict.egress)},
          {"ingress", decision(w.verdict.ingress)}};
}

std::string proofs_text(const Module& m, const SourceManager& sm, const ProofReport& r, bool color) {
  std::string out;
  size_t counts[3] = {0, 0, 0};
  for (const ProofResult& res : r.results) {
    const Prove& p = m.proofs[res.index];
    ++counts[static_cast<int>(res.status)];
    std::string word = color ? fmt::format("{}{}\033[0m", status_color(res.status), status_word(res.status))
                             : status_word(res.status);
    out += fmt::format("{}: {}: {}\n", sm.location(p.range), word, p.text.empty() ? "prove" : p.text);
    if (res.status == ProofStatus::Proved) {
      if (!res.message.empty()) out += "    note: " + res.message + "\n";
      continue;
    }
    out += result_detail(m, sm, res, "    ");
  }
  if (!r.results.empty())
    out += fmt::format("{} proof(s): {} proved, {} failed, {} unknown\n", r.results.size(), counts[0], counts[1], counts[2]);
  return out;
}

nlohmann::json proofs_json(const Module& m, const SourceManager& sm, const ProofReport& r, bool timings) {
  nlohmann::json out = nlohmann::json::array();
  for (const ProofResult& res : r.results) {
    const Prove& p = m.proofs[res.index];
    nlohmann::json j = {{"statement", p.text},
                        {"location", sm.location(p.range)},
                        {"status", to_string(res.status)},
                        {"message", res.message}};
    if (timings) j["seconds"] = res.seconds;
    if (res.witness) j["counterexample"] = witness_json(m, sm, *res.witness);
    if (res.workload) j["workload"] = endpoint_json(*res.workload);
    out.push_back(j);
  }
  return out;
}

std::vector<SarifResult> proofs_sarif(const Module& m, const SourceManager& sm, const ProofReport& r) {
  std::vector<SarifResult> out;
  for (const ProofResult& res : r.results) {
    if (res.status == ProofStatus::Proved) continue;
    const Prove& p = m.proofs[res.index];
    SarifResult s;
    s.code = res.status == ProofStatus::Failed ? Code::E601 : Code::E602;
    s.severity = Severity::Error;
    s.range = p.range;
    s.message = fmt::format("{}: {}", p.text.empty() ? "prove" : p.text, result_detail(m, sm, res, ""));
    while (!s.message.empty() && s.message.back() == '\n') s.message.pop_back();
    if (res.witness) s.related = deciding_notes(m, *res.witness);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<JunitCase> proofs_junit(const Module& m, const SourceManager& sm, const ProofReport& r) {
  std::vector<JunitCase> out;
  for (const ProofResult& res : r.results) {
    const Prove& p = m.proofs[res.index];
    JunitCase c;
    c.classname = p.range.known() ? sm.path(p.range.file) : "moat";
    c.name = p.text.empty() ? fmt::format("prove #{}", res.index) : p.text;
    c.seconds = res.seconds;
    c.failed = res.status == ProofStatus::Failed;
    c.error = res.status == ProofStatus::Unknown;
    c.message = res.message;
    c.detail = fmt::format("at {}\n{}", sm.location(p.range), result_detail(m, sm, res, "  "));
    out.push_back(std::move(c));
  }
  return out;
}

void print_check_report(const std::string& format, bool werror, const Module& m, const SourceManager& sm, const Diagnostics& diags,
                        const CheckVerification& v, const std::vector<std::string>& inputs) {
  if (format == "sarif") {
    std::vector<SarifResult> results;
    for (const Diagnostic& d : diags.all()) results.push_back(sarif_result(d));
    for (SarifResult& r : proofs_sarif(m, sm, v.proofs)) results.push_back(std::move(r));
    std::puts(sarif_log(results, sm, inputs).dump(2).c_str());
    return;
  }
  // JUnit: diagnostics grouped per file (a file with errors or warnings fails its case).
  std::vector<JunitCase> cases;
  std::map<std::string, JunitCase> per_file;
  for (size_t f = 0; f < sm.size(); ++f) {
    JunitCase c;
    c.classname = sm.path(static_cast<FileId>(f));
    c.name = "lint " + c.classname;
    per_file.emplace(c.classname, c);
  }
  for (const Diagnostic& d : diags.all()) {
    std::string file = d.range.known() ? sm.path(d.range.file) : std::string("moat");
    JunitCase& c = per_file[file];
    if (c.classname.empty()) c.classname = file, c.name = "lint " + file;
    if (d.severity == Severity::Note) continue;
    if (d.severity == Severity::Warning && !werror) {
      c.output += render_diagnostic(d, sm, false);
      continue;
    }
    c.failed = true;
    if (c.message.empty()) c.message = fmt::format("{}[{}]: {}", d.severity == Severity::Error ? "error" : "warning",
                                                   code_name(d.code), d.message);
    c.detail += render_diagnostic(d, sm, false);
  }
  for (auto& [file, c] : per_file) cases.push_back(c);
  for (JunitCase& c : proofs_junit(m, sm, v.proofs)) cases.push_back(std::move(c));
  if (!v.internal_error.empty()) {
    JunitCase c;
    c.classname = "moat";
    c.name = "verifier";
    c.error = true;
    c.message = "internal error";
    c.detail = v.internal_error;
    cases.push_back(c);
  }
  std::fputs(junit_document("moat check", cases).c_str(), stdout);
}

} // namespace moat::cli
