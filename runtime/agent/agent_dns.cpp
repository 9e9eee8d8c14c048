// The agent's DNS side (agent_impl.h): which names each local pod may look up, the proxy's
// callbacks (never under the agent's lock), the applier that learns queued answers in
// batches (each answer waits for its own entries only), and FQDN expiry that keeps
// addresses live connections still use (zombies, which admit no new connection).
#include <unistd.h>

#include <algorithm>
#include <set>

#include "ir/interp.h"
#include "runtime/agent/agent_impl.h"
#include "runtime/agent/fqdn_conntrack.h"

namespace moat::runtime::agent::impl {

constexpr int kRefusedLogPerSecond = 20;
constexpr int64_t kRefreshMarginMs = 1000;  // a known name this close to expiry waits for its refresh
// The node-wide update after direct writes runs once no answer came for kRecomputeIdleMs
// (it holds the agent's lock, so an answer arriving meanwhile would wait for it), and at the
// latest kRecomputeMaxDelayMs after the first direct write. Until then the maps only hold
// extra policy entries of identities no address refers to any more (harmless).
// Also at once when the direct writes added kRecomputeAfterEntries identities and policy
// entries: a flood of answers that keep changing addresses' identities must not fill the
// policy maps (nor the agent's memory: an identity's key holds its names) with what the
// node-wide update would have removed.
constexpr int64_t kRecomputeIdleMs = 200;
constexpr int64_t kRecomputeMaxDelayMs = 2000;
constexpr size_t kRecomputeAfterEntries = 1024;

void Agent::update_dns_view() {
  // A local pod is restricted by the union of the `rules: dns` of every egress allow rule
  // selecting it; a pod none of whose rules carries DNS rules is not restricted (Cilium:
  // DNS rules restrict only where present). Addresses not of a local pod: not restricted.
  std::map<IpAddr, std::vector<FqdnMatch>> rules;
  for (const Endpoint* e : desired_.endpoints) {
    const Endpoint& ep = *e;
    if (ep.kind != EndpointKind::Workload || !node_ || ep.node != node_->name) continue;
    std::vector<FqdnMatch> allowed;
    bool restricted = false;
    for (const Rule& r : bundle_->manifest.policy.rules) {
      if (r.dir != Direction::Egress || r.action != Action::Allow || r.dns.empty()) continue;
      if (!endpoint_selector_matches(r.subject, ep)) continue;
      restricted = true;
      allowed.insert(allowed.end(), r.dns.begin(), r.dns.end());
    }
    if (restricted)
      for (const IpAddr& ip : ep.ips) rules[ip] = allowed;
  }
  std::lock_guard lk(dns_mu_);
  dns_rules_ = std::move(rules);
}

dns::LearnLimits Agent::learn_limits() const {
  dns::LearnLimits lim;
  lim.min_ttl_s = opts_.fqdn_min_ttl;
  lim.max_ttl_s = opts_.fqdn_max_ttl;
  lim.max_addresses_per_name = opts_.fqdn_max_ips_per_name;
  lim.max_names_per_address = opts_.fqdn_max_names_per_ip;
  lim.max_addresses = opts_.fqdn_max_ips;
  lim.cluster_domain = dns::normalize_name(opts_.cluster_domain);
  return lim;
}

bool Agent::on_dns_query(const IpAddr& client, const dns::Response& q) {
  std::lock_guard lk(dns_mu_);
  auto it = dns_rules_.find(client);
  if (it == dns_rules_.end()) return true;
  for (const FqdnMatch& m : it->second)
    if (fqdn_matches(m, q.qname)) return true;
  // Refused, and said so (rate-limited: a pod must not be able to flood the log).
  int64_t second = mono_ms() / 1000;
  if (second != refused_window_) refused_window_ = second, refused_logged_ = 0;
  if (++refused_logged_ <= kRefusedLogPerSecond)
    log("DNS: refused query for '" + q.qname + "' from " + client.str() + ": outside its DNS rules");
  return false;
}

uint64_t Agent::on_dns_answer(const IpAddr&, const dns::Response& r) {
  std::lock_guard lk(dns_mu_);
  // An answer that teaches nothing goes out at once; one that does waits until the applier
  // has written its own addresses' entries (other answers do not wait meanwhile).
  if (!dns_selectors_ || !dns::teaches(r, *dns_selectors_, learn_limits())) return 0;
  bool known;
  {
    // A refresh of what the maps already hold, for a while yet, goes out at once too (the
    // queued copy only extends the expiry).
    std::lock_guard fl(fqdn_mu_);
    known = fqdn_.knows(r, *dns_selectors_, learn_limits(), unix_ms(), kRefreshMarginMs);
  }
  if (learn_queue_.size() >= std::max<size_t>(1, opts_.dns_max_pending) * 4) {
    // The applier is far behind: a refresh is skipped; a new answer is never released (the
    // proxy drops it at its timeout, the client retries) rather than sent unlearned.
    return known ? 0 : UINT64_MAX;
  }
  learn_queue_.emplace_back(++next_ticket_, r);
  learn_cv_.notify_one();
  return known ? 0 : next_ticket_;
}

void Agent::apply_learned() {
  // An answer waits only for its own addresses' entries (write_learned: a computation over
  // the local endpoints and those addresses, then a few map writes); the node-wide
  // recompute (update_in_place: entries of identities an address left behind go, the DNS
  // view, the status) follows off the answer path, in a pause between answers (see
  // kRecomputeIdleMs). fqdn.json is written by the loop.
  bool due = false;  // entries were written directly since the last recompute
  int64_t due_since = 0, last_learned = 0;
  size_t direct_entries = 0;  // identities and policy entries added directly since the last recompute
  for (;;) {
    std::vector<std::pair<uint64_t, dns::Response>> batch;
    {
      std::unique_lock lk(dns_mu_);
      auto ready = [&] { return stop_applier_ || !learn_queue_.empty(); };
      if (due) {
        int64_t at = std::min(last_learned + kRecomputeIdleMs, due_since + kRecomputeMaxDelayMs);
        auto deadline = std::chrono::steady_clock::time_point(std::chrono::milliseconds(at));
        learn_cv_.wait_until(lk, deadline, ready);
      } else {
        learn_cv_.wait(lk, ready);
      }
      if (stop_applier_) return;
      batch.swap(learn_queue_);
    }
    uint64_t released = 0;  // every answer up to this ticket has its entries in the maps
    bool swap = false;      // a direct write failed: a new generation takes everything
    if (!batch.empty()) {
      std::lock_guard lk(mu_);
      bool changed = false;
      if (selectors_ && active_) {
        std::lock_guard fl(fqdn_mu_);
        for (const auto& [ticket, r] : batch) changed = fqdn_.learn(r, *selectors_, learn_limits(), unix_ms()) || changed;
      }
      if (!changed) {
        released = batch.back().first;  // nothing new: what the answers teach is in the maps
      } else {
        int64_t t0 = mono_ms();
        std::set<IpAddr> addrs, in_maps;
        for (const auto& [ticket, r] : batch)
          for (const dns::AddressRecord& rec : r.addresses)
            if (!dns::learnable_names(r, rec, *selectors_, learn_limits()).empty()) addrs.insert(rec.ip);
        std::vector<Endpoint> learned;
        for (const IpAddr& ip : addrs)
          if (auto e = fqdn_.endpoint(ip)) learned.push_back(std::move(*e));
        std::string err;
        bool wrote = false;
        uint32_t next = next_epoch(epoch_);
        auto entries = [&] {
          const bundle::MapContents& c = active_->contents;
          return c.identities.size() + c.policy.size() + c.policy_exact.size();
        };
        size_t entries_before = entries();
        // Only into maps that hold the loaded bundle's policy for the current desired state
        // (a failed update or a pending swap: the node-wide update below takes everything).
        bool seam = !opts_.fail_apply_file.empty() && access(opts_.fail_apply_file.c_str(), F_OK) == 0;
        if (!apply_failed_ && !seam && active_->bundle_sha == bundle_sha_ &&
            !write_learned(*active_, bundle_->manifest.policy, desired_, learned, next, in_maps, wrote, err)) {
          log("learned addresses not written directly (" + err + "): a new generation takes them");
          swap = true;
        }
        if (wrote) epoch_ = next;  // used up even if setting it failed
        direct_entries += entries() - entries_before;
        // Tickets are released in order: the answers up to the first one some address of
        // which is not in the maps yet go now, the rest after the recompute.
        for (const auto& [ticket, r] : batch) {
          bool all = std::all_of(r.addresses.begin(), r.addresses.end(), [&](const dns::AddressRecord& rec) {
            return in_maps.count(rec.ip) || dns::learnable_names(r, rec, *selectors_, learn_limits()).empty();
          });
          if (!all || swap) break;
          released = ticket;
        }
        status_dirty_ = true;
        if (!due) due_since = t0;
        due = true;
        last_learned = mono_ms();
        std::string names;
        for (size_t k = 0; k < batch.size() && k < 3; ++k) names += (k ? ", " : "") + batch[k].second.qname;
        log("learned " + names + (batch.size() > 3 ? " and " + std::to_string(batch.size() - 3) + " more" : "") +
            (in_maps.empty() ? std::string(" (left to the node-wide update)")
                             : " (own entries written in " + std::to_string(mono_ms() - t0) + " ms)"));
      }
    }
    if (released) proxy_->release(released);
    bool held = !batch.empty() && released != batch.back().first;
    int64_t now = mono_ms();
    if (held || swap || direct_entries >= kRecomputeAfterEntries ||
        (due && (now - last_learned >= kRecomputeIdleMs || now - due_since >= kRecomputeMaxDelayMs))) {
      std::lock_guard lk(mu_);
      if (reconcile(swap, /*rediscover=*/false, /*persist_now=*/false)) status_dirty_ = true;
      due = false;
      direct_entries = 0;
    }
    // Released even when nothing could be learned: the answer then leads to a denied
    // connection (fail closed), not to a hung lookup.
    if (!batch.empty()) proxy_->release(batch.back().first);
  }
}

bool Agent::expire_fqdn(int64_t now, size_t& kept) {
  // Addresses whose names all expired stay (as zombies) while conntrack shows a connection
  // using them: an upload to S3 outlives the 5 s TTL of the answer that started it.
  int fd = active_ ? active_->dp->map_fd(abi::kMapConntrack) : -1;
  uint32_t current = active_ ? active_->epoch : 0;
  // The conntrack scan (syscalls per entry) runs before fqdn_mu_ is taken: the proxy's
  // callback must not wait for it. fqdn_ only changes under mu_, which we hold.
  std::map<IpAddr, std::vector<uint32_t>> uses;
  if (fd >= 0 && !fqdn_.zombie_candidates(now).empty()) uses = conntrack_epochs(fd);
  std::vector<IpAddr> keep;
  dns::ZombiePolicy z;
  z.recheck_ms = int64_t(std::max(1, opts_.fqdn_zombie_recheck_s)) * 1000;
  z.max_zombies = opts_.fqdn_max_zombies;
  z.in_use = [&](const IpAddr& ip, bool first) {
    auto it = uses.find(ip);
    if (it == uses.end()) return false;
    auto mark = zombie_marks_.find(ip);
    // First time, or an object without epochs: any entry counts. Later: an entry counts
    // when a packet stamped it with a newer epoch than our mark since the last check.
    bool live = first || !current || mark == zombie_marks_.end() ||
                std::any_of(it->second.begin(), it->second.end(), [&](uint32_t e) { return e != mark->second; });
    if (live) keep.push_back(ip);
    return live;
  };
  bool changed;
  {
    std::lock_guard fl(fqdn_mu_);
    changed = fqdn_.expire(now, z);
  }
  if (current && !keep.empty()) {
    uint32_t mark = current - 1;  // older than the current epoch (serial order): judged again
    mark_conntrack(fd, keep, mark);
    for (const IpAddr& ip : keep) zombie_marks_[ip] = mark;
  }
  std::erase_if(zombie_marks_, [&](const auto& m) { return !fqdn_.is_zombie(m.first); });
  kept = keep.size();
  return changed;
}

} // namespace moat::runtime::agent::impl
