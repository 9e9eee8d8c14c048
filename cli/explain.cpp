// Explanations of interpreter verdicts, shared by `moat test` (and any command that shows
// why a flow is allowed or denied).
#include "cli/explain.h"

#include <fmt/format.h>

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
  }
  return "?";
}

void explain_half(std::string& out, const Module& m, const SourceManager& sm, const Decision& d,
                  Direction dir, const Endpoint& at, const std::string& indent) {
  out += fmt::format("{}{} at {}: {}\n", indent, to_string(dir), at.name, why_text(d));
  for (uint32_t id : d.rules) {
    if (id >= m.rules.size()) continue;
    const Rule& r = m.rules[id];
    out += fmt::format("{}  {} rule #{} from {} at {}\n", indent, to_string(r.action), id,
                       r.origin.empty() ? "<unnamed>" : r.origin, sm.location(r.range));
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

} // namespace

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
