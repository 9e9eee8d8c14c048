// W420: a NetworkPolicy ipBlock that covers a known workload's address, whose verdict for
// that workload is exactly what the CNI profiles disagree on (docs/CNI.md).
#pragma once
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace moat {

/// One W420 per NetworkPolicy rule whose ipBlock (not an `except`) holds an address of one
/// of `endpoints`' workloads (an inventory, a cases file): at the peer, naming the first such
/// workload and what the rule does with it under the profile the module was loaded with.
void lint_ip_blocks_over_workloads(const Module& m, const std::vector<Endpoint>& endpoints, Diagnostics& diags);

} // namespace moat
