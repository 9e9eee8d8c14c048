// The differential at scale: seeded random (policy, flow) pairs judged by the interpreter
// (ir/interp.h, which defines verdicts), the Z3 encoding (verifier/) and the compiled
// datapath in the running kernel (runtime::KernelFlowRunner); every pair on which two
// engines differ is reported with the seed that reproduces it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace moat::differential {

enum class Engine : uint8_t { Interp, Smt, Kernel };
inline constexpr const char* kEngineNames[3] = {"interp", "smt", "kernel"};
inline const char* to_string(Engine e) { return kEngineNames[static_cast<int>(e)]; }

/// Kinds of random module, by what they add to NetworkPolicy-like rules ("policy", "cni",
/// "tiers", "cni+tiers"); index = bit 0 any-address CIDRs, bit 1 admin / baseline tiers.
inline constexpr const char* kKindNames[4] = {"policy", "cni", "tiers", "cni+tiers"};

/// Modules the build refuses (none of the generated kinds since the datapath enforces the
/// admin tiers and cluster-address CIDRs): they go through the interpreter and Z3 only,
/// counted apart and never as agreeing, unless Options::kernel_refused is set.
inline constexpr bool kKernelRunsRefusedModules = false;

struct Options {
  uint64_t seed = 20261207;       // module i uses seed + i (MOAT_SEED of a disagreement)
  size_t pairs = 100000;          // stop starting modules once this many pairs ran
  size_t flows_per_module = 300;  // flows drawn per module (pairs without a packet skipped)
  bool engines[3] = {true, true, true};
  /// Which kinds of module to run (rounds of other kinds are skipped, their seeds unused):
  /// policy rules only; with the kubernetes / calico ipBlock meaning (any-address CIDRs);
  /// with admin and baseline tiers; with both.
  bool kinds[4] = {true, true, true, true};
  bool kernel_refused = kKernelRunsRefusedModules;
  size_t max_details = 20;        // full printouts (policy, endpoints, kernel trace)
  bool progress = true;           // a line on stderr every ~10%
  uint32_t smt_timeout_ms = 20000;
};

struct EngineStats {
  size_t pairs = 0;
  double setup_s = 0;  // per module: Z3 encoding; compile + load + map fill
  double compile_s = 0;  // kernel: the LLVM part of setup_s
  double check_s = 0;  // per pair
};

struct Tally {
  size_t modules = 0, pairs = 0;
  size_t allowed = 0;                     // by the interpreter (or the first engine run)
  size_t tier_modules = 0, any_address_modules = 0;
  /// Modules the kernel did not judge, by reason ("E228", "any-address CIDR"), and their pairs.
  std::map<std::string, size_t> kernel_refused;
  size_t kernel_refused_pairs = 0;
  size_t disagreements = 0;
  size_t engine_failures = 0;             // Z3 unknown / timeout, kernel errors
  EngineStats engine[3];
  double wall_s = 0;
};

/// Runs the differential; disagreements and failures are printed to `out` as they occur.
Tally run(const Options& o, FILE* out);

/// The one-line summary (pairs, per-engine pairs/s, refused modules, disagreements).
std::string summary(const Options& o, const Tally& t);

} // namespace moat::differential
