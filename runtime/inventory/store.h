// The watched inventory: Namespaces, Pods, Nodes and the API server's addresses, kept
// current one event at a time. Each object is read by the front end's Kubernetes reader
// (frontend/kube_objects.h) from its own text, which lives in one SourceManager entry per
// live object (reused by the object's next version and, after a delete, by the next new
// object), so diagnostics point into it and the entries never outgrow the cluster. A
// malformed object is reported (W807, E801 for a Node) and left out, as in a file.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/inventory.h"
#include "runtime/inventory/watch.h"

namespace moat::runtime::inventory {

class InventoryStore {
public:
  /// Applies the events in order (a pod takes its namespace's labels as it arrives; all pods
  /// take them again when a namespace changed) and collects the API server's addresses.
  /// Diagnostics point into sources().
  void apply(std::vector<WatchEvent>& events, Diagnostics& diags);
  const Inventory& inventory() const { return inv_; }
  const SourceManager& sources() const { return sm_; }
  /// The Node named `name`, or nullptr.
  const KubeNode* node(const std::string& name) const;
  size_t objects() const { return files_.size(); }

private:
  void upsert(Resource r, WatchObject& o, Diagnostics& diags);
  void erase(Resource r, const std::string& key);
  void replace_all(Resource r, std::vector<WatchObject>& objects, Diagnostics& diags);
  FileId file_for(const std::string& id);
  template <class T>
  void remove_at(std::vector<T>& v, std::vector<std::string>& keys, std::unordered_map<std::string, size_t>& index,
                 size_t at);

  SourceManager sm_;
  Inventory inv_;
  // "pods/ns/name" -> the object's SourceManager entry; free entries are reused.
  std::unordered_map<std::string, FileId> files_;
  std::vector<FileId> free_;
  std::vector<FileId> released_;  // freed in this apply(): reused only after it
  bool namespaces_changed_ = false;
  std::unordered_map<std::string, size_t> pod_at_, node_at_;  // key -> index in inv_
  std::vector<std::string> pod_keys_, node_keys_;              // parallel to inv_.pods / nodes
  std::unordered_map<std::string, std::vector<IpAddr>> slices_;  // EndpointSlice -> ready addresses
};

} // namespace moat::runtime::inventory
