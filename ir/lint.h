// Lints that need no solver (W4xx): cheap, syntactic checks run by `moat check`.
// Lints that need Z3 live in verifier/.
#pragma once
#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat {

struct ModuleIndexes;  // ir/subject_index.h

/// False only when no endpoint can match both selectors (a key required In disjoint value
/// sets, or Exists vs DoesNotExist). True means "may overlap" (no solver is used).
bool selectors_may_overlap(const LabelSelector& a, const LabelSelector& b);
bool selectors_may_overlap(const EndpointSelector& a, const EndpointSelector& b);

/// W401 allow without isolation, W402 FQDN egress without DNS allowed, W403 lone '*'
/// pattern, W404 allow to world on every port, W406 neighbour-discovery-only rule, W407 L7
/// rule that `moat build` will refuse.
/// `indexes`: the module's subject indexes when the caller already built them (they are
/// shared with the solver lints and proofs), else run_lints builds its own.
void run_lints(const Module& m, Diagnostics& diags, const ModuleIndexes* indexes = nullptr);
/// W410 a first-match tier rule that an earlier rule of its tier always decides before it
/// (ir/tier_lint.cpp; run by run_lints).
void run_tier_lints(const Module& m, Diagnostics& diags);

} // namespace moat
