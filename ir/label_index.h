// Items filed by the label values their selectors pin (`key In [values]`), so that "which
// items' selectors may select an endpoint that selector S selects" reads the postings of
// one key S pins instead of every item: ten thousand policies in one namespace, each for
// its own app, are otherwise compared pairwise.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/ir.h"

namespace moat {

class LabelIndex {
public:
  /// Files item `id` under the In requirements of `s` (its namespace and pod sides apart).
  /// Ids must be added in increasing order.
  void add(const EndpointSelector& s, uint32_t id);
  /// Every item, in id order.
  const std::vector<uint32_t>& ids() const { return ids_; }
  /// How many items candidates(s) returns at most.
  size_t estimate(const EndpointSelector& s) const { return best(s).cost; }
  /// A superset of the items whose selector may overlap `s`, sorted, each once: every item
  /// except those that pin a key `s` pins (one key, the most selective) to values `s` does
  /// not allow. Callers still test each candidate.
  std::vector<uint32_t> candidates(const EndpointSelector& s) const;
  /// A superset of the items whose selector may select workload `e`, as above.
  std::vector<uint32_t> candidates(const Endpoint& e) const;

private:
  struct Postings {
    std::unordered_map<std::string, std::vector<uint32_t>> by_value;
    std::vector<uint32_t> with;  // items with an In requirement on the key, in id order
    // Items without one, built when first needed (only for keys most items pin) and
    // rebuilt when items were added since (without_for: the item count it was built at).
    mutable std::vector<uint32_t> without;
    mutable size_t without_for = SIZE_MAX;
  };
  struct Choice {
    const Postings* key = nullptr;  // null: every item
    const std::vector<std::string>* values = nullptr;
    size_t cost = 0;
  };
  Choice best(const EndpointSelector& s) const;
  void file(const LabelSelector& s, char side, uint32_t id);

  std::unordered_map<std::string, Postings> keys_;  // side ('n' or 'p') + key
  std::vector<uint32_t> ids_;
};

} // namespace moat
