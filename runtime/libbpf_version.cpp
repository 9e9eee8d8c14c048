// The libbpf release the agent loads programs with, for `moat --version`.
#include <bpf/libbpf.h>

#include <string>

#include "runtime/runtime.h"

namespace moat::runtime {

// Asked of the loaded shared library ("v1.1"), so it names what actually runs.
std::string libbpf_version() {
  std::string v = libbpf_version_string();
  if (!v.empty() && v[0] == 'v') v.erase(0, 1);
  return v;
}

} // namespace moat::runtime
