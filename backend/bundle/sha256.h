// SHA-256 (FIPS 180-4), for the source and object hashes of the bundle manifest (libsodium).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace moat::bundle {

/// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);
inline std::string sha256_hex(const void* data, size_t size) {
  return sha256_hex(std::string_view(static_cast<const char*>(data), size));
}

} // namespace moat::bundle
