// Random policies and endpoints for the backend's differential tests, on top of the
// verifier tests' generator (tests/verifier/random_module.h), restricted to what one node's
// datapath can model: one node (the interpreter's host-to-local-pod rule needs the node to
// be the local one), and one endpoint per address (an IP datapath tells endpoints apart by
// address; tests/kernel covers the kernel engine's handling of shared workload addresses).
#pragma once
#include <cstdint>
#include <vector>

#include "ir/ir.h"
#include "random_module.h"

namespace moat::test {

std::vector<Endpoint> datapath_endpoints(testing::RandomModules& gen, const Module& m, size_t n);

/// Seed base for the differential tests: env MOAT_SEED, else a fixed default.
uint64_t differential_seed();

} // namespace moat::test
