// Pieces of the Cilium policy front end shared by its files: endpoint selectors with
// Cilium's special labels, and the L4/L7 part of a rule (toPorts, icmps).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "frontend/yaml/yaml_util.h"

namespace moat::yamlfe {

/// Where a Cilium policy lives: a namespaced policy scopes selectors to its namespace.
struct CiliumScope {
  std::string ns;            // namespaced policies
  bool clusterwide = false;  // CiliumClusterwideNetworkPolicy
};

/// A Cilium endpoint selector after its special labels were understood: `k8s:`/`any:`
/// prefixes stripped, `io.kubernetes.pod.namespace` as the namespace name,
/// `io.cilium.k8s.namespace.labels.KEY` as namespace label KEY, `reserved:X` as entity X.
struct CiliumSelector {
  EndpointSelector sel;
  std::optional<Entity> reserved;        // reserved:host, reserved:world, ...
  std::optional<Peer> reserved_cidr;     // reserved:world-ipv4 / world-ipv6
  bool has_namespace_name = false;       // any requirement on the namespace name
};
std::optional<CiliumSelector> parse_cilium_selector(Ctx& ctx, const doc::Node& node, std::string_view what,
                                                    SourceRange fallback);

/// A Cilium entity name as a peer (world-ipv4/world-ipv6 become CIDR peers; `namespace`
/// becomes the policy's namespace, or is ignored with W208 in a clusterwide policy where
/// it depends on the subject); E311 for unknown names. nullopt: nothing to add.
std::optional<Peer> entity_peer(Ctx& ctx, const doc::Node& node, SourceRange fallback, const CiliumScope& scope);

/// A matchName / matchPattern map (a toFQDNs entry, or a dns rule of toPorts): exactly one
/// of the two, checked as ir/fqdn.h defines names and patterns (E204/E207 shape, E308 bad name or pattern).
std::optional<FqdnMatch> parse_fqdn_match(Ctx& ctx, const doc::Node& node, std::string_view what,
                                          SourceRange fallback);

/// Ports that share one set of L7 rules: each becomes one IR rule per peer.
struct PortGroup {
  std::vector<PortMatch> ports;  // empty: every port
  std::vector<HttpRule> http;
  std::vector<FqdnMatch> dns;
};
/// toPorts and icmps of one section item. Plain port entries and ICMP fields share one
/// group; each toPorts entry with L7 rules is its own group. No toPorts and no icmps give
/// one group with every port. nullopt on errors.
std::optional<std::vector<PortGroup>> parse_cilium_ports(Ctx& ctx, const Map& item, Direction dir, bool deny);

} // namespace moat::yamlfe
