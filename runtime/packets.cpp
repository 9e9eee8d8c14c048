// build_packet: header bytes in network order, checksums per RFC 791/793/768/792/4443.
#include "runtime/packets.h"

namespace moat::runtime {

namespace {

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) acc += uint32_t(p[n - 1]) << 8;
  return acc;
}

uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

/// Pseudo-header sum for TCP/UDP/ICMPv6 checksums.
uint32_t pseudo(const PacketSpec& s, size_t l4_len) {
  size_t n = s.src.v6 ? 16 : 4;
  uint32_t acc = sum16(s.src.bytes.data(), n);
  acc = sum16(s.dst.bytes.data(), n, acc);
  return acc + s.proto + static_cast<uint32_t>(l4_len);
}

bool is_icmp(uint8_t proto) { return proto == 1 || proto == 58; }

uint8_t hop_limit(const PacketSpec& s) {
  if (s.hop_limit) return s.hop_limit;
  return s.proto == 58 && s.dport >= 133 && s.dport <= 137 ? 255 : 64;
}

} // namespace

std::vector<uint8_t> build_packet(const PacketSpec& s) {
  bool later = s.fragment == PacketSpec::Fragment::Later;
  // Upper-layer header.
  std::vector<uint8_t> l4;
  if (!later) {
    switch (s.proto) {
    case 6:
      l4.assign(20, 0);
      put16(l4, 0, s.sport);
      put16(l4, 2, s.dport);
      put16(l4, 4, 0x0001);  // sequence number 1
      if (s.tcp_flags & kTcpAck) put16(l4, 10, 0x0001);
      l4[12] = 5 << 4;  // data offset
      l4[13] = s.tcp_flags;
      put16(l4, 14, 0xFFFF);  // window
      break;
    case 17:
      l4.assign(8, 0);
      put16(l4, 0, s.sport);
      put16(l4, 2, s.dport);
      break;
    case 132:
      l4.assign(12 + 20, 0);  // common header + INIT / INIT ACK chunk
      put16(l4, 0, s.sport);
      put16(l4, 2, s.dport);
      l4[12] = s.sctp_chunk;
      put16(l4, 14, 20);
      break;
    default:
      if (is_icmp(s.proto)) {
        l4.assign(8, 0);
        l4[0] = static_cast<uint8_t>(s.dport);  // type
        put16(l4, 4, s.sport);                  // echo identifier
        put16(l4, 6, 1);                        // sequence
      }
    }
  }
  l4.resize(l4.size() + s.payload, 0);
  // L4 checksums over the full (unfragmented) upper layer.
  if (!later && !l4.empty()) {
    if (s.proto == 6 || s.proto == 17 || s.proto == 58) {
      size_t at = s.proto == 6 ? 16 : s.proto == 17 ? 6 : 2;
      put16(l4, at, fold(sum16(l4.data(), l4.size(), pseudo(s, l4.size()))));
    } else if (s.proto == 1) {
      put16(l4, 2, fold(sum16(l4.data(), l4.size())));
    }
  }

  std::vector<uint8_t> pkt(14, 0);
  pkt[0] = 0x02, pkt[5] = 0x02;   // dst MAC 02:00:00:00:00:02
  pkt[6] = 0x02, pkt[11] = 0x01;  // src MAC 02:00:00:00:00:01
  if (!s.src.v6) {
    pkt[12] = 0x08, pkt[13] = 0x00;
    size_t ihl = 5 + static_cast<size_t>(s.ipv4_option_words);
    std::vector<uint8_t> ip(ihl * 4, 0);
    for (size_t i = 20; i < ip.size(); ++i) ip[i] = 1;  // NOP options
    ip[0] = static_cast<uint8_t>(0x40 | ihl);
    put16(ip, 2, static_cast<uint16_t>(ip.size() + l4.size()));
    put16(ip, 4, static_cast<uint16_t>(s.frag_id));
    uint16_t frag = 0;
    if (s.fragment == PacketSpec::Fragment::First) frag = 0x2000;
    if (later) frag = s.frag_offset & 0x1FFF;
    put16(ip, 6, frag);
    ip[8] = hop_limit(s);
    ip[9] = s.proto;
    for (int i = 0; i < 4; ++i) ip[12 + i] = s.src.bytes[i], ip[16 + i] = s.dst.bytes[i];
    put16(ip, 10, fold(sum16(ip.data(), ip.size())));
    pkt.insert(pkt.end(), ip.begin(), ip.end());
  } else {
    pkt[12] = 0x86, pkt[13] = 0xDD;
    std::vector<uint8_t> ext;
    uint8_t first_nh = s.proto;
    // Build the chain back to front: each header names the one after it.
    uint8_t next = s.proto;
    if (s.fragment != PacketSpec::Fragment::None) {
      std::vector<uint8_t> f(8, 0);
      f[0] = next;
      uint16_t fo = later ? static_cast<uint16_t>(s.frag_offset << 3) : 1;  // offset | M
      put16(f, 2, fo);
      f[4] = static_cast<uint8_t>(s.frag_id >> 24), f[5] = static_cast<uint8_t>(s.frag_id >> 16);
      f[6] = static_cast<uint8_t>(s.frag_id >> 8), f[7] = static_cast<uint8_t>(s.frag_id);
      ext.insert(ext.begin(), f.begin(), f.end());
      next = 44;
    }
    for (int i = 0; i < s.ipv6_dest_options; ++i) {
      std::vector<uint8_t> d(8, 0);
      d[0] = next;
      d[1] = 0;         // 8 octets
      d[2] = 1, d[3] = 4;  // PadN option filling the header
      ext.insert(ext.begin(), d.begin(), d.end());
      next = 60;
    }
    first_nh = next;
    std::vector<uint8_t> ip(40, 0);
    ip[0] = 0x60;
    put16(ip, 4, static_cast<uint16_t>(ext.size() + l4.size()));
    ip[6] = first_nh;
    ip[7] = hop_limit(s);
    for (int i = 0; i < 16; ++i) ip[8 + i] = s.src.bytes[i], ip[24 + i] = s.dst.bytes[i];
    pkt.insert(pkt.end(), ip.begin(), ip.end());
    pkt.insert(pkt.end(), ext.begin(), ext.end());
  }
  pkt.insert(pkt.end(), l4.begin(), l4.end());
  return pkt;
}

PacketSpec reply_of(const PacketSpec& s) {
  PacketSpec r = s;
  std::swap(r.src, r.dst);
  r.fragment = PacketSpec::Fragment::None;
  if (is_icmp(s.proto)) {
    // Echo request -> echo reply, same identifier; other types have no reply.
    r.dport = s.proto == 1 ? (s.dport == 8 ? 0 : s.dport) : (s.dport == 128 ? 129 : s.dport);
    return r;
  }
  std::swap(r.sport, r.dport);
  if (s.proto == 6) r.tcp_flags = s.tcp_flags == kTcpSyn ? (kTcpSyn | kTcpAck) : kTcpAck;
  if (s.proto == 132) r.sctp_chunk = 2;
  return r;
}

} // namespace moat::runtime
