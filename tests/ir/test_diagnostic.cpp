#include <catch2/catch.hpp>

#include <set>

#include "ir/diagnostic.h"

using namespace moat;

TEST_CASE("diagnostic codes are unique and their severity matches their prefix") {
  std::set<std::string_view> seen;
  for (Code c : all_codes()) {
    std::string_view name = code_name(c);
    CHECK(seen.insert(name).second);
    char p = name[0];
    Severity s = code_severity(c);
    CHECK(((p == 'E' && s == Severity::Error) || (p == 'W' && s == Severity::Warning) ||
           (p == 'N' && s == Severity::Note)));
  }
}

TEST_CASE("diagnostics count errors") {
  Diagnostics d;
  d.report(Code::W401, {}, "w");
  CHECK_FALSE(d.has_errors());
  d.report(Code::E301, {}, "e");
  CHECK(d.error_count() == 1);
  CHECK(d.warning_count() == 1);
}
