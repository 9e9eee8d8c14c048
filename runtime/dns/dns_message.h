// DNS wire format, the little the FQDN machinery needs: read a message's question and its
// A / AAAA / CNAME answers (RFC 1035 §4, compression included), tell whether an answer
// answers a given query, and which names (on the question's CNAME chain) each address
// answers for. Bounds-checked everywhere: a hostile packet yields nullopt. No libbpf here:
// the fuzz build compiles this file alone.
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
inline constexpr uint16_t kClassIn = 1;
inline constexpr uint8_t kRcodeFormErr = 1;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeRefused = 5;

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
  uint16_t qclass = 0;
  uint16_t qdcount = 0;
  size_t question_end = 0;  // offset just past the question section
  std::vector<std::pair<std::string, std::string>> cnames;  // owner -> target
  std::vector<AddressRecord> addresses;
};

/// Parses a DNS message (UDP payload, or a TCP message without its length prefix). Labels
/// holding a '.' or a byte outside printable ASCII make the message unparsable: such a name
/// would read as a different (dotted) name than the one the server resolves.
std::optional<Response> parse_message(const uint8_t* data, size_t size);

/// The CNAME chain of the question: the question name, then each CNAME target in turn as
/// long as the response has a CNAME for the current name (loops and forks stop it).
std::vector<std::string> cname_chain(const Response& r);

/// Every name under which `rec.ip` was answered: the names of the question's CNAME chain up
/// to and including the record's owner (so `www.example.com CNAME edge.cdn.net A 1.2.3.4`
/// asked as www.example.com gives 1.2.3.4 both names). Empty when the owner is not on the
/// chain: an upstream may add any record, and only the chain is what the client asked for.
std::vector<std::string> names_for(const Response& r, const AddressRecord& rec);

/// Does `answer` answer `query`: a response with the same ID and exactly one question equal
/// to the query's one question (name, type, class)?
bool answers_query(const Response& query, const Response& answer);

/// A reply to `query` (the raw message, already parsed as `q`) with only its header and
/// question and the given RCODE (REFUSED for names outside a pod's DNS rules).
std::vector<uint8_t> error_reply(const uint8_t* query, const Response& q, uint8_t rcode);

/// Is `name` `domain` or a name under it (both normalized)?
bool in_domain(const std::string& name, const std::string& domain);

/// Lower-cases a name and strips one trailing dot (the FQDN normal form of ir/fqdn.h).
std::string normalize_name(std::string name);

} // namespace moat::runtime::dns
