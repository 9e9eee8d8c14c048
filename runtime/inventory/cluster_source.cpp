// The two cluster sources behind cluster_source.h.
#include "runtime/inventory/cluster_source.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include "runtime/inventory/store.h"

namespace moat::runtime::inventory {

std::vector<int64_t> file_fingerprint(const std::vector<std::string>& paths) {
  std::vector<int64_t> out;
  for (const auto& p : paths) {
    struct stat st;
    if (stat(p.c_str(), &st) != 0) {
      out.insert(out.end(), {-1, -1, -1});
      continue;
    }
    out.insert(out.end(), {int64_t(st.st_ino), int64_t(st.st_size),
                           int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
  }
  return out;
}

namespace {

/// `--node` and `--inventory` files, read whole again whenever one of them changes.
class FileSource : public ClusterSource {
public:
  FileSource(std::string node_file, std::vector<std::string> inventory_files)
      : node_file_(std::move(node_file)), inventory_files_(std::move(inventory_files)) {
    paths_.push_back(node_file_);
    paths_.insert(paths_.end(), inventory_files_.begin(), inventory_files_.end());
  }
  bool load(const DiagnosticsHook& report) override {
    fp_ = file_fingerprint(paths_);
    return read(report);
  }
  Poll poll(const DiagnosticsHook& report) override {
    auto fp = file_fingerprint(paths_);
    if (fp == fp_) return Poll::Unchanged;
    fp_ = fp;
    return read(report) ? Poll::Changed : Poll::Invalid;
  }
  const KubeNode* node() const override { return node_ ? &*node_ : nullptr; }
  const Inventory* inventory() const override { return inv_ ? &*inv_ : nullptr; }
  const SourceManager& sources() const override { return *sm_; }

private:
  bool read(const DiagnosticsHook& report) {
    auto sm = std::make_unique<SourceManager>();
    Diagnostics diags;
    auto node = load_node(node_file_, *sm, diags);
    auto inv = load_inventory(inventory_files_, *sm, diags);
    if (report && !diags.all().empty()) report(*sm, diags);
    if (!node || !inv) return false;  // the previous state stays
    node_ = std::move(*node);
    inv_ = std::move(*inv);
    sm_ = std::move(sm);
    inventory_changed();
    return true;
  }
  std::string node_file_;
  std::vector<std::string> inventory_files_, paths_;
  std::vector<int64_t> fp_;
  std::unique_ptr<SourceManager> sm_ = std::make_unique<SourceManager>();
  std::optional<KubeNode> node_;
  std::optional<Inventory> inv_;
};

/// The API server, watched (watch.h) into an incremental store (store.h).
class WatchSource : public ClusterSource {
public:
  WatchSource(KubeApiOptions opt, KubeConfig config)
      : opt_(std::move(opt)), watcher_(Watcher::start(std::move(config), opt_.watch)) {}
  bool load(const DiagnosticsHook& report) override {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.sync_wait_ms);
    while (!watcher_->health().synced && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return poll(report) == Poll::Changed;
  }
  Poll poll(const DiagnosticsHook& report) override {
    if (!synced_) {
      // Nothing before every resource is listed: a half-read cluster (pods but no
      // namespaces yet) would be enforced with wrong labels for a moment.
      if (!watcher_->health().synced) return Poll::Unchanged;
      synced_ = true;
    } else {
      int64_t age = watcher_->pending_age_ms();
      if (age < 0 || age < opt_.debounce_ms) return Poll::Unchanged;
    }
    std::vector<WatchEvent> events;
    watcher_->take(events);
    Diagnostics diags;
    store_.apply(events, diags);
    inventory_changed();  // the store changed in place
    if (report && !diags.all().empty()) report(store_.sources(), diags);
    // A malformed or deleted own Node leaves the last valid one in force (E801 reported).
    if (const KubeNode* n = store_.node(opt_.node_name)) node_ = *n;
    return node_ ? Poll::Changed : Poll::Invalid;
  }
  const KubeNode* node() const override { return node_ ? &*node_ : nullptr; }
  const Inventory* inventory() const override { return synced_ ? &store_.inventory() : nullptr; }
  const SourceManager& sources() const override { return store_.sources(); }
  SourceHealth health() const override {
    WatchHealth w = watcher_->health();
    SourceHealth h;
    h.watched = true;
    h.stale = w.stale;
    h.why = w.why;
    if (!w.synced) {
      h.stale = true;
      h.why = "waiting for the first LIST of every resource" + (w.why.empty() ? "" : ": " + w.why);
    } else if (synced_ && !node_) {
      h.stale = true;
      h.why = "node " + opt_.node_name + " is not among the API server's Nodes" + (w.why.empty() ? "" : "; " + w.why);
    }
    h.relists = w.relists, h.events = w.events, h.bookmarks = w.bookmarks, h.failures = w.failures;
    h.objects = store_.objects();
    return h;
  }

private:
  KubeApiOptions opt_;
  std::unique_ptr<Watcher> watcher_;
  InventoryStore store_;
  bool synced_ = false;
  std::optional<KubeNode> node_;
};

} // namespace

std::unique_ptr<ClusterSource> open_cluster_source(const std::string& node_file,
                                                   const std::vector<std::string>& inventory_files,
                                                   const KubeApiOptions& kube, std::string& error) {
  if (kube.api.empty()) return std::make_unique<FileSource>(node_file, inventory_files);
  auto config = kube_config(kube.api, kube.token_file, kube.ca_file, error);
  if (!config) return nullptr;
  KubeApiOptions opt = kube;
  if (opt.node_name.empty())
    if (const char* n = std::getenv("NODE_NAME")) opt.node_name = n;
  if (opt.node_name.empty()) {
    error = "--kube-api needs the node's name: --node-name or $NODE_NAME (the downward API's spec.nodeName)";
    return nullptr;
  }
  return std::make_unique<WatchSource>(std::move(opt), std::move(*config));
}

} // namespace moat::runtime::inventory
