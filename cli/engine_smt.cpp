// The `smt` engine of `moat test`: each case's verdict from the Z3 encoding (verifier/),
// with the flow's ends pinned to the cases file's endpoints. Its explanation is read from
// the solver's model (which rules' match formulas hold), not from the interpreter, so a
// disagreement between engines shows two independent accounts.
#include <fmt/format.h>

#include "cli/engines.h"
#include "ir/interp.h"
#include "verifier/verifier.h"

namespace moat::cli {

namespace {

class SmtTestEngine : public Engine {
public:
  explicit SmtTestEngine(const EngineInput& in) : in_(in), smt_(in.module, in.cases.endpoints, VerifyOptions{}) {}

  std::optional<EngineVerdict> check(const Case& c) override {
    const Endpoint* src = in_.cases.find(c.from);
    const Endpoint* dst = in_.cases.find(c.to);
    if (!src || !dst) return std::nullopt;
    size_t si = static_cast<size_t>(src - in_.cases.endpoints.data());
    size_t di = static_cast<size_t>(dst - in_.cases.endpoints.data());
    std::string error;
    SmtEngine::Explanation why;
    auto v = smt_.verdict({si, c.from_addr}, {di, c.to_addr}, c.proto, c.port, &error, &why);
    if (!v) return std::nullopt;
    return EngineVerdict{*v, detail(why)};
  }

private:
  std::string detail(const SmtEngine::Explanation& why) {
    const std::string indent = "    ";
    if (why.implicit) return indent + "z3: implicit (self traffic, the host to a local workload, or IPv6 neighbour discovery)\n";
    std::string out;
    auto half = [&](const char* dir, bool isolated, const std::vector<uint32_t>& rules,
                    const std::vector<std::pair<Tier, uint32_t>>& tiered) {
      for (auto [tier, id] : tiered) {
        const Rule& r = in_.module.tier_rules(tier)[id];
        out += fmt::format("{}z3 {}: matches {}{} rule #{} from {} at {}\n", indent, dir, tier_prefix(tier),
                           to_string(r.action), id, r.origin, in_.sm.location(r.range));
      }
      out += fmt::format("{}z3 {}: {}, {} matching rule(s)\n", indent, dir, isolated ? "isolated" : "not isolated",
                         rules.size());
      for (uint32_t id : rules) {
        const Rule& r = in_.module.rules[id];
        out += fmt::format("{}  {} rule #{} from {} at {}\n", indent, to_string(r.action), id,
                           r.origin.empty() ? "<unnamed>" : r.origin, in_.sm.location(r.range));
      }
    };
    half("egress", why.egress_isolated, why.egress_rules, why.egress_tier_rules);
    half("ingress", why.ingress_isolated, why.ingress_rules, why.ingress_tier_rules);
    return out;
  }

  EngineInput in_;
  SmtEngine smt_;
};

const bool registered = register_engine("smt", [](const EngineInput& in, std::string&) {
  return std::unique_ptr<Engine>(std::make_unique<SmtTestEngine>(in));
});

} // namespace

} // namespace moat::cli
