// Kernel test gate: tests that need bpf() SKIP (a warning and the word SKIPPED) when the
// process is not root or bpf() is refused, and FAIL instead when MOAT_REQUIRE_KERNEL=1 (CI).
#pragma once
#include <string>
#include <vector>

#include "ir/ir.h"

namespace moat::test {

/// True when kernel tests can run; otherwise reports SKIPPED (or fails under
/// MOAT_REQUIRE_KERNEL=1) and returns false.
bool kernel_or_skip();

/// Compiles the datapath for `m` (plan from the module) or fails the test.
std::vector<uint8_t> compile_for(const Module& m);

/// A workload endpoint for tests.
Endpoint workload(const std::string& ns, const std::string& name, Labels labels, const std::string& ip,
                  std::vector<NamedPort> ports = {});
Endpoint external(const std::string& name, const std::string& ip, std::vector<std::string> dns = {});

} // namespace moat::test

#define MOAT_REQUIRE_KERNEL()                   \
  do {                                          \
    if (!::moat::test::kernel_or_skip()) return; \
  } while (0)
