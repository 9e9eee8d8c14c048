// DNS response parsing with explicit bounds: every read checks the remaining length, and
// compression pointers may only jump backwards, at most kMaxJumps times (no loops).
#include "runtime/dns/dns_message.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

namespace moat::runtime::dns {

namespace {

constexpr int kMaxJumps = 64;
constexpr size_t kMaxName = 255;

class Reader {
public:
  Reader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool u16(size_t& off, uint16_t& out) const {
    if (off + 2 > n_) return false;
    out = static_cast<uint16_t>(d_[off] << 8 | d_[off + 1]);
    off += 2;
    return true;
  }
  bool u32(size_t& off, uint32_t& out) const {
    if (off + 4 > n_) return false;
    out = uint32_t(d_[off]) << 24 | uint32_t(d_[off + 1]) << 16 | uint32_t(d_[off + 2]) << 8 | d_[off + 3];
    off += 4;
    return true;
  }
  /// Reads a possibly compressed name at `off`; advances `off` past it in the record.
  bool name(size_t& off, std::string& out) const {
    out.clear();
    size_t pos = off;
    bool jumped = false;
    int jumps = 0;
    for (;;) {
      if (pos >= n_) return false;
      uint8_t len = d_[pos];
      if ((len & 0xc0) == 0xc0) {
        if (pos + 1 >= n_) return false;
        size_t target = size_t(len & 0x3f) << 8 | d_[pos + 1];
        if (target >= pos || ++jumps > kMaxJumps) return false;  // only backwards
        if (!jumped) off = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if (len & 0xc0) return false;  // 0x40 / 0x80 label types are obsolete
      if (len == 0) {
        if (!jumped) off = pos + 1;
        return true;
      }
      if (pos + 1 + len > n_) return false;
      if (!out.empty()) out += '.';
      for (size_t i = 0; i < len; ++i)
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(d_[pos + 1 + i])));
      if (out.size() > kMaxName) return false;
      pos += 1 + len;
    }
  }
  const uint8_t* at(size_t off) const { return d_ + off; }
  size_t size() const { return n_; }

private:
  const uint8_t* d_;
  size_t n_;
};

} // namespace

std::string normalize_name(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

std::optional<Response> parse_message(const uint8_t* data, size_t size) {
  Reader r(data, size);
  Response out;
  size_t off = 0;
  uint16_t flags, qd, an, ns, ar;
  if (!r.u16(off, out.id) || !r.u16(off, flags) || !r.u16(off, qd) || !r.u16(off, an) ||
      !r.u16(off, ns) || !r.u16(off, ar))
    return std::nullopt;
  out.is_response = flags & 0x8000;
  out.rcode = flags & 0xf;
  for (uint16_t i = 0; i < qd; ++i) {
    std::string name;
    uint16_t type, cls;
    if (!r.name(off, name) || !r.u16(off, type) || !r.u16(off, cls)) return std::nullopt;
    if (i == 0) {
      out.qname = name;
      out.qtype = type;
    }
  }
  for (uint16_t i = 0; i < an; ++i) {
    std::string owner;
    uint16_t type, cls, rdlen;
    uint32_t ttl;
    if (!r.name(off, owner) || !r.u16(off, type) || !r.u16(off, cls) || !r.u32(off, ttl) ||
        !r.u16(off, rdlen) || off + rdlen > size)
      return std::nullopt;
    size_t rdata = off;
    off += rdlen;
    if (cls != 1) continue;  // IN only
    if (ttl > 0x7fffffff) ttl = 0;  // RFC 2181 §8: a TTL with the top bit set means zero
    if ((type == kTypeA && rdlen == 4) || (type == kTypeAaaa && rdlen == 16)) {
      AddressRecord a;
      a.name = owner;
      a.ttl = ttl;
      a.ip.v6 = type == kTypeAaaa;
      std::memcpy(a.ip.bytes.data(), r.at(rdata), rdlen);
      out.addresses.push_back(std::move(a));
    } else if (type == kTypeCname) {
      size_t p = rdata;
      std::string target;
      if (!r.name(p, target) || p > rdata + rdlen) return std::nullopt;
      out.cnames.emplace_back(owner, target);
    }
  }
  return out;
}

std::vector<std::string> names_for(const Response& r, const AddressRecord& rec) {
  std::set<std::string> names{rec.name};
  // Walk CNAME edges backwards from the owner; the response is small, so a fixpoint over
  // the edge list (bounded by its size) is enough and immune to CNAME loops.
  for (size_t round = 0; round <= r.cnames.size(); ++round) {
    bool grew = false;
    for (const auto& [owner, target] : r.cnames)
      if (names.count(target) && names.insert(owner).second) grew = true;
    if (!grew) break;
  }
  return {names.begin(), names.end()};
}

} // namespace moat::runtime::dns
