// Exact satisfiability of a selector without the solver, in the every-endpoint scope: can
// some well-formed workload match it? Pod label keys are independent; the namespace side
// depends on the namespace name, because declared namespaces have fixed labels. The
// lints use it to skip solver queries whose answer is plain (most selectors); every
// "unsatisfiable" answer is still confirmed by the solver before it is reported.
#pragma once
#include "ir/ir.h"
#include "verifier/domain.h"

namespace moat::verify {

bool selector_satisfiable(const EndpointSelector& s, const Domain& d);

/// The conjunction of two selectors (every requirement of both).
EndpointSelector conjoin(const EndpointSelector& a, const EndpointSelector& b);

} // namespace moat::verify
