// moat build -o DIR [--sign KEY] [--serial N] [--valid-for D] PATH...: compile policy sources
// into a bundle — NAME.bpf.o objects (eBPF, BTF, loadable by libbpf), manifest.json (with the
// serial and expiry a trusting agent checks against replays) and, with --sign, its ed25519
// signature manifest.json.sig. Exit 0 built, 2 bad input (also an unusable key) or a policy
// the datapath cannot enforce (E7xx), 3 internal error (LLVM failed, cannot write DIR).
// The bundle is written atomically: a failure never leaves a half-written DIR.
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/bundle/replay_guard.h"
#include "backend/bundle/signature.h"
#include "cli/commands.h"
#include "cli/load_options.h"
#include "cli/render.h"
#include "frontend/frontend.h"

namespace moat::cli {

namespace {

struct BuildOptions {
  LoadOptions load;
  std::vector<std::string> paths;
  std::string out;
  std::string emit_llvm;  // write the datapath's LLVM IR here (debugging)
  std::string sign_key;   // secret key file (moat keygen); "" = unsigned bundle
  std::string serial;     // "" = bundle::default_serial (SOURCE_DATE_EPOCH or the build time)
  std::string valid_for;           // "" = no expiry
  bool quiet = false;
  bool timings = false;  // print the time of each phase
};

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

int run_build(const BuildOptions& o) {
  auto start = std::chrono::steady_clock::now();
  std::optional<bundle::SecretKey> key;
  if (!o.sign_key.empty()) {  // before compiling: a bad key should not cost a build
    std::string kerr;
    key = bundle::read_secret_key(o.sign_key, kerr);
    if (!key) {
      std::fprintf(stderr, "moat build: --sign: %s\n", kerr.c_str());
      return 2;
    }
  }
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::optional<int64_t> validity;
  if (!o.valid_for.empty() && !(validity = bundle::parse_validity_seconds(o.valid_for))) {
    std::fprintf(stderr, "moat build: --valid-for '%s': expected a positive duration such as 90s, 12h or 30d\n",
                 o.valid_for.c_str());
    return 2;
  }
  uint64_t serial = bundle::default_serial(now);
  if (!o.serial.empty()) {
    char* end = nullptr;
    errno = 0;
    serial = std::strtoull(o.serial.c_str(), &end, 10);
    if (o.serial[0] < '1' || o.serial[0] > '9' || *end != '\0' || errno == ERANGE) {
      std::fprintf(stderr, "moat build: --serial '%s': expected a whole number from 1 (0 means a bundle without a serial)\n",
                   o.serial.c_str());
      return 2;
    }
  }
  SourceManager sm;
  Module module;
  Diagnostics diags;
  load_paths(o.paths, sm, module, diags, o.load);
  if (o.timings) std::fprintf(stderr, "moat build: load %.0f ms\n", since(start));
  if (diags.has_errors()) {
    print_diagnostics(diags, sm, stderr);
    std::fprintf(stderr, "moat build: %zu error(s); nothing written\n", diags.error_count());
    return 2;
  }

  backend::BuildOutput out;
  std::string error;
  auto phase = std::chrono::steady_clock::now();
  size_t rule_count = module.rules.size(), isolation_count = module.isolations.size();
  bool built = backend::build_bundle(std::move(module), sm, out, diags, error);
  if (o.timings) std::fprintf(stderr, "moat build: compile %.0f ms\n", since(phase));
  if (!built) {
    print_diagnostics(diags, sm, stderr);
    if (diags.has_errors()) {
      std::fprintf(stderr, "moat build: refused (%zu error(s)); nothing written\n", diags.error_count());
      return 2;
    }
    std::fprintf(stderr, "moat build: internal error: %s\n", error.c_str());
    return 3;
  }
  print_diagnostics(diags, sm, stderr);  // warnings, if any
  out.manifest.cni = o.load.cni;  // the agent reads which profile the rules were lowered under

  if (!o.emit_llvm.empty()) {
    backend::CompileOptions co;
    co.keep_ir = true;
    std::vector<uint8_t> ignored;
    if (!backend::compile_datapath(out.manifest.objects.front().plan, "default", ignored, error, &co)) {
      std::fprintf(stderr, "moat build: internal error: %s\n", error.c_str());
      return 3;
    }
    std::ofstream(o.emit_llvm) << co.llvm_ir;
  }

  phase = std::chrono::steady_clock::now();
  bundle::Signer signer;
  if (key) signer = [&key](const std::string& text) { return key->sign(text); };
  size_t object_count = out.objects.size(), pool_count = out.manifest.pools.size();
  out.manifest.serial = serial;
  if (validity) out.manifest.not_after = now + *validity;
  if (!bundle::write_bundle(o.out, std::move(out.manifest), out.objects, error, signer)) {
    std::fprintf(stderr, "moat build: %s\n", error.c_str());
    return 3;
  }
  if (o.timings) std::fprintf(stderr, "moat build: write %.0f ms\n", since(phase));
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!o.quiet)
    std::fprintf(stderr, "%s\n",
                 fmt::format("moat build: {} rule(s), {} isolation(s), {} object(s), {} node pool(s) -> {}, serial {}{}{} "
                             "({:.0f} ms)",
                             rule_count, isolation_count, object_count, pool_count, o.out, serial,
                             validity ? ", valid until " + bundle::utc_time_text(now + *validity) : std::string(),
                             key ? ", signed by key " + key->public_key().id() : std::string(), ms)
                     .c_str());
  return 0;
}

} // namespace

void add_build_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<BuildOptions>();
  CLI::App* cmd = app.add_subcommand("build", "Compile policy sources into a bundle of eBPF objects + manifest");
  cmd->add_option("paths", opts->paths, "Policy files or directories; - reads YAML from standard input")->required();
  add_load_options(cmd, opts->load);
  cmd->add_option("-o,--output", opts->out, "Bundle directory to write (replaced atomically)")->required();
  cmd->add_option("--sign", opts->sign_key, "Sign the manifest with this secret key file (moat keygen)");
  cmd->add_option("--serial", opts->serial,
                  "Bundle serial (default: SOURCE_DATE_EPOCH or the build's Unix time); trusting agents refuse a "
                  "lower serial than one they activated");
  cmd->add_option("--valid-for", opts->valid_for,
                  "Trusting agents refuse the bundle this long after the build (90s, 12h, 30d; default: no expiry)");
  cmd->add_option("--emit-llvm", opts->emit_llvm, "Also write the default object's optimized LLVM IR to FILE");
  cmd->add_flag("-q,--quiet", opts->quiet, "No summary line");
  cmd->add_flag("--timings", opts->timings, "Print the time of each phase");
  cmd->callback([opts, &exit_code] { exit_code = run_build(*opts); });
}

} // namespace moat::cli
