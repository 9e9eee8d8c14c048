#include "fuzz/fuzz_common.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "cli/render.h"
#include "frontend/frontend.h"
#include "ir/lint.h"
#include "ir/printer.h"

namespace moat::fuzz {

namespace fs = std::filesystem;

void fail(const std::string& what) {
  std::fprintf(stderr, "moat fuzz: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

ScratchFile::ScratchFile(const std::string& suffix, const uint8_t* data, size_t size) {
  static const fs::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    fs::path d = (fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::path(tmp ? tmp : "/tmp")) / "moat-fuzz";
    fs::create_directories(d);
    return d;
  }();
  path_ = (dir / (std::to_string(getpid()) + suffix)).string();
  std::ofstream out(path_, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) fail("cannot write scratch file " + path_);
}

ScratchFile::~ScratchFile() {
  std::error_code ec;
  fs::remove(path_, ec);
}

namespace {

void check_range(const SourceRange& r, const SourceManager& sm, const std::string& what) {
  if (!r.known()) return;
  if (r.file >= sm.size()) fail(what + ": range points at file " + std::to_string(r.file));
  if (r.line == 0 || r.col == 0) fail(what + ": range with line or column 0 at " + sm.location(r));
}

} // namespace

void render_all(const Diagnostics& diags, const SourceManager& sm) {
  for (const Diagnostic& d : diags.all()) {
    check_range(d.range, sm, "diagnostic " + std::string(code_name(d.code)));
    std::string text = cli::render_diagnostic(d, sm, false);
    if (text.empty()) fail("empty rendering");
    try {
      (void)cli::diagnostic_json(d, sm).dump(2);
    } catch (const std::exception& e) {
      fail("JSON rendering of " + std::string(code_name(d.code)) + " '" + d.message + "' throws: " + e.what());
    }
  }
}

void check_module(const Module& m, const SourceManager& sm) {
  for (size_t i = 0; i < m.rules.size(); ++i) {
    const Rule& r = m.rules[i];
    std::string what = "rule #" + std::to_string(i);
    if (r.id != i) fail(what + " has id " + std::to_string(r.id));
    if (r.twin >= 0 && (static_cast<size_t>(r.twin) >= m.rules.size() || m.rules[r.twin].twin != static_cast<int32_t>(i)))
      fail(what + ": twin #" + std::to_string(r.twin) + " does not point back");
    if (!r.range.known()) fail(what + " has no source range");
    check_range(r.range, sm, what);
    for (const PortMatch& p : r.ports) {
      if (!p.name.empty()) continue;
      if (p.lo > p.hi) fail(what + ": port range " + std::to_string(p.lo) + ".." + std::to_string(p.hi));
      bool icmp = p.proto == Protocol::ICMP || p.proto == Protocol::ICMPv6;
      if (icmp && p.hi > 255) fail(what + ": ICMP type range past 255");
    }
  }
  for (const Isolation& iso : m.isolations) check_range(iso.range, sm, "isolation");
  for (const NodePool& p : m.pools) check_range(p.range, sm, "node pool " + p.name);
}

void load_policy(const std::string& suffix, const uint8_t* data, size_t size, SourceManager& sm) {
  ScratchFile input(suffix, data, size);
  Module module;
  Diagnostics diags;
  load_paths({input.path()}, sm, module, diags);
  if (!diags.has_errors()) {
    check_module(module, sm);
    run_lints(module, diags);
    (void)print_module(module, sm);
  }
  render_all(diags, sm);
}

std::string yaml_or_json_suffix(const uint8_t* data, size_t size) {
  size_t i = 0;
  while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')) ++i;
  return i < size && (data[i] == '{' || data[i] == '[') ? ".json" : ".yaml";
}

} // namespace moat::fuzz
