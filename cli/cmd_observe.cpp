// moat observe: the flow log of drops — each dropped packet with the rule (or default deny)
// that decided it, its origin and source location. Exit 0 after a clean stop, 2 when
// nothing is pinned.
#include <signal.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "runtime/agent/inspect.h"

namespace moat::cli {

namespace {

volatile sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

struct ObserveCli {
  std::string pin_dir = "/sys/fs/bpf/moat";
  std::string state_dir = "/run/moat";
  bool json = false;
  int count = 0;
  double timeout_s = 0;
  bool backlog = false;
};

int run(const ObserveCli& c) {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::string err;
  int n = runtime::agent::observe_drops(
      c.pin_dir, c.state_dir, c.count, static_cast<int>(c.timeout_s * 1000), c.backlog,
      [] { return g_interrupted != 0; },
      [&](const runtime::agent::DropRecord& r) {
        if (c.json) {
          nlohmann::json j = {{"ts_ns", r.event.timestamp_ns}, {"direction", r.direction}, {"src", r.src},
                              {"dst", r.dst},  {"protocol", r.protocol}, {"reason", r.reason},
                              {"revoked", r.revoked},
                              {"origin", r.origin}, {"location", r.location}};
          std::puts(j.dump().c_str());
        } else {
          std::printf("DROP %-7s %s -> %s %s: %s%s%s%s%s\n", r.direction.c_str(), r.src.c_str(), r.dst.c_str(),
                      r.protocol.c_str(), r.reason.c_str(), r.origin.empty() ? "" : " (", r.origin.c_str(),
                      r.origin.empty() ? "" : ")", r.location.empty() ? "" : (" at " + r.location).c_str());
        }
        std::fflush(stdout);
      },
      err);
  if (n < 0) {
    std::fprintf(stderr, "moat observe: %s\n", err.c_str());
    return 2;
  }
  return 0;
}

} // namespace

void add_observe_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<ObserveCli>();
  CLI::App* cmd = app.add_subcommand("observe", "Follow drop events with the rule and source line that decided");
  cmd->add_option("--pin-dir", c->pin_dir, "bpffs directory of the agent")->capture_default_str();
  cmd->add_option("--state-dir", c->state_dir, "State directory of the agent")->capture_default_str();
  cmd->add_flag("--json", c->json, "One JSON object per line");
  cmd->add_option("--count", c->count, "Stop after this many events");
  cmd->add_option("--timeout", c->timeout_s, "Stop after this many seconds");
  cmd->add_flag("--backlog", c->backlog, "Also print the drops still buffered from before");
  cmd->callback([c, &exit_code] { exit_code = run(*c); });
}

} // namespace moat::cli
