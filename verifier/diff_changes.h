// Which rules and isolations only one of two versions has: the items a semantic diff
// searches around (verifier/diff.cpp). A multiset difference both ways, by what an item
// means (direction, action, subject, peer, ports; for the first-match tiers also its place:
// tier, id and priority), not where it was written. Items are hashed structurally, so two
// 75,000-policy versions compare in one pass without printing or sorting every rule.
#pragma once
#include <vector>

#include "ir/ir.h"
#include "verifier/domain.h"

namespace moat::verify {

struct ChangedItems {
  /// Old-only then new-only rules, per tier (policy, admin, baseline), each in module order.
  std::vector<const Rule*> rules;
  /// Old-only then new-only isolations, in module order.
  std::vector<const Isolation*> isolations;
};

/// Completes a diff's domain: `b` holds `old_m` without its rules' and isolations' labels
/// (DomainBuilder::add_except_rules(old_m)) and `new_m` whole; adding the labels of the changed
/// items makes it both versions' whole vocabulary (every other item of old_m is new_m's too).
void add_changed(DomainBuilder& b, const ChangedItems& changed);

/// ChangedItems::rules and ::isolations (two passes a caller may run side by side).
std::vector<const Rule*> changed_rules(const Module& old_m, const Module& new_m);
std::vector<const Isolation*> changed_isolations(const Module& old_m, const Module& new_m);

} // namespace moat::verify
