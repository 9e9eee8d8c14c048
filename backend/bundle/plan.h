// DatapathPlan: which lookups the generated program performs, decided at build time from
// the IR (backend/DATAPATH.md: the compiler emits only the lookups the policy needs). The map
// *contents* are computed later, on the node, from the endpoints (map_contents.h).
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "ir/ir.h"

namespace moat::bundle {

struct DirectionPlan {
  /// Some rule or isolation applies in this direction: parse, conntrack, policy.
  /// Disabled: every packet of a known local endpoint passes (still recorded in conntrack
  /// when the other direction is enabled, so that its replies are recognised there).
  bool enabled = false;
  /// Some rule's peer depends on the remote identity: lookup (local, remote, ...).
  bool specific_lookup = false;
  /// Some rule's peer matches every remote: lookup (local, ANY, ...).
  bool any_lookup = false;
  /// The remote identity is needed (specific lookup, or the host check on ingress).
  bool ipcache = false;
  /// Policy entries of single ports exist (some rule names a port): the exact hash lookup.
  bool exact_ports = false;
  /// Policy entries wider than one port exist (port ranges, port-less rules): the LPM lookup.
  bool port_prefixes = false;
  /// Allowed flows are recorded in conntrack (this or the other direction enabled).
  bool ct_write = false;
};

struct DatapathPlan {
  DirectionPlan dir[2];  // indexed by moat::Direction (Ingress = 0, Egress = 1)
  uint32_t rule_count = 0;  // counters: rule ids [0, rule_count) + abi::kSpecialCount slots
  /// Some CIDR (or except) prefix is shorter than a full address: the ipcache LPM lookup
  /// after the moat_hosts hash (no CIDR rules -> no CIDR lookup).
  bool ipcache_prefixes = false;
  // Map capacities (entries). LPM tries are not preallocated; the LRU maps are.
  uint32_t max_ipcache = 1u << 19;
  uint32_t max_policy = 1u << 21;
  uint32_t max_endpoints = 1u << 14;
  uint32_t max_conntrack = 1u << 16;
  uint32_t max_fragments = 1u << 13;

  const DirectionPlan& operator[](Direction d) const { return dir[static_cast<int>(d)]; }
};

/// True when `peer` matches every remote endpoint (Peer::Any, entity all): such rules go to
/// the (local, ANY) policy entries instead of one entry per remote identity.
bool peer_is_universal(const Peer& peer);
/// True when a port of `r` is named (it resolves against a workload's ports).
bool has_named_port(const Rule& r);

/// Rule ids in the datapath (PolicyValue::rule, counter slots, drop events) number the three
/// tiers one after the other: the Policy tier's ids as they are, then the admin tier's, then
/// the baseline tier's, so one counter array and one event field serve all of them.
uint32_t datapath_rule_count(const Module& m);
uint32_t datapath_rule(const Module& m, Tier tier, uint32_t id);
/// The tier and the id within it (Module::tier_rules) of a datapath rule id below
/// datapath_rule_count(m).
std::pair<Tier, uint32_t> tier_of_datapath_rule(const Module& m, uint32_t rule);

/// Plans the datapath for the rules (of every tier) and isolations of `m` (all of them).
DatapathPlan plan_datapath(const Module& m);

} // namespace moat::bundle
