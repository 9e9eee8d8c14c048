// The watched inventory (see store.h). Pods and Nodes sit in the Inventory's vectors,
// found by key through an index (keys parallel to them); a removal moves the last element
// into the gap.
#include "runtime/inventory/store.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace moat::runtime::inventory {

namespace {

/// The object's API path, the "file" its diagnostics name.
std::string api_path(Resource r, const std::string& key) {
  size_t slash = key.find('/');
  if (slash == std::string::npos) return "kube-api:/api/v1/" + std::string(resource_name(r)) + "/" + key;
  return "kube-api:/api/v1/namespaces/" + key.substr(0, slash) + "/" + resource_name(r) + "/" + key.substr(slash + 1);
}

/// The ready addresses of an EndpointSlice (conditions.ready absent counts as ready, as
/// the API defines it); FQDN slices have none.
std::vector<IpAddr> slice_addresses(const std::string& text) {
  std::vector<IpAddr> out;
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("endpoints") || !doc["endpoints"].is_array()) return out;
  for (const auto& ep : doc["endpoints"]) {
    if (!ep.is_object() || !ep.contains("addresses") || !ep["addresses"].is_array()) continue;
    if (ep.contains("conditions") && ep["conditions"].is_object() && ep["conditions"].contains("ready") &&
        ep["conditions"]["ready"].is_boolean() && !ep["conditions"]["ready"].get<bool>())
      continue;
    for (const auto& a : ep["addresses"])
      if (a.is_string())
        if (auto ip = IpAddr::parse(a.get<std::string>())) out.push_back(*ip);
  }
  return out;
}

} // namespace

const KubeNode* InventoryStore::node(const std::string& name) const {
  auto it = node_at_.find(name);
  return it == node_at_.end() ? nullptr : &inv_.nodes[it->second];
}

FileId InventoryStore::file_for(const std::string& id) {
  auto it = files_.find(id);
  if (it != files_.end()) return it->second;
  FileId f;
  if (!free_.empty()) {
    f = free_.back();
    free_.pop_back();
  } else {
    f = sm_.add("", "");
  }
  files_.emplace(id, f);
  return f;
}

template <class T>
void InventoryStore::remove_at(std::vector<T>& v, std::vector<std::string>& keys,
                               std::unordered_map<std::string, size_t>& index, size_t at) {
  if (at + 1 != v.size()) {
    v[at] = std::move(v.back());
    keys[at] = std::move(keys.back());
    index[keys[at]] = at;
  }
  v.pop_back();
  keys.pop_back();
}

void InventoryStore::erase(Resource r, const std::string& key) {
  std::string id = std::string(resource_name(r)) + "/" + key;
  if (auto it = files_.find(id); it != files_.end()) {
    released_.push_back(it->second);
    files_.erase(it);
  }
  switch (r) {
  case Resource::Namespaces:
    inv_.namespaces.erase(key);
    namespaces_changed_ = true;
    break;
  case Resource::Pods:
    if (auto it = pod_at_.find(key); it != pod_at_.end()) {
      size_t at = it->second;
      pod_at_.erase(it);
      remove_at(inv_.pods, pod_keys_, pod_at_, at);
    }
    break;
  case Resource::Nodes:
    if (auto it = node_at_.find(key); it != node_at_.end()) {
      size_t at = it->second;
      node_at_.erase(it);
      remove_at(inv_.nodes, node_keys_, node_at_, at);
    }
    break;
  case Resource::ApiserverSlices: slices_.erase(key); break;
  }
}

void InventoryStore::upsert(Resource r, WatchObject& o, Diagnostics& diags) {
  if (r == Resource::ApiserverSlices) {
    slices_[o.key] = slice_addresses(o.json);
    return;
  }
  FileId f = file_for(std::string(resource_name(r)) + "/" + o.key);
  sm_.replace(f, api_path(r, o.key), std::move(o.json));
  KubeObjects one;
  parse_kube_objects(f, sm_, one, diags);
  if (r == Resource::Namespaces && one.namespaces.size() == 1) {
    inv_.namespaces[one.namespaces.begin()->first] = std::move(one.namespaces.begin()->second);
    namespaces_changed_ = true;
  } else if (r == Resource::Pods && one.pods.size() == 1) {
    // Resolved alone, against its namespace only: a pod event costs the same in a cluster
    // of any size.
    if (auto ns = inv_.namespaces.find(one.pods.front().ep.ns); ns != inv_.namespaces.end())
      one.namespaces.insert(*ns);
    resolve_kube_objects(one, diags, /*warn_missing_namespaces=*/false);
    auto [it, fresh] = pod_at_.emplace(o.key, inv_.pods.size());
    if (fresh) inv_.pods.push_back(std::move(one.pods.front())), pod_keys_.push_back(o.key);
    else inv_.pods[it->second] = std::move(one.pods.front());
  } else if (r == Resource::Nodes && one.nodes.size() == 1) {
    auto [it, fresh] = node_at_.emplace(o.key, inv_.nodes.size());
    if (fresh) inv_.nodes.push_back(std::move(one.nodes.front())), node_keys_.push_back(o.key);
    else inv_.nodes[it->second] = std::move(one.nodes.front());
  } else {
    // Malformed (reported by the reader): left out, like a bad object in a file. Its text
    // stays until this apply() is over, for the diagnostic.
    erase(r, o.key);
  }
}

void InventoryStore::replace_all(Resource r, std::vector<WatchObject>& objects, Diagnostics& diags) {
  std::unordered_map<std::string, bool> listed;
  for (const WatchObject& o : objects) listed.emplace(o.key, true);
  std::vector<std::string> gone;
  if (r == Resource::ApiserverSlices) {
    for (const auto& [key, _] : slices_)
      if (!listed.count(key)) gone.push_back(key);
  } else {
    std::string prefix = std::string(resource_name(r)) + "/";
    for (const auto& [id, _] : files_)
      if (id.compare(0, prefix.size(), prefix) == 0 && !listed.count(id.substr(prefix.size())))
        gone.push_back(id.substr(prefix.size()));
  }
  for (const std::string& key : gone) erase(r, key);
  for (WatchObject& o : objects) upsert(r, o, diags);
}

void InventoryStore::apply(std::vector<WatchEvent>& events, Diagnostics& diags) {
  for (WatchEvent& e : events) {
    switch (e.type) {
    case WatchEvent::Type::Replace: replace_all(e.resource, e.objects, diags); break;
    case WatchEvent::Type::Upsert: upsert(e.resource, e.objects.front(), diags); break;
    case WatchEvent::Type::Delete: erase(e.resource, e.objects.front().key); break;
    }
  }
  inv_.kube_apiserver.clear();
  for (const auto& [_, addrs] : slices_)
    for (const IpAddr& a : addrs)
      if (std::find(inv_.kube_apiserver.begin(), inv_.kube_apiserver.end(), a) == inv_.kube_apiserver.end())
        inv_.kube_apiserver.push_back(a);
  std::sort(inv_.kube_apiserver.begin(), inv_.kube_apiserver.end());
  // A namespace's labels changed: every pod takes them again (a map lookup per pod; nothing
  // is read again). Pods of a namespace not (yet) seen get its name label only.
  if (namespaces_changed_) resolve_kube_objects(inv_, diags, /*warn_missing_namespaces=*/false);
  namespaces_changed_ = false;
  free_.insert(free_.end(), released_.begin(), released_.end());
  released_.clear();
}

} // namespace moat::runtime::inventory
