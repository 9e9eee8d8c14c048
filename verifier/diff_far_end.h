// The far end of a diff region: what the remote end of a flow must be for one version to
// allow it, when the region's local end is certainly isolated in that version. A changed
// isolation (or a rule with an any-endpoint peer) leaves the remote end free, so without
// this every rule and isolation of the other direction — the whole cluster's — would enter
// each query; with it only those that may select one of the allow rules' peers do.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/ir.h"
#include "verifier/version_index.h"

namespace moat::verify {

/// Peers that match no workload (external addresses, names, non-workload entities): a rule
/// with one constrains the far end to have no policy of its own in its direction.
bool external_only(const Peer& p);

/// Syntactic: does every workload `b` selects also match `a`? True only when certain (each
/// requirement of `a` follows from one of `b` on the same key and side).
bool selector_covers(const EndpointSelector& a, const EndpointSelector& b);

/// The remote-end constraint of the flows whose local end (direction `dir`) matches
/// `local` and that `v` allows.
struct FarEnd {
  /// No narrowing: the local end may be unisolated in this version (or an allow rule's peer
  /// may be any workload), so the remote end can be anything.
  bool free = true;
  /// When not free: the remote end matches one of these peers (empty: the version allows no
  /// flow of the region at all). They are the allow rules of `dir` whose subject may select
  /// the local end (admin Allow rules included: they decide before isolation).
  std::vector<const Peer*> peers;
};
FarEnd far_end(const VersionIndex& v, Direction dir, const EndpointSelector& local);

/// "May a subject select a workload some of these selectors select?", answered per
/// subject through the namespaces the selectors pin (the far-direction rule filter).
class SelectorSet {
public:
  void add(const EndpointSelector& s);
  bool may_overlap(const EndpointSelector& subject) const;

private:
  std::unordered_map<std::string, std::vector<const EndpointSelector*>> by_ns_;
  std::vector<const EndpointSelector*> anywhere_, all_;
};

} // namespace moat::verify
