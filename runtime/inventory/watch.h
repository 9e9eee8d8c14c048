// Keeps the agent's view of four API resources current: Namespaces, Pods, Nodes and the
// EndpointSlices of the `default/kubernetes` Service. Per resource one thread LISTs (paged)
// and then WATCHes from the list's resourceVersion with bookmarks; a watch the server ends
// is resumed from the last resourceVersion seen, `410 Gone` (the version left the server's
// window) relists, and any failure relists after a backoff with jitter. Each LIST becomes
// one Replace event (what is not in it is gone), each watch event one Upsert or Delete;
// the consumer takes them in order (take()). A resource that failed, or has had neither an
// event nor a bookmark for `stale_after_ms`, makes health() stale until it is synced again.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/inventory/kube_client.h"

namespace moat::runtime::inventory {

enum class Resource : uint8_t { Namespaces, Pods, Nodes, ApiserverSlices };
inline constexpr Resource kResources[] = {Resource::Namespaces, Resource::Pods, Resource::Nodes,
                                          Resource::ApiserverSlices};
const char* resource_name(Resource r);  // "namespaces", "pods", "nodes", "endpointslices"
/// The collection's path, e.g. "/api/v1/pods" (with the label selector for the slices).
std::string resource_path(Resource r);
/// The object kind the reader expects ("Pod", ...): LIST items come without one.
const char* resource_kind(Resource r);

/// One object as received, reduced to what the agent reads (managedFields, annotations other
/// than kubernetes.io/config.mirror and bulky status lists dropped) and serialised as one line of JSON with its kind set.
struct WatchObject {
  std::string key;   // "ns/name" for namespaced objects, "name" otherwise
  std::string json;
};

struct WatchEvent {
  enum class Type : uint8_t { Upsert, Delete, Replace };
  Resource resource;
  Type type;
  std::vector<WatchObject> objects;  // one for Upsert and Delete; the whole set for Replace
};

struct WatchOptions {
  int stale_after_ms = 180'000;  // no event, bookmark or reconnect for this long: stale
  int fail_grace_ms = 1'000;     // a failure not repaired within this is stale (a dropped
                                 // connection resumed at once is not)
  int watch_timeout_s = 240;     // asked of the server; it ends the watch, we resume it
  int backoff_min_ms = 200, backoff_max_ms = 30'000;
  int page_size = 500;
};

struct WatchHealth {
  bool synced = false;  // every resource listed at least once
  bool stale = false;
  std::string why;      // "pods: Couldn't connect to server (for 12 s)", ...
  uint64_t relists = 0, events = 0, bookmarks = 0, failures = 0;
};

class Watcher {
public:
  /// Starts one thread per resource (they stop when the Watcher is destroyed).
  static std::unique_ptr<Watcher> start(KubeConfig config, WatchOptions options);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  /// Moves the events received so far, in order, into `out`; returns how many.
  size_t take(std::vector<WatchEvent>& out);
  /// Milliseconds since the oldest event not yet taken arrived (-1: none waiting).
  int64_t pending_age_ms() const;
  WatchHealth health() const;

  struct State;

private:
  Watcher() = default;
  std::unique_ptr<State> state_;
};

} // namespace moat::runtime::inventory
