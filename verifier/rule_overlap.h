// Which rules may share a flow: the syntactic prefilter of the per-rule lints. Two rules
// of one direction may overlap when their subjects, peers and ports each may; a rule is
// only ever compared with the rules of the namespaces its subject pins (plus the unpinned
// ones), and there either with the rules whose subject labels its subject allows, or with
// those whose peer may meet its peer (a workload selector's labels, a CIDR's nesting
// prefixes), whichever are fewer, so 10k rules in one namespace cost n log n lookups
// rather than n² comparisons.
#pragma once
#include <cstdint>
#include <vector>

#include "ir/ir.h"

namespace moat::verify {

/// Could two rules match a common flow? Conservative: false only when they cannot.
bool rules_may_overlap(const Rule& a, const Rule& b);

/// For each rule id, the other rules that may overlap it, in id order.
std::vector<std::vector<uint32_t>> overlapping_rules(const Module& m);

} // namespace moat::verify
