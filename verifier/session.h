// One verification session: a Z3 context, the domain of the modules under study, the
// encoder, the scope and an incremental solver. Queries are checked under push/pop so the
// scope constraints are asserted once and reused.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "verifier/domain.h"
#include "verifier/encoder.h"
#include "verifier/scope.h"
#include "verifier/verifier.h"

namespace moat::verify {

struct CheckOutcome {
  z3::check_result result = z3::unknown;
  std::optional<z3::model> model;
  std::string reason;  // why the solver answered unknown
};

class Session {
public:
  /// nullopt with `error` set when the domain cannot be built.
  static std::unique_ptr<Session> make(const std::vector<const Module*>& modules,
                                       const std::vector<const Endpoint*>& extra_endpoints,
                                       const std::vector<Endpoint>* inventory, unsigned timeout_ms,
                                       std::string* error);
  /// A session whose Z3 context exists but whose domain does not yet: creating a context
  /// takes tens of milliseconds, which a caller can spend collecting the vocabulary meanwhile.
  /// start() then makes it usable: the domain of what `vocabulary` collected, with the DNS
  /// names of `extra_endpoints` and of the inventory; false (with `error`) when it cannot be
  /// built.
  static std::unique_ptr<Session> open();
  bool start(DomainBuilder& vocabulary, const std::vector<const Endpoint*>& extra_endpoints,
             const std::vector<Endpoint>* inventory, unsigned timeout_ms, std::string* error);
  z3::context& ctx() { return ctx_; }
  Encoder& enc() { return *enc_; }
  Scope& scope() { return *scope_; }
  const Domain& domain() const { return domain_; }
  z3::solver& solver() { return *solver_; }

  /// Asserts `c` for every later query.
  void assume(const z3::expr& c) { solver_->add(c); }
  /// Asserts `c` for the queries until the matching leave() (a scope for a group of
  /// queries: the inventory classes one changed rule of a diff can touch).
  void enter(const z3::expr& c) {
    solver_->push();
    solver_->add(c);
  }
  void leave() { solver_->pop(); }
  /// Drops every assumption: a new solver over the same context, domain, encoder and
  /// scope (for a second group of queries that needs none of the first group's).
  void fresh_solver();
  /// Is `q` satisfiable together with what was assumed? (push / add / check / pop)
  CheckOutcome check(const z3::expr& q);
  /// A second solver holding what is asserted now (for many queries against formulas
  /// asserted once, without touching this session's solver and so its later models).
  std::unique_ptr<z3::solver> fork();
  /// Is what `on` holds satisfiable together with the literals `assumed`? (Counted, and cut
  /// to the run's deadline, like check.)
  CheckOutcome check_assuming(z3::solver& on, const z3::expr_vector& assumed);
  /// As check, but when `q` is satisfiable, prefers a model whose external addresses read
  /// like hosts (not x.x.x.0 or .255, not 0.0.0.0): one more query, for reports.
  CheckOutcome check_readable(const z3::expr& q, const SymFlow& f);
  size_t queries() const { return queries_; }
  /// Cuts each query's time limit to what is left of the run's deadline.
  void set_clock(const RunClock* c) { clock_ = c; }

private:
  Session() = default;
  z3::context ctx_;
  Domain domain_;
  std::unique_ptr<Encoder> enc_;
  std::unique_ptr<Scope> scope_;
  std::unique_ptr<z3::solver> solver_;
  size_t queries_ = 0;
  unsigned timeout_ms_ = 0;
  const RunClock* clock_ = nullptr;
};

/// Syntactic filter: rules and isolations whose subject may select an endpoint matching
/// `src` (egress side) or `dst` (ingress side); a null selector keeps everything.
RuleFilter overlap_filter(const EndpointSelector* src, const EndpointSelector* dst);

/// False only when no endpoint can match both peers (different endpoint kinds, disjoint
/// selectors, disjoint CIDR blocks). Syntactic and conservative.
bool peers_may_overlap(const Peer& a, const Peer& b);

/// The endpoint selector a peer stands for, when it selects workloads only.
const EndpointSelector* workload_selector(const Peer& p);

/// "reason unknown" text for reports: "timeout" when the limit was hit.
std::string unknown_reason(const CheckOutcome& o);

} // namespace moat::verify
