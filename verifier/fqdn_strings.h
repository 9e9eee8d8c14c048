// The alternative FQDN encoding, kept to measure against the partition: a DNS name as a Z3 string, each
// FQDN match as a regular-expression membership. `string_name_classes` enumerates the
// realizable match vectors this way (one string query per class, each blocked in turn), so
// bench/verify can compare it with the partition of fqdn_partition.h on the same input.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "verifier/fqdn_partition.h"

namespace moat::verify {

struct StringClasses {
  FqdnPartition partition;  // classes found (examples are the solver's strings)
  bool complete = false;    // false: a query hit the time limit or returned unknown
};

/// Enumerates the name classes of `matches` with the Z3 string solver (at most `limit`
/// classes, each query bounded by `timeout_ms`).
StringClasses string_name_classes(const std::vector<FqdnMatch>& matches, unsigned timeout_ms, size_t limit = 100000);

} // namespace moat::verify
