// `moat check`'s verification in one session: the solver lints and the proofs over one
// domain and one set of inventory classes.
#pragma once
#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "verifier/verifier.h"

namespace moat {

/// The W5xx lints into `diags` (when not null), then every `prove` statement (when
/// `proofs`), over one domain and one set of inventory classes (built once: at cluster
/// scale they are a good part of the run). A lint's internal error ends the run:
/// ProofReport::internal_error, no proofs. run_solver_lints and run_proofs (verifier.h)
/// are its two halves alone.
ProofReport run_lints_and_proofs(const Module& m, const VerifyOptions& opts, Diagnostics* diags, bool proofs);

} // namespace moat
