// The finite vocabulary of an encoding: which label keys matter (namespace side and pod
// side) and the values each may take, which FQDN matches exist and the name classes they
// induce, which named ports are used. Collected from one or more Modules (two for a diff)
// so that both versions are encoded over the same variables.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "verifier/fqdn_partition.h"

namespace moat::verify {

/// A label key's domain: the values some selector or declaration mentions, plus `fresh`
/// values that no selector mentions (index values.size() .. values.size()+fresh-1).
struct KeyDomain {
  std::string key;
  std::vector<std::string> values;  // sorted, unique
  unsigned fresh = 1;
  unsigned size() const { return static_cast<unsigned>(values.size()) + fresh; }
  unsigned bits() const;
  /// Index of `v`, or the first fresh index when no selector mentions it.
  unsigned index_of(const std::string& v) const;
  /// The concrete text of index `i` (a fresh index gets a value no selector mentions).
  std::string value_at(unsigned i) const;
};

struct Domain {
  std::vector<KeyDomain> ns_keys;   // ns_keys[0] is kNamespaceNameLabel (2 fresh names)
  std::vector<KeyDomain> pod_keys;
  std::vector<FqdnMatch> fqdns;     // unique by (pattern, canonical value)
  FqdnPartition names;
  std::vector<std::string> port_names;
  std::map<std::string, Labels> namespaces;  // declared namespaces (name -> labels)
  /// Some CIDR peer matches cluster endpoints by address (AdminNetworkPolicy networks), so
  /// a counterexample's workload and node addresses matter and are decoded.
  bool cluster_addresses = false;

  std::optional<size_t> ns_key(const std::string& k) const;
  std::optional<size_t> pod_key(const std::string& k) const;
  std::optional<size_t> fqdn(const FqdnMatch& m) const;
  std::optional<size_t> port_name(const std::string& n) const;
  /// The name class of a concrete DNS name (nullopt: it matches no FQDN match at all, or
  /// its match vector has no class — see add_class_of).
  std::optional<size_t> find_class(const std::string& name) const;
  /// As find_class, but adds a class when `name` realizes a match vector the search did
  /// not produce (names outside the valid-name grammar the search explores).
  std::optional<size_t> add_class_of(const std::string& name);
};

/// Collects the vocabulary of modules item by item, then builds their domain: build_domain
/// in steps, for a caller that knows which items can add nothing new (a diff reads the old
/// version's rules and isolations only where the new version lacks them: the others are
/// the new version's too, so the domain is the same).
class DomainBuilder {
public:
  DomainBuilder();
  ~DomainBuilder();
  /// Every item of `m`.
  void add(const Module& m);
  /// Every item of `m` but its rules and isolations, of which only the FQDN matches (their
  /// order is the name classes' order): a diff's old version, whose unchanged rules are the
  /// new version's too; add() the changed ones.
  void add_except_rules(const Module& m);
  void add(const Rule& r);
  void add(const Isolation& i);
  /// The domain of what was added; `extra` as for build_domain.
  std::optional<Domain> build(const std::vector<const Endpoint*>& extra, std::string* error);
  struct Collector;

private:
  std::unique_ptr<Collector> c_;
};

/// Builds the domain of every module in `modules`; `extra` endpoints (inventory, query
/// ends) add their DNS names' classes. Returns an error message on failure.
std::optional<Domain> build_domain(const std::vector<const Module*>& modules,
                                   const std::vector<const Endpoint*>& extra, std::string* error);

} // namespace moat::verify
