// `moat export` through the real binary: goldens of small exports (tests/golden/export/,
// UPDATE_GOLDENS=1 rewrites them), refusals with location and caret and nothing written,
// -o FILE and -o DIR, usage errors, and `moat diff` proving an export equivalent.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "../run_moat.h"

namespace moat::testing {

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_dir() {
  char tmpl[] = "/tmp/moat-export-cli-XXXXXX";
  return mkdtemp(tmpl);
}

void golden(const std::string& args, const std::string& name) {
  Run r = run_moat(args);
  INFO("moat " << args);
  REQUIRE(r.exit_code == 0);
  fs::path path = fs::path(MOAT_SOURCE_DIR) / "tests/golden/export" / name;
  if (std::getenv("UPDATE_GOLDENS")) std::ofstream(path) << r.out;
  REQUIRE(fs::exists(path));
  CHECK(r.out == slurp(path));
}

} // namespace

TEST_CASE("export cli: goldens", "[export][golden]") {
  golden("export --to kubernetes tests/export/inputs/shop.moat", "shop.kubernetes.yaml");
  golden("export --to cilium tests/export/inputs/shop.moat", "shop.cilium.yaml");
  golden("export --to moat tests/export/inputs/netpol.yaml", "netpol.moat");
  golden("export --to cilium tests/export/inputs/netpol.yaml", "netpol.cilium.yaml");
  // The moat language comes out in the canonical layout of `moat fmt`.
  CHECK(run_moat("fmt --check tests/golden/export/netpol.moat").exit_code == 0);
}

TEST_CASE("export cli: what the target cannot express is an error at the rule, and nothing is written",
          "[export]") {
  std::string dir = temp_dir();
  std::string out = dir + "/out.yaml";
  Run r = run_moat("export --to kubernetes examples/ml-platform.moat -o " + out, true);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("examples/ml-platform.moat:25:3: error[E910]: this deny rule cannot be expressed as a Kubernetes "
                   "NetworkPolicy: NetworkPolicy only allows") != std::string::npos);
  CHECK(r.out.find("   25 |   deny inference -> world on tcp 22;\n      |   ^~~~") != std::string::npos);
  CHECK(r.out.find("error[E911]: the FQDN peer '*.s3.*.amazonaws.com' cannot be expressed") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  // Standard output stays empty too: no half of an export.
  Run stdout_only = run_moat("export --to kubernetes examples/ml-platform.moat");
  CHECK(stdout_only.exit_code == 2);
  CHECK(stdout_only.out.empty());
  fs::remove_all(dir);
}

TEST_CASE("export cli: a port name Kubernetes would reject or Cilium would lower-case is refused", "[export]") {
  for (const char* target : {"kubernetes", "cilium"}) {
    Run r = run_moat(std::string("export --to ") + target + " tests/export/inputs/port_name.moat", true);
    INFO(r.out);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("port_name.moat:4:41: error[E912]: the named port 'HTTP' cannot be expressed as") != std::string::npos);
  }
  CHECK(run_moat("export --to moat tests/export/inputs/port_name.moat").exit_code == 0);
}

TEST_CASE("export cli: -o DIR writes one file per source, and moat diff proves it equivalent", "[export]") {
  std::string dir = temp_dir() + "/";
  Run r = run_moat("export --to cilium examples/ml-platform.moat -o " + dir, true);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("warning[W910]") != std::string::npos);  // proofs, expectations, the node pool
  CHECK(fs::exists(dir + "namespaces.yaml"));
  CHECK(fs::exists(dir + "ml-platform.yaml"));
  Run diff = run_moat("diff examples/ml-platform.moat " + dir, true);
  INFO(diff.out);
  CHECK(diff.exit_code == 0);

  Run back = run_moat("export --to moat " + dir + " -o " + dir + "back.moat", true);
  INFO(back.out);
  REQUIRE(back.exit_code == 0);
  fs::remove(dir + "namespaces.yaml");
  fs::remove(dir + "ml-platform.yaml");
  Run diff2 = run_moat("diff examples/ml-platform.moat " + dir + "back.moat", true);
  INFO(diff2.out);
  CHECK(diff2.exit_code == 0);
  fs::remove_all(dir);
}

TEST_CASE("export cli: bad input and bad usage exit 2", "[export]") {
  Run bad_target = run_moat("export --to calico examples/ml-platform.moat", true);
  CHECK(bad_target.exit_code == 2);
  CHECK(bad_target.out.find("--to must be kubernetes (k8s), cilium or moat") != std::string::npos);
  Run missing = run_moat("export examples/ml-platform.moat", true);
  CHECK(missing.exit_code == 2);
  Run syntax = run_moat_piped("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: a}\nspec: [\n",
                              "export --to moat -", true);
  CHECK(syntax.exit_code == 2);
  CHECK(syntax.out.find("error[") != std::string::npos);
}

} // namespace moat::testing
