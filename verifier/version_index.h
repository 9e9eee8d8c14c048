// One module's rules and isolations indexed by the namespaces their subjects pin, built
// once per run, so that a question about one selector or one endpoint (which rules can
// select it? what does the interpreter say about this flow?) reads that namespace's
// items and the unpinned ones, never the whole module.
#pragma once
#include <vector>

#include "ir/interp.h"
#include "ir/ir.h"
#include "ir/subject_index.h"

namespace moat::verify {

struct VersionIndex {
  explicit VersionIndex(const Module& m);
  const Module& m;
  SubjectIndex rules;       // ids: indices into Module::rules
  SubjectIndex isolations;  // ids: indices into Module::isolations

  /// Sorted ids of the rules (isolations) whose subject may select a workload `sel`
  /// selects, for each of `sels` (a superset: callers' filters test each).
  std::vector<uint32_t> rule_candidates(const std::vector<const EndpointSelector*>& sels) const;
  std::vector<uint32_t> isolation_candidates(const std::vector<const EndpointSelector*>& sels) const;
  /// evaluate(m, flow), reading only the rules and isolations of the ends' namespaces.
  Verdict evaluate(const Flow& flow) const;
};

} // namespace moat::verify
