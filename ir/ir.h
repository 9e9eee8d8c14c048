// The moat IR: one Module for every front end (moat language, Kubernetes, Cilium,
// Karpenter). Front ends lower into it; the interpreter, the verifier and the backend
// read it. Every node carries the SourceRange it came from.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/ip.h"
#include "ir/source.h"

namespace moat {

enum class Direction : uint8_t { Ingress, Egress };
/// Pass exists only in the AdminNetworkPolicy tier: it ends that tier's evaluation and hands
/// the decision to the NetworkPolicy tier (and from there to the baseline tier).
enum class Action : uint8_t { Allow, Deny, Pass };

/// The tiers a verdict passes through, in the order the AdminNetworkPolicy API documents
/// (network-policy-api, apis/v1alpha1 AdminNetworkPolicySpec.Priority: "All AdminNetworkPolicy
/// rules have higher precedence than NetworkPolicy or BaselineAdminNetworkPolicy rules"):
/// Admin (AdminNetworkPolicy, first match in priority order), Policy (NetworkPolicy, Cilium
/// and moat rules: deny wins, then isolation and allows), Baseline
/// (BaselineAdminNetworkPolicy, first match, consulted only where no Policy isolation applies).
enum class Tier : uint8_t { Admin, Policy, Baseline };

/// IP protocol numbers; Any means "TCP, UDP or SCTP" when a port is given (Cilium's ANY).
enum class Protocol : uint8_t { Any = 0, ICMP = 1, TCP = 6, UDP = 17, ICMPv6 = 58, SCTP = 132 };

using Labels = std::map<std::string, std::string>;

/// The label that names a namespace; every namespace carries it.
inline constexpr const char* kNamespaceNameLabel = "kubernetes.io/metadata.name";

/// One term of a label selector (matchLabels entries become In with one value).
struct LabelRequirement {
  enum class Op : uint8_t { In, NotIn, Exists, DoesNotExist };
  std::string key;
  Op op = Op::In;
  std::vector<std::string> values;  // sorted, for In / NotIn
  SourceRange range;
  bool operator==(const LabelRequirement&) const = default;
};

/// A conjunction of requirements; empty matches every label set.
struct LabelSelector {
  std::vector<LabelRequirement> reqs;
  SourceRange range;
  bool empty() const { return reqs.empty(); }
  bool operator==(const LabelSelector&) const = default;
};

/// Selects workloads: namespace labels AND pod labels. Never matches a non-workload.
struct EndpointSelector {
  LabelSelector namespaces;
  LabelSelector pods;
  SourceRange range;
  bool operator==(const EndpointSelector&) const = default;
};

/// Cilium-style entities; Init/Health/Unmanaged/Ingress exist for completeness and match no
/// endpoint moat models except through All.
enum class Entity : uint8_t {
  World, Cluster, Host, RemoteNode, KubeApiserver, All, Init, Health, Unmanaged, Ingress
};

struct FqdnMatch {
  bool pattern = false;   // false: matchName (exact); true: matchPattern
  std::string value;      // lower-case, trailing dot removed
  SourceRange range;
  bool operator==(const FqdnMatch&) const = default;
};

/// The other end of a rule. CIDR peers match only external (non-cluster) endpoints.
/// Nodes peers match node endpoints (EndpointKind Host and RemoteNode) by their Node's
/// labels; a kind of its own rather than an EndpointSelector because a node has one label
/// set and no namespace, and an EndpointSelector never matches a non-workload.
struct Peer {
  enum class Kind : uint8_t { Any, Endpoints, Cidr, Entity, Fqdn, Nodes };
  Kind kind = Kind::Any;
  EndpointSelector endpoints;         // Kind::Endpoints
  LabelSelector nodes;                // Kind::Nodes: against a node endpoint's labels
  IpPrefix cidr;                      // Kind::Cidr
  std::vector<IpPrefix> except;       // Kind::Cidr, each inside cidr
  /// Kind::Cidr: also match cluster endpoints (workloads, nodes) by their address, as
  /// AdminNetworkPolicy `networks` do; false: external endpoints only (Cilium's CIDR rule).
  bool cidr_any_address = false;
  Entity entity = Entity::All;        // Kind::Entity
  FqdnMatch fqdn;                     // Kind::Fqdn
  SourceRange range;
  bool operator==(const Peer&) const = default;
};

/// A set of ports of one protocol: lo..hi inclusive (ICMP: type range 0..255 = all types),
/// or a named container port resolved against the destination workload.
struct PortMatch {
  Protocol proto = Protocol::TCP;
  uint16_t lo = 0, hi = 65535;
  std::string name;  // non-empty: named port (lo/hi unused)
  SourceRange range;
  bool operator==(const PortMatch&) const = default;
};

/// L7 HTTP constraint: kept and verified, never enforced by the datapath (build refuses).
struct HttpRule {
  std::string method, path, host;
  std::vector<std::string> headers;
  SourceRange range;
  bool operator==(const HttpRule&) const = default;
};

/// The kind of object a rule came from; `origin` names the object, this says how it is
/// read (the CNI profiles read NetworkPolicy ipBlocks differently, W420).
enum class RuleSource : uint8_t {
  Moat, NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, AdminNetworkPolicy,
  BaselineAdminNetworkPolicy
};

/// One rule half: at the subject, in one direction, about one peer.
struct Rule {
  uint32_t id = 0;                    // index in Module::rules
  EndpointSelector subject;
  Direction dir = Direction::Ingress;
  Action action = Action::Allow;
  Peer peer;
  std::vector<PortMatch> ports;       // empty: every port of every protocol
  std::vector<HttpRule> http;         // L7 (non-empty: build refuses)
  std::vector<FqdnMatch> dns;         // `rules: dns` — names the FQDN machinery may learn
  int32_t twin = -1;                  // the other half of a moat connection rule, or -1
  Tier tier = Tier::Policy;           // Admin / Baseline rules live in Module::admin_rules / baseline_rules
  int32_t priority = 0;               // Admin: the AdminNetworkPolicy's priority (0..1000)
  std::string origin;                 // "NetworkPolicy x/allow-web", "moat kubeflow", ...
  RuleSource source = RuleSource::Moat;
  SourceRange range;
  bool operator==(const Rule&) const = default;
};

/// Isolation fact: endpoints selected by `subject` are default-deny in `dir`.
struct Isolation {
  EndpointSelector subject;
  Direction dir = Direction::Ingress;
  std::string origin;
  SourceRange range;
  bool operator==(const Isolation&) const = default;
};

struct Taint {
  std::string key, value, effect;  // effect: NoSchedule | PreferNoSchedule | NoExecute
  SourceRange range;
  bool operator==(const Taint&) const = default;
};

/// One node-selector requirement of a pod (nodeAffinity matchExpressions; matchFields on
/// metadata.name keep that key); Gt/Lt compare integers.
struct NodeRequirement {
  enum class Op : uint8_t { In, NotIn, Exists, DoesNotExist, Gt, Lt };
  std::string key;
  Op op = Op::In;
  std::vector<std::string> values;
  bool operator==(const NodeRequirement&) const = default;
};

/// A pod toleration; an empty key with operator Exists tolerates every taint.
struct Toleration {
  std::string key, value, effect;  // effect "" = every effect
  bool exists = false;             // operator: Exists (true) or Equal (false)
  bool operator==(const Toleration&) const = default;
};

/// What the scheduler looks at to place a workload (ir/scheduling.h decides with it).
struct Scheduling {
  std::map<std::string, std::string> node_selector;
  /// requiredDuringSchedulingIgnoredDuringExecution: OR of terms, each an AND.
  std::vector<std::vector<NodeRequirement>> required_terms;
  std::vector<Toleration> tolerations;
  bool operator==(const Scheduling&) const = default;
};

/// Karpenter NodePool (or a moat `nodepool` block).
struct NodePool {
  std::string name;
  std::vector<LabelRequirement> requirements;  // node.kubernetes.io/instance-family in [...]
  Labels labels;                                // template labels
  std::vector<Taint> taints, startup_taints;
  std::map<std::string, std::string> limits;    // cpu: "500", memory: "2000Gi", ...
  std::map<std::string, std::string> disruption;  // flattened key -> value
  std::vector<EndpointSelector> admits;         // workloads that tolerate and select this pool
  SourceRange range;
  bool operator==(const NodePool&) const = default;
};

/// A named selector or peer declared in the moat language (`workload x = {...}`).
struct NamedSelector {
  std::string ns, name;  // qualified name "ns/name"
  EndpointSelector selector;
  SourceRange range;
  bool operator==(const NamedSelector&) const = default;
};
struct NamedPeer {
  std::string ns, name;
  Peer peer;
  SourceRange range;
  bool operator==(const NamedPeer&) const = default;
};

enum class EndpointKind : uint8_t { Workload, Host, RemoteNode, KubeApiserver, External };

struct NamedPort {
  std::string name;
  Protocol proto = Protocol::TCP;
  uint16_t port = 0;
  bool operator==(const NamedPort&) const = default;
};

/// A concrete endpoint (inventory entry, cases-file endpoint, or an expectation's end).
struct Endpoint {
  std::string name;
  EndpointKind kind = EndpointKind::Workload;
  std::string ns;                    // workloads
  Labels ns_labels;                  // includes kNamespaceNameLabel
  Labels labels;                     // workloads: pod labels; Host / RemoteNode: the Node's labels
  std::vector<IpAddr> ips;
  std::vector<NamedPort> ports;
  std::vector<std::string> dns_names;  // external endpoints: names learned from DNS
  std::string node;                  // empty: the one node of the test
  std::string iface, cgroup;         // runtime attach points (inventory annotations)
  /// Workloads: resources requested (the scheduler's effective pod request), e.g.
  /// nvidia.com/gpu -> "1"; W506 reads the extended ones.
  std::map<std::string, std::string> resources;
  Scheduling sched;                  // workloads: tolerations, nodeSelector, node affinity
  SourceRange range;                 // where it was defined (cases file entry, inventory pod)
  bool operator==(const Endpoint&) const = default;
};

/// A flow: proto + destination port (ICMP: the type). A packet has one source and one
/// destination address: `src_addr` / `dst_addr` index the ends' `ips` (default: the first,
/// for most endpoints the only one). An external endpoint with several addresses stands for
/// several hosts, so its flows are evaluated once per address; only CIDR peers read it.
struct Flow {
  const Endpoint* src = nullptr;
  const Endpoint* dst = nullptr;
  Protocol proto = Protocol::TCP;
  uint16_t port = 0;
  size_t src_addr = 0, dst_addr = 0;
};

/// A peer plus the ports it is allowed on, as used by `prove ... within {...}`.
struct PeerPorts {
  Peer peer;
  std::vector<PortMatch> ports;  // empty: every port
  SourceRange range;
  bool operator==(const PeerPorts&) const = default;
};

/// `prove` statement of the moat language.
struct Prove {
  enum class Kind : uint8_t { Isolated, Reachable, EgressWithin, IngressWithin, PoolAdmits };
  Kind kind = Kind::Isolated;
  std::vector<Peer> subjects;    // Isolated: groups that must not reach each other; else [0]
  std::vector<PeerPorts> peers;  // Reachable: the sources (with ports); Within: the allowed set
  std::string pool;              // PoolAdmits
  std::string text;              // the statement as written, for reports
  SourceRange range;
  bool operator==(const Prove&) const = default;
};

/// `expect A -> B on proto port: allow|deny` — ends made concrete by the front end.
struct Expect {
  Endpoint from, to;
  Protocol proto = Protocol::TCP;
  uint16_t port = 0;
  bool allow = false;
  std::string text;
  SourceRange range;
  bool operator==(const Expect&) const = default;
};

/// Everything moat knows after the front ends ran.
struct Module {
  std::vector<Rule> rules;  // the Policy tier
  std::vector<Isolation> isolations;
  /// AdminNetworkPolicy rules in evaluation order: priority, then the order moat read the
  /// policies (equal priorities: the API leaves the order to the implementation; W220),
  /// then rule order within a policy. Ids index this vector.
  std::vector<Rule> admin_rules;
  /// BaselineAdminNetworkPolicy rules in evaluation order (rule order). Ids index this vector.
  std::vector<Rule> baseline_rules;
  std::vector<NodePool> pools;
  std::vector<NamedSelector> workloads;
  std::vector<NamedPeer> peers;
  std::vector<Prove> proofs;
  std::vector<Expect> expects;
  /// Namespaces declared in moat sources or as Namespace objects (name -> labels);
  /// inventories add their own.
  std::map<std::string, Labels> namespaces;
  /// Workloads found among the sources (Pods, Deployments, StatefulSets, ... read by
  /// frontend/kube_objects.h): one endpoint each, named "ns/name[Kind]". They name
  /// endpoints for `moat query` and feed W506; the proof scope stays every possible
  /// endpoint unless --inventory is given (docs/SCOPES.md).
  std::vector<Endpoint> cluster_workloads;

  /// Appends a rule and sets its id; returns the id.
  uint32_t add_rule(Rule r) {
    r.id = static_cast<uint32_t>(rules.size());
    rules.push_back(std::move(r));
    return rules.back().id;
  }
  /// The rules of one tier (ids of a Decision index the vector of the tier that decided).
  const std::vector<Rule>& tier_rules(Tier t) const {
    return t == Tier::Admin ? admin_rules : t == Tier::Baseline ? baseline_rules : rules;
  }
  bool has_admin_tiers() const { return !admin_rules.empty() || !baseline_rules.empty(); }
  bool operator==(const Module&) const = default;
};

const char* to_string(Direction d);
const char* to_string(Action a);
const char* to_string(Tier t);
const char* to_string(Protocol p);
const char* to_string(Entity e);
const char* to_string(EndpointKind k);
const char* to_string(RuleSource s);
std::optional<Protocol> parse_protocol(std::string_view name);  // case-insensitive
std::optional<Entity> parse_entity(std::string_view name);      // "world", "remote-node", ...

} // namespace moat
