// Rules and isolations bucketed by the namespaces their subject pins, and inside each
// bucket by the label values they pin (ir/label_index.h), so that "which items may select
// an endpoint that selector S selects" looks at S's namespaces (plus the items that pin
// none) and there at the items S's labels allow, instead of at every item: the lints ask
// it once per rule, and a scan per rule would make a 25,000-namespace cluster, or 10,000
// policies in one namespace, quadratic.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/ir.h"
#include "ir/label_index.h"

namespace moat {

/// The namespaces a selector pins (`kubernetes.io/metadata.name In [...]`); empty: any.
const std::vector<std::string>* pinned_namespaces(const EndpointSelector& s);

class SubjectIndex {
public:
  /// Adds item `id` whose subject is `subject`.
  void add(const EndpointSelector& subject, uint32_t id);
  /// Items whose subject may share a namespace with `s` and whose pinned labels do not
  /// exclude `s`'s (a superset of those that may overlap it: callers still test each),
  /// sorted, each once.
  std::vector<uint32_t> candidates(const EndpointSelector& s) const;
  /// Items whose subject may select workload `e` (a superset: callers still test each),
  /// sorted, each once.
  std::vector<uint32_t> candidates(const Endpoint& e) const;
  /// Items whose subject may select a workload of namespace `ns`, sorted, each once.
  std::vector<uint32_t> in_namespace(const std::string& ns) const;

private:
  std::unordered_map<std::string, LabelIndex> by_ns_;
  LabelIndex anywhere_, all_;
};

/// Index of a module's isolations (ids are indices into Module::isolations).
SubjectIndex isolation_index(const Module& m);
/// Index of a module's policy-tier rules (ids are Rule::id, indices into Module::rules).
SubjectIndex rule_index(const Module& m);

/// Both indexes of one module, built once (side by side on two cores) and shared by the
/// passes of one `moat check`: the syntactic lints, the solver lints and the proofs.
struct ModuleIndexes {
  SubjectIndex rules, isolations;
  explicit ModuleIndexes(const Module& m);
};

} // namespace moat
