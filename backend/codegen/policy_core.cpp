// The deciding half of the policy core, and the programs around it. From a filled
// FlowTuple: local endpoint (fail closed), spoofed sources and self traffic
// (source_check.cpp), conntrack keyed by the local endpoint (conntrack.cpp: a later packet
// or a reply of an allowed flow passes without a policy lookup while the policy epoch is
// unchanged), the policy verdict (judge.cpp), the conntrack record of an allowed new flow,
// counters and drop events. Per-packet work is fixed: it never depends on
// the number of rules, only on the plan (which lookups exist at all).
#include <cstddef>

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "backend/bundle/datapath_abi.h"
#include "backend/codegen/datapath_emitter.h"

namespace moat::codegen {

using namespace llvm;

using namespace tuple_field;

namespace {
constexpr uint8_t kTcpSyn = 0x02, kTcpAck = 0x10;
} // namespace

// ---------------------------------------------------------------- helpers

BasicBlock* DatapathEmitter::block(const char* name) { return BasicBlock::Create(b_.ctx(), name, core_); }

Value* DatapathEmitter::at(Value* base, uint64_t offset) {
  return offset ? ir().CreateConstInBoundsGEP1_64(b_.i8(), base, offset) : base;
}
Value* DatapathEmitter::at(Value* base, Value* offset) { return ir().CreateGEP(b_.i8(), base, offset); }

Value* DatapathEmitter::load(Type* t, Value* base, uint64_t offset, unsigned align) {
  return ir().CreateAlignedLoad(t, at(base, offset), Align(align));
}

void DatapathEmitter::store(Value* v, Value* base, uint64_t offset, unsigned align) {
  ir().CreateAlignedStore(v, at(base, offset), Align(align));
}

Value* DatapathEmitter::reload(Type* t, Value* base, uint64_t offset, unsigned align) {
  return ir().CreateAlignedLoad(t, at(base, offset), Align(align), /*isVolatile=*/true);
}

void DatapathEmitter::need(Value* p, uint64_t n, BasicBlock* fail) {
  BasicBlock* ok = block("in_bounds");
  ir().CreateCondBr(ir().CreateICmpUGT(at(p, n), data_end_), fail, ok);
  ir().SetInsertPoint(ok);
}

void DatapathEmitter::decide_special(uint32_t special, BasicBlock* target) {
  ir().CreateStore(ir().getInt32(abi::kSpecialRuleBase + special), rule_);
  ir().CreateBr(target);
}

Value* DatapathEmitter::map_lookup(GlobalVariable* map, Value* key) {
  return b_.call_helper(BPF_FUNC_map_lookup_elem, b_.ptr(), {map, key});
}

void DatapathEmitter::map_update(GlobalVariable* map, Value* key, Value* value) {
  b_.call_helper(BPF_FUNC_map_update_elem, b_.i64(), {map, key, value, ir().getInt64(BPF_ANY)});
}

void DatapathEmitter::copy(Value* dst, uint64_t dst_off, Value* src, uint64_t src_off, unsigned words) {
  for (unsigned i = 0; i < words; ++i) store(load(b_.i32(), src, src_off + 4 * i, 4), dst, dst_off + 4 * i, 4);
}

Value* DatapathEmitter::stack(size_t size, const char* name) {
  // Every alloca goes to the entry block: BPF has no dynamic stack allocation.
  IRBuilder<> entry(entry_, entry_->getFirstInsertionPt());
  AllocaInst* a = entry.CreateAlloca(ArrayType::get(b_.i8(), size), nullptr, name);
  a->setAlignment(Align(8));
  return a;
}

Value* DatapathEmitter::is_egress() { return ir().CreateICmpEQ(dir_, ir().getInt32(1)); }

Value* DatapathEmitter::dir_flag(bool bundle::DirectionPlan::*field) { return dir_flag(field, is_egress()); }

Value* DatapathEmitter::dir_flag(bool bundle::DirectionPlan::*field, Value* egress) {
  bool in = plan_[Direction::Ingress].*field;
  bool eg = plan_[Direction::Egress].*field;
  if (in == eg) return ir().getInt1(in);
  return ir().CreateSelect(egress, ir().getInt1(eg), ir().getInt1(in));
}

// ---------------------------------------------------------------- maps

void DatapathEmitter::emit_maps() {
  uint32_t counters = plan_.rule_count + abi::kSpecialCount;
  hosts_ = b_.add_map({abi::kMapHosts, BPF_MAP_TYPE_HASH, sizeof(abi::IpcacheKey), sizeof(uint32_t),
                       plan_.max_ipcache, BPF_F_NO_PREALLOC});
  ipcache_ = b_.add_map({abi::kMapIpcache, BPF_MAP_TYPE_LPM_TRIE, sizeof(abi::IpcacheKey), sizeof(uint32_t),
                         plan_.max_ipcache, BPF_F_NO_PREALLOC});
  endpoints_ = b_.add_map({abi::kMapEndpoints, BPF_MAP_TYPE_HASH, sizeof(abi::EndpointKey),
                           sizeof(abi::EndpointValue), plan_.max_endpoints, 0});
  policy_exact_ = b_.add_map({abi::kMapPolicyExact, BPF_MAP_TYPE_HASH, sizeof(abi::PolicyKey),
                              sizeof(abi::PolicyValue), plan_.max_policy, BPF_F_NO_PREALLOC});
  policy_map_ = b_.add_map({abi::kMapPolicy, BPF_MAP_TYPE_LPM_TRIE, sizeof(abi::PolicyKey),
                            sizeof(abi::PolicyValue), plan_.max_policy, BPF_F_NO_PREALLOC});
  conntrack_ = b_.add_map({abi::kMapConntrack, BPF_MAP_TYPE_LRU_HASH, sizeof(abi::FlowTuple),
                           sizeof(abi::ConntrackValue), plan_.max_conntrack, 0});
  frags_ = b_.add_map({abi::kMapFragments, BPF_MAP_TYPE_LRU_HASH, sizeof(abi::FragmentKey),
                       sizeof(abi::FragmentValue), plan_.max_fragments, 0});
  counters_ = b_.add_map({abi::kMapCounters, BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(uint32_t),
                          sizeof(abi::CounterValue), counters, 0});
  events_ = b_.add_map({abi::kMapEvents, BPF_MAP_TYPE_RINGBUF, 0, 0, abi::kRingbufBytes, 0});
  // A global rather than a one-entry array map: the established path reads it with one load
  // (measured in backend/DATAPATH.md, "The policy epoch").
  epoch_ = b_.add_global_u32(abi::kGlobalEpoch);
}

// ---------------------------------------------------------------- core

void DatapathEmitter::emit_core() {
  core_ = b_.begin_function("moat_policy_core", "", 2, 100);
  IRBuilder<>& b = ir();
  ctx_ = core_->getArg(0);
  attach_ = core_->getArg(1);
  dir_ = core_->getArg(2);

  entry_ = b.GetInsertBlock();
  tuple_ = stack(sizeof(abi::FlowTuple), "tuple");
  frag_key_ = stack(sizeof(abi::FragmentKey), "frag_key");
  frag_value_ = stack(sizeof(abi::FragmentValue), "frag_value");
  rule_ = stack(4, "rule");
  tcp_flags_ = stack(1, "tcp_flags");
  first_frag_ = stack(1, "first_frag");
  frag_id_ = stack(4, "frag_id");
  echo_reply_ = stack(1, "echo_reply");
  // What only a drop event reads (local and remote identity, isolation fact, reason) is
  // written straight into the event, a buffer in memory: kept in SSA values, LLVM held them
  // in callee-saved registers on every path (they are live across every helper call up to
  // the drop), and spilled the context and endpoint pointers instead.
  event_ = stack(sizeof(abi::DropEvent), "drop_event");
  local_ = at(event_, offsetof(abi::DropEvent, local));
  remote_ = at(event_, offsetof(abi::DropEvent, remote));
  isolation_ = at(event_, offsetof(abi::DropEvent, isolation));
  reason_ = at(event_, offsetof(abi::DropEvent, reason));
  // Hash keys must have zeroed padding; every other slot starts at a defined value. The
  // fragment key and value are written whole where fragments are handled (parse_packet.cpp),
  // not here: zeroing them on every packet cost the established path six stores.
  b.CreateMemSet(tuple_, b.getInt8(0), sizeof(abi::FlowTuple), MaybeAlign(8));
  for (Value* v : {rule_, local_, remote_, isolation_, frag_id_}) b.CreateStore(b.getInt32(0), v);
  for (Value* v : {tcp_flags_, first_frag_, echo_reply_}) b.CreateStore(b.getInt8(0), v);
  b.CreateStore(b.getInt8(abi::kDropReasonVerdict), reason_);

  malformed_ = block("malformed");
  non_ip_ = block("non_ip");
  later_fragment_ = block("later_fragment");
  policy_ = block("policy");
  pass_ = block("pass");
  drop_ = block("drop");

  emit_parse();

  b.SetInsertPoint(malformed_);
  decide_special(abi::kSpecialMalformed, drop_);
  b.SetInsertPoint(non_ip_);
  decide_special(abi::kSpecialNonIp, pass_);

  emit_policy();
  emit_finish();
}

void DatapathEmitter::emit_policy() {
  IRBuilder<>& b = ir();
  b.SetInsertPoint(policy_);

  // The local endpoint: ifindex for tc, the socket's cgroup for cgroup_skb.
  BasicBlock* key_tc = block("local_key_tc");
  BasicBlock* key_cg = block("local_key_cgroup");
  BasicBlock* key_done = block("local_key");
  b.CreateCondBr(b.CreateICmpEQ(attach_, b.getInt32(0)), key_tc, key_cg);
  b.SetInsertPoint(key_tc);
  Value* ifindex = b.CreateZExt(load(b_.i32(), ctx_, offsetof(__sk_buff, ifindex), 4), b_.i64());
  b.CreateBr(key_done);
  b.SetInsertPoint(key_cg);
  Value* cgroup = b_.call_helper(BPF_FUNC_skb_cgroup_id, b_.i64(), {ctx_});
  BasicBlock* key_cg_end = b.GetInsertBlock();
  b.CreateBr(key_done);
  b.SetInsertPoint(key_done);
  PHINode* id = b.CreatePHI(b_.i64(), 2, "local_id");
  id->addIncoming(ifindex, key_tc);
  id->addIncoming(cgroup, key_cg_end);
  Value* kind = b.CreateSelect(b.CreateICmpEQ(attach_, b.getInt32(0)), b.getInt32(abi::kEndpointKindIfindex),
                               b.getInt32(abi::kEndpointKindCgroup));
  Value* ep_key = stack(sizeof(abi::EndpointKey), "ep_key");
  store(kind, ep_key, offsetof(abi::EndpointKey, kind), 4);
  store(b.getInt32(0), ep_key, offsetof(abi::EndpointKey, pad), 4);
  store(id, ep_key, offsetof(abi::EndpointKey, id), 8);
  Value* ep = map_lookup(endpoints_, ep_key);
  BasicBlock* unknown_local = block("unknown_local");
  BasicBlock* known_local = block("known_local");
  b.CreateCondBr(b.CreateIsNull(ep), unknown_local, known_local);
  b.SetInsertPoint(unknown_local);
  decide_special(abi::kSpecialUnknownLocal, drop_);

  b.SetInsertPoint(known_local);
  ep_ = ep;
  // The identity and flags are read from the map value where they are used (judge.cpp), not
  // kept from here: held across the conntrack lookups they were spilled on every packet.
  b.CreateStore(load(b_.i32(), ep, offsetof(abi::EndpointValue, identity), 4), local_);

  // Conntrack entries belong to the endpoint whose hook made them.
  store(load(b_.i64(), ep, offsetof(abi::EndpointValue, conntrack_id), 8), tuple_, kLocal, 8);

  // Spoofed sources drop; self traffic (to or from one of its own addresses) always passes.
  BasicBlock* self = block("self");
  BasicBlock* not_self = block("not_self");
  emit_source_check(self, not_self);
  b.SetInsertPoint(self);
  decide_special(abi::kSpecialImplicit, pass_);

  BasicBlock* allow = block("allow");      // rule_ set; record in conntrack, pass
  BasicBlock* deny = block("deny");        // rule_ set; drop
  BasicBlock* conntrack = block("conntrack");
  BasicBlock* disabled = block("direction_without_policy");
  BasicBlock* new_flow = block("new_flow");
  b.SetInsertPoint(not_self);
  store(b.CreateTrunc(dir_, b_.i8()), tuple_, kDir, 1);
  b.CreateCondBr(dir_flag(&bundle::DirectionPlan::enabled), conntrack, disabled);
  b.SetInsertPoint(disabled);
  decide_special(abi::kSpecialDefaultAllow, allow);

  emit_conntrack(conntrack, new_flow);
  b.SetInsertPoint(new_flow);
  emit_judge(tuple_, /*reply=*/false, /*new_flow=*/true, allow, deny);

  b.SetInsertPoint(deny);
  b.CreateBr(drop_);

  // Allowed: record the flow when it opens a connection (TCP SYN without ACK; any packet of
  // the other protocols), so that its later packets and replies skip the policy.
  b.SetInsertPoint(allow);
  BasicBlock* track = block("ct_record");
  BasicBlock* tracked = block("ct_record_maybe");
  b.CreateCondBr(dir_flag(&bundle::DirectionPlan::ct_write), tracked, pass_);
  b.SetInsertPoint(tracked);
  Value* tcp = b.CreateICmpEQ(load(b_.i8(), tuple_, kProto, 1), b.getInt8(6));
  Value* syn = b.CreateICmpEQ(b.CreateAnd(load(b_.i8(), tcp_flags_, 0, 1), kTcpSyn | kTcpAck), b.getInt8(kTcpSyn));
  b.CreateCondBr(b.CreateOr(b.CreateNot(tcp), syn), track, pass_);
  b.SetInsertPoint(track);
  Value* ct_value = stack(sizeof(abi::ConntrackValue), "ct_value");
  store(b.CreateLoad(b_.i32(), rule_), ct_value, offsetof(abi::ConntrackValue, rule), 4);
  store(b.CreateLoad(b_.i32(), epoch_), ct_value, offsetof(abi::ConntrackValue, epoch), 4);
  map_update(conntrack_, tuple_, ct_value);
  b.CreateBr(pass_);
}

void DatapathEmitter::emit_finish() {
  IRBuilder<>& b = ir();
  // Counters (both verdicts): slot = rule id, or rule_count + special.
  auto count = [&](BasicBlock* bb, BasicBlock* next) {
    b.SetInsertPoint(bb);
    Value* rule = b.CreateLoad(b_.i32(), rule_);
    Value* special = b.CreateICmpUGE(rule, b.getInt32(abi::kSpecialRuleBase));
    Value* slot = b.CreateSelect(special, b.CreateAdd(b.CreateSub(rule, b.getInt32(abi::kSpecialRuleBase)),
                                                      b.getInt32(plan_.rule_count)),
                                 rule);
    Value* key = stack(sizeof(uint32_t), "counter_key");
    b.CreateStore(slot, key);
    Value* c = map_lookup(counters_, key);
    BasicBlock* add = block("count");
    b.CreateCondBr(b.CreateIsNull(c), next, add);
    b.SetInsertPoint(add);
    Value* packets = load(b_.i64(), c, offsetof(abi::CounterValue, packets), 8);
    store(b.CreateAdd(packets, b.getInt64(1)), c, offsetof(abi::CounterValue, packets), 8);
    Value* len = b.CreateZExt(load(b_.i32(), ctx_, offsetof(__sk_buff, len), 4), b_.i64());
    Value* bytes = load(b_.i64(), c, offsetof(abi::CounterValue, bytes), 8);
    store(b.CreateAdd(bytes, len), c, offsetof(abi::CounterValue, bytes), 8);
    b.CreateBr(next);
  };

  BasicBlock* ret_pass = block("return_pass");
  BasicBlock* event = block("event");
  count(pass_, ret_pass);
  count(drop_, event);
  b.SetInsertPoint(ret_pass);
  b.CreateRet(b.getInt32(1));

  // The flow log: one DropEvent per dropped packet (lost silently when the ring is full).
  b.SetInsertPoint(event);
  // local, remote, isolation and reason are in the event already.
  Value* ev = event_;
  store(b_.call_helper(BPF_FUNC_ktime_get_ns, b_.i64(), {}), ev, offsetof(abi::DropEvent, timestamp_ns), 8);
  store(b.CreateLoad(b_.i32(), rule_), ev, offsetof(abi::DropEvent, rule), 4);
  store(b.CreateTrunc(dir_, b_.i8()), ev, offsetof(abi::DropEvent, dir), 1);
  store(load(b_.i8(), tuple_, kFamily, 1), ev, offsetof(abi::DropEvent, family), 1);
  store(load(b_.i8(), tuple_, kProto, 1), ev, offsetof(abi::DropEvent, proto), 1);
  auto host_order = [&](uint64_t off) { return b.CreateUnaryIntrinsic(Intrinsic::bswap, load(b_.i16(), tuple_, off, 2)); };
  store(host_order(kPorts), ev, offsetof(abi::DropEvent, sport), 2);
  store(host_order(kDport), ev, offsetof(abi::DropEvent, dport), 2);
  copy(ev, offsetof(abi::DropEvent, saddr), tuple_, kSaddr, 8);
  b_.call_helper(BPF_FUNC_ringbuf_output, b_.i64(),
                 {events_, ev, b.getInt64(sizeof(abi::DropEvent)), b.getInt64(0)});
  b.CreateRet(b.getInt32(0));
}

// ---------------------------------------------------------------- programs

void DatapathEmitter::emit_programs() {
  struct Prog {
    const char* name;
    const char* section;
    int attach, dir;
  };
  const Prog progs[] = {
      {abi::kProgTcIngress, "tc", 0, 0},
      {abi::kProgTcEgress, "tc", 0, 1},
      {abi::kProgCgroupIngress, "cgroup_skb/ingress", 1, 0},
      {abi::kProgCgroupEgress, "cgroup_skb/egress", 1, 1},
  };
  unsigned line = 10;
  for (const Prog& p : progs) {
    Function* f = b_.begin_function(p.name, p.section, 0, line++);
    IRBuilder<>& b = ir();
    Value* pass = b.CreateCall(core_, {f->getArg(0), b.getInt32(p.attach), b.getInt32(p.dir)});
    Value* ok = b.CreateICmpNE(pass, b.getInt32(0));
    if (p.attach == 0)
      b.CreateRet(b.CreateSelect(ok, b.getInt32(TC_ACT_OK), b.getInt32(TC_ACT_SHOT)));
    else
      b.CreateRet(b.CreateZExt(ok, b_.i32()));  // cgroup_skb: 1 allow, 0 drop
  }
}

void DatapathEmitter::emit() {
  emit_maps();
  b_.add_license("Dual BSD/GPL");
  emit_core();
  emit_programs();
}

} // namespace moat::codegen
