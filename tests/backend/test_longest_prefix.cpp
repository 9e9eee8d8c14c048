// LongestPrefix (backend/bundle/longest_prefix.h) against a scan of every prefix: nested and
// repeated prefixes of both families, addresses under them and outside them.
#include <catch2/catch.hpp>

#include <random>

#include "backend/bundle/longest_prefix.h"

using namespace moat;

namespace {

/// The longest prefix of `all` containing `ip` by looking at each one (what map contents
/// did before the lookup was indexed).
const IpPrefix* scan(const std::vector<IpPrefix>& all, const IpAddr& ip) {
  const IpPrefix* best = nullptr;
  for (const IpPrefix& p : all)
    if (p.contains(ip) && (!best || p.len > best->len)) best = &p;
  return best;
}

/// `p` with random bits below its length from `len` bits on, as a prefix of length `len`.
IpPrefix inside(const IpPrefix& p, unsigned len, std::mt19937_64& rng) {
  IpPrefix q{p.addr, static_cast<uint8_t>(len)};
  for (unsigned i = p.len; i < len; ++i)
    if (rng() & 1) q.addr.bytes[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  return q;
}

} // namespace

TEST_CASE("longest prefix: nested, repeated IPv4 and IPv6 prefixes == a scan of every prefix", "[backend][anp]") {
  std::mt19937_64 rng(11);
  std::vector<IpPrefix> all;
  for (const char* top : {"10.0.0.0/8", "11.0.0.0/8", "fd00::/8", "2001:db8::/32"}) {
    IpPrefix t = *IpPrefix::parse(top);
    all.push_back(t);
    // Three levels below each top prefix (/16 /24 /28 in IPv4, +16 +32 +60 in IPv6), some
    // listed twice (a rule's CIDR and another rule's except), down to full-length ones.
    unsigned step = t.addr.v6 ? 16 : 8;
    for (int i = 0; i < 20; ++i) {
      IpPrefix a = inside(t, t.len + step, rng);
      all.push_back(a);
      for (int j = 0; j < 5; ++j) {
        IpPrefix b = inside(a, a.len + step, rng);
        all.push_back(b);
        if (j % 2) all.push_back(b);
        all.push_back(inside(b, b.len + (t.addr.v6 ? 28 : 4), rng));
        all.push_back(inside(b, b.addr.bits(), rng));
      }
    }
  }
  all.push_back(*IpPrefix::parse("0.0.0.0/0"));  // everything IPv4, nothing IPv6
  bundle::LongestPrefix index(all);

  size_t found = 0, none = 0;
  for (int i = 0; i < 20000; ++i) {
    // Mostly addresses under a listed prefix (at any depth), some anywhere.
    const IpPrefix& near = all[rng() % all.size()];
    IpAddr ip = inside(near, near.addr.bits(), rng).addr;
    if (i % 10 == 0)
      for (uint8_t& b : ip.bytes) b = static_cast<uint8_t>(rng());
    const IpPrefix* want = scan(all, ip);
    const IpPrefix* got = index.longest(ip);
    INFO(ip.str() << ": want " << (want ? want->str() : "none") << ", got " << (got ? got->str() : "none"));
    REQUIRE((want == nullptr) == (got == nullptr));
    if (want) CHECK(*got == *want);
    (want ? found : none) += 1;
  }
  CHECK(found > 15000);
  CHECK(none > 100);  // IPv6 addresses outside both top prefixes

  CHECK(bundle::LongestPrefix({}).longest(*IpAddr::parse("10.0.0.1")) == nullptr);
  bundle::LongestPrefix one({*IpPrefix::parse("10.1.2.0/23")});
  CHECK(one.longest(*IpAddr::parse("10.1.3.255"))->str() == "10.1.2.0/23");
  CHECK(one.longest(*IpAddr::parse("10.1.4.0")) == nullptr);
  CHECK(one.longest(*IpAddr::parse("a01:200::")) == nullptr);  // same bytes, other family
}
