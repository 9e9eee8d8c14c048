// What `moat --version` reports about the binary itself: its version and the commit it was
// built from (generated at build time by cmake/build_info.cmake; "unknown" without git).
#pragma once
#include <string>

namespace moat::cli {

const char* build_commit();

/// "moat VERSION (commit C)" and one line per library that decides results: LLVM (code
/// generation), Z3 (proofs), libbpf (loading).
std::string version_text();

} // namespace moat::cli
