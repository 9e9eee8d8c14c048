// LIST + WATCH per resource (see watch.h). JSON is parsed here with nlohmann-json, one
// watch line at a time; objects leave this file as compact JSON text for the store, which
// reads them with the front end's Kubernetes reader.
#include "runtime/inventory/watch.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

namespace moat::runtime::inventory {

namespace {

using json = nlohmann::json;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += {'%', hex[c >> 4], hex[c & 15]};
  }
  return out;
}

/// Drops what the agent never reads (kept, it would be most of the text the store holds:
/// managedFields, annotations but the mirror-pod one, container statuses, node images).
void reduce(json& obj) {
  if (auto m = obj.find("metadata"); m != obj.end() && m->is_object()) {
    m->erase("managedFields");
    // Of the annotations only the mirror-pod one is read (static pods' cgroups, runtime/attach).
    if (auto a = m->find("annotations"); a != m->end()) {
      json keep = json::object();
      if (a->is_object())
        if (auto mirror = a->find("kubernetes.io/config.mirror"); mirror != a->end()) keep["kubernetes.io/config.mirror"] = *mirror;
      if (keep.empty()) m->erase(a);
      else *a = std::move(keep);
    }
  }
  auto st = obj.find("status");
  if (st == obj.end() || !st->is_object()) return;
  for (const char* k : {"conditions", "containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses",
                        "images", "volumesInUse", "volumesAttached", "nodeInfo"})
    st->erase(k);
}

/// The object as a WatchObject; false when it has no name (a broken server or stream).
bool to_object(json& obj, Resource r, WatchObject& out) {
  if (!obj.is_object()) return false;
  const json* meta = obj.contains("metadata") && obj["metadata"].is_object() ? &obj["metadata"] : nullptr;
  if (!meta || !meta->contains("name") || !(*meta)["name"].is_string()) return false;
  out.key = (*meta)["name"].get<std::string>();
  if (meta->contains("namespace") && (*meta)["namespace"].is_string())
    out.key = (*meta)["namespace"].get<std::string>() + "/" + out.key;
  obj["kind"] = resource_kind(r);
  reduce(obj);
  out.json = obj.dump(-1, ' ', false, json::error_handler_t::replace);
  return true;
}

std::string resource_version(const json& obj) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return {};
  auto v = m->find("resourceVersion");
  return v != m->end() && v->is_string() ? v->get<std::string>() : std::string();
}

std::string with_query(const std::string& path, const std::string& q) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + q;
}

} // namespace

const char* resource_name(Resource r) {
  switch (r) {
  case Resource::Namespaces: return "namespaces";
  case Resource::Pods: return "pods";
  case Resource::Nodes: return "nodes";
  case Resource::ApiserverSlices: return "endpointslices";
  }
  return "?";
}

const char* resource_kind(Resource r) {
  switch (r) {
  case Resource::Namespaces: return "Namespace";
  case Resource::Pods: return "Pod";
  case Resource::Nodes: return "Node";
  case Resource::ApiserverSlices: return "EndpointSlice";
  }
  return "?";
}

std::string resource_path(Resource r) {
  if (r == Resource::ApiserverSlices)
    return "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=" +
           url_escape("kubernetes.io/service-name=kubernetes");
  return std::string("/api/v1/") + resource_name(r);
}

struct Watcher::State {
  KubeClient client;
  WatchOptions opt;
  std::atomic<bool> stop{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;  // wakes backoff sleeps at shutdown

  mutable std::mutex mu;  // everything below
  std::vector<WatchEvent> pending;
  int64_t pending_since = -1;
  struct PerResource {
    bool synced = false;
    int64_t last_ok = 0;         // last event, bookmark or successful (re)connection
    int64_t failing_since = 0;   // 0: not failing
    std::string error;
  };
  PerResource res[4];
  uint64_t relists = 0, events = 0, bookmarks = 0, failures = 0;
  std::vector<std::thread> threads;

  State(KubeConfig c, WatchOptions o) : client(std::move(c)), opt(o) {}

  void push(WatchEvent e) {
    std::lock_guard lk(mu);
    if (pending.empty()) pending_since = now_ms();
    pending.push_back(std::move(e));
  }
  void ok(Resource r) {
    std::lock_guard lk(mu);
    auto& s = res[static_cast<int>(r)];
    s.last_ok = now_ms();
    s.failing_since = 0;
    s.error.clear();
  }
  void fail(Resource r, const std::string& why) {
    std::lock_guard lk(mu);
    auto& s = res[static_cast<int>(r)];
    if (!s.failing_since) s.failing_since = now_ms();
    s.error = why;
    ++failures;
  }
  void touch(Resource r) {  // activity that does not prove the resource healthy
    std::lock_guard lk(mu);
    res[static_cast<int>(r)].last_ok = now_ms();
  }
  int64_t last_ok(Resource r) const {
    std::lock_guard lk(mu);
    return res[static_cast<int>(r)].last_ok;
  }
  void sleep_ms(int ms) {
    std::unique_lock lk(stop_mu);
    stop_cv.wait_for(lk, std::chrono::milliseconds(ms), [&] { return stop.load(); });
  }

  /// A complete LIST (all pages) as one Replace event; the list's resourceVersion in `rv`.
  bool list(Resource r, std::string& rv, std::string& error) {
    WatchEvent ev{r, WatchEvent::Type::Replace, {}};
    std::string cont;
    for (;;) {
      std::string q = "limit=" + std::to_string(opt.page_size);
      if (!cont.empty()) q += "&continue=" + url_escape(cont);
      std::string body;
      HttpResult h = client.get(with_query(resource_path(r), q), body, [this] { return !stop.load(); });
      if (stop) return false;
      if (!h.error.empty()) return error = "list: " + h.error, false;
      json doc = json::parse(body, nullptr, false);
      if (doc.is_discarded() || !doc.is_object() || !doc.contains("items") || !doc["items"].is_array())
        return error = "list: the response is not a list", false;
      for (json& item : doc["items"]) {
        WatchObject o;
        if (to_object(item, r, o)) ev.objects.push_back(std::move(o));
      }
      rv = resource_version(doc);
      auto m = doc.find("metadata");
      cont = m != doc.end() && m->is_object() && m->contains("continue") && (*m)["continue"].is_string()
                 ? (*m)["continue"].get<std::string>()
                 : std::string();
      if (cont.empty()) break;
    }
    push(std::move(ev));
    {
      std::lock_guard lk(mu);
      res[static_cast<int>(r)].synced = true;
      ++relists;
    }
    ok(r);
    return true;
  }

  void run(Resource r) {
    std::string rv, error;
    bool need_list = true;
    int backoff = 0;
    std::mt19937 rng(std::random_device{}());
    while (!stop) {
      if (backoff) {
        // Jitter: after an API server restart, thousands of agents do not return at once.
        sleep_ms(backoff / 2 + static_cast<int>(rng() % static_cast<unsigned>(backoff / 2 + 1)));
        if (stop) break;
      }
      if (need_list) {
        if (!list(r, rv, error)) {
          if (stop) break;
          fail(r, error);
          backoff = std::clamp(backoff * 2, opt.backoff_min_ms, opt.backoff_max_ms);
          continue;
        }
        need_list = false;
      }
      bool gone = false, broken = false, quiet = false;
      std::string why;
      auto on_line = [&](std::string_view line) {
        if (gone || broken) return;
        json ev = json::parse(line, nullptr, false);
        if (ev.is_discarded() || !ev.is_object() || !ev.contains("type") || !ev["type"].is_string() ||
            !ev.contains("object")) {
          broken = true, why = "watch: a line that is not a watch event";
          return;
        }
        std::string type = ev["type"].get<std::string>();
        json& obj = ev["object"];
        if (type == "ERROR") {
          // A Status object: 410 Gone (resourceVersion too old, or "Expired") relists.
          long code = obj.is_object() && obj.contains("code") && obj["code"].is_number() ? obj["code"].get<long>() : 0;
          if (code == 410) gone = true;
          else broken = true, why = "watch: error event " + ev.dump().substr(0, 300);
          return;
        }
        std::string v = resource_version(obj);
        if (type == "BOOKMARK") {
          if (!v.empty()) rv = v;
          std::lock_guard lk(mu);
          ++bookmarks;
        } else if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
          WatchObject o;
          if (!to_object(obj, r, o)) {
            broken = true, why = "watch: an event without an object name";
            return;
          }
          if (!v.empty()) rv = v;
          push(WatchEvent{r, type == "DELETED" ? WatchEvent::Type::Delete : WatchEvent::Type::Upsert, {std::move(o)}});
          std::lock_guard lk(mu);
          ++events;
        } else {
          return;  // a type this client does not know: ignored, like client-go does
        }
        ok(r);
      };
      auto keep_going = [&] {
        if (stop || gone || broken) return false;
        if (now_ms() - last_ok(r) > opt.stale_after_ms) return quiet = true, false;
        return true;
      };
      std::string q = "watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(opt.watch_timeout_s);
      if (!rv.empty()) q += "&resourceVersion=" + url_escape(rv);
      touch(r);  // a new watch starts its quiet period afresh
      HttpResult h = client.stream(with_query(resource_path(r), q), on_line, keep_going);
      if (stop) break;
      if (gone || h.status == 410) {  // the version left the server's window: relist at once
        need_list = true, backoff = 0;
        continue;
      }
      if (quiet) why = "no event or bookmark for " + std::to_string(opt.stale_after_ms / 1000) + " s";
      else if (!broken && h.error.empty()) {  // the server ended the watch (timeoutSeconds): resume
        backoff = 0;
        continue;
      } else if (!broken) {
        why = "watch: " + h.error;
      }
      // Events may have been lost: the next LIST is the truth.
      fail(r, why);
      need_list = true;
      backoff = std::clamp(backoff * 2, opt.backoff_min_ms, opt.backoff_max_ms);
    }
  }
};

std::unique_ptr<Watcher> Watcher::start(KubeConfig config, WatchOptions options) {
  std::unique_ptr<Watcher> w(new Watcher());
  w->state_ = std::make_unique<State>(std::move(config), options);
  for (Resource r : kResources) w->state_->threads.emplace_back([s = w->state_.get(), r] { s->run(r); });
  return w;
}

Watcher::~Watcher() {
  if (!state_) return;
  {
    std::lock_guard lk(state_->stop_mu);
    state_->stop = true;
  }
  state_->stop_cv.notify_all();
  for (auto& t : state_->threads) t.join();
}

size_t Watcher::take(std::vector<WatchEvent>& out) {
  std::lock_guard lk(state_->mu);
  size_t n = state_->pending.size();
  for (auto& e : state_->pending) out.push_back(std::move(e));
  state_->pending.clear();
  state_->pending_since = -1;
  return n;
}

int64_t Watcher::pending_age_ms() const {
  std::lock_guard lk(state_->mu);
  return state_->pending_since < 0 ? -1 : now_ms() - state_->pending_since;
}

WatchHealth Watcher::health() const {
  std::lock_guard lk(state_->mu);
  WatchHealth h;
  h.synced = true;
  int64_t now = now_ms();
  for (Resource r : kResources) {
    const auto& s = state_->res[static_cast<int>(r)];
    h.synced = h.synced && s.synced;
    std::string why;
    if (s.failing_since && now - s.failing_since >= state_->opt.fail_grace_ms)
      why = s.error + " (for " + std::to_string((now - s.failing_since) / 1000) + " s)";
    else if (s.synced && now - s.last_ok > state_->opt.stale_after_ms)
      why = "no event or bookmark for " + std::to_string((now - s.last_ok) / 1000) + " s";
    if (why.empty()) continue;
    h.stale = true;
    if (!h.why.empty()) h.why += "; ";
    h.why += std::string(resource_name(r)) + ": " + why;
  }
  h.relists = state_->relists, h.events = state_->events, h.bookmarks = state_->bookmarks;
  h.failures = state_->failures;
  return h;
}

} // namespace moat::runtime::inventory
