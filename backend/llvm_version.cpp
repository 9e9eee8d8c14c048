// The LLVM release the BPF code generator was built against, for `moat --version`.
#include <llvm/Config/llvm-config.h>

#include "backend/backend.h"

namespace moat::backend {

// LLVM is linked statically, so the headers' version is the one that generates code.
std::string llvm_version() { return LLVM_VERSION_STRING; }

} // namespace moat::backend
