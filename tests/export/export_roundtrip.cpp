// Export, reload, diff (see export_roundtrip.h).
#include "export_roundtrip.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "frontend/frontend.h"

namespace moat::testing {

std::vector<std::string> codes(const std::vector<Diagnostic>& diags) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diags) out.emplace_back(code_name(d.code));
  return out;
}

Roundtrip roundtrip(const Module& m, const SourceManager& sm, exporter::Target target) {
  Roundtrip r;
  Diagnostics diags;
  std::vector<exporter::ExportedFile> files = exporter::export_module(m, sm, target, diags);
  for (const Diagnostic& d : diags.all()) (d.severity == Severity::Error ? r.errors : r.warnings).push_back(d);
  if (!r.errors.empty()) return r;

  char tmpl[] = "/tmp/moat-export-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  const char* ext = target == exporter::Target::Moat ? ".moat" : ".yaml";
  for (const exporter::ExportedFile& f : files) {
    std::ofstream(dir + "/" + f.stem + ext) << f.text;
    r.text += f.text;
  }
  SourceManager sm2;
  Diagnostics d2;
  load_paths({dir}, sm2, r.reloaded, d2);
  std::filesystem::remove_all(dir);
  for (const Diagnostic& d : d2.all())
    if (d.severity == Severity::Error)
      r.reload_errors += fmt::format("{}: {}: {}\n", sm2.location(d.range), code_name(d.code), d.message);
  if (!r.reload_errors.empty()) return r;
  r.diff = semantic_diff(m, r.reloaded, VerifyOptions{});
  return r;
}

} // namespace moat::testing
