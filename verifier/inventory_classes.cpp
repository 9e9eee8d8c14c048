// Inventory classes and their selector index (see inventory_classes.h).
#include "verifier/inventory_classes.h"

#include <algorithm>

#include "ir/interp.h"
#include "ir/parallel.h"
#include "ir/printer.h"
#include "ir/selector_key.h"
#include "ir/subject_index.h"

namespace moat::verify {

namespace {

/// What the encoding of a workload sees, as text: labels projected onto the domain (a value
/// no selector mentions is one fresh value), named ports the domain knows, and the node
/// when host endpoints make nodes matter.
std::string class_key(const Endpoint& e, const Domain& d, bool nodes_matter) {
  std::string k;
  // The namespace's labels as the interpreter sees them: its name label defaults to ns.
  auto ns_label = [&](const std::string& key) -> const std::string* {
    if (auto it = e.ns_labels.find(key); it != e.ns_labels.end()) return &it->second;
    return key == kNamespaceNameLabel && !e.ns.empty() ? &e.ns : nullptr;
  };
  auto pod_label = [&](const std::string& key) -> const std::string* {
    auto it = e.labels.find(key);
    return it == e.labels.end() ? nullptr : &it->second;
  };
  auto labels = [&](const std::vector<KeyDomain>& keys, auto&& value_of) {
    for (const KeyDomain& kd : keys) {
      if (const std::string* v = value_of(kd.key)) {
        k += std::to_string(kd.index_of(*v));
      } else {
        k += '-';
      }
      k += ',';
    }
    k += '|';
  };
  labels(d.ns_keys, ns_label);
  labels(d.pod_keys, pod_label);
  for (const std::string& name : d.port_names)
    for (const NamedPort& p : e.ports)
      if (p.name == name) {
        k += name + ':' + std::to_string(static_cast<int>(p.proto)) + '/' + std::to_string(p.port) + ',';
        break;
      }
  if (nodes_matter) k += '|' + e.node;
  return k;
}

/// "Self" as the interpreter decides it: the same endpoint, or one name of one kind.
std::string identity(const Endpoint& e, size_t i) {
  return e.name.empty() ? "#" + std::to_string(i) : std::to_string(static_cast<int>(e.kind)) + ":" + e.name;
}

} // namespace

InventoryClasses::InventoryClasses(const std::vector<Endpoint>& inv, const Domain& d) : inv_(inv) {
  bool nodes_matter = std::any_of(inv.begin(), inv.end(), [](const Endpoint& e) { return e.kind == EndpointKind::Host; });
  std::unordered_map<std::string, uint32_t> by_key;
  std::unordered_map<std::string, unsigned> idents;  // identity -> ident value
  std::vector<std::string> rep_identity;
  class_of_.resize(inv.size());
  ident_.resize(inv.size());
  // The texts first, in parallel (most of the work); then the classes in inventory order.
  std::vector<std::string> whos(inv.size()), keys(inv.size());
  parallel_for_batched(inv.size(), 512, [&](size_t i) {
    const Endpoint& e = inv[i];
    whos[i] = identity(e, i);
    if (e.kind != EndpointKind::Workload) return;
    keys[i] = class_key(e, d, nodes_matter);
    // AdminNetworkPolicy networks match workloads by address: then addresses tell classes apart.
    if (d.cluster_addresses)
      for (const IpAddr& ip : e.ips) keys[i] += '|' + ip.str();
  });
  by_key.reserve(inv.size());
  idents.reserve(inv.size());
  for (size_t i = 0; i < inv.size(); ++i) {
    const Endpoint& e = inv[i];
    std::string& who = whos[i];
    unsigned id = idents.emplace(who, static_cast<unsigned>(idents.size() + 1)).first->second;
    ident_[i] = id;
    uint32_t c = static_cast<uint32_t>(classes_.size());
    bool fresh = true;
    if (e.kind == EndpointKind::Workload) {
      auto [it, inserted] = by_key.emplace(std::move(keys[i]), c);
      c = it->second;
      fresh = inserted;
    }
    class_of_[i] = c;
    if (fresh) {
      classes_.emplace_back();
      rep_identity.push_back(who);
      EndpointClass& k = classes_.back();
      // Only external addresses matter (CIDR peers match nothing else, unless some peer
      // matches cluster addresses too): one pin per address.
      if ((e.kind == EndpointKind::External || d.cluster_addresses) && e.ips.size() > 1)
        for (size_t a = 0; a < e.ips.size(); ++a) k.pins.push_back(ClassPin{i, static_cast<int>(a), id});
      else
        k.pins.push_back(ClassPin{i, e.ips.empty() ? -1 : 0, id});
      all_.push_back(c);
      if (e.kind == EndpointKind::Workload) {
        workloads_.push_back(c);
        // The namespace name as the interpreter's matcher sees it: the name label, else ns.
        auto name = e.ns_labels.find(kNamespaceNameLabel);
        by_ns_[name != e.ns_labels.end() ? name->second : e.ns].push_back(c);
        for (const auto& [key, value] : e.labels) by_pod_label_[key + '=' + value].push_back(c);
      } else if (e.kind == EndpointKind::External) {
        externals_.push_back(c);
      } else {
        others_.push_back(c);
      }
    }
    EndpointClass& k = classes_[c];
    ++k.size;
    if (!fresh && k.pins.size() == 1 && who != rep_identity[c]) k.pins.push_back(ClassPin{i, e.ips.empty() ? -1 : 0, id});
  }
}

const std::vector<uint32_t>& InventoryClasses::in_namespace(const std::string& ns) const {
  auto it = by_ns_.find(ns);
  return it == by_ns_.end() ? none_ : it->second;
}

const std::vector<uint32_t>& InventoryClasses::matching(const EndpointSelector& s) { return matching(s, selector_key(s)); }

const std::vector<uint32_t>& InventoryClasses::matching(const EndpointSelector& s, const std::string& key) {
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  return cache_.emplace(key, match_selector(s)).first->second;
}

void InventoryClasses::match_all(const std::vector<const EndpointSelector*>& sels, const std::vector<std::string>& keys) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < sels.size(); ++i)
    if (!cache_.count(keys[i])) todo.push_back(i);
  std::vector<std::vector<uint32_t>> found(todo.size());
  parallel_for_batched(todo.size(), 64, [&](size_t j) { found[j] = match_selector(*sels[todo[j]]); });
  for (size_t j = 0; j < todo.size(); ++j) cache_.emplace(keys[todo[j]], std::move(found[j]));
}

std::vector<uint32_t> InventoryClasses::match_selector(const EndpointSelector& s) const {
  std::vector<uint32_t> out;
  for (const auto* l : candidates(s))
    for (uint32_t c : *l)
      if (endpoint_selector_matches(s, representative(c))) out.push_back(c);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void InventoryClasses::mark_matching(const EndpointSelector& s, std::vector<char>& marked) const {
  for (const auto* l : candidates(s))
    for (uint32_t c : *l)
      if (!marked[c] && endpoint_selector_matches(s, representative(c))) marked[c] = 1;
}

std::vector<const std::vector<uint32_t>*> InventoryClasses::candidates(const EndpointSelector& s) const {
  // The smallest posting list some requirement implies: the pinned namespaces, or the
  // values of one pod label In requirement; every candidate is then matched exactly. The
  // lists are sized before one is copied: a label every namespace uses (app=a) has a
  // posting as long as the inventory.
  std::vector<const std::vector<uint32_t>*> best;
  size_t best_size = SIZE_MAX;
  bool narrowed = false;
  auto consider = [&](std::vector<const std::vector<uint32_t>*>&& lists) {
    size_t n = 0;
    for (const auto* l : lists) n += l->size();
    if (!narrowed || n < best_size) {
      best = std::move(lists);
      best_size = n;
    }
    narrowed = true;
  };
  if (const auto* ns = pinned_namespaces(s)) {
    std::vector<const std::vector<uint32_t>*> lists;
    for (const std::string& n : *ns) lists.push_back(&in_namespace(n));
    consider(std::move(lists));
  }
  for (const LabelRequirement& r : s.pods.reqs) {
    if (r.op != LabelRequirement::Op::In) continue;
    std::vector<const std::vector<uint32_t>*> lists;
    for (const std::string& v : r.values)
      if (auto it = by_pod_label_.find(r.key + '=' + v); it != by_pod_label_.end()) lists.push_back(&it->second);
    consider(std::move(lists));
  }
  return narrowed ? best : std::vector<const std::vector<uint32_t>*>{&workloads_};
}

const std::vector<uint32_t>& InventoryClasses::matching(const Peer& p) {
  if (p.kind == Peer::Kind::Endpoints) return matching(p.endpoints);
  std::string key = print_peer(p);
  if (auto it = peer_cache_.find(key); it != peer_cache_.end()) return it->second;
  return peer_cache_.emplace(std::move(key), match_peer(p)).first->second;
}

std::vector<uint32_t> InventoryClasses::match_peer(const Peer& p) {
  switch (p.kind) {
  case Peer::Kind::Endpoints: return matching(p.endpoints);
  case Peer::Kind::Cidr:
  case Peer::Kind::Fqdn: {
    std::vector<uint32_t> out;
    // AdminNetworkPolicy networks match cluster endpoints by address too.
    for (uint32_t c : p.cidr_any_address ? all_ : externals_)
      for (const ClassPin& pin : classes_[c].pins)
        if (peer_matches(p, inv_[pin.member], pin.addr < 0 ? 0 : static_cast<size_t>(pin.addr))) {
          out.push_back(c);
          break;
        }
    return out;
  }
  case Peer::Kind::Any:
  case Peer::Kind::Entity:
  case Peer::Kind::Nodes: break;  // nodes: each node is a class of its own (in others_)
  }
  if (p.kind == Peer::Kind::Entity && p.entity == Entity::World) return externals_;
  if (p.kind == Peer::Kind::Nodes ||
      (p.kind == Peer::Kind::Entity && p.entity != Entity::All && p.entity != Entity::Cluster)) {
    std::vector<uint32_t> out;
    for (uint32_t c : others_)
      if (peer_matches(p, representative(c))) out.push_back(c);
    return out;
  }
  if (p.kind == Peer::Kind::Entity && p.entity == Entity::Cluster) {
    std::vector<uint32_t> out = workloads_;
    out.insert(out.end(), others_.begin(), others_.end());
    std::sort(out.begin(), out.end());
    return out;
  }
  return all_;
}

size_t InventoryClasses::endpoints_in(const std::vector<uint32_t>& cs) const {
  size_t n = 0;
  for (uint32_t c : cs) n += classes_[c].size;
  return n;
}

} // namespace moat::verify
