// What the agent writes down: the persisted state a restarted agent adopts (STATE_DIR/
// state.json: active generation, what it was built from, attach points, learned names)
// and the status report (`--status-file`, read by `moat status`, probes and sidecars).
// Both are replaced atomically (write to a temporary file, fsync, rename).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moat::runtime::agent {

/// One attach point the agent owns.
struct AttachRecord {
  std::string pod;        // "ns/name"
  std::string iface;      // tc: the pod's host-side interface
  int ifindex = 0;
  std::string cgroup;     // cgroup_skb: the pod's cgroup v2 directory
  uint64_t cgroup_id = 0;
  bool attached = false;
  std::string problem;    // why not attached (interface missing, ...)
  /// Claimed by two pods (E811): the dispatcher goes on, with no endpoint entry behind it
  /// (its traffic drops), and the pod counts as not attached (the node stays not ready).
  bool conflict = false;
};

/// Persisted across agent restarts (the kernel objects themselves are pinned).
struct PersistedState {
  uint64_t generation = 0;  // active generation, 0 = none
  uint32_t epoch = 0;       // the last policy epoch set (the next one must follow it)
  std::string bundle_sha;   // manifest sha256 of the active generation
  std::string object;       // object name the generation loaded
  std::string node;
  std::vector<AttachRecord> attach;
  /// The highest bundle serial a trusting agent has activated, and that manifest's sha256:
  /// bundles below it (or with its serial and other content) are refused as replays.
  uint64_t highest_serial = 0;
  std::string highest_serial_sha;
};

struct MisfitRecord {
  std::string pod;
  std::vector<std::string> reasons;
  bool enforced = true;  // false: left out of the endpoint map (its traffic is dropped)
};

struct Status {
  bool ready = false;               // enforcement in place for every attachable local pod
  std::string node, pool;
  std::string startup_taint;        // the taint the agent would lift ("" when none)
  bool node_has_startup_taint = false;
  uint64_t generation = 0;
  uint32_t epoch = 0;               // the active generation's policy epoch (changes with every change)
  bool adopted = false;             // pinned state from an earlier agent was found and adopted
  std::string bundle_dir, bundle_sha, object;
  std::string bundle_signer;        // key id that signed the active bundle ("": not authenticated)
  uint64_t bundle_serial = 0;       // the active bundle's serial (0: none)
  int64_t bundle_not_after = 0;     // its expiry, Unix seconds (0: none)
  uint64_t highest_serial = 0;      // the floor for the next bundle (trusting agents)
  uint64_t refused_bundles = 0;     // signed bundles refused as older, conflicting or expired
  std::string pin_dir;
  std::vector<AttachRecord> attach;
  size_t identities = 0, ipcache = 0, policy = 0, endpoints = 0;  // map fill (entries written)
  size_t local_pods = 0, cluster_pods = 0, runnable_pods = 0;
  std::vector<MisfitRecord> misfits;
  std::vector<std::string> unattached;  // "ns/pod: why": local pods not enforced (not ready)
  bool apply_failed = false;            // the last map update failed; retried (not ready)
  std::string inventory_stale;          // why the watched inventory may be out of date (not ready); "" current
  size_t fqdn_addresses = 0, fqdn_names = 0;
  uint64_t dns_queries = 0, dns_answers = 0, dns_timeouts = 0;
  double dns_hold_ms_avg = 0;
  uint64_t reloads = 0, updates = 0;     // generation swaps, in-place updates since start
  std::vector<std::string> errors;       // the last problems (bad inputs keep the old policy)
  int64_t updated_unix_ms = 0;
  int pid = 0;
  bool running = false;                  // false after --once (nobody follows changes)
};

std::string to_json(const PersistedState& s);
std::optional<PersistedState> persisted_from_json(const std::string& text);
std::string to_json(const Status& s);
std::optional<Status> status_from_json(const std::string& text);

/// Writes `text` to `path` atomically (same-directory temporary file + rename).
bool write_file_atomic(const std::string& path, const std::string& text, std::string& error);
/// Reads a whole file; nullopt when unreadable.
std::optional<std::string> read_file(const std::string& path);

} // namespace moat::runtime::agent
