// backend: lowers an ir::Module to eBPF objects through LLVM, plus the bundle manifest.
// Only this library includes LLVM headers. Entry points:
//   check_buildable  - the policy can be enforced by the datapath (E7xx diagnostics if not);
//   compile_datapath - one object (tc + cgroup_skb programs, BTF maps) for a DatapathPlan;
//   build_bundle     - every object of a bundle and its manifest (moat build).
// Environment failures (LLVM errors) come back as a message; policy mistakes as diagnostics.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backend/bundle/manifest.h"
#include "backend/bundle/plan.h"
#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "ir/source.h"

namespace moat::backend {

/// Reports E701 for every rule with L7 HTTP constraints (the datapath cannot enforce them
/// and must never fail open) and E702 when there are too many rules for the counter ids.
/// Returns true when the module can be compiled.
bool check_buildable(const Module& m, Diagnostics& diags);

struct CompileOptions {
  std::string llvm_ir;      // out: the optimized LLVM IR, when keep_ir is set
  bool keep_ir = false;
};

/// Compiles the datapath for `plan` into an ELF object (`name` names the LLVM module).
/// Returns false with `error` set when LLVM fails (never for a valid plan).
bool compile_datapath(const bundle::DatapathPlan& plan, const std::string& name, std::vector<uint8_t>& elf,
                      std::string& error, CompileOptions* opts = nullptr);

/// A built bundle in memory; bundle::write_bundle puts it on disk.
struct BuildOutput {
  bundle::Manifest manifest;
  std::vector<std::vector<uint8_t>> objects;  // parallel to manifest.objects
};

/// check_buildable, then one object per distinct plan ("default" for every workload, plus
/// one per node pool whose admitted workloads need fewer lookups) and the manifest.
/// `sources` are the files the module was loaded from (hashed into the manifest). The
/// module's rules and isolations move into the manifest: pass an rvalue to avoid a copy.
bool build_bundle(Module m, const SourceManager& sm, BuildOutput& out, Diagnostics& diags, std::string& error);

/// The LLVM release the code generator is built from ("19.1.7"), for `moat --version`.
std::string llvm_version();

} // namespace moat::backend
