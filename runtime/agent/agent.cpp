// The agent: first load, then a polling loop. Every change goes through reconcile(), which
// holds the agent's lock (the class is in agent_impl.h; its DNS side in agent_dns.cpp). The
// DNS proxy never takes that lock: its callbacks read a
// snapshot (DNS rules by client address, the FQDN selectors) under a small lock of their
// own and queue what an answer teaches; an applier thread learns queued answers in batches
// (one reconcile per batch, no fsync) and releases their held answers.
#include "runtime/agent/agent.h"
#include "runtime/agent/agent_impl.h"

#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "backend/bundle/replay_guard.h"
#include "backend/bundle/sha256.h"
#include "runtime/agent/attachments.h"
#include "ir/interp.h"
#include "runtime/agent/fqdn_conntrack.h"
#include "backend/bundle/signature.h"
#include "runtime/agent/generation.h"
#include "runtime/agent/metrics.h"
#include "runtime/agent/state.h"
#include "runtime/dns/dns_proxy.h"
#include "runtime/dns/fqdn_cache.h"

namespace moat::runtime::agent {

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
using inventory::file_fingerprint;
using Poll = inventory::ClusterSource::Poll;

} // namespace

namespace impl {

std::vector<std::string> Agent::bundle_paths() const {
  std::vector<std::string> out{opts_.bundle_dir + "/" + bundle::kManifestFile,
                               opts_.bundle_dir + "/" + bundle::kSignatureFile};
  if (bundle_)
    for (const auto& o : bundle_->manifest.objects) out.push_back(opts_.bundle_dir + "/" + o.file);
  return out;
}

bool Agent::load_bundle(std::string& error) {
  // With --trust, the manifest's bytes are checked against the signature before they are
  // parsed; read_bundle then uses exactly those bytes, and hashes each object on the bytes
  // it returns. Nothing of a refused bundle is kept: the active generation stays.
  std::string signer;
  bundle::Authenticator authenticate;
  if (!trusted_.empty())
    authenticate = [&](const std::string& manifest, const std::optional<std::string>& sig, std::string& err) {
      return bundle::verify_manifest(manifest, sig, trusted_, signer, err);
    };
  auto b = bundle::read_bundle(opts_.bundle_dir, error, authenticate);
  if (!b) return false;
  // Equal manifest texts before and after the objects were read mean the directory did not
  // change under us (a deploy job may be replacing it right now).
  auto after = read_file(opts_.bundle_dir + "/" + bundle::kManifestFile);
  if (!after || *after != b->manifest_text) {
    error = "bundle changed while it was read; retrying";
    return false;
  }
  if (b->manifest.objects.empty()) {
    error = "bundle has no objects";
    return false;
  }
  for (size_t i = 0; i < b->objects.size(); ++i) {
    if (!check_object(b->objects[i], error)) {
      error = "object " + b->manifest.objects[i].file + ": " + error;
      return false;
    }
  }
  for (const auto& r : b->manifest.policy.rules) {
    if (!r.http.empty()) {  // the datapath cannot enforce L7: refuse rather than fail open
      error = "bundle contains L7 rules, which the datapath does not enforce";
      return false;
    }
  }
  // A trusting agent also refuses a correctly signed bundle that is not the current one: an
  // older serial than it has activated (a replay, e.g. from before a revocation), its serial
  // with other content, or one past its not-after time. Without --trust anyone may write
  // any serial, so the check would protect nothing (and an untrusted serial is never
  // recorded as the floor).
  std::string sha = bundle::sha256_hex(b->manifest_text);
  if (!trusted_.empty()) {
    bundle::ActivatedSerial floor{persisted_.highest_serial, persisted_.highest_serial_sha};
    auto fresh = bundle::check_freshness(b->manifest, sha, floor, unix_ms() / 1000);
    if (!fresh.refused() && b->manifest.serial < opts_.min_serial) {
      fresh.verdict = bundle::Freshness::Older;
      fresh.error = "bundle serial " + std::to_string(b->manifest.serial) + " is below --min-serial " +
                    std::to_string(opts_.min_serial) + ": an old bundle is refused";
    }
    if (fresh.refused()) {
      ++(fresh.verdict == bundle::Freshness::Expired ? refused_expired_
         : fresh.verdict == bundle::Freshness::Older ? refused_older_
                                                      : refused_conflict_);
      error = fresh.error;
      return false;
    }
  }
  bundle_ = std::move(*b);
  manifest_text_ = bundle_->manifest_text;
  bundle_sha_ = sha;
  signer_ = signer;
  selectors_.emplace(bundle_->manifest.policy);
  {
    std::lock_guard fl(fqdn_mu_);
    fqdn_.retain(*selectors_);
  }
  std::lock_guard lk(dns_mu_);
  dns_selectors_ = std::make_shared<const dns::FqdnSelectors>(*selectors_);
  return true;
}

bool Agent::reconcile(bool force_new_generation, bool rediscover, bool persist_now) {
  std::string err;
  if (!bundle_ || !node_ || !inv_) return false;  // still waiting for valid inputs
  Diagnostics diags;
  const inventory::LiveAddresses& live = cluster_->live_addresses();
  if (rediscover) found_ = attach::find_attach_points(*node_, *inv_, live, opts_.attach, diags);
  if (!dispatch_) {
    bool existed = false;
    dispatch_ = Dispatch::open(opts_.pin_dir, existed, err);
    if (!dispatch_) {
      errors_.push_back(err);
      return false;
    }
  }
  desired_ = derive(bundle_->manifest, *node_, *inv_, live, found_, fqdn_.endpoints(), proxy_addrs_, opts_.misfits,
                    diags);
  desired_.zombies = fqdn_.zombie_addresses();
  // The node plan's warnings (misfits, pods without attach point) once per input change.
  if (hooks_.diagnostics && !diags.all().empty() && report_plan_) hooks_.diagnostics(cluster_->sources(), diags);
  report_plan_ = false;
  bool applied = apply_policy(force_new_generation);
  if (!applied) errors_.back() = "error[E812]: " + errors_.back() + " (retrying; new pods drop until then)";
  apply_failed_ = !applied;
  status_dirty_ |= !applied;
  // Attach even when the maps could not be written: a new pod's dispatcher finds no endpoint
  // entry and drops (fail closed), where a pod without one would run unenforced.
  sync_attachments(*dispatch_, desired_.attach, opts_.attach, [this](const std::string& l) { log(l); });
  persisted_.attach = desired_.attach;
  update_dns_view();
  if (persist_now) persist();
  else fqdn_dirty_ = true;
  return applied;
}

/// Writes the desired state into the maps: a new generation swapped in, or the active one
/// updated in place. False (with the reason in errors_) when nothing or only part was written.
bool Agent::apply_policy(bool force_new_generation) {
  std::string err;
  if (!opts_.fail_apply_file.empty() && access(opts_.fail_apply_file.c_str(), F_OK) == 0) {
    errors_.push_back("map update failed: injected by --fail-apply-while");  // the test seam
    return false;
  }
  const bundle::ObjectEntry* obj = bundle_->manifest.object_for_pool(desired_.plan.pool_name);
  if (!obj) {
    errors_.push_back("bundle has no object for pool '" + desired_.plan.pool_name + "' and no default");
    return false;
  }
  bool swap = force_new_generation || !active_ || active_->bundle_sha != bundle_sha_ || active_->object != obj->name;
  if (swap) {
    uint64_t n = persisted_.generation + 1;
    for (uint64_t g : pinned_generations(opts_.pin_dir)) n = std::max(n, g + 1);
    std::string prev = active_ ? active_->dir : std::string();
    if (prev.empty() && persisted_.generation) prev = generation_dir(opts_.pin_dir, persisted_.generation);
    std::string note;
    auto g = open_generation(*bundle_->object_bytes(obj->name), opts_.pin_dir, n, prev, opts_.verbose, note, err,
                             opts_.conntrack_entries);
    if (!note.empty()) log(note);
    if (!g) {
      errors_.push_back("cannot load object " + obj->file + ": " + err);
      return false;
    }
    g->bundle_sha = bundle_sha_;
    g->signer = signer_;
    g->object = obj->name;
    if (!fill(*g, bundle_->manifest.policy, desired_, err)) {
      errors_.push_back("cannot fill generation " + std::to_string(n) + ": " + err);
      remove_tree(g->dir);
      return false;
    }
    // A new epoch before the slots switch: the new programs judge every carried conntrack
    // entry again. Used up even if activation fails (a slot may have run it briefly).
    epoch_ = next_epoch(epoch_);
    if (!set_epoch(*g, epoch_, err)) {
      errors_.push_back("cannot set the epoch of generation " + std::to_string(n) + ": " + err);
      remove_tree(g->dir);
      return false;
    }
    // One map update per program kind: every attach point moves to the new generation.
    if (!activate(*dispatch_, *g, err)) {
      errors_.push_back("cannot activate generation " + std::to_string(n) + ": " + err);
      remove_tree(g->dir);
      return false;
    }
    std::string copy_err;
    write_file_atomic(opts_.state_dir + "/manifest.json", manifest_text_, copy_err);
    log("generation " + std::to_string(n) + " active (object " + obj->name + ", --cni " +
        to_string(bundle_->manifest.cni) + ", " +
        std::to_string(g->contents.policy.size() + g->contents.policy_exact.size()) + " policy entries, " +
        std::to_string(g->contents.identities.size()) + " identities" + (g->carried ? ", conntrack carried over" : "") +
        (g->epoch ? ", epoch " + std::to_string(g->epoch) : ", no epoch: the object predates conntrack revalidation") +
        ")");
    active_ = std::move(g);
    for (uint64_t old : pinned_generations(opts_.pin_dir))
      if (old != n) remove_tree(generation_dir(opts_.pin_dir, old));
    persisted_.generation = n;
    persisted_.bundle_sha = bundle_sha_;
    if (!signer_.empty() && bundle_->manifest.serial >= persisted_.highest_serial) {
      persisted_.highest_serial = bundle_->manifest.serial;
      persisted_.highest_serial_sha = bundle_sha_;
    }
    persisted_.object = obj->name;
    ++reloads_;
  } else {
    bool changed = false;
    uint32_t next = next_epoch(epoch_);
    bool ok = update_in_place(*active_, bundle_->manifest.policy, desired_, next, changed, err);
    if (changed) epoch_ = next;
    if (!ok) {
      errors_.push_back("in-place update failed: " + err);
      return false;
    }
    if (changed) ++updates_;
  }
  return true;
}

void Agent::persist() {
  std::string err;
  persisted_.node = node_ ? node_->name : "";
  persisted_.epoch = epoch_;
  if (!write_file_atomic(opts_.state_dir + "/state.json", to_json(persisted_), err)) log(err);
  if (!write_file_atomic(opts_.state_dir + "/fqdn.json", fqdn_.to_json(), err)) log(err);
  fqdn_dirty_ = false;
}

void Agent::write_status() {
  Status s;
  s.node = node_ ? node_->name : "";
  s.pool = desired_.plan.pool_name;
  s.startup_taint = desired_.startup_taint;
  s.node_has_startup_taint = desired_.node_has_startup_taint;
  s.generation = active_ ? active_->number : persisted_.generation;
  s.epoch = active_ ? active_->epoch : persisted_.epoch;
  s.adopted = adopted_;
  s.bundle_dir = opts_.bundle_dir;
  s.bundle_sha = active_ ? active_->bundle_sha : persisted_.bundle_sha;
  s.object = active_ ? active_->object : persisted_.object;
  s.bundle_signer = active_ ? active_->signer : "";
  if (active_ && bundle_) {
    s.bundle_serial = bundle_->manifest.serial;
    s.bundle_not_after = bundle_->manifest.not_after;
  }
  s.highest_serial = std::max(persisted_.highest_serial, opts_.min_serial);
  s.refused_bundles = refused_older_ + refused_conflict_ + refused_expired_;
  s.pin_dir = opts_.pin_dir;
  s.attach = desired_.attach;
  if (active_) {
    const auto& c = active_->contents;
    s.identities = c.identities.size();
    s.ipcache = c.hosts.size() + c.ipcache.size();
    s.policy = c.policy_exact.size() + c.policy.size();
    s.endpoints = c.endpoints.size();
  }
  s.local_pods = desired_.plan.local.size();
  s.cluster_pods = inv_ ? inv_->pods.size() : 0;
  s.runnable_pods = desired_.plan.runnable.size();
  s.misfits = desired_.misfits;
  for (const auto& r : desired_.attach) if (!r.attached) s.unattached.push_back(r.pod + ": " + r.problem);
  s.fqdn_addresses = fqdn_.address_count();
  s.fqdn_names = fqdn_.name_count();
  if (proxy_) {
    const auto& st = proxy_->stats();
    s.dns_queries = st.queries;
    s.dns_answers = st.answers;
    s.dns_timeouts = st.timeouts;
    s.dns_hold_ms_avg = st.answers ? double(st.hold_ns) / 1e6 / double(st.answers) : 0;
  }
  s.reloads = reloads_;
  s.updates = updates_;
  if (errors_.size() > 20) errors_.erase(errors_.begin(), errors_.end() - 20);
  s.errors = errors_;
  s.apply_failed = apply_failed_;  // ready: every local pod enforced by a complete policy
  s.inventory_stale = cluster_health_.stale ? cluster_health_.why : "";
  s.ready = active_ && !apply_failed_ && !cluster_health_.stale && std::all_of(desired_.attach.begin(), desired_.attach.end(), [](const AttachRecord& r) { return r.attached; });
  s.updated_unix_ms = unix_ms();
  s.pid = getpid();
  s.running = !opts_.once;
  status_ = s;
  std::string err;
  if (!write_file_atomic(status_path(opts_), to_json(s), err)) log(err);
}

int Agent::start() {
  std::string err;
  if (!make_dirs(opts_.state_dir, err)) {
    log(err);
    return 3;
  }
  // One agent per pin directory: two would fight over the slots. The kernel drops the lock
  // when the holder dies, so a killed agent never blocks its successor.
  lock_fd_ = ::open((opts_.state_dir + "/agent.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    log("another agent holds " + opts_.state_dir + "/agent.lock; not starting");
    return 3;
  }
  // An existing dispatch layer is adopted now; a missing one is created only once there is
  // something valid to enforce (bad inputs leave nothing pinned behind).
  dispatch_ = Dispatch::open(opts_.pin_dir, adopted_, err, /*create=*/false);
  adopted_ = dispatch_.has_value() && adopted_;
  if (auto text = read_file(opts_.state_dir + "/state.json")) {
    if (auto st = persisted_from_json(*text)) persisted_ = *st;
  }
  if (auto text = read_file(opts_.state_dir + "/fqdn.json")) {
    if (auto c = dns::FqdnCache::from_json(*text)) fqdn_ = *c;
  }
  // Addresses that expired while the agent was down go; zombies keep their turn (the loop
  // checks their connections once the generation is up).
  dns::ZombiePolicy restart;
  restart.in_use = [](const IpAddr&, bool first) { return !first; };
  restart.recheck_ms = 0;
  fqdn_.expire(unix_ms(), restart);
  adopted_ = adopted_ && persisted_.generation != 0;
  // Epochs continue from the last one any pinned generation used (state.json may lag behind
  // a crash), so that no carried conntrack entry looks current to a new generation.
  epoch_ = latest_epoch(opts_.pin_dir, persisted_.epoch);
  if (adopted_) log("adopting pinned generation " + std::to_string(persisted_.generation) + " under " + opts_.pin_dir);
  for (const std::string& l : opts_.dns_listen) {
    std::string host;
    uint16_t port;
    if (dns::parse_host_port(l, host, port)) proxy_addrs_.listen.push_back(*IpAddr::parse(host));
  }
  if (!opts_.dns_upstream.empty()) {
    std::string host;
    uint16_t port;
    if (dns::parse_host_port(opts_.dns_upstream, host, port)) proxy_addrs_.upstream = IpAddr::parse(host);
  }

  if (trusted_.empty())
    log("warning: no --trust key given: bundles are not authenticated, so whoever can write " + opts_.bundle_dir +
        " decides what this node enforces");
  else
    log("bundles must be signed by one of " + std::to_string(trusted_.size()) + " trusted key(s)");
  bundle_fp_ = file_fingerprint(bundle_paths());
  bool inputs_ok = load_bundle(err);
  if (!inputs_ok) {
    errors_.push_back("bundle: " + err);
    log("cannot read bundle " + opts_.bundle_dir + ": " + err);
  }
  bundle_fp_ = file_fingerprint(bundle_paths());
  if (load_cluster(true) != Poll::Changed) {
    errors_.push_back("node or inventory has errors" + (cluster_->health().why.empty() ? "" : ": " + cluster_->health().why));
    inputs_ok = false;
  }
  if (!inputs_ok) {
    // Bad inputs never remove enforcement: an adopted generation stays in force.
    write_status();
    return 2;
  }
  {
    std::lock_guard lk(mu_);
    // A restarted agent builds its own generation from the current inputs and swaps it in;
    // the pinned one stays active until then, so there is no gap.
    if (!reconcile(true)) {
      for (const auto& e : errors_) log(e);
      write_status();
      return adopted_ ? 1 : 3;
    }
    write_status();
  }
  for (const auto& r : desired_.attach)
    if (!r.attached && !r.problem.empty()) log("not attached: " + r.pod + ": " + r.problem);
  return status_.ready ? 0 : 1;
}

void Agent::loop() {
  std::string err;
  if (!opts_.dns_listen.empty()) {
    dns::ProxyOptions po;
    po.listen = opts_.dns_listen;
    po.upstream = opts_.dns_upstream;
    po.hold = !opts_.dns_learn_after_forward;
    po.max_pending = opts_.dns_max_pending;
    po.tcp_workers = opts_.dns_tcp_workers;
    proxy_ = dns::DnsProxy::start(
        po, [this](const IpAddr& c, const dns::Response& q) { return on_dns_query(c, q); },
        [this](const IpAddr& c, const dns::Response& r) { return on_dns_answer(c, r); }, err);
    if (!proxy_) {
      errors_.push_back("DNS proxy: " + err), log("DNS proxy: " + err);
    } else {
      log("DNS proxy listening, upstream " + opts_.dns_upstream);
      applier_ = std::thread([this] { apply_learned(); });
    }
  }
  if (opts_.metrics_port) {
    metrics_ = MetricsServer::start(opts_.metrics_address, opts_.metrics_port, [this] { return metrics_text(); }, err);
    if (!metrics_) log("metrics: " + err);
  }
  // Every `moat observe` reads the drop log; only the agent consumes the kernel's ring.
  drop_pump_ = DropLogPump::start(opts_.pin_dir, opts_.state_dir, namer_over([this] {
                                    std::lock_guard lk(names_mu_);
                                    return pod_names_;
                                  }), err);
  if (!drop_pump_) log("drop log: " + err);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  int64_t deadline = opts_.run_for_ms ? mono_ms() + opts_.run_for_ms : 0;
  int64_t last_status = mono_ms(), last_retry = mono_ms();
  while (!g_stop && (!deadline || mono_ms() < deadline)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max(10, opts_.poll_ms)));
    std::lock_guard lk(mu_);
    bool changed = false;
    auto bfp = file_fingerprint(bundle_paths());
    if (bfp != bundle_fp_) {
      std::string old_sha = bundle_sha_;
      if (load_bundle(err)) {
        bundle_fp_ = file_fingerprint(bundle_paths());
        if (bundle_sha_ != old_sha) {
          log("bundle changed (" + bundle_sha_.substr(0, 12) + ")");
          changed |= reconcile(true);
        } else {
          bundle_fp_ = bfp;
          if (active_) active_->signer = signer_;  // the same manifest, perhaps signed again by another key
        }
      } else {
        errors_.push_back("bundle: " + err);
        log("bundle not reloaded, previous policy stays: " + err);
        bundle_fp_ = bfp;  // retried when the files change again
      }
      status_dirty_ = true;  // `moat status` shows a refused bundle at once
    }
    Poll cluster = load_cluster(false);
    if (cluster == Poll::Changed) log("node or inventory changed"), changed |= reconcile(false);
    if (cluster == Poll::Invalid) errors_.push_back("node or inventory has errors; previous state stays");
    check_cluster_health();
    auto next = fqdn_.next_expiry();
    if (next && *next <= unix_ms()) {
      size_t kept = 0;
      if (expire_fqdn(unix_ms(), kept)) changed |= reconcile(false);
      // Logged once the zombie marks are in the maps (reconcile above): whoever reads this
      // line may rely on new connections to those addresses being refused.
      if (kept) log("kept " + std::to_string(kept) + " expired FQDN address(es) for live connections");
    }
    if (fqdn_dirty_ && !changed) {
      fqdn_dirty_ = false;
      persist();
    }
    // An attached pod whose interface or cgroup was recreated under the same name has a new
    // ifindex / cgroup id that runs without a dispatcher: re-attach at once. Pods whose
    // attach point did not exist yet (or failed): look again at most once a second.
    bool drift = std::any_of(desired_.attach.begin(), desired_.attach.end(), [](const AttachRecord& r) {
      if (!r.attached) return false;
      if (!r.iface.empty() && static_cast<int>(if_nametoindex(r.iface.c_str())) != r.ifindex) return true;
      return !r.cgroup.empty() && cgroup_id_of(r.cgroup) != r.cgroup_id;
    });
    bool pending = std::any_of(desired_.attach.begin(), desired_.attach.end(),
                               [](const AttachRecord& r) { return !r.attached; });
    if (!changed && (drift || ((pending || apply_failed_) && mono_ms() - last_retry > 1000))) {
      last_retry = mono_ms();
      changed |= reconcile(false);
    }
    if (changed || status_dirty_ || mono_ms() - last_status > 5000) {
      status_dirty_ = false;
      write_status();
      last_status = mono_ms();
    }
  }
  log("stopping; enforcement stays pinned under " + opts_.pin_dir);
  if (applier_.joinable()) {
    {
      std::lock_guard lk(dns_mu_);
      stop_applier_ = true;
      learn_cv_.notify_all();
    }
    applier_.join();  // held answers still waiting time out (never sent unlearned)
  }
  proxy_.reset();
  metrics_.reset();
  drop_pump_.reset();
  std::lock_guard lk(mu_);
  status_.running = false;
  write_status();
}

std::string Agent::metrics_text() {
  std::lock_guard lk(mu_);
  MetricsSnapshot m;
  m.ready = status_.ready;
  m.generation = active_ ? active_->number : 0;
  m.reloads = reloads_;
  m.updates = updates_;
  if (active_) {
    const auto& c = active_->contents;
    m.maps = {{"identities", c.identities.size()}, {"hosts", c.hosts.size()},   {"ipcache", c.ipcache.size()},
              {"policy_exact", c.policy_exact.size()}, {"policy", c.policy.size()}, {"endpoints", c.endpoints.size()}};
    std::string err;
    Counters counters = active_->dp->read_counters(err);
    const auto& origins = bundle_->manifest.origins;
    const Module& policy = bundle_->manifest.policy;
    uint32_t rule_count = bundle::datapath_rule_count(policy);
    for (size_t i = 0; i < counters.slots.size(); ++i) {
      if (!counters.slots[i].packets) continue;
      MetricsSnapshot::Counter mc;
      mc.packets = counters.slots[i].packets;
      mc.bytes = counters.slots[i].bytes;
      if (i < origins.size()) {
        mc.rule = std::to_string(origins[i].id);
        mc.origin = origins[i].origin;
      } else if (i < rule_count) {
        // Admin and baseline rules follow the Policy tier's (plan.h datapath_rule).
        auto [tier, id] = bundle::tier_of_datapath_rule(policy, static_cast<uint32_t>(i));
        mc.rule = tier_prefix(tier) + std::to_string(id);
        mc.origin = policy.tier_rules(tier)[id].origin;
      } else {
        mc.rule = special_name(static_cast<uint32_t>(i - rule_count));
      }
      m.counters.push_back(mc);
    }
  }
  m.attach_points = desired_.attach.size();
  m.unenforced_pods = std::count_if(desired_.attach.begin(), desired_.attach.end(), [](const AttachRecord& r) { return !r.attached; });
  m.apply_failed = apply_failed_;
  m.bundle_refused = {{"older_serial", refused_older_}, {"serial_conflict", refused_conflict_}, {"expired", refused_expired_}};
  m.bundle_serial = bundle_ ? bundle_->manifest.serial : 0;
  m.inventory = cluster_health_;
  m.fqdn_addresses = fqdn_.address_count();
  m.fqdn_zombies = fqdn_.zombie_count();
  if (proxy_) {
    m.dns_queries = proxy_->stats().queries;
    m.dns_answers = proxy_->stats().answers;
    m.dns_hold_ns = proxy_->stats().hold_ns;
    m.dns_refused = proxy_->stats().refused;
    m.dns_mismatched = proxy_->stats().mismatched;
    m.dns_dropped = proxy_->stats().dropped;
  }
  return render_metrics(m);
}

} // namespace impl

std::string status_path(const AgentOptions& opts) {
  return opts.status_file.empty() ? opts.state_dir + "/status.json" : opts.status_file;
}

int run_agent(const AgentOptions& opts, const AgentHooks& hooks) {
  g_stop = 0;
  // An unusable trust key stops the agent: running without it would accept any bundle.
  std::vector<bundle::PublicKey> trusted;
  for (const std::string& path : opts.trust_files) {
    std::string err;
    auto pk = bundle::read_public_key(path, err);
    if (!pk) {
      if (hooks.log) hooks.log("--trust: " + err);
      return 2;
    }
    trusted.push_back(*pk);
  }
  std::string err;
  auto cluster = inventory::open_cluster_source(opts.node_file, opts.inventory_files, opts.kube, err);
  if (!cluster) {
    if (hooks.log) hooks.log(err);
    return 2;
  }
  impl::Agent agent(opts, hooks, std::move(trusted), std::move(cluster));
  int rc = agent.start();
  if (opts.once || rc == 3) return rc;
  // Bad inputs at start: keep running (pinned enforcement, if any, stays in force) and
  // pick up fixed inputs as soon as they appear.
  agent.loop();
  return 0;
}

int detach_all(const AgentOptions& opts, const AgentHooks& hooks) {
  auto log = [&](const std::string& s) {
    if (hooks.log) hooks.log(s);
  };
  int lock = ::open((opts.state_dir + "/agent.lock").c_str(), O_RDWR | O_CLOEXEC);
  if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) != 0) {
    log("an agent is running with state directory " + opts.state_dir + "; stop it before --detach");
    ::close(lock);
    return 1;
  }
  struct stat st;
  if (stat(opts.pin_dir.c_str(), &st) != 0) {
    log("nothing pinned under " + opts.pin_dir);
  } else {
    std::string err;
    bool adopted = false;
    auto d = Dispatch::open(opts.pin_dir, adopted, err, /*create=*/false);
    int failures = 0;
    if (!d) log(err + "; removing what is pinned");
    for (int ifindex : d ? d->attached_interfaces() : std::vector<int>{}) {
      if (d->detach_tc(ifindex, err)) log("detached interface index " + std::to_string(ifindex));
      else log(err), ++failures;
    }
    for (uint64_t cg : d ? d->attached_cgroups() : std::vector<uint64_t>{}) {
      if (d->detach_cgroup(cg, err)) log("detached cgroup id " + std::to_string(cg));
      else log(err), ++failures;
    }
    if (d) d->clear();
    d.reset();
    remove_tree(opts.pin_dir);
    log("unpinned " + opts.pin_dir);
    if (failures) {
      if (lock >= 0) ::close(lock);
      return 1;
    }
  }
  for (const char* f : {"/state.json", "/fqdn.json", "/manifest.json", "/agent.lock"})
    unlink((opts.state_dir + f).c_str());
  unlink(status_path(opts).c_str());
  if (lock >= 0) ::close(lock);
  return 0;
}

} // namespace moat::runtime::agent
