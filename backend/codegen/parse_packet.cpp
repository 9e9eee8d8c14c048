// The parsing half of the policy core: Ethernet (tc) or the IP header (cgroup_skb) to a
// filled abi::FlowTuple, with a bounds check against data_end before every read so that
// the kernel verifier accepts the program and no packet can make it read out of bounds.
#include <cstddef>

#include <linux/bpf.h>

#include <llvm/IR/MDBuilder.h>

#include "backend/bundle/datapath_abi.h"
#include "backend/codegen/datapath_emitter.h"
#include "ir/interp.h"  // kNdpFirstType, kNdpLastType: one definition of neighbour discovery

namespace moat::codegen {

using namespace llvm;

namespace {
// Offsets inside abi::FlowTuple.
constexpr uint64_t kSaddr = offsetof(abi::FlowTuple, saddr);
constexpr uint64_t kDaddr = offsetof(abi::FlowTuple, daddr);
constexpr uint64_t kPorts = offsetof(abi::FlowTuple, sport);  // sport then dport: one u32
constexpr uint64_t kDport = offsetof(abi::FlowTuple, dport);
constexpr uint64_t kProto = offsetof(abi::FlowTuple, proto);
constexpr uint64_t kFamily = offsetof(abi::FlowTuple, family);
static_assert(offsetof(abi::FlowTuple, dport) == kPorts + 2);

// EtherType and IP protocol values as a little-endian load of network-order bytes sees them.
constexpr uint16_t kEthIpv4Le = 0x0008;
constexpr uint16_t kEthIpv6Le = 0xDD86;
constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58,
                  kProtoSctp = 132;
} // namespace

void DatapathEmitter::emit_parse() {
  IRBuilder<>& b = ir();
  auto skb_u32 = [&](size_t off) { return load(b_.i32(), ctx_, off, 4); };
  data_ = b.CreateIntToPtr(b.CreateZExt(skb_u32(offsetof(__sk_buff, data)), b_.i64()), b_.ptr(), "data");
  data_end_ = b.CreateIntToPtr(b.CreateZExt(skb_u32(offsetof(__sk_buff, data_end)), b_.i64()), b_.ptr(),
                               "data_end");

  BasicBlock* eth = block("eth");
  BasicBlock* l3_from_skb = block("l3_from_skb");
  BasicBlock* l3 = block("l3");
  b.CreateCondBr(b.CreateICmpEQ(attach_, b.getInt32(0)), eth, l3_from_skb);

  // tc sees the Ethernet header; the EtherType says which IP version follows.
  b.SetInsertPoint(eth);
  need(data_, 14, malformed_);
  Value* ethertype = load(b_.i16(), data_, 12, 2);
  Value* l3_eth = at(data_, 14);
  BasicBlock* eth_end = b.GetInsertBlock();
  b.CreateBr(l3);

  // cgroup_skb data starts at the IP header; skb->protocol (network order) names it.
  b.SetInsertPoint(l3_from_skb);
  Value* skb_proto = b.CreateTrunc(skb_u32(offsetof(__sk_buff, protocol)), b_.i16());
  b.CreateBr(l3);

  b.SetInsertPoint(l3);
  PHINode* l3_ptr = b.CreatePHI(b_.ptr(), 2, "l3");
  l3_ptr->addIncoming(l3_eth, eth_end);
  l3_ptr->addIncoming(data_, l3_from_skb);
  PHINode* proto = b.CreatePHI(b_.i16(), 2, "ethertype");
  proto->addIncoming(ethertype, eth_end);
  proto->addIncoming(skb_proto, l3_from_skb);
  BasicBlock* v4 = block("ipv4");
  BasicBlock* v6 = block("ipv6");
  SwitchInst* sw = b.CreateSwitch(proto, non_ip_, 2);
  sw->addCase(b.getInt16(kEthIpv4Le), v4);
  sw->addCase(b.getInt16(kEthIpv6Le), v6);

  BasicBlock* l4_dispatch = block("l4");
  b.SetInsertPoint(l4_dispatch);
  PHINode* l4_ptr = b.CreatePHI(b_.ptr(), kMaxExtHeaders + 2, "l4");
  PHINode* l4_proto = b.CreatePHI(b_.i8(), kMaxExtHeaders + 2, "l4_proto");

  b.SetInsertPoint(v4);
  emit_ipv4(l3_ptr, l4_dispatch, l4_ptr, l4_proto);
  b.SetInsertPoint(v6);
  emit_ipv6(l3_ptr, l4_dispatch, l4_ptr, l4_proto);
  emit_l4(l4_dispatch, l4_ptr, l4_proto);
}

void DatapathEmitter::emit_ipv4(Value* ip, BasicBlock* l4_dispatch, PHINode* l4_ptr, PHINode* l4_proto) {
  IRBuilder<>& b = ir();
  need(ip, 20, malformed_);
  Value* vihl = load(b_.i8(), ip, 0, 1);
  BasicBlock* version_ok = block("ipv4_version_ok");
  b.CreateCondBr(b.CreateICmpEQ(b.CreateAnd(vihl, 0xF0), b.getInt8(0x40)), version_ok, malformed_);
  b.SetInsertPoint(version_ok);
  Value* ihl = b.CreateShl(b.CreateZExt(b.CreateAnd(vihl, 0x0F), b_.i64()), 2, "ihl");
  BasicBlock* ihl_ok = block("ipv4_ihl_ok");
  b.CreateCondBr(b.CreateICmpUGE(ihl, b.getInt64(20)), ihl_ok, malformed_);
  b.SetInsertPoint(ihl_ok);
  Value* l4 = at(ip, ihl);
  Value* proto = load(b_.i8(), ip, 9, 1);
  store(load(b_.i32(), ip, 12, 4), tuple_, kSaddr, 4);
  store(load(b_.i32(), ip, 16, 4), tuple_, kDaddr, 4);
  store(b.getInt8(abi::kFamilyV4), tuple_, kFamily, 1);
  store(b.CreateZExt(load(b_.i16(), ip, 4, 2), b_.i32()), frag_id_, 0, 4);
  // Flags + fragment offset: offset != 0 is a later fragment (no L4 header); MF with
  // offset 0 is a first fragment.
  Value* frag = b.CreateUnaryIntrinsic(Intrinsic::bswap, load(b_.i16(), ip, 6, 2));
  BasicBlock* later = block("ipv4_later_fragment");
  BasicBlock* not_later = block("ipv4_not_later_fragment");
  b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(frag, 0x1FFF), b.getInt16(0)), later, not_later);
  // The protocol goes into the tuple here only for a later fragment: the others store it at
  // the L4 dispatch (once per packet).
  b.SetInsertPoint(later);
  store(proto, tuple_, kProto, 1);
  b.CreateBr(later_fragment_);
  b.SetInsertPoint(not_later);
  store(b.CreateZExt(b.CreateICmpNE(b.CreateAnd(frag, 0x2000), b.getInt16(0)), b_.i8()), first_frag_, 0, 1);
  l4_ptr->addIncoming(l4, b.GetInsertBlock());
  l4_proto->addIncoming(proto, b.GetInsertBlock());
  b.CreateBr(l4_dispatch);
}

void DatapathEmitter::emit_ipv6(Value* ip, BasicBlock* l4_dispatch, PHINode* l4_ptr, PHINode* l4_proto) {
  IRBuilder<>& b = ir();
  need(ip, 40, malformed_);
  Value* vtc = load(b_.i8(), ip, 0, 1);
  BasicBlock* version_ok = block("ipv6_version_ok");
  b.CreateCondBr(b.CreateICmpEQ(b.CreateAnd(vtc, 0xF0), b.getInt8(0x60)), version_ok, malformed_);
  b.SetInsertPoint(version_ok);
  copy(tuple_, kSaddr, ip, 8, 4);
  copy(tuple_, kDaddr, ip, 24, 4);
  store(b.getInt8(abi::kFamilyV6), tuple_, kFamily, 1);
  Value* cur = at(ip, 40);
  Value* nh = load(b_.i8(), ip, 6, 1);

  // Extension headers, unrolled kMaxExtHeaders times (bounded code for the verifier): each
  // round either reaches an upper-layer header (-> l4) or skips one extension header.
  for (int i = 0; i < kMaxExtHeaders; ++i) {
    BasicBlock* generic = block("ipv6_ext_opts");
    BasicBlock* ah = block("ipv6_ext_ah");
    BasicBlock* fragment = block("ipv6_ext_frag");
    BasicBlock* first = block("ipv6_first_fragment");
    BasicBlock* advance = block("ipv6_ext_next");
    SwitchInst* sw = b.CreateSwitch(nh, l4_dispatch, 5);
    l4_ptr->addIncoming(cur, b.GetInsertBlock());
    l4_proto->addIncoming(nh, b.GetInsertBlock());
    sw->addCase(b.getInt8(0), generic);   // hop-by-hop options
    sw->addCase(b.getInt8(43), generic);  // routing
    sw->addCase(b.getInt8(60), generic);  // destination options
    sw->addCase(b.getInt8(51), ah);       // authentication header
    sw->addCase(b.getInt8(44), fragment);

    // Options and routing headers: length in 8-octet units, not counting the first 8.
    b.SetInsertPoint(generic);
    need(cur, 2, malformed_);
    Value* len_generic =
        b.CreateShl(b.CreateAdd(b.CreateZExt(load(b_.i8(), cur, 1, 1), b_.i64()), b.getInt64(1)), 3);
    Value* nh_generic = load(b_.i8(), cur, 0, 1);
    BasicBlock* generic_end = b.GetInsertBlock();
    b.CreateBr(advance);
    // AH: length in 4-octet units, not counting the first 8.
    b.SetInsertPoint(ah);
    need(cur, 2, malformed_);
    Value* len_ah =
        b.CreateShl(b.CreateAdd(b.CreateZExt(load(b_.i8(), cur, 1, 1), b_.i64()), b.getInt64(2)), 2);
    Value* nh_ah = load(b_.i8(), cur, 0, 1);
    BasicBlock* ah_end = b.GetInsertBlock();
    b.CreateBr(advance);
    // Fragment header: 8 octets; a non-zero offset means no L4 header in this packet.
    b.SetInsertPoint(fragment);
    need(cur, 8, malformed_);
    Value* nh_frag = load(b_.i8(), cur, 0, 1);
    store(nh_frag, tuple_, kProto, 1);
    store(load(b_.i32(), cur, 4, 4), frag_id_, 0, 4);
    Value* fo = b.CreateUnaryIntrinsic(Intrinsic::bswap, load(b_.i16(), cur, 2, 2));
    b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(fo, 0xFFF8), b.getInt16(0)), later_fragment_, first);
    b.SetInsertPoint(first);
    store(b.CreateZExt(b.CreateICmpNE(b.CreateAnd(fo, 1), b.getInt16(0)), b_.i8()), first_frag_, 0, 1);
    b.CreateBr(advance);

    b.SetInsertPoint(advance);
    PHINode* len = b.CreatePHI(b_.i64(), 3, "ext_len");
    len->addIncoming(len_generic, generic_end);
    len->addIncoming(len_ah, ah_end);
    len->addIncoming(b.getInt64(8), first);
    PHINode* nh_next = b.CreatePHI(b_.i8(), 3, "ext_next");
    nh_next->addIncoming(nh_generic, generic_end);
    nh_next->addIncoming(nh_ah, ah_end);
    nh_next->addIncoming(nh_frag, first);
    cur = at(cur, len);
    nh = nh_next;
  }
  b.CreateBr(malformed_);  // more extension headers than kMaxExtHeaders: documented drop
}

void DatapathEmitter::emit_l4(BasicBlock* l4_dispatch, PHINode* l4_ptr, PHINode* l4_proto) {
  IRBuilder<>& b = ir();
  b.SetInsertPoint(l4_dispatch);
  Value* l4 = l4_ptr;
  Value* proto = l4_proto;
  store(proto, tuple_, kProto, 1);
  BasicBlock* tcp = block("tcp");
  BasicBlock* udp = block("udp");
  BasicBlock* sctp = block("sctp");
  BasicBlock* icmp = block("icmp");
  BasicBlock* l4_done = block("l4_done");
  SwitchInst* sw = b.CreateSwitch(proto, l4_done, 5);  // other protocols: port 0
  sw->addCase(b.getInt8(kProtoTcp), tcp);
  sw->addCase(b.getInt8(kProtoUdp), udp);
  sw->addCase(b.getInt8(kProtoSctp), sctp);
  sw->addCase(b.getInt8(kProtoIcmp), icmp);
  sw->addCase(b.getInt8(kProtoIcmpv6), icmp);

  // TCP/UDP/SCTP: source and destination ports are the first four bytes; the whole fixed
  // header must be present (TCP 20, UDP 8, SCTP common header 12).
  auto ports = [&](BasicBlock* bb, uint64_t header) {
    b.SetInsertPoint(bb);
    need(l4, header, malformed_);
    store(load(b_.i32(), l4, 0, 4), tuple_, kPorts, 4);
  };
  ports(tcp, 20);
  store(load(b_.i8(), l4, 13, 1), tcp_flags_, 0, 1);
  b.CreateBr(l4_done);
  ports(udp, 8);
  b.CreateBr(l4_done);
  ports(sctp, 12);
  b.CreateBr(l4_done);

  // ICMP / ICMPv6: the type is the "port"; echo request/reply carry an identifier that
  // plays the source port, so that a reply finds its request in conntrack.
  b.SetInsertPoint(icmp);
  need(l4, 8, malformed_);
  Value* type = load(b_.i8(), l4, 0, 1);
  store(b.CreateShl(b.CreateZExt(type, b_.i16()), 8), tuple_, kDport, 2);
  Value* v4 = b.CreateICmpEQ(proto, b.getInt8(kProtoIcmp));
  Value* request = b.CreateSelect(v4, b.CreateICmpEQ(type, b.getInt8(8)), b.CreateICmpEQ(type, b.getInt8(128)));
  Value* reply = b.CreateSelect(v4, b.CreateICmpEQ(type, b.getInt8(0)), b.CreateICmpEQ(type, b.getInt8(129)));
  store(b.CreateZExt(reply, b_.i8()), echo_reply_, 0, 1);
  BasicBlock* echo = block("icmp_echo");
  b.CreateCondBr(b.CreateOr(request, reply), echo, l4_done);
  b.SetInsertPoint(echo);
  store(load(b_.i16(), l4, 4, 2), tuple_, kPorts, 2);
  b.CreateBr(l4_done);

  BasicBlock* parsed = block("parsed");
  emit_fragments(l4_done, parsed);
  emit_neighbour_discovery(parsed);
}

void DatapathEmitter::emit_fragments(BasicBlock* l4_done, BasicBlock* parsed) {
  IRBuilder<>& b = ir();
  // The fragment key: both addresses, the fragment id, protocol and family.
  auto fill_key = [&](Value* key) {
    // Re-read from the tuple (reload): forwarded values would stay live in registers from
    // the parse to here and be spilled on every packet, fragment or not.
    for (unsigned w = 0; w < 8; ++w)
      store(reload(b_.i32(), tuple_, kSaddr + 4 * w, 4), key, offsetof(abi::FragmentKey, saddr) + 4 * w, 4);
    store(load(b_.i32(), frag_id_, 0, 4), key, offsetof(abi::FragmentKey, id), 4);
    store(reload(b_.i8(), tuple_, kProto, 1), key, offsetof(abi::FragmentKey, proto), 1);
    store(reload(b_.i8(), tuple_, kFamily, 1), key, offsetof(abi::FragmentKey, family), 1);
    store(b.getInt16(0), key, offsetof(abi::FragmentKey, pad), 2);  // hash keys: zeroed padding
  };

  // A first fragment: remember its ports for the fragments that follow.
  b.SetInsertPoint(l4_done);
  BasicBlock* remember = block("first_fragment");
  b.CreateCondBr(b.CreateICmpNE(load(b_.i8(), first_frag_, 0, 1), b.getInt8(0)), remember, parsed);
  b.SetInsertPoint(remember);
  fill_key(frag_key_);
  store(load(b_.i32(), tuple_, kPorts, 4), frag_value_, offsetof(abi::FragmentValue, sport), 4);
  store(b.getInt32(0), frag_value_, offsetof(abi::FragmentValue, pad), 4);
  map_update(frags_, frag_key_, frag_value_);
  b.CreateBr(parsed);

  // A later fragment: take the ports of its first fragment, or drop.
  b.SetInsertPoint(later_fragment_);
  fill_key(frag_key_);
  Value* seen = map_lookup(frags_, frag_key_);
  BasicBlock* known = block("later_fragment_known");
  BasicBlock* unknown = block("later_fragment_unknown");
  b.CreateCondBr(b.CreateIsNull(seen), unknown, known);
  b.SetInsertPoint(known);
  store(load(b_.i32(), seen, offsetof(abi::FragmentValue, sport), 4), tuple_, kPorts, 4);
  b.CreateBr(parsed);
  b.SetInsertPoint(unknown);
  decide_special(abi::kSpecialFragment, drop_);
}

void DatapathEmitter::emit_neighbour_discovery(BasicBlock* parsed) {
  IRBuilder<>& b = ir();
  // IPv6 neighbour discovery (ICMPv6 133..137) is link-layer plumbing, always allowed like
  // ARP (ir/interp.cpp implicitly_allowed): it passes before the endpoint, conntrack and
  // policy lookups, and is never recorded in conntrack. Only with hop limit 255: every
  // receiver discards NDP with any other hop limit (RFC 4861 §6.1, §7.1), so a packet that
  // crossed a router is not neighbour discovery and is judged by policy like any ICMPv6. A
  // later fragment carries its first fragment's type, so it gets its first fragment's verdict
  // here too. Every other packet pays one compare: the protocol is tested first, and the
  // hop limit is read again from the IPv6 header only for ICMPv6 (a value kept from the parse
  // would stay live in a register, or a stack slot, on every packet).
  b.SetInsertPoint(parsed);
  BasicBlock* icmpv6 = block("icmpv6");
  BasicBlock* icmpv6_type = block("icmpv6_ndp_type");
  BasicBlock* ndp = block("neighbour_discovery");
  // Weighted so that LLVM lays the ICMPv6 test out of line: other packets fall through.
  b.CreateCondBr(b.CreateICmpEQ(reload(b_.i8(), tuple_, kProto, 1), b.getInt8(kProtoIcmpv6)), icmpv6, policy_,
                 MDBuilder(b_.ctx()).createUnlikelyBranchWeights());
  b.SetInsertPoint(icmpv6);
  Value* v6 = b.CreateICmpEQ(load(b_.i8(), tuple_, kFamily, 1), b.getInt8(abi::kFamilyV6));
  Value* type = load(b_.i8(), tuple_, kDport + 1, 1);  // dport = type in network order
  Value* ndp_type = b.CreateICmpULE(b.CreateSub(type, b.getInt8(kNdpFirstType)),
                                    b.getInt8(kNdpLastType - kNdpFirstType));
  b.CreateCondBr(b.CreateAnd(v6, ndp_type), icmpv6_type, policy_);
  // The IPv6 header again: after the Ethernet header on tc, at data on cgroup_skb.
  b.SetInsertPoint(icmpv6_type);
  auto skb_ptr = [&](size_t off) {
    return b.CreateIntToPtr(b.CreateZExt(load(b_.i32(), ctx_, off, 4), b_.i64()), b_.ptr());
  };
  data_ = skb_ptr(offsetof(__sk_buff, data));
  data_end_ = skb_ptr(offsetof(__sk_buff, data_end));
  Value* ip6 = at(data_, b.CreateSelect(b.CreateICmpEQ(attach_, b.getInt32(0)), b.getInt64(14), b.getInt64(0)));
  need(ip6, 40, malformed_);
  b.CreateCondBr(b.CreateICmpEQ(load(b_.i8(), ip6, 7, 1), b.getInt8(255)), ndp, policy_);
  b.SetInsertPoint(ndp);
  decide_special(abi::kSpecialImplicit, pass_);
}

} // namespace moat::codegen
