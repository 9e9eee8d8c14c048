// Session setup and the push/check/pop loop (see session.h).
#include "verifier/session.h"

#include "ir/lint.h"

namespace moat::verify {

std::unique_ptr<Session> Session::make(const std::vector<const Module*>& modules,
                                       const std::vector<const Endpoint*>& extra_endpoints,
                                       const std::vector<Endpoint>* inventory, unsigned timeout_ms,
                                       std::string* error) {
  DomainBuilder vocabulary;
  for (const Module* m : modules) vocabulary.add(*m);
  std::unique_ptr<Session> s = open();
  if (!s->start(vocabulary, extra_endpoints, inventory, timeout_ms, error)) return nullptr;
  return s;
}

std::unique_ptr<Session> Session::open() { return std::unique_ptr<Session>(new Session()); }

bool Session::start(DomainBuilder& vocabulary, const std::vector<const Endpoint*>& extra_endpoints,
                    const std::vector<Endpoint>* inventory, unsigned timeout_ms, std::string* error) {
  std::vector<const Endpoint*> extra = extra_endpoints;
  if (inventory)
    for (const Endpoint& e : *inventory) extra.push_back(&e);
  std::optional<Domain> d = vocabulary.build(extra, error);
  if (!d) return false;
  domain_ = std::move(*d);
  enc_ = std::make_unique<Encoder>(ctx_, domain_);
  scope_ = std::make_unique<Scope>(*enc_, inventory);
  solver_ = std::make_unique<z3::solver>(ctx_);
  if (timeout_ms) solver_->set("timeout", timeout_ms);
  timeout_ms_ = timeout_ms;
  return true;
}

void Session::fresh_solver() {
  solver_ = std::make_unique<z3::solver>(ctx_);
  if (timeout_ms_) solver_->set("timeout", timeout_ms_);
}

CheckOutcome Session::check(const z3::expr& q) {
  CheckOutcome out;
  ++queries_;
  if (clock_ && clock_->has_deadline()) solver_->set("timeout", clock_->query_timeout_ms(timeout_ms_));
  solver_->push();
  solver_->add(q);
  out.result = solver_->check();
  if (out.result == z3::sat) out.model = solver_->get_model();
  if (out.result == z3::unknown) out.reason = solver_->reason_unknown();
  solver_->pop();
  return out;
}

std::unique_ptr<z3::solver> Session::fork() {
  auto out = std::make_unique<z3::solver>(ctx_);
  if (timeout_ms_) out->set("timeout", timeout_ms_);
  for (const z3::expr& a : solver_->assertions()) out->add(a);
  return out;
}

CheckOutcome Session::check_assuming(z3::solver& on, const z3::expr_vector& assumed) {
  CheckOutcome out;
  ++queries_;
  if (clock_ && clock_->has_deadline()) on.set("timeout", clock_->query_timeout_ms(timeout_ms_));
  out.result = on.check(assumed);
  if (out.result == z3::sat) out.model = on.get_model();
  if (out.result == z3::unknown) out.reason = on.reason_unknown();
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

namespace {
/// Can `p` match some workload that `sel` selects? (Syntactic, conservative.)
bool peer_may_match(const Peer& p, const EndpointSelector& sel) {
  switch (p.kind) {
  case Peer::Kind::Any: return true;
  case Peer::Kind::Endpoints: return selectors_may_overlap(p.endpoints, sel);
  case Peer::Kind::Entity: return p.entity == Entity::All || p.entity == Entity::Cluster;
  case Peer::Kind::Cidr: return p.cidr_any_address;  // else external endpoints only
  case Peer::Kind::Fqdn: return false;                 // external endpoints only
  case Peer::Kind::Nodes: return false;                // node endpoints only
  }
  return true;
}
/// The endpoint kinds an entity matches, as a bit set over EndpointKind.
unsigned entity_kinds(Entity e) {
  auto bit = [](EndpointKind k) { return 1u << static_cast<unsigned>(k); };
  switch (e) {
  case Entity::World: return bit(EndpointKind::External);
  case Entity::Cluster: return 0x1fu & ~bit(EndpointKind::External);
  case Entity::Host: return bit(EndpointKind::Host);
  case Entity::RemoteNode: return bit(EndpointKind::RemoteNode);
  case Entity::KubeApiserver: return bit(EndpointKind::KubeApiserver);
  case Entity::All: return 0x1fu;
  default: return 0;
  }
}

unsigned peer_kinds(const Peer& p) {
  switch (p.kind) {
  case Peer::Kind::Any: return 0x1fu;
  case Peer::Kind::Endpoints: return 1u << static_cast<unsigned>(EndpointKind::Workload);
  case Peer::Kind::Cidr:
    // AdminNetworkPolicy networks match any endpoint by its address.
    return p.cidr_any_address ? 0x1fu : 1u << static_cast<unsigned>(EndpointKind::External);
  case Peer::Kind::Fqdn: return 1u << static_cast<unsigned>(EndpointKind::External);
  case Peer::Kind::Entity: return entity_kinds(p.entity);
  case Peer::Kind::Nodes:
    return 1u << static_cast<unsigned>(EndpointKind::Host) | 1u << static_cast<unsigned>(EndpointKind::RemoteNode);
  }
  return 0x1fu;
}
} // namespace

bool peers_may_overlap(const Peer& a, const Peer& b) {
  if (!(peer_kinds(a) & peer_kinds(b))) return false;
  if (a.kind == Peer::Kind::Endpoints && b.kind == Peer::Kind::Endpoints)
    return selectors_may_overlap(a.endpoints, b.endpoints);
  if (a.kind == Peer::Kind::Cidr && b.kind == Peer::Kind::Cidr)
    return a.cidr.contains(b.cidr) || b.cidr.contains(a.cidr);
  return true;
}

RuleFilter overlap_filter(const EndpointSelector* src, const EndpointSelector* dst) {
  RuleFilter f;
  if (!src && !dst) return f;
  f.subject = [src, dst](Direction d, const EndpointSelector& subject) {
    const EndpointSelector* local = d == Direction::Egress ? src : dst;
    return !local || selectors_may_overlap(*local, subject);
  };
  f.peer = [src, dst](Direction d, const Peer& peer) {
    const EndpointSelector* remote = d == Direction::Egress ? dst : src;
    return !remote || peer_may_match(peer, *remote);
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
