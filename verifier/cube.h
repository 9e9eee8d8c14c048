// Cubes: rule-like sets of flows (SecGuru / NCA style) described by literals over the
// features of a symbolic flow: each end's kind, labels, named ports, address prefix and DNS
// name classes; self and same-node; protocol and port range. A witness (a model) becomes
// the point cube of all its literals; `generalize` then drops literals (unsat-core guided,
// then one by one) and widens the address prefix and the port range while the cube stays
// inside a target set of flows.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "verifier/session.h"

namespace moat::verify {

struct Literal {
  enum class Kind : uint8_t {
    EndKind, NsLabel, PodLabel, NamedPort, NamedPortHit, Ip, Dns, Self, SameNode, Proto, PortLo, PortHi
  };
  Kind kind = Kind::EndKind;
  int end = -1;       // 0: src, 1: dst, -1: the flow
  size_t index = 0;   // key, named port or name class
  bool flag = false;  // present / true
  uint64_t value = 0, value2 = 0, value3 = 0;
  unsigned prefix = 0;  // Ip: prefix length kept
  bool v6 = false;
  uint64_t ip[2] = {0, 0};  // Ip: address (v4 in ip[0]; v6 high, low)
  std::vector<IpPrefix> except;  // Ip: holes, from the policy's own prefixes
  /// Labels: the values allowed, indexed like the key's domain, plus one last entry for
  /// "the key is absent".
  std::vector<bool> allowed;
};

class Cube {
public:
  /// The point cube of the flow in `model`.
  static Cube point(Session& s, const SymFlow& f, const z3::model& model);
  z3::expr expr(Session& s, const SymFlow& f) const;
  /// Grows the cube while `cube ∧ ¬target` stays unsat (under the session's assumptions).
  /// `prefixes` (the policies' CIDRs and excepts) are tried as wider address blocks with
  /// holes, so a cube reads "cidr 10.0.0.0/16 except 10.0.128.0/17" like the rule it
  /// comes from rather than a dozen aligned blocks.
  /// `own_solver`: ask on a solver of the cube's own with ¬target asserted once (large
  /// targets: each query otherwise re-reads the target); else on the session's solver.
  void generalize(Session& s, const SymFlow& f, const z3::expr& target, const std::vector<IpPrefix>& prefixes,
                  bool own_solver = false);
  /// Rule-like text of each part: "kubeflow/{app: web}", "cidr 10.0.0.0/8", "tcp 80..443".
  std::string end_text(const Domain& d, int end) const;
  std::string ports_text() const;

private:
  z3::expr literal(Session& s, const SymFlow& f, const Literal& l) const;
  /// Is the current cube inside the target? Asked under assumptions on a solver of its own
  /// (Session::fork): ¬target is asserted once per generalize() (internalized once, not per
  /// query), each literal is one indicator (mark()), and a query assumes the current
  /// literals' indicators.
  bool implied(Session& s, const SymFlow& f, const z3::expr& not_target);
  z3::expr mark(Session& s, const z3::expr& literal);
  std::unique_ptr<z3::solver> solver_;
  std::unordered_map<unsigned, z3::expr> marks_;  // by the literal's Z3 id
  void widen_ip(Session& s, const SymFlow& f, const z3::expr& not_target, size_t i, const std::vector<IpPrefix>& prefixes);
  std::vector<Literal> lits_;
};

} // namespace moat::verify
