// Bundle authentication: key files, signed writes, and every way a bundle must be refused
// when a trusted key is required (tampered manifest or object, wrong key, no signature,
// names the backend never emits); plus the pin-path checks of object map names.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/bundle/bundle_names.h"
#include "backend/bundle/manifest.h"
#include "backend/bundle/signature.h"

using namespace moat;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("moat-test-sig-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary | std::ios::trunc) << text; }

bundle::Manifest small_manifest() {
  bundle::Manifest m;
  m.objects.push_back({"default", "", "", {}});
  m.objects.push_back({"pool-gpu", "", "", {}});
  bundle::PoolEntry pool;
  pool.name = "gpu";
  pool.object = "pool-gpu";
  m.pools.push_back(pool);
  return m;
}

bundle::SecretKey new_key() {
  std::string error;
  auto k = bundle::generate_key(error);
  REQUIRE(k);
  return std::move(*k);
}

/// read_bundle as `moat agent --trust` calls it.
std::optional<bundle::Bundle> read_trusted(const fs::path& dir, const std::vector<bundle::PublicKey>& trusted,
                                           std::string& signer, std::string& error) {
  return bundle::read_bundle(dir.string(), error,
                             [&](const std::string& m, const std::optional<std::string>& sig, std::string& err) {
                               return bundle::verify_manifest(m, sig, trusted, signer, err);
                             });
}

} // namespace

TEST_CASE("signature: key files round trip, the secret key is 0600 and never overwritten", "[backend]") {
  fs::path dir = scratch("keys");
  auto key = new_key();
  std::string error;
  REQUIRE(bundle::write_key_pair(key, (dir / "k").string(), error));
  struct stat st;
  REQUIRE(stat((dir / "k.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(slurp(dir / "k.pub").rfind("moat-ed25519-public ", 0) == 0);
  auto pub = bundle::read_public_key((dir / "k.pub").string(), error);
  REQUIRE(pub);
  CHECK(pub->id() == key.public_key().id());
  auto back = bundle::read_secret_key((dir / "k.key").string(), error);
  REQUIRE(back);
  CHECK(back->public_key().id() == key.public_key().id());
  // Ed25519 is deterministic: the same key signs the same text the same way.
  CHECK(back->sign("text") == key.sign("text"));

  CHECK_FALSE(bundle::write_key_pair(new_key(), (dir / "k").string(), error));
  CHECK(error.find("not overwritten") != std::string::npos);
  chmod((dir / "k.key").c_str(), 0644);
  CHECK_FALSE(bundle::read_secret_key((dir / "k.key").string(), error));
  CHECK(error.find("chmod 600") != std::string::npos);

  for (const char* bad : {"", "moat-ed25519-public", "moat-ed25519-public 00", "moat-ed25519-secret " /* wrong tag */,
                          "moat-ed25519-public 0000000000000000000000000000000000000000000000000000000000000000 x"}) {
    CHECK_FALSE(bundle::parse_public_key(bad, error));
  }
  fs::remove_all(dir);
}

TEST_CASE("signature: a signed bundle loads, tampering, other keys and missing signatures are refused",
          "[backend]") {
  fs::path dir = scratch("bundle") / "b";
  auto key = new_key(), other = new_key();
  std::vector<std::vector<uint8_t>> objects = {{1, 2, 3}, {4, 5, 6}};
  std::string error, signer;
  REQUIRE(bundle::write_bundle(dir.string(), small_manifest(), objects, error,
                               [&](const std::string& text) { return key.sign(text); }));
  REQUIRE(fs::exists(dir / bundle::kSignatureFile));
  const std::string manifest = slurp(dir / bundle::kManifestFile), sig = slurp(dir / bundle::kSignatureFile);

  auto b = read_trusted(dir, {key.public_key()}, signer, error);
  INFO(error);
  REQUIRE(b);
  CHECK(signer == key.public_key().id());
  CHECK(b->manifest_text == manifest);
  // Key rotation: any one of several trusted keys will do.
  CHECK(read_trusted(dir, {other.public_key(), key.public_key()}, signer, error));

  SECTION("signed by a key that is not trusted") {
    CHECK_FALSE(read_trusted(dir, {other.public_key()}, signer, error));
    CHECK(error.find("not trusted") != std::string::npos);
  }
  SECTION("manifest changed after signing (an object hash swapped for another's)") {
    std::string evil = manifest;
    size_t at = evil.find("\"sha256\"");
    REQUIRE(at != std::string::npos);
    evil[evil.find('"', at + 10) + 1] ^= 1;
    spit(dir / bundle::kManifestFile, evil);
    CHECK_FALSE(read_trusted(dir, {key.public_key()}, signer, error));
    CHECK(error.find("modified after signing") != std::string::npos);
  }
  SECTION("object changed after signing") {
    spit(dir / "default.bpf.o", "evil");
    CHECK_FALSE(read_trusted(dir, {key.public_key()}, signer, error));
    CHECK(error.find("sha256") != std::string::npos);
  }
  SECTION("no signature") {
    fs::remove(dir / bundle::kSignatureFile);
    CHECK_FALSE(read_trusted(dir, {key.public_key()}, signer, error));
    CHECK(error.find("not signed") != std::string::npos);
    // Without a trusted key the bundle still loads (the agent warns instead).
    CHECK(bundle::read_bundle(dir.string(), error));
  }
  SECTION("malformed signature files") {
    for (std::string bad : {std::string(""), sig.substr(0, sig.size() - 3) + "\n", sig + sig, "x" + sig,
                            std::string(5000, 'a')}) {
      spit(dir / bundle::kSignatureFile, bad);
      CHECK_FALSE(read_trusted(dir, {key.public_key()}, signer, error));
    }
  }
  SECTION("the signature of another manifest") {
    spit(dir / bundle::kSignatureFile, key.sign(manifest + " "));
    CHECK_FALSE(read_trusted(dir, {key.public_key()}, signer, error));
  }
  fs::remove_all(dir.parent_path());
}

TEST_CASE("signature: object names with path characters are refused even when signed", "[backend]") {
  auto key = new_key();
  std::string error, signer;
  for (const char* evil : {"../default", "pool-a/../../etc", "/etc/passwd", "..", "pool-..", ".hidden", "pool-x y"}) {
    fs::path dir = scratch("names") / "b";
    REQUIRE(bundle::write_bundle(dir.string(), small_manifest(), {{1}, {2}}, error,
                                 [&](const std::string& text) { return key.sign(text); }));
    // What a compromised build host could sign: the manifest rewritten by hand.
    std::string text = slurp(dir / bundle::kManifestFile);
    for (size_t at; (at = text.find("pool-gpu")) != std::string::npos;) text.replace(at, 8, evil);
    spit(dir / bundle::kManifestFile, text);
    spit(dir / bundle::kSignatureFile, key.sign(text));
    // The object file the name leads to exists (where a plain name allows), so only the
    // name check can refuse it.
    if (std::string(evil).find('/') == std::string::npos)
      fs::copy_file(dir / "pool-gpu.bpf.o", dir / (std::string(evil) + ".bpf.o"));
    INFO(evil);
    CHECK_FALSE(read_trusted(dir, {key.public_key()}, signer, error));
    CHECK(error.find("object") != std::string::npos);
    CHECK_FALSE(bundle::read_bundle(dir.string(), error));
    fs::remove_all(dir.parent_path());
  }
}

TEST_CASE("bundle names: only generated names, pins only directly inside the pin directory", "[backend]") {
  CHECK_FALSE(bundle::check_object_name("default"));
  CHECK_FALSE(bundle::check_object_name("pool-gpu.a_b-c"));
  for (const char* bad : {"", "x", "../x", "pool-a/b", "pool-..", "pool-a..b", ".default", "pool-\n"})
    CHECK(bundle::check_object_name(bad));
  CHECK(bundle::known_map_name("moat_ct"));
  CHECK(bundle::known_map_name("moat.bss"));
  CHECK_FALSE(bundle::known_map_name("../moat_ct"));
  CHECK_FALSE(bundle::known_map_name("other_tool_map"));
  CHECK(bundle::known_program_name("moat_tc_ingress"));
  CHECK_FALSE(bundle::known_program_name("evil"));

  fs::path dir = scratch("pins");
  std::string error;
  auto p = bundle::pin_path(dir.string(), "moat_ct", error);
  REQUIRE(p);
  CHECK(fs::path(*p).parent_path() == fs::canonical(dir));
  CHECK(bundle::pin_path(dir.string(), "moat_epoch", error));
  for (const char* bad : {"../moat_ct", "../../frag", "a/b", "..", "", "moat_ct/.."})
    CHECK_FALSE(bundle::pin_path(dir.string(), bad, error));
  // A symlinked pin directory is resolved; the pin still lands inside its target.
  fs::create_directories(dir / "real");
  fs::create_directory_symlink(dir / "real", dir / "link");
  p = bundle::pin_path((dir / "link").string(), "moat_ct", error);
  REQUIRE(p);
  CHECK(fs::path(*p).parent_path() == fs::canonical(dir / "real"));
  fs::remove_all(dir);
}
