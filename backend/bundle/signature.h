// Ed25519 signatures of bundles: `moat keygen` makes a key pair, `moat build --sign` and
// `moat sign` write DIR/manifest.json.sig over the exact bytes of DIR/manifest.json (which
// hold every object's sha256), and `moat agent --trust` accepts a manifest only when one of
// its trusted keys signed those bytes. The only place that sees libsodium (library
// moat_bundle_sign); the bundle reader takes the check as a callback (read_bundle).
//
// Files, one line of text each (hex is lower case):
//   public key  "moat-ed25519-public <64 hex: the 32-byte key>"
//   secret key  "moat-ed25519-secret <64 hex: the 32-byte seed>"   mode 0600, never group/other readable
//   signature   "moat-ed25519-signature <16 hex: key id> <128 hex: the 64-byte signature>"
// The key id is the first 8 bytes of the public key's sha256; it only names the signer in
// messages: every trusted key is tried, whatever id the file claims.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/bundle/manifest.h"  // kSignatureFile

namespace moat::bundle {

struct PublicKey {
  std::array<uint8_t, 32> bytes{};
  std::string id() const;  // 16 hex digits
};

/// A secret key; its bytes are wiped when it goes out of scope.
class SecretKey {
public:
  SecretKey() = default;
  ~SecretKey();
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  SecretKey(SecretKey&& o) noexcept;
  SecretKey& operator=(SecretKey&& o) noexcept;
  PublicKey public_key() const;
  /// The signature file text for `message`.
  std::string sign(const std::string& message) const;

private:
  friend std::optional<SecretKey> generate_key(std::string&);
  friend std::optional<SecretKey> read_secret_key(const std::string&, std::string&);
  friend bool write_key_pair(const SecretKey&, const std::string&, std::string&);
  std::array<uint8_t, 64> sk_{};  // libsodium's layout: seed, then public key
};

/// A fresh key pair from the system's random source.
std::optional<SecretKey> generate_key(std::string& error);
/// Writes PREFIX.pub and PREFIX.key (0600, created exclusively: an existing file is an error).
bool write_key_pair(const SecretKey& key, const std::string& prefix, std::string& error);

/// Reads a secret key file; refuses one that group or others may read.
std::optional<SecretKey> read_secret_key(const std::string& path, std::string& error);
/// Reads a public key file.
std::optional<PublicKey> read_public_key(const std::string& path, std::string& error);
std::optional<PublicKey> parse_public_key(const std::string& text, std::string& error);

/// Checks `signature_file` (the text of manifest.json.sig; nullopt when there is none)
/// over `manifest` against `trusted`. On success `signer` is the id of the key that
/// signed; on failure `error` says why (unsigned, malformed, not signed by a trusted key).
bool verify_manifest(const std::string& manifest, const std::optional<std::string>& signature_file,
                     const std::vector<PublicKey>& trusted, std::string& signer, std::string& error);

} // namespace moat::bundle
