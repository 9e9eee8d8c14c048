// Optimizes a BPF module with LLVM's O2 pipeline (with the BPF target's own passes) and
// emits the ELF object in memory. The only place that touches LLVM's target machinery.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class Module;
}

namespace moat::codegen {

/// Runs the O2 pipeline on `m` (whose triple and data layout it sets to bpfel) and emits
/// an ELF object into `out`. Returns false with `error` set when LLVM fails.
bool optimize_and_emit(llvm::Module& m, std::vector<uint8_t>& out, std::string& error);

/// The textual LLVM IR of `m` (for `moat build --emit-llvm` and debugging).
std::string module_text(const llvm::Module& m);

} // namespace moat::codegen
