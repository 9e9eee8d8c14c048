// A compact identity for a selector, for the caches and seen-sets that meet the same
// selector once per rule: two selectors get the same key exactly when they have the same
// requirements in the same order (source ranges aside), as their printed forms
// (ir/printer.h) do, at a fraction of the cost of printing them.
#pragma once
#include <string>

#include "ir/ir.h"

namespace moat {

std::string selector_key(const EndpointSelector& s);

} // namespace moat
