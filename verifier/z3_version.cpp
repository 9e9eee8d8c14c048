// The Z3 release the prover runs on, for `moat --version`.
#include <z3.h>

#include <string>

#include "verifier/verifier.h"

namespace moat {

// Asked of the loaded shared library, not the headers: a Debian upgrade of libz3 changes it
// without a rebuild of moat.
std::string z3_version() {
  unsigned major = 0, minor = 0, build = 0, revision = 0;
  Z3_get_version(&major, &minor, &build, &revision);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build);
}

} // namespace moat
