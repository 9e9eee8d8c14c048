// The policy verdict of one flow at one attach point: remote identity from the ipcache,
// host -> local workload, then at most two policy lookups — (local, remote) and (local,
// ANY) — and the isolation flag. Used for new flows and, with the stored tuple of the
// connection, for conntrack entries judged again after a policy change (conntrack.cpp);
// the two differ only for zombie FQDN addresses, which admit no new flow.
#include <linux/bpf.h>

#include <llvm/IR/MDBuilder.h>

#include "backend/codegen/datapath_emitter.h"

namespace moat::codegen {

using namespace llvm;
using namespace tuple_field;

void DatapathEmitter::emit_judge(Value* key, bool reply, bool new_flow, BasicBlock* allow, BasicBlock* deny) {
  IRBuilder<>& b = ir();
  // The judged direction: the hook's own, or for a reply the direction its connection's
  // first packet took here. dir_ is a constant in each program, so all of this folds.
  Value* dir = reply ? b.CreateXor(dir_, b.getInt32(1)) : dir_;
  Value* egress = b.CreateICmpEQ(dir, b.getInt32(1));
  auto flag = [&](bool bundle::DirectionPlan::*field) { return dir_flag(field, egress); };

  // A reply whose connection went the other way through a direction without policy: that
  // direction allowed it and still does. (New flows only get here in enforced directions.)
  BasicBlock* enforced = block("judge");
  BasicBlock* open_dir = block("judge_direction_without_policy");
  b.CreateCondBr(flag(&bundle::DirectionPlan::enabled), enforced, open_dir);
  b.SetInsertPoint(open_dir);
  decide_special(abi::kSpecialDefaultAllow, allow);
  b.SetInsertPoint(enforced);

  // The remote identity: the destination on egress, the source on ingress. It is a value
  // (no entry: WORLD) until the policy key takes it; the drop event gets a copy.
  BasicBlock* ipcache = block("ipcache");
  BasicBlock* lookup_policy = block("lookup_policy");
  b.SetInsertPoint(lookup_policy);
  PHINode* remote = b.CreatePHI(b_.i32(), 4, "remote");
  b.SetInsertPoint(enforced);
  remote->addIncoming(b.getInt32(abi::kIdentityWorld), b.GetInsertBlock());
  b.CreateCondBr(flag(&bundle::DirectionPlan::ipcache), ipcache, lookup_policy);
  b.SetInsertPoint(ipcache);
  Value* v4 = b.CreateICmpEQ(load(b_.i8(), key, kFamily, 1), b.getInt8(abi::kFamilyV4));
  Value* ip_key = stack(sizeof(abi::IpcacheKey), "ip_key");
  Value* remote_addr = at(key, b.CreateSelect(egress, b.getInt64(kDaddr), b.getInt64(kSaddr)));
  store(b.CreateSelect(v4, b.getInt32(abi::kIpcacheFamilyBits + 32), b.getInt32(abi::kIpcacheFamilyBits + 128)),
        ip_key, offsetof(abi::IpcacheKey, prefixlen), 4);
  // family, three zero bytes, the address (aligned words).
  store(b.CreateZExt(load(b_.i8(), key, kFamily, 1), b_.i32()), ip_key, offsetof(abi::IpcacheKey, family), 4);
  copy(ip_key, offsetof(abi::IpcacheKey, addr), remote_addr, 0, 4);
  // Full addresses (pods, nodes, known external endpoints, /32 and /128 CIDRs) in a hash;
  // the LPM trie only when the policy has shorter CIDR prefixes.
  BasicBlock* ip_hit = block("ipcache_hit");
  BasicBlock* host_miss = block("hosts_miss");
  BasicBlock* prefixes = block("ipcache_prefixes");
  BasicBlock* host_found = block("hosts_hit");
  Value* host_entry = map_lookup(hosts_, ip_key);
  b.CreateCondBr(b.CreateIsNull(host_entry), host_miss, host_found);
  // A zombie FQDN address (abi::kIdentityZombie) keeps its identity for the connections it
  // was kept for — a conntrack entry judged again — but not for a new flow, which needs a
  // live DNS answer: for it the hosts entry does not exist.
  b.SetInsertPoint(host_found);
  if (new_flow) {
    Value* zombie = b.CreateAnd(load(b_.i32(), host_entry, 0, 4), b.getInt32(abi::kIdentityZombie));
    b.CreateCondBr(b.CreateICmpNE(zombie, b.getInt32(0)), host_miss, ip_hit);
  } else {
    b.CreateBr(ip_hit);
  }
  b.SetInsertPoint(host_miss);
  remote->addIncoming(b.getInt32(abi::kIdentityWorld), b.GetInsertBlock());
  b.CreateCondBr(b.getInt1(plan_.ipcache_prefixes), prefixes, lookup_policy);
  b.SetInsertPoint(prefixes);
  Value* prefix_entry = map_lookup(ipcache_, ip_key);
  remote->addIncoming(b.getInt32(abi::kIdentityWorld), b.GetInsertBlock());
  b.CreateCondBr(b.CreateIsNull(prefix_entry), lookup_policy, ip_hit);
  b.SetInsertPoint(ip_hit);
  PHINode* remote_entry = b.CreatePHI(b_.ptr(), 2, "remote_entry");
  remote_entry->addIncoming(host_entry, host_found);
  remote_entry->addIncoming(prefix_entry, prefixes);
  Value* raw_remote = load(b_.i32(), remote_entry, 0, 4);
  Value* known = b.CreateAnd(raw_remote, b.getInt32(abi::kIdentityMask));
  // The host may always reach its own workloads (kubelet probes): HOST, or one of the node's
  // addresses that a `networks` peer gave an identity of its own (kIdentityNodeHost). Only
  // an address with an entry can be either.
  Value* is_host = b.CreateOr(b.CreateICmpEQ(known, b.getInt32(abi::kIdentityHost)),
                              b.CreateICmpNE(b.CreateAnd(raw_remote, b.getInt32(abi::kIdentityNodeHost)),
                                             b.getInt32(0)));
  BasicBlock* host = block("host");
  remote->addIncoming(known, b.GetInsertBlock());
  b.CreateCondBr(b.CreateAnd(b.CreateNot(egress), is_host), host, lookup_policy,
                 MDBuilder(b_.ctx()).createUnlikelyBranchWeights());  // out of line: policy falls through
  b.SetInsertPoint(host);
  decide_special(abi::kSpecialImplicit, allow);

  // Policy: (local, remote, dir, proto, port) then (local, ANY, ...), longest prefix first.
  b.SetInsertPoint(lookup_policy);
  b.CreateStore(remote, remote_);
  Value* pkey = stack(sizeof(abi::PolicyKey), "policy_key");
  store(b.getInt32(abi::kPolicyFullBits), pkey, offsetof(abi::PolicyKey, prefixlen), 4);
  // The local identity from the endpoint's map value (reload: a copy kept from the endpoint
  // lookup would be spilled across the conntrack lookups on every packet).
  store(reload(b_.i32(), ep_, offsetof(abi::EndpointValue, identity), 4), pkey, offsetof(abi::PolicyKey, local), 4);
  store(remote, pkey, offsetof(abi::PolicyKey, remote), 4);
  store(b.CreateTrunc(dir, b_.i8()), pkey, offsetof(abi::PolicyKey, dir), 1);
  store(load(b_.i8(), key, kProto, 1), pkey, offsetof(abi::PolicyKey, proto), 1);
  store(load(b_.i16(), key, kDport, 2), pkey, offsetof(abi::PolicyKey, port), 2);

  // Per level (remote, then ANY): the exact-port hash, then the port-prefix LPM trie;
  // a level's lookups exist only when the plan says such entries can exist.
  BasicBlock* verdict = block("verdict");
  BasicBlock* fallback = block("policy_default");
  b.SetInsertPoint(verdict);
  PHINode* entry = b.CreatePHI(b_.ptr(), 4, "entry");
  b.SetInsertPoint(lookup_policy);
  auto level = [&](bool bundle::DirectionPlan::*enabled, uint32_t remote_id, BasicBlock* next) {
    BasicBlock* start = block("policy_level");
    BasicBlock* lpm = block("policy_prefixes");
    BasicBlock* lpm_lookup = block("policy_prefixes_lookup");
    BasicBlock* exact_lookup = block("policy_exact_lookup");
    b.CreateCondBr(flag(enabled), start, next);
    b.SetInsertPoint(start);
    if (remote_id != UINT32_MAX) store(b.getInt32(remote_id), pkey, offsetof(abi::PolicyKey, remote), 4);
    b.CreateCondBr(flag(&bundle::DirectionPlan::exact_ports), exact_lookup, lpm);
    b.SetInsertPoint(exact_lookup);
    Value* hit = map_lookup(policy_exact_, pkey);
    entry->addIncoming(hit, b.GetInsertBlock());
    b.CreateCondBr(b.CreateIsNull(hit), lpm, verdict);
    b.SetInsertPoint(lpm);
    b.CreateCondBr(flag(&bundle::DirectionPlan::port_prefixes), lpm_lookup, next);
    b.SetInsertPoint(lpm_lookup);
    Value* hit_lpm = map_lookup(policy_map_, pkey);
    entry->addIncoming(hit_lpm, b.GetInsertBlock());
    b.CreateCondBr(b.CreateIsNull(hit_lpm), next, verdict);
  };
  BasicBlock* any = block("policy_any");
  level(&bundle::DirectionPlan::specific_lookup, UINT32_MAX, any);
  b.SetInsertPoint(any);
  level(&bundle::DirectionPlan::any_lookup, abi::kIdentityAny, fallback);

  // The entry decides (allow, deny), or says that no rule did (kActionIsolation: an admin
  // Pass or a baseline rule on an isolated pod, and nothing else) — then the isolation flag
  // decides, without the (local, ANY) lookup: the entry already accounts for its rules.
  b.SetInsertPoint(verdict);
  b.CreateStore(load(b_.i32(), entry, offsetof(abi::PolicyValue, rule), 4), rule_);
  Value* action = load(b_.i8(), entry, offsetof(abi::PolicyValue, action), 1);
  BasicBlock* not_allow = block("entry_not_allow");
  b.CreateCondBr(b.CreateICmpEQ(action, b.getInt8(abi::kActionAllow)), allow, not_allow);
  b.SetInsertPoint(not_allow);
  b.CreateCondBr(b.CreateICmpEQ(action, b.getInt8(abi::kActionIsolation)), fallback, deny);

  // No entry: isolated -> no allow matched -> drop; not isolated -> allow.
  b.SetInsertPoint(fallback);
  Value* iso_bit = b.CreateSelect(egress, b.getInt32(abi::kFlagIsolatedEgress), b.getInt32(abi::kFlagIsolatedIngress));
  BasicBlock* isolated = block("isolated");
  BasicBlock* open = block("not_isolated");
  Value* flags = reload(b_.i32(), ep_, offsetof(abi::EndpointValue, flags), 4);
  b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(flags, iso_bit), b.getInt32(0)), isolated, open);
  b.SetInsertPoint(isolated);
  Value* iso_off = b.CreateSelect(egress, b.getInt64(offsetof(abi::EndpointValue, isolation) + 4),
                                  b.getInt64(offsetof(abi::EndpointValue, isolation)));
  b.CreateStore(b.CreateAlignedLoad(b_.i32(), at(ep_, iso_off), Align(4)), isolation_);
  decide_special(abi::kSpecialDefaultDeny, deny);
  b.SetInsertPoint(open);
  decide_special(abi::kSpecialDefaultAllow, allow);
}

} // namespace moat::codegen
