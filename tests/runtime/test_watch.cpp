// The watched inventory: the store applies events without re-reading the cluster (and
// keeps one source entry per live object), and the watcher follows a fake API server
// (fake_kube_api.py on 127.0.0.1) through LIST paging, events, bookmarks, 410 Gone, a
// dropped connection, an outage and a rotated token.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "runtime/inventory/cluster_source.h"
#include "runtime/inventory/store.h"
#include "runtime/inventory/watch.h"

using namespace moat;
using namespace moat::runtime::inventory;
using moat::runtime::Inventory;

namespace {

std::string pod_json(const std::string& ns, const std::string& name, const std::string& ip,
                     const std::string& app = "web", const std::string& node = "n1") {
  return R"({"kind":"Pod","metadata":{"namespace":")" + ns + R"(","name":")" + name + R"(","uid":"u-)" + name +
         R"(","labels":{"app":")" + app + R"("}},"spec":{"nodeName":")" + node +
         R"(","containers":[{"name":"c"}]},"status":{"phase":"Running","podIP":")" + ip + R"(","podIPs":[{"ip":")" +
         ip + R"("}]}})";
}
std::string ns_json(const std::string& name, const std::string& team) {
  return R"({"kind":"Namespace","metadata":{"name":")" + name + R"(","labels":{"team":")" + team + R"("}}})";
}
std::string node_json(const std::string& name, const std::string& ip) {
  return R"({"kind":"Node","metadata":{"name":")" + name + R"("},"status":{"addresses":[{"type":"InternalIP","address":")" +
         ip + R"("}]}})";
}
std::string slice_json(const std::string& ip) {
  return R"({"kind":"EndpointSlice","metadata":{"namespace":"default","name":"kubernetes"},"addressType":"IPv4","endpoints":[{"addresses":[")" +
         ip + R"("]}]})";
}

WatchEvent ev(Resource r, WatchEvent::Type t, std::vector<WatchObject> objs) { return WatchEvent{r, t, std::move(objs)}; }

const KubePod* find(const Inventory& inv, const std::string& name) { return inv.find_pod(name); }

} // namespace

TEST_CASE("the store applies watch events one by one") {
  InventoryStore store;
  Diagnostics diags;
  std::vector<WatchEvent> batch{
      ev(Resource::Namespaces, WatchEvent::Type::Replace, {{"a", ns_json("a", "red")}}),
      ev(Resource::Pods, WatchEvent::Type::Replace,
         {{"a/p1", pod_json("a", "p1", "10.0.0.1")}, {"a/p2", pod_json("a", "p2", "10.0.0.2")}}),
      ev(Resource::Nodes, WatchEvent::Type::Replace, {{"n1", node_json("n1", "192.0.2.1")}, {"n2", node_json("n2", "192.0.2.2")}}),
      ev(Resource::ApiserverSlices, WatchEvent::Type::Replace, {{"default/kubernetes", slice_json("192.0.2.10")}}),
  };
  store.apply(batch, diags);
  CHECK(diags.all().empty());
  const Inventory& inv = store.inventory();
  REQUIRE(inv.pods.size() == 2);
  REQUIRE(find(inv, "a/p1"));
  CHECK(find(inv, "a/p1")->ep.ns_labels.at("team") == "red");
  CHECK(find(inv, "a/p1")->uid == "u-p1");
  REQUIRE(store.node("n2"));
  CHECK(store.node("n2")->addresses.front().str() == "192.0.2.2");
  REQUIRE(inv.kube_apiserver.size() == 1);
  CHECK(inv.kube_apiserver.front().str() == "192.0.2.10");

  SECTION("modify, delete, and a namespace relabel reach every pod in it") {
    std::vector<WatchEvent> b{
        ev(Resource::Pods, WatchEvent::Type::Upsert, {{"a/p1", pod_json("a", "p1", "10.0.0.9", "db")}}),
        ev(Resource::Pods, WatchEvent::Type::Delete, {{"a/p2", "{}"}}),
        ev(Resource::Namespaces, WatchEvent::Type::Upsert, {{"a", ns_json("a", "blue")}}),
        ev(Resource::Pods, WatchEvent::Type::Upsert, {{"a/p3", pod_json("a", "p3", "10.0.0.3")}}),
    };
    store.apply(b, diags);
    REQUIRE(inv.pods.size() == 2);
    CHECK(find(inv, "a/p2") == nullptr);
    CHECK(find(inv, "a/p1")->ep.labels.at("app") == "db");
    CHECK(find(inv, "a/p1")->ep.ips.front().str() == "10.0.0.9");
    CHECK(find(inv, "a/p1")->ep.ns_labels.at("team") == "blue");
    CHECK(find(inv, "a/p3")->ep.ns_labels.at("team") == "blue");
  }
  SECTION("a relist removes what vanished without a DELETED event") {
    std::vector<WatchEvent> b{
        ev(Resource::Pods, WatchEvent::Type::Replace, {{"a/p2", pod_json("a", "p2", "10.0.0.2")}}),
        ev(Resource::Nodes, WatchEvent::Type::Replace, {{"n1", node_json("n1", "192.0.2.1")}}),
        ev(Resource::ApiserverSlices, WatchEvent::Type::Replace, {}),
    };
    store.apply(b, diags);
    REQUIRE(inv.pods.size() == 1);
    CHECK(find(inv, "a/p2"));
    CHECK(store.node("n2") == nullptr);
    CHECK(inv.nodes.size() == 1);
    CHECK(inv.kube_apiserver.empty());
  }
  SECTION("a malformed version is reported against its own text and left out") {
    std::string bad = pod_json("a", "p1", "not-an-ip");
    std::vector<WatchEvent> b{ev(Resource::Pods, WatchEvent::Type::Upsert, {{"a/p1", bad}})};
    Diagnostics d;
    store.apply(b, d);
    REQUIRE(d.all().size() == 1);
    CHECK(d.all().front().code == Code::W807);
    CHECK(store.sources().location(d.all().front().range).rfind("kube-api:/api/v1/namespaces/a/pods/p1:1:", 0) == 0);
    CHECK(find(inv, "a/p1") == nullptr);  // fail closed: no stale address stays allowed
    CHECK(inv.pods.size() == 1);
  }
  SECTION("source entries stay bounded by the live objects, whatever the churn") {
    size_t before = store.sources().size();
    for (int i = 0; i < 2000; ++i) {
      std::string name = "c" + std::to_string(i % 5);
      std::vector<WatchEvent> b{
          ev(Resource::Pods, WatchEvent::Type::Upsert, {{"a/" + name, pod_json("a", name, "10.1.0." + std::to_string(i % 200 + 1))}}),
      };
      if (i % 3 == 0) b.push_back(ev(Resource::Pods, WatchEvent::Type::Delete, {{"a/" + name, "{}"}}));
      store.apply(b, diags);
    }
    CHECK(store.sources().size() <= before + 5);
    CHECK(store.objects() <= 2 + 1 + 2 + 5);
  }
}

namespace {

/// fake_kube_api.py on 127.0.0.1 (a free port), killed at the end.
struct FakeApi {
  std::string dir, token, url;
  pid_t pid = -1;
  FakeApi() {
    char tmpl[] = "/tmp/moat-fakeapi-XXXXXX";
    dir = mkdtemp(tmpl);
    token = dir + "/token";
    std::ofstream(token) << "secret-1\n";
    pid = fork();
    if (pid == 0) {
      std::string script = std::string(MOAT_SOURCE_DIR) + "/tests/runtime/fake_kube_api.py";
      std::string port_file = dir + "/port";
      execlp("python3", "python3", script.c_str(), "--port-file", port_file.c_str(), "--token-file", token.c_str(),
             (char*)nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && url.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      std::ifstream in(dir + "/port");
      std::string port;
      if (in >> port) url = "http://127.0.0.1:" + port;
    }
    REQUIRE(!url.empty());
  }
  ~FakeApi() {
    if (pid > 0) kill(pid, SIGTERM), waitpid(pid, nullptr, 0);
    std::system(("rm -rf " + dir).c_str());
  }
  void control(const std::string& cmd) const {
    std::string f = dir + "/cmd.json";
    std::ofstream(f) << cmd;
    std::string sh = "curl -sf -X POST --data-binary @" + f + " " + url + "/_control >/dev/null";
    REQUIRE(std::system(sh.c_str()) == 0);
  }
  void put(const std::string& res, const std::string& obj) const {
    control(R"({"op":"put","resource":")" + res + R"(","object":)" + obj + "}");
  }
};

/// Polls `cond` (applying what the watcher delivers to `store`) for up to `ms`.
template <class F>
bool eventually(Watcher& w, InventoryStore& store, F cond, int ms = 8000) {
  for (int t = 0; t < ms; t += 20) {
    std::vector<WatchEvent> events;
    w.take(events);
    Diagnostics d;
    if (!events.empty()) store.apply(events, d);
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

} // namespace

TEST_CASE("the watcher lists, watches and resyncs against a fake API server") {
  FakeApi api;
  api.put("namespaces", ns_json("a", "red"));
  for (int i = 1; i <= 5; ++i) api.put("pods", pod_json("a", "p" + std::to_string(i), "10.0.0." + std::to_string(i)));
  api.put("nodes", node_json("n1", "192.0.2.1"));
  api.put("endpointslices", slice_json("192.0.2.10"));

  std::string err;
  auto config = kube_config(api.url, api.token, "", err);
  REQUIRE(config);
  WatchOptions opt;
  opt.page_size = 2;  // five pods: three pages
  opt.fail_grace_ms = 300;
  opt.backoff_min_ms = 100;
  opt.backoff_max_ms = 400;
  auto w = Watcher::start(*config, opt);
  InventoryStore store;
  const Inventory& inv = store.inventory();
  REQUIRE(eventually(*w, store, [&] { return w->health().synced && inv.pods.size() == 5 && !inv.kube_apiserver.empty(); }));
  CHECK_FALSE(w->health().stale);

  // Events: added, modified, deleted; a bookmark is counted and changes nothing.
  // p6 is a static pod's mirror: of its annotations only kubernetes.io/config.mirror survives
  // the reduction, and the owner reference keeps its uid (runtime/attach/static_pods.h).
  std::string p6 = pod_json("a", "p6", "10.0.0.6");
  p6.replace(p6.find(R"("uid":"u-p6")"), 12,
             R"("uid":"u-p6","annotations":{"kubernetes.io/config.mirror":"0123456789abcdef0123456789abcdef",)"
             R"("kubectl.kubernetes.io/last-applied-configuration":"{}"},"ownerReferences":[{"apiVersion":"v1",)"
             R"("kind":"Node","name":"n1","uid":"node-uid-1","controller":true}])");
  api.put("pods", p6);
  api.put("pods", pod_json("a", "p1", "10.0.0.1", "db"));
  api.control(R"({"op":"delete","resource":"pods","key":"a/p2"})");
  api.control(R"({"op":"bookmark"})");
  REQUIRE(eventually(*w, store, [&] {
    return inv.find_pod("a/p6") && !inv.find_pod("a/p2") && inv.find_pod("a/p1")->ep.labels.at("app") == "db" &&
           w->health().bookmarks >= 4;
  }));
  CHECK(inv.find_pod("a/p6")->mirror_of == "0123456789abcdef0123456789abcdef");
  CHECK(inv.find_pod("a/p6")->owner.kind == "Node");
  CHECK(inv.find_pod("a/p6")->owner.uid == "node-uid-1");
  CHECK(inv.find_pod("a/p1")->mirror_of.empty());
  uint64_t relists = w->health().relists;
  CHECK(relists == 4);

  SECTION("410 Gone relists, and the relist removes an object whose DELETED event was lost") {
    api.control(R"({"op":"delete","resource":"pods","key":"a/p3","silent":true})");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Diagnostics d;
    std::vector<WatchEvent> events;
    w->take(events), store.apply(events, d);
    CHECK(inv.find_pod("a/p3"));  // no event: the store cannot know yet
    api.control(R"({"op":"expire"})");
    REQUIRE(eventually(*w, store, [&] { return !inv.find_pod("a/p3"); }));
    CHECK(w->health().relists >= relists + 4);
    CHECK_FALSE(w->health().stale);  // 410 is routine, not a failure
  }
  SECTION("a dropped connection is resumed by a relist without going stale") {
    api.control(R"({"op":"drop"})");
    api.put("pods", pod_json("a", "p7", "10.0.0.7"));
    REQUIRE(eventually(*w, store, [&] { return inv.find_pod("a/p7") != nullptr; }));
    CHECK(w->health().failures >= 1);
  }
  SECTION("an outage is stale until the server is back, then relisted") {
    api.control(R"({"op":"down"})");
    REQUIRE(eventually(*w, store, [&] { return w->health().stale; }));
    CHECK(w->health().why.find("pods:") != std::string::npos);
    CHECK(inv.find_pod("a/p1"));  // the last good state stays
    api.control(R"({"op":"delete","resource":"pods","key":"a/p4","silent":true})");
    api.control(R"({"op":"up"})");
    REQUIRE(eventually(*w, store, [&] { return !w->health().stale && !inv.find_pod("a/p4"); }));
  }
  SECTION("a rejected token is stale; the rotated token is read again and works") {
    std::ofstream(api.token) << "secret-2\n";  // the server now wants this one...
    api.control(R"({"op":"drop"})");
    std::string good = api.token + ".client";
    // ...while the client still holds the old one: point the client at its own copy.
    auto cfg2 = kube_config(api.url, good, "", err);
    std::ofstream(good) << "secret-1\n";
    auto w2 = Watcher::start(*cfg2, opt);
    InventoryStore s2;
    REQUIRE(eventually(*w2, s2, [&] { return w2->health().stale; }));
    CHECK(w2->health().why.find("401") != std::string::npos);
    std::ofstream(good) << "secret-2\n";  // kubelet rotates the projected token
    REQUIRE(eventually(*w2, s2, [&] { return w2->health().synced && !w2->health().stale && s2.inventory().pods.size() == 5; }));
  }
}

TEST_CASE("the API server URL: plain http only on loopback, and a node name is needed") {
  std::string err;
  CHECK_FALSE(kube_config("http://10.0.0.1:6443", "", "", err));
  CHECK(err.find("loopback") != std::string::npos);
  CHECK(kube_config("http://127.0.0.1:8080/", "", "", err)->base_url == "http://127.0.0.1:8080");
  CHECK(kube_config("https://api.example:6443", "", "", err));
  CHECK_FALSE(kube_config("ftp://x", "", "", err));
  unsetenv("NODE_NAME");
  KubeApiOptions k;
  k.api = "http://127.0.0.1:1";
  CHECK_FALSE(open_cluster_source("", {}, k, err));
  CHECK(err.find("NODE_NAME") != std::string::npos);
}

// Measurement, not run by ctest ([.]): `test_runtime_watch "[.bench]"` prints how long the
// store takes for a 20,000-pod LIST and for single-pod events against that cluster.
TEST_CASE("store cost at cluster size", "[.bench]") {
  InventoryStore store;
  Diagnostics diags;
  std::vector<WatchObject> pods;
  for (int i = 0; i < 20000; ++i) {
    std::string name = "p" + std::to_string(i);
    pods.push_back({"ns" + std::to_string(i % 200) + "/" + name,
                    pod_json("ns" + std::to_string(i % 200), name,
                             "10." + std::to_string(i / 65536 + 1) + "." + std::to_string(i / 256 % 256) + "." +
                                 std::to_string(i % 256))});
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<WatchEvent> list{ev(Resource::Pods, WatchEvent::Type::Replace, std::move(pods))};
  store.apply(list, diags);
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    std::string name = "p" + std::to_string(i * 7);
    std::string ns = "ns" + std::to_string(i * 7 % 200);
    std::vector<WatchEvent> b{ev(Resource::Pods, WatchEvent::Type::Upsert, {{ns + "/" + name, pod_json(ns, name, "10.9.0.1", "x")}})};
    store.apply(b, diags);
  }
  auto t2 = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("20000-pod LIST applied in %.0f ms; one pod event (its own batch) %.3f ms on average\n", ms(t1 - t0),
              ms(t2 - t1) / 1000);
  CHECK(store.inventory().pods.size() == 20000);
  CHECK(diags.all().empty());
}
