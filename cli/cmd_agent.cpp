// moat agent: load a bundle on this node and enforce it (runtime/agent). Exit 0 enforcing,
// 1 not ready (an attach failed), 2 bad input, 3 internal error (no bpf(), no bpffs).
#include <fmt/format.h>
#include <sys/prctl.h>

#include <chrono>
#include <ctime>

#include "cli/commands.h"
#include "cli/render.h"
#include "runtime/agent/agent.h"
#include "runtime/loader.h"

namespace moat::cli {

namespace {

struct AgentCli {
  runtime::agent::AgentOptions opts;
  bool detach = false;
  bool probe_kernel = false;
  std::string misfits = "enforce";
  std::string attach = "tc";
  std::vector<std::string> overrides;
  int stale_after_s = 180;
};

void log_line(const std::string& line) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
  int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::fprintf(stderr, "%s.%03d moat agent: %s\n", stamp, ms, line.c_str());
}

int run(AgentCli& c) {
  std::string why;
  if (c.probe_kernel) {
    bool ok = runtime::kernel_bpf_available(why);
    std::printf("%s\n", ok ? "bpf available" : why.c_str());
    return ok ? 0 : 3;
  }
  runtime::agent::AgentHooks hooks;
  hooks.log = log_line;
  hooks.diagnostics = [](const SourceManager& sm, const Diagnostics& d) { print_diagnostics(d, sm, stderr); };
  if (c.detach) return runtime::agent::detach_all(c.opts, hooks);
  bool files = !c.opts.node_file.empty() && !c.opts.inventory_files.empty();
  if (c.opts.bundle_dir.empty() || (c.opts.kube.api.empty() && !files)) {
    std::fprintf(stderr, "moat agent: --bundle and either --kube-api or --node and --inventory are required\n");
    return 2;
  }
  if (!c.opts.kube.api.empty() && (!c.opts.node_file.empty() || !c.opts.inventory_files.empty())) {
    std::fprintf(stderr, "moat agent: --kube-api replaces --node and --inventory; give one or the other\n");
    return 2;
  }
  c.opts.kube.watch.stale_after_ms = c.stale_after_s * 1000;
  // No transparent huge pages for the daemon (cli/malloc_conf.cpp asks jemalloc for them,
  // for the one-shot commands): its resident set stays as small as its heap.
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  if (!runtime::kernel_bpf_available(why)) {
    std::fprintf(stderr, "moat agent: cannot enforce: %s\n", why.c_str());
    return 3;
  }
  c.opts.misfits = c.misfits == "drop" ? runtime::agent::MisfitPolicy::Drop : runtime::agent::MisfitPolicy::Enforce;
  c.opts.attach.kind = c.attach == "cgroup" ? runtime::attach::AttachKind::Cgroup : runtime::attach::AttachKind::Tc;
  for (const std::string& o : c.overrides)
    if (!runtime::attach::parse_override(o, c.opts.attach, why)) {
      std::fprintf(stderr, "moat agent: %s\n", why.c_str());
      return 2;
    }
  return runtime::agent::run_agent(c.opts, hooks);
}

} // namespace

void add_agent_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<AgentCli>();
  auto& o = c->opts;
  CLI::App* cmd = app.add_subcommand("agent", "Enforce a bundle on this node (tc / cgroup_skb, pinned)");
  cmd->add_option("--bundle", o.bundle_dir, "Bundle directory written by `moat build -o`");
  cmd->add_option("--trust", o.trust_files,
                  "Public key file (moat keygen): use only bundles signed by it; repeatable (key rotation)");
  cmd->add_option("--min-serial", o.min_serial,
                  "With --trust: refuse bundles below this serial even when the state directory, which "
                  "remembers the highest serial activated, was wiped");
  cmd->add_option("--node", o.node_file, "This node's Kubernetes Node object (YAML or JSON)");
  cmd->add_option("--inventory", o.inventory_files, "Namespaces and Pods (List, YAML or JSON); repeatable");
  cmd->add_option("--kube-api", o.kube.api,
                  "Watch the Node and the inventory on the API server: in-cluster, https://HOST:PORT, or "
                  "http://127.0.0.1:PORT (loopback only: tests)");
  cmd->add_option("--kube-token-file", o.kube.token_file, "Bearer token file (in-cluster: the service account's)");
  cmd->add_option("--kube-ca-file", o.kube.ca_file, "CA bundle of the API server (in-cluster: the service account's)");
  cmd->add_option("--node-name", o.kube.node_name, "This node's name with --kube-api (default: $NODE_NAME)");
  cmd->add_option("--kube-stale-after", c->stale_after_s,
                  "Seconds without a watch event or bookmark after which the inventory is stale (not ready) and relisted")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_option("--inventory-debounce-ms", o.kube.debounce_ms, "Watch events within this window make one reconcile")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  cmd->add_flag("--once", o.once, "Load, attach, write the status and exit; enforcement stays pinned");
  cmd->add_flag("--detach", c->detach, "Remove everything the agent attached and pinned");
  cmd->add_option("--status-file", o.status_file, "Status file (default STATE_DIR/status.json)");
  cmd->add_option("--metrics-port", o.metrics_port, "Serve Prometheus metrics on 127.0.0.1:PORT")->check(CLI::Range(0, 65535));
  cmd->add_option("--pin-dir", o.pin_dir, "bpffs directory for pinned objects")->capture_default_str();
  cmd->add_option("--state-dir", o.state_dir, "Directory for state.json, status.json, fqdn.json")->capture_default_str();
  cmd->add_option("--poll-ms", o.poll_ms, "How often inputs are checked for changes")->capture_default_str();
  cmd->add_option("--metrics-address", o.metrics_address,
                  "Address of --metrics-port (an IP; the node's address lets in-cluster Prometheus scrape)")
      ->capture_default_str();
  cmd->add_option("--dns-listen", o.dns_listen, "Node-local DNS proxy address (ADDR[:PORT]); repeatable");
  cmd->add_option("--dns-upstream", o.dns_upstream, "DNS server the proxy forwards to (ADDR[:PORT])");
  cmd->add_option("--fqdn-min-ttl", o.fqdn_min_ttl, "Keep learned DNS names at least this many seconds")
      ->capture_default_str();
  cmd->add_option("--fqdn-max-ttl", o.fqdn_max_ttl, "Keep learned DNS names at most this many seconds")
      ->capture_default_str();
  cmd->add_option("--fqdn-max-ips-per-name", o.fqdn_max_ips_per_name, "Learned addresses per DNS name")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--fqdn-max-names-per-ip", o.fqdn_max_names_per_ip, "Learned DNS names per address")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--fqdn-max-ips", o.fqdn_max_ips, "Learned addresses in all")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--cluster-domain", o.cluster_domain, "Names under this domain are never learned from DNS")
      ->capture_default_str();
  cmd->add_option("--fqdn-zombie-recheck", o.fqdn_zombie_recheck_s,
                  "Seconds between checks whether an expired address still carries live connections")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_option("--fqdn-max-zombies", o.fqdn_max_zombies, "Expired addresses kept for live connections")
      ->capture_default_str();
  cmd->add_option("--dns-max-pending", o.dns_max_pending, "UDP DNS queries in flight at once")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--dns-tcp-workers", o.dns_tcp_workers, "DNS-over-TCP connections served at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--conntrack-entries", o.conntrack_entries,
                  "Size of the conntrack map (tracked connections of all local pods); default: the bundle's")
      ->check(CLI::Range(1024u, 1u << 24));
  cmd->add_flag("--dns-learn-after-forward", o.dns_learn_after_forward,
                "Measurement only: forward DNS answers before learning them (the snooping race)");
  cmd->add_option("--misfits", c->misfits, "Local pods the pool does not admit: enforce their policy, or drop them")
      ->check(CLI::IsMember({"enforce", "drop"}))
      ->capture_default_str();
  cmd->add_option("--attach", c->attach,
                  "Where local pods are enforced: tc on the interface routing the pod's IP, or the pod's kubepods cgroup")
      ->check(CLI::IsMember({"tc", "cgroup"}))
      ->capture_default_str();
  cmd->add_option("--kubepods-root", o.attach.kubepods_root,
                  "The kubelet's kubepods cgroup (default: CGROUP2/kubepods.slice, else CGROUP2/kubepods)");
  cmd->add_option("--attach-override", c->overrides,
                  "Tests only: NS/POD=IFACE or NS/POD=/cgroup/dir instead of discovery (never pod metadata); repeatable");
  cmd->add_option("--fail-apply-while", o.fail_apply_file, "Tests only: map updates fail while FILE exists");
  cmd->add_option("--run-for-ms", o.run_for_ms, "Stop after this many milliseconds (tests)");
  cmd->add_flag("--verbose", o.verbose, "Print libbpf messages");
  cmd->add_flag("--probe-kernel", c->probe_kernel, "Only check that bpf() is usable (exit 0 / 3)");
  cmd->callback([c, &exit_code] { exit_code = run(*c); });
}

} // namespace moat::cli
