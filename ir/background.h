// Background: one piece of a command run on another thread while the calling thread does
// another (a check parses its policies while the inventory is parsed). With one worker
// (MOAT_JOBS=1, or a single core) the piece runs inside join() instead, so the order of work
// is exactly the serial one. join() waits, and rethrows what the piece threw (bad_alloc).
#pragma once
#include <exception>
#include <functional>
#include <thread>
#include <utility>

#include "ir/parallel.h"

namespace moat {

class Background {
public:
  explicit Background(std::function<void()> fn) : fn_(std::move(fn)) {
    if (worker_count() > 1) thread_ = std::thread([this] { run(); });
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    // A caller leaving early (an exception of its own) still waits: the piece reads the
    // caller's data. What the piece threw is dropped then; the caller's error goes on.
    if (thread_.joinable()) thread_.join();
  }

  /// Waits for the piece (or runs it, with one worker); rethrows its exception.
  void join() {
    if (thread_.joinable()) thread_.join();
    else if (fn_) run();
    fn_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

private:
  void run() {
    try {
      fn_();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  std::function<void()> fn_;
  std::exception_ptr error_;
  std::thread thread_;
};

} // namespace moat
