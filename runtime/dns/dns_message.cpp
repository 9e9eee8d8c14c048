// DNS message parsing with explicit bounds: every read checks the remaining length, and
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
      for (size_t i = 0; i < len; ++i) {
        unsigned char c = d_[pos + 1 + i];
        if (c == '.' || c <= 0x20 || c >= 0x7f) return false;  // one name must read one way
        out += static_cast<char>(std::tolower(c));
      }
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
  out.qdcount = qd;
  for (uint16_t i = 0; i < qd; ++i) {
    std::string name;
    uint16_t type, cls;
    if (!r.name(off, name) || !r.u16(off, type) || !r.u16(off, cls)) return std::nullopt;
    if (i == 0) {
      out.qname = name;
      out.qtype = type;
      out.qclass = cls;
    }
  }
  out.question_end = off;
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

std::vector<std::string> cname_chain(const Response& r) {
  std::vector<std::string> chain{r.qname};
  // At most one step per CNAME record: a loop or a fork cannot make it longer.
  for (size_t step = 0; step < r.cnames.size(); ++step) {
    const std::string* next = nullptr;
    for (const auto& [owner, target] : r.cnames) {
      if (owner != chain.back()) continue;
      if (next && *next != target) return chain;  // two CNAMEs for one name: stop (RFC 2181 §10.1)
      next = &target;
    }
    if (!next || std::find(chain.begin(), chain.end(), *next) != chain.end()) break;
    chain.push_back(*next);
  }
  return chain;
}

std::vector<std::string> names_for(const Response& r, const AddressRecord& rec) {
  std::vector<std::string> chain = cname_chain(r);
  auto owner = std::find(chain.begin(), chain.end(), rec.name);
  if (r.qname.empty() || owner == chain.end()) return {};
  std::vector<std::string> names(chain.begin(), owner + 1);
  std::sort(names.begin(), names.end());
  return names;
}

bool answers_query(const Response& query, const Response& answer) {
  return answer.is_response && !query.is_response && answer.id == query.id && query.qdcount == 1 &&
         answer.qdcount == 1 && answer.qname == query.qname && answer.qtype == query.qtype &&
         answer.qclass == query.qclass;
}

std::vector<uint8_t> error_reply(const uint8_t* query, const Response& q, uint8_t rcode) {
  std::vector<uint8_t> out(query, query + q.question_end);
  out[2] = static_cast<uint8_t>(0x80 | (out[2] & 0x79));  // QR, keep opcode and RD; no AA/TC
  out[3] = static_cast<uint8_t>(0x80 | (rcode & 0xf));    // RA
  for (int i = 6; i < 12; ++i) out[i] = 0;                // no answer, authority, additional
  return out;
}

bool in_domain(const std::string& name, const std::string& domain) {
  if (domain.empty()) return false;
  if (name.size() == domain.size()) return name == domain;
  return name.size() > domain.size() && name.compare(name.size() - domain.size(), domain.size(), domain) == 0 &&
         name[name.size() - domain.size() - 1] == '.';
}

} // namespace moat::runtime::dns
