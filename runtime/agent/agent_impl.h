// The agent's internals, shared by its two translation units: agent.cpp (load, reconcile,
// status, the loop) and agent_dns.cpp (the DNS proxy's callbacks, FQDN learning that
// releases each answer once its own entries are written, expiry with zombie addresses).
// Not a public interface: run_agent (agent.h) is.
#pragma once
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "backend/bundle/signature.h"
#include "runtime/agent/drop_log.h"
#include "runtime/agent/generation.h"
#include "runtime/agent/metrics.h"
#include "runtime/agent/state.h"
#include "runtime/dns/dns_proxy.h"
#include "runtime/dns/fqdn_cache.h"
#include "runtime/agent/agent.h"

namespace moat::runtime::agent::impl {

inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
inline int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class Agent {
public:
  Agent(const AgentOptions& o, const AgentHooks& h, std::vector<bundle::PublicKey> trusted,
        std::unique_ptr<inventory::ClusterSource> cluster)
      : opts_(o), hooks_(h), trusted_(std::move(trusted)), cluster_(std::move(cluster)) {}
  int start();
  void loop();

private:
  void log(const std::string& line) const {
    if (hooks_.log) hooks_.log(line);
  }
  bool load_bundle(std::string& error);
  // cluster_inputs.cpp: the node and inventory from cluster_, and its staleness.
  inventory::ClusterSource::Poll load_cluster(bool first);
  void check_cluster_health();
  bool reconcile(bool force_new_generation, bool rediscover = true, bool persist_now = true);
  bool apply_policy(bool force_new_generation);
  void write_status();
  void persist();
  bool on_dns_query(const IpAddr& client, const dns::Response& q);
  uint64_t on_dns_answer(const IpAddr& client, const dns::Response& r);
  void apply_learned();  // the applier thread: direct writes, releases, batched node-wide updates
  void update_dns_view();
  /// `kept`: how many expired addresses stay as zombies for live connections.
  bool expire_fqdn(int64_t now, size_t& kept);
  dns::LearnLimits learn_limits() const;
  std::string metrics_text();
  std::vector<std::string> bundle_paths() const;

  AgentOptions opts_;
  AgentHooks hooks_;
  std::vector<bundle::PublicKey> trusted_;  // --trust; empty: bundles are not authenticated
  std::string signer_;                      // key id that signed the loaded bundle
  // Signed bundles refused by the replay guard (backend/bundle/replay_guard.h), by reason.
  uint64_t refused_older_ = 0, refused_conflict_ = 0, refused_expired_ = 0;
  std::mutex mu_;
  std::optional<Dispatch> dispatch_;
  bool adopted_ = false;
  PersistedState persisted_;
  std::unique_ptr<Generation> active_;
  std::optional<bundle::Bundle> bundle_;
  std::string bundle_sha_, manifest_text_;
  std::optional<dns::FqdnSelectors> selectors_;
  std::unique_ptr<inventory::ClusterSource> cluster_;  // files or the API server (runtime/inventory)
  bool report_plan_ = false;           // show the node plan's warnings on the next pass
  const KubeNode* node_ = nullptr;     // cluster_'s last valid state (null: none yet)
  const Inventory* inv_ = nullptr;
  inventory::SourceHealth cluster_health_;  // stale: status error, metric, not ready
  Desired desired_;
  std::vector<attach::PodAttach> found_;  // the local pods' attach points (into *inv_)
  bool apply_failed_ = false;             // the last reconcile could not write the maps
  dns::FqdnCache fqdn_;
  ProxyAddresses proxy_addrs_;
  std::unique_ptr<dns::DnsProxy> proxy_;
  std::unique_ptr<MetricsServer> metrics_;
  // The drop log's pump (drop_log.h) and the pod names it gives addresses, replaced
  // whenever the inventory is.
  std::unique_ptr<DropLogPump> drop_pump_;
  std::mutex names_mu_;
  std::shared_ptr<const PodNames> pod_names_;
  Status status_;
  std::vector<std::string> errors_;
  uint64_t reloads_ = 0, updates_ = 0;
  uint32_t epoch_ = 0;  // the last policy epoch set in any generation (next_epoch follows it)
  std::vector<int64_t> bundle_fp_;
  int lock_fd_ = -1;  // held for the agent's life (closed by the kernel at exit)
  bool status_dirty_ = false;  // something changed outside the loop (a learned name)
  bool fqdn_dirty_ = false;    // fqdn.json is behind (written by the loop, not the answer path)
  std::map<IpAddr, uint32_t> zombie_marks_;  // epoch stamped on a zombie's conntrack entries

  // The DNS proxy's view, under dns_mu_ only (never mu_): which names each local client may
  // ask for (absent: no DNS rules, not restricted), what is worth learning, and the queue of
  // answers waiting to be learned (ticket, answer).
  std::mutex dns_mu_;
  // fqdn_ is written under mu_ AND fqdn_mu_; the proxy's callback reads it under fqdn_mu_
  // alone (never waiting for a reconcile), everything else under mu_.
  std::mutex fqdn_mu_;
  std::condition_variable learn_cv_;
  std::map<IpAddr, std::vector<FqdnMatch>> dns_rules_;
  std::shared_ptr<const dns::FqdnSelectors> dns_selectors_;
  std::vector<std::pair<uint64_t, dns::Response>> learn_queue_;
  uint64_t next_ticket_ = 0;
  bool stop_applier_ = false;
  std::thread applier_;
  int64_t refused_window_ = 0;  // refusal log lines: at most kRefusedLogPerSecond a second
  int refused_logged_ = 0;
};

} // namespace moat::runtime::agent::impl
