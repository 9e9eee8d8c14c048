// moat keygen PREFIX: writes a new ed25519 key pair for signing bundles — PREFIX.key (the
// secret key, mode 0600, for `moat build --sign` / `moat sign`) and PREFIX.pub (for
// `moat agent --trust`). Never overwrites a file. Exit 0 written, 3 cannot write.
#include <cstdio>

#include "backend/bundle/signature.h"
#include "cli/commands.h"

namespace moat::cli {

void add_keygen_command(CLI::App& app, int& exit_code) {
  auto prefix = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("keygen", "Make an ed25519 key pair for signing bundles (PREFIX.key, PREFIX.pub)");
  cmd->add_option("prefix", *prefix, "Path prefix of the two key files")->required();
  cmd->callback([prefix, &exit_code] {
    std::string error;
    auto key = bundle::generate_key(error);
    if (!key || !bundle::write_key_pair(*key, *prefix, error)) {
      std::fprintf(stderr, "moat keygen: %s\n", error.c_str());
      exit_code = 3;
      return;
    }
    std::printf("moat keygen: key %s: secret key %s.key (keep it off the nodes), public key %s.pub\n",
                key->public_key().id().c_str(), prefix->c_str(), prefix->c_str());
    exit_code = 0;
  });
}

} // namespace moat::cli
