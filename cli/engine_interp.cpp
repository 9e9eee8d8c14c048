// The `interp` engine of `moat test`: the reference interpreter (ir/interp.h), the verdict
// every other engine is held to.
#include "cli/engines.h"
#include "cli/explain.h"
#include "ir/interp.h"

namespace moat::cli {

namespace {

class InterpEngine : public Engine {
public:
  explicit InterpEngine(const EngineInput& in) : in_(in) {}

  std::optional<EngineVerdict> check(const Case& c) override {
    const Endpoint* src = in_.cases.find(c.from);
    const Endpoint* dst = in_.cases.find(c.to);
    if (!src || !dst) return std::nullopt;
    Verdict v = evaluate(in_.module, Flow{src, dst, c.proto, c.port, c.from_addr, c.to_addr});
    return EngineVerdict{v.allowed, explain_verdict(in_.module, in_.sm, v, *src, *dst), l7_condition(in_.module, v)};
  }

private:
  EngineInput in_;
};

const bool registered = register_engine("interp", [](const EngineInput& in, std::string&) {
  return std::unique_ptr<Engine>(std::make_unique<InterpEngine>(in));
});

} // namespace

} // namespace moat::cli
