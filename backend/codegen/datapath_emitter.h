// DatapathEmitter: writes the moat datapath into a BpfBuilder — the maps of
// backend/bundle/datapath_abi.h, one always-inline policy core shared by the four programs
// (tc ingress/egress, cgroup_skb ingress/egress), and those programs.
//
// The core is `i32 moat_policy_core(ctx, attach, dir)` (attach 0 = tc, 1 = cgroup_skb;
// dir 0 = ingress, 1 = egress; returns 1 pass, 0 drop). Each program calls it with
// constants, so after inlining every attach/direction test folds away. Its two halves live
// in two files: parse_packet.cpp (headers -> FlowTuple) and policy_core.cpp (tuple ->
// verdict: endpoint, conntrack, ipcache, policy lookups, counters, events).
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
//  - unknown local endpoint (ifindex / cgroup id not in moat_endpoints): drop (fail closed).
#pragma once
#include <llvm/IR/IRBuilder.h>

#include "backend/bundle/plan.h"
#include "backend/codegen/bpf_builder.h"

namespace moat::codegen {

inline constexpr int kMaxExtHeaders = 6;

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

  // ---- small IR helpers (policy_core.cpp) ----
  llvm::BasicBlock* block(const char* name);
  llvm::Value* at(llvm::Value* base, uint64_t offset);
  llvm::Value* at(llvm::Value* base, llvm::Value* offset);
  llvm::Value* load(llvm::Type* t, llvm::Value* base, uint64_t offset, unsigned align);
  void store(llvm::Value* v, llvm::Value* base, uint64_t offset, unsigned align);
  /// if (p + n > data_end) goto fail;
  void need(llvm::Value* p, uint64_t n, llvm::BasicBlock* fail);
  /// Jumps to `target` after recording `special` as the deciding rule.
  void decide_special(uint32_t special, llvm::BasicBlock* target);
  llvm::Value* map_lookup(llvm::GlobalVariable* map, llvm::Value* key);
  void map_update(llvm::GlobalVariable* map, llvm::Value* key, llvm::Value* value);
  void copy(llvm::Value* dst, uint64_t dst_off, llvm::Value* src, uint64_t src_off, unsigned words);
  /// A plan flag of the current direction: a constant, or select(dir == egress, e, i).
  llvm::Value* dir_flag(bool bundle::DirectionPlan::*field);
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
  // the core function and its state
  llvm::Function* core_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  llvm::Value *ctx_ = nullptr, *attach_ = nullptr, *dir_ = nullptr;
  llvm::Value *data_ = nullptr, *data_end_ = nullptr;
  llvm::Value *tuple_ = nullptr;       // abi::FlowTuple
  llvm::Value *rule_ = nullptr;        // i32: deciding rule id or special
  llvm::Value *local_ = nullptr, *remote_ = nullptr, *isolation_ = nullptr;  // i32, for events
  llvm::Value *tcp_flags_ = nullptr;   // i8
  llvm::Value *first_frag_ = nullptr;  // i8: this packet is a first fragment
  llvm::Value *hop_limit_ = nullptr;   // i8: the IPv6 hop limit (0 for IPv4)
  llvm::Value *frag_id_ = nullptr;     // i32
  llvm::Value *echo_reply_ = nullptr;  // i8: ICMP(v6) echo reply
  llvm::Value *frag_key_ = nullptr, *frag_value_ = nullptr;  // abi::Fragment{Key,Value}
  // blocks
  llvm::BasicBlock *malformed_ = nullptr, *non_ip_ = nullptr, *policy_ = nullptr;
  llvm::BasicBlock *later_fragment_ = nullptr;  // tuple_ has addresses + proto, no ports
  llvm::BasicBlock *pass_ = nullptr, *drop_ = nullptr;  // rule_ set; count, event, return
};

} // namespace moat::codegen
