// The differential's rounds (see differential.h): one seeded module, its endpoints and
// flows per round, each flow through every selected engine.
#include "bench/differential/differential.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "backend/backend.h"
#include "ir/interp.h"
#include "ir/printer.h"
#include "random_flows.h"
#include "random_module.h"
#include "runtime/flow_runner.h"
#include "verifier/verifier.h"

namespace moat::differential {

using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct FlowSpec {
  size_t src, dst;
  Protocol proto;
  uint16_t port;
  size_t src_addr, dst_addr;  // ir.h Flow: which of several hosts
};

/// One round: everything drawn from the round's seed, whatever the engines, so that a
/// seed reproduces its module and flows under any --engines.
struct Round {
  uint64_t seed = 0;
  Module m;
  std::vector<Endpoint> eps;
  std::vector<FlowSpec> flows;
  size_t kind = 0;  // kKindNames
  bool tiers = false, any_address = false;
};

/// The packet that carries a flow, as the kernel runner builds it (runtime/flow_runner.h):
/// its family is the pinned address's (an end that is several hosts), else ICMP's /
/// ICMPv6's, else IPv4 when both ends have it; other ends use their first address of that
/// family. Sets the flow's addresses to those (so that the interpreter and Z3 judge the
/// packet the kernel sees, a CIDR peer included); false when an end has none — such pairs
/// are skipped by every engine alike.
bool pick_packet(const Endpoint& s, const Endpoint& d, FlowSpec& f) {
  auto several = [](const Endpoint& e) { return e.kind == EndpointKind::External && e.ips.size() > 1; };
  auto address = [&](const Endpoint& e, size_t addr, bool v6) -> std::optional<size_t> {
    if (several(e)) return addr < e.ips.size() && e.ips[addr].v6 == v6 ? std::optional<size_t>(addr) : std::nullopt;
    for (size_t i = 0; i < e.ips.size(); ++i)
      if (e.ips[i].v6 == v6) return i;
    return std::nullopt;
  };
  bool v6;
  if (f.proto == Protocol::ICMP) v6 = false;
  else if (f.proto == Protocol::ICMPv6) v6 = true;
  else if (several(s)) v6 = s.ips[f.src_addr].v6;
  else if (several(d)) v6 = d.ips[f.dst_addr].v6;
  else v6 = !(address(s, 0, false) && address(d, 0, false));
  std::optional<size_t> sa = address(s, f.src_addr, v6), da = address(d, f.dst_addr, v6);
  if (!sa || !da) return false;
  f.src_addr = *sa;
  f.dst_addr = *da;
  return true;
}

Round make_round(uint64_t seed, size_t flows) {
  testing::RandomModules gen(seed);
  Round r;
  r.seed = seed;
  // A quarter each: NetworkPolicy-like rules only; with the kubernetes / calico ipBlock
  // meaning; with admin and baseline tiers; with both.
  size_t kind = r.kind = gen.pick(4);
  r.m = gen.module(1 + gen.pick(12), gen.pick(6));
  gen.add_port_ranges(r.m, 0.3);
  gen.add_denies(r.m, 0.1);
  if (kind & 1) gen.add_any_address_cidrs(r.m, 0.7);
  if (kind & 2) {
    gen.add_tiers(r.m, 1 + gen.pick(6), gen.pick(4));
    gen.add_node_peers(r.m, 0.3);  // AdminNetworkPolicy `nodes` peers over node labels
  }
  r.tiers = !r.m.admin_rules.empty() || !r.m.baseline_rules.empty();
  for (const std::vector<Rule>* tier : {&r.m.rules, &r.m.admin_rules, &r.m.baseline_rules})
    for (const Rule& rule : *tier) r.any_address |= rule.peer.kind == Peer::Kind::Cidr && rule.peer.cidr_any_address;
  r.eps = test::datapath_endpoints(gen, r.m, 8 + gen.pick(8));
  gen.add_addresses(r.eps, 0.3);
  gen.add_node_labels(r.eps);
  for (size_t i = 0; i < flows; ++i) {
    size_t s = gen.pick(r.eps.size()), d = gen.pick(r.eps.size());
    auto [proto, port] = gen.proto_port(r.m, r.eps[d]);
    FlowSpec f{s, d, proto, port, gen.flow_address(r.eps[s]), gen.flow_address(r.eps[d])};
    if (pick_packet(r.eps[s], r.eps[d], f)) r.flows.push_back(f);
  }
  return r;
}

/// Why the kernel does not judge this module, or "" when it does.
std::string kernel_refusal(const Round& r) {
  Diagnostics diags;
  if (!backend::check_buildable(r.m, diags)) {
    std::string codes;
    for (const Diagnostic& d : diags.all())
      if (d.severity == Severity::Error && codes.find(code_name(d.code)) == std::string::npos)
        codes += (codes.empty() ? "" : "+") + std::string(code_name(d.code));
    return codes;
  }
  return "";
}

const char* word(bool allowed) { return allowed ? "allow" : "deny"; }

struct Verdicts {
  std::optional<bool> v[3];
  std::string kernel_note;  // attach kinds disagree / reply dropped
};

void print_details(FILE* out, const Round& r, const FlowSpec& f, runtime::KernelFlowRunner* runner) {
  SourceManager sm;
  fmt::print(out, "  policy:\n{}", print_module(r.m, sm));
  fmt::print(out, "  endpoints:\n");
  for (const Endpoint& e : r.eps) fmt::print(out, "    {}: {}\n", e.name, describe_endpoint(e));
  if (runner) {
    // The kernel's per-program decisions, with the counter that names the deciding rule.
    runner->explain = true;
    std::string error;
    auto again = runner->check(r.eps[f.src], r.eps[f.dst], f.proto, f.port, error, f.src_addr, f.dst_addr);
    runner->explain = false;
    fmt::print(out, "  kernel:\n{}", again ? again->detail : "    " + error + "\n");
  }
}

} // namespace

Tally run(const Options& o, FILE* out) {
  Tally t;
  Clock::time_point start = Clock::now();
  size_t next_progress = o.pairs / 10, details = 0;
  for (uint64_t i = 0; t.pairs < o.pairs || t.modules == 0; ++i) {
    Round r = make_round(o.seed + i, o.flows_per_module);
    if (!o.kinds[r.kind]) continue;
    ++t.modules;
    t.tier_modules += r.tiers;
    t.any_address_modules += r.any_address;

    std::unique_ptr<SmtEngine> smt;
    if (o.engines[static_cast<int>(Engine::Smt)]) {
      Clock::time_point t0 = Clock::now();
      VerifyOptions vo;
      vo.timeout_ms = o.smt_timeout_ms;
      smt = std::make_unique<SmtEngine>(r.m, r.eps, vo);
      t.engine[static_cast<int>(Engine::Smt)].setup_s += since(t0);
    }
    std::unique_ptr<runtime::KernelFlowRunner> runner;
    if (o.engines[static_cast<int>(Engine::Kernel)]) {
      std::string refusal = kernel_refusal(r);
      if (!refusal.empty() && !o.kernel_refused) {
        ++t.kernel_refused[refusal];
        t.kernel_refused_pairs += r.flows.size();
      } else {
        Clock::time_point t0 = Clock::now();
        std::vector<uint8_t> elf;
        std::string error;
        bool compiled = backend::compile_datapath(bundle::plan_datapath(r.m), "differential", elf, error);
        t.engine[static_cast<int>(Engine::Kernel)].compile_s += since(t0);
        if (compiled)
          runner = runtime::KernelFlowRunner::create(elf, r.m, r.eps, {}, error);
        t.engine[static_cast<int>(Engine::Kernel)].setup_s += since(t0);
        if (!runner) {
          ++t.engine_failures;
          fmt::print(out, "FAILURE MOAT_SEED={}: kernel: {}\n", r.seed, error);
          continue;
        }
        runner->explain = false;
      }
    }

    for (size_t fi = 0; fi < r.flows.size(); ++fi) {
      const FlowSpec& f = r.flows[fi];
      const Endpoint &src = r.eps[f.src], &dst = r.eps[f.dst];
      Verdicts v;
      std::string failure;
      if (o.engines[static_cast<int>(Engine::Interp)]) {
        Clock::time_point t0 = Clock::now();
        v.v[0] = evaluate(r.m, Flow{&src, &dst, f.proto, f.port, f.src_addr, f.dst_addr}).allowed;
        t.engine[0].check_s += since(t0);
        ++t.engine[0].pairs;
      }
      if (smt) {
        Clock::time_point t0 = Clock::now();
        std::string error;
        v.v[1] = smt->verdict({f.src, f.src_addr}, {f.dst, f.dst_addr}, f.proto, f.port, &error);
        t.engine[1].check_s += since(t0);
        if (v.v[1]) ++t.engine[1].pairs;
        else failure += "smt: " + error + "; ";
      }
      if (runner) {
        Clock::time_point t0 = Clock::now();
        std::string error;
        auto k = runner->check(src, dst, f.proto, f.port, error, f.src_addr, f.dst_addr);
        t.engine[2].check_s += since(t0);
        if (k) {
          ++t.engine[2].pairs;
          v.v[2] = k->allowed;
          if (!k->attach_kinds_agree) v.kernel_note = " (tc and cgroup_skb disagree)";
          else if (k->allowed && !k->reply_passed) v.kernel_note = " (reply dropped)";
        } else {
          failure += "kernel: " + error + "; ";
        }
      }
      ++t.pairs;
      std::optional<bool> first;
      bool differ = !v.kernel_note.empty();
      for (const auto& e : v.v)
        if (e) {
          if (!first) first = e;
          differ |= *e != *first;
        }
      t.allowed += first.value_or(false);
      auto end = [](const Endpoint& e, size_t addr) {
        return e.ips.size() > 1 ? e.name + " at " + e.ips[addr].str() : e.name;
      };
      std::string flow = fmt::format("MOAT_SEED={} flow {}: {} -> {} {}/{}", r.seed, fi, end(src, f.src_addr),
                                     end(dst, f.dst_addr), moat::to_string(f.proto), f.port);
      if (!failure.empty()) {
        ++t.engine_failures;
        fmt::print(out, "FAILURE {}: {}\n", flow, failure);
      }
      if (differ) {
        ++t.disagreements;
        std::string verdicts;
        for (int e = 0; e < 3; ++e)
          if (v.v[e]) verdicts += fmt::format(" {} {}", to_string(static_cast<Engine>(e)), word(*v.v[e]));
        fmt::print(out, "DISAGREEMENT {}:{}{}\n", flow, verdicts, v.kernel_note);
        if (details++ < o.max_details) print_details(out, r, f, runner.get());
      }
    }
    if (o.progress && t.pairs >= next_progress && next_progress < o.pairs) {
      fmt::print(stderr, "  {} pairs, {} modules, {} disagreements, {:.0f} s\n", t.pairs, t.modules,
                 t.disagreements, since(start));
      while (next_progress <= t.pairs) next_progress += std::max<size_t>(1, o.pairs / 10);
    }
    std::fflush(out);
  }
  t.wall_s = since(start);
  return t;
}

std::string summary(const Options& o, const Tally& t) {
  std::string s = fmt::format("pairs {} ({} modules: {} with admin/baseline tiers, {} with any-address CIDRs; {:.0f}% "
                              "allowed)",
                              t.pairs, t.modules, t.tier_modules, t.any_address_modules,
                              t.pairs ? 100.0 * t.allowed / t.pairs : 0.0);
  for (int e = 0; e < 3; ++e) {
    if (!o.engines[e]) continue;
    const EngineStats& st = t.engine[e];
    double total = st.setup_s + st.check_s;
    s += fmt::format(" | {} {} pairs, {:.0f} pairs/s ({:.0f} pairs/s without per-module setup of {:.1f} s{})",
                     to_string(static_cast<Engine>(e)), st.pairs, total > 0 ? st.pairs / total : 0.0,
                     st.check_s > 0 ? st.pairs / st.check_s : 0.0, st.setup_s,
                     st.compile_s > 0 ? fmt::format(", {:.1f} s of it compiling", st.compile_s) : "");
  }
  if (o.engines[static_cast<int>(Engine::Kernel)]) {
    // Never counted as agreeing: the kernel did not judge these pairs.
    std::string reasons;
    for (const auto& [why, n] : t.kernel_refused) reasons += fmt::format("{}{} modules refused {}", reasons.empty() ? "" : ", ", n, why);
    s += fmt::format(" | kernel: {} ({} pairs through interp and smt only)", reasons.empty() ? "no module refused" : reasons,
                     t.kernel_refused_pairs);
  }
  s += fmt::format(" | failures {} | disagreements {} | {:.1f} s", t.engine_failures, t.disagreements, t.wall_s);
  return s;
}

} // namespace moat::differential
