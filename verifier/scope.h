// The two scopes (verifier/README.md) over one Encoder: every possible endpoint (the symbolic
// variables, well formed) or a given inventory (each end is one of the concrete
// endpoints). Also turns solver models back into concrete endpoints and flows, and
// replays them through the interpreter: a disagreement is reported, never hidden.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "verifier/encoder.h"
#include "verifier/inventory_classes.h"
#include "verifier/version_index.h"
#include "verifier/verifier.h"

namespace moat::verify {

class Scope {
public:
  Scope(Encoder& enc, const std::vector<Endpoint>* inventory);
  ~Scope();
  bool inventory() const { return inventory_ != nullptr; }
  /// The inventory's endpoints, or nullptr in the every-endpoint scope.
  const std::vector<Endpoint>* endpoints() const { return inventory_; }
  /// Inventory scope: the endpoints' classes and their index (nullptr otherwise).
  InventoryClasses* classes() { return classes_.get(); }

  /// `e` ranges over the scope's endpoints (inventory: every class).
  z3::expr endpoint(const SymEndpoint& e);
  /// Inventory scope: `e` ranges over the given classes only (a query that constrains `e`
  /// to what some selector matches needs no other class).
  z3::expr endpoint(const SymEndpoint& e, const std::vector<uint32_t>& classes);
  /// Both ends in scope, a real protocol and port, and the consistency of the two ends.
  z3::expr flow(const SymFlow& f);
  /// Inventory scope: as flow(), with each end restricted to the given classes.
  z3::expr flow(const SymFlow& f, const std::vector<uint32_t>& src, const std::vector<uint32_t>& dst);
  /// Inventory scope: `e` is inventory endpoint `i` (through any of its addresses).
  z3::expr is(const SymEndpoint& e, size_t i);
  /// Inventory scope: `e` is inventory endpoint `i` at address `ips[addr]` (an external
  /// endpoint with several addresses is several hosts; a workload's or node's address
  /// matters only when some CIDR peer matches cluster addresses; else `addr` is ignored).
  z3::expr is(const SymEndpoint& e, size_t i, size_t addr);

  /// The concrete endpoint in `model`; `name` names a symbolic one. Inventory endpoints
  /// with several addresses keep only the one the flow uses.
  Endpoint decode(const z3::model& model, const SymEndpoint& e, const std::string& name);
  /// The flow in `model` (not replayed).
  Witness decode(const z3::model& model, const SymFlow& f);

private:
  /// Does `c` stand for one pin per address (several hosts; any address under any-address CIDRs)?
  bool addresses_matter(const Endpoint& c) const;
  struct Pin {
    size_t member;
    int ip;  // index into ips, or -1
    z3::expr formula;
  };
  /// Pins built so far for one symbolic endpoint (built on demand: a query about one rule
  /// of a 100k-pod inventory encodes only the classes it can touch).
  struct Var {
    std::vector<std::vector<Pin>> by_class;
    std::vector<uint32_t> built;  // classes with pins, in build order
    std::vector<Pin> members;     // pins of single endpoints (is())
  };
  Var& var(const SymEndpoint& e);
  const std::vector<Pin>& class_pins(Var& v, const SymEndpoint& e, uint32_t c);
  z3::expr member_pin(const SymEndpoint& e, size_t i, int ip);
  unsigned node_id(const Endpoint& c);
  Encoder& enc_;
  const std::vector<Endpoint>* inventory_;
  std::unique_ptr<InventoryClasses> classes_;
  std::map<std::string, unsigned> nodes_;
  std::vector<std::pair<std::string, Var>> vars_;  // by the endpoint's kind var
};

/// Decodes the flow in `model`, replays it through the interpreter on `m`, and checks
/// that the interpreter's verdict equals the solver's (`allowed` evaluated in `model`).
/// nullopt with `error` set on disagreement. With `index` (of `m`), the interpreter reads
/// only the rules of the ends' namespaces (the same verdict, without a pass over `m`).
std::optional<Witness> replay(const Module& m, Scope& scope, const z3::model& model, const SymFlow& f,
                              const z3::expr& allowed, std::string* error, const VersionIndex* index = nullptr);

/// Re-evaluates a decoded witness on another module (diffs: the old version's verdict)
/// and checks it against the solver's `allowed` for that module.
std::optional<Verdict> replay_on(const Module& m, const Witness& w, const z3::model& model, const z3::expr& allowed,
                                 std::string* error, const VersionIndex* index = nullptr);

inline std::string describe(const Endpoint& e) { return describe_endpoint(e); }

} // namespace moat::verify
