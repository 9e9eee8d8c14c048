// Where the agent's cluster inputs come from: its own Node and the inventory (Namespaces,
// Pods, other Nodes, the API server's addresses). Two sources: files (`--node`,
// `--inventory`: read again whole when one of them changes; tests and non-cluster use) and
// the API server (`--kube-api`: watched, applied event by event, debounced into batches).
// The agent's loop asks poll() and reconciles when it says Changed; it never learns which.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/inventory.h"
#include "runtime/inventory/terminating.h"
#include "runtime/inventory/watch.h"

namespace moat::runtime::inventory {

/// Renders input diagnostics against the text they point into.
using DiagnosticsHook = std::function<void(const SourceManager&, const Diagnostics&)>;

/// `--kube-api` and what goes with it.
struct KubeApiOptions {
  std::string api;         // "in-cluster", a URL, or "" (inputs from files)
  std::string token_file;  // default in-cluster: the service account's
  std::string ca_file;
  std::string node_name;   // this node's Node object (default: $NODE_NAME)
  int debounce_ms = 200;   // events arriving within this window make one reconcile
  int sync_wait_ms = 15'000;  // how long the first load waits for every first LIST
  WatchOptions watch;
};

struct SourceHealth {
  bool watched = false;  // the inventory comes from the API server
  bool stale = false;    // it may be out of date: enforcement keeps the last good state
  std::string why;
  uint64_t relists = 0, events = 0, bookmarks = 0, failures = 0;
  size_t objects = 0;    // objects held (one SourceManager entry each)
};

class ClusterSource {
public:
  enum class Poll { Unchanged, Changed, Invalid };
  virtual ~ClusterSource() = default;
  /// The first read; false when the inputs have errors or are not there yet (reported).
  virtual bool load(const DiagnosticsHook& report) = 0;
  /// Changed: node() / inventory() hold new state (pointers into the previous inventory are
  /// invalid now: reconcile at once). Invalid: the new input has errors and the previous
  /// state stays.
  virtual Poll poll(const DiagnosticsHook& report) = 0;
  virtual const KubeNode* node() const = 0;
  virtual const Inventory* inventory() const = 0;
  /// The live pod addresses of inventory(), derived once per version (not by each of its
  /// users on every reconcile).
  const LiveAddresses& live_addresses() const { return live_; }
  /// The text node() and inventory() were read from (their diagnostics point into it).
  virtual const SourceManager& sources() const = 0;
  virtual SourceHealth health() const { return {}; }

protected:
  /// Each source calls this whenever inventory() holds a new version.
  void inventory_changed() { live_ = inventory() ? LiveAddresses(*inventory()) : LiveAddresses(); }

private:
  LiveAddresses live_;
};

/// (inode, size, mtime) of each path, following symlinks (ConfigMap volumes swap a `..data`
/// symlink, which changes all three): equal fingerprints, unchanged files.
std::vector<int64_t> file_fingerprint(const std::vector<std::string>& paths);

/// The files source, or (kube.api set) the watch source; nullptr and `error` when the
/// API configuration is unusable.
std::unique_ptr<ClusterSource> open_cluster_source(const std::string& node_file,
                                                   const std::vector<std::string>& inventory_files,
                                                   const KubeApiOptions& kube, std::string& error);

} // namespace moat::runtime::inventory
