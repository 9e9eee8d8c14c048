// The loader core (libbpf): open a compiled moat object, load it into the running kernel,
// fill its maps from the manifest's policy and a set of concrete endpoints, run packets
// through its programs (BPF_PROG_TEST_RUN), attach it, read its counters and drop events.
// `moat test --engine kernel`, the kernel tests, the benchmarks and the agent all use this
// one code path, so what the tests check is what a node runs.
//
// Typical use (the agent):
//   std::string err;
//   auto bundle = bundle::read_bundle(dir, err);                       // backend/bundle/manifest.h
//   const bundle::ObjectEntry* obj = bundle->manifest.object_for_pool(pool_name);
//   auto dp = Datapath::open(*bundle->object_bytes(obj->name), {.pin_dir = "/sys/fs/bpf/moat"}, err);
//   bundle::IdentityAllocator ids;                                     // keep it for the agent's life
//   auto contents = bundle::compute_map_contents(bundle->manifest.policy, endpoints, locals, ids);
//   dp->apply(contents, err);                                          // upserts, then deletes stale
//   dp->attach_tc(ifindex, Hook::TcEgressPolicy, err); ...
// Errors are returned as values (false / nullopt + a message), never thrown.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/bundle/datapath_abi.h"
#include "backend/bundle/map_contents.h"

struct bpf_object;
struct ring_buffer;

namespace moat::runtime {

/// The four programs of a moat object. Policy direction is the workload's point of view:
/// the *Egress programs enforce what a workload sends, the *Ingress ones what it receives.
enum class Program : uint8_t { TcIngress, TcEgress, CgroupIngress, CgroupEgress };
const char* program_symbol(Program p);  // abi::kProgTcIngress, ...

struct OpenOptions {
  /// Non-empty: maps are pinned there by name and reused when already pinned (so the
  /// conntrack and the policy survive an agent restart); the directory must be on bpffs.
  std::string pin_dir;
  /// Print libbpf's messages (verifier log on failure) to stderr.
  bool verbose = false;
  /// Non-zero: the conntrack map holds this many entries instead of the object's default.
  uint32_t conntrack_entries = 0;
};

/// Result of one BPF_PROG_TEST_RUN.
struct RunResult {
  uint32_t retval = 0;       // the program's return code
  bool passed = false;       // retval means "let it through" for that program type
  uint32_t duration_ns = 0;  // average per repetition, as the kernel reports it
};

/// Per-rule counters summed over CPUs: index = rule id, then abi::kSpecialCount slots.
struct Counters {
  std::vector<abi::CounterValue> slots;
};

/// A loaded object (programs verified by the kernel, maps created). Move-only; unloads on
/// destruction (pinned maps stay).
class Datapath {
public:
  static std::unique_ptr<Datapath> open(const std::vector<uint8_t>& elf, const OpenOptions& opts,
                                        std::string& error);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  int program_fd(Program p) const;
  int map_fd(const char* name) const;  // abi::kMap*; -1 if absent
  bpf_object* object() const { return obj_; }

  /// Makes the maps hold exactly `contents` (ipcache, endpoints, policy): new and changed
  /// entries are written first, stale ones deleted after, so no packet ever sees an empty
  /// policy. Counters, conntrack and events are left alone.
  bool apply(const bundle::MapContents& contents, std::string& error);
  /// Sets the policy epoch (abi::kGlobalEpoch) the programs compare conntrack entries with:
  /// entries recorded under another epoch are judged again by the current maps on their next
  /// packet. Change it after the maps hold a new policy (DATAPATH.md). False when the
  /// object has no epoch (built by a moat version without conntrack revalidation).
  bool set_epoch(uint32_t epoch, std::string& error);
  /// The current epoch; nullopt when the object has none.
  std::optional<uint32_t> epoch() const;
  /// Removes every conntrack and fragment entry. Not needed for correctness after a policy
  /// change (set_epoch makes every entry be judged again); tests use it to start clean.
  bool flush_conntrack(std::string& error);
  /// Sets one local-endpoint entry (tests point the test-run ifindex / cgroup at the
  /// endpoint under test).
  bool set_endpoint(const abi::EndpointKey& key, const abi::EndpointValue& value, std::string& error);

  /// Runs `packet` (an Ethernet frame; cgroup programs see it from the IP header, as the
  /// kernel does) through program `p` `repeat` times.
  std::optional<RunResult> test_run(Program p, const std::vector<uint8_t>& packet, uint32_t repeat,
                                    std::string& error) const;

  Counters read_counters(std::string& error) const;
  /// Drains the drop-event ring buffer, calling `fn` for each event; returns the count.
  int poll_events(const std::function<void(const abi::DropEvent&)>& fn, int timeout_ms,
                  std::string& error);

  /// Attaches a tc program to `ifindex` through a clsact qdisc. `ingress_hook` picks the
  /// qdisc side: for a pod's host-side veth, the pod's egress is the veth's ingress.
  bool attach_tc(Program p, int ifindex, bool ingress_hook, std::string& error);
  bool detach_tc(int ifindex, bool ingress_hook, std::string& error);
  /// Attaches a cgroup_skb program to the cgroup v2 directory `path` (multi-attach).
  bool attach_cgroup(Program p, const std::string& path, std::string& error);
  bool detach_cgroup(Program p, const std::string& path, std::string& error);

private:
  Datapath() = default;
  bpf_object* obj_ = nullptr;
  int epoch_fd_ = -1;  // the object's .bss map (owned by obj_), -1 without one
  ::ring_buffer* ring_ = nullptr;
  std::function<void(const abi::DropEvent&)> event_fn_;
  static int on_event(void* self, void* data, size_t size);
};

/// Opens `elf` without loading it and checks that it holds only the programs and maps moat
/// generates (bundle_names.h); Datapath::open checks the same. The agent runs it on every
/// object of a new bundle, so a bundle it would refuse to load is refused as a whole.
bool check_object(const std::vector<uint8_t>& elf, std::string& error);

/// The epoch of a generation pinned under `pin_dir` (the `.bss` map pinned as
/// abi::kGlobalEpoch); nullopt when absent or unreadable.
std::optional<uint32_t> read_pinned_epoch(const std::string& pin_dir);

/// The cgroup v2 id of a cgroup directory (what bpf_skb_cgroup_id() returns); 0 on error.
uint64_t cgroup_id_of(const std::string& path);
/// The cgroup v2 directory of the calling process (from /proc/self/cgroup).
std::string own_cgroup_path();
/// Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).
std::string cgroup2_mount();

/// True when this process can create BPF maps and load programs.
bool kernel_bpf_available(std::string& why);

} // namespace moat::runtime
