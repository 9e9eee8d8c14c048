// Seeded random policies, endpoints and flows for the differential tests: small label and
// value alphabets so that selectors, CIDRs, FQDN patterns and port ranges collide often.
#pragma once
#include <random>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace moat::testing {

class RandomModules {
public:
  explicit RandomModules(uint64_t seed) : rng_(seed) {}

  Module module(size_t rules, size_t isolations);
  /// Adds random AdminNetworkPolicy rules (priorities 0-2, Allow / Deny / Pass, CIDR peers
  /// that match cluster addresses half the time) in evaluation order, and baseline rules.
  void add_tiers(Module& m, size_t admin, size_t baseline);
  /// CNI profiles where an ipBlock also matches pod and node addresses (kubernetes, calico):
  /// each CIDR peer of the Policy tier gets `cidr_any_address` with probability `p`.
  void add_any_address_cidrs(Module& m, double p);
  /// Port ranges with arbitrary edges (not only well-known ports), so that range splitting
  /// into prefixes is exercised: each rule gets one more TCP / UDP / SCTP / Any range with
  /// probability `p`.
  void add_port_ranges(Module& m, double p);
  /// A share `p` of the Policy tier's Allow rules become Deny rules (deny precedence).
  void add_denies(Module& m, double p);
  /// AdminNetworkPolicy `nodes` peers: each egress rule of the admin and baseline tiers gets
  /// a selector over node labels as its peer with probability `p`.
  void add_node_peers(Module& m, double p);
  /// Node labels on the host and remote-node endpoints (one key shared with pod labels, so
  /// pod selectors that would match them show that they ignore nodes).
  void add_node_labels(std::vector<Endpoint>& eps);
  std::vector<Endpoint> endpoints(const Module& m, size_t n);
  /// More addresses, each new one unique and inside the policies' prefixes: with
  /// probability `p` a workload gets an address of its other family (dual stack) and an
  /// external endpoint a second address (several hosts, ir.h Flow).
  void add_addresses(std::vector<Endpoint>& eps, double p);
  /// The address a flow uses at `e`: one of several hosts, else 0 (ir.h Flow).
  size_t flow_address(const Endpoint& e);
  /// A protocol and port worth testing against `m` (range edges, named ports, random).
  std::pair<Protocol, uint16_t> proto_port(const Module& m, const Endpoint& dst);
  Peer peer(bool for_subject_group = false);
  std::vector<PortMatch> ports();
  EndpointSelector selector();
  std::vector<std::string> dns_names();  // names that hit and miss the FQDN pool

  std::mt19937_64& rng() { return rng_; }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

private:
  LabelSelector label_selector(bool ns);
  LabelSelector node_selector();
  IpPrefix prefix();
  FqdnMatch fqdn();
  std::mt19937_64 rng_;
};

} // namespace moat::testing
