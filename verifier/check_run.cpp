// One session for `moat check`'s lints and proofs (see verifier.h run_lints_and_proofs):
// the domain and the inventory classes are built once, the solver afresh for the proofs.
#include "verifier/check_passes.h"
#include "verifier/check_run.h"

namespace moat {

ProofReport run_lints_and_proofs(const Module& m, const VerifyOptions& opts, Diagnostics* diags, bool proofs) {
  ProofReport report;
  proofs = proofs && !m.proofs.empty();
  if (!diags && !proofs) return report;
  try {
    std::string error;
    if (opts.clock) opts.clock->phase("solver domain and inventory classes");
    auto s = verify::Session::make({&m}, {}, opts.inventory, opts.timeout_ms, &error);
    if (!s) {
      report.internal_error = error;
      return report;
    }
    s->set_clock(opts.clock);
    if (diags) {
      report.internal_error = verify::lint_in(*s, m, opts, *diags);
      if (!report.internal_error.empty() || !proofs) return report;
      // The lints' assumptions (their symbolic endpoints' scope) would only weigh on every
      // proof query.
      s->fresh_solver();
    }
    return verify::prove_in(*s, m, opts);
  } catch (const z3::exception& e) {
    report.internal_error = std::string("Z3: ") + e.msg();
  }
  return report;
}

ProofReport run_proofs(const Module& m, const VerifyOptions& opts) { return run_lints_and_proofs(m, opts, nullptr, true); }

std::string run_solver_lints(const Module& m, const VerifyOptions& opts, Diagnostics& diags) {
  return run_lints_and_proofs(m, opts, &diags, false).internal_error;
}

} // namespace moat
