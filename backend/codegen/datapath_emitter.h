// DatapathEmitter: writes the moat datapath into a BpfBuilder — the maps of
// backend/bundle/datapath_abi.h, one always-inline policy core shared by the four programs
// (tc ingress/egress, cgroup_skb ingress/egress), and those programs.
//
// The core is `i32 moat_policy_core(ctx, attach, dir)` (attach 0 = tc, 1 = cgroup_skb;
// dir 0 = ingress, 1 = egress; returns 1 pass, 0 drop). Each program calls it with
// constants, so after inlining every attach/direction test folds away. Its two halves live
// in five files: parse_packet.cpp (headers -> FlowTuple), policy_core.cpp (tuple -> verdict:
// endpoint, conntrack record, counters, events), source_check.cpp (spoofed sources, self
// traffic), conntrack.cpp (conntrack hits and their revalidation after a policy change) and
// judge.cpp (ipcache and policy lookups).
//
// Documented verdicts (also in backend/DATAPATH.md):
//  - non-IP frames (ARP, ...) pass: policy is about IP traffic;
//  - IPv6 neighbour discovery (ICMPv6 133..137 with hop limit 255) passes before any lookup
//    (kSpecialImplicit; never in conntrack): it is IPv6's ARP, always allowed
//    (ir/interp.cpp implicitly_allowed); with another hop limit it is judged by policy;
//  - truncated or malformed IPv4/IPv6/TCP/UDP/SCTP/ICMP headers drop (kSpecialMalformed),
//    as does an IPv6 packet with more than kMaxExtHeaders extension headers;
//  - a first fragment is parsed normally and its ports are remembered (moat_frags, keyed by
//    addresses, protocol and fragment id); a later fragment takes those ports and gets the
//    same verdict; a later fragment whose first fragment was never seen drops
//    (kSpecialFragment);
//  - protocols other than TCP/UDP/SCTP/ICMP/ICMPv6 are looked up with port 0: only rules
//    without ports match them;
//  - unknown local endpoint (ifindex / cgroup id not in moat_endpoints): drop (fail closed);
//  - egress with a source address that is not the local endpoint's (nor IPv6 link-local,
//    nor loopback on cgroup_skb): drop (kSpecialSpoofed), whatever the policy;
//  - self traffic (the remote address is one of the local endpoint's own): pass;
//  - conntrack entries are keyed by the local endpoint too: one endpoint's entry never
//    admits a packet at another;
//  - a conntrack hit recorded under an older policy epoch is judged again by the current
//    maps: still allowed -> pass and refresh, denied -> drop (reason revoked), entry deleted.
#pragma once
#include <cstddef>

#include <llvm/IR/IRBuilder.h>

#include "backend/bundle/datapath_abi.h"
#include "backend/bundle/plan.h"
#include "backend/codegen/bpf_builder.h"

namespace moat::codegen {

inline constexpr int kMaxExtHeaders = 6;

/// Byte offsets of abi::FlowTuple's fields: the emitter addresses tuples on the stack by offset.
namespace tuple_field {
inline constexpr uint64_t kSaddr = offsetof(abi::FlowTuple, saddr);
inline constexpr uint64_t kDaddr = offsetof(abi::FlowTuple, daddr);
inline constexpr uint64_t kPorts = offsetof(abi::FlowTuple, sport);  // sport then dport: one u32
inline constexpr uint64_t kDport = offsetof(abi::FlowTuple, dport);
inline constexpr uint64_t kProto = offsetof(abi::FlowTuple, proto);
inline constexpr uint64_t kFamily = offsetof(abi::FlowTuple, family);
inline constexpr uint64_t kDir = offsetof(abi::FlowTuple, dir);
inline constexpr uint64_t kLocal = offsetof(abi::FlowTuple, local);
} // namespace tuple_field

class DatapathEmitter {
public:
  DatapathEmitter(BpfBuilder& b, const bundle::DatapathPlan& plan) : b_(b), plan_(plan) {}
  /// Emits maps, license, the core and the four programs.
  void emit();

private:
  // ---- parse_packet.cpp ----
  /// From the core's entry to `policy_` (tuple filled) or to the malformed / non-IP / fragment
  /// exits.
  void emit_parse();
  void emit_ipv4(llvm::Value* ip, llvm::BasicBlock* l4_dispatch, llvm::PHINode* l4_ptr,
                 llvm::PHINode* l4_proto);
  void emit_ipv6(llvm::Value* ip, llvm::BasicBlock* l4_dispatch, llvm::PHINode* l4_ptr,
                 llvm::PHINode* l4_proto);
  void emit_l4(llvm::BasicBlock* l4_dispatch, llvm::PHINode* l4_ptr, llvm::PHINode* l4_proto);
  /// First fragments remember their ports, later ones take them; both then go to `parsed`.
  void emit_fragments(llvm::BasicBlock* l4_done, llvm::BasicBlock* parsed);
  /// From `parsed`: IPv6 neighbour discovery passes; everything else goes to `policy_`.
  void emit_neighbour_discovery(llvm::BasicBlock* parsed);

  // ---- policy_core.cpp ----
  void emit_maps();
  void emit_core();
  void emit_policy();
  void emit_finish();
  void emit_programs();

  // ---- source_check.cpp ----
  /// From the known local endpoint: on egress the source must be one of the endpoint's own
  /// addresses (or IPv6 link-local), else drop (kSpecialSpoofed, kDropReasonSpoofed). Then
  /// self traffic — the remote address (destination on egress, source on ingress) is one of
  /// the endpoint's own addresses — goes to `self`, the rest to `not_self`.
  void emit_source_check(llvm::BasicBlock* self, llvm::BasicBlock* not_self);
  /// i1: the tuple's address at `addr_off` is one of the endpoint's own: listed in its map
  /// value, or on a cgroup_skb hook a loopback address.
  llvm::Value* own_address(uint64_t addr_off);
  /// i1: the address at `addr_off` is in the endpoint map value's address list.
  llvm::Value* endpoint_has(uint64_t addr_off);
  /// i1: the address at `addr_off` is 127.0.0.0/8 or ::1.
  llvm::Value* is_loopback(uint64_t addr_off);

  // ---- conntrack.cpp ----
  /// From `conntrack` (an enforced direction, not self traffic): the flow in this direction,
  /// then the reverse flow in the other one (a reply). A hit whose epoch is the current one
  /// passes (kSpecialEstablished); an older one is judged again (emit_revalidate); a miss
  /// goes to `new_flow`.
  void emit_conntrack(llvm::BasicBlock* conntrack, llvm::BasicBlock* new_flow);
  /// `entry` (abi::ConntrackValue of key `key`) was allowed under another epoch. Newer than
  /// the current one: this generation is being replaced, pass. Older: judge the connection
  /// as its first packet was judged here (`reply`: the key is the reversed tuple, judged in
  /// the other direction); allowed -> the entry takes the current epoch, pass; denied ->
  /// the entry is deleted and the packet dropped with kDropReasonRevoked.
  void emit_revalidate(llvm::Value* entry, llvm::Value* key, bool reply, llvm::BasicBlock* established);

  // ---- judge.cpp ----
  /// The policy verdict for `key` (an abi::FlowTuple as the connection's first packet showed
  /// it at this attach point) in the hook's direction, or in the opposite one when `reply`:
  /// remote identity (ipcache), host -> local workload, (local, remote) then (local, ANY)
  /// policy lookups, the isolation fallback. Sets rule_ (and remote_, isolation_) and jumps
  /// to `allow` or `deny`. Emitted once per use, so the plan's per-direction flags fold.
  /// `new_flow`: the packet opens a flow (no conntrack entry), so a zombie hosts entry
  /// (abi::kIdentityZombie) counts as absent; a revalidation honours it.
  void emit_judge(llvm::Value* key, bool reply, bool new_flow, llvm::BasicBlock* allow, llvm::BasicBlock* deny);

  // ---- small IR helpers (policy_core.cpp) ----
  llvm::BasicBlock* block(const char* name);
  llvm::Value* at(llvm::Value* base, uint64_t offset);
  llvm::Value* at(llvm::Value* base, llvm::Value* offset);
  llvm::Value* load(llvm::Type* t, llvm::Value* base, uint64_t offset, unsigned align);
  void store(llvm::Value* v, llvm::Value* base, uint64_t offset, unsigned align);
  /// A load LLVM must perform (volatile) rather than replace by the value stored earlier:
  /// a forwarded value stays live in a register across branches and helper calls and is
  /// spilled to a second stack slot on every packet. For tuple fields read far from the parse.
  llvm::Value* reload(llvm::Type* t, llvm::Value* base, uint64_t offset, unsigned align);
  /// if (p + n > data_end) goto fail;
  void need(llvm::Value* p, uint64_t n, llvm::BasicBlock* fail);
  /// Jumps to `target` after recording `special` as the deciding rule.
  void decide_special(uint32_t special, llvm::BasicBlock* target);
  llvm::Value* map_lookup(llvm::GlobalVariable* map, llvm::Value* key);
  void map_update(llvm::GlobalVariable* map, llvm::Value* key, llvm::Value* value);
  void copy(llvm::Value* dst, uint64_t dst_off, llvm::Value* src, uint64_t src_off, unsigned words);
  /// A plan flag of the current direction: a constant, or select(dir == egress, e, i).
  llvm::Value* dir_flag(bool bundle::DirectionPlan::*field);
  /// The same for the direction whose "is egress" bit is `egress` (an i1).
  llvm::Value* dir_flag(bool bundle::DirectionPlan::*field, llvm::Value* egress);
  llvm::Value* is_egress();
  /// An 8-aligned stack buffer of `size` bytes, allocated in the core's entry block.
  llvm::Value* stack(size_t size, const char* name);

  BpfBuilder& b_;
  const bundle::DatapathPlan& plan_;
  llvm::IRBuilder<>& ir() { return b_.ir(); }

  // maps
  llvm::GlobalVariable *hosts_ = nullptr, *policy_exact_ = nullptr;
  llvm::GlobalVariable *ipcache_ = nullptr, *endpoints_ = nullptr, *policy_map_ = nullptr,
                       *conntrack_ = nullptr, *frags_ = nullptr, *counters_ = nullptr,
                       *events_ = nullptr;
  llvm::GlobalVariable* epoch_ = nullptr;  // abi::kGlobalEpoch (u32 in .bss)
  // the core function and its state
  llvm::Function* core_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  llvm::Value *ctx_ = nullptr, *attach_ = nullptr, *dir_ = nullptr;
  llvm::Value *data_ = nullptr, *data_end_ = nullptr;
  llvm::Value *tuple_ = nullptr;       // abi::FlowTuple
  llvm::Value *rule_ = nullptr;        // i32: deciding rule id or special
  llvm::Value *event_ = nullptr;       // abi::DropEvent, filled as the packet is judged
  llvm::Value *reason_ = nullptr;      // i8 in event_: abi::kDropReason*
  llvm::Value *ep_ = nullptr;          // the local endpoint's abi::EndpointValue (non-null)
  llvm::Value *local_ = nullptr, *remote_ = nullptr, *isolation_ = nullptr;  // i32 in event_
  llvm::Value *tcp_flags_ = nullptr;   // i8
  llvm::Value *first_frag_ = nullptr;  // i8: this packet is a first fragment
  llvm::Value *frag_id_ = nullptr;     // i32
  llvm::Value *echo_reply_ = nullptr;  // i8: ICMP(v6) echo reply
  llvm::Value *frag_key_ = nullptr, *frag_value_ = nullptr;  // abi::Fragment{Key,Value}
  // blocks
  llvm::BasicBlock *malformed_ = nullptr, *non_ip_ = nullptr, *policy_ = nullptr;
  llvm::BasicBlock *later_fragment_ = nullptr;  // tuple_ has addresses + proto, no ports
  llvm::BasicBlock *pass_ = nullptr, *drop_ = nullptr;  // rule_ set; count, event, return
};

} // namespace moat::codegen
