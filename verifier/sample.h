// Concrete sample flows for a rule, built from its own selectors, peer and ports: a
// workload with the labels the subject asks for, a remote end the peer matches, the
// rule's first port. The lints replay a sample through the interpreter; when the rule is
// the one that decides it, the rule plainly matters and no solver query is needed.
#pragma once
#include <optional>

#include "ir/ir.h"
#include "verifier/domain.h"

namespace moat::verify {

struct SampleFlow {
  Endpoint local, remote;
  Protocol proto = Protocol::TCP;
  uint16_t port = 0;
  size_t addr = 0;  // the remote end's address the peer matches (several: several hosts)
};

/// nullopt when the rule's parts are not easy to instantiate (the solver decides then).
std::optional<SampleFlow> sample_flow(const Rule& r, const Domain& d);

} // namespace moat::verify
