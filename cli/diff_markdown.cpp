// The Markdown form of `moat diff` (see diff_markdown.h).
#include "cli/diff_markdown.h"

#include <fmt/format.h>

#include "cli/explain.h"
#include "cli/markdown.h"

namespace moat::cli {

namespace {

std::string code(const std::string& s) {
  // A backtick inside would end the code span early; doubled spans need no escaping.
  return s.find('`') == std::string::npos ? "`" + s + "`" : "`` " + s + " ``";
}

/// "allow rule at file:line:col" for each rule deciding either direction of `v`, or the
/// isolation that denied it.
std::string deciders(const Module& m, const SourceManager& sm, const Verdict& v) {
  std::string out;
  for (const Decision* d : {&v.egress, &v.ingress}) {
    const char* dir = d == &v.egress ? "egress" : "ingress";
    for (uint32_t id : d->rules)
      if (id < m.rules.size())
        out += fmt::format("{}{} {} at {}", out.empty() ? "" : "; ", dir,
                           to_string(m.rules[id].action), code(sm.location(m.rules[id].range)));
    if (d->why == Decision::Why::NoAllow)
      for (uint32_t i : d->isolations)
        if (i < m.isolations.size())
          out += fmt::format("{}{} isolated at {}", out.empty() ? "" : "; ", dir,
                             code(sm.location(m.isolations[i].range)));
  }
  return out.empty() ? "no policy applies" : out;
}

} // namespace

std::string diff_markdown(const Module& old_m, const Module& new_m, const SourceManager& sm,
                          const DiffReport& r, const std::string& old_path,
                          const std::string& new_path, const std::string& verdict, size_t budget) {
  size_t plus = 0, minus = 0;
  for (const DiffCube& c : r.cubes)
    (c.newly_allowed ? plus : minus)++;
  std::string out =
      fmt::format("### moat diff: {}\n\n{} → {}: **{}** cube(s) of flows newly allowed, **{}** "
                  "newly denied{}.\n",
                  md_cell(verdict), code(old_path), code(new_path), plus, minus,
                  r.truncated ? " (more differences exist: raise `--max-cubes`)" : "");
  if (r.cubes.empty()) return out;
  out += "\n| change | from | to | on | for example | decided by (new) | before (old) |\n"
         "|---|---|---|---|---|---|---|\n";
  size_t shown = 0;
  for (bool allowed : {true, false})
    for (const DiffCube& c : r.cubes) {
      if (c.newly_allowed != allowed) continue;
      const Witness& w = c.witness;
      std::string example = fmt::format(
          "{} from {} to {}", code(flow_text(w.proto, w.port)), code(describe_endpoint(w.src)),
          w.self ? std::string("itself") : code(describe_endpoint(w.dst)));
      std::string row = fmt::format(
          "| {} | {} | {} | {} | {} | {} | {} |\n", allowed ? "➕ newly allowed" : "➖ newly denied",
          md_cell(code(c.src)), md_cell(code(c.dst)), md_cell(code(c.ports)), md_cell(example),
          md_cell(deciders(new_m, sm, w.verdict)),
          md_cell(std::string(c.old_verdict.allowed ? "allowed" : "denied") + ": " +
                  deciders(old_m, sm, c.old_verdict)));
      if (out.size() + row.size() > budget) {
        out += fmt::format("\n_{} more cube(s) not shown: the comment would be too long; run `moat "
                           "diff` for all._\n",
                           r.cubes.size() - shown);
        return out;
      }
      out += row;
      ++shown;
    }
  return out;
}

std::string connection_changes_markdown(const std::vector<ConnChange>& changes, size_t budget) {
  std::string out = fmt::format(
      "\n**{}** connection(s) among the workloads changed (`moat list` of each version).\n",
      changes.size());
  if (changes.empty()) return out;
  out += "\n| change | src | dst | before | after |\n|---|---|---|---|---|\n";
  for (size_t i = 0; i < changes.size(); ++i) {
    const ConnChange& c = changes[i];
    std::string row =
        fmt::format("| {} | {} | {} | {} | {} |\n", c.kind(), md_cell(code(c.src)),
                    md_cell(code(c.dst)), c.before.empty() ? "" : md_cell(c.before.str()),
                    c.after.empty() ? "" : md_cell(c.after.str()));
    if (out.size() + row.size() > budget)
      return out + fmt::format("\n_{} more connection change(s) not shown._\n", changes.size() - i);
    out += row;
  }
  return out;
}

} // namespace moat::cli
