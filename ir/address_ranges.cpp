// distinguished_ranges (see address_ranges.h): cut points of every CIDR block, per family.
#include "ir/address_ranges.h"

#include <algorithm>
#include <set>

namespace moat {

namespace {

using U128 = unsigned __int128;

U128 to_int(const IpAddr& a) {
  U128 v = 0;
  for (unsigned i = 0; i < (a.v6 ? 16u : 4u); ++i)
    v = (v << 8) | a.bytes[i];
  return v;
}

IpAddr from_int(U128 v, bool v6) {
  IpAddr a;
  a.v6 = v6;
  unsigned n = v6 ? 16 : 4;
  for (unsigned i = 0; i < n; ++i)
    a.bytes[n - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
  return a;
}

U128 family_max(bool v6) {
  return v6 ? ~U128{0} : U128{0xffffffffu};
}

/// Adds the first address of `p` and the one past its last (unless that wraps).
void add_cuts(const IpPrefix& p, std::set<U128>& cuts) {
  unsigned bits = p.addr.bits();
  U128 first = to_int(p.addr);
  U128 host = p.len >= bits ? U128{0} : (family_max(p.addr.v6) >> p.len);
  cuts.insert(first);
  if (first + host < family_max(p.addr.v6)) cuts.insert(first + host + 1);
}

/// Is `a` in the block `p` names (its CIDR, minus its excepts)?
bool in_block(const Peer& p, const IpAddr& a) {
  return p.cidr.contains(a) && std::none_of(p.except.begin(), p.except.end(),
                                            [&](const IpPrefix& e) { return e.contains(a); });
}

/// The pieces between cuts, neighbours merged when every block holds both or neither (as
/// netpol-analyzer's disjoint blocks: `except 10.0.0.0/9, 10.128.0.0/9` is one range).
void ranges_of(const std::set<U128>& cuts, bool v6, const std::vector<const Peer*>& blocks,
               std::vector<AddressRange>& out) {
  std::vector<U128> c(cuts.begin(), cuts.end());
  if (c.empty() || c.front() != 0) c.insert(c.begin(), 0);
  std::vector<bool> last_in;
  for (size_t i = 0; i < c.size(); ++i) {
    IpAddr first = from_int(c[i], v6),
           last = from_int(i + 1 < c.size() ? c[i + 1] - 1 : family_max(v6), v6);
    std::vector<bool> in;
    for (const Peer* b : blocks)
      in.push_back(in_block(*b, first));
    if (i > 0 && in == last_in)
      out.back().last = last;
    else
      out.push_back({first, last});
    last_in = std::move(in);
  }
}

} // namespace

std::string AddressRange::str() const {
  return first.str() + "-" + last.str();
}

std::vector<AddressRange> distinguished_ranges(const Module& m, Direction dir, bool ipv6) {
  std::set<U128> v4, v6;
  std::vector<const Peer*> blocks;
  bool any_v6 = ipv6;
  for (const std::vector<Rule>* tier : {&m.admin_rules, &m.rules, &m.baseline_rules})
  for (const Rule& r : *tier) {
    if (r.dir != dir || r.peer.kind != Peer::Kind::Cidr) continue;
    blocks.push_back(&r.peer);
    add_cuts(r.peer.cidr, r.peer.cidr.addr.v6 ? v6 : v4);
    for (const IpPrefix& e : r.peer.except)
      add_cuts(e, e.addr.v6 ? v6 : v4);
    any_v6 = any_v6 || r.peer.cidr.addr.v6;
  }
  std::vector<AddressRange> out;
  ranges_of(v4, false, blocks, out);
  if (any_v6) ranges_of(v6, true, blocks, out);
  return out;
}

} // namespace moat
