// FQDN cache: learned (address, name, expiry) triples, matched against the policy's FQDN
// peers with the reference interpreter's own matcher, so learning agrees with verdicts.
#include "runtime/dns/fqdn_cache.h"

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "ir/interp.h"

namespace moat::runtime::dns {

FqdnSelectors::FqdnSelectors(const Module& policy) {
  for (const Rule& r : policy.rules)
    if (r.peer.kind == Peer::Kind::Fqdn) matches_.push_back(r.peer.fqdn);
}

bool FqdnSelectors::selects(const std::string& name) const {
  return std::any_of(matches_.begin(), matches_.end(), [&](const FqdnMatch& m) { return fqdn_matches(m, name); });
}

bool FqdnCache::learn(const IpAddr& ip, const std::vector<std::string>& names, uint32_t ttl_s, int64_t now_ms) {
  bool changed = false;
  int64_t expiry = now_ms + int64_t(ttl_s) * 1000;
  auto& known = entries_[ip];
  for (const std::string& n : names) {
    auto [it, fresh] = known.emplace(n, expiry);
    if (fresh) changed = true;
    else it->second = std::max(it->second, expiry);
  }
  if (known.empty()) entries_.erase(ip);
  return changed;
}

bool FqdnCache::learn(const Response& r, const FqdnSelectors& sel, uint32_t min_ttl_s, int64_t now_ms) {
  bool changed = false;
  if (!r.is_response || r.rcode != 0) return false;
  for (const AddressRecord& rec : r.addresses) {
    std::vector<std::string> names;
    for (std::string& n : names_for(r, rec))
      if (sel.selects(n)) names.push_back(std::move(n));
    if (names.empty()) continue;
    changed = learn(rec.ip, names, std::max(rec.ttl, min_ttl_s), now_ms) || changed;
  }
  return changed;
}

bool FqdnCache::expire(int64_t now_ms) {
  return forget([&](const std::string&, int64_t expiry) { return expiry <= now_ms; });
}

bool FqdnCache::retain(const FqdnSelectors& sel) {
  return forget([&](const std::string& name, int64_t) { return !sel.selects(name); });
}

bool FqdnCache::forget(const std::function<bool(const std::string&, int64_t)>& drop) {
  bool changed = false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto& names = it->second;
    changed = std::erase_if(names, [&](const auto& n) { return drop(n.first, n.second); }) > 0 || changed;
    it = names.empty() ? entries_.erase(it) : std::next(it);
  }
  return changed;
}

std::optional<int64_t> FqdnCache::next_expiry() const {
  std::optional<int64_t> best;
  for (const auto& [ip, names] : entries_)
    for (const auto& [n, exp] : names)
      if (!best || exp < *best) best = exp;
  return best;
}

std::vector<Endpoint> FqdnCache::endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& [ip, names] : entries_) {
    Endpoint e;
    e.kind = EndpointKind::External;
    e.name = "fqdn:" + ip.str();
    e.ips = {ip};
    for (const auto& [n, exp] : names) e.dns_names.push_back(n);
    out.push_back(std::move(e));
  }
  return out;
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
    j.push_back({{"ip", ip.str()}, {"names", ns}});
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
    }
  }
  return c;
}

} // namespace moat::runtime::dns
