// The finite partition of DNS names induced by a set of FQDN matches: every valid name
// falls in exactly one class, and all names of a class match exactly the same matches.
// The verifier then gives an external endpoint one boolean per class ("it carries a name
// of this class") instead of a string, which keeps the encoding inside SAT.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace moat::verify {

/// One class: the matches (indexes into the input list) its names satisfy, and the
/// shortest name of the class, used as the concrete DNS name of counterexamples.
struct NameClass {
  std::vector<uint32_t> matches;  // sorted
  std::string example;
};

struct FqdnPartition {
  std::vector<NameClass> classes;  // classes that match nothing are omitted
  size_t states_explored = 0;      // product-automaton states (for the benchmark report)
};

/// Computes the classes exactly, by breadth-first search over the product of the matches'
/// automata read right to left (names are suffix-anchored, so literal suffixes split the
/// search early). Names are valid DNS names: labels of [-a-z0-9_]+ joined by single dots.
/// Fails (nullopt) only when the product exceeds `max_states`.
std::optional<FqdnPartition> partition_fqdns(const std::vector<FqdnMatch>& matches,
                                             size_t max_states = 2'000'000);

} // namespace moat::verify
