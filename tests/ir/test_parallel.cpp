// parallel_for: every index exactly once, on several threads, errors rethrown; Background:
// one piece beside the caller (or inside join with one worker). (Catch2 v2 assertions are
// not thread-safe: the workers only record, the test thread checks.)
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ir/background.h"
#include "ir/parallel.h"

using namespace moat;

TEST_CASE("parallel_for: every index exactly once, results kept per index", "[parallel]") {
  setenv("MOAT_JOBS", "4", 1);
  REQUIRE(worker_count() == 4);
  std::vector<std::atomic<int>> seen(1000);
  std::vector<std::thread::id> who(1000);
  parallel_for(seen.size(), [&](size_t i) {
    seen[i]++;
    who[i] = std::this_thread::get_id();
  });
  for (auto& s : seen) CHECK(s.load() == 1);
  std::set<std::thread::id> threads(who.begin(), who.end());
  CHECK(threads.size() >= 1);
  CHECK(threads.size() <= 4);
  unsetenv("MOAT_JOBS");
}

TEST_CASE("parallel_for: MOAT_JOBS=1 runs in the caller's thread, in order", "[parallel]") {
  setenv("MOAT_JOBS", "1", 1);
  std::vector<size_t> order;
  parallel_for(50, [&](size_t i) {
    order.push_back(i);  // unsynchronized on purpose: one thread only
  });
  unsetenv("MOAT_JOBS");
  REQUIRE(order.size() == 50);
  for (size_t i = 0; i < order.size(); ++i) CHECK(order[i] == i);
}

TEST_CASE("parallel_for: an exception in one item reaches the caller", "[parallel]") {
  setenv("MOAT_JOBS", "3", 1);
  std::atomic<int> ran{0};
  CHECK_THROWS_AS(parallel_for(100,
                               [&](size_t i) {
                                 ran++;
                                 if (i == 7) throw std::runtime_error("item 7");
                               }),
                  std::runtime_error);
  CHECK(ran.load() >= 1);
  unsetenv("MOAT_JOBS");
  CHECK(worker_count() >= 1);
}

TEST_CASE("parallel_for_batched: every index exactly once, including a last partial batch", "[parallel]") {
  setenv("MOAT_JOBS", "4", 1);
  for (size_t n : {0, 1, 63, 64, 65, 1000}) {
    std::vector<std::atomic<int>> seen(n);
    parallel_for_batched(n, 64, [&](size_t i) { seen[i]++; });
    for (auto& s : seen) CHECK(s.load() == 1);
  }
  std::vector<std::atomic<int>> one(10);
  parallel_for_batched(one.size(), 0, [&](size_t i) { one[i]++; });  // grain 0 means 1
  for (auto& s : one) CHECK(s.load() == 1);
  unsetenv("MOAT_JOBS");
}

TEST_CASE("Background: runs beside the caller on another thread, join waits for it", "[parallel]") {
  setenv("MOAT_JOBS", "2", 1);
  std::atomic<bool> release{false};
  std::thread::id ran_on;
  bool released = false;
  Background piece([&] {
    // Waits (bounded) for the caller's go: a piece run before the caller goes on (in the
    // constructor, or inside join) never sees it.
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!release.load() && std::chrono::steady_clock::now() < end) std::this_thread::yield();
    released = release.load();
    ran_on = std::this_thread::get_id();
  });
  release = true;  // the caller's own work, while the piece runs
  piece.join();
  unsetenv("MOAT_JOBS");
  CHECK(released);
  CHECK(ran_on != std::this_thread::get_id());
}

TEST_CASE("Background: MOAT_JOBS=1 runs the piece inside join, in the caller's thread", "[parallel]") {
  setenv("MOAT_JOBS", "1", 1);
  std::vector<int> order;
  Background piece([&] { order.push_back(2); });
  order.push_back(1);  // the caller's work comes first, as in a serial run
  piece.join();
  unsetenv("MOAT_JOBS");
  CHECK(order == std::vector<int>{1, 2});
}

TEST_CASE("Background: what the piece throws is rethrown by join", "[parallel]") {
  for (const char* jobs : {"1", "2"}) {
    setenv("MOAT_JOBS", jobs, 1);
    Background piece([] { throw std::runtime_error("out of memory, say"); });
    CHECK_THROWS_WITH(piece.join(), "out of memory, say");
    unsetenv("MOAT_JOBS");
  }
}
