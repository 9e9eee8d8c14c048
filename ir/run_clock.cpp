// The run clock and its progress line (see run_clock.h).
#include "ir/run_clock.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>

namespace moat {

RunClock::RunClock(double deadline_s, Show show, std::FILE* out)
    : start_(Clock::now()), last_shown_(start_), deadline_s_(deadline_s), out_(out) {
  tty_ = out_ && isatty(fileno(out_));
  always_ = show == Show::Always;
  enabled_ = out_ && (always_ || (show == Show::Auto && tty_));
}

RunClock::~RunClock() { done(); }

double RunClock::elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

bool RunClock::expired() const { return deadline_s_ > 0 && elapsed() >= deadline_s_; }

unsigned RunClock::query_timeout_ms(unsigned per_query_ms) const {
  if (deadline_s_ <= 0) return per_query_ms;
  double left_ms = std::max(1.0, (deadline_s_ - elapsed()) * 1000.0);
  unsigned left = static_cast<unsigned>(std::min(left_ms, 4.0e9));
  return per_query_ms == 0 ? left : std::min(per_query_ms, left);
}

void RunClock::phase(const std::string& name, size_t total) {
  phase_ = name;
  total_ = total;
  done_ = 0;
  // Asked for (--progress) into a log: every phase gets its line, however short the run.
  show(always_ && !tty_);
}

void RunClock::step(size_t n) {
  done_ += n;
  show(false);
}

void RunClock::show(bool force) {
  if (!enabled_) return;
  Clock::time_point now = Clock::now();
  double since_start = std::chrono::duration<double>(now - start_).count();
  double since_shown = std::chrono::duration<double>(now - last_shown_).count();
  // A terminal gets a line that updates ten times a second once the run passes a second;
  // a log (--progress into a file) gets one line a second.
  if (!force && (since_start < 1.0 || since_shown < (tty_ ? 0.1 : 1.0))) return;
  last_shown_ = now;
  std::string counts = total_ ? " " + std::to_string(done_) + "/" + std::to_string(total_)
                             : done_ ? " " + std::to_string(done_) : "";
  // A log also gets the process's CPU seconds: on a shared machine the wall clock says
  // more about the neighbours than about the run.
  char cpu[32] = "";
  if (!tty_) std::snprintf(cpu, sizeof cpu, ", cpu %.1f s", static_cast<double>(std::clock()) / CLOCKS_PER_SEC);
  std::fprintf(out_, "%smoat: %s%s (%.1f s%s)%s", tty_ ? "\r\033[K" : "", phase_.c_str(), counts.c_str(), since_start,
               cpu, tty_ ? "" : "\n");
  std::fflush(out_);
  shown_ = true;
}

void RunClock::done() {
  if (enabled_ && tty_ && shown_) {
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
  }
  shown_ = false;
}

} // namespace moat
