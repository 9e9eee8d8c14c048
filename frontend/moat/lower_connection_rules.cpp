// Connection rules into rule halves (docs/LANGUAGE.md): `allow A -> B on P` is the egress half
// at A (when A selects workloads) and the ingress half at B (when B selects workloads);
// when both exist they are twins. `default deny` becomes isolation facts.
#include <fmt/format.h>

#include "frontend/moat/lower.h"

namespace moat::moatlang {

namespace {

/// All workloads of the scope: the namespace's, or every workload at cluster scope.
EndpointSelector scope_subject(const Scope& scope, SourceRange range) {
  EndpointSelector sel;
  sel.range = range;
  sel.namespaces.range = range;
  sel.pods.range = range;
  if (scope.kind == Scope::Kind::Namespace) sel.namespaces.reqs.push_back(namespace_requirement(scope.ns, range));
  return sel;
}

bool can_initiate(LowerContext& cx, const ResolvedPeer& p) {
  if (p.kind == ResolvedPeer::Kind::Dns || p.peer.kind == Peer::Kind::Fqdn) {
    cx.diags.report(Code::E106, p.peer.range,
                    fmt::format("'{}' can only be a destination: connections are not initiated from {}", p.display,
                                p.kind == ResolvedPeer::Kind::Dns ? "kube-dns" : "a DNS name"));
    return false;
  }
  return true;
}

} // namespace

void lower_default_deny(LowerContext& cx, MoatParser::DefaultDenyContext* stmt, const Scope& scope) {
  SourceRange range = cx.range(stmt);
  std::vector<Direction> dirs = {Direction::Ingress, Direction::Egress};
  if (auto* d = stmt->direction()) dirs = {d->INGRESS() ? Direction::Ingress : Direction::Egress};
  for (Direction dir : dirs)
    cx.module.isolations.push_back(Isolation{scope_subject(scope, range), dir, scope.origin(), range});
}

void lower_connection_rule(LowerContext& cx, MoatParser::ConnectionRuleContext* stmt, const Scope& scope) {
  SourceRange range = cx.range(stmt);
  Action action = stmt->action->getType() == MoatParser::ALLOW ? Action::Allow : Action::Deny;
  auto ports = lower_ports(cx, stmt->portsClause());

  std::vector<ResolvedPeer> froms, tos;
  bool ok = ports.has_value();
  for (auto* e : stmt->from->peerExpr()) {
    auto p = lower_peer(cx, e, scope);
    if (p && can_initiate(cx, *p))
      froms.push_back(std::move(*p));
    else
      ok = false;
  }
  for (auto* e : stmt->to->peerExpr()) {
    auto p = lower_peer(cx, e, scope);
    if (p)
      tos.push_back(std::move(*p));
    else
      ok = false;
  }
  if (!ok) return;

  // Rules to dns are narrowed to kube-dns's ports once, not once per source.
  std::optional<std::vector<PortMatch>> to_dns;
  bool reported_no_workload = false;
  for (const ResolvedPeer& a : froms) {
    for (const ResolvedPeer& b : tos) {
      bool egress = a.kind == ResolvedPeer::Kind::Workloads;
      bool ingress = b.kind == ResolvedPeer::Kind::Workloads;
      if (!egress && !ingress) {
        if (!reported_no_workload)
          cx.diags.report(Code::E106, range,
                          fmt::format("neither '{}' nor '{}' selects workloads: a rule needs a workload at one end "
                                      "at least (moat enforces at workloads)",
                                      a.display, b.display));
        reported_no_workload = true;
        continue;
      }
      std::vector<PortMatch> egress_ports = *ports;
      if (egress && b.kind == ResolvedPeer::Kind::Dns) {
        if (!to_dns) to_dns = dns_ports(cx, *ports, b.peer.range);
        if (!to_dns) return;
        egress_ports = *to_dns;
      }
      int32_t egress_id = -1, ingress_id = -1;
      if (egress) {
        Rule r;
        r.subject = a.peer.endpoints;
        r.dir = Direction::Egress;
        r.action = action;
        r.peer = b.peer;
        r.ports = std::move(egress_ports);
        r.origin = scope.origin();
        r.range = range;
        egress_id = static_cast<int32_t>(cx.module.add_rule(std::move(r)));
      }
      if (ingress) {
        Rule r;
        r.subject = b.peer.endpoints;
        r.dir = Direction::Ingress;
        r.action = action;
        r.peer = a.peer;
        r.ports = *ports;
        r.origin = scope.origin();
        r.range = range;
        ingress_id = static_cast<int32_t>(cx.module.add_rule(std::move(r)));
      }
      if (egress_id >= 0 && ingress_id >= 0) {
        cx.module.rules[egress_id].twin = ingress_id;
        cx.module.rules[ingress_id].twin = egress_id;
      }
    }
  }
}

} // namespace moat::moatlang
