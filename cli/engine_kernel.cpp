// The `kernel` engine of `moat test`: the policy compiled by the backend (the same object
// `moat build` writes), loaded into the running kernel, its maps filled by the runtime's
// loader from the cases' endpoints, and every case run as real packets through
// BPF_PROG_TEST_RUN (runtime/flow_runner.h): egress at the source, ingress at the
// destination, on both tc and cgroup_skb programs, and the reply of an allowed flow.
#include <cstdio>

#include <fmt/format.h>

#include "backend/backend.h"
#include "cli/engines.h"
#include "ir/interp.h"
#include "runtime/flow_runner.h"
#include "runtime/loader.h"

namespace moat::cli {

namespace {

class KernelEngine : public Engine {
public:
  explicit KernelEngine(std::unique_ptr<runtime::KernelFlowRunner> runner, const CasesFile& cases)
      : runner_(std::move(runner)), cases_(cases) {}

  std::optional<EngineVerdict> check(const Case& c) override {
    const Endpoint* src = cases_.find(c.from);
    const Endpoint* dst = cases_.find(c.to);
    if (!src || !dst) return std::nullopt;
    std::string error;
    auto k = runner_->check(*src, *dst, c.proto, c.port, error, c.from_addr, c.to_addr);
    if (!k) {
      std::fprintf(stderr, "moat test: kernel engine: %s\n", error.c_str());
      return std::nullopt;
    }
    if (!k->attach_kinds_agree) {
      // tc and cgroup_skb must give one verdict; anything else is a datapath bug.
      std::fprintf(stderr, "moat test: kernel engine: tc and cgroup_skb disagree on %s -> %s\n%s", c.from.c_str(),
                   c.to.c_str(), k->detail.c_str());
      return std::nullopt;
    }
    EngineVerdict v;
    v.allowed = k->allowed && k->reply_passed;
    v.detail = k->detail;
    if (k->allowed && !k->reply_passed) v.detail += "    kernel: the reply of the allowed flow was dropped\n";
    return v;
  }

private:
  std::unique_ptr<runtime::KernelFlowRunner> runner_;
  const CasesFile& cases_;
};

std::unique_ptr<Engine> make_kernel_engine(const EngineInput& in, std::string& error) {
  // What the datapath refuses is refused on any machine, with or without bpf().
  Diagnostics diags;
  if (!backend::check_buildable(in.module, diags)) {
    error = "the policy cannot be compiled for the kernel: " +
            (diags.all().empty() ? std::string("refused") : diags.all().front().message);
    return nullptr;
  }
  if (!runtime::kernel_bpf_available(error)) {
    error = "the kernel engine needs bpf(): " + error;
    return nullptr;
  }
  std::vector<uint8_t> elf;
  if (!backend::compile_datapath(bundle::plan_datapath(in.module), "moat_test", elf, error)) return nullptr;
  std::vector<std::string> names;
  // Indexed by datapath rule id: the Policy tier's rules, then the admin and baseline tiers'.
  for (Tier t : {Tier::Policy, Tier::Admin, Tier::Baseline})
    for (const Rule& r : in.module.tier_rules(t))
      names.push_back(std::string(tier_prefix(t)) +
                      (r.range.known() ? fmt::format("{} at {}", r.origin, in.sm.location(r.range)) : r.origin));
  auto runner = runtime::KernelFlowRunner::create(elf, in.module, in.cases.endpoints, names, error);
  if (!runner) return nullptr;
  return std::make_unique<KernelEngine>(std::move(runner), in.cases);
}

const bool registered = register_engine("kernel", make_kernel_engine);

} // namespace

} // namespace moat::cli
