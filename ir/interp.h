// The reference interpreter: concrete verdicts (docs/LANGUAGE.md, Rule verdicts). This is the executable
// definition of moat's semantics; the Z3 encoding and the compiled eBPF must agree with it.
#pragma once
#include <string_view>
#include <vector>

#include "ir/ir.h"

namespace moat {

/// The verdict of one direction at one endpoint.
struct Decision {
  enum class Why : uint8_t {
    NotWorkload,   // the endpoint is not a workload: no policy applies here
    Implicit,      // self traffic, host to a local workload, IPv6 neighbour discovery: always allowed
    NotIsolated,   // no isolation selects the endpoint in this direction
    Allowed,       // isolated, and an allow rule matched (rules = the matching allows)
    NoAllow,       // isolated, and no allow rule matched (isolations = what isolated it)
    Denied,        // a deny rule matched (rules = the matching denies); deny wins within its tier
    AdminAllowed,  // the first matching AdminNetworkPolicy rule allows (rules = it, in admin_rules)
    AdminDenied,   // the first matching AdminNetworkPolicy rule denies (rules = it, in admin_rules)
    BaselineAllowed,  // not isolated; the first matching baseline rule allows (rules = it, in baseline_rules)
    BaselineDenied,   // not isolated; the first matching baseline rule denies (rules = it, in baseline_rules)
  };
  bool allowed = true;
  Why why = Why::NotWorkload;
  std::vector<uint32_t> rules;       // deciding rule ids
  std::vector<uint32_t> isolations;  // indexes into Module::isolations
  /// The AdminNetworkPolicy Pass rule (index into admin_rules) that handed the decision on
  /// to the lower tiers; empty when no admin rule matched.
  std::vector<uint32_t> passed;
  /// The tier whose rule vector `rules` indexes (Module::tier_rules).
  Tier tier() const {
    if (why == Why::AdminAllowed || why == Why::AdminDenied) return Tier::Admin;
    if (why == Why::BaselineAllowed || why == Why::BaselineDenied) return Tier::Baseline;
    return Tier::Policy;
  }
};

struct Verdict {
  bool allowed = true;
  Decision egress;   // at the source
  Decision ingress;  // at the destination
};

bool label_selector_matches(const LabelSelector& sel, const Labels& labels);
/// Workload endpoints only: namespace labels AND pod labels.
bool endpoint_selector_matches(const EndpointSelector& sel, const Endpoint& ep);
/// FQDN rules: case-insensitive, trailing dot ignored, '*' within one label,
/// lone '*' matches all, leading '**.' matches one or more labels.
bool fqdn_matches(const FqdnMatch& m, std::string_view name);
/// Does `peer` select the remote endpoint `remote`, seen at its address `remote.ips[addr]`?
/// (Only CIDR peers read the address; an external endpoint with several addresses is
/// several hosts, asked about one at a time.)
bool peer_matches(const Peer& peer, const Endpoint& remote, size_t addr = 0);
/// Does the flow's protocol/port fall in `ports`? Named ports resolve against `owner`
/// (the destination workload). Empty `ports` matches everything.
bool ports_match(const std::vector<PortMatch>& ports, Protocol proto, uint16_t port,
                 const Endpoint* owner);

/// ICMPv6 neighbour discovery (RFC 4861: router solicitation 133, router advertisement 134,
/// neighbour solicitation 135, neighbour advertisement 136, redirect 137): link-layer
/// plumbing, always allowed like ARP, whatever the rules say (see evaluate()).
inline constexpr uint16_t kNdpFirstType = 133, kNdpLastType = 137;
bool is_neighbour_discovery(Protocol proto, uint16_t port);

/// Does rule `r` (of any tier) match this direction at `local` for `remote` at its address?
/// Named ports resolve against the destination.
bool rule_matches(const Rule& r, Direction dir, const Endpoint& local, const Endpoint& remote, Protocol proto,
                  uint16_t port, size_t remote_addr = 0);

/// The rules and isolations one direction at one endpoint reads: null means all of the
/// module's. Callers that ask about many flows (`moat list`) pass a subset found through
/// an index; it must contain every rule and isolation of that direction whose subject
/// selects the local end and whose peer may select the remote end, and then the verdict
/// is evaluate()'s (candidates that do not match are tested and skipped as usual).
struct Candidates {
  const std::vector<uint32_t>* rules = nullptr;       // ids into Module::rules
  const std::vector<uint32_t>* isolations = nullptr;  // indexes into Module::isolations
};
/// The verdict of one direction at `local` for the remote end `remote` at its address
/// `remote.ips[remote_addr]`.
Decision decide(const Module& m, Direction dir, const Endpoint& local, const Endpoint& remote,
                Protocol proto, uint16_t port, size_t remote_addr = 0);
/// decide() reading only the candidates.
Decision decide_among(const Module& m, const Candidates& among, Direction dir, const Endpoint& local,
                      const Endpoint& remote, Protocol proto, uint16_t port, size_t remote_addr = 0);
/// Connection verdict: egress at src (if a workload) AND ingress at dst (if a workload),
/// with each end at the address the flow names (Flow::src_addr, Flow::dst_addr).
Verdict evaluate(const Module& m, const Flow& flow);

/// evaluate() reading only `egress` at the source and `ingress` at the destination.
Verdict evaluate_among(const Module& m, const Flow& flow, const Candidates& egress, const Candidates& ingress);

const char* to_string(Decision::Why w);

/// "admin " / "baseline " / "" (the Policy tier), to name a deciding rule in messages.
inline const char* tier_prefix(Tier t) { return t == Tier::Admin ? "admin " : t == Tier::Baseline ? "baseline " : ""; }

/// The deciding rule `id` of `d` (ids index the vector of the tier that decided), or null.
inline const Rule* decided_rule(const Module& m, const Decision& d, uint32_t id) {
  const std::vector<Rule>& rules = m.tier_rules(d.tier());
  return id < rules.size() ? &rules[id] : nullptr;
}

} // namespace moat
