// Test packets: Ethernet + IPv4/IPv6 (+ extension headers, fragments) + TCP/UDP/SCTP/ICMP
// frames as bytes, for BPF_PROG_TEST_RUN (`moat test --engine kernel`, kernel tests,
// benchmarks). Header checksums are filled in (IPv4, TCP, UDP, ICMP); the datapath does
// not check them, but a packet that reaches a real stack should be well-formed.
#pragma once
#include <cstdint>
#include <vector>

#include "ir/ip.h"

namespace moat::runtime {

inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

struct PacketSpec {
  IpAddr src, dst;    // same family
  uint8_t proto = 6;  // IP protocol number
  uint16_t sport = 0, dport = 0;  // TCP/UDP/SCTP ports; ICMP: dport = type, sport = echo id
  uint8_t tcp_flags = kTcpSyn;
  uint8_t sctp_chunk = 1;  // SCTP chunk type: 1 INIT, 2 INIT ACK
  /// Fragments: First = offset 0 with more-fragments; Later = offset `frag_offset` (8-octet
  /// units) and no L4 header.
  enum class Fragment : uint8_t { None, First, Later } fragment = Fragment::None;
  uint32_t frag_id = 0x1234;
  uint16_t frag_offset = 8;
  int ipv4_option_words = 0;   // IPv4 options (NOPs), in 4-byte words (IHL = 5 + this)
  int ipv6_dest_options = 0;   // IPv6 destination-options headers before the upper layer
  size_t payload = 0;          // bytes of zero payload after the L4 header
  /// IPv4 TTL / IPv6 hop limit; 0: 255 for ICMPv6 neighbour discovery (133..137, which a
  /// receiver accepts only with hop limit 255, RFC 4861), 64 for everything else.
  uint8_t hop_limit = 0;
};

/// The Ethernet frame for `spec`.
std::vector<uint8_t> build_packet(const PacketSpec& spec);

/// The reply to `spec` (addresses and ports swapped; TCP SYN -> SYN-ACK, SCTP INIT ->
/// INIT ACK, ICMP echo request -> echo reply).
PacketSpec reply_of(const PacketSpec& spec);

} // namespace moat::runtime
