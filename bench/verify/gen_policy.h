// A generator of realistic policy sets for the verifier benchmark: namespaces with labels
// (team, env), default-deny isolation per namespace, apps and tiers, ingress from the same
// and other namespaces, egress to kube-dns, CIDR blocks with excepts, FQDN names and
// patterns (S3 regions, partner APIs, googleapis), port ranges, a few denies and
// matchExpressions. Deterministic for a given (rules, seed).
#pragma once
#include <cstddef>
#include <cstdint>

#include "ir/ir.h"

namespace moat::bench {

Module generate_policy(size_t rules, uint64_t seed = 1);

/// The same module with one rule changed (its port moved by one): the diff benchmark.
Module change_one_rule(const Module& m, uint64_t seed = 1);

/// The benchmark's proofs: namespaces 0 and 1 isolated; app-0 of namespace 0 confined to
/// DNS, its own namespace, its /16 on tcp 443 and S3 on tcp 443.
Prove isolation_proof();
Prove confinement_proof();

} // namespace moat::bench
