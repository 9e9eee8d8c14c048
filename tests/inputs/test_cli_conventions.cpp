// The command-line conventions through the real binary: "did you mean" for mistyped
// commands and options (exit 2), usage lines that say `moat`, `-o FORMAT` everywhere,
// `--format json` with `--json` kept as an alias, deterministic JSON (timings only with
// --timings), warning codes switched off by flag and per object, and JUnit failures that
// agree with the exit code.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/run_moat.h"

namespace {

using moat::testing::run_moat;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t i = text.find(what); i != std::string::npos; i = text.find(what, i + 1)) ++n;
  return n;
}

constexpr const char* kCalico = "tests/inputs/conventions/two-calico.yaml";

} // namespace

TEST_CASE("a mistyped command or option gets a suggestion and exit 2", "[cli][conventions]") {
  auto r = run_moat("chekc examples/ml-platform.moat", true);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("unknown command 'chekc'; did you mean 'check'?") != std::string::npos);
  r = run_moat("check --formt json examples/ml-platform.moat", true);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("unknown option '--formt' for 'moat check'; did you mean '--format'?") != std::string::npos);
  r = run_moat("diff --max-cube 3 examples/ml-platform.moat examples/ml-platform.moat", true);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("did you mean '--max-cubes'?") != std::string::npos);
  r = run_moat("frobnicate", true);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("unknown command 'frobnicate'; commands: check, diff") != std::string::npos);
}

TEST_CASE("usage lines say moat, not the path it was run from", "[cli][conventions]") {
  auto r = run_moat("check --help", true);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Usage: moat check") != std::string::npos);
  CHECK(r.out.find(MOAT_EXE) == std::string::npos);
}

TEST_CASE("every command with formats takes -o for --format and --json stays an alias", "[cli][conventions]") {
  for (const char* cmd : {"check -o json examples/ml-platform.moat", "test -o json examples/ml-platform.moat",
                          "query -o json examples/ml-platform.moat --from 10.0.1.7 --to 8.8.8.8",
                          "diff -o json examples/ml-platform.moat examples/ml-platform.moat"}) {
    CAPTURE(cmd);
    auto r = run_moat(cmd);
    CHECK((r.exit_code == 0 || r.exit_code == 1));
    CHECK_NOTHROW(nlohmann::json::parse(r.out));
  }
  // status and observe without an agent: the formats parse (no usage error), the answer is
  // that there is no agent.
  for (const char* cmd : {"status -o json", "status --format json", "status --json", "observe --format json --count 0"}) {
    CAPTURE(cmd);
    auto r = run_moat(std::string(cmd) + " --pin-dir /nonexistent/pins --state-dir /nonexistent/state", true);
    CHECK(r.out.find("not expected") == std::string::npos);
    CHECK(r.out.find("unknown option") == std::string::npos);
  }
}

TEST_CASE("JSON output is the same for the same inputs and solver times come only with --timings", "[cli][conventions]") {
  auto a = run_moat("check -o json examples/ml-platform.moat");
  auto b = run_moat("check -o json examples/ml-platform.moat");
  CHECK(a.exit_code == 0);
  CHECK(a.out == b.out);
  CHECK(a.out.find("\"seconds\"") == std::string::npos);
  auto t = run_moat("check -o json --timings examples/ml-platform.moat");
  CHECK(t.out.find("\"seconds\"") != std::string::npos);
  auto d = run_moat("diff -o json examples/ml-platform.moat examples/ml-platform.moat");
  CHECK(d.out.find("\"seconds\"") == std::string::npos);
}

TEST_CASE("warning codes switched off: per object by annotation, everywhere by --disable", "[cli][conventions]") {
  auto r = run_moat(std::string("check ") + kCalico, true);
  CHECK(r.exit_code == 0);
  CHECK(count(r.out, "warning[W212]") == 1);  // deny-egress only
  CHECK(r.out.find("two-calico.yaml:12:") != std::string::npos);  // the second object's kind
  CHECK(r.out.find("two-calico.yaml:3:") == std::string::npos);
  CHECK(run_moat(std::string("check --werror ") + kCalico).exit_code == 1);
  r = run_moat(std::string("check --werror --disable W212 ") + kCalico, true);
  CHECK(r.exit_code == 0);
  CHECK(count(r.out, "W212") == 0);
  CHECK(run_moat(std::string("check --werror --disable W401,W212 ") + kCalico).exit_code == 0);
  // Errors cannot be switched off; unknown codes are usage errors.
  r = run_moat(std::string("check --disable E201 ") + kCalico, true);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("only warnings and notes") != std::string::npos);
  r = run_moat(std::string("check --disable W999 ") + kCalico, true);
  CHECK(r.exit_code == 2);
  // In an annotation, a bad code is a warning (W808) and the rest still applies.
  r = run_moat("check tests/inputs/conventions/bad-disable.yaml", true);
  CHECK(count(r.out, "warning[W808]") == 2);
  CHECK(r.out.find("W2122 is not a moat diagnostic code") != std::string::npos);
  CHECK(r.out.find("E201 is an error") != std::string::npos);
  CHECK(count(r.out, "warning[W212]") == 1);
}

TEST_CASE("JUnit failures agree with the exit code", "[cli][conventions]") {
  auto r = run_moat(std::string("check -o junit ") + kCalico);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("<failure") == std::string::npos);
  CHECK(r.out.find("failures=\"0\"") != std::string::npos);
  CHECK(r.out.find("<system-out>") != std::string::npos);  // the warning is still shown
  r = run_moat(std::string("check -o junit --werror ") + kCalico);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("<failure") != std::string::npos);
}
