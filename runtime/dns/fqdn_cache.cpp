// FQDN cache: learned (address, name, expiry) triples, matched against the policy's FQDN
// peers with the reference interpreter's own matcher, so learning agrees with verdicts.
#include "runtime/dns/fqdn_cache.h"

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "ir/interp.h"

namespace moat::runtime::dns {

FqdnSelectors::FqdnSelectors(const Module& policy) {
  // Every tier: an AdminNetworkPolicy `domainNames` peer needs learned addresses too.
  for (Tier t : {Tier::Policy, Tier::Admin, Tier::Baseline})
    for (const Rule& r : policy.tier_rules(t))
      if (r.peer.kind == Peer::Kind::Fqdn) matches_.push_back(r.peer.fqdn);
}

bool FqdnSelectors::selects(const std::string& name) const {
  return std::any_of(matches_.begin(), matches_.end(), [&](const FqdnMatch& m) { return fqdn_matches(m, name); });
}

bool FqdnCache::learn(const IpAddr& ip, const std::vector<std::string>& names, uint32_t ttl_s, int64_t now_ms,
                      const LearnLimits& lim) {
  bool changed = false;
  ttl_s = std::min(std::max(ttl_s, lim.min_ttl_s), std::max(lim.max_ttl_s, lim.min_ttl_s));
  int64_t expiry = now_ms + int64_t(ttl_s) * 1000;
  auto& known = entries_[ip];
  for (const std::string& n : names) {
    auto [it, fresh] = known.emplace(n, expiry);
    if (fresh) changed = true, by_name_[n].insert(ip);
    else it->second = std::max(it->second, expiry);
  }
  if (known.empty()) {
    entries_.erase(ip);
    return false;
  }
  // A live answer again: the address admits new connections again (its map entry changes).
  if (zombies_.erase(ip)) changed = true;
  enforce_caps(ip, names, lim);
  return changed;
}

void FqdnCache::enforce_caps(const IpAddr& ip, const std::vector<std::string>& names, const LearnLimits& lim) {
  // Names of this address: the soonest-expiring ones go (the fresh ones expire last).
  if (auto it = entries_.find(ip); it != entries_.end()) {
    while (it->second.size() > std::max<size_t>(1, lim.max_names_per_address)) {
      auto victim = std::min_element(it->second.begin(), it->second.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
      erase_name(ip, std::string(victim->first));
    }
  }
  // Addresses of each name just learned.
  for (const std::string& n : names) {
    for (;;) {
      auto bn = by_name_.find(n);
      if (bn == by_name_.end() || bn->second.size() <= std::max<size_t>(1, lim.max_addresses_per_name)) break;
      const IpAddr* victim = nullptr;
      int64_t soonest = 0;
      for (const IpAddr& a : bn->second) {
        int64_t e = entries_.at(a).at(n);
        if (!victim || e < soonest) victim = &a, soonest = e;
      }
      erase_name(IpAddr(*victim), n);
    }
  }
  // Addresses in all.
  while (entries_.size() > std::max<size_t>(1, lim.max_addresses)) {
    const IpAddr* victim = nullptr;
    int64_t soonest = 0;
    for (const auto& [a, ns] : entries_) {
      int64_t e = 0;
      for (const auto& [n, exp] : ns) e = std::max(e, exp);
      if (!victim || e < soonest) victim = &a, soonest = e;
    }
    erase_address(IpAddr(*victim));
  }
}

void FqdnCache::erase_name(const IpAddr& ip, const std::string& name) {
  if (auto bn = by_name_.find(name); bn != by_name_.end()) {
    bn->second.erase(ip);
    if (bn->second.empty()) by_name_.erase(bn);
  }
  auto it = entries_.find(ip);
  if (it == entries_.end()) return;
  it->second.erase(name);
  if (it->second.empty()) {
    entries_.erase(it);
    zombies_.erase(ip);
  }
}

void FqdnCache::erase_address(const IpAddr& ip) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return;
  std::vector<std::string> names;
  for (const auto& [n, e] : it->second) names.push_back(n);
  for (const std::string& n : names) erase_name(ip, n);
}

std::vector<std::string> learnable_names(const Response& r, const AddressRecord& rec, const FqdnSelectors& sel,
                                         const LearnLimits& lim) {
  std::vector<std::string> names;
  if (!r.is_response || r.rcode != 0 || r.qdcount != 1 || r.qclass != kClassIn) return names;
  for (std::string& n : names_for(r, rec))
    if (!in_domain(n, lim.cluster_domain) && sel.selects(n)) names.push_back(std::move(n));
  return names;
}

bool teaches(const Response& r, const FqdnSelectors& sel, const LearnLimits& lim) {
  return std::any_of(r.addresses.begin(), r.addresses.end(),
                     [&](const AddressRecord& rec) { return !learnable_names(r, rec, sel, lim).empty(); });
}

bool FqdnCache::learn(const Response& r, const FqdnSelectors& sel, const LearnLimits& lim, int64_t now_ms) {
  bool changed = false;
  for (const AddressRecord& rec : r.addresses) {
    std::vector<std::string> names = learnable_names(r, rec, sel, lim);
    if (names.empty()) continue;
    changed = learn(rec.ip, names, rec.ttl, now_ms, lim) || changed;
  }
  return changed;
}

bool FqdnCache::knows(const Response& r, const FqdnSelectors& sel, const LearnLimits& lim, int64_t now_ms,
                      int64_t margin_ms) const {
  for (const AddressRecord& rec : r.addresses) {
    auto it = entries_.find(rec.ip);
    for (const std::string& n : learnable_names(r, rec, sel, lim)) {
      if (it == entries_.end() || zombies_.count(rec.ip)) return false;
      auto e = it->second.find(n);
      if (e == it->second.end() || e->second <= now_ms + margin_ms) return false;
    }
  }
  return true;
}

std::vector<IpAddr> FqdnCache::zombie_candidates(int64_t now_ms) const {
  std::vector<IpAddr> out;
  for (const auto& [ip, names] : entries_) {
    if (std::any_of(names.begin(), names.end(), [&](const auto& n) { return n.second > now_ms; })) continue;
    auto z = zombies_.find(ip);
    if (z == zombies_.end() || z->second <= now_ms) out.push_back(ip);
  }
  return out;
}

bool FqdnCache::expire(int64_t now_ms, const ZombiePolicy& z) {
  bool changed = false;
  std::vector<IpAddr> gone;
  for (auto& [ip, names] : entries_) {
    bool live = std::any_of(names.begin(), names.end(), [&](const auto& n) { return n.second > now_ms; });
    if (live) {
      // Some names still valid: the expired ones go (the address keeps its live names).
      std::vector<std::string> stale;
      for (const auto& [n, e] : names)
        if (e <= now_ms) stale.push_back(n);
      for (const std::string& n : stale) {
        if (auto bn = by_name_.find(n); bn != by_name_.end() && bn->second.erase(ip) && bn->second.empty())
          by_name_.erase(bn);
        names.erase(n);
      }
      changed = changed || !stale.empty();
      continue;
    }
    // Every name expired: keep the address (names and identity unchanged) while a tracked
    // connection uses it, asking again every recheck_ms.
    auto zit = zombies_.find(ip);
    bool first = zit == zombies_.end();
    if (!first && zit->second > now_ms) continue;
    bool room = !first || zombies_.size() < z.max_zombies;
    if (z.in_use && room && z.in_use(ip, first)) {
      zombies_[ip] = now_ms + std::max<int64_t>(1, z.recheck_ms);
      changed = changed || first;  // a new zombie admits no new connection: its entry changes
      continue;
    }
    gone.push_back(ip);
  }
  for (const IpAddr& ip : gone) erase_address(ip);
  return changed || !gone.empty();
}

bool FqdnCache::retain(const FqdnSelectors& sel) {
  return forget([&](const IpAddr&, const std::string& name, int64_t) { return !sel.selects(name); });
}

bool FqdnCache::forget(const std::function<bool(const IpAddr&, const std::string&, int64_t)>& drop) {
  std::vector<std::pair<IpAddr, std::string>> victims;
  for (const auto& [ip, names] : entries_)
    for (const auto& [n, e] : names)
      if (drop(ip, n, e)) victims.emplace_back(ip, n);
  for (const auto& [ip, n] : victims) erase_name(ip, n);
  return !victims.empty();
}

std::optional<int64_t> FqdnCache::next_expiry() const {
  std::optional<int64_t> best;
  auto consider = [&](int64_t t) {
    if (!best || t < *best) best = t;
  };
  for (const auto& [ip, names] : entries_) {
    if (auto z = zombies_.find(ip); z != zombies_.end()) {
      consider(z->second);
      continue;
    }
    for (const auto& [n, exp] : names) consider(exp);
  }
  return best;
}

std::vector<IpAddr> FqdnCache::zombie_addresses() const {
  std::vector<IpAddr> out;
  for (const auto& [ip, next] : zombies_) out.push_back(ip);
  return out;
}

namespace {

Endpoint learned_endpoint(const IpAddr& ip, const std::map<std::string, int64_t>& names) {
  Endpoint e;
  e.kind = EndpointKind::External;
  e.name = kLearnedEndpointPrefix + ip.str();
  e.ips = {ip};
  for (const auto& [n, exp] : names) e.dns_names.push_back(n);
  return e;
}

} // namespace

std::vector<Endpoint> FqdnCache::endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& [ip, names] : entries_) out.push_back(learned_endpoint(ip, names));
  return out;
}

std::optional<Endpoint> FqdnCache::endpoint(const IpAddr& ip) const {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  return learned_endpoint(ip, it->second);
}

size_t FqdnCache::name_count() const {
  size_t n = 0;
  for (const auto& [ip, names] : entries_) n += names.size();
  return n;
}

std::string FqdnCache::to_json() const {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& [ip, names] : entries_) {
    nlohmann::json ns = nlohmann::json::object();
    for (const auto& [n, exp] : names) ns[n] = exp;
    nlohmann::json e = {{"ip", ip.str()}, {"names", ns}};
    if (auto z = zombies_.find(ip); z != zombies_.end()) e["zombie_check"] = z->second;
    j.push_back(std::move(e));
  }
  return j.dump(2);
}

std::optional<FqdnCache> FqdnCache::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  FqdnCache c;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("ip") || !e["ip"].is_string() || !e.contains("names") ||
        !e["names"].is_object())
      return std::nullopt;
    auto ip = IpAddr::parse(e["ip"].get<std::string>());
    if (!ip) return std::nullopt;
    for (const auto& [n, exp] : e["names"].items()) {
      if (!exp.is_number_integer()) return std::nullopt;
      c.entries_[*ip][n] = exp.get<int64_t>();
      c.by_name_[n].insert(*ip);
    }
    if (c.entries_.count(*ip) && e.contains("zombie_check") && e["zombie_check"].is_number_integer())
      c.zombies_[*ip] = e["zombie_check"].get<int64_t>();
  }
  return c;
}

} // namespace moat::runtime::dns
