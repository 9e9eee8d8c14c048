// The inventory scope's endpoints grouped into classes the encoding cannot tell apart, and
// indexes that answer "which classes does this selector match" without scanning the
// inventory. Two workloads are one class when they have the same namespace labels, pod
// labels and named ports as far as the domain sees them (values no selector mentions are
// one value to it) and, when the inventory has hosts, the same node: what Cilium calls an
// identity and Antrea a group. The solver then ranges over classes, not pods, and a query
// about one rule over only the classes its selectors can match.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/ir.h"
#include "verifier/domain.h"

namespace moat::verify {

/// One alternative of a class as the solver sees it: a concrete member at one address.
struct ClassPin {
  size_t member;  // index into the inventory
  int addr;       // index into the member's ips, or -1
  unsigned ident; // the identity "self" compares (one per pin of a workload class)
};

struct EndpointClass {
  /// Workload classes: the representative and, when the class holds two endpoints of
  /// different identity, one of the other identity (so the solver sees both "to itself"
  /// and "to another pod of the same class"). External endpoints: one pin per address.
  std::vector<ClassPin> pins;
  size_t size = 0;  // inventory endpoints in the class
};

class InventoryClasses {
public:
  InventoryClasses(const std::vector<Endpoint>& inventory, const Domain& d);
  const std::vector<EndpointClass>& classes() const { return classes_; }
  const std::vector<Endpoint>& inventory() const { return inv_; }
  const Endpoint& representative(uint32_t c) const { return inv_[classes_[c].pins.front().member]; }
  /// The class of inventory endpoint `i`.
  uint32_t class_of(size_t i) const { return class_of_[i]; }
  /// The identity value of inventory endpoint `i` (equal for "self", see ClassPin).
  unsigned ident(size_t i) const { return ident_[i]; }

  /// Classes whose endpoints `s` selects (exactly, by the interpreter's matcher), sorted.
  const std::vector<uint32_t>& matching(const EndpointSelector& s);
  /// The same, with `key` = selector_key(s) already at hand.
  const std::vector<uint32_t>& matching(const EndpointSelector& s, const std::string& key);
  /// matching() of every selector of `sels` (`keys`: their selector keys), the ones not yet
  /// cached computed in parallel (ir/parallel.h), so that later calls only look them up.
  void match_all(const std::vector<const EndpointSelector*>& sels, const std::vector<std::string>& keys);
  /// Classes with an endpoint `p` may match, sorted (exact for selectors and CIDRs; for
  /// other peers every class of the kinds it can match). Cached by the peer's printed form:
  /// the lints ask it several times per rule.
  const std::vector<uint32_t>& matching(const Peer& p);
  /// Sets marked[c] for each class c that `s` selects (marked: one entry per class), as
  /// matching() would list them, but testing only classes not marked yet and caching
  /// nothing: for a pass over every subject of a cluster, most of them pinning a namespace
  /// an earlier subject already covered.
  void mark_matching(const EndpointSelector& s, std::vector<char>& marked) const;
  /// Workload classes of namespace `ns`, sorted.
  const std::vector<uint32_t>& in_namespace(const std::string& ns) const;
  /// Every class, in order.
  const std::vector<uint32_t>& all() const { return all_; }
  /// Inventory endpoints in the given classes.
  size_t endpoints_in(const std::vector<uint32_t>& classes) const;

private:
  const std::vector<Endpoint>& inv_;
  std::vector<EndpointClass> classes_;
  std::vector<uint32_t> class_of_;
  std::vector<unsigned> ident_;
  std::vector<uint32_t> all_, workloads_, externals_, others_, none_;
  std::unordered_map<std::string, std::vector<uint32_t>> by_ns_, by_pod_label_;
  std::vector<uint32_t> match_peer(const Peer& p);
  std::vector<uint32_t> match_selector(const EndpointSelector& s) const;
  /// Lists holding every class `s` may select (its namespaces', or one label's postings).
  std::vector<const std::vector<uint32_t>*> candidates(const EndpointSelector& s) const;
  std::unordered_map<std::string, std::vector<uint32_t>> cache_, peer_cache_;
};

} // namespace moat::verify
