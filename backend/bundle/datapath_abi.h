// The contract between the generated eBPF datapath and the user-space code that fills its
// maps: map names, key/value layouts, reserved identities, verdict and reason codes.
// The code generator (backend/codegen) and the loader (runtime/) both include this header,
// so a layout change is made in exactly one place. All structs are packed by construction
// (explicit padding) and their sizes are checked below.
#pragma once
#include <cstdint>

namespace moat::abi {

// ---- Map names (the BTF-defined maps in the object's `.maps` section) ----
inline constexpr const char* kMapHosts = "moat_hosts";          // hash: full address -> identity
inline constexpr const char* kMapIpcache = "moat_ipcache";      // LPM trie: IP prefix -> identity
inline constexpr const char* kMapEndpoints = "moat_endpoints";  // hash: ifindex / cgroup id -> local endpoint
inline constexpr const char* kMapPolicyExact = "moat_policy_exact";  // hash: (local, remote, dir, proto, port) -> verdict
inline constexpr const char* kMapPolicy = "moat_policy";        // LPM trie: same key, port prefixes
inline constexpr const char* kMapConntrack = "moat_ct";         // LRU hash: flow tuple -> allowed flow
inline constexpr const char* kMapFragments = "moat_frags";      // LRU hash: fragment id -> L4 ports
inline constexpr const char* kMapCounters = "moat_counters";    // per-CPU array: counter index -> packets/bytes
inline constexpr const char* kMapEvents = "moat_events";        // ring buffer of DropEvent

// ---- The policy epoch ----
/// A u32 global in the object's `.bss` (libbpf turns the section into a one-entry array map):
/// the epoch of the policy the generation enforces now. The agent changes it on every
/// generation swap (before the dispatch slots switch) and after every in-place update. A
/// conntrack entry whose epoch differs is judged again by the current maps (DATAPATH.md).
/// The loader pins the `.bss` map under this name, next to the other maps.
inline constexpr const char* kGlobalEpoch = "moat_epoch";

// ---- Program names (ELF symbol names) and their sections ----
inline constexpr const char* kProgTcIngress = "moat_tc_ingress";    // section "tc"
inline constexpr const char* kProgTcEgress = "moat_tc_egress";      // section "tc"
inline constexpr const char* kProgCgroupIngress = "moat_cg_ingress";  // "cgroup_skb/ingress"
inline constexpr const char* kProgCgroupEgress = "moat_cg_egress";    // "cgroup_skb/egress"

// ---- Reserved identities (numbering follows Cilium's reserved identities) ----
inline constexpr uint32_t kIdentityAny = 0;  // policy key wildcard: "every remote identity"
inline constexpr uint32_t kIdentityHost = 1;
inline constexpr uint32_t kIdentityWorld = 2;  // an address no ipcache prefix covers
inline constexpr uint32_t kIdentityRemoteNode = 6;
inline constexpr uint32_t kIdentityKubeApiserver = 7;
inline constexpr uint32_t kFirstWorkloadIdentity = 256;
/// CIDR classes and known external endpoints live in Cilium's "local identity" scope.
inline constexpr uint32_t kFirstExternalIdentity = 1u << 24;

// ---- Verdict actions in PolicyValue::action ----
inline constexpr uint8_t kActionAllow = 1;
inline constexpr uint8_t kActionDeny = 2;
/// No rule decided (an AdminNetworkPolicy Pass, or a baseline rule on an isolated pod, and
/// nothing else matched): the isolation flag decides, as when no entry exists. It stops the
/// (local, ANY) lookup, whose entries were computed without this cell's specific rules.
inline constexpr uint8_t kActionIsolation = 3;

// ---- Counter slots and drop reasons that are not a policy rule ----
// Rule ids index the counters directly; these special slots follow the last rule:
// counter index = rule_count + special.
enum Special : uint32_t {
  kSpecialDefaultDeny = 0,   // isolated and no allow matched
  kSpecialDefaultAllow = 1,  // not isolated, no rule matched
  kSpecialImplicit = 2,      // self traffic, host to a local workload, IPv6 neighbour discovery
  kSpecialEstablished = 3,   // conntrack hit (later packet or reply of an allowed flow)
  kSpecialUnknownLocal = 4,  // the local endpoint is not in moat_endpoints: fail closed
  kSpecialMalformed = 5,     // truncated or malformed header, too many IPv6 extension headers
  kSpecialFragment = 6,      // non-first fragment whose first fragment was never seen
  kSpecialNonIp = 7,         // not IPv4/IPv6 (ARP, LLDP...): passed, policy covers IP only
  kSpecialSpoofed = 8,       // sent with a source address that is not the local endpoint's
  kSpecialCount = 9,
};
/// Rule ids >= this value name a special slot: rule = kSpecialRuleBase + Special.
inline constexpr uint32_t kSpecialRuleBase = 0xFFFFFF00u;

// ---- Endpoint map ----
inline constexpr uint32_t kEndpointKindIfindex = 1;  // tc programs: skb->ifindex
inline constexpr uint32_t kEndpointKindCgroup = 2;   // cgroup_skb programs: bpf_skb_cgroup_id()
struct EndpointKey {
  uint32_t kind;
  uint32_t pad;
  uint64_t id;
};
inline constexpr uint32_t kFlagIsolatedIngress = 1u << 0;
inline constexpr uint32_t kFlagIsolatedEgress = 1u << 1;
/// Addresses an endpoint may send from (DATAPATH.md, "Source addresses"); Kubernetes gives a
/// pod at most one per family, so four leave room without making the value large.
inline constexpr uint32_t kMaxEndpointAddrs = 4;
struct EndpointValue {
  uint32_t identity;
  uint32_t flags;             // kFlagIsolated*
  uint32_t isolation[2];      // [dir]: index of one isolation fact that isolates it (for events)
  /// This endpoint in conntrack keys (FlowTuple::local): an entry made at one endpoint
  /// never answers for another. Unique per attachment, stable while it exists (the loader
  /// uses the attachment's own key: kind << 56 | ifindex or cgroup id), so entries carried
  /// over to a new generation still find their endpoint.
  uint64_t conntrack_id;
  uint8_t addr_count;                     // addrs[0, addr_count) are used
  uint8_t addr_family[kMaxEndpointAddrs];  // kFamilyV4 / kFamilyV6 per slot
  uint8_t pad[3];
  uint8_t addrs[kMaxEndpointAddrs][16];   // IPv4 in the first 4 bytes, the rest zero
};

// ---- ipcache ----
inline constexpr uint8_t kFamilyV4 = 4;
inline constexpr uint8_t kFamilyV6 = 6;
/// LPM key: the family (and three zero bytes, to align the address) is part of the
/// prefix, so v4 and v6 never cover each other. prefixlen = 32 + address prefix length.
/// IPv4 addresses use addr[0..3]. moat_hosts uses the same key with the full length.
struct IpcacheKey {
  uint32_t prefixlen;
  uint8_t family;
  uint8_t pad[3];
  uint8_t addr[16];
};
inline constexpr uint32_t kIpcacheFamilyBits = 32;
/// Set in a moat_hosts value (identity | kIdentityZombie): an FQDN-learned address whose
/// names all expired, kept only for the connections still using it. A conntrack entry judged
/// again honours the identity in the other bits; a new flow ignores the entry (the address
/// is then judged by the ipcache prefixes, or as WORLD): new connections need a live answer.
/// Identities never reach this bit (external ones count up from kFirstExternalIdentity).
inline constexpr uint32_t kIdentityZombie = 1u << 31;
/// Set in a moat_hosts value (identity | kIdentityNodeHost): an address of this node's host.
/// Ingress from it passes (the node reaches its pods) whatever its identity — which is HOST,
/// or a per-address identity when a `networks` peer (Peer::cidr_any_address) covers it.
inline constexpr uint32_t kIdentityNodeHost = 1u << 30;
/// The identity bits of a moat_hosts value.
inline constexpr uint32_t kIdentityMask = ~(kIdentityZombie | kIdentityNodeHost);

// ---- Policy ----
/// LPM key, bits in order: local(32) remote(32) dir(8) proto(8) port(16, network order).
/// prefixlen 72: every protocol and port; 80: one protocol, every port; 96: one port.
/// Entries of one port (96) live in the moat_policy_exact hash (same key, prefixlen 96),
/// the others in the moat_policy LPM trie: the exact hit is the longest match anyway.
struct PolicyKey {
  uint32_t prefixlen;
  uint32_t local;
  uint32_t remote;
  uint8_t dir;    // 0 ingress, 1 egress (moat::Direction)
  uint8_t proto;  // IP protocol number
  uint8_t port[2];  // network order; ICMP: {0, type}
};
inline constexpr uint32_t kPolicyFixedBits = 72;
inline constexpr uint32_t kPolicyFullBits = 96;
struct PolicyValue {
  uint32_t rule;   // IR rule id (or kSpecialRuleBase + special)
  uint8_t action;  // kActionAllow / kActionDeny / kActionIsolation
  uint8_t pad[3];
};

// ---- Conntrack and fragments ----
/// One flow as the packet shows it, plus the direction of the hook that saw it and the
/// local endpoint it was seen at. A reply is found by swapping addresses and ports and
/// flipping the direction, at the same local endpoint.
struct FlowTuple {
  uint8_t saddr[16];
  uint8_t daddr[16];
  uint8_t sport[2];  // network order; ICMP echo: the identifier
  uint8_t dport[2];  // network order; ICMP: {0, type} (echo replies: the request type)
  uint8_t proto;
  uint8_t family;
  uint8_t dir;
  uint8_t pad;
  uint64_t local;  // EndpointValue::conntrack_id of the endpoint the hook belongs to
};
struct ConntrackValue {
  uint32_t rule;   // the rule that allowed the flow (at its first packet or last revalidation)
  uint32_t epoch;  // kGlobalEpoch when it was allowed; 0 in entries of older moat versions
};
struct FragmentKey {
  uint8_t saddr[16];
  uint8_t daddr[16];
  uint32_t id;  // IPv4: 16-bit id; IPv6: fragment header id (network order, as is)
  uint8_t proto;
  uint8_t family;
  uint8_t pad[2];
};
struct FragmentValue {
  uint8_t sport[2];
  uint8_t dport[2];
  uint32_t pad;
};

// ---- Counters and events ----
struct CounterValue {
  uint64_t packets;
  uint64_t bytes;
};
/// One record in moat_events per dropped packet (the flow log).
struct DropEvent {
  uint64_t timestamp_ns;  // bpf_ktime_get_ns()
  uint32_t rule;          // rule id or kSpecialRuleBase + special
  uint32_t local;         // local identity (0 when unknown)
  uint32_t remote;        // remote identity (0 when not looked up)
  uint32_t isolation;     // kSpecialDefaultDeny: the isolation fact's index
  uint8_t dir;
  uint8_t family;
  uint8_t proto;
  uint8_t reason;  // kDropReason*
  uint16_t sport;  // host order
  uint16_t dport;  // host order (ICMP: type)
  uint8_t saddr[16];
  uint8_t daddr[16];
};
/// DropEvent::reason. `rule` names the deciding rule either way.
inline constexpr uint8_t kDropReasonVerdict = 0;  // the packet's own verdict (new flow, malformed, ...)
/// A conntrack entry allowed under an earlier epoch, judged again and denied by the current
/// policy: the connection was revoked by a policy or inventory change (entry deleted).
inline constexpr uint8_t kDropReasonRevoked = 1;
/// Sent with a source address that is not one of the local endpoint's (rule =
/// kSpecialRuleBase + kSpecialSpoofed).
inline constexpr uint8_t kDropReasonSpoofed = 2;

inline constexpr uint32_t kRingbufBytes = 256 * 1024;

static_assert(sizeof(EndpointKey) == 16);
static_assert(sizeof(EndpointValue) == 96);
static_assert(sizeof(IpcacheKey) == 24);
static_assert(sizeof(PolicyKey) == 16);
static_assert(sizeof(PolicyValue) == 8);
static_assert(sizeof(FlowTuple) == 48);
static_assert(sizeof(ConntrackValue) == 8);
static_assert(sizeof(FragmentKey) == 40);
static_assert(sizeof(FragmentValue) == 8);
static_assert(sizeof(CounterValue) == 16);
static_assert(sizeof(DropEvent) == 64);

} // namespace moat::abi
