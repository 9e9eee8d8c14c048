// The kernel as a policy engine: a compiled object loaded into the running kernel, its maps
// filled by the loader from a policy and a set of endpoints (every workload local), and
// each flow checked with real packets through BPF_PROG_TEST_RUN — the egress program at the
// source (if a workload), the ingress program at the destination (if a workload), then the
// reply through both (it must pass, via conntrack). Both attach kinds (tc and cgroup_skb)
// run every flow and must agree. Used by `moat test --engine kernel`, the kernel tests and
// the differential tests.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/bundle/map_contents.h"
#include "ir/ir.h"
#include "runtime/loader.h"
#include "runtime/packets.h"

namespace moat::runtime {

struct FlowCheck {
  bool allowed = false;       // egress at src AND ingress at dst passed (tc; cgroup_skb agrees)
  bool reply_passed = true;   // allowed flows with a reply: the reply passed both ends
  bool attach_kinds_agree = true;  // tc and cgroup_skb gave the same verdicts
  std::string detail;         // one line per program run: where, verdict, deciding rule
};

class KernelFlowRunner {
public:
  /// Loads `elf`, computes and applies the maps for `policy` with every workload of
  /// `endpoints` local. `rule_names[i]` describes rule i in details (may be empty).
  static std::unique_ptr<KernelFlowRunner> create(const std::vector<uint8_t>& elf, const Module& policy,
                                                  std::vector<Endpoint> endpoints,
                                                  std::vector<std::string> rule_names, std::string& error);

  /// Checks one flow; `src` / `dst` must be among the endpoints given to create() (matched
  /// by name and kind). An external end with several addresses sends from / receives at
  /// ips[src_addr] / ips[dst_addr] (ir.h Flow); so do other ends when the two addresses
  /// named are of one family (a dual-stack pod's IPv6 packet); otherwise an end uses its
  /// first address of the packet's family (IPv4 when both ends have one). nullopt + error when no packet can be built (no address of a common
  /// family, protocol Any) or the kernel fails.
  std::optional<FlowCheck> check(const Endpoint& src, const Endpoint& dst, Protocol proto, uint16_t port,
                                 std::string& error, size_t src_addr = 0, size_t dst_addr = 0);

  /// Runs one hand-made packet through program `p` with `local` as the local endpoint.
  std::optional<RunResult> run(Program p, const Endpoint& local, const PacketSpec& spec, std::string& error);

  /// A policy change in place, as the agent makes one: the maps for `policy` (same endpoints,
  /// same identity numbers) replace the current ones, then the epoch moves on, so every
  /// conntrack entry is judged again by the new policy. The object stays: `policy` must need
  /// no lookup its plan lacks (compile the object for the union of the policies).
  bool reload(const Module& policy, std::string& error);

  Datapath& datapath() { return *dp_; }
  const bundle::MapContents& contents() const { return contents_; }
  /// Set false to skip the per-run counter reads that name the deciding rule (benchmarks).
  bool explain = true;

private:
  KernelFlowRunner() = default;
  const Endpoint* find(const Endpoint& e) const;
  std::optional<bool> run_one(Program p, const Endpoint& local, const std::vector<uint8_t>& pkt, std::string& where,
                              std::string& detail, std::string& error);
  std::string describe_slot(uint32_t slot) const;

  std::unique_ptr<Datapath> dp_;
  std::vector<Endpoint> endpoints_;
  std::vector<std::string> rule_names_;
  bundle::MapContents contents_;
  std::map<size_t, abi::EndpointValue> local_values_;  // endpoint index -> map value
  uint64_t own_cgroup_ = 0;
  uint16_t next_port_ = 32768;
  uint32_t rule_count_ = 0;
  std::vector<bundle::LocalAttachment> locals_;
  bundle::IdentityAllocator ids_;
};

/// IP protocol number of a flow protocol (0 for Any).
uint8_t ip_proto(Protocol p);

} // namespace moat::runtime
