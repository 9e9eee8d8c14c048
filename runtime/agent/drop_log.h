// The agent's drop log: the one consumer of the datapath's drop-event ring writes every
// explained drop, with the pods' names, into a fixed-size ring file under the state
// directory that any number of `moat observe` processes read at once, each at its own pace,
// none taking events from another. A reader that falls a whole ring behind is told how
// many it lost; the writer never waits for readers.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "frontend/kube_objects.h"
#include "ir/ip.h"
#include "runtime/agent/inspect.h"
#include "runtime/inventory/terminating.h"

namespace moat::runtime::agent {

/// A drop as `moat observe` shows it: the explained event, its wall-clock time and, where
/// the address belongs to a pod of the inventory, "namespace/pod" and its labels.
struct ObservedDrop {
  DropRecord drop;
  int64_t unix_ns = 0;
  std::string src_pod, dst_pod;        // "ns/name", "" when not a pod
  std::string src_labels, dst_labels;  // "app=web,tier=front"
};

/// Names an address (DropEvent layout: IPv4 in the first 4 bytes): {"ns/pod", "k=v,..."}
/// or empty strings.
using PodNamer = std::function<std::pair<std::string, std::string>(uint8_t family, const uint8_t* addr)>;

/// Every pod address of an inventory -> {"ns/pod", "k=v,..."}: what a namer looks up
/// (`live`: the inventory's live pod addresses).
using PodNames = std::map<IpAddr, std::pair<std::string, std::string>>;
PodNames pod_names(const KubeObjects& inv, const inventory::LiveAddresses& live);
/// A namer over whatever table `current` returns at the time of each lookup.
PodNamer namer_over(std::function<std::shared_ptr<const PodNames>()> current);

/// What to add to a bpf_ktime_get_ns() timestamp (CLOCK_MONOTONIC) to get Unix time in ns.
int64_t monotonic_to_unix_offset_ns();

/// STATE_DIR/drops.ring
std::string drop_log_path(const std::string& state_dir);

class DropLogWriter {
public:
  /// Creates (or replaces) the ring file with room for `capacity` records; nullptr + error.
  static std::unique_ptr<DropLogWriter> create(const std::string& path, uint32_t capacity, std::string& error);
  ~DropLogWriter();
  void append(const ObservedDrop& d);
  uint64_t written() const;

private:
  DropLogWriter() = default;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t size_ = 0;
};

/// Follows a drop log from its current end (or its oldest record with `backlog`) until
/// `max_events` (0: unlimited) were read, `timeout_ms` passed (0: none) or `stop()`.
/// `lost` receives how many records were overwritten before this reader got to them.
/// Returns the number read, or -1 with `error` (no log, or not a drop log).
int follow_drop_log(const std::string& path, int max_events, int timeout_ms, bool backlog,
                    const std::function<bool()>& stop, const std::function<void(const ObservedDrop&)>& fn,
                    uint64_t& lost, std::string& error);

/// True when a live agent writes the log at `path` (its pid is in the header and running).
bool drop_log_live(const std::string& path);

/// The agent's side: a thread that follows the active generation's drop-event ring (the
/// only consumer) and appends each drop, named by `namer`, to the log.
class DropLogPump {
public:
  static std::unique_ptr<DropLogPump> start(const std::string& pin_dir, const std::string& state_dir, PodNamer namer,
                                            std::string& error);
  ~DropLogPump();

private:
  DropLogPump() = default;
  std::unique_ptr<DropLogWriter> writer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace moat::runtime::agent
