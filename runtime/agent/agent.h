// `moat agent`: enforce a bundle on this node. Reads the bundle, the Node and the
// inventory; picks the node's pool; fills a generation's maps; activates it in the pinned
// dispatch layer; attaches the dispatchers to every local pod's interface or cgroup; writes
// the status. Without --once it keeps following its inputs (polling) and DNS answers (the
// node-local proxy), changing enforcement atomically. It never detaches on exit: a stopped
// or killed agent leaves enforcement pinned, and the next agent adopts it. Only
// `--detach` removes what the agent attached and pinned.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "runtime/agent/desired.h"
#include "runtime/attach/attach_points.h"
#include "runtime/inventory/cluster_source.h"

namespace moat::runtime::agent {

struct AgentOptions {
  std::string bundle_dir;
  /// Public key files (moat keygen): when any is given, a bundle is used only if one of
  /// these keys signed its manifest (several: key rotation). None: bundles are not
  /// authenticated (the agent warns once).
  std::vector<std::string> trust_files;
  /// With trust_files: bundles below this serial are refused even when the state directory
  /// (which remembers the highest serial activated) was wiped, e.g. by a reboot (tmpfs).
  uint64_t min_serial = 0;
  std::string node_file;
  std::vector<std::string> inventory_files;
  /// `--kube-api`: the Node and the inventory are watched on the API server instead of read
  /// from node_file / inventory_files (runtime/inventory/).
  inventory::KubeApiOptions kube;
  std::string pin_dir = "/sys/fs/bpf/moat";
  std::string state_dir = "/run/moat";
  std::string status_file;  // default: STATE_DIR/status.json
  bool once = false;
  int poll_ms = 500;        // how often inputs are checked for changes
  int metrics_port = 0;     // 0: no metrics endpoint
  std::string metrics_address = "127.0.0.1";  // the node's address to let Prometheus scrape
  std::vector<std::string> dns_listen;  // DNS proxy addresses ("" : no proxy)
  std::string dns_upstream;
  uint32_t fqdn_min_ttl = 5;            // seconds; learned names live at least this long
  uint32_t fqdn_max_ttl = 3600;         // ... and at most this long, whatever the answer says
  size_t fqdn_max_ips_per_name = 64;    // learned addresses per name
  size_t fqdn_max_names_per_ip = 64;    // learned names per address (one identity per address)
  size_t fqdn_max_ips = 16384;          // learned addresses in all
  std::string cluster_domain = "cluster.local";  // names under it are never learned
  int fqdn_zombie_recheck_s = 60;       // an expired address with live connections is re-checked this often
  size_t fqdn_max_zombies = 4096;       // expired addresses kept for live connections
  size_t dns_max_pending = 1024;        // UDP queries in flight (upstream or held)
  int dns_tcp_workers = 8;              // DNS-over-TCP connections served at once
  uint32_t conntrack_entries = 0;       // conntrack map size; 0: the bundle object's own
  bool dns_learn_after_forward = false; // measurement only: do not hold answers
  MisfitPolicy misfits = MisfitPolicy::Enforce;
  attach::AttachConfig attach;  // how local pods' attach points are found (runtime/attach)
  /// Test seam: while this file exists every map write "fails" (as a full map would), so a
  /// test can watch what the agent does when applying fails. "" = never.
  std::string fail_apply_file;
  bool verbose = false;
  /// Stop after this many milliseconds (0 = until SIGTERM/SIGINT); for tests and demos.
  int64_t run_for_ms = 0;
};

struct AgentHooks {
  std::function<void(const std::string&)> log;  // one line of progress
  /// Input diagnostics (rendered by the CLI against `sm`).
  std::function<void(const SourceManager& sm, const Diagnostics& diags)> diagnostics;
};

/// Runs the agent. Exit codes (docs/DIAGNOSTICS.md): 0 enforcement in place; 1 not ready (an attach
/// failed); 2 bad input on the first load (nothing enforced; also an unreadable --trust key,
/// which stops the agent at once); 3 internal error.
int run_agent(const AgentOptions& opts, const AgentHooks& hooks);

/// `--detach`: removes the dispatchers from every interface (of this network namespace)
/// and cgroup, empties the slots, unpins everything under the pin directory and deletes the
/// state files. 0 on success (also when nothing was there).
int detach_all(const AgentOptions& opts, const AgentHooks& hooks);

/// Status file path for the options (STATE_DIR/status.json unless given).
std::string status_path(const AgentOptions& opts);

} // namespace moat::runtime::agent
