// moat sign DIR --key KEY: signs an existing bundle (written by `moat build -o DIR`), so
// bundles can be built where the secret key is not. The bundle is read and checked first
// (manifest valid, every object matching its sha256); then DIR/manifest.json.sig is
// replaced by one rename. Exit 0 signed, 2 not a valid bundle or unusable key, 3 cannot write.
#include <cstdio>
#include <filesystem>

#include "backend/bundle/signature.h"
#include "cli/commands.h"
#include "runtime/agent/state.h"

namespace moat::cli {

namespace {

struct SignOptions {
  std::string dir, key;
};

int run_sign(const SignOptions& o) {
  std::string error;
  auto key = bundle::read_secret_key(o.key, error);
  if (!key) {
    std::fprintf(stderr, "moat sign: %s\n", error.c_str());
    return 2;
  }
  auto b = bundle::read_bundle(o.dir, error);
  if (!b) {
    std::fprintf(stderr, "moat sign: %s\n", error.c_str());
    return 2;
  }
  std::string path = (std::filesystem::path(o.dir) / bundle::kSignatureFile).string();
  if (!runtime::agent::write_file_atomic(path, key->sign(b->manifest_text), error)) {
    std::fprintf(stderr, "moat sign: %s\n", error.c_str());
    return 3;
  }
  std::fprintf(stderr, "moat sign: %s signed by key %s\n", o.dir.c_str(), key->public_key().id().c_str());
  return 0;
}

} // namespace

void add_sign_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<SignOptions>();
  CLI::App* cmd = app.add_subcommand("sign", "Sign an existing bundle's manifest (writes DIR/manifest.json.sig)");
  cmd->add_option("dir", opts->dir, "Bundle directory")->required();
  cmd->add_option("--key", opts->key, "Secret key file (moat keygen)")->required();
  cmd->callback([opts, &exit_code] { exit_code = run_sign(*opts); });
}

} // namespace moat::cli
