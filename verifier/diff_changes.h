// Which rules and isolations only one of two versions has: the items a semantic diff
// searches around (verifier/diff.cpp). A multiset difference both ways, by what an item
// means (direction, action, subject, peer, ports; for the first-match tiers also its place:
// tier, id and priority), not where it was written. Items are hashed structurally, so two
// 75,000-policy versions compare in one pass without printing or sorting every rule.
#pragma once
#include <vector>

#include "ir/ir.h"

namespace moat::verify {

struct ChangedItems {
  /// Old-only then new-only rules, per tier (policy, admin, baseline), each in module order.
  std::vector<const Rule*> rules;
  /// Old-only then new-only isolations, in module order.
  std::vector<const Isolation*> isolations;
};

ChangedItems changed_items(const Module& old_m, const Module& new_m);

} // namespace moat::verify
