// FQDN matchName / matchPattern semantics (docs/LANGUAGE.md) through the interpreter's API.
#include <catch2/catch.hpp>

#include "ir/fqdn.h"
#include "ir/interp.h"

using namespace moat;

namespace {
bool pat(std::string_view p, std::string_view name) { return fqdn_matches(FqdnMatch{true, std::string(p), {}}, name); }
bool exact(std::string_view p, std::string_view name) { return fqdn_matches(FqdnMatch{false, std::string(p), {}}, name); }
} // namespace

TEST_CASE("matchName is exact, case-insensitive, trailing dot ignored", "[fqdn]") {
  CHECK(exact("api.example.com", "api.example.com"));
  CHECK(exact("api.example.com", "API.Example.COM"));
  CHECK(exact("api.example.com", "api.example.com."));
  CHECK(exact("API.example.com.", "api.example.com"));
  CHECK_FALSE(exact("api.example.com", "www.api.example.com"));
  CHECK_FALSE(exact("api.example.com", "api.example.co"));
  CHECK_FALSE(exact("api.example.com", "example.com"));
  CHECK_FALSE(exact("*.example.com", "a.example.com"));  // no wildcards in matchName
}

TEST_CASE("the documented example *.s3.*.amazonaws.com", "[fqdn]") {
  CHECK(pat("*.s3.*.amazonaws.com", "bkt.s3.us-west-2.amazonaws.com"));
  CHECK(pat("*.s3.*.amazonaws.com", "BKT.S3.US-WEST-2.AMAZONAWS.COM."));
  CHECK_FALSE(pat("*.s3.*.amazonaws.com", "s3.us-west-2.amazonaws.com"));
  CHECK_FALSE(pat("*.s3.*.amazonaws.com", "a.b.s3.us-west-2.amazonaws.com"));
  CHECK_FALSE(pat("*.s3.*.amazonaws.com", "bkt.s3.us-west-2.amazonaws.com.evil.org"));
  CHECK_FALSE(pat("*.s3.*.amazonaws.com", "bkt.s3.amazonaws.com"));
}

TEST_CASE("'*' stays within one label and matches [-a-zA-Z0-9_]*", "[fqdn]") {
  CHECK(pat("*.example.com", "www.example.com"));
  CHECK(pat("*.example.com", "my_host-1.example.com"));
  CHECK_FALSE(pat("*.example.com", "example.com"));
  CHECK_FALSE(pat("*.example.com", "a.b.example.com"));
  CHECK(pat("api-*.example.com", "api-v1.example.com"));
  CHECK(pat("api-*.example.com", "api-.example.com") == true);  // '*' may match nothing
  CHECK_FALSE(pat("api-*.example.com", "web-v1.example.com"));
  CHECK(pat("*-prod-*.example.com", "eu-prod-7.example.com"));
  CHECK_FALSE(pat("*-prod-*.example.com", "eu-dev-7.example.com"));
  CHECK(pat("a*b*c.x", "abc.x"));
  CHECK(pat("a*b*c.x", "aXbYc.x"));
  CHECK(pat("a*b*c.x", "abbbcbc.x"));  // needs backtracking over the first '*'
  CHECK_FALSE(pat("a*b*c.x", "acb.x"));
  CHECK(pat("www.example.*", "www.example.org"));
  CHECK_FALSE(pat("www.example.*", "www.example.org.uk"));
}

TEST_CASE("a lone '*' matches every name", "[fqdn]") {
  CHECK(pat("*", "example.com"));
  CHECK(pat("*", "a.b.c.d.example.com"));
  CHECK(pat("*", "localhost"));
  CHECK(pat("*.", "anything.at.all"));  // trailing dot normalised on the pattern too
}

TEST_CASE("a leading '**.' matches one or more labels", "[fqdn]") {
  CHECK(pat("**.example.com", "a.example.com"));
  CHECK(pat("**.example.com", "a.b.c.example.com"));
  CHECK(pat("**.EXAMPLE.com.", "A.B.example.COM"));
  CHECK_FALSE(pat("**.example.com", "example.com"));
  CHECK_FALSE(pat("**.example.com", "a.example.org"));
  CHECK_FALSE(pat("**.example.com", "aexample.com"));
  CHECK(pat("**.s3.*.amazonaws.com", "x.y.s3.eu-west-1.amazonaws.com"));
  CHECK_FALSE(pat("**.s3.*.amazonaws.com", "s3.eu-west-1.amazonaws.com"));
}

TEST_CASE("literal characters are not patterns", "[fqdn]") {
  CHECK_FALSE(pat("a.example.com", "b.example.com"));
  CHECK(pat("a.example.com", "A.example.com."));
  CHECK_FALSE(pat("*.example.com", "a.example.com.x"));
  CHECK_FALSE(pat("*.example.com", ""));  // an empty name is no name
}

TEST_CASE("long hostile names are matched quickly", "[fqdn]") {
  std::string label(63, 'a');
  std::string name;
  for (int i = 0; i < 3; ++i) name += label + ".";
  name += "com";
  CHECK(pat("*a*a*a*a*a*a*a*a*a*a*a*.*.*.com", name));
  CHECK_FALSE(pat("*a*a*a*a*a*a*a*a*a*a*b.*.*.com", name));
  CHECK(canonical_fqdn("WWW.Example.COM.") == "www.example.com");
}
