// Collects the finite vocabulary of one or more Modules (see domain.h).
#include "verifier/domain.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_set>

#include "ir/fqdn.h"
#include "ir/interp.h"

namespace moat::verify {

unsigned KeyDomain::bits() const {
  unsigned b = 1;
  while ((1u << b) < size()) ++b;
  return b;
}

unsigned KeyDomain::index_of(const std::string& v) const {
  auto it = std::lower_bound(values.begin(), values.end(), v);
  if (it != values.end() && *it == v) return static_cast<unsigned>(it - values.begin());
  return static_cast<unsigned>(values.size());
}

std::string KeyDomain::value_at(unsigned i) const {
  if (i < values.size()) return values[i];
  // A value no selector mentions: any such value behaves the same, pick a readable one.
  std::string base = key == kNamespaceNameLabel ? "other-ns" : "other";
  unsigned n = i - static_cast<unsigned>(values.size());
  // The n-th candidate (base, base-2, base-3, ...) that no selector mentions.
  for (unsigned k = 1;; ++k) {
    std::string v = k == 1 ? base : base + "-" + std::to_string(k);
    if (std::binary_search(values.begin(), values.end(), v)) continue;
    if (n-- == 0) return v;
  }
}

struct DomainBuilder::Collector {
  // Views into the modules' selectors (they outlive the collection); values are hashed,
  // not ordered, while collecting (a cluster's tens of thousands of namespace names) and
  // sorted once per key at the end (make_key). Keys stay ordered: their order is the
  // encoding's variable order.
  using Values = std::unordered_set<std::string_view>;
  std::map<std::string_view, Values> ns, pod;
  std::vector<FqdnMatch> fqdns;
  std::set<std::pair<bool, std::string>> fqdn_seen;
  std::set<std::string> ports;
  bool cluster_addresses = false;
  std::vector<const Module*> modules;  // for their declared namespaces

  // The last requirement's key and values: a policy's rules repeat their namespace's name,
  // so most requirements are skipped before any lookup or hash.
  // (One per side: a rule's namespace-side and pod-side requirements alternate.)
  const LabelRequirement* last[2] = {nullptr, nullptr};

  void selector(const LabelSelector& s, std::map<std::string_view, Values>& into) {
    const LabelRequirement*& prev = last[&into == &pod];
    for (const LabelRequirement& r : s.reqs) {
      if (prev && r.key == prev->key && r.values == prev->values) continue;
      prev = &r;
      auto& vals = into[r.key];
      vals.insert(r.values.begin(), r.values.end());
    }
  }
  void endpoints(const EndpointSelector& s) {
    selector(s.namespaces, ns);
    selector(s.pods, pod);
  }
  void fqdn(const FqdnMatch& f) {
    FqdnMatch c = f;
    c.value = canonical_fqdn(f.value);
    if (fqdn_seen.emplace(c.pattern, c.value).second) fqdns.push_back(c);
  }
  void peer(const Peer& p) {
    if (p.kind == Peer::Kind::Endpoints) endpoints(p.endpoints);
    if (p.kind == Peer::Kind::Fqdn) fqdn(p.fqdn);
    if (p.kind == Peer::Kind::Nodes) selector(p.nodes, pod);  // node labels share the pod-side keys
    if (p.kind == Peer::Kind::Cidr && p.cidr_any_address) cluster_addresses = true;
  }
  void port_list(const std::vector<PortMatch>& ps) {
    for (const PortMatch& pm : ps)
      if (!pm.name.empty()) ports.insert(pm.name);
  }
  void rule(const Rule& r) {
    endpoints(r.subject);
    peer(r.peer);
    port_list(r.ports);
  }
  void module(const Module& m, bool rules) {
    modules.push_back(&m);
    for (const std::vector<Rule>* tier : {&m.admin_rules, &m.rules, &m.baseline_rules})
      for (const Rule& r : *tier) {
        if (rules) rule(r);
        else if (r.peer.kind == Peer::Kind::Fqdn) fqdn(r.peer.fqdn);  // FQDN matches keep module order
      }
    if (rules)
      for (const Isolation& i : m.isolations) endpoints(i.subject);
    for (const Prove& p : m.proofs) {
      for (const Peer& s : p.subjects) peer(s);
      for (const PeerPorts& pp : p.peers) {
        peer(pp.peer);
        port_list(pp.ports);
      }
    }
    for (const NodePool& pool : m.pools)
      for (const EndpointSelector& a : pool.admits) endpoints(a);
    for (const NamedSelector& w : m.workloads) endpoints(w.selector);
    for (const NamedPeer& p : m.peers) peer(p.peer);
    for (const auto& [name, labels] : m.namespaces) ns[kNamespaceNameLabel].insert(name);
  }
};

namespace {

KeyDomain make_key(std::string_view key, const DomainBuilder::Collector::Values& values, unsigned fresh) {
  KeyDomain d;
  d.key = key;
  d.values.assign(values.begin(), values.end());
  std::sort(d.values.begin(), d.values.end());
  d.fresh = fresh;
  return d;
}

} // namespace

std::optional<size_t> Domain::ns_key(const std::string& k) const {
  for (size_t i = 0; i < ns_keys.size(); ++i)
    if (ns_keys[i].key == k) return i;
  return std::nullopt;
}

std::optional<size_t> Domain::pod_key(const std::string& k) const {
  for (size_t i = 0; i < pod_keys.size(); ++i)
    if (pod_keys[i].key == k) return i;
  return std::nullopt;
}

std::optional<size_t> Domain::fqdn(const FqdnMatch& m) const {
  std::string v = canonical_fqdn(m.value);
  for (size_t i = 0; i < fqdns.size(); ++i)
    if (fqdns[i].pattern == m.pattern && fqdns[i].value == v) return i;
  return std::nullopt;
}

std::optional<size_t> Domain::port_name(const std::string& n) const {
  auto it = std::find(port_names.begin(), port_names.end(), n);
  if (it == port_names.end()) return std::nullopt;
  return static_cast<size_t>(it - port_names.begin());
}

namespace {
std::vector<uint32_t> match_vector(const std::vector<FqdnMatch>& fqdns, const std::string& name) {
  std::vector<uint32_t> vec;
  for (uint32_t i = 0; i < fqdns.size(); ++i)
    if (fqdn_matches(fqdns[i], name)) vec.push_back(i);
  return vec;
}
} // namespace

std::optional<size_t> Domain::find_class(const std::string& name) const {
  std::vector<uint32_t> vec = match_vector(fqdns, name);
  if (vec.empty()) return std::nullopt;
  for (size_t c = 0; c < names.classes.size(); ++c)
    if (names.classes[c].matches == vec) return c;
  return std::nullopt;
}

std::optional<size_t> Domain::add_class_of(const std::string& name) {
  if (auto c = find_class(name)) return c;
  std::vector<uint32_t> vec = match_vector(fqdns, name);
  if (vec.empty()) return std::nullopt;
  names.classes.push_back(NameClass{vec, canonical_fqdn(name)});
  return names.classes.size() - 1;
}

DomainBuilder::DomainBuilder() : c_(std::make_unique<Collector>()) {}
DomainBuilder::~DomainBuilder() = default;

void DomainBuilder::add(const Module& m) { c_->module(m, true); }
void DomainBuilder::add_except_rules(const Module& m) { c_->module(m, false); }
void DomainBuilder::add(const Rule& r) { c_->rule(r); }
void DomainBuilder::add(const Isolation& i) { c_->endpoints(i.subject); }

std::optional<Domain> build_domain(const std::vector<const Module*>& modules,
                                   const std::vector<const Endpoint*>& extra, std::string* error) {
  DomainBuilder b;
  for (const Module* m : modules) b.add(*m);
  return b.build(extra, error);
}

std::optional<Domain> DomainBuilder::build(const std::vector<const Endpoint*>& extra, std::string* error) {
  Collector& c = *c_;
  Domain d;
  for (const Module* m : c.modules)
    for (const auto& [name, labels] : m->namespaces) {
      Labels& into = d.namespaces[name];
      into.insert(labels.begin(), labels.end());
      into[kNamespaceNameLabel] = name;
    }
  // Declared namespaces pin their labels; their values join the domain so counterexamples
  // show them as written.
  for (const auto& [name, labels] : d.namespaces)
    for (const auto& [k, v] : labels)
      if (c.ns.count(k)) c.ns[k].insert(v);
  // Two fresh namespace names: a flow between two namespaces no policy names is possible.
  d.ns_keys.push_back(make_key(kNamespaceNameLabel, c.ns[kNamespaceNameLabel], 2));
  for (const auto& [k, vals] : c.ns)
    if (k != kNamespaceNameLabel) d.ns_keys.push_back(make_key(k, vals, 1));
  for (const auto& [k, vals] : c.pod) d.pod_keys.push_back(make_key(k, vals, 1));
  d.fqdns = c.fqdns;
  d.port_names.assign(c.ports.begin(), c.ports.end());
  d.cluster_addresses = c.cluster_addresses;
  auto part = partition_fqdns(d.fqdns);
  if (!part) {
    if (error) *error = "the FQDN patterns are too many or too entangled to partition";
    return std::nullopt;
  }
  d.names = std::move(*part);
  for (const Endpoint* e : extra)
    for (const std::string& n : e->dns_names) d.add_class_of(n);
  return d;
}

} // namespace moat::verify
