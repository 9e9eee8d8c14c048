// parallel_for: every index exactly once, on several threads, errors rethrown. (Catch2 v2
// assertions are not thread-safe: the workers only record, the test thread checks.)
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

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
