// W410: a rule of a first-match tier (AdminNetworkPolicy, BaselineAdminNetworkPolicy) that
// can never decide, because an earlier rule of the tier, same direction, subject and peer
// and no port restriction, matches every flow it matches first. Syntactic (no solver): it
// finds the copy-paste case, not every shadowed rule.
#include <fmt/format.h>

#include <map>
#include <string>

#include "ir/lint.h"
#include "ir/printer.h"

namespace moat {

void run_tier_lints(const Module& m, Diagnostics& diags) {
  for (const std::vector<Rule>* tier : {&m.admin_rules, &m.baseline_rules}) {
    std::map<std::string, const Rule*> portless;  // direction, subject, peer -> first such rule
    for (const Rule& r : *tier) {
      std::string key = fmt::format("{} {} | {}", to_string(r.dir), print_endpoint_selector(r.subject), print_peer(r.peer));
      auto it = portless.find(key);
      if (it != portless.end()) {
        const Rule& first = *it->second;
        Diagnostic& d = diags.report(
            Code::W410, r.range,
            fmt::format("this {} rule never decides: {} {} rule #{} ({}) matches every flow it matches and comes "
                        "first{}",
                        to_string(r.action), to_string(r.tier), to_string(first.action), first.id, first.origin,
                        r.tier == Tier::Admin ? " (lower priority value, or earlier in the same priority)" : ""));
        d.notes.push_back({first.range, "the rule that decides first"});
        continue;
      }
      if (r.ports.empty()) portless.emplace(key, &r);
    }
  }
}

} // namespace moat
