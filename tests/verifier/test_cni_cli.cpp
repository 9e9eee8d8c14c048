// `--cni` end to end through the real binary (docs/CNI.md): every command that reads policy
// takes it, an unknown profile is a usage error, the upstream E2E-12 case passes under calico
// and kubernetes on the interpreter and Z3 and fails under cilium, `moat build` records the
// profile and the peers it widened, and `moat diff --old-cni` names the flows a migration changes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/run_moat.h"

namespace {

using moat::testing::Run;
using moat::testing::run_moat;

const std::string kE2E12 = "--cases tests/e2e/E2E-12/cases.yaml tests/e2e/E2E-12/policy.yaml";
const std::string kPodCidr = "tests/golden/verifier/cni-pod-cidr.yaml";
const std::string kExternalOnly = "tests/golden/verifier/cni-external-only.yaml";
const std::string kCluster = "--inventory tests/golden/verifier/cni-cluster.cases.yaml";

} // namespace

TEST_CASE("cli: --cni on every command that reads policy and an unknown profile is refused", "[cni]") {
  for (const char* cmd : {"check", "test", "query", "list", "diff", "build"}) {
    INFO(cmd);
    CHECK(run_moat(std::string(cmd) + " --help").out.find("--cni") != std::string::npos);
  }
  CHECK(run_moat("diff --help").out.find("--old-cni") != std::string::npos);
  Run bad = run_moat("check --cni weave " + kPodCidr, true);
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("'weave' is not a CNI profile") != std::string::npos);
  CHECK(run_moat("diff --old-cni flannel " + kPodCidr, true).exit_code == 2);
  // One PATH is a diff only across two profiles.
  Run one = run_moat("diff " + kPodCidr, true);
  CHECK(one.exit_code == 2);
  CHECK(one.out.find("--old-cni") != std::string::npos);
}

TEST_CASE("cli: upstream E2E-12 holds under calico and kubernetes on both engines, not under cilium", "[cni]") {
  for (const char* engine : {"interp", "smt"})
    for (const char* cni : {"calico", "kubernetes"}) {
      Run r = run_moat(std::string("test --engine ") + engine + " --cni " + cni + " " + kE2E12, true);
      INFO(engine << " " << cni << "\n" << r.out);
      CHECK(r.exit_code == 0);
    }
  for (const char* engine : {"interp", "smt"}) {
    // Cilium: x/a reaches no pod through 0.0.0.0/4, so the cells the ipBlock allows fail.
    Run r = run_moat(std::string("test --engine ") + engine + " --cni cilium " + kE2E12, true);
    INFO(engine << "\n" << r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("FAIL x/a -> x/c tcp/80") != std::string::npos);
    // W420 says why, at the ipBlock: it covers the pods' addresses.
    CHECK(r.out.find("warning[W420]: ipBlock 0.0.0.0/4 covers workload x/a (10.244.0.1) and 7 more") !=
          std::string::npos);
  }
  Run calico = run_moat("test --engine interp --cni calico " + kE2E12, true);
  CHECK(calico.out.find("warning[W420]: ipBlock 0.0.0.0/4 matches workload x/a") != std::string::npos);
  CHECK(run_moat("test --engine interp --cni calico --disable W420 " + kE2E12, true).out.find("W420") ==
        std::string::npos);
}

TEST_CASE("cli: moat build records the profile and the ipBlocks that match pod addresses", "[cni]") {
  // The datapath matches such peers against pod and node addresses too (backend/DATAPATH.md),
  // so calico builds; the manifest says which peers read so and under which profile.
  std::string out = "/tmp/moat-cni-build-" + std::to_string(getpid());
  for (const char* cni : {"calico", "cilium"}) {
    std::filesystem::remove_all(out);
    Run r = run_moat(std::string("build --quiet --cni ") + cni + " -o " + out + " " + kPodCidr, true);
    INFO(cni << "\n" << r.out);
    CHECK(r.exit_code == 0);
    std::ifstream in(out + "/manifest.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find(std::string("\"cni\": \"") + cni + "\"") != std::string::npos);  // the agent reads the profile
    CHECK((text.find("\"any_address\": true") != std::string::npos) == (std::string(cni) == "calico"));
  }
  std::filesystem::remove_all(out);
}

TEST_CASE("cli: moat diff --old-cni calico --cni cilium names the flows the migration changes", "[cni]") {
  Run r = run_moat("diff -o json --old-cni calico --cni cilium " + kCluster + " " + kPodCidr, true);
  INFO(r.out);
  REQUIRE(r.exit_code == 1);
  nlohmann::json j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(j.at("old_cni") == "calico");
  CHECK(j.at("new_cni") == "cilium");
  CHECK(j.at("equivalent") == false);
  bool lost_pg = false;
  for (const auto& c : j.at("cubes")) {
    CHECK(c.at("change") == "newly denied");  // cilium only takes away here
    const auto& w = c.at("witness");
    if (w.dump().find("db/pg") != std::string::npos && w.dump().find("8080") != std::string::npos &&
        w.at("old").at("allowed") == true)
      lost_pg = true;
  }
  CHECK(lost_pg);

  // The same repository with no ipBlock over a pod address: the profiles agree.
  Run same = run_moat("diff --old-cni calico --cni cilium " + kCluster + " " + kExternalOnly, true);
  INFO(same.out);
  CHECK(same.exit_code == 0);
  CHECK(same.out.find("equivalent from --cni calico to --cni cilium") != std::string::npos);

  // Every diff format carries the change: the witness where the format has one, else the
  // result at the deciding rule (SARIF).
  for (const char* fmt : {"text", "md", "sarif", "junit"}) {
    Run f = run_moat(std::string("diff -o ") + fmt + " --old-cni calico --cni cilium " + kCluster + " " + kPodCidr, true);
    INFO(fmt << "\n" << f.out);
    CHECK(f.exit_code == 1);
    if (std::string(fmt) == "sarif") {
      CHECK(f.out.find("\"ruleId\": \"W605\"") != std::string::npos);
      CHECK(f.out.find("newly denied") != std::string::npos);
    } else {
      CHECK(f.out.find("db/pg") != std::string::npos);
    }
  }
}

TEST_CASE("cli: moat test judges dual-stack pods over both families", "[cni]") {
  // 10.244.0.0/16 holds the pods' IPv4 addresses, not their IPv6 ones: under calico shop/web
  // reaches db/pg on tcp/8080 over IPv4 only, so "allow" fails at the IPv6 pair on every
  // engine (before, a case was judged at each pod's first address only, and passed).
  const std::string cases = "--cases tests/golden/verifier/cni-dual-stack.cases.yaml " + kPodCidr;
  // (The kernel's part is the ctest e2e_all_dual_stack.)
  for (const char* engine : {"interp", "smt"}) {
    Run r = run_moat(std::string("test --engine ") + engine + " --cni calico " + cases, true);
    INFO(r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(std::string("FAIL shop/web -> db/pg tcp/8080: expected allow, ") + engine +
                     " deny (from fd00:10:244::10, to fd00:10:244::1:5)") != std::string::npos);
  }
  // Under cilium the ipBlock reaches no pod, so both families are denied and the report
  // names the first pair that failed.
  Run c = run_moat("test --engine interp --cni cilium " + cases, true);
  INFO(c.out);
  CHECK(c.out.find("FAIL shop/web -> db/pg tcp/8080: expected allow, interp deny (from 10.244.0.10, to "
                   "10.244.1.5)") != std::string::npos);
}

TEST_CASE("cli: moat query answers for each family of dual-stack pods", "[cni]") {
  Run r = run_moat("query --cni calico --inventory tests/golden/verifier/cni-dual-stack.cases.yaml " + kPodCidr +
                       " --from shop/web --to db/pg --port 8080/tcp",
                   true);
  INFO(r.out);
  CHECK(r.exit_code == 1);  // allowed over IPv4, denied over IPv6: not allowed for every packet
  CHECK(r.out.find("at 10.244.0.10 -> db/{app: pg} (namespace labels {team: db}) at 10.244.1.5 on tcp/8080: allow") !=
        std::string::npos);
  CHECK(r.out.find("at fd00:10:244::10 -> db/{app: pg} (namespace labels {team: db}) at fd00:10:244::1:5 on "
                   "tcp/8080: deny") != std::string::npos);
}
