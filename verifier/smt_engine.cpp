// Concrete verdicts through the Z3 encoding (verifier.h SmtEngine): the flow's ends are
// pinned to known endpoints, so the solver's model decides the verdict formula. Used by
// `moat test --engine smt` (an engine independent of the interpreter) and `moat query`.
#include <algorithm>

#include <fmt/format.h>

#include "ir/subject_index.h"
#include "verifier/session.h"

namespace moat {

// Members are destroyed in reverse order: every z3 object must go before the session
// that owns their context.
struct SmtEngine::Impl {
  const Module* module = nullptr;
  std::vector<Endpoint> endpoints;
  std::string error;
  std::unique_ptr<verify::Session> session;
  std::optional<verify::SymFlow> flow;
  std::optional<z3::expr> allowed;
  /// The policy-tier rules and isolations whose subject may select one of the endpoints
  /// (SubjectIndex: a superset, by the namespaces and label values subjects pin); no other
  /// can take part in a verdict between them, so the formula leaves them out and the
  /// solver still decides exactly among the rest. A 100,000-rule cluster asked about two
  /// pods encodes the few dozen rules of their namespaces, not all of them.
  std::vector<uint32_t> rule_ids, isolation_ids;
  verify::RuleFilter filter;
  std::vector<std::pair<uint32_t, z3::expr>> rule_matches;  // built on first explanation
};

namespace {

void add_candidates(const SubjectIndex& index, const std::vector<Endpoint>& endpoints, std::vector<uint32_t>& out) {
  for (const Endpoint& e : endpoints) {
    if (e.kind != EndpointKind::Workload) continue;  // a subject selects workloads only
    std::vector<uint32_t> c = index.candidates(e);
    out.insert(out.end(), c.begin(), c.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

} // namespace

SmtEngine::SmtEngine(const Module& m, std::vector<Endpoint> endpoints, const VerifyOptions& opts)
    : impl_(std::make_unique<Impl>()) {
  impl_->module = &m;
  impl_->endpoints = std::move(endpoints);
  try {
    impl_->session = verify::Session::make({&m}, {}, &impl_->endpoints, opts.timeout_ms, &impl_->error);
    if (!impl_->session) return;
    verify::Session& s = *impl_->session;
    add_candidates(rule_index(m), impl_->endpoints, impl_->rule_ids);
    add_candidates(isolation_index(m), impl_->endpoints, impl_->isolation_ids);
    impl_->filter.rule_ids = &impl_->rule_ids;
    impl_->filter.isolation_ids = &impl_->isolation_ids;
    impl_->filter.group_ids = true;  // every rule of a subject is in or out together
    impl_->flow.emplace(s.enc().flow("q"));
    impl_->allowed.emplace(s.enc().allowed(m, *impl_->flow, impl_->filter));
    // Every query pins both ends to inventory endpoints (Scope::is).
    s.assume(s.enc().valid_proto_port(*impl_->flow));
  } catch (const z3::exception& e) {
    impl_->session.reset();
    impl_->error = std::string("Z3: ") + e.msg();
  }
}

SmtEngine::~SmtEngine() = default;

std::optional<bool> SmtEngine::verdict(End src, End dst, Protocol proto, uint16_t port, std::string* error,
                                      Explanation* why) {
  if (!impl_->session) {
    if (error) *error = impl_->error;
    return std::nullopt;
  }
  try {
    verify::Session& s = *impl_->session;
    const verify::SymFlow& f = *impl_->flow;
    verify::CheckOutcome o = s.check(s.scope().is(f.src, src.index, src.addr) && s.scope().is(f.dst, dst.index, dst.addr) &&
                                     s.enc().pin_proto_port(f, proto, port));
    if (o.result == z3::sat) {
      const z3::model& model = *o.model;
      if (why) {
        const Module& m = *impl_->module;
        *why = Explanation{};
        why->implicit = verify::eval_bool(model, s.enc().implicit(f));
        why->egress_isolated = verify::eval_bool(model, s.enc().isolated(m, Direction::Egress, f.src, impl_->filter));
        why->ingress_isolated = verify::eval_bool(model, s.enc().isolated(m, Direction::Ingress, f.dst, impl_->filter));
        if (impl_->rule_matches.empty())
          for (uint32_t id : impl_->rule_ids) impl_->rule_matches.emplace_back(id, s.enc().rule_match(m.rules[id], f));
        for (const auto& [id, match] : impl_->rule_matches)
          if (verify::eval_bool(model, match))
            (m.rules[id].dir == Direction::Egress ? why->egress_rules : why->ingress_rules).push_back(id);
        // The admin and baseline tiers are small (at most 100 rules per policy and direction).
        for (const std::vector<Rule>* tier : {&m.admin_rules, &m.baseline_rules})
          for (const Rule& r : *tier)
            if (verify::eval_bool(model, s.enc().rule_match(r, f)))
              (r.dir == Direction::Egress ? why->egress_tier_rules : why->ingress_tier_rules).emplace_back(r.tier, r.id);
      }
      return verify::eval_bool(model, *impl_->allowed);
    }
    if (error)
      *error = o.result == z3::unknown ? verify::unknown_reason(o)
                                       : fmt::format("{}/{} is not a flow the encoding models", to_string(proto), port);
  } catch (const z3::exception& e) {
    if (error) *error = std::string("Z3: ") + e.msg();
  }
  return std::nullopt;
}

std::optional<std::vector<SmtEngine::PortRange>> SmtEngine::allowed_ports(End src, End dst, std::string* error) {
  if (!impl_->session) {
    if (error) *error = impl_->error;
    return std::nullopt;
  }
  try {
    verify::Session& s = *impl_->session;
    verify::Encoder& enc = s.enc();
    const verify::SymFlow& f = *impl_->flow;
    z3::expr ends = s.scope().is(f.src, src.index, src.addr) && s.scope().is(f.dst, dst.index, dst.addr);
    std::vector<PortRange> out;
    // Is some port in [lo, hi] of `proto` allowed (want = true) or denied (want = false)?
    auto exists = [&](Protocol proto, unsigned lo, unsigned hi, bool want) -> std::optional<bool> {
      z3::expr q = ends && enc.protocol_is(f, proto) && z3::uge(f.port, enc.bv(lo, 16)) &&
                   z3::ule(f.port, enc.bv(hi, 16)) && (want ? *impl_->allowed : !*impl_->allowed);
      verify::CheckOutcome o = s.check(q);
      if (o.result == z3::unknown) {
        if (error) *error = verify::unknown_reason(o);
        return std::nullopt;
      }
      return o.result == z3::sat;
    };
    // The least port in [lo, max] with verdict `want`, by bisection (16 queries at most).
    auto first = [&](Protocol proto, unsigned lo, unsigned max, bool want) -> std::optional<long> {
      auto any = exists(proto, lo, max, want);
      if (!any) return std::nullopt;
      if (!*any) return -1;
      unsigned a = lo, b = max;
      while (a < b) {
        unsigned mid = a + (b - a) / 2;
        auto left = exists(proto, a, mid, want);
        if (!left) return std::nullopt;
        if (*left) b = mid;
        else a = mid + 1;
      }
      return static_cast<long>(a);
    };
    for (Protocol p : {Protocol::TCP, Protocol::UDP, Protocol::SCTP, Protocol::ICMP, Protocol::ICMPv6}) {
      bool icmp = p == Protocol::ICMP || p == Protocol::ICMPv6;
      unsigned lo = icmp ? 0 : 1, max = icmp ? 255 : 65535;
      while (lo <= max && out.size() < 256) {
        auto start = first(p, lo, max, true);
        if (!start) return std::nullopt;
        if (*start < 0) break;
        auto end = first(p, static_cast<unsigned>(*start), max, false);
        if (!end) return std::nullopt;
        unsigned hi = *end < 0 ? max : static_cast<unsigned>(*end - 1);
        out.push_back(PortRange{p, static_cast<uint16_t>(*start), static_cast<uint16_t>(hi)});
        lo = hi + 2;  // hi + 1 is denied
      }
    }
    return out;
  } catch (const z3::exception& e) {
    if (error) *error = std::string("Z3: ") + e.msg();
  }
  return std::nullopt;
}

} // namespace moat
