// Runs independent pieces of one command on the machine's cores: `parallel_for(n, fn)` calls
// fn(0) .. fn(n-1), each exactly once, on up to worker_count() threads, and returns when all
// are done. Callers keep results per index and merge them in index order afterwards, so the
// output never depends on scheduling. An exception thrown by fn (bad_alloc) is rethrown in
// the caller once every thread has stopped.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace moat {

/// Threads a command may use: MOAT_JOBS when set to a positive number, else the cores this
/// process may run on (at least 1).
unsigned worker_count();

template <class Fn>
void parallel_for(size_t n, Fn&& fn) {
  size_t threads = std::min<size_t>(worker_count(), n);
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lk(error_mu);
        if (!error) error = std::current_exception();
        next = n;  // the others stop at their next item
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

/// parallel_for for many small items: fn(0) .. fn(n-1), handed out `grain` at a time (an
/// item of a microsecond or two would otherwise cost more in hand-out than in work).
template <class Fn>
void parallel_for_batched(size_t n, size_t grain, Fn&& fn) {
  grain = std::max<size_t>(grain, 1);
  parallel_for((n + grain - 1) / grain, [&](size_t b) {
    for (size_t i = b * grain, end = std::min(n, i + grain); i < end; ++i) fn(i);
  });
}

} // namespace moat
