// Reading what is enforced, straight from the pinned kernel objects (the agent need not be
// running): the active generation's map fill, the dispatch slots, attach points, per-rule
// counters, and the drop-event ring — with each rule's origin and source location taken
// from the manifest copy the agent keeps in its state directory.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backend/bundle/datapath_abi.h"

namespace moat::runtime::agent {

/// A counter slot: a rule of the policy, or a special outcome (default deny, conntrack hit).
struct LiveCounter {
  std::string rule;      // "#12" or "default-deny", ...
  std::string action;    // "allow" / "deny" for rules, "" for special slots
  std::string origin;    // "NetworkPolicy x/allow-web"
  std::string location;  // "policies/x.yaml:12:7"
  uint64_t packets = 0, bytes = 0;
};

struct LiveView {
  uint64_t generation = 0;
  std::string generation_dir;
  std::optional<uint32_t> epoch;                          // its policy epoch (none: older object)
  std::vector<std::pair<std::string, size_t>> maps;       // name -> entries now
  std::vector<std::pair<std::string, uint32_t>> slots;    // dispatch slot -> program id (0 empty)
  std::vector<int> interfaces;                            // with our tc dispatcher (this netns)
  std::vector<uint64_t> cgroups;                          // with our pinned cgroup links
  std::vector<LiveCounter> counters;                      // slots with packets > 0
};

/// Inspects the pins under `pin_dir` (rule details from STATE_DIR/manifest.json).
std::optional<LiveView> inspect_live(const std::string& pin_dir, const std::string& state_dir, std::string& error);

/// One drop event, explained.
struct DropRecord {
  abi::DropEvent event;
  std::string direction;   // "ingress" / "egress" (of the local workload)
  std::string src, dst;    // "addr:port" ("[v6]:port")
  std::string protocol;    // "tcp", "udp", "icmp", ...
  std::string reason;      // "rule #4 deny", "default deny", "revoked by a policy change: rule #4 deny", ...
  bool revoked = false;    // an established connection the current policy denies (abi::kDropReasonRevoked)
  std::string origin;      // rule origin, or the isolating policy for default deny
  std::string location;    // "file:line:col" of the deciding rule ("" when none)
};

/// Follows the active generation's drop-event ring until `max_events` (0: unlimited) were
/// seen, `timeout_ms` (0: no limit) passed, or `stop()` returns true. Events already in the
/// ring when it starts are skipped unless `backlog`. Returns the number of events, or -1
/// with `error`.
int observe_drops(const std::string& pin_dir, const std::string& state_dir, int max_events, int timeout_ms,
                  bool backlog, const std::function<bool()>& stop,
                  const std::function<void(const DropRecord&)>& fn, std::string& error);

} // namespace moat::runtime::agent
