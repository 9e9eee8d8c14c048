// SHA-256 through libsodium (crypto_hash_sha256), which the bundle signatures already use:
// no hand-written crypto in the tree.
#include "backend/bundle/sha256.h"

#include <sodium.h>

namespace moat::bundle {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * sizeof digest, '0');
  for (size_t i = 0; i < sizeof digest; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

} // namespace moat::bundle
