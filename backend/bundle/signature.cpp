// Ed25519 through libsodium (crypto_sign_*); key and signature files as in signature.h.
#include "backend/bundle/signature.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <sodium.h>

#include "backend/bundle/sha256.h"

namespace moat::bundle {

namespace {

constexpr const char* kPublicTag = "moat-ed25519-public";
constexpr const char* kSecretTag = "moat-ed25519-secret";
constexpr const char* kSignatureTag = "moat-ed25519-signature";
/// Key and signature files are one short line; anything longer is not one of ours.
constexpr size_t kMaxFileSize = 1024;

bool sodium_ready(std::string& error) {
  static const bool ok = sodium_init() >= 0;
  if (!ok) error = "libsodium failed to initialize";
  return ok;
}

std::string hex(const uint8_t* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

/// Exactly 2*N lower-case hex digits -> N bytes.
template <size_t N>
bool unhex(const std::string& text, std::array<uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  size_t len = 0;
  return sodium_hex2bin(out.data(), N, text.data(), text.size(), nullptr, &len, nullptr) == 0 && len == N;
}

/// "TAG FIELD..." on one line (one trailing newline allowed) -> the fields after TAG.
std::optional<std::vector<std::string>> fields(const std::string& text, const char* tag, size_t count) {
  std::string line = text;
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (line.find_first_of("\n\r\t") != std::string::npos) return std::nullopt;
  std::vector<std::string> parts;
  std::istringstream in(line);
  for (std::string p; std::getline(in, p, ' ');) parts.push_back(p);
  if (parts.size() != count + 1 || parts[0] != tag) return std::nullopt;
  return std::vector<std::string>(parts.begin() + 1, parts.end());
}

bool read_small_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  out.assign(kMaxFileSize + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  if (out.size() > kMaxFileSize) {
    error = path + " is too large for a key file";
    return false;
  }
  return true;
}

bool write_exclusive(const std::string& path, const std::string& text, mode_t mode, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    error = "cannot create " + path + ": " + std::strerror(errno) + (errno == EEXIST ? " (not overwritten)" : "");
    return false;
  }
  bool ok = ::fchmod(fd, mode) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    error = "cannot write " + path;
    ::unlink(path.c_str());
  }
  return ok;
}

} // namespace

std::string PublicKey::id() const { return sha256_hex(bytes.data(), bytes.size()).substr(0, 16); }

SecretKey::~SecretKey() { sodium_memzero(sk_.data(), sk_.size()); }

SecretKey::SecretKey(SecretKey&& o) noexcept : sk_(o.sk_) { sodium_memzero(o.sk_.data(), o.sk_.size()); }

SecretKey& SecretKey::operator=(SecretKey&& o) noexcept {
  sk_ = o.sk_;
  sodium_memzero(o.sk_.data(), o.sk_.size());
  return *this;
}

PublicKey SecretKey::public_key() const {
  PublicKey pk;
  crypto_sign_ed25519_sk_to_pk(pk.bytes.data(), sk_.data());
  return pk;
}

std::string SecretKey::sign(const std::string& message) const {
  std::array<uint8_t, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                       sk_.data());
  return std::string(kSignatureTag) + " " + public_key().id() + " " + hex(sig.data(), sig.size()) + "\n";
}

std::optional<SecretKey> generate_key(std::string& error) {
  if (!sodium_ready(error)) return std::nullopt;
  SecretKey key;
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  crypto_sign_keypair(pk.data(), key.sk_.data());
  return key;
}

bool write_key_pair(const SecretKey& key, const std::string& prefix, std::string& error) {
  // The public half first: a failure then never leaves a secret key without its public one.
  PublicKey pk = key.public_key();
  if (!write_exclusive(prefix + ".pub", std::string(kPublicTag) + " " + hex(pk.bytes.data(), pk.bytes.size()) + "\n",
                       0644, error))
    return false;
  // Only the seed (libsodium's secret key is seed + public key) goes to the file.
  std::string text = std::string(kSecretTag) + " " + hex(key.sk_.data(), crypto_sign_SEEDBYTES) + "\n";
  bool ok = write_exclusive(prefix + ".key", text, 0600, error);
  sodium_memzero(text.data(), text.size());
  return ok;
}

std::optional<SecretKey> read_secret_key(const std::string& path, std::string& error) {
  if (!sodium_ready(error)) return std::nullopt;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077)) {
    error = path + " may be read by group or others (mode " + std::to_string((st.st_mode >> 6) & 7) +
            std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + "); chmod 600 it";
    return std::nullopt;
  }
  std::string text;
  if (!read_small_file(path, text, error)) return std::nullopt;
  auto f = fields(text, kSecretTag, 1);
  std::array<uint8_t, crypto_sign_SEEDBYTES> seed{};
  sodium_memzero(text.data(), text.size());
  bool ok = f && unhex((*f)[0], seed);
  if (f) sodium_memzero((*f)[0].data(), (*f)[0].size());
  if (!ok) {
    error = path + " is not a moat secret key ('" + kSecretTag + " <64 hex digits>')";
    return std::nullopt;
  }
  SecretKey key;
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  crypto_sign_seed_keypair(pk.data(), key.sk_.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  return key;
}

std::optional<PublicKey> parse_public_key(const std::string& text, std::string& error) {
  auto f = fields(text, kPublicTag, 1);
  PublicKey pk;
  if (!f || !unhex((*f)[0], pk.bytes)) {
    error = std::string("not a moat public key ('") + kPublicTag + " <64 hex digits>')";
    return std::nullopt;
  }
  return pk;
}

std::optional<PublicKey> read_public_key(const std::string& path, std::string& error) {
  std::string text;
  if (!read_small_file(path, text, error)) return std::nullopt;
  auto pk = parse_public_key(text, error);
  if (!pk) error = path + " is " + error;
  return pk;
}

bool verify_manifest(const std::string& manifest, const std::optional<std::string>& signature_file,
                     const std::vector<PublicKey>& trusted, std::string& signer, std::string& error) {
  if (!sodium_ready(error)) return false;
  if (!signature_file) {
    error = std::string("bundle is not signed (no ") + kSignatureFile + ") and --trust requires a signature";
    return false;
  }
  auto f = fields(*signature_file, kSignatureTag, 2);
  std::array<uint8_t, crypto_sign_BYTES> sig{};
  if (!f || (*f)[0].size() != 16 || !unhex((*f)[1], sig)) {
    error = std::string(kSignatureFile) + " is malformed (expected '" + kSignatureTag + " <key id> <128 hex digits>')";
    return false;
  }
  // Every trusted key is tried: the id in the file is a claim, used for messages only.
  for (const PublicKey& pk : trusted) {
    if (crypto_sign_verify_detached(sig.data(), reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size(),
                                    pk.bytes.data()) == 0) {
      signer = pk.id();
      return true;
    }
  }
  bool known = false;
  for (const PublicKey& pk : trusted) known |= pk.id() == (*f)[0];
  error = known ? "manifest.json does not match its signature (key " + (*f)[0] + "): the bundle was modified after signing"
                : "bundle is signed by key " + (*f)[0] + ", which is not trusted (--trust)";
  return false;
}

} // namespace moat::bundle
