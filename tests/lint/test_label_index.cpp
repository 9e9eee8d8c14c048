// The label postings the lints narrow their comparisons with (ir/label_index.h, and
// ir/subject_index.h on top of it): on seeded random selectors over a wide label
// vocabulary, every item that may overlap a query is among its candidates, and the
// candidates are few when the query pins a selective key.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "ir/label_index.h"
#include "ir/lint.h"
#include "ir/subject_index.h"

using namespace moat;

namespace {

using Op = LabelRequirement::Op;

/// Random selectors: pod keys app (many values; most selectors pin it, as most policies do)
/// and tier (few), namespace key team, and sometimes a pinned namespace; all four
/// operators, one or two values.
class Selectors {
public:
  explicit Selectors(uint64_t seed) : rng_(seed) {}
  EndpointSelector next() {
    EndpointSelector s;
    if (chance(0.7)) s.namespaces.reqs.push_back({kNamespaceNameLabel, Op::In, {pick_of({"a", "b", "c"})}, {}});
    if (chance(0.3)) s.namespaces.reqs.push_back(requirement("team", 4));
    for (size_t i = 0, n = 1 + pick(2); i < n; ++i) s.pods.reqs.push_back(requirement(chance(0.85) ? "app" : "tier", 0));
    return s;
  }

private:
  LabelRequirement requirement(const std::string& key, size_t values) {
    size_t range = values ? values : (key == "app" ? 60 : 3);
    LabelRequirement r{key, chance(0.75) ? Op::In : static_cast<Op>(pick(4)), {}, {}};
    if (r.op == Op::In || r.op == Op::NotIn)
      for (size_t j = 0, k = 1 + pick(2); j < k; ++j) r.values.push_back(key + std::to_string(pick(range)));
    std::sort(r.values.begin(), r.values.end());
    r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
    return r;
  }
  std::string pick_of(std::initializer_list<const char*> v) { return *(v.begin() + pick(v.size())); }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::mt19937_64 rng_;
};

bool contains(const std::vector<uint32_t>& sorted, uint32_t id) {
  return std::binary_search(sorted.begin(), sorted.end(), id);
}

} // namespace

TEST_CASE("label index: candidates hold every item that may overlap, sorted, each once") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    Selectors gen(seed);
    std::vector<EndpointSelector> items;
    LabelIndex idx;
    SubjectIndex subjects;
    for (uint32_t i = 0; i < 400; ++i) {
      items.push_back(gen.next());
      idx.add(items.back(), i);
      subjects.add(items.back(), i);
    }
    size_t narrowed = 0;
    for (int q = 0; q < 200; ++q) {
      EndpointSelector s = gen.next();
      std::vector<uint32_t> cand = idx.candidates(s);
      std::vector<uint32_t> by_ns = subjects.candidates(s);
      CHECK(std::is_sorted(cand.begin(), cand.end()));
      CHECK(std::adjacent_find(cand.begin(), cand.end()) == cand.end());
      CHECK(std::adjacent_find(by_ns.begin(), by_ns.end()) == by_ns.end());
      CHECK(cand.size() <= idx.estimate(s));
      for (uint32_t i = 0; i < items.size(); ++i)
        if (selectors_may_overlap(items[i], s)) {
          CHECK(contains(cand, i));
          CHECK(contains(by_ns, i));
        }
      narrowed += cand.size() < items.size() / 2;
    }
    // The app key has 60 values: most queries that pin it narrow a lot.
    CHECK(narrowed > 20);
  }
}

TEST_CASE("label index: items added after a query are found by the next one") {
  LabelIndex idx;
  auto app = [](const std::string& v) {
    EndpointSelector s;
    s.pods.reqs.push_back({"app", Op::In, {v}, {}});
    return s;
  };
  for (uint32_t i = 0; i < 10; ++i) idx.add(app("web"), i);
  idx.add(app("db"), 10);
  idx.add(EndpointSelector{}, 11);  // pins nothing: a candidate of every query
  CHECK(idx.candidates(app("db")) == std::vector<uint32_t>{10, 11});
  idx.add(EndpointSelector{}, 12);
  idx.add(app("db"), 13);
  CHECK(idx.candidates(app("db")) == std::vector<uint32_t>{10, 11, 12, 13});
  CHECK(idx.candidates(EndpointSelector{}).size() == 14);
}
