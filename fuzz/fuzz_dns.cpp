// libFuzzer target for the DNS wire format the node's DNS proxy reads from pods and from the
// upstream server: the bytes are one DNS message (a UDP payload). A message that parses must
// keep its offsets inside the input, its CNAME chain must stay within its records, the
// REFUSED / FORMERR reply built from it must parse back to the same question, and learning
// from it must keep the FQDN cache inside its bounds and survive a JSON round trip.
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "runtime/dns/dns_message.h"
#include "runtime/dns/fqdn_cache.h"

using namespace moat;
using namespace moat::runtime::dns;

namespace {

Module learn_everything() {
  Module m;
  Rule r;
  r.dir = Direction::Egress;
  r.peer.kind = Peer::Kind::Fqdn;
  r.peer.fqdn = FqdnMatch{true, "*", {}};
  m.add_rule(r);
  return m;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz::guarded([&] {
    auto r = parse_message(data, size);
    if (!r) return;
    if (r->question_end < 12 || r->question_end > size) fuzz::fail("question_end outside the message");
    std::vector<std::string> chain = cname_chain(*r);
    if (chain.empty() || chain.front() != r->qname || chain.size() > r->cnames.size() + 1)
      fuzz::fail("CNAME chain longer than the records allow");
    for (const AddressRecord& rec : r->addresses)
      for (const std::string& n : names_for(*r, rec))
        if (std::find(chain.begin(), chain.end(), n) == chain.end()) fuzz::fail("learned name off the chain");
    for (uint8_t rcode : {kRcodeRefused, kRcodeFormErr}) {
      std::vector<uint8_t> reply = error_reply(data, *r, rcode);
      auto back = parse_message(reply.data(), reply.size());
      if (!back || back->id != r->id || back->qname != r->qname || back->qtype != r->qtype ||
          back->rcode != rcode || !back->is_response || !back->addresses.empty())
        fuzz::fail("error reply does not parse back to the question");
    }
    if (!r->is_response) {
      // A query is never its own answer; an answer built from it (QR set) is.
      if (answers_query(*r, *r)) fuzz::fail("a query answers itself");
    }
    static const Module policy = learn_everything();
    static const FqdnSelectors sel(policy);
    LearnLimits lim;
    lim.max_addresses_per_name = 2;
    lim.max_names_per_address = 2;
    lim.max_addresses = 4;
    FqdnCache cache;
    cache.learn(*r, sel, lim, 0);
    if (cache.address_count() > lim.max_addresses) fuzz::fail("more addresses than the cap");
    for (const Endpoint& e : cache.endpoints())
      if (e.dns_names.size() > lim.max_names_per_address) fuzz::fail("more names per address than the cap");
    for (const Endpoint& e : cache.endpoints())
      for (const std::string& n : e.dns_names)
        if (in_domain(n, lim.cluster_domain)) fuzz::fail("learned a cluster-domain name");
    if (auto next = cache.next_expiry(); next && *next > int64_t(lim.max_ttl_s) * 1000)
      fuzz::fail("TTL above the cap");
    auto copy = FqdnCache::from_json(cache.to_json());
    if (!copy || copy->address_count() != cache.address_count() || copy->name_count() != cache.name_count())
      fuzz::fail("FQDN cache JSON round trip lost entries");
  });
}
