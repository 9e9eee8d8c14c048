// Which addresses are the local endpoint's own: the egress source check (a workload sends
// only from its own addresses; anything else is dropped as spoofed) and self traffic (the
// remote address of the packet is one of the local endpoint's own addresses: the workload
// talking to itself). One definition for both, read from the endpoint map value
// (abi::EndpointValue::addrs, filled from the inventory by backend/bundle/map_contents.cpp).
#include <cstddef>
#include <utility>
#include <vector>

#include "backend/bundle/datapath_abi.h"
#include "backend/codegen/datapath_emitter.h"

namespace moat::codegen {

using namespace llvm;
using namespace tuple_field;

Value* DatapathEmitter::endpoint_has(uint64_t addr_off) {
  IRBuilder<>& b = ir();
  // The family once; then the used slots in order, leaving at the first match or the first
  // unused slot (a pod with one address per family pays one or two compares). Within a slot
  // the family and then each address word is compared with a branch, so a mismatch (the
  // common case of the self test) leaves after one or two compares. Each compare re-reads
  // the tuple's word (reload): words loaded once up front stay live across the slot branches
  // and cost spill stores on every packet.
  Value* family = load(b_.i8(), tuple_, kFamily, 1);
  Value* count = load(b_.i8(), ep_, offsetof(abi::EndpointValue, addr_count), 1);
  BasicBlock* done = block("own_addr_done");
  std::vector<std::pair<BasicBlock*, Value*>> incoming;  // (predecessor of done, result)
  auto branch = [&](Value* equal, BasicBlock* then, BasicBlock* otherwise) {
    if (then == done && otherwise == done) {  // the last word of the last slot decides
      incoming.emplace_back(b.GetInsertBlock(), equal);
      b.CreateBr(done);
      return;
    }
    for (BasicBlock* target : {then, otherwise})
      if (target == done) incoming.emplace_back(b.GetInsertBlock(), b.getInt1(target == then));
    b.CreateCondBr(equal, then, otherwise);
  };
  for (unsigned slot = 0; slot < abi::kMaxEndpointAddrs; ++slot) {
    BasicBlock* compare = block("own_addr_slot");
    BasicBlock* next = slot + 1 == abi::kMaxEndpointAddrs ? done : block("own_addr_next");
    incoming.emplace_back(b.GetInsertBlock(), b.getFalse());
    b.CreateCondBr(b.CreateICmpUGT(count, b.getInt8(slot)), compare, done);
    b.SetInsertPoint(compare);
    uint64_t base = offsetof(abi::EndpointValue, addrs) + 16 * slot;
    BasicBlock* word_block = block("own_addr_word");
    branch(b.CreateICmpEQ(load(b_.i8(), ep_, offsetof(abi::EndpointValue, addr_family) + slot, 1), family),
           word_block, next);
    for (unsigned w = 0; w < 4; ++w) {
      b.SetInsertPoint(word_block);
      word_block = w + 1 == 4 ? done : block("own_addr_word");
      Value* word = reload(b_.i32(), tuple_, addr_off + 4 * w, 4);
      branch(b.CreateICmpEQ(load(b_.i32(), ep_, base + 4 * w, 4), word), word_block, next);
    }
    if (next != done) b.SetInsertPoint(next);
  }
  b.SetInsertPoint(done);
  PHINode* own = b.CreatePHI(b.getInt1Ty(), static_cast<unsigned>(incoming.size()), "own_addr");
  for (auto& [pred, v] : incoming) own->addIncoming(v, pred);
  return own;
}

Value* DatapathEmitter::is_loopback(uint64_t addr_off) {
  IRBuilder<>& b = ir();
  Value* v4 = b.CreateICmpEQ(load(b_.i8(), tuple_, kFamily, 1), b.getInt8(abi::kFamilyV4));
  // 127.0.0.0/8, or ::1 (network order: the last word reads 0x01000000 on little endian).
  Value* v4_loop = b.CreateICmpEQ(load(b_.i8(), tuple_, addr_off, 1), b.getInt8(127));
  Value* high = b.CreateOr(b.CreateOr(load(b_.i32(), tuple_, addr_off, 4), load(b_.i32(), tuple_, addr_off + 4, 4)),
                           load(b_.i32(), tuple_, addr_off + 8, 4));
  Value* last = load(b_.i32(), tuple_, addr_off + 12, 4);
  Value* v6_loop = b.CreateAnd(b.CreateICmpEQ(high, b.getInt32(0)), b.CreateICmpEQ(last, b.getInt32(0x01000000)));
  return b.CreateSelect(v4, v4_loop, v6_loop);
}

Value* DatapathEmitter::own_address(uint64_t addr_off) {
  IRBuilder<>& b = ir();
  Value* listed = endpoint_has(addr_off);
  // Loopback addresses belong to the workload on cgroup_skb hooks only: there a pod's
  // traffic to 127.0.0.1 / ::1 passes its own loopback device. A host veth (tc) never
  // carries them legitimately; with route_localnet on the node (kube-proxy sets it) such a
  // packet would reach the node's localhost services (CVE-2020-8558), so tc says spoofed.
  Value* cgroup = b.CreateICmpNE(attach_, b.getInt32(0));
  return b.CreateOr(listed, b.CreateAnd(cgroup, is_loopback(addr_off)));
}

void DatapathEmitter::emit_source_check(BasicBlock* self, BasicBlock* not_self) {
  IRBuilder<>& b = ir();
  BasicBlock* egress = block("source_check");
  BasicBlock* ingress = block("self_check_ingress");
  BasicBlock* source_ok = block("source_ok");
  BasicBlock* not_own = block("source_not_own");
  BasicBlock* spoofed = block("spoofed");
  b.CreateCondBr(is_egress(), egress, ingress);

  // Egress: the source must be one of the endpoint's own addresses.
  b.SetInsertPoint(egress);
  b.CreateCondBr(own_address(kSaddr), source_ok, not_own);
  // IPv6 link-local (fe80::/10) sources are not in the inventory (the kernel makes them per
  // interface) and are accepted: their scope is the pod's own link, whose only other end is
  // the node, so they can neither reach nor answer for another workload. They are judged by
  // policy like any packet (never self). Neighbour discovery passed before this point.
  b.SetInsertPoint(not_own);
  Value* v6 = b.CreateICmpEQ(load(b_.i8(), tuple_, kFamily, 1), b.getInt8(abi::kFamilyV6));
  Value* b0 = load(b_.i8(), tuple_, kSaddr, 1);
  Value* b1 = load(b_.i8(), tuple_, kSaddr + 1, 1);
  Value* link_local = b.CreateAnd(v6, b.CreateAnd(b.CreateICmpEQ(b0, b.getInt8(0xfe)),
                                                  b.CreateICmpEQ(b.CreateAnd(b1, b.getInt8(0xc0)), b.getInt8(0x80))));
  b.CreateCondBr(link_local, not_self, spoofed);
  b.SetInsertPoint(spoofed);
  b.CreateStore(b.getInt8(abi::kDropReasonSpoofed), reason_);
  decide_special(abi::kSpecialSpoofed, drop_);

  // Self traffic: the workload sends to one of its own addresses.
  b.SetInsertPoint(source_ok);
  b.CreateCondBr(own_address(kDaddr), self, not_self);
  // Ingress: self traffic comes from one of the endpoint's own addresses.
  b.SetInsertPoint(ingress);
  b.CreateCondBr(own_address(kSaddr), self, not_self);
}

} // namespace moat::codegen
