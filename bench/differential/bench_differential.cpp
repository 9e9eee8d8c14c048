// bench_differential: runs seeded random (policy, flow) pairs through the interpreter, Z3
// and the kernel (differential.h) and prints every disagreement and a summary line. Exit 1
// on any disagreement or engine failure; 77 (skipped) without bpf() unless
// MOAT_REQUIRE_KERNEL=1, which makes that a failure; 2 on bad arguments.
//
//   bench_differential [--pairs N] [--seed S] [--engines interp,smt,kernel] [--flows F]
//                      [--kinds policy,cni,tiers,cni+tiers] [--kernel-refused] [--details N] [--quiet]
#include <algorithm>
#include <iterator>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "bench/differential/differential.h"
#include "runtime/loader.h"

using namespace moat;

namespace {

int usage(const std::string& why) {
  fmt::print(stderr,
             "bench_differential: {}\n"
             "usage: bench_differential [--pairs N] [--seed S] [--engines interp,smt,kernel] [--flows F]\n"
             "                          [--kinds policy,cni,tiers,cni+tiers] [--kernel-refused] [--details N] [--quiet]\n",
             why);
  return 2;
}

bool parse_number(const char* s, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-') return false;
  out = v;
  return true;
}

/// A comma-separated subset of `names` into `chosen` (all false first); false on an unknown name.
template <size_t N>
bool parse_list(const std::string& list, const char* const (&names)[N], bool (&chosen)[N]) {
  for (bool& c : chosen) c = false;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = std::min(list.find(',', pos), list.size());
    std::string name = list.substr(pos, comma - pos);
    auto it = std::find_if(std::begin(names), std::end(names), [&](const char* n) { return name == n; });
    if (it == std::end(names)) return false;
    chosen[it - std::begin(names)] = true;
    pos = comma + 1;
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  differential::Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](uint64_t& out) {
      if (i + 1 >= argc || !parse_number(argv[i + 1], out)) return false;
      ++i;
      return true;
    };
    uint64_t n = 0;
    if (a == "--pairs" && value(n)) o.pairs = n;
    else if (a == "--seed" && value(n)) o.seed = n;
    else if (a == "--flows" && value(n) && n > 0) o.flows_per_module = n;
    else if (a == "--details" && value(n)) o.max_details = n;
    else if (a == "--engines" && i + 1 < argc) {
      if (!parse_list(argv[++i], differential::kEngineNames, o.engines))
        return usage("--engines takes a comma-separated list of interp, smt, kernel");
    } else if (a == "--kinds" && i + 1 < argc) {
      if (!parse_list(argv[++i], differential::kKindNames, o.kinds))
        return usage("--kinds takes a comma-separated list of policy, cni, tiers, cni+tiers");
    } else if (a == "--kernel-refused") o.kernel_refused = true;
    else if (a == "--quiet") o.progress = false;
    else return usage("bad argument " + a);
  }
  int engines = o.engines[0] + o.engines[1] + o.engines[2];
  if (engines < 2) return usage("a differential needs at least two engines");
  if (o.engines[static_cast<int>(differential::Engine::Kernel)]) {
    std::string why;
    if (!runtime::kernel_bpf_available(why)) {
      const char* req = std::getenv("MOAT_REQUIRE_KERNEL");
      if (req && std::string(req) == "1") {
        fmt::print(stderr, "FAILED: kernel required (MOAT_REQUIRE_KERNEL=1) but unavailable: {}\n", why);
        return 1;
      }
      fmt::print("SKIPPED: the kernel engine needs bpf() ({}); --engines interp,smt runs without it\n", why);
      return 77;
    }
  }
  differential::Tally t = differential::run(o, stdout);
  fmt::print("{}\n", differential::summary(o, t));
  return t.disagreements || t.engine_failures ? 1 : 0;
}
