// bench_node_maps [--repeat N] BUNDLE NODE.yaml INVENTORY...: times the agent's computation of one
// node's map contents — the same calls `moat agent` makes (runtime/agent/agent.cpp:
// read_bundle, load_node, load_inventory, derive, then compute_map_contents as in
// generation.cpp's fill) — without a kernel. The one step that needs the kernel, finding
// each local pod's attach point, is replaced by made-up interface numbers for the pods
// the node runs. The map computation runs once more N times (default 5) with the same
// identity allocator, as the agent recomputes on every inventory or DNS change; the median
// is reported. Times are CPU times of this process (the machine is shared; wall time
// swings with its load) except the total, which run.sh takes. Exit 1 on bad input.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "backend/bundle/manifest.h"
#include "backend/bundle/map_contents.h"
#include "runtime/agent/desired.h"
#include "runtime/inventory.h"

namespace {

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  using namespace moat;
  using namespace moat::runtime;
  int repeat = 5;
  int arg = 1;
  if (argc > 2 && std::string(argv[1]) == "--repeat") {
    repeat = std::max(1, std::atoi(argv[2]));
    arg = 3;
  }
  if (argc - arg < 3) {
    std::fprintf(stderr, "usage: bench_node_maps [--repeat N] BUNDLE NODE.yaml INVENTORY...\n");
    return 1;
  }
  const char* bundle_dir = argv[arg];
  const char* node_file = argv[arg + 1];
  std::vector<std::string> inventory(argv + arg + 2, argv + argc);

  double t = cpu_ms();
  std::string error;
  auto bundle = bundle::read_bundle(bundle_dir, error);
  if (!bundle) {
    std::fprintf(stderr, "bench_node_maps: %s\n", error.c_str());
    return 1;
  }
  double t_bundle = cpu_ms() - t;

  t = cpu_ms();
  SourceManager sm;
  Diagnostics diags;
  auto node = load_node(node_file, sm, diags);
  auto inv = load_inventory(inventory, sm, diags);
  if (!node || !inv || diags.has_errors()) {
    std::fprintf(stderr, "bench_node_maps: cannot read the node or the inventory (%zu error(s))\n",
                 diags.error_count());
    return 1;
  }
  double t_inventory = cpu_ms() - t;

  // Stand-ins for attach::find_attach_points: every workload pod placed on the node, in
  // inventory order, on its own interface.
  std::vector<attach::PodAttach> found;
  for (const KubePod& pod : inv->pods)
    if (pod.is_workload() && pod.ep.node == node->name) {
      attach::PodAttach a;
      a.pod = &pod;
      a.iface = "bench" + std::to_string(found.size());
      a.ifindex = static_cast<int>(1000 + found.size());
      found.push_back(std::move(a));
    }

  // The agent's cluster source derives the live addresses once per inventory version.
  const inventory::LiveAddresses live(*inv);
  t = cpu_ms();
  agent::Desired d = agent::derive(bundle->manifest, *node, *inv, live, found, {}, {}, agent::MisfitPolicy::Enforce, diags);
  double t_derive = cpu_ms() - t;
  t = cpu_ms();
  bundle::IdentityAllocator ids;
  bundle::MapContents c = bundle::compute_map_contents(bundle->manifest.policy, d.endpoints, d.locals, ids);
  double t_maps = cpu_ms() - t;

  std::vector<double> again;
  for (int i = 0; i < repeat; ++i) {
    Diagnostics quiet;
    t = cpu_ms();
    agent::Desired d2 =
        agent::derive(bundle->manifest, *node, *inv, live, found, {}, {}, agent::MisfitPolicy::Enforce, quiet);
    bundle::MapContents c2 = bundle::compute_map_contents(bundle->manifest.policy, d2.endpoints, d2.locals, ids);
    again.push_back(cpu_ms() - t);
    if (c2.policy.size() != c.policy.size() || c2.hosts.size() != c.hosts.size()) {
      std::fprintf(stderr, "bench_node_maps: a recomputation gave other maps\n");
      return 1;
    }
  }

  std::printf("node %s: %zu local pod(s) of %zu, %zu rule(s), %zu identities\n", node->name.c_str(), found.size(),
              inv->pods.size(), bundle->manifest.policy.rules.size(), c.identities.size());
  std::printf("entries: hosts %zu, ipcache %zu, endpoints %zu, policy_exact %zu, policy %zu\n", c.hosts.size(),
              c.ipcache.size(), c.endpoints.size(), c.policy_exact.size(), c.policy.size());
  std::printf("cpu ms: read bundle %.0f, read node + inventory %.0f, derive %.1f, map contents %.1f, "
              "derive + map contents again %.1f (median of %d)\n",
              t_bundle, t_inventory, t_derive, t_maps, median(again), repeat);
  return 0;
}
