// Replay protection of signed bundles: the serial and not-after time are manifest fields
// (round trip, covered by the signature: editing them breaks it), and check_freshness
// refuses older serials, a reused serial with other content and expired bundles.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/bundle/manifest.h"
#include "backend/bundle/replay_guard.h"
#include "backend/bundle/sha256.h"
#include "backend/bundle/signature.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bundle::Manifest manifest_with(uint64_t serial, int64_t not_after) {
  bundle::Manifest m;
  m.objects.push_back({"default", "default.bpf.o", "", {}});
  m.serial = serial;
  m.not_after = not_after;
  return m;
}

} // namespace

TEST_CASE("replay guard: serial and not-after round trip and a manifest without them reads as 0", "[backend]") {
  std::string error;
  auto back = bundle::manifest_from_json(bundle::manifest_to_json(manifest_with(1700000200, 1700086600)), error);
  INFO(error);
  REQUIRE(back);
  CHECK(back->serial == 1700000200);
  CHECK(back->not_after == 1700086600);
  std::string text = bundle::manifest_to_json(manifest_with(7, 0));
  CHECK(text.find("\"not_after\"") == std::string::npos);  // no expiry: no field
  size_t at = text.find("  \"serial\": 7,\n");
  REQUIRE(at != std::string::npos);
  text.erase(at, std::string("  \"serial\": 7,\n").size());  // a manifest from before serials
  back = bundle::manifest_from_json(text, error);
  REQUIRE(back);
  CHECK(back->serial == 0);
  CHECK(back->not_after == 0);
}

TEST_CASE("replay guard: editing the signed serial or expiry breaks the signature", "[backend]") {
  fs::path dir = fs::temp_directory_path() / ("moat-test-replay-" + std::to_string(getpid())) / "b";
  fs::remove_all(dir.parent_path());
  std::string error, signer;
  auto key = bundle::generate_key(error);
  REQUIRE(key);
  const std::vector<std::vector<uint8_t>> objects = {{1, 2, 3}};
  REQUIRE(bundle::write_bundle(dir.string(), manifest_with(100, 5000000000), objects, error,
                               [&](const std::string& text) { return key->sign(text); }));
  const std::string manifest = slurp(dir / bundle::kManifestFile), sig = slurp(dir / bundle::kSignatureFile);
  auto verify = [&](const std::string& text) {
    return bundle::verify_manifest(text, sig, {key->public_key()}, signer, error);
  };
  REQUIRE(verify(manifest));
  // Whoever can write the ConfigMap, raising the serial of an old bundle above the floor,
  // or stretching its expiry: refused.
  for (auto [from, to] : {std::pair{"\"serial\": 100,", "\"serial\": 900,"},
                          std::pair{"\"not_after\": 5000000000,", "\"not_after\": 9000000000,"}}) {
    std::string evil = manifest;
    size_t at = evil.find(from);
    REQUIRE(at != std::string::npos);
    evil.replace(at, std::string(from).size(), to);
    CHECK_FALSE(verify(evil));
    CHECK(error.find("modified after signing") != std::string::npos);
  }
  fs::remove_all(dir.parent_path());
}

TEST_CASE("replay guard: older serials, a reused serial with other content and expired bundles are refused",
          "[backend]") {
  const int64_t now = 1800000000;
  bundle::ActivatedSerial active{200, "sha-of-200"};
  using F = bundle::Freshness;
  auto judge = [&](uint64_t serial, const std::string& sha, int64_t not_after = 0) {
    return bundle::check_freshness(manifest_with(serial, not_after), sha, active, now);
  };
  CHECK(judge(300, "sha-of-300").verdict == F::Fresh);
  CHECK(judge(200, "sha-of-200").verdict == F::Same);
  CHECK_FALSE(judge(200, "sha-of-200").refused());

  auto older = judge(100, "sha-of-100");
  CHECK(older.verdict == F::Older);
  CHECK(older.refused());
  CHECK(older.error.find("serial 100 is older than serial 200") != std::string::npos);
  CHECK(judge(0, "legacy").verdict == F::Older);  // a bundle from before serials, after one with a serial

  auto conflict = judge(200, "sha-of-other");
  CHECK(conflict.verdict == F::Conflict);
  CHECK(conflict.error.find("already activated with other content") != std::string::npos);

  auto expired = judge(300, "sha-of-300", now - 1);
  CHECK(expired.verdict == F::Expired);
  CHECK(expired.error.find("expired at 2027-01-15T07:59:59Z") != std::string::npos);
  CHECK(judge(300, "sha-of-300", now).verdict == F::Fresh);  // valid up to and including not_after
  CHECK(judge(200, "sha-of-200", now - 1).verdict == F::Expired);

  // Nothing activated yet: any serial (also none) is fresh.
  active = {};
  CHECK(judge(0, "x").verdict == F::Fresh);
  CHECK(judge(5, "y").verdict == F::Fresh);
}

TEST_CASE("replay guard: default serial and --valid-for durations", "[backend]") {
  unsetenv("SOURCE_DATE_EPOCH");
  CHECK(bundle::default_serial(1800000000) == 1800000000);
  setenv("SOURCE_DATE_EPOCH", "1700000100", 1);
  CHECK(bundle::default_serial(1800000000) == 1700000100);
  setenv("SOURCE_DATE_EPOCH", "soon", 1);
  CHECK(bundle::default_serial(1800000000) == 1800000000);
  unsetenv("SOURCE_DATE_EPOCH");

  CHECK(bundle::parse_validity_seconds("90s") == 90);
  CHECK(bundle::parse_validity_seconds("15m") == 900);
  CHECK(bundle::parse_validity_seconds("12h") == 43200);
  CHECK(bundle::parse_validity_seconds("30d") == 2592000);
  for (const char* bad : {"", "s", "0s", "10", "10w", "-5m", "1.5h", "99999999999d", "1h30m"})
    CHECK_FALSE(bundle::parse_validity_seconds(bad));
  CHECK(bundle::utc_time_text(0) == "1970-01-01T00:00:00Z");
}
