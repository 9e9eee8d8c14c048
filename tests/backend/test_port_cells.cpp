// Port cells: port_intervals agrees with the interpreter's ports_match, port prefixes cover
// exactly their range, and the longest-prefix reading of port_entries gives the reference
// verdict (a deny wins, whatever its specificity).
#include <catch2/catch.hpp>

#include <random>

#include "backend/bundle/port_cells.h"
#include "ir/interp.h"

using namespace moat;

TEST_CASE("port prefixes cover exactly [lo, hi]", "[backend]") {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    uint32_t a = rng() % 65536, b = rng() % 65536;
    if (i % 10 == 0) a = 0, b = 65535;
    uint32_t lo = std::min(a, b), hi = std::max(a, b);
    auto prefixes = bundle::port_prefixes(lo, hi);
    uint64_t covered = 0;
    for (auto [port, bits] : prefixes) {
      uint32_t size = 1u << (16 - bits);
      REQUIRE(port % size == 0);  // aligned
      REQUIRE(port >= lo);
      REQUIRE(port + size - 1 <= hi);
      covered += size;
    }
    REQUIRE(covered == hi - lo + 1);
    REQUIRE(prefixes.size() <= 30);
  }
  CHECK(bundle::port_prefixes(80, 80) == std::vector<std::pair<uint16_t, uint8_t>>{{80, 16}});
  CHECK(bundle::port_prefixes(0, 65535) == std::vector<std::pair<uint16_t, uint8_t>>{{0, 0}});
}

namespace {

PortMatch random_port_match(std::mt19937& rng) {
  static const Protocol protos[] = {Protocol::Any, Protocol::TCP, Protocol::UDP, Protocol::SCTP, Protocol::ICMP,
                                    Protocol::ICMPv6};
  PortMatch pm;
  pm.proto = protos[rng() % 6];
  if (rng() % 5 == 0 && pm.proto != Protocol::ICMP && pm.proto != Protocol::ICMPv6) {
    pm.name = rng() % 2 ? "http" : "dns";
    return pm;
  }
  uint16_t a = static_cast<uint16_t>(rng() % 100), b = static_cast<uint16_t>(rng() % 100);
  pm.lo = std::min(a, b);
  pm.hi = std::max(a, b);
  return pm;
}

/// Longest-prefix reading of port entries for one (proto, port).
std::optional<bool> lookup(const std::vector<bundle::PortEntry>& entries, uint8_t proto, uint16_t port) {
  const bundle::PortEntry* best = nullptr;
  int best_len = -1;
  for (const bundle::PortEntry& e : entries) {
    int len;
    if (e.all_protocols) {
      len = 0;
    } else {
      if (e.proto != proto) continue;
      uint32_t size = 1u << (16 - e.port_bits);
      if (port < e.port || port >= e.port + size) continue;
      len = 8 + e.port_bits;
    }
    if (len > best_len) best = &e, best_len = len;
  }
  if (!best) return std::nullopt;
  return best->action == abi::kActionAllow;
}

} // namespace

TEST_CASE("port cells agree with ports_match and deny precedence", "[backend]") {
  std::mt19937 rng(11);
  Endpoint owner;
  owner.ports = {{"http", Protocol::TCP, 80}, {"dns", Protocol::UDP, 53}, {"dns", Protocol::TCP, 53}};
  for (int round = 0; round < 3000; ++round) {
    std::vector<Rule> rules(1 + rng() % 5);
    for (size_t i = 0; i < rules.size(); ++i) {
      rules[i].id = static_cast<uint32_t>(i);
      rules[i].action = rng() % 3 == 0 ? Action::Deny : Action::Allow;
      size_t n = rng() % 3;  // 0: every port
      for (size_t k = 0; k < n; ++k) rules[i].ports.push_back(random_port_match(rng));
    }
    size_t split = rng() % (rules.size() + 1);
    std::vector<const Rule*> primary, secondary;
    for (size_t i = 0; i < rules.size(); ++i) (i < split ? primary : secondary).push_back(&rules[i]);
    auto entries = bundle::port_entries(primary, secondary, &owner);
    for (Protocol proto : {Protocol::TCP, Protocol::UDP, Protocol::SCTP, Protocol::ICMP, Protocol::ICMPv6}) {
      for (uint16_t port = 0; port < 110; ++port) {
        bool any_primary = false, deny = false, allow = false;
        for (const Rule& r : rules) {
          bool hit = ports_match(r.ports, proto, port, &owner);
          // port_intervals is the interval reading of ports_match.
          for (const PortMatch& pm : r.ports) {
            bool in = false;
            for (auto [lo, hi] : bundle::port_intervals(pm, proto, &owner)) in |= port >= lo && port <= hi;
            REQUIRE(in == ports_match({pm}, proto, port, &owner));
          }
          if (!hit) continue;
          any_primary |= r.id < split;
          (r.action == Action::Deny ? deny : allow) = true;
        }
        auto got = lookup(entries, static_cast<uint8_t>(proto), port);
        INFO("round " << round << " proto " << to_string(proto) << " port " << port);
        if (any_primary) {
          REQUIRE(got.has_value());
          REQUIRE(*got == !deny);
        } else if (got) {
          // Only where a primary rule decides may an entry exist.
          FAIL("entry where no primary rule matches");
        }
      }
    }
  }
}
