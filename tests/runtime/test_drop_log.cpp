// The agent's drop log (runtime/agent/drop_log.h): every reader gets every record, in
// order, whatever the others do; a reader that falls a ring behind is told how many it
// lost (read + lost = written); pods are named by address.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <thread>

#include "runtime/agent/drop_log.h"

using namespace moat;
using namespace moat::runtime::agent;

namespace {

std::string temp_log() {
  char dir[] = "/tmp/moat-droplog-XXXXXX";
  REQUIRE(mkdtemp(dir));
  return std::string(dir) + "/drops.ring";
}

ObservedDrop drop(uint32_t i) {
  ObservedDrop d;
  d.unix_ns = 1'000'000'000LL * i;
  d.drop.event.rule = i;
  d.drop.direction = "egress";
  d.drop.src = "10.0.0.1:" + std::to_string(i);
  d.src_pod = "ns/pod-" + std::to_string(i);
  return d;
}

} // namespace

TEST_CASE("drop log: two readers at once both get every record in order", "[runtime][droplog]") {
  std::string path = temp_log(), err;
  auto w = DropLogWriter::create(path, 64, err);
  REQUIRE(w);
  CHECK(drop_log_live(path));
  constexpr int kRecords = 50;
  std::vector<uint32_t> got[2];
  uint64_t lost[2] = {0, 0};
  std::thread readers[2];
  for (int r = 0; r < 2; ++r)
    readers[r] = std::thread([&, r] {
      std::string e;
      follow_drop_log(path, kRecords, 10'000, /*backlog=*/true, nullptr,
                      [&](const ObservedDrop& d) {
                        got[r].push_back(d.drop.event.rule);
                        CHECK(d.src_pod == "ns/pod-" + std::to_string(d.drop.event.rule));
                        CHECK(d.drop.src == "10.0.0.1:" + std::to_string(d.drop.event.rule));
                      },
                      lost[r], e);
    });
  for (uint32_t i = 0; i < kRecords; ++i) {
    w->append(drop(i));
    if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& t : readers) t.join();
  for (int r = 0; r < 2; ++r) {
    REQUIRE(got[r].size() == kRecords);
    for (uint32_t i = 0; i < kRecords; ++i) CHECK(got[r][i] == i);
    CHECK(lost[r] == 0);
  }
}

TEST_CASE("drop log: a slow reader loses the overwritten records and says how many", "[runtime][droplog]") {
  std::string path = temp_log(), err;
  auto w = DropLogWriter::create(path, 16, err);
  REQUIRE(w);
  constexpr uint64_t kRecords = 400;
  uint64_t seen = 0, lost = 0;
  uint32_t last = 0;
  bool ordered = true;
  std::atomic<bool> reading{false};
  w->append(drop(0));
  std::thread reader([&] {
    std::string e;
    follow_drop_log(path, 0, 20'000, /*backlog=*/true, [&] { return seen + lost >= kRecords; },
                    [&](const ObservedDrop& d) {
                      if (seen && d.drop.event.rule <= last) ordered = false;
                      last = d.drop.event.rule;
                      ++seen;
                      reading = true;
                      std::this_thread::sleep_for(std::chrono::microseconds(300));
                    },
                    lost, e);
  });
  while (!reading) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (uint32_t i = 1; i < kRecords; ++i) w->append(drop(i));
  reader.join();
  CHECK(seen + lost == kRecords);
  CHECK(lost > 0);
  CHECK(ordered);
  CHECK(w->written() == kRecords);
}

TEST_CASE("drop log: without a writer or with another file there is nothing to follow", "[runtime][droplog]") {
  std::string path = temp_log(), err;
  CHECK_FALSE(drop_log_live(path));
  uint64_t lost = 0;
  CHECK(follow_drop_log(path, 1, 100, false, nullptr, [](const ObservedDrop&) {}, lost, err) == -1);
  FILE* f = fopen(path.c_str(), "w");
  REQUIRE(f);
  std::string junk(4096, 'x');
  fwrite(junk.data(), 1, junk.size(), f);
  fclose(f);
  CHECK_FALSE(drop_log_live(path));
  CHECK(follow_drop_log(path, 1, 100, false, nullptr, [](const ObservedDrop&) {}, lost, err) == -1);
  CHECK(err.find("not a drop log") != std::string::npos);
}

TEST_CASE("drop log: pod addresses are named namespace/pod with their labels", "[runtime][droplog]") {
  KubeObjects inv;
  KubePod p;
  p.ep.name = "shop/cart-1";
  p.ep.labels = {{"app", "cart"}, {"tier", "back"}};
  p.ep.ips = {*IpAddr::parse("10.1.2.3"), *IpAddr::parse("fd00::3")};
  inv.pods.push_back(p);
  KubePod host = p;
  host.ep.name = "kube-system/proxy";
  host.ep.ips = {*IpAddr::parse("10.9.9.9")};
  host.host_network = true;
  inv.pods.push_back(host);
  auto names = std::make_shared<const PodNames>(pod_names(inv, runtime::inventory::LiveAddresses(inv)));
  PodNamer namer = namer_over([names] { return names; });
  uint8_t v4[16] = {10, 1, 2, 3};
  CHECK(namer(abi::kFamilyV4, v4) == std::pair<std::string, std::string>{"shop/cart-1", "app=cart,tier=back"});
  IpAddr v6 = *IpAddr::parse("fd00::3");
  CHECK(namer(abi::kFamilyV6, v6.bytes.data()).first == "shop/cart-1");
  uint8_t other[16] = {10, 9, 9, 9};
  CHECK(namer(abi::kFamilyV4, other).first.empty());  // the host's network is not a pod's
}
