// Serial and not-after checks of signed manifests (replay_guard.h).
#include "backend/bundle/replay_guard.h"

#include <cstdlib>
#include <ctime>

namespace moat::bundle {

FreshnessCheck check_freshness(const Manifest& m, const std::string& manifest_sha, const ActivatedSerial& activated,
                               int64_t now) {
  FreshnessCheck c;
  std::string serial = std::to_string(m.serial), current = std::to_string(activated.serial);
  if (m.not_after != 0 && now > m.not_after) {
    c.verdict = Freshness::Expired;
    c.error = "bundle expired at " + utc_time_text(m.not_after) + " (serial " + serial +
              ", --valid-for at build time); build and sign a new one";
  } else if (m.serial < activated.serial) {
    c.verdict = Freshness::Older;
    c.error = "bundle serial " + serial + " is older than serial " + current +
              ", which this node has already activated: a replayed or rolled-back bundle is refused";
  } else if (m.serial == activated.serial && activated.serial != 0 && manifest_sha != activated.manifest_sha) {
    c.verdict = Freshness::Conflict;
    c.error = "bundle serial " + serial +
              " was already activated with other content: each build needs a new, higher serial";
  } else if (m.serial == activated.serial && manifest_sha == activated.manifest_sha) {
    c.verdict = Freshness::Same;
  }
  return c;
}

uint64_t default_serial(int64_t now) {
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH")) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(e, &end, 10);
    if (*e && end && *end == '\0') return v;
  }
  return now > 0 ? static_cast<uint64_t>(now) : 0;
}

std::optional<int64_t> parse_validity_seconds(const std::string& text) {
  if (text.size() < 2 || text.size() > 12) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    n = n * 10 + (text[i] - '0');
    if (n > 100LL * 366 * 86400) return std::nullopt;
  }
  if (n == 0 || n * unit > 100LL * 366 * 86400) return std::nullopt;
  return n * unit;
}

std::string utc_time_text(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace moat::bundle
