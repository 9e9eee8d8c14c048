// Every connection between given endpoints, as the interpreter decides it (`moat list`):
// for one (source, destination) pair, the set of protocol/ports allowed, and on request the
// verdicts behind it. The rules and isolations each endpoint's own side can read are found
// once per endpoint through the namespace index (ir/subject_index.h), and a pair tests only
// those, so the work per pair grows with the rules about its two ends, not with the module;
// endpoints no rule can tell apart are computed once (classes).
#pragma once
#include <cstddef>
#include <unordered_map>
#include <vector>

#include "ir/conn_set.h"
#include "ir/interp.h"

namespace moat {

/// Ports of one pair that share a verdict and its reasons (the same deciding rules and
/// isolations in both directions).
struct ConnSegment {
  ConnSet conns;
  Verdict verdict; // as evaluate() gives it for every port of `conns`
};

struct PairConnectivity {
  ConnSet allowed;
  std::vector<ConnSegment> segments; // only when asked: allowed and denied ports alike
};

class Connectivity {
public:
  /// `endpoints` must outlive this object (as must `m`).
  Connectivity(const Module& m, std::vector<const Endpoint*> endpoints);
  /// The connections from endpoints[src] to endpoints[dst]. Each protocol's ports are cut
  /// at every edge of a port range or named port of a rule that may decide the pair (and
  /// around neighbour discovery, which is never listed); the interpreter decides one port
  /// per piece, as every port of a piece meets the same rules.
  /// Endpoints that look alike to every rule (same kind, namespace, labels, named ports
  /// and addresses) share a class, and a pair of classes is computed once.
  const PairConnectivity& pair(size_t src, size_t dst, bool with_segments) const;
  const Endpoint& endpoint(size_t i) const { return *eps_[i]; }
  size_t size() const { return eps_.size(); }

private:
  struct Local {
    std::vector<uint32_t> egress_rules, ingress_rules; // rules whose subject selects it
    std::vector<uint32_t> egress_isolations, ingress_isolations;
  };
  PairConnectivity compute(size_t src, size_t dst, bool with_segments) const;
  const Module& m_;
  std::vector<const Endpoint*> eps_;
  std::vector<Local> local_;
  std::vector<uint32_t> class_;                                     // per endpoint
  std::vector<size_t> class_first_;                                 // per class: its first endpoint
  mutable std::unordered_map<uint64_t, PairConnectivity> cache_[2]; // without / with segments
};

} // namespace moat
