// worker_count(): how many threads parallel_for may use.
#include "ir/parallel.h"

#include <sched.h>

#include <cstdlib>
#include <string>

namespace moat {

unsigned worker_count() {
  if (const char* env = std::getenv("MOAT_JOBS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0) return static_cast<unsigned>(std::min(n, 256L));
  }
  // The cores this process may run on (a container's cpuset), not every core of the host.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? hc : 1;
}

} // namespace moat
