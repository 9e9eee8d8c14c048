// Explanations of interpreter verdicts, shared by `moat test` (and any command that shows
// why a flow is allowed or denied).
#include "cli/explain.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace moat::cli {

namespace {

std::string why_text(const Decision& d) {
  switch (d.why) {
  case Decision::Why::NotWorkload: return "not a workload, no policy applies";
  case Decision::Why::Implicit: return "allowed implicitly (self traffic, the host to a local workload, or IPv6 neighbour discovery)";
  case Decision::Why::NotIsolated: return "allowed: not isolated in this direction";
  case Decision::Why::Allowed: return "allowed by";
  case Decision::Why::NoAllow: return "denied: isolated and no allow rule matched; isolated by";
  case Decision::Why::Denied: return "denied by";
  case Decision::Why::AdminAllowed: return "allowed by the AdminNetworkPolicy tier:";
  case Decision::Why::AdminDenied: return "denied by the AdminNetworkPolicy tier:";
  case Decision::Why::BaselineAllowed:
    return "allowed by the BaselineAdminNetworkPolicy tier (no NetworkPolicy isolates it):";
  case Decision::Why::BaselineDenied:
    return "denied by the BaselineAdminNetworkPolicy tier (no NetworkPolicy isolates it):";
  }
  return "?";
}

void explain_half(std::string& out, const Module& m, const SourceManager& sm, const Decision& d,
                  Direction dir, const Endpoint& at, const std::string& indent) {
  out += fmt::format("{}{} at {}: {}\n", indent, to_string(dir), at.name, why_text(d));
  for (uint32_t id : d.passed)
    if (id < m.admin_rules.size())
      out += fmt::format("{}  passed on by {} admin rule #{} from {} at {}\n", indent, to_string(m.admin_rules[id].action),
                         id, m.admin_rules[id].origin, sm.location(m.admin_rules[id].range));
  for (uint32_t id : d.rules) {
    const Rule* r = decided_rule(m, d, id);
    if (!r) continue;
    out += fmt::format("{}  {} {}rule #{} from {} at {}\n", indent, to_string(r->action), tier_prefix(d.tier()), id,
                       r->origin.empty() ? "<unnamed>" : r->origin, sm.location(r->range));
  }
  if (d.why == Decision::Why::NoAllow) {
    for (uint32_t i : d.isolations) {
      if (i >= m.isolations.size()) continue;
      const Isolation& iso = m.isolations[i];
      out += fmt::format("{}  {} at {}\n", indent, iso.origin.empty() ? "<unnamed>" : iso.origin,
                         sm.location(iso.range));
    }
  }
}

std::string http_text(const HttpRule& h) {
  std::string s = h.method.empty() ? "any method" : h.method;
  s += " " + (h.path.empty() ? std::string("any path") : h.path);
  if (!h.host.empty()) s += " host " + h.host;
  return s;
}

/// One direction's condition ("" when none): the union of what its allow rules let through;
/// a rule without L7 constraints lets everything through, so then there is no condition.
std::string direction_condition(const Module& m, const Decision& d) {
  if (d.why != Decision::Why::Allowed || d.rules.empty()) return "";
  std::vector<std::string> http, dns;
  for (uint32_t id : d.rules) {
    const Rule* rp = decided_rule(m, d, id);
    if (!rp) return "";
    const Rule& r = *rp;
    if (r.http.empty() && r.dns.empty()) return "";
    for (const HttpRule& h : r.http)
      if (std::find(http.begin(), http.end(), http_text(h)) == http.end()) http.push_back(http_text(h));
    for (const FqdnMatch& f : r.dns)
      if (std::find(dns.begin(), dns.end(), f.value) == dns.end()) dns.push_back(f.value);
  }
  std::string out;
  if (!http.empty()) out = "HTTP " + fmt::format("{}", fmt::join(http, " or "));
  if (!dns.empty()) out += (out.empty() ? "" : " or ") + fmt::format("DNS lookups of {}", fmt::join(dns, ", "));
  return out;
}

} // namespace

std::string l7_condition(const Module& m, const Verdict& v) {
  if (!v.allowed) return "";
  std::string eg = direction_condition(m, v.egress), in = direction_condition(m, v.ingress);
  if (eg.empty() && in.empty()) return "";
  if (in.empty() || in == eg) return "only " + eg;
  if (eg.empty()) return "only " + in;
  return "only " + eg + " (egress) and " + in + " (ingress)";
}

std::string explain_verdict(const Module& m, const SourceManager& sm, const Verdict& v,
                            const Endpoint& src, const Endpoint& dst, const std::string& indent) {
  std::string out;
  explain_half(out, m, sm, v.egress, Direction::Egress, src, indent);
  explain_half(out, m, sm, v.ingress, Direction::Ingress, dst, indent);
  return out;
}

std::string flow_text(Protocol proto, uint16_t port) {
  return fmt::format("{}/{}", to_string(proto), port);
}

} // namespace moat::cli
