// verifier: proofs, solver lints and semantic diffs over an ir::Module, encoded in Z3.
// Only this library includes z3++.h; results come back as plain structs. No function here
// throws: solver failures and interpreter disagreements come back as `internal_error`
// (the CLI exits 3), user mistakes as Diagnostics.
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/interp.h"
#include "ir/ir.h"
#include "ir/run_clock.h"

namespace moat {

struct ModuleIndexes;  // ir/subject_index.h

/// Where properties are checked. Every possible endpoint (labels symbolic: pods that do
/// not exist yet) unless `inventory` is set, then only those concrete endpoints.
struct VerifyOptions {
  unsigned timeout_ms = 0;                          // per solver query; 0: no limit
  const std::vector<Endpoint>* inventory = nullptr;  // inventory scope
  size_t max_cubes = 32;                            // diff: cubes reported per direction
  /// The run's --deadline and progress line (optional): work not reached in time is
  /// reported as unknown, by name; solver queries are cut to what is left.
  RunClock* clock = nullptr;
  /// The module's subject indexes when the caller already built them (ir/subject_index.h,
  /// shared with the syntactic lints); nullptr: the passes build what they need.
  const ModuleIndexes* indexes = nullptr;
};

enum class ProofStatus : uint8_t { Proved, Failed, Unknown };
const char* to_string(ProofStatus s);

/// A concrete flow the solver found, already replayed through the interpreter (whose
/// verdict is kept: it names the deciding rules and isolations).
struct Witness {
  Endpoint src, dst;
  bool self = false;  // src and dst are one endpoint
  Protocol proto = Protocol::TCP;
  uint16_t port = 0;
  Verdict verdict;
};

struct ProofResult {
  size_t index = 0;  // into Module::proofs
  ProofStatus status = ProofStatus::Unknown;
  std::string message;              // why it failed, why unknown, or a note ("vacuous")
  std::optional<Witness> witness;   // a failed flow property
  std::optional<Endpoint> workload; // a failed `nodepool P admits W`: a W the pool rejects
  double seconds = 0;
  /// Inventory scope: the statement's subject (or a `reachable` / `isolated` group) matches
  /// no endpoint of the inventory, so the statement says nothing: status Unknown, never
  /// Proved; `moat check` reports E606 at the statement.
  bool vacuous = false;
  /// Inventory scope: peers of a `within` set that match no endpoint (W607): the proof
  /// stands, but the set may name what the inventory lacks (a typo, a missing namespace).
  std::vector<std::string> unmatched_peers;
};

struct ProofReport {
  std::vector<ProofResult> results;
  std::string internal_error;  // non-empty: stop, exit 3
  bool failed() const;
};

/// Runs every `prove` statement of `m`.
ProofReport run_proofs(const Module& m, const VerifyOptions& opts);

/// W5xx lints (shadowed and redundant rules, vacuous selectors, endpoints no isolation
/// captures, GPU pools without taints, GPU workloads no pool admits) into `diags`.
/// Returns an internal error message, or "".
std::string run_solver_lints(const Module& m, const VerifyOptions& opts, Diagnostics& diags);

/// One cube of a semantic diff: a rule-like set of flows whose verdict changed, in the
/// moat selector syntax, with one concrete flow of it.
struct DiffCube {
  bool newly_allowed = true;
  std::string src, dst, ports;
  Witness witness;     // verdict under the new version
  Verdict old_verdict;  // the same flow under the old version
};

struct DiffReport {
  ProofStatus status = ProofStatus::Unknown;  // Proved: equivalent; Failed: they differ
  std::vector<DiffCube> cubes;
  bool truncated = false;  // more cubes than max_cubes
  std::string message, internal_error;
  double seconds = 0;
  /// Inventory scope: its endpoints, and how many of them some rule or isolation of either
  /// version selects. None selected means nothing was compared (`moat diff` exits 2).
  size_t inventory_endpoints = 0, inventory_subjects = 0;
};

DiffReport semantic_diff(const Module& old_m, const Module& new_m, const VerifyOptions& opts);

/// How reports show an endpoint: "ns/{k: v, ...}" (plus namespace labels and named ports),
/// an address with its DNS names, or the entity; prefixed by the name of a named endpoint.
std::string describe_endpoint(const Endpoint& e);
/// A peer or group in the moat language's syntax: "kubeflow/{app: web}",
/// "namespace {team: ml}/*", "cidr 10.0.0.0/16 except 10.0.128.0/17", "fqdn \"*.x.com\"".
std::string describe_peer(const Peer& p);

/// The version of the Z3 library in use ("4.8.12"), for `moat --version`.
std::string z3_version();

/// Verdicts of concrete flows between known endpoints through the Z3 encoding (the
/// `moat test --engine smt` engine, and `moat query`). Build once, ask many times.
class SmtEngine {
public:
  SmtEngine(const Module& m, std::vector<Endpoint> endpoints, const VerifyOptions& opts);
  ~SmtEngine();
  SmtEngine(const SmtEngine&) = delete;
  SmtEngine& operator=(const SmtEngine&) = delete;
  /// What the solver's model says decided a verdict: the rules whose match formula holds
  /// in it (per direction) and whether each end is isolated. Independent of the
  /// interpreter's explanation (used by `moat test --engine smt`).
  struct Explanation {
    bool implicit = false;
    bool egress_isolated = false, ingress_isolated = false;
    std::vector<uint32_t> egress_rules, ingress_rules;
    /// Admin and baseline rules whose match holds, in evaluation order (ids index the tier's vector).
    std::vector<std::pair<Tier, uint32_t>> egress_tier_rules, ingress_tier_rules;
  };
  /// One end of a flow: endpoints[index] at its address ips[addr] (ir.h Flow: an external
  /// endpoint with several addresses is several hosts; a cluster endpoint's address counts
  /// when an any-address CIDR peer reads it; otherwise addr is ignored).
  struct End {
    size_t index = 0;
    size_t addr = 0;
    End(size_t i, size_t a = 0) : index(i), addr(a) {}  // implicit: an index is its first address
  };
  /// The solver's verdict for src -> dst; nullopt with `error` set on a solver failure or
  /// timeout.
  std::optional<bool> verdict(End src, End dst, Protocol proto, uint16_t port, std::string* error,
                              Explanation* why = nullptr);
  /// Every (protocol, port range) on which src -> dst is allowed, as maximal ranges.
  struct PortRange {
    Protocol proto;
    uint16_t lo, hi;
  };
  std::optional<std::vector<PortRange>> allowed_ports(End src, End dst, std::string* error);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace moat
