// port_entries: interval partition of each protocol's port space, tiered verdict per interval.
#include "backend/bundle/port_cells.h"

#include <algorithm>
#include <set>

#include "ir/interp.h"

namespace moat::bundle {

namespace {

// The protocols a flow can carry (ir/ir.h Protocol); everything else only matches port-less rules.
constexpr Protocol kProtocols[] = {Protocol::TCP, Protocol::UDP, Protocol::SCTP, Protocol::ICMP,
                                   Protocol::ICMPv6};

struct Verdict {
  bool any = false;  // some rule matched
  uint8_t action = abi::kActionDeny;
  uint32_t rule = 0;
};

/// The rules matching one cell, by what they can do in decide_among (ir/interp.cpp). Admin
/// and baseline rules are first-match tiers whose ids are their evaluation order, so the
/// smallest id is the first match. Multisets: a rule is removed as often as it was added.
struct Matching {
  std::multiset<std::pair<uint32_t, Action>> admin, baseline;
  std::multiset<uint32_t> denies, allows;

  std::multiset<uint32_t>& policy_set(const Rule& r) { return r.action == Action::Deny ? denies : allows; }
  void add(const Rule& r) {
    if (r.tier == Tier::Admin) admin.emplace(r.id, r.action);
    else if (r.tier == Tier::Baseline) baseline.emplace(r.id, r.action);
    else policy_set(r).insert(r.id);
  }
  void remove(const Rule& r) {
    if (r.tier == Tier::Admin) admin.erase(admin.find({r.id, r.action}));
    else if (r.tier == Tier::Baseline) baseline.erase(baseline.find({r.id, r.action}));
    else policy_set(r).erase(policy_set(r).find(r.id));
  }

  /// The tiers in the API's order (ir/ir.h Tier): the first admin match unless it passes;
  /// a Policy deny; where the local end is not isolated, the first baseline match; a Policy
  /// allow; else the isolation flag decides (kActionIsolation: no rule, as without entry).
  Verdict resolve(const CellTiers& t) const {
    auto first = [](const std::pair<uint32_t, Action>& r, uint32_t base) {
      return Verdict{true, r.second == Action::Allow ? abi::kActionAllow : abi::kActionDeny, base + r.first};
    };
    if (!admin.empty() && admin.begin()->second != Action::Pass) return first(*admin.begin(), t.admin_base);
    if (!denies.empty()) return {true, abi::kActionDeny, *denies.begin()};
    if (!t.isolated && !baseline.empty()) return first(*baseline.begin(), t.baseline_base);
    if (!allows.empty()) return {true, abi::kActionAllow, *allows.begin()};
    return {true, abi::kActionIsolation, 0};
  }
};

} // namespace

std::vector<std::pair<uint32_t, uint32_t>> port_intervals(const PortMatch& pm, Protocol proto,
                                                          const Endpoint* owner) {
  // The same reading as ports_match() in ir/interp.cpp: Any covers TCP/UDP/SCTP, never
  // ICMP; a named port is the destination workload's container port of that name and
  // protocol (none: no match). tests/backend checks the two agree.
  bool covers = pm.proto == Protocol::Any
                    ? (proto == Protocol::TCP || proto == Protocol::UDP || proto == Protocol::SCTP)
                    : pm.proto == proto;
  std::vector<std::pair<uint32_t, uint32_t>> out;
  if (!covers) return out;
  if (pm.name.empty()) {
    if (pm.lo <= pm.hi) out.emplace_back(pm.lo, pm.hi);
    return out;
  }
  if (owner)
    for (const NamedPort& np : owner->ports)
      if (np.name == pm.name && np.proto == proto) out.emplace_back(np.port, np.port);
  return out;
}

std::vector<std::pair<uint16_t, uint8_t>> port_prefixes(uint32_t lo, uint32_t hi) {
  std::vector<std::pair<uint16_t, uint8_t>> out;
  uint64_t cur = lo, end = static_cast<uint64_t>(hi) + 1;
  while (cur < end) {
    // The largest aligned block starting at cur that fits in [cur, end).
    unsigned size_log = 16;
    while (size_log > 0 && ((cur & ((1ull << size_log) - 1)) != 0 || cur + (1ull << size_log) > end)) --size_log;
    out.emplace_back(static_cast<uint16_t>(cur), static_cast<uint8_t>(16 - size_log));
    cur += 1ull << size_log;
  }
  return out;
}

std::vector<PortEntry> port_entries(const std::vector<const Rule*>& primary,
                                    const std::vector<const Rule*>& secondary, const Endpoint* owner,
                                    const CellTiers& tiers) {
  std::vector<PortEntry> out;
  std::vector<const Rule*> all = primary;
  all.insert(all.end(), secondary.begin(), secondary.end());
  auto is_primary = [&](size_t i) { return i < primary.size(); };

  // Port-less rules match every protocol and port.
  Matching portless;
  bool primary_portless = false;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i]->ports.empty()) {
      portless.add(*all[i]);
      primary_portless |= is_primary(i);
    }
  if (primary_portless) {
    Verdict v = portless.resolve(tiers);
    out.push_back({0, 0, 0, true, v.action, v.rule});
  }

  for (Protocol proto : kProtocols) {
    // Sweep over the port axis: +rule at lo, -rule at hi + 1.
    struct Event {
      uint32_t at;
      size_t rule;
      bool open;
    };
    std::vector<Event> events;
    for (size_t i = 0; i < all.size(); ++i)
      for (const PortMatch& pm : all[i]->ports)
        for (auto [lo, hi] : port_intervals(pm, proto, owner)) {
          events.push_back({lo, i, true});
          events.push_back({hi + 1, i, false});
        }
    if (events.empty()) continue;
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });

    // Active port rules: a rule may cover a port through several port entries, hence counts.
    std::vector<uint32_t> active(all.size(), 0);
    Matching matching = portless;  // port-less rules are active in every cell
    size_t primary_active = 0, port_active = 0;
    uint32_t run_lo = 0;
    Verdict run;
    auto flush = [&](uint32_t end) {
      if (!run.any) return;
      for (auto [port, bits] : port_prefixes(run_lo, end - 1))
        out.push_back({static_cast<uint8_t>(proto), port, bits, false, run.action, run.rule});
    };
    for (size_t e = 0; e < events.size();) {
      uint32_t at = events[e].at;
      for (; e < events.size() && events[e].at == at; ++e) {
        size_t i = events[e].rule;
        uint32_t& n = active[i];
        if (events[e].open ? n++ == 0 : --n == 0) {
          int delta = events[e].open ? 1 : -1;
          port_active += delta;
          if (is_primary(i)) primary_active += delta;
          if (events[e].open) matching.add(*all[i]);
          else matching.remove(*all[i]);
        }
      }
      // The cell [at, next event): emitted only where a primary rule decides and a port rule
      // is involved; elsewhere the every-protocol entry (or the next lookup) decides the same.
      Verdict v;
      if (port_active > 0 && (primary_active > 0 || primary_portless)) v = matching.resolve(tiers);
      // Every elementary interval is written on its own (no merging of equal neighbours):
      // a single-port interval must stay a single-port entry, because a policy whose rules
      // name only single ports has no LPM lookup at all (DatapathPlan::port_prefixes).
      if (at > 65535) break;
      flush(at);
      run = v;
      run_lo = at;
    }
    flush(65536);
  }
  return out;
}

} // namespace moat::bundle
