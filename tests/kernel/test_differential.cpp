// Differential test: seeded random policies (half of them with admin and baseline tiers) x
// random flows; the interpreter, the Z3 encoding and the kernel (compiled objects, maps filled by the loader, packets through
// BPF_PROG_TEST_RUN on tc and cgroup_skb, replies through conntrack) must give one verdict.
// A mismatch prints its seed; MOAT_SEED=N reproduces it.
#include <catch2/catch.hpp>

#include "ir/interp.h"
#include "ir/printer.h"
#include "kernel_env.h"
#include "random_flows.h"
#include "runtime/flow_runner.h"
#include "verifier/verifier.h"

using namespace moat;

TEST_CASE("differential: interpreter == Z3 == kernel on random policies", "[kernel][differential]") {
  MOAT_REQUIRE_KERNEL();
  uint64_t base = test::differential_seed();
  size_t flows = 0, smt_checked = 0, ndp = 0, tiered = 0;
  for (uint64_t round = 0; round < 40; ++round) {
    uint64_t seed = base + 1000 + round;
    testing::RandomModules gen(seed);
    Module m = gen.module(1 + gen.pick(10), gen.pick(4));
    // Every other round adds the admin tiers (AdminNetworkPolicy / baseline rules, with
    // `networks` peers that match cluster addresses half the time).
    if (round % 2 == 1) gen.add_tiers(m, 1 + gen.pick(5), gen.pick(4));
    tiered += m.has_admin_tiers();
    std::vector<Endpoint> eps = test::datapath_endpoints(gen, m, 10);
    std::vector<uint8_t> elf = test::compile_for(m);
    std::string error;
    auto runner = runtime::KernelFlowRunner::create(elf, m, eps, {}, error);
    INFO("MOAT_SEED=" << seed << " " << error);
    REQUIRE(runner);
    runner->explain = false;
    VerifyOptions vo;
    vo.timeout_ms = 20000;
    SmtEngine smt(m, eps, vo);
    for (int i = 0; i < 40; ++i) {
      size_t s = gen.pick(eps.size()), d = gen.pick(eps.size());
      auto [proto, port] = gen.proto_port(m, eps[d]);
      auto k = runner->check(eps[s], eps[d], proto, port, error);
      if (!k) continue;  // no common address family for this protocol
      Verdict v = evaluate(m, Flow{&eps[s], &eps[d], proto, port});
      INFO("MOAT_SEED=" << seed << " flow " << eps[s].name << " -> " << eps[d].name << " " << to_string(proto) << "/"
                        << port);
      if (k->allowed != v.allowed || !k->attach_kinds_agree) {
        // Explain the mismatch: the kernel's per-program decisions and the policy.
        runner->explain = true;
        auto again = runner->check(eps[s], eps[d], proto, port, error);
        SourceManager sm;
        std::string eps_text;
        for (const Endpoint& e : eps) eps_text += e.name + ": " + describe_endpoint(e) + "\n";
        FAIL_CHECK("kernel:\n" << (again ? again->detail : error) << "policy:\n" << print_module(m, sm)
                                << "endpoints:\n" << eps_text);
      }
      REQUIRE(k->attach_kinds_agree);
      REQUIRE(k->allowed == v.allowed);
      if (k->allowed) REQUIRE(k->reply_passed);
      std::string smt_error;
      if (auto z = smt.verdict(s, d, proto, port, &smt_error)) {
        REQUIRE(*z == v.allowed);
        ++smt_checked;
      }
      ++flows;
      ndp += is_neighbour_discovery(proto, port);
    }
  }
  CHECK(flows > 600);
  CHECK(tiered == 20);
  CHECK(ndp >= 5);  // IPv6 neighbour discovery (always allowed) is among them (~15)
  WARN("kernel checked " << flows << " flows against the interpreter (" << ndp << " neighbour discovery), "
                         << smt_checked << " also against Z3");
}
