// runtime: loads compiled objects with libbpf, fills maps, attaches, enforces.
// Only this library (and the kernel test harness) includes libbpf.
#pragma once
#include "ir/ir.h"

#include <string>

namespace moat::runtime {

/// The version of the libbpf shared library in use ("1.1"), for `moat --version`.
std::string libbpf_version();

} // namespace moat::runtime
