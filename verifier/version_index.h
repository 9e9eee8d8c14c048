// One module's rules and isolations indexed by the namespaces their subjects pin, so that a
// question about one selector or one endpoint (which rules can select it? what does the
// interpreter say about this flow?) reads that namespace's items and the unpinned ones,
// never the whole module. Built for a diff, whose questions touch a few namespaces of a
// cluster's thousands: one pass files each item's id under the namespaces it pins, and a
// namespace's label postings (what SubjectIndex keeps for every namespace up front) are
// built only when a question first reads that namespace.
#pragma once
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/interp.h"
#include "ir/ir.h"
#include "ir/label_index.h"
#include "ir/subject_index.h"  // pinned_namespaces

namespace moat::verify {

/// SubjectIndex's answers (ir/subject_index.h, the same ids for the same question), with
/// the label postings of each namespace built on first use.
class LazySubjectIndex {
public:
  /// Item i's subject is *subjects[i]; the selectors must outlive the index.
  explicit LazySubjectIndex(std::vector<const EndpointSelector*> subjects);
  /// Items whose subject may share a namespace with `s` and whose pinned labels do not
  /// exclude `s`'s (a superset of those that may overlap it), sorted, each once.
  std::vector<uint32_t> candidates(const EndpointSelector& s) const;
  /// Items whose subject may select a workload of namespace `ns`, sorted, each once.
  std::vector<uint32_t> in_namespace(std::string_view ns) const;

private:
  struct Bucket {
    std::vector<uint32_t> ids;
    mutable std::unique_ptr<LabelIndex> labels;  // built on first use
  };
  const LabelIndex& labels(const Bucket& b) const;
  std::vector<const EndpointSelector*> subjects_;
  std::unordered_map<std::string_view, Bucket> by_ns_;  // views into the subjects' values
  Bucket anywhere_, all_;
};

struct VersionIndex {
  explicit VersionIndex(const Module& m);
  const Module& m;
  LazySubjectIndex rules;       // ids: indices into Module::rules
  LazySubjectIndex isolations;  // ids: indices into Module::isolations

  /// Sorted ids of the rules (isolations) whose subject may select a workload `sel`
  /// selects, for each of `sels` (a superset: callers' filters test each).
  std::vector<uint32_t> rule_candidates(const std::vector<const EndpointSelector*>& sels) const;
  std::vector<uint32_t> isolation_candidates(const std::vector<const EndpointSelector*>& sels) const;
  /// evaluate(m, flow), reading only the rules and isolations of the ends' namespaces.
  Verdict evaluate(const Flow& flow) const;
};

} // namespace moat::verify
