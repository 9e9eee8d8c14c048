// Golden outputs of `moat test` (text, JSON, JUnit) run as a user would, from the source
// directory so that locations print as repository-relative paths. UPDATE_GOLDENS=1 rewrites
// tests/golden/interp/ from the current output.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/run_moat.h"

namespace {

using moat::testing::Run;
using moat::testing::run_moat;

void check_golden(const std::string& name, const std::string& args, int expected_exit) {
  Run r = run_moat(args);
  CHECK(r.exit_code == expected_exit);
  std::string path = std::string(MOAT_SOURCE_DIR) + "/tests/golden/interp/" + name;
  const char* update = std::getenv("UPDATE_GOLDENS");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << r.out;
    WARN("updated " << path);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream want;
  want << in.rdbuf();
  CHECK(r.out == want.str());
}

} // namespace

TEST_CASE("golden: moat test explains failures (text)", "[golden][interp]") {
  check_golden("explain.txt", "test --cases tests/golden/interp/explain.cases.yaml tests/e2e/E2E-11/policy.yaml", 1);
}

TEST_CASE("golden: moat test --format json", "[golden][interp]") {
  check_golden("explain.json",
               "test --format json --cases tests/golden/interp/explain.cases.yaml tests/e2e/E2E-11/policy.yaml", 1);
}

TEST_CASE("golden: moat test --format junit", "[golden][interp]") {
  check_golden("explain.junit.xml",
               "test --format junit --cases tests/golden/interp/explain.cases.yaml tests/e2e/E2E-11/policy.yaml", 1);
}

TEST_CASE("golden: moat test on the E2E-03 truth table", "[golden][interp]") {
  check_golden("E2E-03.txt", "test --engine interp --cases tests/e2e/E2E-03/cases.yaml tests/e2e/E2E-03/policy.yaml", 0);
}

TEST_CASE("golden: moat test runs the sources' expect statements", "[golden][interp]") {
  check_golden("expects.txt", "test -v tests/golden/interp/expects.moat", 1);
}

TEST_CASE("golden: moat test checks every address of a multi-address endpoint", "[golden][interp]") {
  check_golden("multi-address.txt",
               "test --cases tests/golden/interp/multi-address.cases.yaml tests/golden/interp/multi-address.yaml", 1);
}

TEST_CASE("moat test usage errors exit 2", "[interp][cli]") {
  // An engine that is not linked in must be refused, never silently passed.
  Run r = run_moat("test --engine all --cases tests/e2e/E2E-03/cases.yaml tests/e2e/E2E-03/policy.yaml", true);
  if (r.exit_code != 0) {  // 0 only once smt and kernel are both linked in and agree
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("is not available in this build") != std::string::npos);
  }
  CHECK(run_moat("test --cases tests/golden/interp/no-such-file.yaml tests/e2e/E2E-03/policy.yaml").exit_code == 2);
  CHECK(run_moat("test tests/e2e/E2E-03/policy.yaml").exit_code == 2);  // no cases at all
  CHECK(run_moat("test --engine bogus --cases tests/e2e/E2E-03/cases.yaml tests/e2e/E2E-03/policy.yaml").exit_code == 2);
}
