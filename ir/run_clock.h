// One command's clock: the --deadline that bounds a whole run, and the progress line a long
// run shows (phase, done/total, elapsed). Shown on a terminal once the run passes about a
// second, never when stderr is not a terminal (CI logs stay clean) unless --progress asks
// for it. Phases ask expired() between their items and report what they did not reach as
// unknown, by name; nothing is dropped silently.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace moat {

class RunClock {
public:
  enum class Show { Auto, Always, Never };
  /// deadline_s 0: no deadline.
  explicit RunClock(double deadline_s = 0, Show show = Show::Never, std::FILE* out = stderr);
  ~RunClock();
  RunClock(const RunClock&) = delete;
  RunClock& operator=(const RunClock&) = delete;

  bool has_deadline() const { return deadline_s_ > 0; }
  double deadline_seconds() const { return deadline_s_; }
  bool expired() const;
  /// A solver query's time limit: `per_query_ms` (0: none), cut to what is left of the
  /// deadline (at least 1 ms, so that 0 never means "no limit" by accident).
  unsigned query_timeout_ms(unsigned per_query_ms) const;
  double elapsed() const;

  /// Starts a phase of `total` items (0: unknown).
  void phase(const std::string& name, size_t total = 0);
  /// `n` more items of the current phase are done.
  void step(size_t n = 1);
  /// Ends the progress display (clears the line on a terminal).
  void done();

private:
  void show(bool force);
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_, last_shown_;
  double deadline_s_;
  bool tty_ = false, enabled_ = false, always_ = false, shown_ = false;
  std::FILE* out_;
  std::string phase_;
  size_t total_ = 0, done_ = 0;
};

} // namespace moat
