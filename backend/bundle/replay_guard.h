// Replay and rollback protection for signed bundles: whether a trusting agent may activate a
// manifest, given the highest serial it has activated before and the time. A signature says
// who made a bundle, not that it is the current one; the serial and not-after time inside
// the signed manifest say that (docs/RUNTIME.md, "Bundle serials"). Pure C++ (moat_bundle).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "backend/bundle/manifest.h"

namespace moat::bundle {

/// The newest bundle an agent has activated (persisted in its state directory).
struct ActivatedSerial {
  uint64_t serial = 0;       // 0: none yet (or only bundles without a serial)
  std::string manifest_sha;  // sha256 of that manifest's bytes
};

enum class Freshness {
  Fresh,     // a newer serial (or the first bundle): may be activated
  Same,      // the activated serial with the same manifest bytes: nothing new
  Older,     // a serial below the activated one: a replay or rollback
  Conflict,  // the activated serial with other content: two bundles claim one serial
  Expired,   // past its not-after time
};

struct FreshnessCheck {
  Freshness verdict = Freshness::Fresh;
  std::string error;  // why it is refused ("" when Fresh or Same)
  bool refused() const { return verdict != Freshness::Fresh && verdict != Freshness::Same; }
};

/// Judges manifest `m` (whose bytes hash to `manifest_sha`) against `activated` at Unix time
/// `now` (seconds). Expiry is checked first: an expired bundle is refused even when it is
/// the one already active (the caller keeps enforcing the active generation regardless).
FreshnessCheck check_freshness(const Manifest& m, const std::string& manifest_sha, const ActivatedSerial& activated,
                               int64_t now);

/// The serial `moat build` gives a bundle when --serial is not set: SOURCE_DATE_EPOCH when
/// that is set (reproducible builds), else the current Unix time in seconds.
uint64_t default_serial(int64_t now);

/// Parses a --valid-for duration: a positive number with unit s, m, h or d ("90s", "12h",
/// "30d"); nullopt when malformed or over 100 years.
std::optional<int64_t> parse_validity_seconds(const std::string& text);

/// "2026-12-07T08:00:00Z" for a Unix time in seconds.
std::string utc_time_text(int64_t unix_seconds);

} // namespace moat::bundle
