// Session setup and the push/check/pop loop (see session.h).
#include "verifier/session.h"

#include "ir/lint.h"

namespace moat::verify {

std::unique_ptr<Session> Session::make(const std::vector<const Module*>& modules,
                                       const std::vector<const Endpoint*>& extra_endpoints,
                                       const std::vector<Endpoint>* inventory, unsigned timeout_ms,
                                       std::string* error) {
  std::vector<const Endpoint*> extra = extra_endpoints;
  if (inventory)
    for (const Endpoint& e : *inventory) extra.push_back(&e);
  auto d = build_domain(modules, extra, error);
  if (!d) return nullptr;
  std::unique_ptr<Session> s(new Session());
  s->domain_ = std::move(*d);
  s->enc_ = std::make_unique<Encoder>(s->ctx_, s->domain_);
  s->scope_ = std::make_unique<Scope>(*s->enc_, inventory);
  s->solver_ = std::make_unique<z3::solver>(s->ctx_);
  if (timeout_ms) s->solver_->set("timeout", timeout_ms);
  return s;
}

CheckOutcome Session::check(const z3::expr& q) {
  CheckOutcome out;
  ++queries_;
  solver_->push();
  solver_->add(q);
  out.result = solver_->check();
  if (out.result == z3::sat) out.model = solver_->get_model();
  if (out.result == z3::unknown) out.reason = solver_->reason_unknown();
  solver_->pop();
  return out;
}

CheckOutcome Session::check_readable(const z3::expr& q, const SymFlow& f) {
  CheckOutcome o = check(q);
  if (o.result != z3::sat) return o;
  z3::expr_vector nice(ctx_);
  for (const SymEndpoint* e : {&f.src, &f.dst}) {
    z3::expr low4 = e->ip4.extract(7, 0);
    z3::expr v4 = !e->v6 && low4 != enc_->bv(0, 8) && low4 != enc_->bv(255, 8) &&
                  e->ip4.extract(31, 24) != enc_->bv(0, 8);
    z3::expr v6 = e->v6 && e->ip6.extract(15, 0) != enc_->bv(0, 16);
    nice.push_back(z3::implies(enc_->is_kind(*e, EndpointKind::External), v4 || v6));
  }
  CheckOutcome better = check(q && z3::mk_and(nice));
  return better.result == z3::sat ? better : o;
}

RuleFilter overlap_filter(const EndpointSelector* src, const EndpointSelector* dst) {
  RuleFilter f;
  if (!src && !dst) return f;
  f.subject = [src, dst](Direction d, const EndpointSelector& subject) {
    const EndpointSelector* local = d == Direction::Egress ? src : dst;
    return !local || selectors_may_overlap(*local, subject);
  };
  return f;
}

const EndpointSelector* workload_selector(const Peer& p) {
  return p.kind == Peer::Kind::Endpoints ? &p.endpoints : nullptr;
}

std::string unknown_reason(const CheckOutcome& o) {
  if (o.reason.find("timeout") != std::string::npos || o.reason.find("canceled") != std::string::npos)
    return "solver timeout";
  return "solver gave up (" + o.reason + ")";
}

} // namespace moat::verify
