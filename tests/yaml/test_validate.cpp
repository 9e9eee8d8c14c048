// ir/validate: the checks shared by every front end.
#include <catch2/catch.hpp>

#include "ir/validate.h"

using namespace moat;

TEST_CASE("label keys", "[validate]") {
  CHECK_FALSE(check_label_key("app"));
  CHECK_FALSE(check_label_key("app.kubernetes.io/name"));
  CHECK_FALSE(check_label_key("kubernetes.io/metadata.name"));
  CHECK_FALSE(check_label_key("a_b-c.d"));
  CHECK(check_label_key(""));
  CHECK(check_label_key("/name"));
  CHECK(check_label_key("example.com/"));
  CHECK(check_label_key("a/b/c"));
  CHECK(check_label_key("app@b"));
  CHECK(check_label_key("-app"));
  CHECK(check_label_key("app-"));
  CHECK(check_label_key("Example.com/app"));  // prefix must be lower case
  CHECK(check_label_key("-x.com/app"));
  CHECK(check_label_key(std::string(64, 'a')));
  CHECK_FALSE(check_label_key(std::string(63, 'a')));
  CHECK(check_label_key(std::string(254, 'a') + "/x"));
}

TEST_CASE("label values", "[validate]") {
  CHECK_FALSE(check_label_value(""));
  CHECK_FALSE(check_label_value("v1.2_3-x"));
  CHECK(check_label_value("$x"));
  CHECK(check_label_value("a b"));
  CHECK(check_label_value("x-"));
  CHECK(check_label_value(std::string(64, 'v')));
}

TEST_CASE("FQDN names and patterns", "[validate]") {
  CHECK_FALSE(check_fqdn("example.com", false));
  CHECK_FALSE(check_fqdn("example.com.", false));
  CHECK_FALSE(check_fqdn("my_host-1.example.com", false));
  CHECK(check_fqdn("*.example.com", false));
  CHECK_FALSE(check_fqdn("*.example.com", true));
  CHECK_FALSE(check_fqdn("*", true));
  CHECK_FALSE(check_fqdn("**.example.com", true));
  CHECK(check_fqdn("", true));
  CHECK(check_fqdn("a..b", false));
  CHECK(check_fqdn(".a", false));
  CHECK(check_fqdn("a b", false));
  CHECK(check_fqdn("{{.Target}}", false));
  CHECK(check_fqdn(std::string(256, 'a'), false));
  CHECK(normalize_fqdn("API.Example.COM.") == "api.example.com");
  CHECK(normalize_fqdn("a.b") == "a.b");
}

TEST_CASE("CIDR except lists", "[validate]") {
  Peer p;
  p.kind = Peer::Kind::Cidr;
  p.cidr = *IpPrefix::parse("10.0.0.0/16");
  p.except = {*IpPrefix::parse("10.0.128.0/17"), *IpPrefix::parse("10.0.0.0/16")};
  Diagnostics d;
  CHECK(validate_cidr_except(p, d));
  CHECK(d.all().empty());
  p.except.push_back(*IpPrefix::parse("10.1.0.0/24"));
  p.except.push_back(*IpPrefix::parse("10.0.0.0/8"));
  p.except.push_back(*IpPrefix::parse("fd00::/64"));
  CHECK_FALSE(validate_cidr_except(p, d));
  CHECK(d.error_count() == 3);
  CHECK(d.all()[0].code == Code::E301);
}

TEST_CASE("port ranges", "[validate]") {
  Diagnostics d;
  auto pm = [](Protocol proto, uint16_t lo, uint16_t hi) {
    PortMatch p;
    p.proto = proto;
    p.lo = lo;
    p.hi = hi;
    return p;
  };
  CHECK(validate_port(pm(Protocol::TCP, 80, 80), d));
  CHECK(validate_port(pm(Protocol::TCP, 0, 65535), d));  // every port
  CHECK(validate_port(pm(Protocol::ICMP, 8, 8), d));
  CHECK(validate_port(pm(Protocol::ICMPv6, 0, 255), d));
  CHECK(d.all().empty());
  CHECK_FALSE(validate_port(pm(Protocol::TCP, 0, 80), d));
  CHECK(d.all().back().code == Code::E303);
  CHECK_FALSE(validate_port(pm(Protocol::UDP, 90, 80), d));
  CHECK(d.all().back().code == Code::E302);
  CHECK_FALSE(validate_port(pm(Protocol::ICMP, 256, 256), d));
  CHECK(d.all().back().code == Code::E303);
  PortMatch named;
  named.name = "http";
  CHECK(validate_port(named, d));
}
