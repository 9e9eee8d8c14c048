// The export driver: refusals every target shares (admin tiers; proofs, expectations and
// node pools, which are no network policy), then the chosen target's writer.
#include "export/export.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "export/selector_logic.h"
#include "export/targets.h"
#include "export/yaml_emit.h"
#include "frontend/yaml/yaml_util.h"

namespace moat::exporter {

std::optional<Target> parse_target(std::string_view name) {
  if (name == "kubernetes" || name == "k8s") return Target::Kubernetes;
  if (name == "cilium") return Target::Cilium;
  if (name == "moat") return Target::Moat;
  return std::nullopt;
}

const char* target_title(Target t) {
  switch (t) {
  case Target::Kubernetes: return "a Kubernetes NetworkPolicy";
  case Target::Cilium: return "a Cilium network policy";
  case Target::Moat: return "the moat language";
  }
  return "?";
}

std::string source_stem(const SourceManager& sm, SourceRange r) {
  if (r.file == kNoFile) return "policy";
  std::string path = sm.path(r.file);
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  std::string out;
  for (char c : base) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (ok) out += l;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 40) out.resize(40);  // room for "moat-" and "-N" in a 63-character label
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "policy" : out;
}

void refuse(ExportContext& cx, Code code, SourceRange range, const std::string& what, const std::string& why) {
  cx.diags.report(code, range, fmt::format("{} cannot be expressed as {}: {}", what, target_title(cx.target), why));
}

std::vector<PolicyGroup> group_by_subject(const ExportContext& cx) {
  std::vector<PolicyGroup> groups;
  std::map<std::string, size_t> index;
  auto group = [&](const EndpointSelector& subject, SourceRange range) -> PolicyGroup& {
    std::string stem = source_stem(cx.sm, range);
    std::string key = stem + "\n" + canonical(subject);
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) {
      PolicyGroup g;
      g.stem = stem;
      g.subject = subject;
      g.range = range;
      groups.push_back(std::move(g));
    }
    return groups[it->second];
  };
  // Isolations and rules are kept in two vectors; merge them by source position so a
  // file's objects come out in the order it states them.
  struct Item {
    SourceRange range;
    const Isolation* iso;
    const Rule* rule;
  };
  std::vector<Item> items;
  for (const Isolation& i : cx.m.isolations) items.push_back({i.range, &i, nullptr});
  for (const Rule& r : cx.m.rules) items.push_back({r.range, nullptr, &r});
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.range.file != b.range.file) return a.range.file < b.range.file;
    return a.range.line < b.range.line;
  });
  for (const Item& it : items) {
    if (it.iso) group(it.iso->subject, it.range).isolated[static_cast<int>(it.iso->dir)] = true;
    else group(it.rule->subject, it.range).rules.push_back(it.rule);
  }
  return groups;
}

bool yaml_port_names_ok(ExportContext& cx, const Rule& r) {
  bool ok = true;
  for (const PortMatch& pm : r.ports)
    if (!pm.name.empty())
      if (auto why = yamlfe::check_port_name(pm.name)) {
        refuse(cx, Code::E912, pm.range.file == kNoFile ? r.range : pm.range, fmt::format("the named port '{}'", pm.name),
               *why);
        ok = false;
      }
  return ok;
}

std::string& FileSet::text(const std::string& stem) {
  auto [it, fresh] = index_.emplace(stem, files_.size());
  if (fresh) files_.push_back(ExportedFile{stem, ""});
  return files_[it->second].text;
}

std::string FileSet::next_name(const std::string& stem) { return fmt::format("moat-{}-{}", stem, ++counters_[stem]); }

FileSet yaml_files(const Module& m) {
  FileSet files;
  if (std::string ns = namespace_documents(m); !ns.empty()) files.text(kNamespacesStem) = ns;
  return files;
}

std::vector<ExportedFile> FileSet::take() { return std::move(files_); }

namespace {

/// Admin and baseline tiers: only AdminNetworkPolicy YAML could carry them, and moat does
/// not write it.
void refuse_admin_tiers(ExportContext& cx) {
  for (const std::vector<Rule>* tier : {&cx.m.admin_rules, &cx.m.baseline_rules})
    for (const Rule& r : *tier)
      refuse(cx, Code::E910, r.range,
             fmt::format("this {} rule", r.tier == Tier::Admin ? "AdminNetworkPolicy" : "BaselineAdminNetworkPolicy"),
             "only AdminNetworkPolicy objects express the admin and baseline tiers, and moat export does not write "
             "them");
}

/// Statements with no policy meaning: said once per kind, never silently dropped.
void warn_not_exported(ExportContext& cx) {
  auto warn = [&](size_t n, SourceRange r, const char* what) {
    if (n > 0)
      cx.diags.report(Code::W910, r, fmt::format("{} {} not exported: they are not network policy", n, what));
  };
  const Module& m = cx.m;
  warn(m.proofs.size(), m.proofs.empty() ? SourceRange{} : m.proofs[0].range, "prove statement(s)");
  warn(m.expects.size(), m.expects.empty() ? SourceRange{} : m.expects[0].range, "expectation(s)");
  warn(m.pools.size(), m.pools.empty() ? SourceRange{} : m.pools[0].range, "node pool(s)");
  warn(m.cluster_workloads.size(), m.cluster_workloads.empty() ? SourceRange{} : m.cluster_workloads[0].range,
       "workload object(s) (Pods, Deployments, ...)");
}

} // namespace

std::vector<ExportedFile> export_module(const Module& m, const SourceManager& sm, Target target, Diagnostics& diags) {
  ExportContext cx{m, sm, target, diags};
  refuse_admin_tiers(cx);
  warn_not_exported(cx);
  std::vector<ExportedFile> files;
  switch (target) {
  case Target::Kubernetes: files = export_kubernetes(cx); break;
  case Target::Cilium: files = export_cilium(cx); break;
  case Target::Moat: files = export_moat(cx); break;
  }
  if (diags.has_errors()) return {};
  return files;
}

} // namespace moat::exporter
