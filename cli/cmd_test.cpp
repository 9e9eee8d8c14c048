// moat test: run connectivity expectations (a cases file, docs/CASES.md, plus the sources'
// own `expect` statements) through one or more engines. Exit 0 all pass, 1 any failure,
// 2 bad input or an engine that is not available.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/format_option.h"
#include "cli/load_options.h"
#include "cli/format_junit.h"
#include "cli/engines.h"
#include "cli/explain.h"
#include "cli/flow_packets.h"
#include "cli/format_sarif.h"
#include "cli/render.h"
#include "frontend/cases.h"
#include "frontend/frontend.h"
#include "ir/cni_lint.h"

namespace moat::cli {

namespace {

struct TestOptions {
  LoadOptions load;
  std::vector<std::string> paths;
  std::string cases;
  std::string engine = "interp";
  std::string format = "text";
  bool verbose = false;
};

/// One case's outcome across the engines asked. A case runs once per packet it stands for
/// (an external endpoint with several addresses is several hosts, ir.h Flow; a dual-stack
/// workload sends IPv4 and IPv6); the verdicts kept are those of the first packet that
/// failed (or of the first packet when all passed).
struct CaseResult {
  const Case* c = nullptr;
  std::vector<std::optional<EngineVerdict>> verdicts;  // parallel to the engine names
  bool pass = false;
  std::string address;  // "to 52.216.1.2": the addresses the verdicts are for, when several
};

const char* verdict_word(bool allow) { return allow ? "allow" : "deny"; }

std::string case_title(const Case& c) {
  return fmt::format("{} -> {} {}", c.from, c.to, flow_text(c.proto, c.port));
}

/// "expected deny, interp allow, smt unknown" (plus " (to 52.216.1.2)" for one address of
/// several).
std::string mismatch_text(const CaseResult& r, const std::vector<std::string>& engines) {
  std::string s = fmt::format("expected {}", verdict_word(r.c->allow));
  for (size_t i = 0; i < engines.size(); ++i)
    s += fmt::format(", {} {}", engines[i], r.verdicts[i] ? verdict_word(r.verdicts[i]->allowed) : "unknown");
  if (!r.address.empty()) s += " (" + r.address + ")";
  return s;
}

/// Runs `c` on every engine, once per packet it stands for (packet_addresses); the expectation
/// must hold at every one.
CaseResult run_case(const Case& c, const CasesFile& suite, std::vector<std::unique_ptr<Engine>>& engines) {
  CaseResult r;
  r.c = &c;
  r.pass = true;
  const Endpoint* from = suite.find(c.from);
  const Endpoint* to = suite.find(c.to);
  auto pairs = packet_addresses(from, to, c.proto);
  // Name the addresses in a report only when the case stands for more than one packet.
  bool name_from = false, name_to = false;
  for (const auto& [a, b] : pairs) {
    name_from = name_from || a != pairs.front().first;
    name_to = name_to || b != pairs.front().second;
  }
  for (const auto& [a, b] : pairs) {
    if (!r.pass) break;
    Case at = c;
    at.from_addr = a;
    at.to_addr = b;
    std::vector<std::optional<EngineVerdict>> verdicts;
    bool ok = true;
    for (auto& engine : engines) {
      verdicts.push_back(engine->check(at));
      if (!verdicts.back() || verdicts.back()->allowed != c.allow) ok = false;
    }
    if (!ok || r.verdicts.empty()) {
      r.verdicts = std::move(verdicts);
      r.address.clear();
      if (name_from) r.address = "from " + from->ips[a].str();
      if (name_to) r.address += (r.address.empty() ? "to " : ", to ") + to->ips[b].str();
    }
    r.pass = ok;
  }
  if (r.pass) r.address.clear();
  return r;
}

/// The deciding rules of every engine (engine name headings only when there are several).
std::string details_text(const CaseResult& r, const std::vector<std::string>& engines) {
  std::string s;
  for (size_t i = 0; i < engines.size(); ++i) {
    if (engines.size() > 1) s += fmt::format("  {}:\n", engines[i]);
    if (!r.verdicts[i]) s += "    no verdict (the engine could not decide this case)\n";
    else s += r.verdicts[i]->detail;
  }
  return s;
}


/// The cases file's endpoints and cases, plus the ends of every `expect` statement.
CasesFile build_suite(const Module& module, std::optional<CasesFile> file) {
  CasesFile suite = file ? std::move(*file) : CasesFile{};
  // A namespace the cases file does not describe takes the labels the sources declare.
  for (Endpoint& ep : suite.endpoints) {
    if (ep.kind != EndpointKind::Workload || suite.namespaces.count(ep.ns)) continue;
    auto it = module.namespaces.find(ep.ns);
    if (it == module.namespaces.end()) continue;
    ep.ns_labels = it->second;
    ep.ns_labels[kNamespaceNameLabel] = ep.ns;
  }
  for (const Expect& e : module.expects) {
    Case c;
    c.from = add_endpoint(suite, e.from);
    c.to = add_endpoint(suite, e.to);
    if (c.to == c.from && e.to.kind == EndpointKind::Workload) {
      // `expect g -> g` is about two members of the group; as one endpoint it would be self
      // traffic, allowed whatever the policy says, and the expectation would prove nothing.
      Endpoint other = e.to;
      other.name += "#2";
      other.ips.clear();
      c.to = add_endpoint(suite, std::move(other));
    }
    c.proto = e.proto;
    c.port = e.port;
    c.allow = e.allow;
    c.range = e.range;
    suite.cases.push_back(std::move(c));
  }
  return suite;
}

/// The L7 condition of an allowed case, from the first engine that knows it ("" if none).
std::string condition_of(const CaseResult& r) {
  for (const auto& v : r.verdicts)
    if (v && v->allowed && !v->condition.empty()) return v->condition;
  return "";
}

void print_text(const std::vector<CaseResult>& results, const std::vector<std::string>& engines,
                const SourceManager& sm, bool verbose, size_t passed, size_t failed) {
  for (const CaseResult& r : results) {
    if (r.pass) {
      std::string l7 = condition_of(r);
      std::printf("PASS %s: %s%s\n", case_title(*r.c).c_str(), verdict_word(r.c->allow), l7.empty() ? "" : (", " + l7).c_str());
      if (verbose) std::fputs(details_text(r, engines).c_str(), stdout);
      continue;
    }
    std::printf("FAIL %s: %s\n", case_title(*r.c).c_str(), mismatch_text(r, engines).c_str());
    std::printf("    case at %s\n", sm.location(r.c->range).c_str());
    std::fputs(details_text(r, engines).c_str(), stdout);
  }
  std::printf("%zu passed, %zu failed\n", passed, failed);
}

void print_json(const std::vector<CaseResult>& results, const std::vector<std::string>& engines,
                const SourceManager& sm, size_t passed, size_t failed) {
  nlohmann::json cases = nlohmann::json::array();
  for (const CaseResult& r : results) {
    nlohmann::json verdicts = nlohmann::json::object();
    for (size_t i = 0; i < engines.size(); ++i) {
      if (r.verdicts[i])
        verdicts[engines[i]] = {{"verdict", verdict_word(r.verdicts[i]->allowed)}, {"detail", r.verdicts[i]->detail}};
      else
        verdicts[engines[i]] = {{"verdict", "unknown"}, {"detail", ""}};
    }
    cases.push_back({{"from", r.c->from},
                     {"to", r.c->to},
                     {"protocol", to_string(r.c->proto)},
                     {"port", r.c->port},
                     {"expected", verdict_word(r.c->allow)},
                     {"pass", r.pass},
                     {"location", sm.location(r.c->range)},
                     {"engines", verdicts}});
    if (!r.address.empty()) cases.back()["address"] = r.address;
    if (std::string l7 = condition_of(r); !l7.empty()) cases.back()["l7"] = l7;
  }
  nlohmann::json out = {{"cases", cases},
                        {"summary", {{"passed", passed}, {"failed", failed}, {"engines", engines}}}};
  std::puts(out.dump(2).c_str());
}

/// SARIF (for code scanning): one E603 result per failed case, at the case's location.
void print_sarif(const std::vector<CaseResult>& results, const std::vector<std::string>& engines,
                 const SourceManager& sm, const std::vector<std::string>& inputs) {
  std::vector<SarifResult> out;
  for (const CaseResult& r : results) {
    if (r.pass) continue;
    SarifResult s;
    s.code = Code::E603;
    s.range = r.c->range;
    s.message = fmt::format("{}: {}\n{}", case_title(*r.c), mismatch_text(r, engines), details_text(r, engines));
    out.push_back(std::move(s));
  }
  std::puts(sarif_log(out, sm, inputs).dump(2).c_str());
}

void print_junit(const std::vector<CaseResult>& results, const std::vector<std::string>& engines,
                 const SourceManager& sm, size_t failed) {
  std::printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  std::printf("<testsuites name=\"moat test\" tests=\"%zu\" failures=\"%zu\">\n", results.size(), failed);
  std::printf("  <testsuite name=\"moat test\" tests=\"%zu\" failures=\"%zu\">\n", results.size(), failed);
  for (const CaseResult& r : results) {
    std::string name = fmt::format("{}: {}", case_title(*r.c), verdict_word(r.c->allow));
    std::string cls = r.c->range.known() ? sm.path(r.c->range.file) : "moat";
    std::printf("    <testcase classname=\"%s\" name=\"%s\">", xml_escape_text(cls).c_str(), xml_escape_text(name).c_str());
    if (!r.pass) {
      std::printf("\n      <failure message=\"%s\">%s</failure>\n    ", xml_escape_text(mismatch_text(r, engines)).c_str(),
                  xml_escape_text(fmt::format("case at {}\n{}", sm.location(r.c->range), details_text(r, engines))).c_str());
    }
    std::printf("</testcase>\n");
  }
  std::printf("  </testsuite>\n</testsuites>\n");
}

int run_test(const TestOptions& o) {
  std::vector<std::string> engines =
      o.engine == "all" ? all_engine_names() : std::vector<std::string>{o.engine};
  for (const std::string& e : engines) {
    if (find_engine(e)) continue;
    std::string have;
    for (const std::string& n : engine_names()) have += (have.empty() ? "" : ", ") + n;
    std::fprintf(stderr, "moat test: engine '%s' is not available in this build (available: %s)\n", e.c_str(),
                 have.c_str());
    return 2;
  }

  SourceManager sm;
  Module module;
  Diagnostics diags;
  load_paths(o.paths, sm, module, diags, o.load);
  std::optional<CasesFile> file;
  if (!o.cases.empty()) file = load_cases(o.cases, sm, diags);
  if (file && !diags.has_errors()) lint_ip_blocks_over_workloads(module, file->endpoints, diags);  // W420
  print_diagnostics(diags, sm, stderr);
  if (diags.has_errors()) return 2;

  CasesFile suite = build_suite(module, std::move(file));
  if (suite.cases.empty()) {
    std::fprintf(stderr, "moat test: no cases (give --cases FILE, or write `expect` statements)\n");
    return 2;
  }

  std::vector<std::unique_ptr<Engine>> prepared;
  EngineInput input{module, suite, sm};
  for (const std::string& e : engines) {
    std::string error;
    std::unique_ptr<Engine> engine = (*find_engine(e))(input, error);
    if (!engine) {
      std::fprintf(stderr, "moat test: engine '%s' cannot run: %s\n", e.c_str(),
                   error.empty() ? "unknown reason" : error.c_str());
      return 2;
    }
    prepared.push_back(std::move(engine));
  }

  std::vector<CaseResult> results;
  size_t passed = 0, failed = 0;
  for (const Case& c : suite.cases) {
    CaseResult r = run_case(c, suite, prepared);
    (r.pass ? passed : failed)++;
    results.push_back(std::move(r));
  }

  if (o.format == "json" || o.format == "junit" || o.format == "sarif") {
    if (o.format == "json") print_json(results, engines, sm, passed, failed);
    else if (o.format == "sarif") print_sarif(results, engines, sm, o.cases.empty() ? o.paths : std::vector<std::string>{o.cases});
    else print_junit(results, engines, sm, failed);
    // stdout must stay one JSON / XML document; the closing line goes to the terminal.
    std::fprintf(stderr, "%zu passed, %zu failed\n", passed, failed);
  } else {
    print_text(results, engines, sm, o.verbose, passed, failed);
  }
  std::fflush(stdout);
  return failed ? 1 : 0;
}

} // namespace

void add_test_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<TestOptions>();
  CLI::App* cmd = app.add_subcommand("test", "Check connectivity expectations against the policies");
  cmd->add_option("paths", opts->paths, "Policy files or directories; - reads YAML from standard input")->required();
  add_load_options(cmd, opts->load, false);  // -v,--verbose below sets load.verbose too
  cmd->add_option("--cases", opts->cases, "Cases file (namespaces, endpoints, expected verdicts)");
  cmd->add_option("--engine", opts->engine, "Engine: interp, smt, kernel, or all (all three must agree)")
      ->check(CLI::IsMember({"interp", "smt", "kernel", "all"}));
  add_format_option(cmd, opts->format, {"text", "json", "junit", "sarif"});
  cmd->add_flag("-v,--verbose", opts->verbose, "Show the deciding rules of passing cases too");
  cmd->callback([opts, &exit_code] {
    opts->load.verbose = opts->verbose;
    exit_code = run_test(*opts);
  });
}

} // namespace moat::cli
