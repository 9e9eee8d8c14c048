// The two halves of `moat check`'s verification, each run inside a session its caller
// made (verifier/check_run.cpp makes one for both): the solver lints and the proofs.
#pragma once
#include <string>

#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "verifier/session.h"
#include "verifier/verifier.h"

namespace moat::verify {

/// The W5xx lints into `diags`; an internal error message, or "".
std::string lint_in(Session& s, const Module& m, const VerifyOptions& opts, Diagnostics& diags);
/// Every `prove` statement of `m`.
ProofReport prove_in(Session& s, const Module& m, const VerifyOptions& opts);

} // namespace moat::verify
