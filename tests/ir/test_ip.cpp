#include <catch2/catch.hpp>

#include "ir/ip.h"

using namespace moat;

TEST_CASE("IPv4 prefixes parse, normalize and contain") {
  auto p = IpPrefix::parse("10.0.128.7/17");
  REQUIRE(p);
  CHECK(p->str() == "10.0.128.0/17");
  CHECK(p->contains(*IpAddr::parse("10.0.200.1")));
  CHECK_FALSE(p->contains(*IpAddr::parse("10.0.1.1")));
  CHECK_FALSE(IpPrefix::parse("10.0.0.0/33"));
  CHECK_FALSE(IpPrefix::parse("10.0.0.0/"));
  CHECK_FALSE(IpPrefix::parse("300.0.0.0/8"));
  CHECK(IpPrefix::parse("0.0.0.0/0")->contains(*IpAddr::parse("8.8.8.8")));
}

TEST_CASE("IPv6 prefixes never contain IPv4 addresses") {
  auto p = IpPrefix::parse("::/0");
  REQUIRE(p);
  CHECK(p->contains(*IpAddr::parse("2001:db8::1")));
  CHECK_FALSE(p->contains(*IpAddr::parse("1.2.3.4")));
  auto q = IpPrefix::parse("2001:db8::/32");
  CHECK(p->contains(*q));
  CHECK_FALSE(q->contains(*p));
}
