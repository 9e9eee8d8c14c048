// DNS wire format, the little the FQDN machinery needs: read a response's question and its
// A / AAAA / CNAME answers (RFC 1035 §4, compression included) and tell which names each
// address answers for. Bounds-checked everywhere: a hostile packet yields nullopt.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/ip.h"

namespace moat::runtime::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeAaaa = 28;

struct AddressRecord {
  std::string name;  // owner name, lower-case, no trailing dot
  IpAddr ip;
  uint32_t ttl = 0;
};

struct Response {
  uint16_t id = 0;
  bool is_response = false;
  uint8_t rcode = 0;
  std::string qname;  // first question, lower-case, no trailing dot ("" when none)
  uint16_t qtype = 0;
  std::vector<std::pair<std::string, std::string>> cnames;  // owner -> target
  std::vector<AddressRecord> addresses;
};

/// Parses a DNS message (UDP payload, or a TCP message without its length prefix).
std::optional<Response> parse_message(const uint8_t* data, size_t size);

/// Every name under which `rec.ip` was answered: its owner name plus each name whose CNAME
/// chain in the same response leads to it (so `www.example.com CNAME edge.cdn.net A 1.2.3.4`
/// gives 1.2.3.4 both names). Sorted, unique.
std::vector<std::string> names_for(const Response& r, const AddressRecord& rec);

/// Lower-cases a name and strips one trailing dot (the FQDN normal form of ir/fqdn.h).
std::string normalize_name(std::string name);

} // namespace moat::runtime::dns
