// `moat diff --format md`, the pull-request comment: through the real binary (a verdict line
// with counts, one row per cube with its witness and the deciding rules at file:line), and
// the writer itself cut short by its length budget with what was left out counted.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "cli/diff_markdown.h"
#include "tests/run_moat.h"

using moat::testing::Run;
using moat::testing::run_moat;

namespace {
bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}
} // namespace

TEST_CASE("diff --format md: a pull-request comment with a row per cube", "[list][diff][cli]") {
  Run r = run_moat(
      "diff examples/ml-platform.moat tests/golden/verifier/ml-platform-v2.moat --format md");
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.rfind("### moat diff: different\n", 0) == 0);
  CHECK(
      has(r.out, "| change | from | to | on | for example | decided by (new) | before (old) |\n"));
  CHECK(has(r.out, "| ➕ newly allowed | `kubeflow/{workload-type: training}` | "
                   "`kubeflow/{workload-type: training}` | "
                   "`tcp 29601..29700` |"));
  CHECK(has(r.out, "egress allow at `tests/golden/verifier/ml-platform-v2.moat:22:3`"));
  CHECK(has(r.out, "| denied: egress isolated at `examples/ml-platform.moat:9:3`"));
  CHECK(has(r.out, "| ➖ newly denied | `platform/{app: prometheus}` |"));
  // Newly allowed rows come first.
  CHECK(r.out.find("➕") < r.out.find("➖"));
  Run one = run_moat("diff examples/ml-platform.moat tests/golden/verifier/ml-platform-v2.moat "
                     "--format md --max-cubes 1");
  CHECK(has(one.out, "(more differences exist: raise `--max-cubes`)"));
  Run same = run_moat("diff examples/ml-platform.moat examples/ml-platform-yaml --format md");
  INFO(same.out);
  CHECK(same.exit_code == 0);
  CHECK(same.out.rfind("### moat diff: equivalent\n", 0) == 0);
  CHECK(has(same.out, "**0** cube(s) of flows newly allowed, **0** newly denied"));
  CHECK_FALSE(has(same.out, "| change |"));
}

TEST_CASE("diff markdown: rows stop at the length budget and the rest is counted", "[list][diff]") {
  moat::Module m;
  moat::SourceManager sm;
  moat::DiffReport r;
  r.status = moat::ProofStatus::Failed;
  for (int i = 0; i < 50; ++i) {
    moat::DiffCube c;
    c.src = "ns/{app: a" + std::to_string(i) + "}";
    c.dst = "ns/{app: b|c}"; // a '|' must not end the cell
    c.ports = "tcp 80";
    c.witness.src.name = "src", c.witness.dst.name = "dst";
    c.witness.port = 80;
    r.cubes.push_back(c);
  }
  std::string all = moat::cli::diff_markdown(m, m, sm, r, "old", "new", "different");
  CHECK(!has(all, "not shown"));
  CHECK(has(all, "`ns/{app: b\\|c}`"));
  std::string cut = moat::cli::diff_markdown(m, m, sm, r, "old", "new", "different", 2000);
  INFO(cut);
  CHECK(cut.size() <= 2200);
  CHECK(has(cut, "more cube(s) not shown"));
  size_t rows = 0;
  for (size_t p = 0; (p = cut.find("| ➕", p)) != std::string::npos; ++p)
    ++rows;
  CHECK(has(cut, "_" + std::to_string(50 - rows) + " more cube(s) not shown"));
}

TEST_CASE("diff across a workload change: the connections that appear with a new workload",
          "[list][diff][cli]") {
  // Same policy, a new checkout Deployment (with the frontend's labels) and idle gone.
  Run r = run_moat("diff tests/list/data/shop tests/list/data/shop-next");
  INFO(r.out);
  CHECK(r.exit_code == 1); // the policies are equivalent, the connections are not
  CHECK(has(r.out, "moat diff: equivalent"));
  CHECK(has(r.out, "+ web/checkout[Deployment] => db/postgres[Deployment] : TCP 5432\n"));
  CHECK(has(r.out,
            "+ 0.0.0.0-255.255.255.255[External] => web/checkout[Deployment] : All Connections\n"));
  CHECK_FALSE(has(r.out, "=> ops/idle")); // idle had no connection: nothing vanished with it
  Run j = run_moat("diff tests/list/data/shop tests/list/data/shop-next --format json");
  nlohmann::json doc = nlohmann::json::parse(j.out);
  bool found = false;
  for (const auto& c : doc["connections"])
    found = found || (c["change"] == "appeared" && c["src"] == "web/checkout[Deployment]" &&
                      c["dst"] == "db/postgres[Deployment]" && c["after"] == "TCP 5432");
  CHECK(found);
  Run md = run_moat("diff tests/list/data/shop tests/list/data/shop-next --format md");
  CHECK(
      has(md.out,
          "| appeared | `web/checkout[Deployment]` | `db/postgres[Deployment]` |  | TCP 5432 |\n"));
  // The reverse: the checkout's connections vanish.
  Run back = run_moat("diff tests/list/data/shop-next tests/list/data/shop");
  CHECK(has(back.out, "- web/checkout[Deployment] => db/postgres[Deployment] : TCP 5432\n"));
  // Identical versions: exit 0, nothing changed.
  Run same = run_moat("diff tests/list/data/shop tests/list/data/shop");
  CHECK(same.exit_code == 0);
  CHECK(has(same.out, "connections among the workloads (moat list): 0 changed"));
  // SARIF and JUnit carry them too: a gain is W604, a loss W605; JUnit fails a case for it.
  Run sarif = run_moat("diff tests/list/data/shop tests/list/data/shop-next --format sarif");
  CHECK(has(sarif.out, "connection among the workloads appeared: web/checkout[Deployment] => db/postgres[Deployment] : TCP 5432"));
  CHECK(has(sarif.out, "\"ruleId\": \"W604\""));
  Run sarif_back = run_moat("diff tests/list/data/shop-next tests/list/data/shop --format sarif");
  CHECK(has(sarif_back.out, "\"ruleId\": \"W605\""));
  Run junit = run_moat("diff tests/list/data/shop tests/list/data/shop-next --format junit");
  CHECK(junit.exit_code == 1);
  CHECK(has(junit.out, "no connection among the workloads changed"));
  CHECK(has(junit.out, "<failure message=\""));
  Run junit_same = run_moat("diff tests/list/data/shop tests/list/data/shop --format junit");
  CHECK(junit_same.exit_code == 0);
  CHECK_FALSE(has(junit_same.out, "<failure"));
}

TEST_CASE("diff --old-inventory: the old version's workloads kept elsewhere", "[list][diff][cli]") {
  // The old cluster had only the namespaces; the new one has the cart and payments.
  Run r = run_moat("diff tests/workloads/data/shop/v2 tests/workloads/data/shop/v2 --old-inventory "
                   "tests/workloads/data/shop/cluster/namespaces.yaml --inventory "
                   "tests/workloads/data/shop/cluster");
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "+ shop/cart[Deployment] => payments/payments[Deployment] : TCP 8443\n"));
  CHECK_FALSE(has(r.out, "\n- "));
}
