// Conntrack hits, and their revalidation after a policy change. An entry records the
// policy epoch (abi::kGlobalEpoch) under which its connection was allowed; while the epoch
// is unchanged a hit passes with one extra compare. After a generation swap or an in-place
// update the agent changes the epoch, and the next packet of every tracked connection is
// judged again with the current maps — exactly the lookup the connection's first packet got
// at this attach point — so that verdicts stay per connection under the *current* policy
// (the interpreter's semantics, ir/interp.cpp), not under the policy of the connection's start.
#include <linux/bpf.h>

#include <llvm/IR/MDBuilder.h>

#include "backend/codegen/datapath_emitter.h"

namespace moat::codegen {

using namespace llvm;
using namespace tuple_field;

void DatapathEmitter::emit_conntrack(BasicBlock* conntrack, BasicBlock* new_flow) {
  IRBuilder<>& b = ir();
  BasicBlock* established = block("established");
  BasicBlock* hit = block("ct_hit");
  BasicBlock* try_reply = block("ct_reply");
  BasicBlock* reply_hit = block("ct_reply_hit");
  BasicBlock* stale = block("ct_stale");
  BasicBlock* reply_stale = block("ct_reply_stale");
  auto current = [&](Value* entry) {
    Value* recorded = load(b_.i32(), entry, offsetof(abi::ConntrackValue, epoch), 4);
    return b.CreateICmpEQ(recorded, b.CreateLoad(b_.i32(), epoch_));
  };

  // This flow in this direction: a later packet of a connection that started here.
  b.SetInsertPoint(conntrack);
  Value* entry = map_lookup(conntrack_, tuple_);
  b.CreateCondBr(b.CreateIsNull(entry), try_reply, hit);
  b.SetInsertPoint(hit);
  b.CreateCondBr(current(entry), established, stale);

  // The reverse flow in the other direction: this packet is a reply of a connection allowed
  // there. The reversed tuple is that connection's first packet as this hook saw it.
  b.SetInsertPoint(try_reply);
  Value* rev = stack(sizeof(abi::FlowTuple), "reverse");
  copy(rev, kSaddr, tuple_, kDaddr, 4);
  copy(rev, kDaddr, tuple_, kSaddr, 4);
  Value* ports = load(b_.i32(), tuple_, kPorts, 4);  // sport | dport << 16
  // An echo reply's request had the same identifier and the request type; any other
  // packet's ports swap. A branch laid out of line (unlikely), so that other packets skip the
  // echo arithmetic and fall through.
  BasicBlock* echo = block("ct_reply_echo");
  BasicBlock* swap = block("ct_reply_swap");
  BasicBlock* ports_done = block("ct_reply_ports");
  b.CreateCondBr(b.CreateICmpNE(load(b_.i8(), echo_reply_, 0, 1), b.getInt8(0)), echo, swap,
                 MDBuilder(b_.ctx()).createUnlikelyBranchWeights());
  b.SetInsertPoint(echo);
  Value* v4 = b.CreateICmpEQ(load(b_.i8(), tuple_, kFamily, 1), b.getInt8(abi::kFamilyV4));
  Value* request_type = b.CreateSelect(v4, b.getInt32(8 << 8), b.getInt32(128 << 8));
  Value* echo_ports = b.CreateOr(b.CreateAnd(ports, 0xFFFF), b.CreateShl(request_type, 16));
  b.CreateBr(ports_done);
  b.SetInsertPoint(swap);
  Value* swapped = b.CreateOr(b.CreateLShr(ports, 16), b.CreateShl(ports, 16));
  b.CreateBr(ports_done);
  b.SetInsertPoint(ports_done);
  PHINode* rev_ports = b.CreatePHI(b_.i32(), 2, "reverse_ports");
  rev_ports->addIncoming(echo_ports, echo);
  rev_ports->addIncoming(swapped, swap);
  store(rev_ports, rev, kPorts, 4);
  store(load(b_.i8(), tuple_, kProto, 1), rev, kProto, 1);
  store(load(b_.i8(), tuple_, kFamily, 1), rev, kFamily, 1);
  store(b.CreateTrunc(b.CreateXor(dir_, b.getInt32(1)), b_.i8()), rev, kDir, 1);
  store(b.getInt8(0), rev, offsetof(abi::FlowTuple, pad), 1);
  // The same local endpoint: an entry another endpoint made never answers here.
  store(load(b_.i64(), tuple_, kLocal, 8), rev, kLocal, 8);
  Value* reply_entry = map_lookup(conntrack_, rev);
  b.CreateCondBr(b.CreateIsNull(reply_entry), new_flow, reply_hit);
  b.SetInsertPoint(reply_hit);
  b.CreateCondBr(current(reply_entry), established, reply_stale);

  b.SetInsertPoint(established);
  decide_special(abi::kSpecialEstablished, pass_);

  b.SetInsertPoint(stale);
  emit_revalidate(entry, tuple_, /*reply=*/false, established);
  b.SetInsertPoint(reply_stale);
  emit_revalidate(reply_entry, rev, /*reply=*/true, established);
}

void DatapathEmitter::emit_revalidate(Value* entry, Value* key, bool reply, BasicBlock* established) {
  IRBuilder<>& b = ir();
  Value* epoch = b.CreateLoad(b_.i32(), epoch_);
  Value* recorded = load(b_.i32(), entry, offsetof(abi::ConntrackValue, epoch), 4);
  // Serial-number order (RFC 1982), so the comparison survives the counter wrapping. A newer
  // entry was judged by the generation replacing this one (a packet still running the old
  // program during the slot switch): trust it rather than undo the newer verdict.
  Value* newer = b.CreateICmpSGT(b.CreateSub(recorded, epoch), b.getInt32(0));
  BasicBlock* judge = block(reply ? "revalidate_reply" : "revalidate");
  BasicBlock* still_allowed = block("revalidated");
  BasicBlock* revoked = block("revoked");
  b.CreateCondBr(newer, established, judge);
  b.SetInsertPoint(judge);
  emit_judge(key, reply, /*new_flow=*/false, still_allowed, revoked);

  // Still allowed: the entry takes the current epoch (and the rule that allows it now); the
  // packet counts as established, as it would have before the change.
  b.SetInsertPoint(still_allowed);
  store(b.CreateLoad(b_.i32(), rule_), entry, offsetof(abi::ConntrackValue, rule), 4);
  store(epoch, entry, offsetof(abi::ConntrackValue, epoch), 4);
  decide_special(abi::kSpecialEstablished, pass_);

  // Denied now: forget the connection (its later packets are judged as new flows: those in
  // the original direction are denied the same way, and a TCP segment without SYN is never
  // recorded again) and say why this one dropped. rule_ names the rule or isolation.
  b.SetInsertPoint(revoked);
  b_.call_helper(BPF_FUNC_map_delete_elem, b_.i64(), {conntrack_, key});
  b.CreateStore(b.getInt8(abi::kDropReasonRevoked), reason_);
  b.CreateBr(drop_);
}

} // namespace moat::codegen
