// The selector indexes of map contents never leave out a match: on random selectors and
// endpoints — including endpoints whose namespace labels lack the name label or carry
// another name than their namespace — every (selector, workload) pair the interpreter's
// endpoint_selector_matches accepts is among the index's candidates.
#include <catch2/catch.hpp>

#include <algorithm>

#include "backend/bundle/selector_index.h"
#include "ir/interp.h"
#include "random_flows.h"
#include "random_module.h"

using namespace moat;

TEST_CASE("selector index: candidates include every match", "[backend][selector_index]") {
  uint64_t base = test::differential_seed();
  size_t matches = 0;
  for (uint64_t round = 0; round < 300; ++round) {
    uint64_t seed = base + round;
    INFO("seed " << seed << " (MOAT_SEED=" << seed << " reproduces it)");
    testing::RandomModules gen(seed);
    std::vector<Endpoint> eps = gen.endpoints(gen.module(0, 0), 30);
    for (Endpoint& e : eps) {
      if (e.kind != EndpointKind::Workload) continue;
      size_t k = gen.pick(4);
      if (k == 0) e.ns_labels.erase(kNamespaceNameLabel);       // completed from e.ns
      if (k == 1) e.ns_labels[kNamespaceNameLabel] = "y";       // the label wins over e.ns
      if (k == 2 && gen.chance(0.3)) e.ns.clear(), e.ns_labels.erase(kNamespaceNameLabel);
    }
    std::vector<EndpointSelector> sels;
    for (int i = 0; i < 40; ++i) sels.push_back(gen.selector());

    bundle::WorkloadIndex workloads;
    std::vector<const Endpoint*> workload_list;
    for (size_t i = 0; i < eps.size(); ++i) {
      workloads.add(i, eps[i]);
      if (eps[i].kind == EndpointKind::Workload) workload_list.push_back(&eps[i]);
    }
    bundle::SubjectIndex subjects(workload_list);
    for (size_t i = 0; i < sels.size(); ++i) subjects.add(i, sels[i]);

    for (size_t s = 0; s < sels.size(); ++s) {
      std::vector<size_t> cand = workloads.candidates(sels[s]);
      for (size_t e = 0; e < eps.size(); ++e) {
        if (!endpoint_selector_matches(sels[s], eps[e])) continue;
        ++matches;
        INFO("selector " << s << ", endpoint " << eps[e].name);
        CHECK(std::count(cand.begin(), cand.end(), e) == 1);
      }
    }
    for (const Endpoint* e : workload_list) {
      std::vector<size_t> cand = subjects.candidates(*e);
      CHECK(std::is_sorted(cand.begin(), cand.end()));
      CHECK(std::adjacent_find(cand.begin(), cand.end()) == cand.end());
      for (size_t s = 0; s < sels.size(); ++s)
        if (endpoint_selector_matches(sels[s], *e)) {
          INFO("selector " << s << ", endpoint " << e->name);
          CHECK(std::binary_search(cand.begin(), cand.end(), s));
        }
    }
  }
  CHECK(matches > 1000);  // the random selectors do select
}
