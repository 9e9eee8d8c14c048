// `moat --version`: which moat, from which commit, on which LLVM, Z3 and libbpf, so a bug
// report or a bundle mismatch can be traced to the exact toolchain that produced it.
#include <fmt/format.h>

#include "backend/backend.h"
#include "cli/build_info.h"
#include "runtime/runtime.h"
#include "verifier/verifier.h"

namespace moat::cli {

std::string version_text() {
  return fmt::format("moat {} (commit {})\nLLVM {}\nZ3 {}\nlibbpf {}", MOAT_VERSION, build_commit(),
                     backend::llvm_version(), z3_version(), runtime::libbpf_version());
}

} // namespace moat::cli
