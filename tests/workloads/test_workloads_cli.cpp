// Workloads through the real binary: the shop repository (tests/workloads/data/shop: two
// Namespaces, Deployments cart and payments, NetworkPolicies v1 / v2 where v2 lets the cart
// reach payments on 8443) with `--inventory` pointing at its Deployments. A proof or diff
// over an inventory never succeeds because nothing matched, and `moat query` names
// workloads the kubectl way.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "tests/run_moat.h"

namespace {

using moat::testing::Run;
using moat::testing::run_moat;

const std::string kShop = "tests/workloads/data/shop/";
const std::string kInventory = " --inventory " + kShop + "cluster ";

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

} // namespace

TEST_CASE("check --inventory: the cart's egress proof fails with the payments counterexample", "[workloads][cli]") {
  Run r = run_moat("check " + kShop + "v2 " + kShop + "cart.moat" + kInventory, true);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "FAILED"));
  CHECK(has(r.out, "shop/cart[Deployment]"));
  CHECK(has(r.out, "payments/payments[Deployment]"));
  CHECK(has(r.out, "8443"));
  // kube-system is not in the repository: the `dns` item of the allowed set matches nothing.
  CHECK(has(r.out, "W607"));
  // The Deployments without their Namespaces: the namespaces' labels are unknown, which the
  // inventory says (W804) rather than silently assume.
  Run one = run_moat("check " + kShop + "v2 " + kShop + "cart.moat --inventory " + kShop + "cluster/deployments.yaml", true);
  INFO(one.out);
  CHECK(has(one.out, "warning[W804]: namespace 'payments' of workload payments/payments[Deployment]"));
  // v1 keeps the cart to DNS: proved over the inventory, non-vacuously.
  Run v1 = run_moat("check " + kShop + "v1 " + kShop + "cart.moat" + kInventory, true);
  INFO(v1.out);
  CHECK(v1.exit_code == 0);
  CHECK(has(v1.out, "proved"));
  // Without --inventory: every possible endpoint, the same failure.
  Run every = run_moat("check " + kShop + "v2 " + kShop + "cart.moat", true);
  INFO(every.out);
  CHECK(every.exit_code == 1);
  CHECK(has(every.out, "FAILED"));
}

TEST_CASE("check --inventory: a proof whose subject matches no workload is E606, never proved", "[workloads][cli]") {
  Run r = run_moat("check --format json " + kShop + "v1 " + kShop + "typo.moat" + kInventory);
  INFO(r.out);
  CHECK(r.exit_code == 2);
  auto j = nlohmann::json::parse(r.out);
  bool e606 = false;
  for (const auto& d : j.at("diagnostics"))
    if (d.at("code") == "E606") {
      e606 = true;
      CHECK(d.at("location").at("file") == kShop + "typo.moat");
      CHECK(d.at("location").at("line") == 2);
    }
  CHECK(e606);
  REQUIRE(j.at("proofs").size() == 1);
  CHECK(j.at("proofs")[0].at("status") != "proved");
  // An inventory with no workload at all (a Namespace only) is the same.
  Run empty = run_moat("check " + kShop + "v2 " + kShop + "cart.moat --inventory " + kShop + "cluster/namespaces.yaml", true);
  INFO(empty.out);
  CHECK(empty.exit_code == 2);
  CHECK(has(empty.out, "E606"));
  CHECK(has(empty.out, "0 proved"));
}

TEST_CASE("check DIR: Deployments next to the policies are read, not skipped", "[workloads][cli]") {
  Run r = run_moat("check " + kShop + "cluster " + kShop + "v2", true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(has(r.out, "N005"));
  CHECK_FALSE(has(r.out, "not handled"));
}

TEST_CASE("diff --inventory reports what it compared and finds the regression", "[workloads][cli]") {
  Run r = run_moat("diff " + kShop + "v1 " + kShop + "v2" + kInventory, true);
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "different"));
  CHECK(has(r.out, "over 2 inventory endpoint(s), 2 selected by a policy"));
  CHECK(has(r.out, "payments/payments[Deployment]"));
  // An inventory none of whose endpoints a policy selects compares nothing: exit 2.
  Run none = run_moat("diff " + kShop + "v1 " + kShop + "v2 --inventory tests/workloads/data/elsewhere.yaml", true);
  INFO(none.out);
  CHECK(none.exit_code == 2);
  CHECK(has(none.out, "E608"));
  CHECK_FALSE(has(none.out, "equivalent"));
  Run empty = run_moat("diff " + kShop + "v1 " + kShop + "v2 --inventory " + kShop + "cluster/namespaces.yaml", true);
  INFO(empty.out);
  CHECK(empty.exit_code == 2);
}

TEST_CASE("query names workloads the kubectl way", "[workloads][cli]") {
  const std::string base = "query " + kShop + "cluster " + kShop + "v2 ";
  Run r = run_moat(base + "--from shop/cart --to payments/payments --port 8443/tcp", true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "shop/cart[Deployment]"));
  CHECK(has(r.out, "allow"));
  // With --inventory only (policies alone on the command line), the same names.
  Run inv = run_moat("query " + kShop + "v2 --from shop/cart --to payments/payments --port 8443/tcp" + kInventory, true);
  INFO(inv.out);
  CHECK(inv.exit_code == 0);
  // The exact name with its kind works too.
  CHECK(run_moat(base + "--from 'shop/cart[Deployment]' --to payments/payments --port 8443/tcp").exit_code == 0);
  // Selector syntax stays.
  CHECK(run_moat(base + "--from 'shop/{app: cart}' --to 'payments/{app: payments}' --port 8443/tcp").exit_code == 0);
  // An unknown name is exit 2 with a did-you-mean, never a label key or a DNS name.
  Run typo = run_moat(base + "--from shop/kart --to payments/payments --port 8443/tcp", true);
  INFO(typo.out);
  CHECK(typo.exit_code == 2);
  CHECK(has(typo.out, "did you mean 'shop/cart[Deployment]'"));
  Run bare = run_moat(base + "--from cart --to payments/payments --port 8443/tcp", true);
  INFO(bare.out);
  CHECK(bare.exit_code == 2);
  CHECK(has(bare.out, "did you mean 'shop/cart[Deployment]'"));
  // Pods of a ReplicaSet whose object is absent (kubectl get pods): the ReplicaSet is the
  // workload, and its Deployment's name finds it through pod-template-hash.
  const std::string boutique = std::string(MOAT_CORPUS_DIR) + "/np-guard__netpol-analyzer/tests/onlineboutique/";
  Run rs = run_moat("query " + boutique + "netpols.yaml " + boutique + "ns.yaml " + boutique +
                        "pods.yaml --from default/checkoutservice --to default/cartservice --port 7070/tcp",
                    true);
  INFO(rs.out);
  CHECK(rs.exit_code == 0);
  CHECK(has(rs.out, "default/cartservice-74f56fd4b[ReplicaSet]"));
}
